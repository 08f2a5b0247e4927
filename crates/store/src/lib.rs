//! The storage boundary of Balcão: the [`Store`] trait, the rows it returns, and (behind the
//! `contract` feature) the contract test suite that every backend must pass.
//!
//! Invariants every implementation keeps:
//! - Every method that reads or writes tenant data takes a [`WorkspaceId`] and never touches rows
//!   of another workspace. The only lookups without one are the routing lookups a webhook or the
//!   sender needs before a workspace is known (`number_by_phone_number_id`, `all_numbers`,
//!   `claim_outbound` by number, `workspace_for_token`) and the bot's pollers
//!   (`due_bot_timers`, `conversations_awaiting_bot`), which return workspace ids with each row.
//! - `ingest` is one transaction: a delivery is either wholly stored or not at all.
//! - Inbound messages are unique per (number, wamid); statuses per (number, wamid, status);
//!   outbound messages per (workspace, idempotency key). Repeating a write is a no-op.
//! - A message's delivery status only moves as [`DeliveryStatus::advance`] allows.

#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "contract")]
pub mod contract_desk;
#[cfg(feature = "contract")]
pub mod contract_ladder;
#[cfg(feature = "contract")]
pub mod contract_ladder_metrics;
#[cfg(feature = "contract")]
pub mod contract_ladder_settings;
pub mod desk;
pub mod ladder;
pub mod ladder_metrics;
pub mod ladder_settings;
pub mod models;

pub use desk::*;
pub use ladder::*;
pub use ladder_metrics::*;
pub use ladder_settings::*;
pub use models::*;

