//! The service desk's storage boundary: users and their sessions, queues and their members,
//! holidays, settings, quick replies, the desk state of each conversation, notes, team chat,
//! tags, CSAT, presence, and the inbox and board listings.
//!
//! Contracts every backend keeps (checked by `contract_desk`):
//! - Every method on tenant data takes a [`WorkspaceId`] and never reads or writes another
//!   workspace's rows; passing an id of another workspace behaves as "not found". The routing
//!   lookups that run before a workspace is known (session cookie, bearer token, login throttle,
//!   e-mail at login) and the runner's pollers (`desk_entry_candidates`, `desk_awaiting_inbound`,
//!   `due_desk_work`) are the only exceptions; they return workspace ids with each row.
//! - Every state change of a desk conversation is ONE transaction that also appends its event to
//!   the conversation's `events` log and, when the subscriber must be told something, a
//!   [`DeskNotice`] (sent by the runner through the outbox, then completed). A crash therefore
//!   never loses a transition's message nor sends it twice (the notice id is in the idempotency
//!   key).
//! - An agent never holds more `assigned` conversations than `max_chats` through any method that
//!   gives them one (assign, claim, transfer, reopen); a conversation never has two agents.
//! - Conflicts (taken, over the limit, wrong state) are `StoreError::Conflict` with a pt-BR
//!   message a person can read.

use crate::{Result, StoreError};
use async_trait::async_trait;
use balcao_domain::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---- ids and small parsed values --------------------------------------------------------------

/// A queue (sector) of a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueId(pub i64);

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The number a subscriber types to choose a queue in the menu: 1 to 99, unique per workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct OptionNumber(u8);

impl OptionNumber {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 99;

    pub fn new(value: u32) -> Option<OptionNumber> {
        u8::try_from(value)
            .ok()
            .filter(|v| (Self::MIN..=Self::MAX).contains(&u32::from(*v)))
            .map(OptionNumber)
    }
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl TryFrom<u32> for OptionNumber {
    type Error = String;
    fn try_from(value: u32) -> std::result::Result<Self, String> {
        OptionNumber::new(value).ok_or_else(|| format!("opção {value} fora de 1 a 99"))
    }
}

impl From<OptionNumber> for u32 {
    fn from(value: OptionNumber) -> u32 {
        value.get()
    }
}

impl std::fmt::Display for OptionNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What a user may do: admins configure, supervisors see every queue and reassign, agents
    /// work in the queues they belong to.
    Role {
        Admin = "admin",
        Supervisor = "supervisor",
        Agent = "agent",
    }
);

text_enum!(
    /// How a queue's conversations reach agents.
    Distribution {
        /// The least recently assigned eligible agent gets the next one.
        RoundRobin = "round_robin",
        /// Agents pick from the queue ([`DeskStore::claim`]).
        Pick = "pick",
    }
);

text_enum!(
    /// What happens to a queued conversation while the queue is closed.
    OutOfHoursMode {
        /// Stays queued until the next opening.
        Wait = "wait",
        /// Moves to the queue's fallback queue.
        Fallback = "fallback",
    }
);

text_enum!(
    /// Where a conversation is in the desk.
    DeskState {
        /// The subscriber is choosing a queue from the numbered menu.
        Menu = "menu",
        /// Waiting in a queue for an agent.
        Queued = "queued",
        /// With an agent (who must still accept it when `accepted` is false).
        Assigned = "assigned",
        /// Closed by an agent; the grace period may still reopen it.
        Closed = "closed",
    }
);

text_enum!(
    /// The satisfaction survey after a close.
    CsatState {
        None = "none",
        /// Rating requested (1–5).
        Asked = "asked",
        /// Rated; an optional comment was requested.
        Comment = "comment",
        Done = "done",
    }
);

impl Role {
    /// Supervisors and admins see and act on every queue.
    pub fn sees_all_queues(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }
}

