//! Per-workspace billing-ladder settings and the customer list of systems that cannot list
//! receivables in bulk.
//!
//! - **Settings**: a workspace may save its own [`PlanConfig`] (ladders, segment rules, paused
//!   regions, legal hours); it replaces the configuration file's for that workspace. A config
//!   is validated ([`Planner::new`]) before it is saved and again each time it is read, so
//!   settings that stopped being valid (a newer Balcão with a stricter rule) never reach the
//!   planner: [`plan_config_for`] fails instead, and the runner skips the workspace (falling back
//!   to the default ladder could message a region the provider paused).
//! - **Customer list**: MK-Auth, Voalle and RadiusNet answer titles only per CPF/CNPJ (or login)
//!   and list no customers ([`ErpAdapter::lists_receivables_in_bulk`] is `false`), so the
//!   provider lists whom the ladder follows. [`sync_customers`] turns that list into the
//!   `Customer`s to pass to `ErpAdapter::receivables`, looking up only new, stale or failed
//!   entries, at most a budget per run (Voalle allows ~30 requests a minute), and caching each
//!   answer in the store.
//!
//! The pure parts — reading a config, reading a CSV or list of CPF/CNPJ and logins, deciding
//! which entries to look up — take plain values and are tested as such.

use balcao_domain::br::Document;
use balcao_domain::{Millis, WorkspaceId};
use balcao_erp::{Customer, ErpAdapter, ErpError, System};
use balcao_store::{
    LadderCustomer, LadderCustomerKind, LadderCustomerLookup, LadderCustomerSource,
    NewLadderCustomer, Store, StoreError,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub use balcao_ladder as rules;
pub use balcao_ladder::{PlanConfig, Planner};

/// A found customer is looked up again after this long (names, phones and documents change
/// rarely; the receivables listing itself is read fresh every run).
pub const REFRESH_FOUND_AFTER_MS: Millis = 7 * 24 * 3_600_000;
/// An entry the system did not know is asked again after this long (it may be registered later).
pub const RETRY_NOT_FOUND_AFTER_MS: Millis = 24 * 3_600_000;
/// A lookup that failed (system down, refused) is tried again after this long.
pub const RETRY_FAILED_AFTER_MS: Millis = 3_600_000;
/// Entries read per page while syncing.
const PAGE: u32 = 1_000;
/// Longest login accepted in a list.
const MAX_LOGIN_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum LadderSettingsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The settings are not a valid ladder configuration (pt-BR, shown as is).
    #[error("{0}")]
    Invalid(String),
}

// ---- settings ---------------------------------------------------------------------------------

/// Reads and validates ladder settings sent or stored as JSON. The error is pt-BR, ready to
/// show: a JSON shape problem ("falta o campo `ladders`") or the planner's rule
/// ("o aviso de suspensão \"d+10\" não traz o que a Anatel exige...").
pub fn parse_plan_config(value: &Value) -> Result<PlanConfig, String> {
    let config: PlanConfig = serde_json::from_value(value.clone())
        .map_err(|e| format!("configuração da régua inválida: {}", serde_message_pt(&e)))?;
    validate(&config)?;
    Ok(config)
}

/// The planner's validation of a config (every ladder, rule and threshold), pt-BR.
pub fn validate(config: &PlanConfig) -> Result<(), String> {
    Planner::new(config).map(|_| ()).map_err(|e| e.to_string())
}

/// serde's English wording in pt-BR for the usual shape problems (the field and value names
/// stay as written).
fn serde_message_pt(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let (text, position) = match (error.line(), text.rfind(" at line ")) {
        (line, Some(at)) if line > 0 => (
            text[..at].to_owned(),
            format!(" (linha {line}, coluna {})", error.column()),
        ),
        _ => (text, String::new()),
    };
    let translated = if let Some(rest) = text.strip_prefix("missing field ") {
        format!("falta o campo {rest}")
    } else if let Some(rest) = text.strip_prefix("unknown variant ") {
        format!(
            "valor desconhecido {}",
            rest.replace(", expected one of ", "; use um destes: ")
                .replace(", expected ", "; esperado ")
        )
    } else if let Some(rest) = text.strip_prefix("invalid type: ") {
        format!("tipo inválido: {}", rest.replace(", expected ", "; esperado "))
    } else if let Some(rest) = text.strip_prefix("invalid value: ") {
        format!("valor inválido: {}", rest.replace(", expected ", "; esperado "))
    } else if let Some(rest) = text.strip_prefix("invalid length ") {
        format!("tamanho inválido {}", rest.replace(", expected ", "; esperado "))
    } else if let Some(rest) = text.strip_prefix("duplicate field ") {
        format!("campo repetido {rest}")
    } else {
        text
    };
    format!("{translated}{position}")
}

