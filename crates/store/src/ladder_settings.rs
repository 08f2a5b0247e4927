//! Per-workspace billing-ladder settings and the ladder's customer list.
//!
//! - **Settings**: the workspace's `balcao_ladder::PlanConfig` as JSON (the store does not read
//!   it: the engine validates before saving and again before planning), with when and by whom
//!   it was last saved. `None` until first saved: the configuration file's ladder applies.
//! - **Customer list**: MK-Auth, Voalle and RadiusNet only list titles per CPF/CNPJ (or login)
//!   and have no endpoint listing customers, so the provider tells Balcão whom to follow: one
//!   entry per CPF/CNPJ (bare characters, as `Document::as_str`) or system login, with where it
//!   came from. Each entry caches the system's `Customer` (JSON), when it was resolved and the
//!   last lookup error, so a ladder run looks up only new, stale or failed entries.
//!
//! Contracts every backend keeps (checked by `contract_ladder_settings`):
//! - Every method takes a [`WorkspaceId`] and never reads or writes another workspace's rows.
//! - [`LadderSettingsStore::add_ladder_customers`] is ONE transaction (a list is never half
//!   imported) and never duplicates an entry: adding an existing one changes nothing about it.
//! - The list pages by entry (byte order), keyset: `after` is exclusive.

use crate::Result;
use async_trait::async_trait;
use balcao_domain::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The stored ladder settings of a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLadderSettings {
    /// `balcao_ladder::PlanConfig` as JSON.
    pub settings: Value,
    pub updated_at: Millis,
    /// Who saved them ("Ana Souza <ana@provedor.com.br>", "api"...).
    pub updated_by: Option<String>,
}

/// What an entry of the customer list names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderCustomerKind {
    /// A CPF or CNPJ, bare characters (11 digits, or 14 uppercase characters).
    Document,
    /// The system's connection login (MK-Auth).
    Login,
}

impl LadderCustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LadderCustomerKind::Document => "document",
            LadderCustomerKind::Login => "login",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "document" => Some(LadderCustomerKind::Document),
            "login" => Some(LadderCustomerKind::Login),
            _ => None,
        }
    }
}

/// How an entry reached the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderCustomerSource {
    /// A CSV or list uploaded by an admin.
    Import,
    /// A subscriber identified themselves to the bot.
    Bot,
    /// The REST API.
    Api,
}

impl LadderCustomerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LadderCustomerSource::Import => "import",
            LadderCustomerSource::Bot => "bot",
            LadderCustomerSource::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "import" => Some(LadderCustomerSource::Import),
            "bot" => Some(LadderCustomerSource::Bot),
            "api" => Some(LadderCustomerSource::Api),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLadderCustomer {
    /// The CPF/CNPJ's bare characters or the login, as the engine normalised it.
    pub entry: String,
    pub kind: LadderCustomerKind,
    pub source: LadderCustomerSource,
}

/// An entry of the customer list with its cached lookup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LadderCustomer {
    pub entry: String,
    pub kind: LadderCustomerKind,
    pub source: LadderCustomerSource,
    pub added_at: Millis,
    /// The system's `balcao_erp::Customer` as JSON, from the last lookup that found it.
    pub customer: Option<Value>,
    /// When a lookup last answered (found or not found).
    pub resolved_at: Option<Millis>,
    /// When a lookup was last tried, whatever the outcome; `None`: never.
    pub attempted_at: Option<Millis>,
    /// Why the last lookup did not find the customer (pt-BR); `None` after a success.
    pub last_error: Option<String>,
}

/// The outcome of looking an entry up in the management system.
#[derive(Clone, Debug, PartialEq)]
pub enum LadderCustomerLookup {
    /// Caches the customer (JSON), clears the error.
    Found(Value),
    /// The system answered that nobody matches: clears the cached customer, keeps the reason.
    NotFound(String),
    /// The lookup failed (system down, refused...): keeps the cached customer, records why.
    Failed(String),
}

/// How the customer list stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderCustomerCounts {
    pub total: u64,
    /// With a cached customer.
    pub resolved: u64,
    /// Whose last lookup failed or found nobody.
    pub with_error: u64,
    /// Never looked up yet.
    pub pending: u64,
}

/// Where the open receivables are: the places an admin may pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderPlaceKind {
    City,
    Region,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderPlace {
    pub kind: LadderPlaceKind,
    /// As the management system writes it.
    pub name: String,
    /// Open (unpaid, still listed) invoices in the snapshot there.
    pub open_invoices: u64,
}

#[async_trait]
pub trait LadderSettingsStore: Send + Sync + 'static {
    /// The workspace's saved ladder settings; `None` until first saved.
    async fn ladder_settings(&self, workspace: WorkspaceId)
    -> Result<Option<StoredLadderSettings>>;

    /// Replaces the workspace's ladder settings (validated by the caller).
    async fn save_ladder_settings(
        &self,
        workspace: WorkspaceId,
        settings: &Value,
        updated_by: Option<&str>,
        now: Millis,
    ) -> Result<()>;

    /// Adds entries to the customer list in ONE transaction, with `added_at = now`. An entry
    /// already listed (or repeated in `customers`) is left as it is. Returns how many are new.
    async fn add_ladder_customers(
        &self,
        workspace: WorkspaceId,
        customers: &[NewLadderCustomer],
        now: Millis,
    ) -> Result<u64>;

    /// Removes entries; unknown ones are ignored. Returns how many were removed.
    async fn remove_ladder_customers(
        &self,
        workspace: WorkspaceId,
        entries: &[String],
    ) -> Result<u64>;

    /// Empties the workspace's customer list. Returns how many were removed.
    async fn clear_ladder_customers(&self, workspace: WorkspaceId) -> Result<u64>;

    /// Entries ordered by `entry` (byte order), strictly after `after`, at most `limit`.
    async fn ladder_customers_page(
        &self,
        workspace: WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LadderCustomer>>;

    async fn ladder_customer_counts(&self, workspace: WorkspaceId) -> Result<LadderCustomerCounts>;

    /// Records a lookup's outcome on an entry (see [`LadderCustomerLookup`]), setting
    /// `attempted_at = now` (and `resolved_at = now` when the system answered). Returns `false`
    /// when the entry is not listed (removed meanwhile): nothing is written.
    async fn record_ladder_customer_lookup(
        &self,
        workspace: WorkspaceId,
        entry: &str,
        lookup: &LadderCustomerLookup,
        now: Millis,
    ) -> Result<bool>;

    /// The cities and regions of the open snapshot rows (not paid, not removed), most open
    /// invoices first (then by name), at most `limit` of each kind.
    async fn ladder_places(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<LadderPlace>>;
}