// ---- users, sessions, tokens, login throttle ---------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    /// Stored lowercased and trimmed; unique per workspace.
    pub email: String,
    pub name: String,
    pub role: Role,
    /// argon2 PHC string (hashing is the web layer's).
    pub password_hash: String,
    /// Concurrent chats; at least 1.
    pub max_chats: u32,
    /// The agent's own weekly hours (balcao_desk's format); `None` follows the queue's.
    pub hours: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub max_chats: u32,
    pub hours: Option<Value>,
    /// Manual "ausente" status.
    pub away: bool,
    /// Last heartbeat from an open inbox.
    pub last_seen_at: Option<Millis>,
    pub created_at: Millis,
}

impl User {
    /// Online: a heartbeat at or after `online_since` (now − 45 s) and not away.
    pub fn is_online(&self, online_since: Millis) -> bool {
        !self.away && self.last_seen_at.is_some_and(|t| t >= online_since)
    }
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPatch {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    pub active: Option<bool>,
    pub max_chats: Option<u32>,
    /// `Some(None)` clears the agent's own hours.
    pub hours: Option<Option<Value>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserSession {
    /// SHA-256 hex of the cookie's token (the token itself is never stored).
    pub token_sha256: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    pub token_sha256: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub csrf_token: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A bearer token of a user for the REST API (listing: never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserToken {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Millis,
}

/// Failed logins counted per key (`email:<address>`, `ip:<address>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginThrottle {
    pub key: String,
    pub failures: u32,
    pub window_started_at: Millis,
    pub locked_until: Option<Millis>,
}

impl LoginThrottle {
    pub fn is_locked(&self, now: Millis) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }
}

/// How failures turn into a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleRule {
    /// Failures are counted within this window from the first one.
    pub window_millis: i64,
    /// Reaching this many failures in the window locks the key…
    pub max_failures: u32,
    /// …for this long.
    pub lock_millis: i64,
}

// ---- queues, holidays, settings, quick replies -------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueSettings {
    pub option_number: OptionNumber,
    pub name: String,
    /// false: locked, not offered in the menu (existing conversations stay).
    pub active: bool,
    pub distribution: Distribution,
    /// Weekly intervals (balcao_desk's format); `None`: always open.
    pub hours: Option<Value>,
    pub out_of_hours: OutOfHoursMode,
    /// Where waiting or unaccepted conversations go after `accept_timeout_secs`, and where
    /// `OutOfHoursMode::Fallback` sends them. Must be another queue of the workspace.
    pub fallback_queue_id: Option<QueueId>,
    pub accept_timeout_secs: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub id: QueueId,
    pub workspace_id: WorkspaceId,
    pub option_number: OptionNumber,
    pub name: String,
    pub active: bool,
    pub distribution: Distribution,
    pub hours: Option<Value>,
    pub out_of_hours: OutOfHoursMode,
    pub fallback_queue_id: Option<QueueId>,
    pub accept_timeout_secs: Option<u32>,
    pub created_at: Millis,
}

/// One of the provider's own holidays (national ones are computed, not stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: jiff::civil::Date,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewQuickReply {
    /// Without the leading `/`; unique per workspace and scope.
    pub shortcut: String,
    /// May carry variables such as `{{nome}}`.
    pub body: String,
    /// `None`: offered in every queue.
    pub queue_id: Option<QueueId>,
    pub attachment_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub shortcut: String,
    pub body: String,
    pub queue_id: Option<QueueId>,
    pub attachment_url: Option<String>,
}

// ---- desk conversations ------------------------------------------------------------------------

