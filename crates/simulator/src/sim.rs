//! The simulator's state and behaviour: phones and chats, the 24 h window, rate limits, pricing,
//! media, status generation, and webhook delivery with batching, duplicates and retries.

use crate::clock::SimClock;
use crate::config::{Behaviour, DemoPerson, SimNumber, SimTemplate, SimulatorConfig};
use crate::error::{Failure, GraphError};
use crate::phone::{brazil_alternate, digits_only, is_plausible_number};
use crate::ratelimit::TokenBucket;
use crate::send::{MediaRef, MediaSource, OutboundMessage, Rendered, SendRequest, parse_send};
use crate::view::{
    ChatMessage, ChatSummary, ChatView, Direction, DocumentView, ImageView, LocationView,
    MessageStatus, ReplyKind,
};
use crate::wire::{new_numeric_id, new_token, new_wamid, signature_header, to_meta_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;

const WINDOW_SECS: i64 = 24 * 3600;
const FREE_ENTRY_SECS: i64 = 72 * 3600;
const MEDIA_ID_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
const MEDIA_URL_TTL_MS: i64 = 5 * 60 * 1000;
const SNIPPET_CHARS: usize = 500;

/// A message the subscriber sends from the phone (`POST /simulator/api/messages`). Exactly one of
/// `text`, `button_reply`, `list_reply`, `template_button`, `location` must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InboundRequest {
    pub from: String,
    pub name: Option<String>,
    /// The business number written to; the first configured number when absent.
    pub phone_number_id: Option<String>,
    pub text: Option<String>,
    pub button_reply: Option<ReplyRef>,
    pub list_reply: Option<ReplyRef>,
    pub template_button: Option<TemplateButtonReply>,
    pub location: Option<InboundLocation>,
    /// The wamid replied to; found automatically for button, list and template button replies.
    pub context_id: Option<String>,
    /// A Click-to-WhatsApp `referral` object, passed through as given.
    pub referral: Option<Value>,
    /// Deliver this webhook twice.
    pub duplicate: bool,
}

