//! Runs the self-service bot (`balcao-bot`, a pure state machine) against real messages and the
//! workspace's management system.
//!
//! For each conversation with inbound messages the bot has not seen, a worker loads the bot's
//! session, feeds it each new message, executes what it asks — management-system calls (fed back
//! as inputs), messages to send (through the outbox), events, tags, handoffs, timers — and saves
//! the session with the id of the last message handled and the events, in one transaction.
//! Work reaches a worker from the event bus right after a webhook commits, and from a sweep every
//! second (missed notifications, restarts, inactivity timers), so nothing depends on the bus.
//!
//! Conversations are sharded over the workers by id: one conversation is handled by one worker
//! at a time, in order. Sends carry idempotency keys derived from the inbound message, so a crash
//! between sending and saving the session re-queues nothing twice when the message is handled
//! again. (A management-system write — trust unlock, ticket — asked again in that window is
//! refused or repeated by the system; the window is one transaction long.)

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use crate::erp::{ErpDirectory, ErpSetupError};
use crate::outbox::{Outbox, SendRequest};
use balcao_bot::{Action, BotContext, BotState, ErpFailure, ErpOutcome, Input, Texts};
use balcao_domain::br::phone::BrPhone;
use balcao_domain::window::Window;
use balcao_domain::{ConversationId, Millis, WorkspaceId};
use balcao_erp::ErpAdapter;
use balcao_intent::Matcher;
use balcao_store::{BotSession, Conversation, Direction, Message, NewEvent, NewOutbound, Store};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

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

/// What the subscriber sent, as the bot reads it: the text (or the tapped title) and the id of
/// a tapped button, list row or template quick reply.
pub fn inbound_input(message: &Message, conversation: &Conversation) -> Input {
    let payload = &message.payload;
    let reply_id = payload["interactive"]["button_reply"]["id"]
        .as_str()
        .or_else(|| payload["interactive"]["list_reply"]["id"].as_str())
        .or_else(|| payload["button"]["payload"].as_str())
        .map(str::to_string);
    Input::Inbound {
        text: message.text.clone(),
        reply_id,
        wa_id: conversation.wa_id.clone(),
        at: Timestamp::from_millisecond(message.created_at).unwrap_or(Timestamp::UNIX_EPOCH),
    }
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

enum Work {
    Messages(WorkspaceId, ConversationId),
    Timer(WorkspaceId, ConversationId, Millis),
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
    pub workspaces: Arc<RwLock<HashMap<WorkspaceId, (TimeZone, String)>>>,
}

impl BotRunner {
    fn profile(&self, workspace: WorkspaceId) -> BotProfile {
        self.profiles
            .read()
            .expect("profiles")
            .get(&workspace)
            .cloned()
            .unwrap_or_else(|| self.default_profile.clone())
    }

    /// Starts the workers and the sweep; returns when `shutdown` turns true. A webhook commit
    /// (bus event) triggers a sweep within 10 ms; otherwise it runs every `sweep_every`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let workers = self.config.workers.max(1);
        let queued: Arc<std::sync::Mutex<std::collections::HashSet<ConversationId>>> =
            Arc::default();
        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = mpsc::unbounded_channel::<Work>();
            queues.push(tx);
            handles.push(tokio::spawn(self.clone().worker(rx, queued.clone())));
        }
        let dispatch = |work: Work| {
            let conversation = match &work {
                Work::Messages(_, c) | Work::Timer(_, c, _) => *c,
            };
            // A conversation already waiting for its worker needs no second entry.
            if matches!(work, Work::Messages(..))
                && !queued.lock().expect("queued").insert(conversation)
            {
                return;
            }
            let shard = (conversation.0.unsigned_abs() as usize) % queues.len();
            let _ = queues[shard].send(work);
        };
        let mut events = self.bus.subscribe();
        let mut sweep = tokio::time::interval(self.config.sweep_every);
        let mut poked = false;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(BusEvent::InboundStored { .. }) => poked = true,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => poked = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(10)), if poked => {
                    poked = false;
                    self.sweep_messages(&dispatch).await;
                }
                _ = sweep.tick() => {
                    self.sweep_messages(&dispatch).await;
                    match self.store.due_bot_timers(self.clock.now(), 1000).await {
                        Ok(list) => for s in list {
                            if let Some(due) = s.timer_due_at {
                                dispatch(Work::Timer(s.workspace_id, s.conversation_id, due));
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
        drop(queues);
        for h in handles {
            let _ = h.await;
        }
    }

    async fn sweep_messages(&self, dispatch: &impl Fn(Work)) {
        match self.store.conversations_awaiting_bot(1000).await {
            Ok(list) => {
                for (ws, c) in list {
                    dispatch(Work::Messages(ws, c));
                }
            }
            Err(err) => tracing::warn!(error = %err, "bot: sweep failed"),
        }
    }

    async fn worker(
        self,
        mut rx: mpsc::UnboundedReceiver<Work>,
        queued: Arc<std::sync::Mutex<std::collections::HashSet<ConversationId>>>,
    ) {
        while let Some(work) = rx.recv().await {
            let result = match work {
                Work::Messages(ws, c) => {
                    queued.lock().expect("queued").remove(&c);
                    self.handle_messages(ws, c).await
                }
                Work::Timer(ws, c, due) => self.handle_timer(ws, c, due).await,
            };
            if let Err(err) = result {
                metrics::counter!("balcao_bot_errors_total").increment(1);
                tracing::error!(error = %err, "bot: handling a conversation failed; the sweep retries");
            }
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
        let messages: Vec<Message> = self
            .store
            .messages(workspace, conversation_id, session.last_message_id, 100)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|m| m.direction == Direction::In)
            .collect();
        if messages.is_empty() {
            return Ok(());
        }
        let profile = self.profile(workspace);
        let mut turn = Turn::default();
        for message in &messages {
            let input = inbound_input(message, &conversation);
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
        let stored_at = messages[0].updated_at;
        let since_stored = Duration::from_millis(self.clock.now().saturating_sub(stored_at) as u64)
            .saturating_sub(erp_time);
        metrics::histogram!("balcao_bot_stored_to_outbox_seconds")
            .record(since_stored.as_secs_f64());
        Ok(())
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
        let enqueued = self
            .store
            .save_bot_turn(&session, &turn.events, &turn.replies, state.is_closed())
            .await
            .map_err(|e| e.to_string())?;
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
                        self.flush_replies(workspace, turn).await;
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

    async fn flush_replies(&self, workspace: WorkspaceId, turn: &mut Turn) {
        if turn.replies.is_empty() {
            return;
        }
        match self
            .store
            .enqueue_outbound_all(workspace, &turn.replies, self.clock.now())
            .await
        {
            Ok(enqueued) => {
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