/// The desk's part of a conversation (one row per `conversations` row that reached the desk).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskConversation {
    pub conversation_id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub state: DeskState,
    pub queue_id: Option<QueueId>,
    pub agent_id: Option<UserId>,
    /// false while a transfer to an agent waits for their accept.
    pub accepted: bool,
    /// The bot's handoff summary.
    pub summary: Option<String>,
    /// When the subscriber started waiting for a person in this cycle (menu choice, handoff,
    /// transfer to a queue, reopen); unchanged by a return to the queue or a fallback, so they
    /// keep their place.
    pub queued_at: Option<Millis>,
    pub assigned_at: Option<Millis>,
    /// First agent reply of the cycle (metric).
    pub first_response_at: Option<Millis>,
    /// First reply of the current agent since their assignment; `None` makes the conversation
    /// go back to the queue when the agent goes offline or away.
    pub answered_at: Option<Millis>,
    /// Fallback timer: accept timeout of a transfer, or waiting timeout in a queue.
    pub deadline_at: Option<Millis>,
    /// Moves to a fallback queue so far (the timer stops after 3, so queues pointing at each
    /// other cannot bounce a conversation forever).
    pub fallback_hops: u32,
    /// The out-of-hours message was sent for the closed period ending at this opening.
    pub ooh_notified_until: Option<Millis>,
    /// The last inbound message the runner handled.
    pub last_seen_message_id: Option<MessageId>,
    pub menu_failures: u32,
    pub closed_at: Option<Millis>,
    pub closed_by: Option<UserId>,
    pub resolution: Option<String>,
    pub csat_state: CsatState,
    /// A new inbound before this moment reopens; after it the runner closes the
    /// `conversations` row ([`DeskStore::finish_desk`]).
    pub grace_until: Option<Millis>,
    /// The `conversations` row was closed: the desk is done with it.
    pub finished: bool,
    /// Inbound messages since an agent last read it.
    pub unread: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// How a conversation enters the desk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskEntry {
    /// `None`: the numbered menu; `Some`: straight into that queue (a handoff whose sector
    /// matched a queue).
    pub queue: Option<QueueId>,
    pub summary: Option<String>,
    /// Inbound messages up to this one are considered handled (the bot saw them).
    pub handled_up_to: Option<MessageId>,
    /// The bot was off: the menu notice also carries the welcome.
    pub welcome: bool,
}

/// Who a transfer goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum TransferTarget {
    Queue(QueueId),
    Agent(UserId),
}

/// Closing by an agent (or a supervisor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskClose {
    pub by: Option<UserId>,
    /// `resolved`, `unresolved`, `spam`…
    pub resolution: String,
    /// `closed_at + reopen_grace`.
    pub grace_until: Millis,
}

/// An answer to the satisfaction survey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsatAnswer {
    /// 1 to 5. `ask_comment`: the state becomes `comment` (else `done`).
    Rating {
        rating: u8,
        ask_comment: bool,
    },
    Comment(String),
    /// Ends the survey without an answer (window closed, CSAT disabled, timed out).
    Skip,
}

/// Something the subscriber must be told because of a transition, written in the transition's
/// transaction and sent by the runner (idempotency key `desk:{conversation}:{kind}:{id}`).
///
/// Kinds and data:
/// - `menu` `{welcome: bool}` — the menu (choose_queue text + list of active queues);
/// - `invalid_option` `{}` — invalid option, then the menu again;
/// - `queued` `{queue_id}` — "aguarde…" (transfer message) after entering a queue;
/// - `agent_start` `{agent_id}` — optional agent start message;
/// - `transferred` `{to_queue_id?, to_agent_id?}` — transfer message;
/// - `fallback_moved` `{from_queue_id, queue_id}`;
/// - `out_of_hours` `{queue_id, until}`;
/// - `closed` `{}` — thanks, then the CSAT request when inside the window and enabled;
/// - `csat_rated` `{rating, ask_comment}` — the comment request or the closing thanks;
/// - `csat_commented` `{}` — the closing thanks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskNotice {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub kind: String,
    pub data: Value,
    pub created_at: Millis,
}

/// Who may take a queued conversation in [`DeskStore::assign_next`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignRules {
    pub now: Millis,
    /// Heartbeats at or after this count as online (now − 45 s).
    pub online_since: Millis,
    /// Agents inside their own hours (the caller applies hours and holidays). Members not
    /// listed are never chosen.
    pub within_hours: Vec<UserId>,
}