use async_trait::async_trait;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::WebhookBatch;
use balcao_domain::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("não encontrado")]
    NotFound,
    #[error("conflito: {0}")]
    Conflict(String),
    #[error("dado inválido no banco: {0}")]
    Corrupt(String),
    #[error("erro do banco de dados: {0}")]
    Database(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store:
    DeskStore + LadderStore + LadderMetricsStore + LadderSettingsStore + Send + Sync + 'static
{
    /// Which backend this is ("sqlite" or "postgres"), for logs and benchmarks.
    fn backend(&self) -> &'static str;

    /// Applies the backend's pending migrations. Idempotent.
    async fn migrate(&self) -> Result<()>;

    // ---- workspaces, numbers, credentials -------------------------------------------------

    async fn create_workspace(&self, new: NewWorkspace) -> Result<Workspace>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>>;
    async fn workspace_by_slug(&self, slug: &str) -> Result<Option<Workspace>>;

    /// Fails with `Conflict` when the `phone_number_id` is already connected (to any workspace).
    async fn create_number(&self, workspace: WorkspaceId, new: NewNumber)
    -> Result<WhatsAppNumber>;
    async fn numbers(&self, workspace: WorkspaceId) -> Result<Vec<WhatsAppNumber>>;
    /// Every number of every workspace: the sender starts one loop per number.
    async fn all_numbers(&self) -> Result<Vec<WhatsAppNumber>>;
    /// Webhook routing: the number (and so the workspace) a `phone_number_id` belongs to.
    async fn number_by_phone_number_id(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<WhatsAppNumber>>;

    /// Stores the SHA-256 hex of an API token (never the token itself).
    async fn create_api_token(
        &self,
        workspace: WorkspaceId,
        name: &str,
        token_sha256: &str,
    ) -> Result<()>;
    async fn workspace_for_token(&self, token_sha256: &str) -> Result<Option<WorkspaceId>>;

    /// Approved templates known for a number (what the sender may use outside the window).
    async fn upsert_template(&self, workspace: WorkspaceId, template: Template) -> Result<()>;
    async fn templates(&self, workspace: WorkspaceId, number: NumberId) -> Result<Vec<Template>>;

    // ---- webhooks in ----------------------------------------------------------------------

    /// Stores several webhook deliveries in ONE transaction (group commit) and reports, per
    /// delivery and in the same order, what was new. For each inbound message: find or create the
    /// contact (matched on `WaId::match_key`, so both 9th-digit forms are one contact; the wa_id
    /// last seen and the profile name are updated), find the contact's open conversation on that
    /// number or open one, insert the message (skipped when (number, wamid) exists), refresh the
    /// conversation's `last_inbound_at`/`last_message_at`, append a `message_in` event.
    /// For each status: insert it (skipped when (number, wamid, status) exists); when the wamid
    /// belongs to an outbound message, advance its status monotonically, record pricing and the
    /// error, append a `status` event. Statuses whose wamid is unknown yet are kept and applied
    /// when `record_send_outcomes` later learns that wamid (statuses can beat the send answer).
    /// A status whose `biz_opaque_callback_data` matches the idempotency key of a message still in
    /// `sending` reconciles it (records the wamid) — see `reconcile_in_flight`.
    /// Items whose `phone_number_id` is not connected are kept in `unrouted` (reported, never lost).
    /// `other` changes are kept in the same table as unrouted items, with their field.
    async fn ingest(&self, deliveries: &[WebhookBatch], now: Millis) -> Result<Vec<IngestReport>>;

    /// Keeps a delivery that could not be parsed (or any other bad input worth inspecting).
    async fn record_dead_letter(&self, letter: NewDeadLetter) -> Result<i64>;
    async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>>;
    /// Items kept because their `phone_number_id` was unknown, and non-message changes.
    async fn unrouted(&self, limit: u32) -> Result<Vec<UnroutedItem>>;

    // ---- reading conversations ------------------------------------------------------------

    async fn contact(&self, workspace: WorkspaceId, id: ContactId) -> Result<Option<Contact>>;
    /// Matches any 9th-digit form of `wa_id`.
    async fn contact_by_wa_id(
        &self,
        workspace: WorkspaceId,
        wa_id: &WaId,
    ) -> Result<Option<Contact>>;
    /// Newest activity first; `filter.wa_id` matches any 9th-digit form.
    async fn conversations(
        &self,
        workspace: WorkspaceId,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>>;
    async fn conversation(
        &self,
        workspace: WorkspaceId,
        id: ConversationId,
    ) -> Result<Option<Conversation>>;
    /// Oldest first, `after` exclusive, at most `limit`.
    async fn messages(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    async fn message(&self, workspace: WorkspaceId, id: MessageId) -> Result<Option<Message>>;
    async fn message_by_wamid(
        &self,
        workspace: WorkspaceId,
        wamid: &str,
    ) -> Result<Option<Message>>;
    /// The append-only log, oldest first.
    async fn events(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Event>>;

    // ---- messages out (the outbox) -------------------------------------------------------

    /// Queues an outbound message: finds or creates the contact and its open conversation on the
    /// number, inserts the message in status `queued` with `next_attempt_at = now`, appends a
    /// `message_out` event. When `idempotency_key` is given and already used in the workspace,
    /// returns the existing message with `created: false` and changes nothing.
    /// The window rule is the caller's (engine): this method stores what it is given.
    async fn enqueue_outbound(
        &self,
        workspace: WorkspaceId,
        new: NewOutbound,
        now: Millis,
    ) -> Result<Enqueued> {
        let mut all = self
            .enqueue_outbound_all(workspace, std::slice::from_ref(&new), now)
            .await?;
        all.pop().ok_or(StoreError::NotFound)
    }

    /// [`Store::enqueue_outbound`] for several messages in ONE transaction (all or none), in
    /// order; returns each one's outcome.
    async fn enqueue_outbound_all(
        &self,
        workspace: WorkspaceId,
        news: &[NewOutbound],
        now: Millis,
    ) -> Result<Vec<Enqueued>>;

    /// Claims up to `limit` messages of `number` in status `queued` whose `next_attempt_at <= now`,
    /// oldest first: sets them to `sending`, `lease_until = now + lease_millis`, `attempts += 1`,
    /// and returns them with what the sender needs (including the conversation's
    /// `last_inbound_at` for the window check). Safe under concurrency: two claimers never get the
    /// same message (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED).
    async fn claim_outbound(
        &self,
        number: NumberId,
        now: Millis,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<OutboundJob>>;

    /// Records what happened to claimed messages, in one transaction. `Accepted` sets the wamid,
    /// the wa_id WhatsApp answered with, status `accepted` (then applies statuses already received
    /// for that wamid); `Retry` puts the message back to `queued` at `next_attempt_at` with the
    /// error; `Deferred` does the same without counting the attempt (pair limit, pacing);
    /// `Failed` sets status `failed` with the error. Each appends an event. Outcomes for messages
    /// not in `sending` are ignored (a reconciliation got there first).
    async fn record_send_outcomes(&self, outcomes: &[SendOutcome], now: Millis) -> Result<()>;

    /// After a crash: messages of `number` left in `sending` whose lease expired. Those for which
    /// a status carrying their idempotency key as `biz_opaque_callback_data` was received get that
    /// wamid (status `accepted`, then the statuses applied); those whose lease expired more than
    /// `resend_after_millis` ago without such evidence go back to `queued` (the send most likely
    /// never reached WhatsApp); the rest wait. Returns (reconciled, requeued).
    async fn reconcile_in_flight(
        &self,
        number: NumberId,
        now: Millis,
        resend_after_millis: i64,
    ) -> Result<(u32, u32)>;

    /// Counts by status of a workspace's outbound messages (for tests, metrics and benchmarks).
    async fn outbound_counts(&self, workspace: WorkspaceId) -> Result<Vec<(DeliveryStatus, u64)>>;
    /// Number of stored inbound messages of a workspace.
    async fn inbound_count(&self, workspace: WorkspaceId) -> Result<u64>;

    // ---- provider management system (ERP) --------------------------------------------------

    /// Sets the workspace's management system. Changing the system or the base URL resets the
    /// payment cursor (the new system's payments are polled from scratch); changing only the
    /// credentials keeps it.
    async fn set_erp_connection(
        &self,
        workspace: WorkspaceId,
        system: &str,
        base_url: &str,
        sealed_auth: &str,
        now: Millis,
    ) -> Result<ErpConnection>;
    async fn erp_connection(&self, workspace: WorkspaceId) -> Result<Option<ErpConnection>>;
    /// Every workspace's connection: the payment poller runs one loop per connection.
    async fn all_erp_connections(&self) -> Result<Vec<ErpConnection>>;

    /// Records payments seen in the management system and moves the payment cursor forward
    /// (never back) to `cursor`, in ONE transaction, so a crash between the two cannot lose or
    /// repeat an event. An invoice already recorded is skipped. Returns the new events, in the
    /// order given. Fails with `NotFound` when the workspace has no ERP connection.
    async fn record_payments(
        &self,
        workspace: WorkspaceId,
        events: &[NewPaymentEvent],
        cursor: Millis,
        now: Millis,
    ) -> Result<Vec<PaymentEvent>>;
    /// Payment events oldest first, `after` (an event id) exclusive.
    async fn payment_events(
        &self,
        workspace: WorkspaceId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PaymentEvent>>;

    // ---- self-service bot -------------------------------------------------------------------

    async fn bot_session(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<BotSession>>;
    /// Several bot turns in ONE transaction (group commit), each turn all-or-nothing on its
    /// own: its replies (as `enqueue_outbound` does, each idempotent by its key), its session
    /// upserted by (workspace, conversation), its events appended in order with
    /// `created_at = now`, and the conversation closed when asked. A turn fails alone — its
    /// result is `Conflict` (another conversation of the workspace has its protocol) or
    /// `NotFound` (the conversation, or a reply's number, is not the workspace's) and nothing of
    /// it is written — while the others are stored. The outer error means nothing was stored.
    async fn save_bot_turns(&self, turns: &[BotTurn]) -> Result<Vec<Result<Vec<Enqueued>>>>;

    /// [`Store::save_bot_turns`] for one turn with a session.
    async fn save_bot_turn(
        &self,
        session: &BotSession,
        events: &[NewEvent],
        replies: &[NewOutbound],
        close_conversation: bool,
    ) -> Result<Vec<Enqueued>> {
        let turn = BotTurn {
            workspace_id: session.workspace_id,
            conversation_id: session.conversation_id,
            session: Some(session.clone()),
            events: events.to_vec(),
            replies: replies.to_vec(),
            close_conversation,
            now: session.updated_at,
        };
        self.save_bot_turns(std::slice::from_ref(&turn))
            .await?
            .pop()
            .ok_or(StoreError::NotFound)?
    }
    /// Routing-level (all workspaces): sessions not finished whose `timer_due_at <= now`, oldest
    /// due first, at most `limit`.
    async fn due_bot_timers(&self, now: Millis, limit: u32) -> Result<Vec<BotSession>>;
    /// Routing-level (all workspaces): conversations having inbound messages newer than their
    /// session's `last_message_id` (or inbound messages and no session at all), excluding finished
    /// sessions; oldest unprocessed inbound message first, at most `limit`.
    async fn conversations_awaiting_bot(
        &self,
        limit: u32,
    ) -> Result<Vec<(WorkspaceId, ConversationId)>>;
}
