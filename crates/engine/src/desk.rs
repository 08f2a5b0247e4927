//! The service desk: the runner that moves conversations through it, and the agent actions.
//!
//! [`DeskRunner`] sweeps every second, and within 10 ms of a webhook commit or a desk change:
//! 1. conversations entering the desk — a bot handoff (the bot wrote a `handoff` event and
//!    finished its session) or, with the bot off, any new conversation — go to the queue whose
//!    name matches the handoff's sector, else to the numbered menu;
//! 2. new inbound messages are read: a menu answer (`balcao_desk::menu::parse_choice`; the
//!    third invalid answer goes to the first queue so nobody is trapped), a CSAT rating or
//!    comment, a message in the grace period after a close (reopens), or simply unread messages;
//! 3. fallback timers (unaccepted transfers, waiting too long) move conversations on;
//! 4. agents gone offline or away give back their unanswered conversations;
//! 5. each queue with waiting conversations: outside its hours the out-of-hours message goes out
//!    once per closed period (or the conversation moves to the fallback queue); inside them the
//!    least recently assigned eligible agent gets the next one (round-robin queues);
//! 6. the notices the store wrote with each transition are sent through the outbox, with
//!    idempotency keys `desk:{conversation}:{kind}:{notice}-{part}`: a crash between sending and
//!    completing a notice re-sends nothing;
//! 7. closed conversations past their grace close their `conversations` row.
//!
//! Every transition is one store transaction; a [`BusEvent`] follows each commit. Several nodes
//! may run the runner at once: transitions re-check their state, assignment is exclusive in the
//! store, and notices are idempotent.
//!
//! [`Desk`] holds the agent actions the web layer calls (reply, note, tag, transfer, accept,
//! claim, close, reopen, presence, team chat), with errors in Portuguese ([`DeskError`]).

use crate::SharedClock;
use crate::bot::protocol_number;
use crate::bus::{BusEvent, EventBus};
use crate::outbox::{Outbox, OutboxError, SendRequest};
use balcao_desk::hours::DEFAULT_TIME_ZONE;
use balcao_desk::menu::{Choice, QueueOption};
use balcao_desk::timers::OohDecision;
use balcao_desk::{AutoMessage, AutoMessages, BusinessHours, Vars, WeeklyHours};
use balcao_domain::br::HolidayCalendar;
use balcao_domain::outbound::{OutboundContent, TemplateMessage};
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, MessageId, Millis, UserId, WorkspaceId};
use balcao_store::{
    AssignRules, Conversation, ConversationStatus, CsatAnswer, CsatState, DeskClose,
    DeskConversation, DeskEntry, DeskNotice, DeskState, Direction, InboxFilter, Message, Note,
    OutOfHoursMode, Queue, QueueId, Store, StoreError, TeamMessage, TransferTarget, User,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// No heartbeat for this long: offline (the open inbox beats every ~15 s).
pub const PRESENCE_TTL_MS: Millis = 45_000;
/// Invalid menu answers before the conversation goes to the first queue anyway.
pub const MAX_MENU_FAILURES: u32 = 3;
/// Reopen grace used until a workspace saves its own.
pub const DEFAULT_REOPEN_GRACE_SECS: u32 = 600;
/// Fallback moves after which out-of-hours conversations wait instead of moving again.
const MAX_FALLBACK_HOPS: u32 = 3;

/// The oldest heartbeat that still counts as online at `now`
/// (`balcao_desk::timers::is_online`: strictly less than 45 s ago).
pub fn online_since(now: Millis) -> Millis {
    now - PRESENCE_TTL_MS + 1
}

/// The desk settings of a workspace, as stored by `DeskStore::save_desk_settings`; missing
/// fields take their defaults, so a workspace that never saved any works.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeskSettings {
    pub messages: AutoMessages,
    pub reopen_grace_secs: u32,
    pub csat_enabled: bool,
    /// Carnaval and Corpus Christi close the desk too.
    pub include_optional_holidays: bool,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            messages: AutoMessages::default(),
            reopen_grace_secs: DEFAULT_REOPEN_GRACE_SECS,
            csat_enabled: true,
            include_optional_holidays: false,
        }
    }
}