/// The configuration a workspace's ladder runs with: its saved settings, else `fallback` (the
/// configuration file's). Saved settings that no longer validate are an error, never the
/// fallback.
pub async fn plan_config_for(
    store: &dyn Store,
    workspace: WorkspaceId,
    fallback: &PlanConfig,
) -> Result<PlanConfig, LadderSettingsError> {
    match store.ladder_settings(workspace).await? {
        None => Ok(fallback.clone()),
        Some(stored) => parse_plan_config(&stored.settings).map_err(|e| {
            LadderSettingsError::Invalid(format!("régua salva do workspace inválida: {e}"))
        }),
    }
}

/// Validates and saves a workspace's ladder settings; `who` is recorded with them.
pub async fn save_plan_config(
    store: &dyn Store,
    workspace: WorkspaceId,
    config: &PlanConfig,
    who: Option<&str>,
    now: Millis,
) -> Result<(), LadderSettingsError> {
    validate(config).map_err(LadderSettingsError::Invalid)?;
    let value = serde_json::to_value(config).expect("a PlanConfig serialises");
    store
        .save_ladder_settings(workspace, &value, who, now)
        .await?;
    Ok(())
}

// ---- the customer list: reading what a provider uploads ---------------------------------------

/// One entry read from a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerEntry {
    /// The CPF/CNPJ's bare characters, or the login as written.
    pub entry: String,
    pub kind: LadderCustomerKind,
}

/// A line that could not be read, for the provider to fix.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InvalidLine {
    /// 1-based: the file's line, or the list's position.
    pub line: usize,
    pub text: String,
    /// pt-BR.
    pub error: String,
}

/// What a list holds: the entries in order (repeats removed) and the lines refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedCustomerList {
    pub entries: Vec<CustomerEntry>,
    pub invalid: Vec<InvalidLine>,
    /// Entries that appeared more than once.
    pub repeated: usize,
}

/// Whether the system finds a customer by login (`ErpAdapter::find_customer_by_login`).
pub fn resolves_logins(system: System) -> bool {
    system == System::MkAuth
}

/// Reads one entry: a CPF/CNPJ (masked or not; the check digits must be right) or a login.
/// `Ok(None)` for an empty entry. `system`, when known, refuses logins it cannot look up.
pub fn parse_customer_entry(
    text: &str,
    system: Option<System>,
) -> Result<Option<CustomerEntry>, String> {
    let text = text.trim().trim_matches('"').trim();
    if text.is_empty() {
        return Ok(None);
    }
    let unmasked: String = text
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '/' | ' '))
        .collect();
    let looks_like_document = unmasked.chars().all(|c| c.is_ascii_digit())
        || (text.contains('/') && unmasked.len() == 14);
    if looks_like_document {
        return Document::parse(text)
            .map(|d| {
                Some(CustomerEntry {
                    entry: d.as_str().to_owned(),
                    kind: LadderCustomerKind::Document,
                })
            })
            .map_err(|e| e.to_string());
    }
    let valid_login = text.chars().count() <= MAX_LOGIN_CHARS
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if !valid_login {
        return Err(format!(
            "não é um CPF/CNPJ nem um login válido (login: até {MAX_LOGIN_CHARS} letras, números, ponto, _, -, @ ou +, sem espaços)"
        ));
    }
    if let Some(system) = system
        && !resolves_logins(system)
    {
        return Err(format!(
            "não é um CPF/CNPJ, e o {} não busca clientes por login: use o CPF/CNPJ",
            system.display_name()
        ));
    }
    Ok(Some(CustomerEntry {
        entry: text.to_owned(),
        kind: LadderCustomerKind::Login,
    }))
}