impl InboundRequest {
    pub fn text(from: &str, name: &str, text: &str) -> Self {
        InboundRequest {
            from: from.into(),
            name: Some(name.into()),
            text: Some(text.into()),
            ..InboundRequest::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRef {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateButtonReply {
    pub payload: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboundLocation {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The request cannot be simulated (message in Portuguese, for people).
    BadRequest(String),
    /// The app answered something other than 200.
    AppRejected { status: u16, body: String },
    /// The app could not be reached at all.
    AppUnreachable(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::BadRequest(message) => write!(f, "{message}"),
            SimError::AppRejected { status, body } => {
                write!(f, "o app respondeu HTTP {status}: {body}")
            }
            SimError::AppUnreachable(reason) => write!(f, "o app não pôde ser alcançado: {reason}"),
        }
    }
}

impl std::error::Error for SimError {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberStats {
    pub accepted: u64,
    /// Simulator clock, unix milliseconds.
    pub first_accepted_ms: Option<i64>,
    pub last_accepted_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Sends answered 200 (including those that later fail by status webhook).
    pub accepted: u64,
    /// Synchronous Graph errors by code (auth, validation, 130429, 131056 …).
    pub rejections: BTreeMap<i64, u64>,
    /// `failed` statuses generated, by error code.
    pub failed_statuses: BTreeMap<i64, u64>,
    pub marks_read: u64,
    pub inbound_delivered: u64,
    pub inbound_failed: u64,
    pub media_uploaded: u64,
    pub statuses_generated: u64,
    /// Statuses generated but not yet delivered (queued or in a retrying envelope).
    pub statuses_pending: u64,
    /// Webhook POSTs the app answered 200 (duplicates included).
    pub webhooks_delivered: u64,
    /// Webhook POSTs that got a non-200 answer or no answer.
    pub webhooks_failed: u64,
    pub webhook_retries: u64,
    /// Status envelopes given up after the last retry.
    pub webhooks_abandoned: u64,
    pub per_number: BTreeMap<String, NumberStats>,
}

impl Stats {
    /// Synchronous rejections with this Graph error code.
    pub fn rejected(&self, code: i64) -> u64 {
        self.rejections.get(&code).copied().unwrap_or(0)
    }

    /// First and last accepted send of a business number (simulator clock, unix ms).
    pub fn accepted_window(&self, phone_number_id: &str) -> Option<(i64, i64)> {
        let number = self.per_number.get(phone_number_id)?;
        Some((number.first_accepted_ms?, number.last_accepted_ms?))
    }
}

#[derive(Debug)]
struct Phone {
    wa_id: String,
    name: String,
    message_ids: Vec<String>,
    last_activity_ms: i64,
}

#[derive(Debug)]
struct MessageRecord {
    view: ChatMessage,
    /// The recipient's (or sender's) registered wa_id.
    wa_id: String,
    biz_opaque_callback_data: Option<String>,
    pricing: Option<Value>,
    conversation: Option<Value>,
}

#[derive(Debug, Default)]
struct Window {
    last_inbound_secs: Option<i64>,
    referral_secs: Option<i64>,
    free_entry_until: Option<i64>,
    free_entry_conversation: Option<String>,
}

impl Window {
    fn is_open(&self, now_secs: i64) -> bool {
        self.last_inbound_secs
            .is_some_and(|at| now_secs < at + WINDOW_SECS)
    }
}

#[derive(Debug)]
pub(crate) struct StoredMedia {
    pub id: String,
    pub bytes: Arc<Vec<u8>>,
    pub mime_type: String,
    pub sha256: String,
    pub uploaded_ms: i64,
}

#[derive(Debug)]
struct DownloadLink {
    media_id: String,
    expires_ms: i64,
}

#[derive(Debug)]
struct QueuedStatus {
    phone_number_id: String,
    status: Value,
}

#[derive(Default)]
struct State {
    behaviour: Behaviour,
    phones: BTreeMap<String, Phone>,
    messages: HashMap<String, MessageRecord>,
    windows: HashMap<(String, String), Window>,
    throughput: HashMap<String, TokenBucket>,
    pairs: HashMap<(String, String), TokenBucket>,
    media: HashMap<String, StoredMedia>,
    downloads: HashMap<String, DownloadLink>,
    queue: VecDeque<QueuedStatus>,
    stats: Stats,
    /// When each phone's latest unanswered message was sent (for reply latency).
    awaiting_reply: HashMap<String, std::time::Instant>,
    /// Milliseconds from a subscriber's message to the first send that reached that phone.
    reply_latencies_ms: Vec<f64>,
}

impl State {
    /// The registered wa_id a number reaches, trying both 9th-digit forms.
    fn phone_key(&self, digits: &str) -> Option<String> {
        if self.phones.contains_key(digits) {
            return Some(digits.to_string());
        }
        brazil_alternate(digits).filter(|alternate| self.phones.contains_key(alternate))
    }

    fn register_phone(&mut self, wa_id: &str, name: &str, now_ms: i64) -> String {
        if let Some(key) = self.phone_key(wa_id) {
            let phone = self.phones.get_mut(&key).expect("key just found");
            if !name.is_empty() {
                phone.name = name.to_string();
            }
            return key;
        }
        self.phones.insert(
            wa_id.to_string(),
            Phone {
                wa_id: wa_id.to_string(),
                name: name.to_string(),
                message_ids: Vec::new(),
                last_activity_ms: now_ms,
            },
        );
        wa_id.to_string()
    }

    fn add_to_chat(&mut self, wa_id: &str, message_id: &str, now_ms: i64) {
        if let Some(phone) = self.phones.get_mut(wa_id) {
            phone.message_ids.push(message_id.to_string());
            phone.last_activity_ms = now_ms;
        }
    }

    fn chat_messages(&self, phone: &Phone) -> Vec<ChatMessage> {
        phone
            .message_ids
            .iter()
            .filter_map(|id| self.messages.get(id))
            .map(|record| record.view.clone())
            .collect()
    }
}

/// The fake WhatsApp Cloud API. Create with [`Simulator::new`], serve [`Simulator::router`], and
/// call [`Simulator::spawn_workers`] inside a Tokio runtime so status webhooks flow.
pub struct Simulator {
    pub(crate) app_secret: String,
    pub(crate) access_token: String,
    webhook_url: String,
    pub(crate) numbers: Vec<SimNumber>,
    pub(crate) templates: Vec<SimTemplate>,
    pub(crate) people: Vec<DemoPerson>,
    state: Mutex<State>,
    pub(crate) clock: SimClock,
    http: reqwest::Client,
    status_signal: Arc<Notify>,
    workers_started: AtomicBool,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // Wakes the status worker so it notices the simulator is gone and ends.
        self.status_signal.notify_one();
    }
}

fn pricing(category: &str, pricing_type: &str, billable: bool) -> Value {
    json!({"billable": billable, "pricing_model": "PMP", "type": pricing_type, "category": category})
}

fn snippet(text: &str) -> String {
    text.chars().take(SNIPPET_CHARS).collect()
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Arc<Simulator> {
        // reqwest is built without a TLS provider; installing ring's (if nobody did) keeps
        // `Client::builder().build()` from panicking. An error only means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent("facebookexternalua")
            .build()
            .expect("the webhook HTTP client builds with default settings");
        let clock = SimClock::default();
        let mut state = State {
            behaviour: config.behaviour.clone(),
            ..State::default()
        };
        let now_ms = clock.now_ms();
        for person in &config.people {
            state.register_phone(&digits_only(&person.wa_id), &person.name, now_ms);
        }
        Arc::new(Simulator {
            app_secret: config.app_secret,
            access_token: config.access_token,
            webhook_url: config.webhook_url,
            numbers: config.numbers,
            templates: config.templates,
            people: config.people,
            state: Mutex::new(state),
            clock,
            http,
            status_signal: Arc::new(Notify::new()),
            workers_started: AtomicBool::new(false),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn number(&self, phone_number_id: &str) -> Option<&SimNumber> {
        self.numbers
            .iter()
            .find(|n| n.phone_number_id == phone_number_id)
    }

    pub fn stats(&self) -> Stats {
        self.state().stats.clone()
    }

    /// How many accepted sends carried each `biz_opaque_callback_data` (exactly-once checks).
    pub fn sends_by_callback_data(&self) -> HashMap<String, u32> {
        let state = self.state();
        let mut counts = HashMap::new();
        for record in state.messages.values() {
            if let Some(data) = &record.biz_opaque_callback_data {
                *counts.entry(data.clone()).or_insert(0) += 1;
            }
        }
        counts
    }

    pub fn behaviour(&self) -> Behaviour {
        self.state().behaviour.clone()
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().behaviour = behaviour;
    }

    /// Moves the simulator's clock forward (24 h window, media URL expiry, rate-limit refills).
    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance_ms(by.as_millis() as i64);
    }

    /// A frozen clock only moves through [`Simulator::advance_clock`]: rate limits become exact.
    pub fn set_clock_frozen(&self, frozen: bool) {
        self.clock.set_frozen(frozen);
    }

    /// The simulator's current time in unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Registers a phone under exactly this wa_id (e.g. an old 12-digit Brazilian account).
    /// Returns the registered wa_id (an existing phone in either 9th-digit form wins).
    pub fn add_phone(&self, wa_id: &str, name: &str) -> String {
        let now_ms = self.clock.now_ms();
        self.state()
            .register_phone(&digits_only(wa_id), name, now_ms)
    }

    /// The chat of a phone, found by either 9th-digit form.
    pub fn chat(&self, wa_id: &str) -> Option<ChatView> {
        let state = self.state();
        let key = state.phone_key(&digits_only(wa_id))?;
        let phone = &state.phones[&key];
        Some(ChatView {
            wa_id: phone.wa_id.clone(),
            name: phone.name.clone(),
            messages: state.chat_messages(phone),
        })
    }

    /// All phones, most recently active first.
    pub fn chats(&self) -> Vec<ChatSummary> {
        let state = self.state();
        let mut phones: Vec<&Phone> = state.phones.values().collect();
        phones.sort_by(|a, b| {
            b.last_activity_ms
                .cmp(&a.last_activity_ms)
                .then(a.wa_id.cmp(&b.wa_id))
        });
        phones
            .into_iter()
            .map(|phone| ChatSummary {
                wa_id: phone.wa_id.clone(),
                name: phone.name.clone(),
                last_message: phone
                    .message_ids
                    .last()
                    .and_then(|id| state.messages.get(id))
                    .map(|record| record.view.clone()),
            })
            .collect()
    }

    // ---------------------------------------------------------------- sending (Graph API side)

    pub(crate) fn record_rejection(&self, code: i64) {
        *self.state().stats.rejections.entry(code).or_default() += 1;
    }

    /// Handles a validated-or-not send body for a known number; rate limits and window included.
    pub(crate) async fn handle_send(
        self: &Arc<Self>,
        phone_number_id: &str,
        body: &Value,
    ) -> Result<Value, GraphError> {
        match parse_send(body, &self.templates)? {
            SendRequest::MarkRead { message_id } => {
                self.mark_inbound_read(phone_number_id, &message_id)?;
                Ok(json!({"success": true}))
            }
            SendRequest::Message(message) => {
                let media: Vec<MediaRef> = message.content.media().cloned().collect();
                let accepted = self.accept(phone_number_id, *message)?;
                let response = json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": accepted.input, "wa_id": accepted.wa_id}],
                    "messages": [{"id": accepted.wamid}],
                });
                if accepted.failure.is_some() || media.is_empty() {
                    self.finish_send(&accepted.wamid, accepted.failure);
                } else {
                    // Meta fetches media after answering; so does the simulator.
                    let simulator = Arc::clone(self);
                    tokio::spawn(async move {
                        let failure = simulator.check_media(&media).await;
                        simulator.finish_send(&accepted.wamid, failure);
                    });
                }
                Ok(response)
            }
        }
    }

    fn mark_inbound_read(&self, phone_number_id: &str, message_id: &str) -> Result<(), GraphError> {
        let mut state = self.state();
        let record = state
            .messages
            .get_mut(message_id)
            .filter(|r| {
                r.view.direction == Direction::In && r.view.phone_number_id == phone_number_id
            })
            .ok_or_else(|| GraphError {
                details: Some(format!(
                    "Message {message_id} was not found for this phone number"
                )),
                ..GraphError::param("Invalid parameter")
            })?;
        if record.view.status != Some(MessageStatus::Failed) {
            record.view.status = Some(MessageStatus::Read);
        }
        state.stats.marks_read += 1;
        Ok(())
    }

    fn accept(
        &self,
        phone_number_id: &str,
        message: OutboundMessage,
    ) -> Result<Accepted, GraphError> {
        let digits = digits_only(&message.to);
        if !is_plausible_number(&digits) {
            return Err(GraphError::not_valid(format!(
                "Recipient phone number {} is not valid",
                message.to
            )));
        }
        let number = self
            .number(phone_number_id)
            .ok_or_else(|| GraphError::unknown_object(phone_number_id, "post"))?;
        let now_ms = self.clock.now_ms();
        let now_secs = now_ms.div_euclid(1000);
        let mut guard = self.state();
        let state = &mut *guard;
        let registered = state.phone_key(&digits);
        let pair_key = (
            phone_number_id.to_string(),
            registered.clone().unwrap_or_else(|| digits.clone()),
        );

        let throughput = state
            .throughput
            .entry(phone_number_id.to_string())
            .or_insert_with(|| TokenBucket::throughput(number.throughput_mps, now_ms));
        if !throughput.has_token(now_ms) {
            return Err(GraphError::throughput());
        }
        let pair = state
            .pairs
            .entry(pair_key)
            .or_insert_with(|| TokenBucket::pair(now_ms));
        if !pair.has_token(now_ms) {
            return Err(GraphError::pair_limit());
        }
        pair.take();
        state
            .throughput
            .get_mut(phone_number_id)
            .expect("bucket inserted above")
            .take();

        let mut failure = None;
        let wa_id = match registered {
            Some(key) => key,
            None if state.behaviour.strict_recipients => {
                failure = Some(Failure::Undeliverable);
                digits
            }
            None => state.register_phone(&digits, "", now_ms),
        };
        let is_template = message.content.template_category.is_some();
        let window = state
            .windows
            .entry((phone_number_id.to_string(), wa_id.clone()))
            .or_default();
        let window_open = window.is_open(now_secs);
        if failure.is_none() && !is_template && !window_open {
            failure = Some(Failure::OutsideWindow);
        }

        let mut price = None;
        let mut conversation = None;
        if failure.is_none() {
            // Answering an ad click within 24 h opens a 72 h free entry point.
            if window.free_entry_until.is_none()
                && window_open
                && window
                    .referral_secs
                    .is_some_and(|at| now_secs < at + WINDOW_SECS)
            {
                window.free_entry_until = Some(now_secs + FREE_ENTRY_SECS);
                window.free_entry_conversation = Some(hex::encode(rand::random::<[u8; 16]>()));
            }
            let free_entry = window.free_entry_until.filter(|until| now_secs < *until);
            price = Some(
                match (free_entry, message.content.template_category.as_deref()) {
                    (Some(_), _) => pricing("referral_conversion", "free_entry_point", false),
                    (None, Some("utility")) if window_open => {
                        pricing("utility", "free_customer_service", false)
                    }
                    (None, Some(category)) => pricing(category, "regular", true),
                    (None, None) => pricing("service", "free_customer_service", false),
                },
            );
            if let (Some(until), Some(id)) = (free_entry, &window.free_entry_conversation) {
                conversation = Some(json!({
                    "id": id,
                    "expiration_timestamp": until.to_string(),
                    "origin": {"type": "referral_conversion"},
                }));
            }
        }

        let wamid = new_wamid(&wa_id);
        let view = outbound_view(
            &wamid,
            phone_number_id,
            message.content,
            message.context_id,
            now_secs,
        );
        let on_phone = state.phones.contains_key(&wa_id);
        state.messages.insert(
            wamid.clone(),
            MessageRecord {
                view,
                wa_id: wa_id.clone(),
                biz_opaque_callback_data: message.biz_opaque_callback_data,
                pricing: price,
                conversation,
            },
        );
        if on_phone {
            state.add_to_chat(&wa_id, &wamid, now_ms);
        }
        state.stats.accepted += 1;
        if let Some(sent_at) = state.awaiting_reply.remove(&wa_id) {
            let ms = sent_at.elapsed().as_secs_f64() * 1000.0;
            state.reply_latencies_ms.push(ms);
        }
        let per_number = state
            .stats
            .per_number
            .entry(phone_number_id.to_string())
            .or_default();
        per_number.accepted += 1;
        per_number.first_accepted_ms.get_or_insert(now_ms);
        per_number.last_accepted_ms = Some(now_ms);
        Ok(Accepted {
            wamid,
            input: message.to,
            wa_id,
            failure,
        })
    }

    async fn check_media(&self, media: &[MediaRef]) -> Option<Failure> {
        for item in media {
            match &item.source {
                MediaSource::Id(id) => {
                    let now_ms = self.clock.now_ms();
                    let state = self.state();
                    let valid = state
                        .media
                        .get(id)
                        .is_some_and(|m| now_ms < m.uploaded_ms + MEDIA_ID_TTL_MS);
                    if !valid {
                        return Some(Failure::MediaUpload);
                    }
                }
                MediaSource::Link(link) => {
                    if !link_is_fetchable(link) {
                        return Some(Failure::MediaDownload);
                    }
                    if self.behaviour().fetch_media_links {
                        let fetched = self.http.get(link).send().await;
                        if !fetched.is_ok_and(|response| response.status().is_success()) {
                            return Some(Failure::MediaDownload);
                        }
                    }
                }
            }
        }
        None
    }

    /// Settles an accepted message: `failed`, or `sent` → `delivered` (→ `read`).
    fn finish_send(&self, wamid: &str, failure: Option<Failure>) {
        let now_secs = self.clock.now_secs();
        let mut guard = self.state();
        let state = &mut *guard;
        let auto_read = state.behaviour.auto_read;
        let out_of_order = state.behaviour.out_of_order_statuses;
        let Some(record) = state.messages.get_mut(wamid) else {
            return;
        };
        let mut statuses = Vec::new();
        match failure {
            Some(failure) => {
                record.view.status = Some(MessageStatus::Failed);
                record.view.error_code = Some(failure.code());
                record.view.error_hint = Some(Failure::hint_pt(failure.code()).to_string());
                record.view.shown = false;
                let mut status = status_json(record, MessageStatus::Failed, now_secs, false);
                status["errors"] = json!([failure.to_json()]);
                statuses.push(status);
                *state
                    .stats
                    .failed_statuses
                    .entry(failure.code())
                    .or_default() += 1;
            }
            None => {
                statuses.push(status_json(record, MessageStatus::Sent, now_secs, true));
                statuses.push(status_json(
                    record,
                    MessageStatus::Delivered,
                    now_secs,
                    true,
                ));
                record.view.status = Some(MessageStatus::Delivered);
                if auto_read {
                    statuses.push(status_json(record, MessageStatus::Read, now_secs, false));
                    record.view.status = Some(MessageStatus::Read);
                }
            }
        }
        if out_of_order {
            statuses.reverse();
        }
        let phone_number_id = record.view.phone_number_id.clone();
        self.enqueue(state, &phone_number_id, statuses);
    }

    fn enqueue(&self, state: &mut State, phone_number_id: &str, statuses: Vec<Value>) {
        let count = statuses.len() as u64;
        state
            .queue
            .extend(statuses.into_iter().map(|status| QueuedStatus {
                phone_number_id: phone_number_id.to_string(),
                status,
            }));
        state.stats.statuses_generated += count;
        state.stats.statuses_pending += count;
        self.status_signal.notify_one();
    }

    /// The person looked at the chat: every delivered outbound message becomes `read`.
    /// Returns how many messages were marked.
    pub fn mark_chat_read(&self, wa_id: &str) -> usize {
        let now_secs = self.clock.now_secs();
        let mut guard = self.state();
        let state = &mut *guard;
        let Some(key) = state.phone_key(&digits_only(wa_id)) else {
            return 0;
        };
        let ids = state.phones[&key].message_ids.clone();
        let mut by_number: Vec<(String, Vec<Value>)> = Vec::new();
        for id in ids {
            let Some(record) = state.messages.get_mut(&id) else {
                continue;
            };
            let unread = matches!(
                record.view.status,
                Some(MessageStatus::Sent | MessageStatus::Delivered)
            );
            if record.view.direction != Direction::Out || !unread {
                continue;
            }
            record.view.status = Some(MessageStatus::Read);
            let status = status_json(record, MessageStatus::Read, now_secs, false);
            let phone_number_id = record.view.phone_number_id.clone();
            match by_number
                .iter_mut()
                .find(|(number, _)| *number == phone_number_id)
            {
                Some((_, statuses)) => statuses.push(status),
                None => by_number.push((phone_number_id, vec![status])),
            }
        }
        let marked = by_number.iter().map(|(_, statuses)| statuses.len()).sum();
        for (phone_number_id, statuses) in by_number {
            self.enqueue(state, &phone_number_id, statuses);
        }
        marked
    }

    // ---------------------------------------------------------------- media

    pub(crate) fn store_media(&self, bytes: Vec<u8>, mime_type: String) -> String {
        use sha2::Digest;
        let id = new_numeric_id();
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        let uploaded_ms = self.clock.now_ms();
        let mut state = self.state();
        state.stats.media_uploaded += 1;
        state.media.insert(
            id.clone(),
            StoredMedia {
                id: id.clone(),
                bytes: Arc::new(bytes),
                mime_type,
                sha256,
                uploaded_ms,
            },
        );
        id
    }

    /// Media info for `GET /{media-id}`, with a fresh download hash valid 5 minutes.
    pub(crate) fn media_info(&self, media_id: &str) -> Option<(StoredMediaInfo, String, i64)> {
        let now_ms = self.clock.now_ms();
        let mut state = self.state();
        let media = state
            .media
            .get(media_id)
            .filter(|m| now_ms < m.uploaded_ms + MEDIA_ID_TTL_MS)?;
        let info = StoredMediaInfo {
            id: media.id.clone(),
            mime_type: media.mime_type.clone(),
            sha256: media.sha256.clone(),
            file_size: media.bytes.len(),
        };
        let hash = new_token(32);
        let expires_ms = now_ms + MEDIA_URL_TTL_MS;
        state.downloads.insert(
            hash.clone(),
            DownloadLink {
                media_id: media_id.to_string(),
                expires_ms,
            },
        );
        Some((info, hash, expires_ms.div_euclid(1000)))
    }

    pub(crate) fn delete_media(&self, media_id: &str) -> bool {
        self.state().media.remove(media_id).is_some()
    }

    /// Bytes behind a download hash, while it is valid.
    pub(crate) fn download(&self, media_id: &str, hash: &str) -> Option<(String, Arc<Vec<u8>>)> {
        let now_ms = self.clock.now_ms();
        let state = self.state();
        let link = state
            .downloads
            .get(hash)
            .filter(|l| l.media_id == media_id && now_ms < l.expires_ms)?;
        let media = state.media.get(&link.media_id)?;
        Some((media.mime_type.clone(), Arc::clone(&media.bytes)))
    }

    /// Bytes of an uploaded media for the phone page (the phone already "has" what it received).
    pub(crate) fn media_for_phone(&self, media_id: &str) -> Option<(String, Arc<Vec<u8>>)> {
        let state = self.state();
        let media = state.media.get(media_id)?;
        Some((media.mime_type.clone(), Arc::clone(&media.bytes)))
    }

    // ---------------------------------------------------------------- inbound (phone → app)

    /// Sends a subscriber's message to the app, synchronously: `Ok(wamid)` once the app answered 200
    /// (to every copy, when duplicated).
    /// Milliseconds from each subscriber message to the first message the business sent to that
    /// phone afterwards ("subscriber message → reply on the phone"), in arrival order.
    pub fn reply_latencies_ms(&self) -> Vec<f64> {
        self.state().reply_latencies_ms.clone()
    }

    /// Phones whose latest message has not been answered yet.
    pub fn unanswered(&self) -> usize {
        self.state().awaiting_reply.len()
    }

    pub async fn send_inbound(&self, request: InboundRequest) -> Result<String, SimError> {
        let from = digits_only(&request.from);
        let sent_at = std::time::Instant::now();
        let (wamid, body, duplicate) = self.prepare_inbound(request)?;
        {
            let mut state = self.state();
            if let Some(key) = state.phone_key(&from) {
                state.awaiting_reply.entry(key).or_insert(sent_at);
            }
        }
        let copies = if duplicate { 2 } else { 1 };
        for _ in 0..copies {
            if let Err(failure) = self.post_webhook(&body).await {
                let mut state = self.state();
                state.stats.inbound_failed += 1;
                if let Some(record) = state.messages.get_mut(&wamid) {
                    record.view.status = Some(MessageStatus::Failed);
                    record.view.error_hint = Some("O app não aceitou esta mensagem".into());
                }
                return Err(match failure.status {
                    Some(status) => SimError::AppRejected {
                        status,
                        body: failure.body,
                    },
                    None => SimError::AppUnreachable(failure.body),
                });
            }
        }
        self.state().stats.inbound_delivered += 1;
        Ok(wamid)
    }

    /// Records the message on the phone and opens the window before delivery: on Meta the user has
    /// sent it already, and the app may answer before its webhook handler returns.
    fn prepare_inbound(
        &self,
        request: InboundRequest,
    ) -> Result<(String, Vec<u8>, bool), SimError> {
        let from = digits_only(&request.from);
        if !is_plausible_number(&from) {
            return Err(SimError::BadRequest(format!(
                "Número de telefone inválido: \"{}\"",
                request.from
            )));
        }
        let number = match &request.phone_number_id {
            Some(id) => self.number(id).ok_or_else(|| {
                SimError::BadRequest(format!("Número comercial desconhecido: {id}"))
            })?,
            None => self.numbers.first().ok_or_else(|| {
                SimError::BadRequest("Nenhum número comercial configurado".into())
            })?,
        };
        let kinds = [
            request.text.is_some(),
            request.button_reply.is_some(),
            request.list_reply.is_some(),
            request.template_button.is_some(),
            request.location.is_some(),
        ];
        if kinds.iter().filter(|set| **set).count() != 1 {
            return Err(SimError::BadRequest(
                "Informe exatamente um destes campos: text, button_reply, list_reply, template_button, location".into(),
            ));
        }
        if request.text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(SimError::BadRequest("A mensagem está vazia".into()));
        }

        let now_ms = self.clock.now_ms();
        let now_secs = now_ms.div_euclid(1000);
        let mut guard = self.state();
        let state = &mut *guard;
        let wa_id = state.register_phone(&from, request.name.as_deref().unwrap_or(""), now_ms);
        let profile_name = match state.phones[&wa_id].name.as_str() {
            "" => wa_id.clone(),
            name => name.to_string(),
        };
        let wamid = new_wamid(&wa_id);
        let duplicate = request.duplicate || state.behaviour.duplicate_webhooks;

        let mut message = json!({"from": wa_id, "id": wamid, "timestamp": now_secs.to_string()});
        let mut view = ChatMessage {
            id: wamid.clone(),
            direction: Direction::In,
            kind: String::new(),
            text: None,
            footer: None,
            buttons: Vec::new(),
            reply_options: Vec::new(),
            links: Vec::new(),
            list: None,
            document: None,
            image: None,
            location: None,
            status: None,
            error_code: None,
            error_hint: None,
            shown: true,
            context_id: None,
            phone_number_id: number.phone_number_id.clone(),
            timestamp: now_secs.to_string(),
        };
        let phone = &state.phones[&wa_id];
        let mut context_id = request.context_id.clone();
        if let Some(text) = &request.text {
            message["type"] = json!("text");
            message["text"] = json!({"body": text});
            view.kind = "text".into();
            view.text = Some(text.clone());
        } else if let Some(reply) = &request.button_reply {
            message["type"] = json!("interactive");
            message["interactive"] = json!({"type": "button_reply", "button_reply": {"id": reply.id, "title": reply.title}});
            view.kind = "interactive".into();
            view.text = Some(reply.title.clone());
            if context_id.is_none() {
                context_id = find_carrier(state, phone, &number.phone_number_id, |record| {
                    record
                        .view
                        .reply_options
                        .iter()
                        .any(|o| o.kind == ReplyKind::ButtonReply && o.id == reply.id)
                });
            }
        } else if let Some(reply) = &request.list_reply {
            let row_of = |record: &MessageRecord| {
                record.view.list.as_ref().and_then(|list| {
                    list.sections
                        .iter()
                        .flat_map(|s| &s.rows)
                        .find(|row| row.id == reply.id)
                        .cloned()
                })
            };
            if context_id.is_none() {
                context_id = find_carrier(state, phone, &number.phone_number_id, |record| {
                    row_of(record).is_some()
                });
            }
            let description = context_id
                .as_ref()
                .and_then(|id| state.messages.get(id))
                .and_then(row_of)
                .and_then(|row| row.description);
            let mut list_reply = json!({"id": reply.id, "title": reply.title});
            if let Some(description) = description {
                list_reply["description"] = json!(description);
            }
            message["type"] = json!("interactive");
            message["interactive"] = json!({"type": "list_reply", "list_reply": list_reply});
            view.kind = "interactive".into();
            view.text = Some(reply.title.clone());
        } else if let Some(button) = &request.template_button {
            message["type"] = json!("button");
            message["button"] = json!({"payload": button.payload, "text": button.text});
            view.kind = "button".into();
            view.text = Some(button.text.clone());
            if context_id.is_none() {
                context_id = find_carrier(state, phone, &number.phone_number_id, |record| {
                    record
                        .view
                        .reply_options
                        .iter()
                        .any(|o| o.kind == ReplyKind::TemplateButton && o.id == button.payload)
                });
            }
        } else if let Some(location) = &request.location {
            let mut object =
                json!({"latitude": location.latitude, "longitude": location.longitude});
            if let Some(name) = &location.name {
                object["name"] = json!(name);
            }
            if let Some(address) = &location.address {
                object["address"] = json!(address);
            }
            message["type"] = json!("location");
            message["location"] = object;
            view.kind = "location".into();
            view.text = Some(format!(
                "📍 {}",
                location
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}, {}", location.latitude, location.longitude))
            ));
            view.location = Some(LocationView {
                latitude: location.latitude,
                longitude: location.longitude,
                name: location.name.clone(),
                address: location.address.clone(),
            });
        }
        if let Some(id) = &context_id {
            message["context"] = json!({"from": number.display_phone_number, "id": id});
        }
        if let Some(referral) = &request.referral {
            message["referral"] = referral.clone();
        }
        view.context_id = context_id;

        let envelope = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": number.waba_id,
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": number.display_phone_number,
                            "phone_number_id": number.phone_number_id,
                        },
                        "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
                        "messages": [message],
                    }
                }]
            }]
        });

        state.messages.insert(
            wamid.clone(),
            MessageRecord {
                view,
                wa_id: wa_id.clone(),
                biz_opaque_callback_data: None,
                pricing: None,
                conversation: None,
            },
        );
        state.add_to_chat(&wa_id, &wamid, now_ms);
        let window = state
            .windows
            .entry((number.phone_number_id.clone(), wa_id))
            .or_default();
        window.last_inbound_secs = Some(now_secs);
        if request.referral.is_some() {
            window.referral_secs = Some(now_secs);
            window.free_entry_until = None;
        }
        Ok((wamid, to_meta_json(&envelope).into_bytes(), duplicate))
    }

    // ---------------------------------------------------------------- webhook delivery

    async fn post_webhook(&self, body: &[u8]) -> Result<(), DeliveryFailure> {
        let outcome = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                signature_header(&self.app_secret, body),
            )
            .body(body.to_vec())
            .send()
            .await;
        let result = match outcome {
            Ok(response) if response.status().as_u16() == 200 => Ok(()),
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                Err(DeliveryFailure {
                    status: Some(status),
                    body: snippet(&text),
                })
            }
            Err(error) => Err(DeliveryFailure {
                status: None,
                body: snippet(&error.to_string()),
            }),
        };
        let mut state = self.state();
        match &result {
            Ok(()) => state.stats.webhooks_delivered += 1,
            Err(failure) => {
                state.stats.webhooks_failed += 1;
                tracing::debug!(status = ?failure.status, body = %failure.body, "webhook delivery failed");
            }
        }
        result
    }

    /// Verifies the app's webhook endpoint like Meta does when the callback URL is configured:
    /// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` must echo the challenge.
    pub async fn verify_webhook(&self, verify_token: &str) -> Result<(), SimError> {
        let challenge = new_numeric_id();
        let separator = if self.webhook_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!(
            "{}{separator}hub.mode=subscribe&hub.verify_token={}&hub.challenge={challenge}",
            self.webhook_url,
            percent_encode(verify_token)
        );
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| SimError::AppUnreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if status == 200 && body == challenge {
            Ok(())
        } else {
            Err(SimError::AppRejected {
                status,
                body: snippet(&body),
            })
        }
    }

    /// Starts the status webhook worker (once; later calls do nothing). Needs a Tokio runtime.
    pub fn spawn_workers(self: &Arc<Self>) {
        if self.workers_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let simulator = Arc::downgrade(self);
        let signal = Arc::clone(&self.status_signal);
        tokio::spawn(status_worker(simulator, signal));
    }

    fn take_batch(&self) -> Option<(Vec<u8>, u64)> {
        let mut state = self.state();
        let max = state.behaviour.status_batch_max.max(1);
        let count = max.min(state.queue.len());
        if count == 0 {
            return None;
        }
        let batch: Vec<QueuedStatus> = state.queue.drain(..count).collect();
        drop(state);
        // One entry per WABA, one change per business number, in first-seen order.
        let mut entries: Vec<(String, StatusesByNumber)> = Vec::new();
        for item in batch {
            let waba_id = self
                .number(&item.phone_number_id)
                .map(|n| n.waba_id.clone())
                .unwrap_or_default();
            let entry = match entries.iter().position(|(id, _)| *id == waba_id) {
                Some(index) => &mut entries[index].1,
                None => {
                    entries.push((waba_id, Vec::new()));
                    &mut entries.last_mut().expect("just pushed").1
                }
            };
            match entry.iter_mut().find(|(id, _)| *id == item.phone_number_id) {
                Some((_, statuses)) => statuses.push(item.status),
                None => entry.push((item.phone_number_id, vec![item.status])),
            }
        }
        let entry_values: Vec<Value> = entries
            .into_iter()
            .map(|(waba_id, changes)| {
                let changes: Vec<Value> = changes
                    .into_iter()
                    .map(|(phone_number_id, statuses)| {
                        let display = self
                            .number(&phone_number_id)
                            .map(|n| n.display_phone_number.clone())
                            .unwrap_or_default();
                        json!({"field": "messages", "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
                            "statuses": statuses,
                        }})
                    })
                    .collect();
                json!({"id": waba_id, "changes": changes})
            })
            .collect();
        let envelope = json!({"object": "whatsapp_business_account", "entry": entry_values});
        Some((to_meta_json(&envelope).into_bytes(), count as u64))
    }

    fn settle_statuses(&self, count: u64, delivered: bool) {
        let mut state = self.state();
        state.stats.statuses_pending = state.stats.statuses_pending.saturating_sub(count);
        if !delivered {
            state.stats.webhooks_abandoned += 1;
        }
    }

    /// One status envelope: first attempt now; on failure, retries with doubling delays in the
    /// background so later envelopes are not held up (their order then differs, as on Meta).
    async fn deliver_statuses(self: Arc<Self>, body: Vec<u8>, count: u64) {
        if self.post_webhook(&body).await.is_ok() {
            self.settle_statuses(count, true);
            if self.behaviour().duplicate_webhooks {
                let _ = self.post_webhook(&body).await;
            }
            return;
        }
        tokio::spawn(async move {
            let behaviour = self.behaviour();
            let mut delay = behaviour.retry_base_delay_ms;
            for _ in 1..behaviour.retry_max_attempts.max(1) {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                delay = delay.saturating_mul(2);
                self.state().stats.webhook_retries += 1;
                if self.post_webhook(&body).await.is_ok() {
                    self.settle_statuses(count, true);
                    return;
                }
            }
            self.settle_statuses(count, false);
        });
    }
}