impl DeskSettings {
    /// Unreadable settings fall back to the defaults (with a warning): the desk keeps working.
    pub fn from_stored(value: Option<Value>) -> DeskSettings {
        match value {
            None => DeskSettings::default(),
            Some(v) => serde_json::from_value(v).unwrap_or_else(|err| {
                tracing::warn!(error = %err, "desk: unreadable settings, using the defaults");
                DeskSettings::default()
            }),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeskConfig {
    /// The self-service bot runs first; off, every new conversation enters the menu directly.
    pub bot_enabled: bool,
    pub sweep_every: Duration,
    /// Rows handled per step of a sweep.
    pub batch: u32,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            bot_enabled: true,
            sweep_every: Duration::from_secs(1),
            batch: 500,
        }
    }
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStats {
    pub entered: u32,
    pub inbound: u32,
    pub fallbacks: u32,
    pub returned: u32,
    pub assigned: u32,
    pub out_of_hours: u32,
    pub notices: u32,
    pub finished: u32,
}

impl SweepStats {
    fn changed(&self) -> bool {
        *self != SweepStats::default()
    }
}

/// What the runner knows of a workspace during one sweep.
struct WorkspaceView {
    time_zone: TimeZone,
    name: String,
    settings: DeskSettings,
    queues: Vec<Queue>,
    holidays: HolidayCalendar,
}

impl WorkspaceView {
    fn queue(&self, id: QueueId) -> Option<&Queue> {
        self.queues.iter().find(|q| q.id == id)
    }

    fn options(&self) -> Vec<QueueOption> {
        self.queues
            .iter()
            .map(|q| QueueOption {
                id: q.id.0,
                option_number: q.option_number.get() as u16,
                name: q.name.clone(),
                active: q.active,
            })
            .collect()
    }

    /// Hours in the workspace's time zone and holidays; `None` or unreadable hours: always open.
    fn hours(&self, weekly: Option<&Value>) -> BusinessHours {
        let weekly = weekly.and_then(|v| match serde_json::from_value::<WeeklyHours>(v.clone()) {
            Ok(w) => Some(w),
            Err(err) => {
                tracing::warn!(error = %err, "desk: unreadable hours, treated as always open");
                None
            }
        });
        BusinessHours {
            time_zone: self.time_zone.clone(),
            weekly,
            holidays: self.holidays.clone(),
        }
    }
}

/// The active queue for a bot handoff's sector: one whose name is the sector's (accents and case
/// ignored), else one whose name means the same department ("billing" → "Financeiro").
fn queue_for_sector(view: &WorkspaceView, sector: &str) -> Option<QueueId> {
    let options = view.options();
    if let Some(id) = balcao_desk::menu::match_queue_name(sector, &options) {
        return Some(QueueId(id));
    }
    let wanted = balcao_intent::Sector::parse(sector)?;
    balcao_desk::menu::offered(&options)
        .into_iter()
        .find(|q| balcao_intent::Sector::parse(&q.name) == Some(wanted))
        .map(|q| QueueId(q.id))
}

fn timestamp(ms: Millis) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The text and the tapped reply id of an inbound message (as the bot reads them).
/// Whether a subscriber's message asks for the protocol number.
fn asks_for_protocol(message: &Message) -> bool {
    static MATCHER: std::sync::LazyLock<balcao_intent::Matcher> =
        std::sync::LazyLock::new(balcao_intent::Matcher::default);
    message
        .text
        .as_deref()
        .is_some_and(|text| MATCHER.classify(text).intent == balcao_intent::Intent::Protocol)
}

pub fn inbound_answer(message: &Message) -> (Option<String>, Option<String>) {
    let payload = &message.payload;
    let reply_id = payload["interactive"]["button_reply"]["id"]
        .as_str()
        .or_else(|| payload["interactive"]["list_reply"]["id"].as_str())
        .or_else(|| payload["button"]["payload"].as_str())
        .map(str::to_owned);
    (message.text.clone(), reply_id)
}

async fn load_view(store: &dyn Store, workspace: WorkspaceId) -> Result<WorkspaceView, StoreError> {
    let ws = store
        .workspace(workspace)
        .await?
        .ok_or(StoreError::NotFound)?;
    let time_zone = TimeZone::get(&ws.time_zone)
        .or_else(|_| TimeZone::get(DEFAULT_TIME_ZONE))
        .unwrap_or(TimeZone::UTC);
    let settings = DeskSettings::from_stored(store.desk_settings(workspace).await?);
    let holidays = HolidayCalendar {
        include_optional: settings.include_optional_holidays,
        custom: store
            .holidays(workspace)
            .await?
            .into_iter()
            .map(|h| (h.date, h.name))
            .collect(),
    };
    Ok(WorkspaceView {
        time_zone,
        name: ws.name,
        settings,
        queues: store.queues(workspace).await?,
        holidays,
    })
}

#[derive(Clone)]
pub struct DeskRunner {
    store: Arc<dyn Store>,
    outbox: Outbox,
    clock: SharedClock,
    bus: EventBus,
    config: DeskConfig,
    wake: Arc<Notify>,
}

impl DeskRunner {
    pub fn new(
        store: Arc<dyn Store>,
        outbox: Outbox,
        clock: SharedClock,
        bus: EventBus,
        config: DeskConfig,
    ) -> DeskRunner {
        DeskRunner {
            store,
            outbox,
            clock,
            bus,
            config,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The agent actions, sharing this runner's wake-up (a close is thanked at once).
    pub fn desk(&self) -> Desk {
        Desk {
            store: self.store.clone(),
            outbox: self.outbox.clone(),
            clock: self.clock.clone(),
            bus: self.bus.clone(),
            wake: self.wake.clone(),
        }
    }

    /// Sweeps until `shutdown` turns true: every `sweep_every`, and within 10 ms of a webhook
    /// commit, a desk change or an agent action.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut events = self.bus.subscribe();
        let mut tick = tokio::time::interval(self.config.sweep_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poked = false;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(BusEvent::InboundStored { .. } | BusEvent::DeskChanged { .. }) => {
                        poked = true
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => poked = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = self.wake.notified() => poked = true,
                _ = tokio::time::sleep(Duration::from_millis(10)), if poked => {
                    poked = false;
                    self.sweep_logged().await;
                }
                _ = tick.tick() => self.sweep_logged().await,
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }

    async fn sweep_logged(&self) {
        match self.sweep().await {
            Ok(stats) if stats.changed() => tracing::debug!(?stats, "desk sweep"),
            Ok(_) => {}
            Err(err) => {
                metrics::counter!("balcao_desk_errors_total").increment(1);
                tracing::warn!(error = %err, "desk: sweep failed; the next one retries");
            }
        }
    }

    fn changed(&self, workspace: WorkspaceId, conversation: ConversationId) {
        self.bus.publish(BusEvent::DeskChanged {
            workspace_id: workspace,
            conversation_id: conversation,
        });
    }

    /// One pass over everything due (see the module documentation). A failure on one
    /// conversation is logged and skipped; only a failure to list the work fails the sweep.
    pub async fn sweep(&self) -> Result<SweepStats, StoreError> {
        let mut stats = SweepStats::default();
        let mut views: HashMap<WorkspaceId, Arc<WorkspaceView>> = HashMap::new();
        let store = self.store.as_ref();

        for candidate in store
            .desk_entry_candidates(self.config.bot_enabled, self.config.batch)
            .await?
        {
            let (ws, c) = (candidate.workspace_id, candidate.conversation_id);
            let result = async {
                let view = self.view(&mut views, ws).await?;
                self.enter(&view, candidate).await
            }
            .await;
            match result {
                Ok(true) => {
                    stats.entered += 1;
                    self.changed(ws, c);
                }
                Ok(false) => {}
                Err(err) => warn_conversation("entry", c, &err),
            }
        }

        for (ws, c) in store.desk_awaiting_inbound(self.config.batch).await? {
            let result = async {
                let view = self.view(&mut views, ws).await?;
                self.read_inbound(&view, ws, c).await
            }
            .await;
            match result {
                Ok(()) => {
                    stats.inbound += 1;
                    self.changed(ws, c);
                }
                Err(err) => warn_conversation("inbound", c, &err),
            }
        }

        let now = self.clock.now();
        let due = store
            .due_desk_work(now, online_since(now), self.config.batch)
            .await?;
        for (ws, c) in due.deadlines {
            match store.apply_deadline(ws, c, now).await {
                Ok(Some(_)) => {
                    stats.fallbacks += 1;
                    self.changed(ws, c);
                }
                Ok(None) => {}
                Err(err) => warn_conversation("deadline", c, &err),
            }
        }
        for (ws, user) in due.agents_gone {
            match store.return_unanswered_chats(ws, user, now).await {
                Ok(returned) => {
                    stats.returned += returned.len() as u32;
                    for c in returned {
                        self.changed(ws, c);
                    }
                    self.bus.publish(BusEvent::PresenceChanged {
                        workspace_id: ws,
                        user_id: user,
                    });
                }
                Err(err) => tracing::warn!(error = %err, user = %user, "desk: return failed"),
            }
        }
        // Read again: the steps above put conversations back in queues.
        let waiting = store
            .due_desk_work(now, online_since(now), self.config.batch)
            .await?
            .queues_waiting;
        for (ws, queue) in waiting {
            let result = async {
                let view = self.view(&mut views, ws).await?;
                self.serve_queue(&view, ws, queue, &mut stats).await
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, queue = %queue, "desk: queue pass failed");
            }
        }

        // Notices written by the steps above go out in this same sweep; then the grace ends
        // (a conversation is never closed with a notice still to send).
        let now = self.clock.now();
        let due = store
            .due_desk_work(now, online_since(now), self.config.batch)
            .await?;
        for notice in due.notices {
            let (ws, c) = (notice.workspace_id, notice.conversation_id);
            let result = async {
                let view = self.view(&mut views, ws).await?;
                self.send_notice(&view, &notice).await
            }
            .await;
            match result {
                Ok(()) => {
                    store.complete_desk_notice(ws, notice.id).await?;
                    stats.notices += 1;
                }
                Err(err) => warn_conversation("notice", c, &err),
            }
        }
        for (ws, c) in due.grace_expired {
            match store.finish_desk(ws, c, now).await {
                Ok(true) => {
                    stats.finished += 1;
                    self.changed(ws, c);
                }
                Ok(false) => {}
                Err(err) => warn_conversation("finish", c, &err),
            }
        }
        Ok(stats)
    }

    async fn view(
        &self,
        views: &mut HashMap<WorkspaceId, Arc<WorkspaceView>>,
        workspace: WorkspaceId,
    ) -> Result<Arc<WorkspaceView>, StoreError> {
        if let Some(v) = views.get(&workspace) {
            return Ok(v.clone());
        }
        let view = Arc::new(load_view(self.store.as_ref(), workspace).await?);
        views.insert(workspace, view.clone());
        Ok(view)
    }

    /// A conversation enters: into the queue named by the handoff's sector, else the menu.
    async fn enter(
        &self,
        view: &WorkspaceView,
        candidate: balcao_store::DeskEntryCandidate,
    ) -> Result<bool, StoreError> {
        let (ws, c) = (candidate.workspace_id, candidate.conversation_id);
        let handoff = candidate.handoff.unwrap_or(Value::Null);
        let sector = handoff["sector"].as_str().unwrap_or_default();
        let summary = handoff["summary"]
            .as_str()
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty());
        let queue = queue_for_sector(view, sector);
        // Without the bot, the messages that opened the conversation are a greeting, not an
        // answer to a menu the subscriber has not seen yet.
        let handled_up_to = match candidate.bot_last_message_id {
            Some(m) => Some(m),
            None => self.last_inbound(ws, c).await?,
        };
        let entry = DeskEntry {
            queue,
            summary,
            handled_up_to,
            welcome: !self.config.bot_enabled,
        };
        let (_, created) = self
            .store
            .enter_desk(ws, c, entry, self.clock.now())
            .await?;
        Ok(created)
    }

    async fn last_inbound(
        &self,
        ws: WorkspaceId,
        c: ConversationId,
    ) -> Result<Option<MessageId>, StoreError> {
        let mut after = None;
        let mut last = None;
        loop {
            let page = self.store.messages(ws, c, after, 500).await?;
            let Some(tail) = page.last() else {
                return Ok(last);
            };
            after = Some(tail.id);
            if let Some(m) = page.iter().rev().find(|m| m.direction == Direction::In) {
                last = Some(m.id);
            }
            if page.len() < 500 {
                return Ok(last);
            }
        }
    }

    /// Handles the inbound messages the desk has not seen, one by one, in order.
    async fn read_inbound(
        &self,
        view: &WorkspaceView,
        ws: WorkspaceId,
        c: ConversationId,
    ) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        let Some(mut desk) = store.desk_conversation(ws, c).await? else {
            return Ok(());
        };
        let messages: Vec<Message> = store
            .messages(ws, c, desk.last_seen_message_id, 200)
            .await?
            .into_iter()
            .filter(|m| m.direction == Direction::In)
            .collect();
        for (i, message) in messages.iter().enumerate() {
            if desk.finished {
                break;
            }
            let now = self.clock.now();
            // Anatel RGC art. 9: the protocol on request, whoever holds the conversation — the
            // menu and the queue answer it themselves (an agent has `/protocolo`).
            if matches!(desk.state, DeskState::Menu | DeskState::Queued) {
                for asked in messages[i..].iter().filter(|m| asks_for_protocol(m)) {
                    self.answer_protocol(view, ws, c, asked.id).await?;
                }
                if desk.state == DeskState::Menu && asks_for_protocol(message) {
                    store.advance_desk_cursor(ws, c, message.id, 1, now).await?;
                    desk = self.reload(ws, c).await?;
                    continue;
                }
            }
            let outcome = match desk.state {
                DeskState::Queued | DeskState::Assigned => {
                    // Waiting for or talking to a person: the rest is unread for the agent.
                    let last = messages.last().map_or(message.id, |m| m.id);
                    let unread = (messages.len() - i) as u32;
                    store.advance_desk_cursor(ws, c, last, unread, now).await?;
                    return Ok(());
                }
                DeskState::Menu => self.menu_answer(view, &desk, message, now).await,
                DeskState::Closed => self.after_close(&desk, message, now).await,
            };
            desk = match outcome {
                Ok(next) => next,
                // Another node moved it first: read it again and go on from there.
                Err(StoreError::Conflict(_)) => {
                    let fresh = store
                        .desk_conversation(ws, c)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    if fresh
                        .last_seen_message_id
                        .is_none_or(|seen| seen < message.id)
                    {
                        store.advance_desk_cursor(ws, c, message.id, 1, now).await?;
                    }
                    store
                        .desk_conversation(ws, c)
                        .await?
                        .ok_or(StoreError::NotFound)?
                }
                Err(other) => return Err(other),
            };
        }
        Ok(())
    }

    /// Sends the protocol with its opening date and time (idempotent per asking message).
    async fn answer_protocol(
        &self,
        view: &WorkspaceView,
        ws: WorkspaceId,
        c: ConversationId,
        asked: MessageId,
    ) -> Result<(), StoreError> {
        let Some(conversation) = self.store.conversation(ws, c).await? else {
            return Ok(());
        };
        let protocol = protocol_of(self.store.as_ref(), view, &conversation).await?;
        let opened = jiff::Timestamp::from_millisecond(conversation.opened_at)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(view.time_zone.clone());
        let body = format!(
            "Seu protocolo de atendimento é *{protocol}*, aberto em {} às {}.",
            opened.strftime("%d/%m/%Y"),
            opened.strftime("%H:%M")
        );
        let content = OutboundContent::Text {
            body,
            preview_url: false,
        };
        self.send_one(
            ws,
            &conversation,
            content,
            format!("desk:{c}:protocol:{asked}"),
        )
        .await
    }

    async fn menu_answer(
        &self,
        view: &WorkspaceView,
        desk: &DeskConversation,
        message: &Message,
        now: Millis,
    ) -> Result<DeskConversation, StoreError> {
        let (ws, c) = (desk.workspace_id, desk.conversation_id);
        let options = view.options();
        let offered = balcao_desk::menu::offered(&options);
        let Some(first) = offered.first().map(|q| QueueId(q.id)) else {
            // No queue is open for choosing: the conversation stays visible in the menu list.
            self.store
                .advance_desk_cursor(ws, c, message.id, 1, now)
                .await?;
            return self.reload(ws, c).await;
        };
        let (text, reply_id) = inbound_answer(message);
        let chosen =
            match balcao_desk::menu::parse_choice(text.as_deref(), reply_id.as_deref(), &options) {
                Choice::Queue(id) => Some(QueueId(id)),
                Choice::Invalid if desk.menu_failures + 1 >= MAX_MENU_FAILURES => Some(first),
                Choice::Invalid => None,
            };
        match chosen {
            Some(queue) => {
                self.store
                    .choose_queue(ws, c, queue, Some(message.id), now)
                    .await
            }
            None => {
                self.store
                    .record_menu_failure(ws, c, message.id, now)
                    .await?;
                self.reload(ws, c).await
            }
        }
    }

    /// A message after a close: the rating, the comment, or anything else (reopens).
    async fn after_close(
        &self,
        desk: &DeskConversation,
        message: &Message,
        now: Millis,
    ) -> Result<DeskConversation, StoreError> {
        let (ws, c) = (desk.workspace_id, desk.conversation_id);
        let (text, reply_id) = inbound_answer(message);
        match desk.csat_state {
            CsatState::Asked => {
                if let Some(rating) =
                    balcao_desk::csat::parse_rating(text.as_deref(), reply_id.as_deref())
                {
                    return self
                        .store
                        .record_csat(
                            ws,
                            c,
                            CsatAnswer::Rating {
                                rating,
                                ask_comment: true,
                            },
                            Some(message.id),
                            now,
                        )
                        .await;
                }
            }
            CsatState::Comment => {
                if let Some(comment) = text.filter(|t| !t.trim().is_empty()) {
                    return self
                        .store
                        .record_csat(ws, c, CsatAnswer::Comment(comment), Some(message.id), now)
                        .await;
                }
            }
            CsatState::None | CsatState::Done => {}
        }
        // Not an answer to the survey: the subscriber needs us again.
        let previous = match desk.agent_id {
            Some(agent) => self.store.user(ws, agent).await?,
            None => None,
        };
        let back_to = previous
            .filter(|u| u.active && u.is_online(online_since(now)))
            .map(|u| u.id);
        if back_to.is_some() {
            match self
                .store
                .reopen_desk(ws, c, back_to, None, Some(message.id), now)
                .await
            {
                Err(StoreError::Conflict(_)) => {}
                other => return other,
            }
        }
        self.store
            .reopen_desk(ws, c, None, None, Some(message.id), now)
            .await
    }

    async fn reload(
        &self,
        ws: WorkspaceId,
        c: ConversationId,
    ) -> Result<DeskConversation, StoreError> {
        self.store
            .desk_conversation(ws, c)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Outside hours: tell (once per closed period) or move to the fallback queue. Inside:
    /// assign while someone is eligible (round robin; pick queues wait for a claim).
    async fn serve_queue(
        &self,
        view: &WorkspaceView,
        ws: WorkspaceId,
        queue_id: QueueId,
        stats: &mut SweepStats,
    ) -> Result<(), StoreError> {
        let Some(queue) = view.queue(queue_id) else {
            return Ok(());
        };
        let now = self.clock.now();
        let hours = view.hours(queue.hours.as_ref());
        if !hours.is_open(timestamp(now)) {
            let waiting = self
                .store
                .desk_inbox(
                    ws,
                    &InboxFilter {
                        state: Some(DeskState::Queued),
                        queue: Some(queue_id),
                        limit: 1000,
                        ..Default::default()
                    },
                )
                .await?;
            for item in waiting {
                let desk = item.desk;
                let c = desk.conversation_id;
                let fallback = queue
                    .fallback_queue_id
                    .filter(|f| *f != queue_id && queue.out_of_hours == OutOfHoursMode::Fallback)
                    .filter(|_| desk.fallback_hops < MAX_FALLBACK_HOPS);
                if let Some(target) = fallback {
                    match self
                        .store
                        .move_to_queue(ws, c, target, "out_of_hours", now)
                        .await
                    {
                        Ok(_) => {
                            stats.fallbacks += 1;
                            self.changed(ws, c);
                        }
                        Err(err) => warn_conversation("out-of-hours move", c, &err),
                    }
                    continue;
                }
                let notified = desk.ooh_notified_until.map(timestamp);
                if let OohDecision::NotifyAndWait { until } =
                    balcao_desk::timers::out_of_hours_notice(&hours, timestamp(now), notified)
                {
                    match self
                        .store
                        .mark_out_of_hours(ws, c, until.as_millisecond(), now)
                        .await
                    {
                        Ok(true) => {
                            stats.out_of_hours += 1;
                            self.changed(ws, c);
                        }
                        Ok(false) => {}
                        Err(err) => warn_conversation("out-of-hours", c, &err),
                    }
                }
            }
            return Ok(());
        }
        if queue.distribution == balcao_store::Distribution::Pick {
            return Ok(());
        }
        let within_hours: Vec<UserId> = self
            .store
            .queue_members(ws, queue_id)
            .await?
            .into_iter()
            .filter(|u| u.active && u.is_online(online_since(now)))
            .filter(|u| match &u.hours {
                // No hours of their own: the queue's, open right now.
                None => true,
                Some(own) => view.hours(Some(own)).is_open(timestamp(now)),
            })
            .map(|u| u.id)
            .collect();
        if within_hours.is_empty() {
            return Ok(());
        }
        let rules = AssignRules {
            now,
            online_since: online_since(now),
            within_hours,
        };
        for _ in 0..self.config.batch {
            match self.store.assign_next(ws, queue_id, &rules).await? {
                Some(desk) => {
                    stats.assigned += 1;
                    metrics::counter!("balcao_desk_assigned_total").increment(1);
                    self.changed(ws, desk.conversation_id);
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Sends what a notice asks for. A message WhatsApp would refuse (window closed, invalid)
    /// is skipped with a warning; only a storage failure keeps the notice for the next sweep.
    async fn send_notice(
        &self,
        view: &WorkspaceView,
        notice: &DeskNotice,
    ) -> Result<(), StoreError> {
        let (ws, c) = (notice.workspace_id, notice.conversation_id);
        let store = self.store.as_ref();
        let Some(conversation) = store.conversation(ws, c).await? else {
            return Ok(());
        };
        let Some(desk) = store.desk_conversation(ws, c).await? else {
            return Ok(());
        };
        if conversation.status == ConversationStatus::Closed {
            // Sending would open a new conversation with someone who already left.
            return Ok(());
        }
        let now = self.clock.now();
        let messages = &view.settings.messages;
        let mut vars = self.vars(view, &conversation, &desk).await?;
        let queue_name = |id: &Value| {
            id.as_i64()
                .and_then(|id| view.queue(QueueId(id)))
                .map(|q| q.name.clone())
        };
        let mut parts: Vec<OutboundContent> = Vec::new();
        let text = |body: String| OutboundContent::Text {
            body,
            preview_url: false,
        };
        match notice.kind.as_str() {
            "menu" | "invalid_option" => {
                if desk.state != DeskState::Menu {
                    return Ok(());
                }
                if notice.kind == "invalid_option" {
                    parts.extend(messages.render(AutoMessage::InvalidOption, &vars).map(text));
                } else if notice.data["welcome"].as_bool() == Some(true) {
                    parts.extend(messages.render(AutoMessage::Welcome, &vars).map(text));
                }
                let options = view.options();
                let intro = messages
                    .render(AutoMessage::ChooseQueue, &vars)
                    .unwrap_or_default();
                parts.push(text(balcao_desk::menu::menu_text(&intro, &options)));
                parts.extend(balcao_desk::menu::menu_list(
                    "Ou toque no botão abaixo para escolher:",
                    &options,
                ));
            }
            "queued" => {
                vars.fila = queue_name(&notice.data["queue_id"]).or(vars.fila);
                parts.extend(messages.render(AutoMessage::Transfer, &vars).map(text));
            }
            "transferred" => {
                // A transfer between agents of the same queue needs no word to the subscriber.
                if let Some(name) = queue_name(&notice.data["to_queue_id"]) {
                    vars.fila = Some(name);
                    parts.extend(messages.render(AutoMessage::Transfer, &vars).map(text));
                }
            }
            "agent_start" => {
                let agent = notice.data["agent_id"].as_i64().map(UserId);
                if desk.state == DeskState::Assigned && desk.agent_id == agent {
                    parts.extend(messages.render(AutoMessage::AgentStart, &vars).map(text));
                }
            }
            "fallback_moved" => {
                vars.fila = queue_name(&notice.data["queue_id"]).or(vars.fila);
                parts.extend(messages.render(AutoMessage::FallbackMoved, &vars).map(text));
            }
            "out_of_hours" => {
                if let Some(until) = notice.data["until"].as_i64() {
                    let queue = notice.data["queue_id"]
                        .as_i64()
                        .and_then(|q| view.queue(QueueId(q)));
                    let hours = view.hours(queue.and_then(|q| q.hours.as_ref()));
                    vars.horario = Some(hours.describe_opening(timestamp(until), timestamp(now)));
                }
                parts.extend(messages.render(AutoMessage::OutOfHours, &vars).map(text));
            }
            "closed" => {
                if desk.state != DeskState::Closed {
                    return Ok(());
                }
                parts.extend(messages.render(AutoMessage::Thanks, &vars).map(text));
                let window_open = Window::at(conversation.last_inbound_at, now).is_open();
                let ask = view.settings.csat_enabled && window_open;
                if ask {
                    let body = messages
                        .render(AutoMessage::CsatRequest, &vars)
                        .unwrap_or_default();
                    parts.push(balcao_desk::csat::rating_list(&body));
                }
                self.send_parts(ws, &conversation, notice, parts).await?;
                // Marked after the sends (re-sending after a crash is deduplicated), and only
                // while nothing else moved the survey on.
                if desk.csat_state == CsatState::None {
                    let state = if ask {
                        CsatState::Asked
                    } else {
                        CsatState::Done
                    };
                    store.set_csat_state(ws, c, state).await?;
                }
                return Ok(());
            }
            "csat_rated" => {
                let kind = if notice.data["ask_comment"].as_bool() == Some(true) {
                    AutoMessage::CsatComment
                } else {
                    AutoMessage::CsatThanks
                };
                parts.extend(messages.render(kind, &vars).map(text));
            }
            "csat_commented" => {
                parts.extend(messages.render(AutoMessage::CsatThanks, &vars).map(text));
            }
            other => tracing::warn!(kind = other, "desk: unknown notice kind, skipped"),
        }
        self.send_parts(ws, &conversation, notice, parts).await
    }

    async fn send_parts(
        &self,
        ws: WorkspaceId,
        conversation: &Conversation,
        notice: &DeskNotice,
        parts: Vec<OutboundContent>,
    ) -> Result<(), StoreError> {
        for (i, content) in parts.into_iter().enumerate() {
            let key = format!("desk:{}:{}:{}-{i}", conversation.id, notice.kind, notice.id);
            self.send_one(ws, conversation, content, key).await?;
        }
        Ok(())
    }

    /// Queues one desk message under `key` (a repeat is a no-op). A message WhatsApp would
    /// refuse is logged and skipped; only a storage failure is an error (the sweep retries).
    async fn send_one(
        &self,
        ws: WorkspaceId,
        conversation: &Conversation,
        content: OutboundContent,
        key: String,
    ) -> Result<(), StoreError> {
        let request = SendRequest {
            number_id: conversation.number_id,
            to: conversation.wa_id.clone(),
            content,
            fallback_template: None,
            idempotency_key: Some(key.clone()),
            author: "desk".into(),
        };
        match self.outbox.enqueue(ws, request).await {
            Ok(_) => Ok(()),
            Err(OutboxError::Store(err)) => Err(err),
            Err(err) => {
                tracing::warn!(error = %err, conversation = %conversation.id, key, "desk: message not sent");
                Ok(())
            }
        }
    }

    async fn vars(
        &self,
        view: &WorkspaceView,
        conversation: &Conversation,
        desk: &DeskConversation,
    ) -> Result<Vars, StoreError> {
        conversation_vars(self.store.as_ref(), view, conversation, desk).await
    }
}

/// The conversation's protocol: the bot's when it gave one, else the same number derived from
/// the opening (bot off).
async fn protocol_of(
    store: &dyn Store,
    view: &WorkspaceView,
    conversation: &Conversation,
) -> Result<String, StoreError> {
    Ok(
        match store
            .bot_session(conversation.workspace_id, conversation.id)
            .await?
        {
            Some(session) => session.protocol,
            None => protocol_number(conversation.opened_at, &view.time_zone, conversation.id),
        },
    )
}

async fn conversation_vars(
    store: &dyn Store,
    view: &WorkspaceView,
    conversation: &Conversation,
    desk: &DeskConversation,
) -> Result<Vars, StoreError> {
    let ws = conversation.workspace_id;
    let protocol = protocol_of(store, view, conversation).await?;
    let agent = match desk.agent_id {
        Some(a) => store.user(ws, a).await?.map(|u| u.name),
        None => None,
    };
    Ok(Vars {
        nome: conversation.contact_name.clone(),
        primeiro_nome: None,
        protocolo: Some(protocol),
        agente: agent,
        fila: desk
            .queue_id
            .and_then(|q| view.queue(q))
            .map(|q| q.name.clone()),
        empresa: Some(view.name.clone()),
        horario: None,
    })
}

fn warn_conversation(step: &str, conversation: ConversationId, err: &StoreError) {
    metrics::counter!("balcao_desk_errors_total").increment(1);
    tracing::warn!(error = %err, conversation = %conversation, step, "desk: step failed; the next sweep retries");
}

// ---- agent actions ------------------------------------------------------------------------------

/// Why an agent action was refused, in words the agent reads.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("conversa não encontrada")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("a janela de 24 horas está fechada: envie um modelo aprovado")]
    WindowClosed { last_inbound_at: Option<Millis> },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Outbox(OutboxError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DeskError {
    fn from(err: StoreError) -> DeskError {
        match err {
            StoreError::NotFound => DeskError::NotFound,
            StoreError::Conflict(message) => DeskError::Conflict(message),
            other => DeskError::Store(other),
        }
    }
}

impl From<OutboxError> for DeskError {
    fn from(err: OutboxError) -> DeskError {
        match err {
            OutboxError::OutsideWindow { last_inbound_at } => {
                DeskError::WindowClosed { last_inbound_at }
            }
            OutboxError::InvalidContent(message) => DeskError::Invalid(message),
            OutboxError::Store(err) => err.into(),
            other => DeskError::Outbox(other),
        }
    }
}

/// What an agent sends.
#[derive(Clone, Debug, PartialEq)]
pub enum ReplyContent {
    /// Text, optionally with a document or image by link (the text as its caption).
    Text {
        body: String,
        attachment_url: Option<String>,
    },
    /// An approved template (the only thing allowed once the 24-hour window closed).
    Template(TemplateMessage),
    /// A quick reply by id, rendered with the conversation's variables (`{{nome}}`…), with its
    /// attachment link.
    QuickReply { id: i64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct AgentReply {
    pub content: ReplyContent,
    /// Repeating a request with the same key never sends twice.
    pub idempotency_key: Option<String>,
}

/// Text or a document/image by link with the text as caption.
pub fn text_or_attachment(
    body: &str,
    attachment_url: Option<&str>,
) -> Result<OutboundContent, DeskError> {
    let body = body.trim();
    let Some(link) = attachment_url.map(str::trim).filter(|u| !u.is_empty()) else {
        if body.is_empty() {
            return Err(DeskError::Invalid("a mensagem está vazia".into()));
        }
        return Ok(OutboundContent::Text {
            body: body.to_owned(),
            preview_url: false,
        });
    };
    if !(link.starts_with("https://") || link.starts_with("http://")) {
        return Err(DeskError::Invalid(
            "o anexo deve ser um link http(s)".into(),
        ));
    }
    let caption = (!body.is_empty()).then(|| body.to_owned());
    let path = link.split(['?', '#']).next().unwrap_or(link).to_lowercase();
    if [".jpg", ".jpeg", ".png", ".webp"]
        .iter()
        .any(|ext| path.ends_with(ext))
    {
        return Ok(OutboundContent::Image {
            link: link.to_owned(),
            caption,
        });
    }
    Ok(OutboundContent::Document {
        link: link.to_owned(),
        filename: path
            .rsplit('/')
            .next()
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
        caption,
    })
}

/// The agent actions. Each is one store transaction followed by a bus event; the runner is
/// woken so what the subscriber must be told goes out at once.
#[derive(Clone)]
pub struct Desk {
    store: Arc<dyn Store>,
    outbox: Outbox,
    clock: SharedClock,
    bus: EventBus,
    wake: Arc<Notify>,
}

impl Desk {
    /// A standalone service (tests, tools); the application takes it from [`DeskRunner::desk`].
    pub fn new(store: Arc<dyn Store>, outbox: Outbox, clock: SharedClock, bus: EventBus) -> Desk {
        Desk {
            store,
            outbox,
            clock,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    fn changed(&self, workspace: WorkspaceId, conversation: ConversationId) {
        self.bus.publish(BusEvent::DeskChanged {
            workspace_id: workspace,
            conversation_id: conversation,
        });
        self.wake.notify_one();
    }

    async fn desk_row(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<DeskConversation, DeskError> {
        self.store
            .desk_conversation(ws, conversation)
            .await?
            .ok_or(DeskError::NotFound)
    }

    /// The variables of a conversation (`{{nome}}`, `{{protocolo}}`, `{{agente}}`…), for
    /// quick-reply previews.
    pub async fn vars(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vars, DeskError> {
        let desk = self.desk_row(ws, conversation).await?;
        let row = self
            .store
            .conversation(ws, conversation)
            .await?
            .ok_or(DeskError::NotFound)?;
        let view = load_view(self.store.as_ref(), ws).await?;
        Ok(conversation_vars(self.store.as_ref(), &view, &row, &desk).await?)
    }

    /// Sends the agent's reply. Only to a conversation assigned to them (supervisors and admins:
    /// any assigned one); a transfer waiting for their accept is accepted by replying. Outside
    /// the 24-hour window only an approved template goes ([`DeskError::WindowClosed`]).
    pub async fn reply(
        &self,
        ws: WorkspaceId,
        user: &User,
        conversation: ConversationId,
        reply: AgentReply,
    ) -> Result<Message, DeskError> {
        let desk = self.desk_row(ws, conversation).await?;
        let mine = desk.agent_id == Some(user.id);
        if desk.state != DeskState::Assigned || !(mine || user.role.sees_all_queues()) {
            return Err(DeskError::Conflict(
                "responda só conversas que estão com você (assuma ou aceite a conversa antes)"
                    .into(),
            ));
        }
        let row = self
            .store
            .conversation(ws, conversation)
            .await?
            .ok_or(DeskError::NotFound)?;
        let content = match reply.content {
            ReplyContent::Text {
                body,
                attachment_url,
            } => text_or_attachment(&body, attachment_url.as_deref())?,
            ReplyContent::Template(template) => OutboundContent::Template(template),
            ReplyContent::QuickReply { id } => {
                let quick = self
                    .store
                    .quick_replies(ws, desk.queue_id)
                    .await?
                    .into_iter()
                    .find(|q| q.id == id)
                    .ok_or_else(|| {
                        DeskError::Invalid("resposta rápida não encontrada nesta fila".into())
                    })?;
                let vars = self.vars(ws, conversation).await?;
                let body = balcao_desk::render(&quick.body, &vars);
                text_or_attachment(&body, quick.attachment_url.as_deref())?
            }
        };
        let enqueued = self
            .outbox
            .enqueue(
                ws,
                SendRequest {
                    number_id: row.number_id,
                    to: row.wa_id.clone(),
                    content,
                    fallback_template: None,
                    idempotency_key: reply
                        .idempotency_key
                        .map(|k| format!("desk:{conversation}:reply:{}:{k}", user.id)),
                    author: format!("agent:{}", user.id),
                },
            )
            .await?;
        let now = self.clock.now();
        if mine && !desk.accepted {
            self.store.accept(ws, conversation, user.id, now).await?;
        }
        self.store
            .record_agent_reply(ws, conversation, user.id, now)
            .await?;
        self.changed(ws, conversation);
        Ok(enqueued.message)
    }

    pub async fn note(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
        body: &str,
    ) -> Result<Note, DeskError> {
        let note = self
            .store
            .add_note(ws, conversation, user, body, self.clock.now())
            .await?;
        self.changed(ws, conversation);
        Ok(note)
    }

    /// Adds (`add`) or removes a tag; returns whether anything changed.
    pub async fn tag(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
        tag: &str,
        add: bool,
    ) -> Result<bool, DeskError> {
        let now = self.clock.now();
        let changed = if add {
            self.store
                .add_tag(ws, conversation, tag, Some(user), now)
                .await?
        } else {
            self.store
                .remove_tag(ws, conversation, tag, Some(user), now)
                .await?
        };
        if changed {
            self.changed(ws, conversation);
        }
        Ok(changed)
    }

    /// To a queue or an agent, with a private note; the queue's accept timeout starts.
    pub async fn transfer(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
        to: TransferTarget,
        note: Option<&str>,
    ) -> Result<DeskConversation, DeskError> {
        let desk = self
            .store
            .transfer(ws, conversation, user, to, note, self.clock.now())
            .await?;
        self.changed(ws, conversation);
        Ok(desk)
    }

    pub async fn accept(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<DeskConversation, DeskError> {
        let desk = self
            .store
            .accept(ws, conversation, user, self.clock.now())
            .await?;
        self.changed(ws, conversation);
        Ok(desk)
    }

    /// Takes a waiting conversation (pick queues; supervisors anywhere).
    pub async fn claim(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<DeskConversation, DeskError> {
        let desk = self
            .store
            .claim(ws, conversation, user, self.clock.now())
            .await?;
        self.changed(ws, conversation);
        Ok(desk)
    }

    /// Closes with a resolution (`resolved`, `unresolved`, `spam`…); the subscriber gets the
    /// thanks message and the survey, and a new message within the grace period reopens it.
    pub async fn close(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
        resolution: &str,
    ) -> Result<DeskConversation, DeskError> {
        let resolution = resolution.trim();
        if resolution.is_empty() || resolution.chars().count() > 40 {
            return Err(DeskError::Invalid(
                "informe a resolução (até 40 caracteres)".into(),
            ));
        }
        let settings = DeskSettings::from_stored(self.store.desk_settings(ws).await?);
        let now = self.clock.now();
        let desk = self
            .store
            .close_desk(
                ws,
                conversation,
                &DeskClose {
                    by: Some(user),
                    resolution: resolution.to_owned(),
                    grace_until: now + i64::from(settings.reopen_grace_secs) * 1000,
                },
                now,
            )
            .await?;
        self.changed(ws, conversation);
        Ok(desk)
    }

    /// Reopens a conversation closed within the grace period, to the user.
    pub async fn reopen(
        &self,
        ws: WorkspaceId,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<DeskConversation, DeskError> {
        let desk = self
            .store
            .reopen_desk(
                ws,
                conversation,
                Some(user),
                Some(user),
                None,
                self.clock.now(),
            )
            .await?;
        self.changed(ws, conversation);
        Ok(desk)
    }

    pub async fn mark_read(
        &self,
        ws: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<(), DeskError> {
        self.store.mark_desk_read(ws, conversation).await?;
        self.changed(ws, conversation);
        Ok(())
    }

    /// The open inbox's heartbeat. Returns true when the user just came online.
    pub async fn heartbeat(&self, ws: WorkspaceId, user: UserId) -> Result<bool, DeskError> {
        let now = self.clock.now();
        let came_online = self
            .store
            .heartbeat(ws, user, now, online_since(now))
            .await?;
        if came_online {
            self.bus.publish(BusEvent::PresenceChanged {
                workspace_id: ws,
                user_id: user,
            });
            self.wake.notify_one();
        }
        Ok(came_online)
    }

    /// Away: unanswered conversations go back to their queues at once.
    pub async fn set_away(
        &self,
        ws: WorkspaceId,
        user: UserId,
        away: bool,
    ) -> Result<User, DeskError> {
        let updated = self.store.set_away(ws, user, away).await?;
        if away {
            for c in self
                .store
                .return_unanswered_chats(ws, user, self.clock.now())
                .await?
            {
                self.changed(ws, c);
            }
        }
        self.bus.publish(BusEvent::PresenceChanged {
            workspace_id: ws,
            user_id: user,
        });
        self.wake.notify_one();
        Ok(updated)
    }

    pub async fn team_message(
        &self,
        ws: WorkspaceId,
        user: UserId,
        body: &str,
    ) -> Result<TeamMessage, DeskError> {
        let message = self
            .store
            .add_team_message(ws, user, body, self.clock.now())
            .await?;
        self.bus.publish(BusEvent::TeamMessage { workspace_id: ws });
        Ok(message)
    }
}

#[cfg(test)]
mod tests;
