//! Runs the self-service bot (`balcao-bot`, a pure state machine) against real messages and the
//! workspace's management system.
//!
//! For each conversation with inbound messages the bot has not seen, a task loads the bot's
//! session, feeds it each new message, executes what it asks — management-system calls (fed back
//! as inputs), messages to send (through the outbox), events, tags, handoffs, timers — and saves
//! the turn (replies, session with the last message handled, events) in one transaction.
//! Work starts as soon as the event bus says a webhook committed messages in a conversation,
//! and from a sweep every second (missed notifications, restarts, inactivity timers), so nothing
//! depends on the bus.
//!
//! A message that answers a billing-ladder reminder is fed with that reminder (its invoice and
//! step, from the ladder's idempotency key `ladder:<step>:<invoice>`): the last reminder template
//! the conversation got before the message, or, for a tapped quick reply, the template it was
//! tapped on (one read by the reply's `context` wamid).
//!
//! A conversation is handled by one task at a time, in order; up to `workers` conversations at
//! once, so one waiting on its management system holds up no other. Sends carry idempotency
//! keys derived from the inbound message, so a crash between sending and saving the session
//! re-queues nothing twice when the message is handled again. (A management-system write — trust
//! unlock, ticket — asked again in that window is refused or repeated by the system; the window
//! is one management-system call long.)

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use crate::erp::{ErpDirectory, ErpSetupError};
use crate::outbox::{Outbox, SendRequest};
use balcao_bot::{
    Action, BotContext, BotState, ErpFailure, ErpOutcome, Input, LadderReminder, Texts,
};
use balcao_domain::br::phone::BrPhone;
use balcao_domain::webhook::MediaKind;
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, Millis, WorkspaceId};
use balcao_erp::ErpAdapter;
use balcao_intent::Matcher;
use balcao_store::{
    BotSession, BotTurn, Conversation, Direction, Enqueued, Message, NewEvent, NewOutbound, Store,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// The protocol number of a conversation (Anatel RGC art. 9): the opening day in the provider's
/// time zone and the conversation's id — unique, stable, and readable over the phone.
pub fn protocol_number(
    opened_at: Millis,
    time_zone: &TimeZone,
    conversation: ConversationId,
) -> String {
    let day = Timestamp::from_millisecond(opened_at)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(time_zone.clone())
        .date();
    format!(
        "{:04}{:02}{:02}{:07}",
        day.year(),
        day.month(),
        day.day(),
        conversation.0
    )
}

/// What the subscriber sent, as the bot reads it: the text (or the tapped title, or a media
/// caption), the id of a tapped button, list row or template quick reply, the kind of a media
/// message, and the billing-ladder reminder it answers (see [`ladder_reminder_of`]).
pub fn inbound_input(
    message: &Message,
    conversation: &Conversation,
    reminder: Option<LadderReminder>,
) -> Input {
    Input::Inbound {
        text: message.text.clone(),
        reply_id: reply_id(message).map(str::to_string),
        wa_id: conversation.wa_id.clone(),
        at: Timestamp::from_millisecond(message.created_at).unwrap_or(Timestamp::UNIX_EPOCH),
        media: media_kind(&message.message_type),
        reminder,
    }
}

/// The id of a tapped button or list row, or the payload of a template's quick reply.
fn reply_id(message: &Message) -> Option<&str> {
    let payload = &message.payload;
    payload["interactive"]["button_reply"]["id"]
        .as_str()
        .or_else(|| payload["interactive"]["list_reply"]["id"].as_str())
        .or_else(|| payload["button"]["payload"].as_str())
}

fn media_kind(message_type: &str) -> Option<MediaKind> {
    Some(match message_type {
        "image" => MediaKind::Image,
        "document" => MediaKind::Document,
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        "sticker" => MediaKind::Sticker,
        _ => return None,
    })
}

/// The ladder's keys that are not reminders: its thank-you, restoration and opt-out notices
/// (`ladder:thanks:<invoice>`…), which a reply is not about (no step may be named so).
const LADDER_NOTICES: [&str; 3] = balcao_ladder::ladder::RESERVED_STEP_KEYS;

/// The billing-ladder reminder an outbound message is: a template queued by the ladder with the
/// idempotency key `ladder:<step>:<invoice>` (step keys contain no ':').
pub fn ladder_reminder_of(message: &Message) -> Option<LadderReminder> {
    if message.direction != Direction::Out || message.message_type != "template" {
        return None;
    }
    let rest = message
        .idempotency_key
        .as_deref()?
        .strip_prefix("ladder:")?;
    let (step, invoice) = rest.split_once(':')?;
    if step.is_empty() || invoice.is_empty() || LADDER_NOTICES.contains(&step) {
        return None;
    }
    Some(LadderReminder {
        invoice_id: invoice.to_owned(),
        step: Some(step.to_owned()),
    })
}

/// The invoice of a ladder quick-reply payload, `ladder:<code>:<invoice>`.
fn ladder_payload_invoice(reply_id: &str) -> Option<&str> {
    let mut parts = reply_id.strip_prefix("ladder:")?.splitn(2, ':');
    parts.next()?;
    parts.next().filter(|invoice| !invoice.is_empty())
}

/// A workspace's bot settings: the intent matcher (keywords and examples) and the texts.
#[derive(Clone)]
pub struct BotProfile {
    pub matcher: Arc<Matcher>,
    pub texts: Arc<Texts>,
}

impl Default for BotProfile {
    fn default() -> Self {
        BotProfile {
            matcher: Arc::new(Matcher::default()),
            texts: Arc::new(Texts::default()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BotConfig {
    /// Off: inbound messages wait for people (the channel alone).
    pub enabled: bool,
    /// Conversations handled at once.
    pub workers: usize,
    pub sweep_every: Duration,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            enabled: true,
            workers: 64,
            sweep_every: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Copy)]
enum Work {
    Messages(WorkspaceId, ConversationId),
    Timer(WorkspaceId, ConversationId, Millis),
}

impl Work {
    fn conversation(&self) -> ConversationId {
        match self {
            Work::Messages(_, c) | Work::Timer(_, c, _) => *c,
        }
    }
}

/// Runs work one conversation at a time: `in_hand` holds the conversations being handled, each
/// with the work that arrived meanwhile (run next, by the same task).
#[derive(Clone)]
struct Dispatcher {
    runner: BotRunner,
    in_hand: Arc<std::sync::Mutex<HashMap<ConversationId, Vec<Work>>>>,
    permits: Arc<Semaphore>,
    tasks: Arc<tokio::sync::Mutex<JoinSet<()>>>,
}

impl Dispatcher {
    async fn dispatch(&self, work: Work) {
        let conversation = work.conversation();
        {
            let mut in_hand = self.in_hand.lock().expect("in hand");
            if let Some(next) = in_hand.get_mut(&conversation) {
                // New messages are all read by one more pass; a timer is kept as it is.
                let already = matches!(work, Work::Messages(..))
                    && next.iter().any(|w| matches!(w, Work::Messages(..)));
                if !already {
                    next.push(work);
                }
                return;
            }
            in_hand.insert(conversation, Vec::new());
        }
        let this = self.clone();
        let mut tasks = self.tasks.lock().await;
        // Reap finished tasks so the set stays as small as the work in hand.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let _permit = this.permits.acquire().await.expect("permits never close");
            let mut work = work;
            loop {
                this.runner.handle(&work).await;
                let mut in_hand = this.in_hand.lock().expect("in hand");
                let next = in_hand.get_mut(&conversation).expect("in hand");
                if next.is_empty() {
                    in_hand.remove(&conversation);
                    break;
                }
                work = next.remove(0);
            }
        });
    }
}

#[derive(Clone)]
pub struct BotRunner {
    pub store: Arc<dyn Store>,
    pub erp: ErpDirectory,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub bus: EventBus,
    pub config: BotConfig,
    /// Per-workspace settings; workspaces not listed use the defaults.
    pub profiles: Arc<RwLock<HashMap<WorkspaceId, BotProfile>>>,
    pub default_profile: BotProfile,
    /// Time zone and name per workspace (see `context_parts`).
    workspaces: Arc<RwLock<HashMap<WorkspaceId, (TimeZone, String)>>>,
    committer: TurnCommitter,
}

impl BotRunner {
    pub fn new(
        store: Arc<dyn Store>,
        erp: ErpDirectory,
        outbox: Outbox,
        clock: SharedClock,
        bus: EventBus,
        config: BotConfig,
        profiles: HashMap<WorkspaceId, BotProfile>,
    ) -> Self {
        // SQLite has one writer: one committer groups everything; PostgreSQL commits in parallel.
        let committers = if store.backend() == "postgres" { 4 } else { 1 };
        BotRunner {
            committer: TurnCommitter::start(store.clone(), committers),
            store,
            erp,
            outbox,
            clock,
            bus,
            config,
            profiles: Arc::new(RwLock::new(profiles)),
            default_profile: BotProfile::default(),
            workspaces: Arc::default(),
        }
    }

    fn profile(&self, workspace: WorkspaceId) -> BotProfile {
        self.profiles
            .read()
            .expect("profiles")
            .get(&workspace)
            .cloned()
            .unwrap_or_else(|| self.default_profile.clone())
    }

    /// Handles conversations as their messages are stored (the bus event names them) and sweeps
    /// every `sweep_every` for anything missed (restarts, lagged events) and for due inactivity
    /// timers; returns when `shutdown` turns true, after the work in hand.
    ///
    /// One task per conversation at a time, at most `workers` at once: a conversation waiting
    /// on its management system holds up no other. Work arriving for a conversation in hand is
    /// remembered and run right after, in order.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let dispatcher = Dispatcher {
            runner: self.clone(),
            in_hand: Arc::default(),
            permits: Arc::new(Semaphore::new(self.config.workers.max(1))),
            tasks: Arc::new(tokio::sync::Mutex::new(JoinSet::new())),
        };
        let mut events = self.bus.subscribe();
        let mut sweep = tokio::time::interval(self.config.sweep_every);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(BusEvent::InboundStored { conversations, .. }) => {
                        for (ws, c) in conversations {
                            dispatcher.dispatch(Work::Messages(ws, c)).await;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.sweep_messages(&dispatcher).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = sweep.tick() => {
                    self.sweep_messages(&dispatcher).await;
                    match self.store.due_bot_timers(self.clock.now(), 1000).await {
                        Ok(list) => for s in list {
                            if let Some(due) = s.timer_due_at {
                                dispatcher
                                    .dispatch(Work::Timer(s.workspace_id, s.conversation_id, due))
                                    .await;
                            }
                        },
                        Err(err) => tracing::warn!(error = %err, "bot: timer sweep failed"),
                    }
                }
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let mut tasks = dispatcher.tasks.lock().await;
        while tasks.join_next().await.is_some() {}
    }

    async fn sweep_messages(&self, dispatcher: &Dispatcher) {
        match self.store.conversations_awaiting_bot(1000).await {
            Ok(list) => {
                for (ws, c) in list {
                    dispatcher.dispatch(Work::Messages(ws, c)).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "bot: sweep failed"),
        }
    }

    async fn handle(&self, work: &Work) {
        let result = match *work {
            Work::Messages(ws, c) => self.handle_messages(ws, c).await,
            Work::Timer(ws, c, due) => self.handle_timer(ws, c, due).await,
        };
        if let Err(err) = result {
            metrics::counter!("balcao_bot_errors_total").increment(1);
            tracing::error!(error = %err, "bot: handling a conversation failed; the sweep retries");
        }
    }

    async fn load(
        &self,
        workspace: WorkspaceId,
        conversation: &Conversation,
        time_zone: &TimeZone,
    ) -> Result<(BotSession, BotState), String> {
        match self
            .store
            .bot_session(workspace, conversation.id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(session) => {
                let state: BotState = serde_json::from_value(session.state.clone())
                    .map_err(|e| format!("estado do bot ilegível: {e}"))?;
                Ok((session, state))
            }
            None => {
                let protocol = protocol_number(conversation.opened_at, time_zone, conversation.id);
                let started = Timestamp::from_millisecond(conversation.opened_at)
                    .unwrap_or(Timestamp::UNIX_EPOCH);
                let state = BotState::new(protocol.clone(), started);
                let session = BotSession {
                    workspace_id: workspace,
                    conversation_id: conversation.id,
                    protocol,
                    state: serde_json::Value::Null,
                    last_message_id: None,
                    timer_due_at: None,
                    finished: false,
                    updated_at: self.clock.now(),
                };
                Ok((session, state))
            }
        }
    }

    /// The workspace's time zone and name, read once per workspace: both change rarely and a
    /// read per message would cost more than the bot's own decision. A change applies after a
    /// restart.
    async fn context_parts(&self, workspace: WorkspaceId) -> Result<(TimeZone, String), String> {
        if let Some(parts) = self.workspaces.read().expect("workspaces").get(&workspace) {
            return Ok(parts.clone());
        }
        let ws = self
            .store
            .workspace(workspace)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("workspace não encontrado")?;
        let tz = TimeZone::get(&ws.time_zone)
            .unwrap_or_else(|_| TimeZone::get("America/Sao_Paulo").expect("bundled tz"));
        let parts = (tz, ws.name);
        self.workspaces
            .write()
            .expect("workspaces")
            .insert(workspace, parts.clone());
        Ok(parts)
    }

    pub async fn handle_messages(
        &self,
        workspace: WorkspaceId,
        conversation_id: ConversationId,
    ) -> Result<(), String> {
        let handling = Instant::now();
        let conversation = self
            .store
            .conversation(workspace, conversation_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("conversa não encontrada")?;
        let (time_zone, business) = self.context_parts(workspace).await?;
        let (mut session, mut state) = self.load(workspace, &conversation, &time_zone).await?;
        if session.finished {
            return Ok(());
        }
        let listed = self
            .store
            .messages(workspace, conversation_id, session.last_message_id, 100)
            .await
            .map_err(|e| e.to_string())?;
        // Each inbound message with the last ladder reminder the conversation got before it.
        let mut reminder = None;
        let mut messages: Vec<(Message, Option<LadderReminder>)> = Vec::new();
        for message in listed {
            if message.direction == Direction::In {
                messages.push((message, reminder.clone()));
            } else if let Some(sent) = ladder_reminder_of(&message) {
                reminder = Some(sent);
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        metrics::histogram!("balcao_bot_load_seconds").record(handling.elapsed().as_secs_f64());
        let profile = self.profile(workspace);
        let mut turn = Turn::default();
        for (message, reminder) in &messages {
            let reminder = self
                .replied_reminder(workspace, message, reminder.clone())
                .await;
            let input = inbound_input(message, &conversation, reminder);
            let key = format!("bot:{}:{}", conversation.id, message.id);
            // The message being answered opened (or kept open) the window.
            let last_inbound = conversation.last_inbound_at.max(Some(message.created_at));
            let window = Window::at(last_inbound, self.clock.now());
            self.drive(
                workspace,
                &conversation,
                &mut state,
                input,
                &key,
                Some(message.id),
                &profile,
                &time_zone,
                &business,
                window,
                &mut turn,
            )
            .await;
            session.last_message_id = Some(message.id);
        }
        let erp_time = turn.erp_time;
        self.save(workspace, session, &state, turn).await?;
        // From picking the conversation up to its replies committed in the outbox, without the
        // management system's time: what the bot itself costs per message.
        let own = handling.elapsed().saturating_sub(erp_time);
        metrics::histogram!("balcao_bot_reply_seconds").record(own.as_secs_f64());
        // The same from the moment the oldest message was stored (millisecond clock): adds the
        // wait for a worker.
        let stored_at = messages[0].0.updated_at;
        let since_stored = Duration::from_millis(self.clock.now().saturating_sub(stored_at) as u64)
            .saturating_sub(erp_time);
        metrics::histogram!("balcao_bot_stored_to_outbox_seconds")
            .record(since_stored.as_secs_f64());
        Ok(())
    }

    /// The reminder a message answers: for a ladder quick reply, the template it was tapped on
    /// (one read by the `context` wamid when it is not the reminder seen just before, e.g. an
    /// older reminder); otherwise the reminder the conversation got before it.
    async fn replied_reminder(
        &self,
        workspace: WorkspaceId,
        message: &Message,
        before: Option<LadderReminder>,
    ) -> Option<LadderReminder> {
        let Some(invoice) = reply_id(message).and_then(ladder_payload_invoice) else {
            return before;
        };
        if before.as_ref().is_some_and(|r| r.invoice_id == invoice) {
            return before;
        }
        let wamid = message.payload["context"]["id"].as_str()?;
        match self.store.message_by_wamid(workspace, wamid).await {
            Ok(carrier) => carrier.as_ref().and_then(ladder_reminder_of),
            Err(err) => {
                // The step only enriches the summary: the reply is handled without it.
                tracing::warn!(error = %err, "bot: reading the replied reminder failed");
                None
            }
        }
    }

    async fn handle_timer(
        &self,
        workspace: WorkspaceId,
        conversation_id: ConversationId,
        due: Millis,
    ) -> Result<(), String> {
        let conversation = self
            .store
            .conversation(workspace, conversation_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("conversa não encontrada")?;
        let (time_zone, business) = self.context_parts(workspace).await?;
        let (session, mut state) = self.load(workspace, &conversation, &time_zone).await?;
        if session.finished || session.timer_due_at != Some(due) {
            return Ok(());
        }
        let profile = self.profile(workspace);
        let mut turn = Turn::default();
        let at = Timestamp::from_millisecond(due).unwrap_or(Timestamp::UNIX_EPOCH);
        let key = format!("bot:{}:timer:{due}", conversation.id);
        let window = Window::at(conversation.last_inbound_at, self.clock.now());
        self.drive(
            workspace,
            &conversation,
            &mut state,
            Input::InactivityTimer { at },
            &key,
            None,
            &profile,
            &time_zone,
            &business,
            window,
            &mut turn,
        )
        .await;
        self.save(workspace, session, &state, turn).await
    }

    /// Stores the turn — replies, session, events — in one transaction, then wakes the sender.
    async fn save(
        &self,
        workspace: WorkspaceId,
        mut session: BotSession,
        state: &BotState,
        turn: Turn,
    ) -> Result<(), String> {
        session.state = serde_json::to_value(state).map_err(|e| e.to_string())?;
        session.finished = state.is_finished();
        session.timer_due_at = if session.finished {
            None
        } else {
            state.inactivity().map(|i| i.due_at.as_millisecond())
        };
        session.updated_at = self.clock.now();
        let saving = Instant::now();
        let enqueued = self
            .committer
            .commit(BotTurn {
                workspace_id: workspace,
                conversation_id: session.conversation_id,
                close_conversation: state.is_closed(),
                now: session.updated_at,
                session: Some(session),
                events: turn.events,
                replies: turn.replies,
            })
            .await?;
        metrics::histogram!("balcao_bot_save_seconds").record(saving.elapsed().as_secs_f64());
        for reply in &enqueued {
            self.outbox.announce(workspace, reply);
        }
        Ok(())
    }

    /// Feeds one input and executes the actions, feeding management-system answers back until
    /// the bot asks for nothing more.
    #[allow(clippy::too_many_arguments)]
    async fn drive(
        &self,
        workspace: WorkspaceId,
        conversation: &Conversation,
        state: &mut BotState,
        input: Input,
        key: &str,
        message: Option<balcao_domain::MessageId>,
        profile: &BotProfile,
        time_zone: &TimeZone,
        business: &str,
        window: Window,
        turn: &mut Turn,
    ) {
        let mut next = Some(input);
        let mut sent = 0usize;
        let mut decision = Duration::ZERO;
        let mut erp_time = Duration::ZERO;
        while let Some(input) = next.take() {
            let ctx = BotContext::new(
                &profile.matcher,
                &profile.texts,
                Timestamp::from_millisecond(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH),
                time_zone.clone(),
                business,
            );
            let started = Instant::now();
            let actions = balcao_bot::step(state, input, &ctx);
            decision += started.elapsed();
            for action in actions {
                match action {
                    Action::Send(content) => {
                        let request = SendRequest {
                            number_id: conversation.number_id,
                            to: conversation.wa_id.clone(),
                            content,
                            fallback_template: None,
                            idempotency_key: Some(format!("{key}:{sent}")),
                            author: "bot".into(),
                        };
                        sent += 1;
                        match self.outbox.prepare(workspace, request, window).await {
                            Ok(reply) => turn.replies.push(reply),
                            Err(err) => {
                                tracing::error!(error = %err, conversation = %conversation.id, "bot reply refused");
                                turn.events.push(event(
                                    "bot_send_failed",
                                    message,
                                    serde_json::json!({"error": err.to_string()}),
                                ));
                            }
                        }
                    }
                    Action::Handoff { sector, summary } => {
                        metrics::counter!("balcao_bot_handoffs_total").increment(1);
                        turn.events.push(event(
                            "handoff",
                            message,
                            serde_json::json!({"sector": sector, "summary": summary}),
                        ));
                    }
                    Action::Tag(tag) => {
                        turn.events
                            .push(event("tag", message, serde_json::json!({"tag": tag})))
                    }
                    Action::Resolve(resolution) => turn.events.push(event(
                        "resolution",
                        message,
                        serde_json::json!({"resolution": resolution}),
                    )),
                    Action::Record { kind, data } => turn.events.push(event(kind, message, data)),
                    Action::ScheduleInactivity { .. } => {}
                    Action::Close => {
                        turn.events
                            .push(event("bot_closed", message, serde_json::Value::Null))
                    }
                    erp_action => {
                        // The subscriber should not wait on the management system for what the
                        // bot already knows to say ("um momento…", the protocol): those replies
                        // are committed now. Their keys make a repeat after a crash a no-op.
                        self.flush_replies(workspace, conversation.id, turn).await;
                        let called = Instant::now();
                        let outcome = self.call_erp(workspace, erp_action).await;
                        erp_time += called.elapsed();
                        next = Some(Input::Erp(outcome));
                    }
                }
            }
        }
        metrics::histogram!("balcao_bot_decision_seconds").record(decision.as_secs_f64());
        turn.erp_time += erp_time;
    }

    async fn flush_replies(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        turn: &mut Turn,
    ) {
        if turn.replies.is_empty() {
            return;
        }
        let flushing = Instant::now();
        let early = BotTurn {
            workspace_id: workspace,
            conversation_id: conversation,
            session: None,
            events: Vec::new(),
            replies: turn.replies.clone(),
            close_conversation: false,
            now: self.clock.now(),
        };
        match self.committer.commit(early).await {
            Ok(enqueued) => {
                metrics::histogram!("balcao_bot_flush_seconds")
                    .record(flushing.elapsed().as_secs_f64());
                turn.replies.clear();
                for reply in &enqueued {
                    self.outbox.announce(workspace, reply);
                }
            }
            // Kept in the turn: they go out with the session, or the whole turn is retried.
            Err(err) => tracing::warn!(error = %err, "bot: early replies not queued yet"),
        }
    }

    async fn call_erp(&self, workspace: WorkspaceId, action: Action) -> ErpOutcome {
        let started = Instant::now();
        let adapter: Result<Arc<dyn ErpAdapter>, ErpFailure> =
            self.erp.adapter(workspace).await.map_err(|e| match e {
                ErpSetupError::Erp(inner) => ErpFailure::from(inner),
                other => ErpFailure::Unavailable {
                    detail: other.to_string(),
                },
            });
        let outcome = match action {
            Action::LookupByPhone(wa_id) => {
                ErpOutcome::CustomersByPhone(match (adapter, BrPhone::from_wa_id(&wa_id)) {
                    (Err(f), _) => Err(f),
                    (Ok(_), Err(_)) => Ok(Vec::new()),
                    (Ok(a), Ok(phone)) => a
                        .find_customers_by_phone(&phone)
                        .await
                        .map_err(ErpFailure::from),
                })
            }
            Action::LookupByDocument(document) => ErpOutcome::CustomerByDocument(match adapter {
                Err(f) => Err(f),
                Ok(a) => a
                    .find_customer_by_document(&document)
                    .await
                    .map_err(ErpFailure::from),
            }),
            Action::FetchContracts(customer) => ErpOutcome::Contracts(match adapter {
                Err(f) => Err(f),
                Ok(a) => a.contracts(&customer).await.map_err(ErpFailure::from),
            }),
            Action::FetchOpenInvoices(customer) => ErpOutcome::OpenInvoices(match adapter {
                Err(f) => Err(f),
                Ok(a) => a.open_invoices(&customer).await.map_err(ErpFailure::from),
            }),
            Action::FetchInvoice {
                customer,
                invoice_id,
            } => ErpOutcome::Invoice(match adapter {
                Err(f) => Err(f),
                Ok(a) => a
                    .invoice(&customer, &invoice_id)
                    .await
                    .map_err(ErpFailure::from),
            }),
            Action::TrustUnlock(contract) => ErpOutcome::Unlock(match adapter {
                Err(f) => Err(f),
                Ok(a) => a.trust_unlock(&contract).await.map_err(ErpFailure::from),
            }),
            Action::CheckConnection(contract) => ErpOutcome::Connection(match adapter {
                Err(f) => Err(f),
                Ok(a) => a
                    .connection_status(&contract)
                    .await
                    .map_err(ErpFailure::from),
            }),
            Action::OpenTicket(ticket) => ErpOutcome::Ticket(match adapter {
                Err(f) => Err(f),
                Ok(a) => a.open_ticket(&ticket).await.map_err(ErpFailure::from),
            }),
            other => unreachable!("not a management-system action: {other:?}"),
        };
        metrics::histogram!("balcao_bot_erp_seconds").record(started.elapsed().as_secs_f64());
        outcome
    }
}

/// Group commit of bot turns: whoever is waiting when a commit ends goes into the next one, so
/// under load many turns share a transaction (SQLite's one writer would otherwise cap the bot at
/// a few hundred commits a second) and alone a turn commits at once.
#[derive(Clone)]
struct TurnCommitter {
    queue: mpsc::Sender<(BotTurn, Answer)>,
}

type Answer = oneshot::Sender<Result<Vec<Enqueued>, String>>;

impl TurnCommitter {
    const BATCH: usize = 256;

    fn start(store: Arc<dyn Store>, committers: usize) -> Self {
        let (queue, receiver) = mpsc::channel(4096);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..committers.max(1) {
            let (store, receiver) = (store.clone(), receiver.clone());
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::new();
                    {
                        let mut receiver = receiver.lock().await;
                        match receiver.recv().await {
                            Some(first) => batch.push(first),
                            None => return,
                        }
                        while batch.len() < Self::BATCH {
                            match receiver.try_recv() {
                                Ok(next) => batch.push(next),
                                Err(_) => break,
                            }
                        }
                    }
                    let (turns, waiting): (Vec<BotTurn>, Vec<Answer>) = batch.into_iter().unzip();
                    metrics::histogram!("balcao_bot_turns_per_commit").record(turns.len() as f64);
                    match store.save_bot_turns(&turns).await {
                        Ok(results) => {
                            for (result, waiter) in results.into_iter().zip(waiting) {
                                let _ = waiter.send(result.map_err(|e| e.to_string()));
                            }
                        }
                        Err(err) => {
                            for waiter in waiting {
                                let _ = waiter.send(Err(err.to_string()));
                            }
                        }
                    }
                }
            });
        }
        TurnCommitter { queue }
    }

    async fn commit(&self, turn: BotTurn) -> Result<Vec<Enqueued>, String> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((turn, answer))
            .await
            .map_err(|_| "bot: gravação encerrada".to_string())?;
        answered
            .await
            .map_err(|_| "bot: gravação interrompida".to_string())?
    }
}

/// What handling one or more inputs produced, stored together.
#[derive(Default)]
struct Turn {
    replies: Vec<NewOutbound>,
    events: Vec<NewEvent>,
    /// Time spent waiting on the management system, left out of the bot's own time.
    erp_time: Duration,
}

fn event(
    kind: &str,
    message: Option<balcao_domain::MessageId>,
    data: serde_json::Value,
) -> NewEvent {
    NewEvent {
        kind: kind.to_string(),
        message_id: message,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use balcao_domain::{ContactId, MessageId, NumberId};
    use balcao_store::ConversationStatus;
    use serde_json::json;

    fn message(direction: Direction, message_type: &str, payload: serde_json::Value) -> Message {
        Message {
            id: MessageId(7),
            workspace_id: WorkspaceId(1),
            number_id: NumberId(1),
            conversation_id: ConversationId(3),
            contact_id: ContactId(4),
            direction,
            wamid: Some("wamid.1".into()),
            message_type: message_type.into(),
            text: None,
            payload,
            status: None,
            error: None,
            pricing_category: None,
            pricing_type: None,
            billable: None,
            to_wa_id: None,
            sent_wa_id: None,
            idempotency_key: None,
            attempts: 0,
            created_at: 1_800_000_000_000,
            updated_at: 1_800_000_000_000,
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            id: ConversationId(3),
            workspace_id: WorkspaceId(1),
            number_id: NumberId(1),
            contact_id: ContactId(4),
            wa_id: balcao_domain::WaId::parse("5511987654321").unwrap(),
            contact_name: None,
            status: ConversationStatus::Open,
            opened_at: 1_800_000_000_000,
            closed_at: None,
            last_message_at: 1_800_000_000_000,
            last_inbound_at: None,
            referral: None,
        }
    }

    #[test]
    fn ladder_reminders_are_its_templates_keyed_by_step_and_invoice() {
        let mut sent = message(Direction::Out, "template", json!({}));
        sent.idempotency_key = Some("ladder:d+3:inv:7".into());
        assert_eq!(
            ladder_reminder_of(&sent),
            Some(LadderReminder {
                invoice_id: "inv:7".into(),
                step: Some("d+3".into()),
            })
        );
        // The thank-you (sent as a template outside the window) is no reminder.
        sent.idempotency_key = Some("ladder:thanks:inv-7".into());
        assert_eq!(ladder_reminder_of(&sent), None);
        // Nor is anything the bot or an agent sent, or a message from the subscriber.
        sent.idempotency_key = Some("bot:3:7:0".into());
        assert_eq!(ladder_reminder_of(&sent), None);
        let mut text = message(Direction::Out, "text", json!({}));
        text.idempotency_key = Some("ladder:d+3:inv-7".into());
        assert_eq!(ladder_reminder_of(&text), None);
        let mut inbound = message(Direction::In, "template", json!({}));
        inbound.idempotency_key = Some("ladder:d+3:inv-7".into());
        assert_eq!(ladder_reminder_of(&inbound), None);
    }

    #[test]
    fn template_quick_replies_and_media_reach_the_bot() {
        let reminder = Some(LadderReminder {
            invoice_id: "inv-7".into(),
            step: Some("d-2".into()),
        });
        let tapped = message(
            Direction::In,
            "button",
            json!({"type": "button", "button": {"payload": "ladder:pix:inv-7", "text": "Pagar com Pix"}}),
        );
        let Input::Inbound {
            reply_id,
            media,
            reminder: given,
            ..
        } = inbound_input(&tapped, &conversation(), reminder.clone())
        else {
            panic!("inbound");
        };
        assert_eq!(reply_id.as_deref(), Some("ladder:pix:inv-7"));
        assert_eq!(media, None);
        assert_eq!(given, reminder);
        assert_eq!(ladder_payload_invoice("ladder:pix:inv-7"), Some("inv-7"));
        assert_eq!(ladder_payload_invoice("ladder:xyz"), None);
        assert_eq!(ladder_payload_invoice("bot:pix"), None);

        let interactive = message(
            Direction::In,
            "interactive",
            json!({"interactive": {"type": "button_reply", "button_reply": {"id": "bot:pix", "title": "Pix"}}}),
        );
        let Input::Inbound { reply_id, .. } = inbound_input(&interactive, &conversation(), None)
        else {
            panic!("inbound");
        };
        assert_eq!(reply_id.as_deref(), Some("bot:pix"));

        for (kind, expected) in [
            ("image", Some(MediaKind::Image)),
            ("document", Some(MediaKind::Document)),
            ("audio", Some(MediaKind::Audio)),
            ("text", None),
        ] {
            let Input::Inbound { media, .. } = inbound_input(
                &message(Direction::In, kind, json!({})),
                &conversation(),
                None,
            ) else {
                panic!("inbound");
            };
            assert_eq!(media, expected, "{kind}");
        }
    }

    #[test]
    fn protocol_is_the_local_day_and_the_conversation() {
        let tz = TimeZone::get("America/Sao_Paulo").unwrap();
        // 2026-11-21 02:30 UTC is still the 20th in São Paulo.
        let at = "2026-11-21T02:30:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            protocol_number(at, &tz, ConversationId(123)),
            "202611200000123"
        );
    }
}