/// First cells a header line may have ("cpf", "documento", "login"...).
fn is_header(cell: &str) -> bool {
    let folded = cell.trim().trim_matches('"').to_lowercase();
    matches!(
        folded.as_str(),
        "cpf"
            | "cnpj"
            | "cpf/cnpj"
            | "cpf_cnpj"
            | "cpf ou cnpj"
            | "documento"
            | "document"
            | "login"
            | "cliente"
            | "customer"
    )
}

/// Reads a CSV (or plain text): one CPF/CNPJ or login per line, in the first column (`,` `;` or
/// tab separate columns); blank lines and a header line are skipped. Line numbers are the
/// file's.
pub fn parse_customer_csv(text: &str, system: Option<System>) -> ParsedCustomerList {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut header_possible = true;
    let cells = text.lines().enumerate().filter_map(|(index, line)| {
        let cell = line.split([',', ';', '\t']).next().unwrap_or("");
        if cell.trim().is_empty() {
            return None;
        }
        let header = header_possible && is_header(cell);
        header_possible = false;
        (!header).then(|| (index + 1, cell))
    });
    collect(cells, system)
}

/// Reads a JSON list of CPF/CNPJ or logins; positions are 1-based.
pub fn parse_customer_list(items: &[String], system: Option<System>) -> ParsedCustomerList {
    collect(
        items
            .iter()
            .enumerate()
            .map(|(index, item)| (index + 1, item.as_str())),
        system,
    )
}

fn collect<'a>(
    cells: impl Iterator<Item = (usize, &'a str)>,
    system: Option<System>,
) -> ParsedCustomerList {
    let mut parsed = ParsedCustomerList::default();
    let mut seen = std::collections::HashSet::new();
    for (line, cell) in cells {
        match parse_customer_entry(cell, system) {
            Ok(Some(entry)) => {
                if seen.insert(entry.entry.clone()) {
                    parsed.entries.push(entry);
                } else {
                    parsed.repeated += 1;
                }
            }
            Ok(None) => {}
            Err(error) => parsed.invalid.push(InvalidLine {
                line,
                text: cell.trim().chars().take(80).collect(),
                error,
            }),
        }
    }
    parsed
}

/// Adds entries to the workspace's list (one transaction). Returns how many are new.
pub async fn add_customers(
    store: &dyn Store,
    workspace: WorkspaceId,
    entries: &[CustomerEntry],
    source: LadderCustomerSource,
    now: Millis,
) -> Result<u64, StoreError> {
    let news: Vec<NewLadderCustomer> = entries
        .iter()
        .map(|e| NewLadderCustomer {
            entry: e.entry.clone(),
            kind: e.kind,
            source,
        })
        .collect();
    store.add_ladder_customers(workspace, &news, now).await
}

// ---- the customer list: resolving it against the management system -----------------------------

/// How many entries one run may look up in `system`: a third of what the system's rate allows
/// in a run's interval for Voalle (the rest stays for the receivables and payment polls), a
/// generous fixed number elsewhere. At least one.
pub fn lookup_budget(system: System, run_interval: Duration) -> usize {
    match system {
        System::Voalle => {
            let per_minute = balcao_erp::adapters::voalle::VOALLE_RATE_LIMIT.per_minute as u64;
            let minutes = run_interval.as_secs() / 60;
            usize::try_from(per_minute * minutes / 3)
                .unwrap_or(usize::MAX)
                .max(1)
        }
        _ => 1_000,
    }
}

/// The cached customer of an entry, when it is usable with `system`.
pub fn cached_customer(entry: &LadderCustomer, system: System) -> Option<Customer> {
    let customer: Customer = serde_json::from_value(entry.customer.clone()?).ok()?;
    (customer.system == system).then_some(customer)
}

