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
    LadderPlaceKind, NewLadderCustomer, Store, StoreError,
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
        format!(
            "tipo inválido: {}",
            rest.replace(", expected ", "; esperado ")
        )
    } else if let Some(rest) = text.strip_prefix("invalid value: ") {
        format!(
            "valor inválido: {}",
            rest.replace(", expected ", "; esperado ")
        )
    } else if let Some(rest) = text.strip_prefix("invalid length ") {
        format!(
            "tamanho inválido {}",
            rest.replace(", expected ", "; esperado ")
        )
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

/// Puts a city or region on hold (an outage): `true` when it was not paused yet (names compare
/// ignoring case, accents and spaces, as the planner does).
pub fn pause_place(config: &mut PlanConfig, kind: LadderPlaceKind, name: &str) -> bool {
    let name = name.trim();
    let list = paused_list(config, kind);
    if name.is_empty() || list.iter().any(|p| rules::segment::same_place(p, name)) {
        return false;
    }
    list.push(name.to_owned());
    true
}

/// Lifts the hold on a city or region: `true` when it was paused.
pub fn resume_place(config: &mut PlanConfig, kind: LadderPlaceKind, name: &str) -> bool {
    let list = paused_list(config, kind);
    let before = list.len();
    list.retain(|p| !rules::segment::same_place(p, name));
    list.len() != before
}

fn paused_list(config: &mut PlanConfig, kind: LadderPlaceKind) -> &mut Vec<String> {
    match kind {
        LadderPlaceKind::City => &mut config.paused.cities,
        LadderPlaceKind::Region => &mut config.paused.regions,
    }
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
    due.sort_unstable_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    due.truncate(budget);

    let mut looked_up = 0usize;
    for (_, _, entry, kind) in due {
        let answer = match kind {
            LadderCustomerKind::Document => match Document::parse(&entry) {
                Ok(document) => Some(adapter.find_customer_by_document(&document).await),
                Err(_) => None,
            },
            LadderCustomerKind::Login => Some(adapter.find_customer_by_login(&entry).await),
        };
        let Some(answer) = answer else {
            // Entries are stored normalised; one that is not is reported, never sent out.
            store
                .record_ladder_customer_lookup(
                    workspace,
                    &entry,
                    &LadderCustomerLookup::Failed("CPF/CNPJ inválido na lista".into()),
                    now,
                )
                .await?;
            continue;
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
                // The next lookups would fail the same way (and spend the system's rate).
                let outage = error.is_transient()
                    || matches!(error, ErpError::Unauthorized | ErpError::Config(_));
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use balcao_domain::br::BrPhone;
    use balcao_erp::{
        ConnectionStatus, Contract, Invoice, NewTicket, PaymentEvent, Ticket, UnlockResult,
    };
    use balcao_ladder::{Param, StepKind};
    use balcao_store::{LadderCustomerCounts, LadderSettingsStore, NewWorkspace};
    use balcao_store_sqlite::SqliteStore;
    use jiff::civil::Date;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Mutex;

    const T0: Millis = 1_780_000_000_000;
    const CPF_A: &str = "52998224725";
    const CPF_B: &str = "39053344705";
    const CPF_UNKNOWN: &str = "11144477735";
    const CNPJ: &str = "11222333000181";

    // ---- settings ----------------------------------------------------------------------------

    #[test]
    fn a_valid_config_round_trips_and_an_invalid_one_says_why_in_portuguese() {
        let config = PlanConfig::default();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(parse_plan_config(&json).unwrap(), config);

        // A suspension notice without RGC art. 71's content.
        let mut broken = config.clone();
        let notice = broken
            .ladders
            .get_mut(balcao_ladder::plan::DEFAULT_LADDER)
            .unwrap()
            .steps
            .iter_mut()
            .find(|s| s.kind == StepKind::SuspensionNotice)
            .unwrap();
        notice
            .template
            .params
            .retain(|p| *p != Param::RestorationTime);
        let error = parse_plan_config(&serde_json::to_value(&broken).unwrap()).unwrap_err();
        assert!(error.contains("RGC art. 71"), "{error}");
        assert!(error.contains("prazo de religação"), "{error}");
    }

    #[test]
    fn shape_problems_are_worded_in_portuguese() {
        let error = parse_plan_config(&json!({"default_ladder": "padrao"})).unwrap_err();
        assert_eq!(
            error,
            "configuração da régua inválida: falta o campo `ladders`"
        );
        let mut json = serde_json::to_value(PlanConfig::default()).unwrap();
        json["ladders"]["padrao"]["steps"][0]["kind"] = json!("lembrete");
        let error = parse_plan_config(&json).unwrap_err();
        assert!(
            error.starts_with("configuração da régua inválida: valor desconhecido `lembrete`; use um destes: `informative`"),
            "{error}"
        );
        json["ladders"]["padrao"]["steps"][0]["kind"] = json!(3);
        let error = parse_plan_config(&json).unwrap_err();
        assert!(error.contains("tipo inválido"), "{error}");
        // Legal hours carry their own pt-BR errors.
        let mut json = serde_json::to_value(PlanConfig::default()).unwrap();
        json["legal"]["time_zone"] = json!("America/Atlantida");
        let error = parse_plan_config(&json).unwrap_err();
        assert!(error.contains("fuso horário desconhecido"), "{error}");
    }

    #[test]
    fn regions_pause_and_resume_whatever_the_spelling() {
        let mut config = PlanConfig::default();
        assert!(pause_place(
            &mut config,
            LadderPlaceKind::City,
            " São Paulo "
        ));
        assert!(!pause_place(
            &mut config,
            LadderPlaceKind::City,
            "sao paulo"
        ));
        assert!(pause_place(
            &mut config,
            LadderPlaceKind::Region,
            "Zona Norte"
        ));
        assert!(!pause_place(&mut config, LadderPlaceKind::Region, "  "));
        assert_eq!(config.paused.cities, ["São Paulo"]);
        assert_eq!(config.paused.regions, ["Zona Norte"]);
        validate(&config).unwrap();
        assert!(resume_place(
            &mut config,
            LadderPlaceKind::City,
            "SAO PAULO"
        ));
        assert!(!resume_place(
            &mut config,
            LadderPlaceKind::City,
            "São Paulo"
        ));
        assert!(config.paused.cities.is_empty());
        assert_eq!(config.paused.regions, ["Zona Norte"]);
    }

    // ---- customer lists ----------------------------------------------------------------------

    #[test]
    fn entries_are_documents_or_logins() {
        let doc = |t: &str| parse_customer_entry(t, None).unwrap().unwrap();
        assert_eq!(
            doc("529.982.247-25"),
            CustomerEntry {
                entry: CPF_A.into(),
                kind: LadderCustomerKind::Document
            }
        );
        assert_eq!(doc(" \"11.222.333/0001-81\" ").entry, CNPJ);
        assert_eq!(doc("12.abc.345/01de-35").entry, "12ABC34501DE35");
        assert_eq!(
            doc("joao.silva"),
            CustomerEntry {
                entry: "joao.silva".into(),
                kind: LadderCustomerKind::Login
            }
        );
        assert_eq!(parse_customer_entry("   ", None), Ok(None));
        // Digits are always a document: a wrong check digit is reported, never taken as a login.
        let error = parse_customer_entry("529.982.247-26", None).unwrap_err();
        assert!(error.contains("dígito verificador"), "{error}");
        let error = parse_customer_entry("5299822", None).unwrap_err();
        assert!(error.contains("11 dígitos"), "{error}");
        assert!(parse_customer_entry("joão da silva", None).is_err());
        // Only MK-Auth looks customers up by login.
        assert!(parse_customer_entry("pedro", Some(System::MkAuth)).is_ok());
        let error = parse_customer_entry("pedro", Some(System::Voalle)).unwrap_err();
        assert!(
            error.contains("Voalle não busca clientes por login"),
            "{error}"
        );
        assert!(parse_customer_entry(CPF_A, Some(System::Voalle)).is_ok());
    }

    #[test]
    fn a_csv_reports_bad_lines_by_number_and_skips_header_blanks_and_repeats() {
        let csv = "\u{feff}CPF;nome\n529.982.247-25;Maria\n\n390.533.447-05,João\n123.456.789-00;Zé\n52998224725;de novo\nmaria.login\n";
        let parsed = parse_customer_csv(csv, Some(System::MkAuth));
        assert_eq!(
            parsed
                .entries
                .iter()
                .map(|e| e.entry.as_str())
                .collect::<Vec<_>>(),
            [CPF_A, CPF_B, "maria.login"]
        );
        assert_eq!(parsed.repeated, 1);
        assert_eq!(parsed.invalid.len(), 1);
        assert_eq!(parsed.invalid[0].line, 5);
        assert_eq!(parsed.invalid[0].text, "123.456.789-00");
        assert!(parsed.invalid[0].error.contains("CPF inválido"));
        // A first line that is data is not a header.
        let parsed = parse_customer_csv("52998224725\n39053344705", None);
        assert_eq!(parsed.entries.len(), 2);
        let listed = parse_customer_list(&[CPF_A.into(), "".into(), "x y".into()], None);
        assert_eq!(listed.entries.len(), 1);
        assert_eq!(listed.invalid[0].line, 3);
    }

    // ---- which entries to look up ------------------------------------------------------------

    fn entry(attempted: Option<Millis>) -> LadderCustomer {
        LadderCustomer {
            entry: CPF_A.into(),
            kind: LadderCustomerKind::Document,
            source: LadderCustomerSource::Import,
            added_at: T0,
            customer: None,
            resolved_at: None,
            attempted_at: attempted,
            last_error: None,
        }
    }

    fn customer(system: System, id: &str) -> Customer {
        Customer {
            system,
            erp_id: id.into(),
            document: None,
            name: format!("Cliente {id}"),
            phones: vec![],
            emails: vec![],
        }
    }

    #[test]
    fn lookups_are_due_when_new_stale_or_failed_long_enough() {
        let now = T0 + 30 * 24 * 3_600_000;
        assert_eq!(
            lookup_due(&entry(None), System::Voalle, now),
            Some((0, Millis::MIN))
        );

        let mut found = entry(Some(now - 1_000));
        found.customer = Some(serde_json::to_value(customer(System::Voalle, "7")).unwrap());
        found.resolved_at = found.attempted_at;
        assert_eq!(lookup_due(&found, System::Voalle, now), None, "fresh");
        assert_eq!(
            lookup_due(&found, System::MkAuth, now),
            Some((0, now - 1_000)),
            "cached for another system"
        );
        found.resolved_at = Some(now - REFRESH_FOUND_AFTER_MS);
        found.attempted_at = found.resolved_at;
        assert_eq!(
            lookup_due(&found, System::Voalle, now),
            Some((2, now - REFRESH_FOUND_AFTER_MS))
        );

        let mut not_found = entry(Some(now - RETRY_NOT_FOUND_AFTER_MS + 1));
        not_found.resolved_at = not_found.attempted_at;
        not_found.last_error = Some("não encontrado".into());
        assert_eq!(lookup_due(&not_found, System::Voalle, now), None);
        not_found.attempted_at = Some(now - RETRY_NOT_FOUND_AFTER_MS);
        not_found.resolved_at = not_found.attempted_at;
        assert!(lookup_due(&not_found, System::Voalle, now).is_some());

        let mut failed = entry(Some(now - RETRY_FAILED_AFTER_MS + 1));
        failed.last_error = Some("fora do ar".into());
        assert_eq!(lookup_due(&failed, System::Voalle, now), None);
        failed.attempted_at = Some(now - RETRY_FAILED_AFTER_MS);
        assert_eq!(
            lookup_due(&failed, System::Voalle, now),
            Some((1, now - RETRY_FAILED_AFTER_MS))
        );
    }

    #[test]
    fn voalle_gets_a_budget_under_its_rate() {
        let quarter_hour = Duration::from_secs(15 * 60);
        let voalle = lookup_budget(System::Voalle, quarter_hour);
        assert!((1..=15 * 30 / 2).contains(&voalle), "{voalle}");
        assert_eq!(lookup_budget(System::Voalle, Duration::from_secs(1)), 1);
        assert!(lookup_budget(System::MkAuth, quarter_hour) > voalle);
    }

    // ---- against a store and a scripted system -------------------------------------------------

    /// A per-customer system: knows some documents and logins, counts lookups, can be down.
    struct ScriptedErp {
        system: System,
        bulk: bool,
        by_document: HashMap<String, Customer>,
        by_login: HashMap<String, Customer>,
        lookups: Mutex<Vec<String>>,
        down: Mutex<bool>,
    }

    impl ScriptedErp {
        fn new(system: System, bulk: bool) -> Self {
            let mut by_document = HashMap::new();
            by_document.insert(CPF_A.to_owned(), customer(system, "100"));
            by_document.insert(CPF_B.to_owned(), customer(system, "200"));
            by_document.insert(CNPJ.to_owned(), customer(system, "300"));
            let mut by_login = HashMap::new();
            // The same customer as CPF_A: returned once.
            by_login.insert("maria".to_owned(), customer(system, "100"));
            ScriptedErp {
                system,
                bulk,
                by_document,
                by_login,
                lookups: Mutex::new(Vec::new()),
                down: Mutex::new(false),
            }
        }

        fn lookups(&self) -> Vec<String> {
            self.lookups.lock().unwrap().clone()
        }

        fn answer(
            &self,
            key: &str,
            table: &HashMap<String, Customer>,
        ) -> Result<Option<Customer>, ErpError> {
            self.lookups.lock().unwrap().push(key.to_owned());
            if *self.down.lock().unwrap() {
                return Err(ErpError::Timeout);
            }
            Ok(table.get(key).cloned())
        }
    }

    fn unused<T>() -> Result<T, ErpError> {
        Err(ErpError::Unavailable("não usado no teste".into()))
    }

    #[async_trait]
    impl ErpAdapter for ScriptedErp {
        fn system(&self) -> System {
            self.system
        }
        fn lists_receivables_in_bulk(&self) -> bool {
            self.bulk
        }
        async fn find_customer_by_document(
            &self,
            document: &Document,
        ) -> Result<Option<Customer>, ErpError> {
            self.answer(document.as_str(), &self.by_document)
        }
        async fn find_customer_by_login(&self, login: &str) -> Result<Option<Customer>, ErpError> {
            if self.system != System::MkAuth {
                return Err(ErpError::not_supported(
                    balcao_erp::Operation::FindCustomerByLogin,
                ));
            }
            self.answer(login, &self.by_login)
        }
        async fn find_customers_by_phone(&self, _: &BrPhone) -> Result<Vec<Customer>, ErpError> {
            unused()
        }
        async fn contracts(&self, _: &Customer) -> Result<Vec<Contract>, ErpError> {
            unused()
        }
        async fn open_invoices(&self, _: &Customer) -> Result<Vec<Invoice>, ErpError> {
            unused()
        }
        async fn invoice(&self, _: &Customer, _: &str) -> Result<Invoice, ErpError> {
            unused()
        }
        async fn invoice_pdf(&self, _: &Invoice) -> Result<Vec<u8>, ErpError> {
            unused()
        }
        async fn trust_unlock(&self, _: &Contract) -> Result<UnlockResult, ErpError> {
            unused()
        }
        async fn connection_status(&self, _: &Contract) -> Result<ConnectionStatus, ErpError> {
            unused()
        }
        async fn open_ticket(&self, _: &NewTicket) -> Result<Ticket, ErpError> {
            unused()
        }
        async fn payments_between(
            &self,
            _: Date,
            _: Date,
            _: &[Customer],
        ) -> Result<Vec<PaymentEvent>, ErpError> {
            unused()
        }
    }

    async fn store_with_list(entries: &[&str]) -> (SqliteStore, WorkspaceId) {
        let store = SqliteStore::open_in_memory().await.unwrap();
        store.migrate().await.unwrap();
        let ws = store
            .create_workspace(NewWorkspace {
                slug: "prov".into(),
                name: "Provedor".into(),
                time_zone: "America/Sao_Paulo".into(),
            })
            .await
            .unwrap()
            .id;
        let parsed = parse_customer_list(
            &entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>(),
            None,
        );
        assert!(parsed.invalid.is_empty(), "{:?}", parsed.invalid);
        add_customers(
            &store,
            ws,
            &parsed.entries,
            LadderCustomerSource::Import,
            T0,
        )
        .await
        .unwrap();
        (store, ws)
    }

    fn ids(customers: &[Customer]) -> Vec<&str> {
        customers.iter().map(|c| c.erp_id.as_str()).collect()
    }

    #[tokio::test]
    async fn bulk_systems_need_no_customers() {
        let (store, ws) = store_with_list(&[CPF_A]).await;
        let erp = ScriptedErp::new(System::Sgp, true);
        let customers = sync_customers(&store, &erp, ws, T0, 100).await.unwrap();
        assert!(customers.is_empty());
        assert!(erp.lookups().is_empty());
        assert_eq!(store.ladder_customer_counts(ws).await.unwrap().pending, 1);
    }

    #[tokio::test]
    async fn unknown_entries_are_resolved_within_the_budget_then_served_from_cache() {
        let (store, ws) = store_with_list(&[CPF_A, CPF_UNKNOWN, "maria", CPF_B, CNPJ]).await;
        let erp = ScriptedErp::new(System::MkAuth, false);

        // Byte order of the entries: 111… (unknown), 112… (CNPJ), 390…, 529…, maria.
        let first = sync_customers(&store, &erp, ws, T0, 2).await.unwrap();
        assert_eq!(erp.lookups(), [CPF_UNKNOWN, CNPJ]);
        assert_eq!(ids(&first), ["300"]);

        let second = sync_customers(&store, &erp, ws, T0 + 1, 10).await.unwrap();
        assert_eq!(erp.lookups()[2..], [CPF_B, CPF_A, "maria"]);
        assert_eq!(ids(&second), ["100", "200", "300"], "one customer per id");

        // Everything is cached: nothing is asked again until it is due.
        let third = sync_customers(&store, &erp, ws, T0 + 2, 10).await.unwrap();
        assert_eq!(erp.lookups().len(), 5);
        assert_eq!(ids(&third), ["100", "200", "300"]);
        assert_eq!(
            store.ladder_customer_counts(ws).await.unwrap(),
            LadderCustomerCounts {
                total: 5,
                resolved: 4,
                with_error: 1,
                pending: 0
            }
        );
        let page = store.ladder_customers_page(ws, None, 10).await.unwrap();
        let unknown = page.iter().find(|c| c.entry == CPF_UNKNOWN).unwrap();
        assert_eq!(
            unknown.last_error.as_deref(),
            Some("não encontrado no MK-Auth")
        );

        // A day later the unknown one is asked again, the found ones are not.
        sync_customers(&store, &erp, ws, T0 + RETRY_NOT_FOUND_AFTER_MS, 10)
            .await
            .unwrap();
        assert_eq!(erp.lookups()[5..], [CPF_UNKNOWN]);
    }

    #[tokio::test]
    async fn an_outage_stops_the_lookups_but_keeps_the_known_customers() {
        let (store, ws) = store_with_list(&[CPF_A, CPF_B]).await;
        let erp = ScriptedErp::new(System::Voalle, false);
        sync_customers(&store, &erp, ws, T0, 1).await.unwrap();
        assert_eq!(erp.lookups(), [CPF_B]);
        *erp.down.lock().unwrap() = true;
        let customers = sync_customers(&store, &erp, ws, T0 + 1, 10).await.unwrap();
        assert_eq!(
            erp.lookups(),
            [CPF_B, CPF_A],
            "one failed lookup, then it stops"
        );
        assert_eq!(ids(&customers), ["200"]);
        let failed = store
            .ladder_customers_page(ws, None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.entry == CPF_A)
            .unwrap();
        assert_eq!(
            failed.last_error.as_deref(),
            Some("o sistema de gestão não respondeu a tempo")
        );
        // Retried only after the failure's wait.
        *erp.down.lock().unwrap() = false;
        sync_customers(&store, &erp, ws, T0 + 2, 10).await.unwrap();
        assert_eq!(erp.lookups().len(), 2);
        let customers = sync_customers(&store, &erp, ws, T0 + 1 + RETRY_FAILED_AFTER_MS, 10)
            .await
            .unwrap();
        assert_eq!(ids(&customers), ["100", "200"]);
    }

    #[tokio::test]
    async fn logins_on_a_system_without_login_lookup_are_reported() {
        let (store, ws) = store_with_list(&["maria", CPF_A]).await;
        let erp = ScriptedErp::new(System::Voalle, false);
        let customers = sync_customers(&store, &erp, ws, T0, 10).await.unwrap();
        assert_eq!(ids(&customers), ["100"]);
        let maria = store
            .ladder_customers_page(ws, Some(CPF_A), 10)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(
            maria.last_error.as_deref(),
            Some("o Voalle não busca clientes por login: use o CPF/CNPJ")
        );
    }

    #[tokio::test]
    async fn stored_settings_override_the_fallback_and_invalid_ones_never_plan() {
        let (store, ws) = store_with_list(&[]).await;
        let fallback = PlanConfig::default();
        assert_eq!(
            plan_config_for(&store, ws, &fallback).await.unwrap(),
            fallback
        );

        let mut own = PlanConfig::default();
        own.paused.cities = vec!["Franca".into()];
        save_plan_config(&store, ws, &own, Some("Ana"), T0)
            .await
            .unwrap();
        assert_eq!(plan_config_for(&store, ws, &fallback).await.unwrap(), own);
        let stored = store.ladder_settings(ws).await.unwrap().unwrap();
        assert_eq!(stored.updated_by.as_deref(), Some("Ana"));

        // Refused before saving...
        let mut broken = own.clone();
        broken.default_ladder = "inexistente".into();
        assert!(matches!(
            save_plan_config(&store, ws, &broken, None, T0).await,
            Err(LadderSettingsError::Invalid(m)) if m.contains("não existe")
        ));
        // ...and when something invalid is found stored, it is an error, not the fallback.
        store
            .save_ladder_settings(ws, &serde_json::to_value(&broken).unwrap(), None, T0)
            .await
            .unwrap();
        match plan_config_for(&store, ws, &fallback).await {
            Err(LadderSettingsError::Invalid(m)) => {
                assert!(m.contains("régua salva do workspace inválida"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}