async fn status_worker(simulator: Weak<Simulator>, signal: Arc<Notify>) {
    loop {
        let delay = {
            let Some(simulator) = simulator.upgrade() else {
                return;
            };
            let state = simulator.state();
            // The pause lets statuses gather into a batch; a full batch goes at once.
            let full = state.queue.len() >= state.behaviour.status_batch_max.max(1);
            (!state.queue.is_empty()).then_some(if full {
                0
            } else {
                state.behaviour.status_delay_ms
            })
        };
        let Some(delay) = delay else {
            signal.notified().await;
            continue;
        };
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let Some(simulator) = simulator.upgrade() else {
            return;
        };
        if let Some((body, count)) = simulator.take_batch() {
            simulator.deliver_statuses(body, count).await;
        }
    }
}

/// (phone_number_id, statuses) in first-seen order.
type StatusesByNumber = Vec<(String, Vec<Value>)>;

pub(crate) struct StoredMediaInfo {
    pub id: String,
    pub mime_type: String,
    pub sha256: String,
    pub file_size: usize,
}

struct Accepted {
    wamid: String,
    input: String,
    wa_id: String,
    failure: Option<Failure>,
}

struct DeliveryFailure {
    status: Option<u16>,
    body: String,
}

/// The most recent outbound message on this phone, from this number, that matches.
fn find_carrier(
    state: &State,
    phone: &Phone,
    phone_number_id: &str,
    matches: impl Fn(&MessageRecord) -> bool,
) -> Option<String> {
    phone
        .message_ids
        .iter()
        .rev()
        .filter_map(|id| state.messages.get(id))
        .find(|r| {
            r.view.direction == Direction::Out
                && r.view.phone_number_id == phone_number_id
                && matches(r)
        })
        .map(|r| r.view.id.clone())
}