/// Whether an entry should be looked up at `now`, and how urgently: `Some((rank, since))`,
/// lower ranks first, then the oldest attempt. Never tried, or cached for another system (the
/// provider switched systems): rank 0. Failed or not found, past its retry time: rank 1. Found
/// but older than [`REFRESH_FOUND_AFTER_MS`]: rank 2.
pub fn lookup_due(entry: &LadderCustomer, system: System, now: Millis) -> Option<(u8, Millis)> {
    let Some(attempted) = entry.attempted_at else {
        return Some((0, Millis::MIN));
    };
    if entry.last_error.is_none() && entry.customer.is_some() {
        if cached_customer(entry, system).is_none() {
            return Some((0, attempted));
        }
        let resolved = entry.resolved_at.unwrap_or(attempted);
        return (now - resolved >= REFRESH_FOUND_AFTER_MS).then_some((2, attempted));
    }
    // Not found is an answer (resolved at the attempt); a failure left `resolved_at` behind.
    let not_found = entry.customer.is_none() && entry.resolved_at == Some(attempted);
    let wait = if not_found {
        RETRY_NOT_FOUND_AFTER_MS
    } else {
        RETRY_FAILED_AFTER_MS
    };
    (now - attempted >= wait).then_some((1, attempted))
}

/// The customers to pass to `adapter.receivables(from, until, &customers)`.
///
/// Systems that list receivables in bulk need none: an empty list, without touching the store.
/// Otherwise every entry of the workspace's list with a usable cached customer, plus the
/// entries looked up now — at most `budget` of them, the most urgent first (see
/// [`lookup_due`]) — each answer cached. An outage (timeout, system down, rate limit, refused
/// credentials) stops the lookups for this run; the customers known so far are still returned.
/// Ordered by the system's customer id, each once.
pub async fn sync_customers(
    store: &dyn Store,
    adapter: &dyn ErpAdapter,
    workspace: WorkspaceId,
    now: Millis,
    budget: usize,
) -> Result<Vec<Customer>, LadderSettingsError> {
    if adapter.lists_receivables_in_bulk() {
        return Ok(Vec::new());
    }
    let system = adapter.system();
    let mut known: BTreeMap<String, Customer> = BTreeMap::new();
    // (rank, since, entry, kind); the whole list is read anyway for the cached customers.
    let mut due: Vec<(u8, Millis, String, LadderCustomerKind)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .ladder_customers_page(workspace, after.as_deref(), PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.entry.clone());
        for entry in &page {
            if let Some(customer) = cached_customer(entry, system) {
                known.insert(customer.erp_id.clone(), customer);
            }
            if let Some((rank, since)) = lookup_due(entry, system, now) {
                due.push((rank, since, entry.entry.clone(), entry.kind));
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    due.sort_unstable();
    due.truncate(budget);

    let mut looked_up = 0usize;
    for (_, _, entry, kind) in due {
        let answer = match kind {
            LadderCustomerKind::Document => match Document::parse(&entry) {
                Ok(document) => adapter.find_customer_by_document(&document).await,
                Err(e) => Err(ErpError::Config(e.to_string())),
            },
            LadderCustomerKind::Login => adapter.find_customer_by_login(&entry).await,
        };
        looked_up += 1;
        let (lookup, stop) = match answer {
            Ok(Some(customer)) => {
                let json = serde_json::to_value(&customer).expect("a Customer serialises");
                known.insert(customer.erp_id.clone(), customer);
                (LadderCustomerLookup::Found(json), false)
            }
            Ok(None) | Err(ErpError::NotFound) => (
                LadderCustomerLookup::NotFound(format!(
                    "não encontrado no {}",
                    system.display_name()
                )),
                false,
            ),
            Err(ErpError::NotSupported { .. }) => (
                LadderCustomerLookup::Failed(format!(
                    "o {} não busca clientes por login: use o CPF/CNPJ",
                    system.display_name()
                )),
                false,
            ),
            Err(error) => {
                let outage = error.is_transient()
                    || matches!(error, ErpError::Unauthorized | ErpError::Config(_))
                        && kind == LadderCustomerKind::Login
                    || matches!(error, ErpError::Unauthorized);
                (LadderCustomerLookup::Failed(error.to_string()), outage)
            }
        };
        store
            .record_ladder_customer_lookup(workspace, &entry, &lookup, now)
            .await?;
        if stop {
            tracing::warn!(
                workspace = workspace.0,
                system = %system,
                looked_up,
                "ladder customer lookups stopped for this run: the management system is failing"
            );
            break;
        }
    }
    if looked_up > 0 {
        tracing::info!(
            workspace = workspace.0,
            system = %system,
            looked_up,
            customers = known.len(),
            "ladder customer list synced"
        );
    }
    Ok(known.into_values().collect())
}