/// Work the desk runner finds due (routing-level: all workspaces).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DueDeskWork {
    /// Queued or unaccepted conversations whose `deadline_at <= now`.
    pub deadlines: Vec<(WorkspaceId, ConversationId)>,
    /// Closed, not finished, `grace_until <= now`.
    pub grace_expired: Vec<(WorkspaceId, ConversationId)>,
    /// Queues having queued conversations.
    pub queues_waiting: Vec<(WorkspaceId, QueueId)>,
    /// Agents holding unanswered assigned conversations while offline, away or inactive.
    pub agents_gone: Vec<(WorkspaceId, UserId)>,
    /// Notices not sent yet, oldest first.
    pub notices: Vec<DeskNotice>,
}

/// A conversation entering the desk: from a bot handoff (`handoff` = the event's data,
/// `{sector, summary}`) or, with the bot off, any conversation with inbound messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskEntryCandidate {
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub handoff: Option<Value>,
    /// The bot session's last handled message, when there is a session.
    pub bot_last_message_id: Option<MessageId>,
}

// ---- inbox and board ---------------------------------------------------------------------------

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    pub state: Option<DeskState>,
    pub queue: Option<QueueId>,
    pub agent: Option<UserId>,
    /// An agent's view: conversations of the queues they belong to, plus those assigned to them.
    pub visible_to: Option<UserId>,
    /// Also list conversations whose `conversations` row was closed after the grace.
    pub include_finished: bool,
    /// 0 means the default (200); at most 1,000.
    pub limit: u32,
}

/// One line of the inbox: queued and menu oldest first (longest wait on top), assigned by
/// newest activity, closed by newest close.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    pub desk: DeskConversation,
    pub number_id: NumberId,
    pub contact_id: ContactId,
    pub wa_id: WaId,
    pub contact_name: Option<String>,
    pub last_message_at: Millis,
    /// The 24-hour window closes at `last_inbound_at + 24 h`.
    pub last_inbound_at: Option<Millis>,
    /// Text of the newest message (any direction).
    pub last_text: Option<String>,
    pub queue_name: Option<String>,
    pub agent_name: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentFigure {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub online: bool,
    pub away: bool,
    pub last_seen_at: Option<Millis>,
    pub open_chats: u32,
    pub max_chats: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueFigure {
    pub queue_id: QueueId,
    pub name: String,
    pub active: bool,
    pub queued: u32,
    pub assigned: u32,
    /// The longest wait is `now − oldest_queued_at`.
    pub oldest_queued_at: Option<Millis>,
    pub online_members: u32,
}

/// The supervisor board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeskBoard {
    pub agents: Vec<AgentFigure>,
    pub queues: Vec<QueueFigure>,
    /// Conversations in the menu (choosing a queue).
    pub in_menu: u32,
}

// ---- notes, team chat, csat --------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub body: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMessage {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub body: String,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatRating {
    pub conversation_id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub agent_id: Option<UserId>,
    pub queue_id: Option<QueueId>,
    pub rating: u8,
    pub comment: Option<String>,
    pub created_at: Millis,
}

/// Ratings grouped by agent and queue since a moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatFigure {
    pub agent_id: Option<UserId>,
    pub queue_id: Option<QueueId>,
    pub count: u32,
    pub sum: u32,
}

/// A conflict with a message a person can read.
pub fn conflict(message: impl Into<String>) -> StoreError {
    StoreError::Conflict(message.into())
}