/// Query-string encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// HTTPS anywhere; plain HTTP only on this machine (the demo serves its PDFs locally).
fn link_is_fetchable(link: &str) -> bool {
    if link.starts_with("https://") {
        return true;
    }
    let Some(rest) = link.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

fn media_link(media: &MediaRef) -> String {
    match &media.source {
        MediaSource::Link(link) => link.clone(),
        MediaSource::Id(id) => format!("/simulator/media/{id}"),
    }
}

fn outbound_view(
    wamid: &str,
    phone_number_id: &str,
    content: Rendered,
    context_id: Option<String>,
    now_secs: i64,
) -> ChatMessage {
    ChatMessage {
        id: wamid.to_string(),
        direction: Direction::Out,
        kind: content.kind,
        text: content.text,
        footer: content.footer,
        buttons: content
            .reply_options
            .iter()
            .map(|o| o.title.clone())
            .collect(),
        reply_options: content.reply_options,
        links: content.links,
        list: content.list,
        document: content.document.as_ref().map(|d| DocumentView {
            link: media_link(d),
            filename: d.filename.clone(),
        }),
        image: content.image.as_ref().map(|i| ImageView {
            link: media_link(i),
        }),
        location: content.location,
        status: None,
        error_code: None,
        error_hint: None,
        shown: true,
        context_id,
        phone_number_id: phone_number_id.to_string(),
        timestamp: now_secs.to_string(),
    }
}

fn status_json(
    record: &MessageRecord,
    status: MessageStatus,
    now_secs: i64,
    with_pricing: bool,
) -> Value {
    let mut value = json!({
        "id": record.view.id,
        "status": status.as_str(),
        "timestamp": now_secs.to_string(),
        "recipient_id": record.wa_id,
    });
    if let Some(data) = &record.biz_opaque_callback_data {
        value["biz_opaque_callback_data"] = json!(data);
    }
    if with_pricing {
        if let Some(pricing) = &record.pricing {
            value["pricing"] = pricing.clone();
        }
        if let Some(conversation) = &record.conversation {
            value["conversation"] = conversation.clone();
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_http_links_are_fetchable_remote_ones_are_not() {
        assert!(link_is_fetchable("https://boletos.example/b.pdf"));
        assert!(link_is_fetchable("http://127.0.0.1:8080/b.pdf"));
        assert!(link_is_fetchable("http://localhost/b.pdf"));
        assert!(link_is_fetchable("http://[::1]:80/b.pdf"));
        assert!(!link_is_fetchable("http://boletos.example/b.pdf"));
        assert!(!link_is_fetchable("http://localhost.evil.example/b.pdf"));
        assert!(!link_is_fetchable("ftp://localhost/b.pdf"));
    }

    #[test]
    fn percent_encodes_reserved_characters() {
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }

    #[test]
    fn window_is_open_for_24_hours() {
        let window = Window {
            last_inbound_secs: Some(1_000),
            ..Window::default()
        };
        assert!(window.is_open(1_000 + WINDOW_SECS - 1));
        assert!(!window.is_open(1_000 + WINDOW_SECS));
        assert!(!Window::default().is_open(0));
    }
}