#[async_trait]
pub trait DeskStore: Send + Sync + 'static {
    // ---- users ---------------------------------------------------------------------------

    /// Conflict when the e-mail (lowercased) is taken in the workspace.
    async fn create_user(&self, workspace: WorkspaceId, new: NewUser, now: Millis) -> Result<User>;
    /// NotFound for a user of another workspace; Conflict on a taken e-mail. Deactivating does
    /// not touch the user's conversations (the presence sweep returns unanswered ones).
    async fn update_user(
        &self,
        workspace: WorkspaceId,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User>;
    async fn user(&self, workspace: WorkspaceId, id: UserId) -> Result<Option<User>>;
    /// By name.
    async fn users(&self, workspace: WorkspaceId) -> Result<Vec<User>>;
    async fn user_by_email(&self, workspace: WorkspaceId, email: &str) -> Result<Option<User>>;
    /// Routing-level (login without a workspace): the users of every workspace with this e-mail.
    async fn users_by_email(&self, email: &str) -> Result<Vec<User>>;

    // ---- sessions and tokens ---------------------------------------------------------------

    /// NotFound when the user is not the workspace's.
    async fn create_user_session(
        &self,
        workspace: WorkspaceId,
        session: NewUserSession,
    ) -> Result<UserSession>;
    /// Routing-level: the session and its user, when not expired (`expires_at > now`) and the
    /// user is active.
    async fn user_session(
        &self,
        token_sha256: &str,
        now: Millis,
    ) -> Result<Option<(UserSession, User)>>;
    /// Logout. Deleting an unknown session is not an error.
    async fn delete_user_session(&self, token_sha256: &str) -> Result<()>;
    /// Every session of the user (password change, deactivation). Returns how many.
    async fn delete_user_sessions(&self, workspace: WorkspaceId, user: UserId) -> Result<u32>;
    /// Routing-level housekeeping: removes expired sessions; returns how many.
    async fn purge_expired_sessions(&self, now: Millis) -> Result<u32>;
    /// Stores the SHA-256 hex of a bearer token. NotFound when the user is not the workspace's.
    async fn create_user_token(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        name: &str,
        token_sha256: &str,
        now: Millis,
    ) -> Result<UserToken>;
    /// Routing-level: the active user owning the token.
    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<User>>;
    async fn user_tokens(&self, workspace: WorkspaceId, user: UserId) -> Result<Vec<UserToken>>;
    /// NotFound when the token is not the user's.
    async fn delete_user_token(&self, workspace: WorkspaceId, user: UserId, id: i64) -> Result<()>;

    // ---- login throttle (routing-level: keys name an e-mail or an address) -----------------

    async fn login_throttle(&self, key: &str) -> Result<Option<LoginThrottle>>;
    /// Atomically counts one failure: a window older than `rule.window_millis` restarts at 1;
    /// reaching `rule.max_failures` sets `locked_until = now + rule.lock_millis`.
    async fn record_login_failure(
        &self,
        key: &str,
        rule: ThrottleRule,
        now: Millis,
    ) -> Result<LoginThrottle>;
    /// After a successful login.
    async fn clear_login_failures(&self, key: &str) -> Result<()>;

    // ---- presence ------------------------------------------------------------------------

    /// Sets `last_seen_at = now`. Returns true when the user was offline before (no heartbeat
    /// since `online_since`, or away is irrelevant here), so the caller publishes a change.
    async fn heartbeat(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        now: Millis,
        online_since: Millis,
    ) -> Result<bool>;
    /// Manual away status. Returns the user. (Unanswered chats go back on the next sweep.)
    async fn set_away(&self, workspace: WorkspaceId, user: UserId, away: bool) -> Result<User>;

    // ---- queues --------------------------------------------------------------------------

    /// Conflict when the option number is taken in the workspace; NotFound when the fallback
    /// queue is not the workspace's.
    async fn create_queue(
        &self,
        workspace: WorkspaceId,
        settings: &QueueSettings,
        now: Millis,
    ) -> Result<Queue>;
    /// Same conflicts as create; a queue cannot be its own fallback (Conflict).
    async fn update_queue(
        &self,
        workspace: WorkspaceId,
        id: QueueId,
        settings: &QueueSettings,
    ) -> Result<Queue>;
    /// Conflict while any desk conversation or quick reply refers to it (lock it instead).
    async fn delete_queue(&self, workspace: WorkspaceId, id: QueueId) -> Result<()>;
    async fn queue(&self, workspace: WorkspaceId, id: QueueId) -> Result<Option<Queue>>;
    /// By option number.
    async fn queues(&self, workspace: WorkspaceId) -> Result<Vec<Queue>>;
    /// Replaces the members. NotFound when the queue or any user is not the workspace's.
    async fn set_queue_members(
        &self,
        workspace: WorkspaceId,
        queue: QueueId,
        users: &[UserId],
    ) -> Result<()>;
    /// The member users, by name.
    async fn queue_members(&self, workspace: WorkspaceId, queue: QueueId) -> Result<Vec<User>>;
    /// The queues a user belongs to, by option number.
    async fn user_queues(&self, workspace: WorkspaceId, user: UserId) -> Result<Vec<QueueId>>;

    // ---- holidays, settings, quick replies ---------------------------------------------------

    /// Replaces the provider's own holidays.
    async fn set_holidays(&self, workspace: WorkspaceId, holidays: &[Holiday]) -> Result<()>;
    /// By date.
    async fn holidays(&self, workspace: WorkspaceId) -> Result<Vec<Holiday>>;
    /// The desk settings JSON (balcao_desk's format); `None` until first saved.
    async fn desk_settings(&self, workspace: WorkspaceId) -> Result<Option<Value>>;
    async fn save_desk_settings(
        &self,
        workspace: WorkspaceId,
        settings: &Value,
        now: Millis,
    ) -> Result<()>;
    /// Conflict when the shortcut exists in the same scope; NotFound for a foreign queue.
    async fn create_quick_reply(
        &self,
        workspace: WorkspaceId,
        new: &NewQuickReply,
    ) -> Result<QuickReply>;
    async fn update_quick_reply(
        &self,
        workspace: WorkspaceId,
        id: i64,
        new: &NewQuickReply,
    ) -> Result<QuickReply>;
    async fn delete_quick_reply(&self, workspace: WorkspaceId, id: i64) -> Result<()>;
    /// `queue: None` lists every quick reply; `Some(q)` those for all queues plus q's, with
    /// q's first when a shortcut exists in both. By shortcut.
    async fn quick_replies(
        &self,
        workspace: WorkspaceId,
        queue: Option<QueueId>,
    ) -> Result<Vec<QuickReply>>;

    // ---- desk conversations: entering --------------------------------------------------------

    /// Routing-level: conversations waiting to enter the desk, oldest first: open ones whose bot
    /// session is finished with a `handoff` event and that have no desk row; with
    /// `bot_enabled == false` also open ones with inbound messages and no bot session.
    async fn desk_entry_candidates(
        &self,
        bot_enabled: bool,
        limit: u32,
    ) -> Result<Vec<DeskEntryCandidate>>;
    /// Creates the desk row if absent (returns it with `false` when it existed: idempotent).
    /// Menu entry: notice `menu`; queue entry: state queued, deadline from the queue, notice
    /// `queued`. Event `desk_menu` / `desk_queued`. NotFound for a foreign conversation or queue.
    async fn enter_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        entry: DeskEntry,
        now: Millis,
    ) -> Result<(DeskConversation, bool)>;
    async fn desk_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<DeskConversation>>;
    /// Routing-level: live (not finished) desk conversations having inbound messages after
    /// `last_seen_message_id`, oldest such message first.
    async fn desk_awaiting_inbound(&self, limit: u32)
    -> Result<Vec<(WorkspaceId, ConversationId)>>;
    /// Moves the cursor to `handled` (never back) and adds `unread` inbound messages to the
    /// unread count.
    async fn advance_desk_cursor(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        handled: MessageId,
        unread: u32,
        now: Millis,
    ) -> Result<()>;

    // ---- menu ---------------------------------------------------------------------------------

    /// Menu → queued in `queue` (an active queue; a locked one is a Conflict), cursor to
    /// `handled`, `queued_at = now`, deadline from the queue, event `desk_queued`, notice
    /// `queued`. Conflict when not in the menu any more.
    async fn choose_queue(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        queue: QueueId,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// Counts an invalid menu answer, cursor to `handled`, notice `invalid_option`. Returns the
    /// failures so far. A message already handled (cursor at or past it) is not counted again.
    /// Conflict when not in the menu.
    async fn record_menu_failure(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        handled: MessageId,
        now: Millis,
    ) -> Result<u32>;

    // ---- distribution ------------------------------------------------------------------------

    /// ONE transaction: takes the longest-waiting queued conversation of `queue` (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`) and the least recently assigned eligible agent — a member of
    /// the queue, active, not away, heartbeat at or after `rules.online_since`, listed in
    /// `rules.within_hours`, with fewer assigned conversations than `max_chats` re-counted under
    /// the agent's lock — assigns it (accepted, deadline cleared, `assigned_at = now`), bumps the
    /// agent's round-robin sequence, appends `desk_assigned` and notice `agent_start`. `None`
    /// when nothing is queued or nobody is eligible. Never two agents for a conversation, never
    /// an agent over the limit.
    async fn assign_next(
        &self,
        workspace: WorkspaceId,
        queue: QueueId,
        rules: &AssignRules,
    ) -> Result<Option<DeskConversation>>;
    /// Pick mode (also used by supervisors): the user takes a queued conversation. The user
    /// must be active and a member of its queue (supervisors and admins: any queue). Conflict
    /// "já foi assumida" when it is no longer queued, Conflict when the user is at `max_chats`.
    /// Same effects as `assign_next` (event `desk_claimed`).
    async fn claim(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// The agent accepts a conversation transferred to them: `accepted`, deadline cleared,
    /// event `desk_accepted`. Conflict when it is not assigned to them unaccepted.
    async fn accept(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// The user's assigned conversations without an answer since assignment go back to their
    /// queue (keeping `queued_at`, deadline from the queue), event `desk_returned`. Atomic.
    async fn return_unanswered_chats(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        now: Millis,
    ) -> Result<Vec<ConversationId>>;
    /// Transfer of a queued or assigned conversation, with an optional private note (stored as
    /// a note in the same transaction). To a queue: queued there, `queued_at = now`, deadline
    /// from that queue. To an agent: assigned unaccepted (same queue), deadline from the queue's
    /// accept timeout; Conflict when the agent is inactive or at `max_chats`. Event
    /// `desk_transferred`, notice `transferred`. Conflict in the menu or closed.
    async fn transfer(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        by: UserId,
        to: TransferTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// When `deadline_at <= now` still holds for a queued or unaccepted conversation: moves it
    /// to its queue's fallback queue (an unaccepted transfer without a fallback queue goes back
    /// to its queue), agent cleared, hop counted, new deadline from the target, event
    /// `desk_fallback`, notice `fallback_moved`. `None` when nothing was due any more.
    async fn apply_deadline(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<Option<DeskConversation>>;
    /// Out of hours with `OutOfHoursMode::Fallback`: a queued conversation moves to `to`
    /// (event `desk_fallback` with reason `out_of_hours`, notice `fallback_moved`). Conflict
    /// when not queued.
    async fn move_to_queue(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        to: QueueId,
        reason: &str,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// Records that the out-of-hours message is due for the closed period ending at `until`
    /// (notice `out_of_hours`), unless already recorded for that period: returns false then.
    async fn mark_out_of_hours(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        until: Millis,
        now: Millis,
    ) -> Result<bool>;

    // ---- conversation work -------------------------------------------------------------------

    /// An agent replied: `first_response_at` and `answered_at` set when empty, unread cleared.
    async fn record_agent_reply(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        now: Millis,
    ) -> Result<()>;
    /// The agent opened it: unread cleared.
    async fn mark_desk_read(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<()>;
    /// Menu, queued or assigned → closed with the resolution; `grace_until` set, csat none,
    /// deadline cleared, event `desk_closed`, notice `closed`. Conflict when already closed.
    async fn close_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        close: &DeskClose,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// Closed (not finished) → back to work: to `agent` (assigned, accepted; Conflict when
    /// inactive or at `max_chats`) or queued in its queue (menu when it has none);
    /// `queued_at = now`, grace and csat cleared, cursor to `handled`, event `desk_reopened`.
    /// Conflict when not closed or already finished.
    async fn reopen_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        agent: Option<UserId>,
        by: Option<UserId>,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation>;
    /// After the grace: when closed, not finished and `grace_until <= now`, marks it finished
    /// and closes the `conversations` row (status closed, `closed_at = now`) in one
    /// transaction; the next inbound then opens a new conversation. Returns false when not due.
    async fn finish_desk(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<bool>;
    /// Closes a `conversations` row outside the desk flow (e.g. the bot resolved it). Returns
    /// false when it was already closed.
    async fn close_conversation(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<bool>;

    // ---- csat -----------------------------------------------------------------------------------

    /// Marks the survey as asked (after the `closed` notice sent the request), or done when it
    /// was not sent.
    async fn set_csat_state(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        state: CsatState,
    ) -> Result<()>;
    /// A rating (state must be `asked`) is stored per agent and queue of the conversation
    /// (upsert by conversation), event `csat`, notice `csat_rated`; a comment (state `comment`)
    /// is added to the rating, notice `csat_commented`; skip ends the survey. Cursor to
    /// `handled`. Conflict when the state does not expect that answer.
    async fn record_csat(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        answer: CsatAnswer,
        handled: Option<MessageId>,
        now: Millis,
    ) -> Result<DeskConversation>;
    async fn csat_rating(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Option<CsatRating>>;
    /// Ratings since `since`, grouped by agent and queue.
    async fn csat_figures(&self, workspace: WorkspaceId, since: Millis) -> Result<Vec<CsatFigure>>;

    // ---- notes, tags, team chat -----------------------------------------------------------------

    /// Internal note (never sent), event `desk_note`. NotFound for a foreign conversation/user.
    async fn add_note(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        user: UserId,
        body: &str,
        now: Millis,
    ) -> Result<Note>;
    /// Oldest first.
    async fn notes(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<Note>>;
    /// Returns false when the tag was already there; event `tag` when added.
    async fn add_tag(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        tag: &str,
        by: Option<UserId>,
        now: Millis,
    ) -> Result<bool>;
    /// Returns false when the tag was not there; event `untag` when removed.
    async fn remove_tag(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
        tag: &str,
        by: Option<UserId>,
        now: Millis,
    ) -> Result<bool>;
    /// Sorted.
    async fn tags(
        &self,
        workspace: WorkspaceId,
        conversation: ConversationId,
    ) -> Result<Vec<String>>;
    async fn add_team_message(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        body: &str,
        now: Millis,
    ) -> Result<TeamMessage>;
    /// Oldest first: the newest `limit` messages when `after` is `None`, else those after it.
    async fn team_messages(
        &self,
        workspace: WorkspaceId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<TeamMessage>>;

    // ---- inbox, board, runner -----------------------------------------------------------------

    async fn desk_inbox(
        &self,
        workspace: WorkspaceId,
        filter: &InboxFilter,
    ) -> Result<Vec<InboxItem>>;
    async fn desk_board(&self, workspace: WorkspaceId, online_since: Millis) -> Result<DeskBoard>;
    /// Routing-level: what the runner must do now (each list at most `limit`).
    async fn due_desk_work(
        &self,
        now: Millis,
        online_since: Millis,
        limit: u32,
    ) -> Result<DueDeskWork>;
    /// The notice was sent (or deliberately skipped): removes it. Not an error when absent.
    async fn complete_desk_notice(&self, workspace: WorkspaceId, id: i64) -> Result<()>;
}
