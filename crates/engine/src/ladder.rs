//! The billing ladder's runner: every run it syncs each workspace's receivables from its
//! management system into the store's snapshot, plans with [`balcao_ladder::Planner`] page by
//! page, re-checks each invoice right before its message goes out (never a message about a paid
//! invoice), and queues the template through the outbox with the planned idempotency key — the
//! `ladder_sends` record and the message in ONE transaction, so each (invoice, step) goes out at
//! most once across restarts and nodes. It also reacts to payments (thanks, restoration) and to
//! "SAIR"/"PARAR" or the stop button (opt-out at once).

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use crate::erp::{ErpDirectory, ErpSetupError};
use crate::outbox::{Outbox, OutboxError, SendRequest};
use balcao_domain::br::Brl;
use balcao_domain::outbound::{
    OutboundContent, TemplateComponent, TemplateComponentKind, TemplateMessage, TemplateParameter,
};
use balcao_domain::window::Window;
use balcao_domain::{Millis, NumberId, WaId, WorkspaceId};
use balcao_erp::{
    Contract, ContractStatus, Customer, ErpAdapter, ErpError, Invoice, InvoiceStatus,
};
use balcao_ladder::{Param, PlanConfig, PlannedSend, Planner, SkipReason, Step};
use balcao_store::{
    ConsentChange, LadderReceivable, LadderRecorded, LadderSendStatus, NewLadderSend,
    NewReceivable, Store, StoreError,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// CDC art. 42-A: who is collecting. Filled into every ladder message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BusinessIdentity {
    pub name: String,
    /// Masked, "11.222.333/0001-81".
    pub cnpj: String,
    pub address: String,
}

#[derive(Clone, Debug)]
pub struct LadderConfig {
    /// How often a run happens (every 15 minutes by default).
    pub interval: Duration,
    pub plan: PlanConfig,
    /// Used when a workspace has no identity of its own (the workspace's name fills `name`).
    pub business: BusinessIdentity,
    /// RGC art. 71: how soon service returns after payment, as the notice says it.
    pub restoration_time: String,
    /// Due dates synced: today − `sync_back_days` ..= today + `sync_ahead_days`.
    pub sync_back_days: i64,
    pub sync_ahead_days: i64,
    /// Snapshot rows read per page while planning.
    pub page_size: u32,
    /// Template used for the thank-you outside the 24-hour window.
    pub thanks_template: String,
    /// Template (first name) confirming a restored connection outside the 24-hour window.
    pub restored_template: String,
    /// Answer "SAIR"/"PARAR"/the stop button with a confirmation. Off when the bot runs: the bot
    /// answers the same message (one confirmation, not two); the opt-out is recorded either way.
    pub confirm_opt_out: bool,
}

impl Default for LadderConfig {
    fn default() -> Self {
        LadderConfig {
            interval: Duration::from_secs(15 * 60),
            plan: PlanConfig::default(),
            business: BusinessIdentity::default(),
            restoration_time: "em até 1 hora após a confirmação do pagamento".into(),
            sync_back_days: 30,
            sync_ahead_days: 7,
            page_size: 5000,
            thanks_template: "cobranca_pagamento_confirmado".into(),
            restored_template: "cobranca_conexao_restabelecida".into(),
            confirm_opt_out: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LadderError {
    #[error(transparent)]
    Setup(#[from] ErpSetupError),
    #[error(transparent)]
    Erp(#[from] ErpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("configuração da régua inválida: {0}")]
    Config(#[from] balcao_ladder::ConfigError),
    #[error(transparent)]
    Settings(#[from] crate::ladder_settings::LadderSettingsError),
    #[error("o workspace não tem número de WhatsApp")]
    NoNumber,
}

/// What every message of one run shares.
#[derive(Clone, Copy)]
struct RunScope<'a> {
    workspace: WorkspaceId,
    number: NumberId,
    adapter: &'a dyn ErpAdapter,
    business: &'a BusinessIdentity,
    plan: &'a PlanConfig,
}

/// One planned message, owned (the planner's borrows end with its page).
#[derive(Clone, Debug)]
pub struct PlannedOrder {
    pub row: LadderReceivable,
    pub step: Step,
    pub template: String,
    pub variant: Option<String>,
    pub local_date: Date,
    pub send_not_before: Timestamp,
    pub send_not_after: Timestamp,
    pub idempotency_key: String,
    /// Why (pt-BR), e.g. "D-2: vence em 2 dias, segmento A vencer, pagador regular".
    pub reason: String,
}

/// A step never to be sent (a later one was planned): recorded as handled.
#[derive(Clone, Debug)]
pub struct ObsoleteStep {
    pub invoice_id: String,
    pub customer_id: String,
    pub step_key: String,
    pub superseded_by: String,
    pub local_date: Date,
}

/// What one page of the snapshot planned.
#[derive(Debug, Default)]
pub struct PagePlan {
    pub rows: usize,
    pub sends: Vec<PlannedOrder>,
    pub obsolete: Vec<ObsoleteStep>,
    /// Non-final skips, by [`SkipReason::code`]; a few samples kept for a preview.
    pub skipped: BTreeMap<&'static str, u64>,
    pub skip_samples: Vec<(String, String, String)>,
}

/// Reads a workspace's snapshot page by page and plans each; a customer's invoices always land
/// in the same page (the trailing customer of a full page waits for the next), so the planner's
/// one-per-subscriber choice sees all of them.
pub struct PlanCursor<'a> {
    store: Arc<dyn Store>,
    /// The next page, read while this one is planned (two cores: SQLite reads, we plan).
    prefetch: Option<tokio::task::JoinHandle<Result<Vec<LadderReceivable>, StoreError>>>,
    workspace: WorkspaceId,
    planner: &'a Planner<'a>,
    now: Timestamp,
    page_size: u32,
    after: Option<(String, String)>,
    carry: Vec<LadderReceivable>,
    done: bool,
    /// Skip samples kept per page (a preview shows them; a run keeps none).
    pub samples: usize,
}

impl<'a> PlanCursor<'a> {
    pub fn new(
        store: Arc<dyn Store>,
        workspace: WorkspaceId,
        planner: &'a Planner<'a>,
        now: Millis,
        page_size: u32,
    ) -> Self {
        PlanCursor {
            store,
            prefetch: None,
            workspace,
            planner,
            now: Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH),
            page_size: page_size.max(2),
            after: None,
            carry: Vec::new(),
            done: false,
            samples: 0,
        }
    }

    /// Reads the page after `self.after` on its own task.
    fn read_next(&self) -> tokio::task::JoinHandle<Result<Vec<LadderReceivable>, StoreError>> {
        let (store, workspace, limit) = (self.store.clone(), self.workspace, self.page_size);
        let after = self.after.clone();
        tokio::spawn(async move {
            store
                .ladder_receivables_page(
                    workspace,
                    after.as_ref().map(|(c, i)| (c.as_str(), i.as_str())),
                    limit,
                )
                .await
        })
    }

    pub async fn next_page(&mut self) -> Result<Option<PagePlan>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let read = match self.prefetch.take() {
            Some(read) => read,
            None => self.read_next(),
        };
        let page = read
            .await
            .map_err(|e| StoreError::Database(format!("leitura da régua interrompida: {e}")))??;
        let last_page = page.len() < self.page_size as usize;
        if let Some(last) = page.last() {
            self.after = Some((
                last.receivable.customer_id.clone(),
                last.receivable.invoice_id.clone(),
            ));
        }
        if !last_page {
            self.prefetch = Some(self.read_next());
        }
        let mut batch = std::mem::take(&mut self.carry);
        batch.extend(page);
        if last_page {
            self.done = true;
        } else if let Some(last) = batch.last() {
            let customer = last.receivable.customer_id.clone();
            let split = batch
                .iter()
                .rposition(|r| r.receivable.customer_id != customer)
                .map_or(0, |i| i + 1);
            // A page wholly of one customer is planned as is (a customer with more open
            // invoices than a page is not worth the complexity; one per day still holds
            // through `sent_today`).
            if split > 0 {
                self.carry = batch.split_off(split);
            }
        }
        Ok(Some(plan_rows(
            self.planner,
            self.now,
            &batch,
            self.samples,
        )))
    }
}

/// The planner's view of a snapshot row.
pub fn facts_of(row: &LadderReceivable) -> balcao_ladder::InvoiceFacts {
    let r = &row.receivable;
    balcao_ladder::InvoiceFacts {
        invoice_id: r.invoice_id.clone(),
        customer_id: r.customer_id.clone(),
        contract_id: r.contract_id.clone(),
        due: r.due,
        amount_cents: r.amount_cents,
        person: r.person.unwrap_or(balcao_domain::br::DocumentKind::Cpf),
        plan_value_cents: r.plan_value_cents,
        city: r.city.clone(),
        region: r.region.clone(),
        late_payments_last_12m: r.late_payments_last_12m,
        paid: row.paid,
        suspended: r.suspended,
        opted_out: row.opted_out,
        has_wa_id: r.wa_id.is_some(),
        time_zone: r.time_zone.clone(),
    }
}

/// Plans one page of rows (pure: no IO).
pub fn plan_rows(
    planner: &Planner<'_>,
    now: Timestamp,
    rows: &[LadderReceivable],
    samples: usize,
) -> PagePlan {
    let facts: Vec<balcao_ladder::InvoiceFacts> = rows.iter().map(facts_of).collect();
    let by_invoice: HashMap<&str, &LadderReceivable> = rows
        .iter()
        .map(|r| (r.receivable.invoice_id.as_str(), r))
        .collect();
    let last_sent: HashMap<&str, Option<Date>> = rows
        .iter()
        .map(|r| (r.receivable.customer_id.as_str(), r.last_sent_on))
        .collect();
    let already_sent =
        |invoice: &str, step: &str| by_invoice.get(invoice).is_some_and(|r| r.handled(step));
    let sent_today =
        |customer: &str, day: Date| last_sent.get(customer).is_some_and(|d| *d == Some(day));
    let mut out = PagePlan {
        rows: rows.len(),
        ..Default::default()
    };
    let mut local_dates: Vec<(usize, String)> = Vec::new();
    let sends: Vec<PlannedSend<'_>> =
        planner.plan_with(now, facts.iter(), &already_sent, &sent_today, |skip| {
            if let SkipReason::Obsolete { superseded_by } = skip.reason {
                local_dates.push((out.obsolete.len(), skip.invoice_id().to_owned()));
                out.obsolete.push(ObsoleteStep {
                    invoice_id: skip.invoice_id().to_owned(),
                    customer_id: skip.customer_id().to_owned(),
                    step_key: skip.step_key().to_owned(),
                    superseded_by: superseded_by.to_owned(),
                    local_date: Date::default(),
                });
            } else {
                *out.skipped.entry(skip.reason.code()).or_default() += 1;
                if out.skip_samples.len() < samples {
                    out.skip_samples.push((
                        skip.invoice_id().to_owned(),
                        skip.step_key().to_owned(),
                        skip.reason.to_string(),
                    ));
                }
            }
        });
    for send in &sends {
        let row = by_invoice[send.invoice_id()];
        out.sends.push(PlannedOrder {
            row: row.clone(),
            step: send.step.clone(),
            template: send.template().to_owned(),
            variant: send.variant.map(|v| v.template.clone()),
            local_date: send.local_date,
            send_not_before: send.send_not_before,
            send_not_after: send.send_not_after,
            idempotency_key: send.idempotency_key(),
            reason: send.reason.to_string(),
        });
    }
    // Obsolete steps belong to the day of the send that superseded them.
    let day_of: HashMap<&str, Date> = sends
        .iter()
        .map(|s| (s.invoice_id(), s.local_date))
        .collect();
    for (index, invoice) in local_dates {
        if let Some(day) = day_of.get(invoice.as_str()) {
            out.obsolete[index].local_date = *day;
        }
    }
    out
}

/// A pt_BR template with body parameters only (the payment notices' fallbacks).
fn body_template(name: &str, params: Vec<String>) -> TemplateMessage {
    TemplateMessage {
        name: name.to_owned(),
        language: "pt_BR".into(),
        components: vec![TemplateComponent {
            kind: TemplateComponentKind::Body,
            sub_type: None,
            index: None,
            parameters: params
                .into_iter()
                .map(|text| TemplateParameter::Text { text })
                .collect(),
        }],
    }
}

/// "João" from "JOÃO DA SILVA" (never the full name: the message may be read over a shoulder).
pub fn first_name(full: &str) -> String {
    let word = full.split_whitespace().next().unwrap_or("cliente");
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => "cliente".into(),
    }
}

/// "dd/mm/aaaa".
pub fn br_date(date: Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), date.month(), date.year())
}

/// The WhatsApp id of a phone as the management system writes it ("16992318222", "+55 16 9...").
pub fn wa_id_of_phone(phone: &str) -> Option<WaId> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let full = match digits.len() {
        10 | 11 => format!("55{digits}"),
        12 | 13 if digits.starts_with("55") => digits,
        _ => return None,
    };
    WaId::parse(&full).ok()
}

/// Snapshot row from a management-system receivable. The systems do not say how often a
/// subscriber paid late: unknown counts as one late payment (a regular payer, full ladder).
pub fn receivable_row(r: &balcao_erp::Receivable) -> NewReceivable {
    NewReceivable {
        invoice_id: r.invoice.erp_id.clone(),
        customer_id: r.customer.erp_id.clone(),
        customer_name: r.customer.name.clone(),
        contract_id: r.contract_id.clone(),
        due: r.invoice.due_date,
        amount_cents: r.invoice.amount_due_cents.unwrap_or(r.invoice.amount_cents),
        person: r.customer.document.as_ref().map(|d| d.kind()),
        plan_value_cents: r.plan_value_cents,
        city: r.city.clone(),
        region: None,
        late_payments_last_12m: 1,
        suspended: r.suspended,
        wa_id: r.customer.phones.iter().find_map(|p| wa_id_of_phone(p)),
        time_zone: None,
    }
}

/// Texts that opt out at once (compared without accents, case or surrounding punctuation).
pub fn is_opt_out_text(text: &str) -> bool {
    let t: String = text
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_uppercase();
    matches!(
        t.as_str(),
        "SAIR" | "PARAR" | "STOP" | "PARAR LEMBRETES" | "CANCELAR LEMBRETES"
    )
}

/// Whether a subscriber's text asks to stop the reminders: the exact words ("SAIR", "PARAR"…)
/// or what the bot's default intent matcher reads as an opt-out ("não quero mais receber") —
/// the bot confirms those, so the ladder must record them too.
pub fn asks_to_stop(text: &str) -> bool {
    static MATCHER: std::sync::OnceLock<balcao_intent::Matcher> = std::sync::OnceLock::new();
    is_opt_out_text(text)
        || MATCHER
            .get_or_init(balcao_intent::Matcher::default)
            .classify(text)
            .intent
            == balcao_intent::Intent::OptOut
}

/// The template message of a planned send: body parameters in the step's order, quick-reply
/// payloads `ladder:<action>:<invoice>` for the bot flows.
pub fn build_template(
    order: &PlannedOrder,
    invoice: &Invoice,
    business: &BusinessIdentity,
    restoration_time: &str,
    suspension_date: Option<Date>,
) -> TemplateMessage {
    let r = &order.row.receivable;
    let today = order.local_date;
    let days_overdue = (today - r.due).get_days().max(0);
    let amount = invoice.amount_due_cents.unwrap_or(invoice.amount_cents);
    let value = |param: Param| -> String {
        match param {
            Param::CustomerFirstName => first_name(&r.customer_name),
            Param::Amount => Brl::from_cents(amount).format(),
            Param::DueDate => br_date(invoice.due_date),
            Param::DaysOverdue => days_overdue.to_string(),
            Param::PixCode => invoice
                .pix_code()
                .unwrap_or("Pix indisponível no momento; use o boleto")
                .to_owned(),
            Param::BoletoLine => invoice
                .digitable_line()
                .unwrap_or("boleto indisponível no momento; use o Pix")
                .to_owned(),
            Param::BusinessName => business.name.clone(),
            Param::BusinessCnpj => business.cnpj.clone(),
            Param::BusinessAddress => business.address.clone(),
            Param::SuspensionReason => format!(
                "falta de pagamento da fatura com vencimento em {}",
                br_date(invoice.due_date)
            ),
            Param::SuspensionDate => suspension_date
                .map(br_date)
                .unwrap_or_else(|| "data a ser informada pela empresa".into()),
            Param::RestorationTime => restoration_time.to_owned(),
        }
    };
    let mut components = vec![TemplateComponent {
        kind: TemplateComponentKind::Body,
        sub_type: None,
        index: None,
        parameters: order
            .step
            .template
            .params
            .iter()
            .map(|p| TemplateParameter::Text {
                text: value(*p).chars().take(1000).collect(),
            })
            .collect(),
    }];
    for (index, button) in order.step.template.buttons.iter().enumerate() {
        components.push(TemplateComponent {
            kind: TemplateComponentKind::Button,
            sub_type: Some("quick_reply".into()),
            index: Some(index as u32),
            parameters: vec![TemplateParameter::Payload {
                payload: format!("ladder:{}:{}", button.action.code(), r.invoice_id),
            }],
        });
    }
    TemplateMessage {
        name: order.template.clone(),
        language: order.step.template.language.clone(),
        components,
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub synced: u64,
    pub closed: u64,
    pub rows: usize,
    pub planned: usize,
    pub queued: usize,
    pub already_handled: usize,
    pub skipped_paid: usize,
    pub failed: usize,
    pub obsolete: usize,
    pub deferred: usize,
}

#[derive(Clone)]
pub struct LadderRunner {
    pub store: Arc<dyn Store>,
    pub erp: ErpDirectory,
    pub outbox: Outbox,
    pub clock: SharedClock,
    pub bus: EventBus,
    pub config: Arc<LadderConfig>,
    /// Filled by [`LadderRunner::sync`]; `Default::default()` when constructing.
    pub documents: SeenDocuments,
}

/// The customers' CPF/CNPJ as the last sync listed them: some systems (SGP) look an invoice up
/// by the customer's document, which the snapshot does not keep, for the re-check before a send.
#[derive(Clone, Default)]
pub struct SeenDocuments(
    Arc<std::sync::Mutex<HashMap<(WorkspaceId, String), balcao_domain::br::document::Document>>>,
);

impl SeenDocuments {
    fn remember(&self, workspace: WorkspaceId, receivables: &[balcao_erp::Receivable]) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for r in receivables {
            if let Some(document) = &r.customer.document {
                map.insert((workspace, r.customer.erp_id.clone()), document.clone());
            }
        }
    }

    fn get(
        &self,
        workspace: WorkspaceId,
        customer: &str,
    ) -> Option<balcao_domain::br::document::Document> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(workspace, customer.to_owned())).cloned()
    }
}

fn zone_today(now: Millis, zone: &str) -> Date {
    let tz =
        TimeZone::get(zone).unwrap_or_else(|_| TimeZone::get("America/Sao_Paulo").expect("tz"));
    Timestamp::from_millisecond(now)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz)
        .date()
}

impl LadderRunner {
    async fn business(&self, workspace: WorkspaceId) -> Result<BusinessIdentity, StoreError> {
        let mut business = self.config.business.clone();
        if business.name.is_empty()
            && let Some(ws) = self.store.workspace(workspace).await?
        {
            business.name = ws.name;
        }
        Ok(business)
    }

    async fn number(&self, workspace: WorkspaceId) -> Result<NumberId, LadderError> {
        self.store
            .numbers(workspace)
            .await?
            .first()
            .map(|n| n.id)
            .ok_or(LadderError::NoNumber)
    }

    /// Copies the receivables due in the sync window into the snapshot and closes the ones the
    /// system no longer lists. Returns (written, closed).
    pub async fn sync(
        &self,
        workspace: WorkspaceId,
        adapter: &dyn ErpAdapter,
    ) -> Result<(u64, u64), LadderError> {
        let now = self.clock.now();
        let zone = match self.store.workspace(workspace).await? {
            Some(ws) => ws.time_zone,
            None => return Err(StoreError::NotFound.into()),
        };
        let today = zone_today(now, &zone);
        let from = today
            .checked_sub(self.config.sync_back_days.days())
            .unwrap_or(today);
        let until = today
            .checked_add(self.config.sync_ahead_days.days())
            .unwrap_or(today);
        // Bulk systems need no customers; the others ask for each one of the provider's list.
        let customers = crate::ladder_settings::sync_customers(
            self.store.as_ref(),
            adapter,
            workspace,
            now,
            crate::ladder_settings::lookup_budget(adapter.system(), self.config.interval),
        )
        .await?;
        let receivables = adapter.receivables(from, until, &customers).await?;
        self.documents.remember(workspace, &receivables);
        let rows: Vec<NewReceivable> = receivables.iter().map(receivable_row).collect();
        let written = self.store.upsert_receivables(workspace, &rows, now).await?;
        let closed = self
            .store
            .close_unseen_receivables(workspace, from, until, now)
            .await?;
        Ok((written, closed))
    }

    /// The workspace's own ladder settings, else the configuration file's.
    pub async fn plan_config(&self, workspace: WorkspaceId) -> Result<PlanConfig, LadderError> {
        Ok(crate::ladder_settings::plan_config_for(
            self.store.as_ref(),
            workspace,
            &self.config.plan,
        )
        .await?)
    }

    /// Plans at the clock's now and queues what is due, re-checking each invoice first.
    pub async fn send_due(
        &self,
        workspace: WorkspaceId,
        adapter: &dyn ErpAdapter,
    ) -> Result<RunReport, LadderError> {
        let plan = self.plan_config(workspace).await?;
        let planner = Planner::new(&plan)?;
        let now = self.clock.now();
        let number = self.number(workspace).await?;
        let business = self.business(workspace).await?;
        let mut report = RunReport::default();
        let mut cursor = PlanCursor::new(
            self.store.clone(),
            workspace,
            &planner,
            now,
            self.config.page_size,
        );
        while let Some(page) = cursor.next_page().await? {
            report.rows += page.rows;
            report.planned += page.sends.len();
            let obsolete: Vec<NewLadderSend> = page
                .obsolete
                .iter()
                .map(|step| NewLadderSend {
                    invoice_id: step.invoice_id.clone(),
                    customer_id: step.customer_id.clone(),
                    step_key: step.step_key.clone(),
                    status: LadderSendStatus::Obsolete,
                    variant: None,
                    local_date: step.local_date,
                    detail: Some(format!("substituída por {}", step.superseded_by)),
                })
                .collect();
            self.store
                .record_ladder_skips(workspace, &obsolete, now)
                .await?;
            report.obsolete += obsolete.len();
            for order in &page.sends {
                let scope = RunScope {
                    workspace,
                    number,
                    adapter,
                    business: &business,
                    plan: &plan,
                };
                self.deliver(&scope, order, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn deliver(
        &self,
        run: &RunScope<'_>,
        order: &PlannedOrder,
        report: &mut RunReport,
    ) -> Result<(), LadderError> {
        let RunScope {
            workspace,
            number,
            adapter,
            business,
            plan,
        } = *run;
        let now = self.clock.now();
        let at = Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
        if at < order.send_not_before || at > order.send_not_after {
            // Legal hours open later today (or closed): the run at that time sends it.
            report.deferred += 1;
            return Ok(());
        }
        let r = &order.row.receivable;
        let record = |status: LadderSendStatus, detail: Option<String>| NewLadderSend {
            invoice_id: r.invoice_id.clone(),
            customer_id: r.customer_id.clone(),
            step_key: order.step.key.clone(),
            status,
            variant: order.variant.clone(),
            local_date: order.local_date,
            detail,
        };
        // Right before sending: the snapshot (a payment recorded since planning) and the system.
        match self
            .store
            .ladder_receivable(workspace, &r.invoice_id)
            .await?
        {
            Some(row) if !row.paid && !row.removed && !row.opted_out => {}
            _ => {
                report.skipped_paid += 1;
                return Ok(());
            }
        }
        let customer = Customer {
            system: adapter.system(),
            erp_id: r.customer_id.clone(),
            document: self.documents.get(workspace, &r.customer_id),
            name: r.customer_name.clone(),
            phones: Vec::new(),
            emails: Vec::new(),
        };
        let invoice = match adapter.invoice(&customer, &r.invoice_id).await {
            Ok(invoice) if invoice.status.is_payable() => invoice,
            Ok(settled) => {
                // Only a payment is logged as one (with the system's time when it gives one):
                // a cancelled invoice is no payment, and it leaves the snapshot with the next
                // sync that no longer lists it.
                let paid_at = (settled.status == InvoiceStatus::Paid).then(|| {
                    settled
                        .paid_at
                        .map_or(now, |at| at.as_millisecond().min(now))
                });
                let detail = match paid_at {
                    Some(_) => "fatura paga no sistema",
                    None => "fatura cancelada ou baixada no sistema",
                };
                let skipped = record(LadderSendStatus::SkippedPaid, Some(detail.into()));
                return self
                    .skip_settled(workspace, &skipped, paid_at, now, report)
                    .await;
            }
            Err(ErpError::NotFound) => {
                let detail = "fatura não encontrada no sistema";
                let skipped = record(LadderSendStatus::SkippedPaid, Some(detail.into()));
                return self
                    .skip_settled(workspace, &skipped, None, now, report)
                    .await;
            }
            Err(err) => {
                // Cannot check: not sending is the safe side; the next run tries again.
                tracing::warn!(invoice = %r.invoice_id, error = %err, "ladder: invoice re-check failed; deferred");
                report.deferred += 1;
                return Ok(());
            }
        };
        let Some(to) = r.wa_id.clone() else {
            report.deferred += 1;
            return Ok(());
        };
        let suspension_date = plan
            .ladders
            .values()
            .find(|l| l.step(&order.step.key).is_some() && l.suspension_after_days.is_some())
            .and_then(|l| l.suspension_date(r.due, order.local_date));
        let template = build_template(
            order,
            &invoice,
            business,
            &self.config.restoration_time,
            suspension_date,
        );
        let request = SendRequest {
            number_id: number,
            to,
            content: OutboundContent::Template(template),
            fallback_template: None,
            idempotency_key: Some(order.idempotency_key.clone()),
            author: "ladder".into(),
        };
        let prepared = self
            .outbox
            .prepare(workspace, request, Window::at(None, now))
            .await;
        let (status, outbound, detail) = match prepared {
            Ok(new) => (LadderSendStatus::Sent, Some(new), None),
            Err(OutboxError::Store(err)) => return Err(err.into()),
            Err(OutboxError::TemplateNotApproved { name, .. }) => {
                // Not recorded: once the template is approved the next run sends it.
                tracing::warn!(template = %name, "ladder: template not approved; step deferred");
                report.deferred += 1;
                return Ok(());
            }
            Err(err) => (LadderSendStatus::Failed, None, Some(err.to_string())),
        };
        match self
            .store
            .record_ladder_send(workspace, &record(status, detail), outbound, now)
            .await?
        {
            LadderRecorded::Recorded { enqueued, .. } => {
                if let Some(enqueued) = enqueued {
                    self.outbox.announce(workspace, &enqueued);
                    metrics::counter!("balcao_ladder_sent_total").increment(1);
                    report.queued += 1;
                } else {
                    metrics::counter!("balcao_ladder_failed_total").increment(1);
                    report.failed += 1;
                }
            }
            LadderRecorded::AlreadyHandled(_) => report.already_handled += 1,
        }
        Ok(())
    }

    /// An invoice found settled right before its message: the step is recorded as skipped and,
    /// when it was a payment (`paid_at`), the payment is recorded.
    async fn skip_settled(
        &self,
        workspace: WorkspaceId,
        skipped: &NewLadderSend,
        paid_at: Option<Millis>,
        now: Millis,
        report: &mut RunReport,
    ) -> Result<(), LadderError> {
        self.store
            .record_ladder_send(workspace, skipped, None, now)
            .await?;
        if let Some(paid_at) = paid_at {
            self.store
                .ladder_invoice_paid(workspace, &skipped.invoice_id, paid_at)
                .await?;
        }
        report.skipped_paid += 1;
        Ok(())
    }

    /// One whole run of a workspace: sync, then plan and send.
    pub async fn run_workspace(&self, workspace: WorkspaceId) -> Result<RunReport, LadderError> {
        let adapter = self.erp.adapter(workspace).await?;
        let (synced, closed) = self.sync(workspace, adapter.as_ref()).await?;
        let mut report = self.send_due(workspace, adapter.as_ref()).await?;
        report.synced = synced;
        report.closed = closed;
        Ok(report)
    }

    /// A payment was recorded (at `paid_at`, the system's time, when known): the invoice leaves
    /// the ladder — its reminders still queued are pulled back — then the subscriber is thanked
    /// and, when the contract was suspended for debt, the system is asked to restore it and the
    /// subscriber told. A crash between the record and the thanks loses the thanks, never
    /// doubles it. Returns whether the invoice was in the ladder.
    pub async fn on_payment(
        &self,
        workspace: WorkspaceId,
        invoice_id: &str,
        paid_at: Option<Millis>,
        adapter: Option<&dyn ErpAdapter>,
    ) -> Result<bool, LadderError> {
        let now = self.clock.now();
        let paid_at = paid_at.map_or(now, |at| at.min(now));
        // Recorded first, which pulls back the invoice's reminders no sender took yet: the
        // sender may still be draining this run's queue and must not send one after the thanks.
        let Some(row) = self
            .store
            .ladder_invoice_paid(workspace, invoice_id, paid_at)
            .await?
        else {
            return Ok(false);
        };
        if row.paid {
            return Ok(true);
        }
        let r = &row.receivable;
        let number = self.number(workspace).await?;
        let business = self.business(workspace).await?;
        if let Some(to) = r.wa_id.clone() {
            let text = format!(
                "Olá, {}! Recebemos o pagamento da fatura de {} com vencimento em {}. Obrigado! — {}",
                first_name(&r.customer_name),
                Brl::from_cents(r.amount_cents).format(),
                br_date(r.due),
                business.name
            );
            let fallback = body_template(
                &self.config.thanks_template,
                vec![
                    first_name(&r.customer_name),
                    Brl::from_cents(r.amount_cents).format(),
                ],
            );
            self.notify(
                workspace,
                number,
                &to,
                text,
                fallback,
                &format!("ladder:thanks:{invoice_id}"),
            )
            .await?;
            if r.suspended
                && let (Some(contract_id), Some(adapter)) = (&r.contract_id, adapter)
            {
                let contract = Contract {
                    erp_id: contract_id.clone(),
                    customer_erp_id: r.customer_id.clone(),
                    plan_name: None,
                    monthly_cents: r.plan_value_cents,
                    status: ContractStatus::SuspendedDebt,
                    raw_status: String::new(),
                    online: None,
                    login: None,
                };
                match adapter.restore_after_payment(&contract).await {
                    Ok(result) if result.granted => {
                        let text = format!(
                            "{}, sua conexão foi restabelecida. Se ainda estiver sem internet, desligue e ligue o roteador. — {}",
                            first_name(&r.customer_name),
                            business.name
                        );
                        let fallback = body_template(
                            &self.config.restored_template,
                            vec![first_name(&r.customer_name)],
                        );
                        self.notify(
                            workspace,
                            number,
                            &to,
                            text,
                            fallback,
                            &format!("ladder:restored:{invoice_id}"),
                        )
                        .await?;
                    }
                    Ok(result) => {
                        tracing::warn!(invoice = %invoice_id, refusal = ?result.refusal, "ladder: restoration refused");
                    }
                    Err(err) => {
                        tracing::warn!(invoice = %invoice_id, error = %err, "ladder: restoration failed");
                    }
                }
            }
        }
        Ok(true)
    }

    /// Free text inside the 24-hour window, else `fallback` (an approved template).
    async fn notify(
        &self,
        workspace: WorkspaceId,
        number: NumberId,
        to: &WaId,
        text: String,
        fallback: TemplateMessage,
        key: &str,
    ) -> Result<(), LadderError> {
        let request = SendRequest {
            number_id: number,
            to: to.clone(),
            content: OutboundContent::Text {
                body: text,
                preview_url: false,
            },
            fallback_template: Some(fallback),
            idempotency_key: Some(key.to_owned()),
            author: "ladder".into(),
        };
        match self.outbox.enqueue(workspace, request).await {
            Ok(_) => Ok(()),
            Err(OutboxError::Store(err)) => Err(err.into()),
            Err(err) => {
                tracing::warn!(key, error = %err, "ladder: notice not queued");
                Ok(())
            }
        }
    }

    /// Looks at new inbound messages for an opt-out ("SAIR", "PARAR", the stop button) and
    /// records it at once, confirming to the subscriber. Idempotent per message.
    pub async fn on_inbound(
        &self,
        conversations: &[(WorkspaceId, balcao_domain::ConversationId)],
        messages: &[balcao_domain::MessageId],
    ) -> Result<u32, LadderError> {
        let mut workspaces: Vec<WorkspaceId> = conversations.iter().map(|(w, _)| *w).collect();
        workspaces.dedup();
        let mut opted = 0;
        for &id in messages {
            for &workspace in &workspaces {
                let Some(message) = self.store.message(workspace, id).await? else {
                    continue;
                };
                let button = message
                    .payload
                    .pointer("/button/payload")
                    .or_else(|| message.payload.pointer("/interactive/button_reply/id"))
                    .and_then(|v| v.as_str());
                let stop_button = button.is_some_and(|p| p.starts_with("ladder:sair:"));
                let stop_text = message.text.as_deref().is_some_and(asks_to_stop);
                if !(stop_button || stop_text) {
                    continue;
                }
                let Some(contact) = self.store.contact(workspace, message.contact_id).await? else {
                    continue;
                };
                let source = if stop_button {
                    "button".to_owned()
                } else {
                    format!(
                        "text:{}",
                        message.text.as_deref().unwrap_or_default().trim()
                    )
                };
                let change = ConsentChange {
                    wa_id: contact.wa_id.clone(),
                    customer_id: None,
                    opted_out: true,
                    source,
                };
                self.store
                    .set_ladder_consent(workspace, &change, self.clock.now())
                    .await?;
                opted += 1;
                // With the bot on, the bot confirms — unless it is done with this conversation
                // (handed off, closed): then nobody else would answer.
                let bot_answers = !self.config.confirm_opt_out
                    && !self
                        .store
                        .bot_session(workspace, message.conversation_id)
                        .await?
                        .is_some_and(|session| session.finished);
                if bot_answers {
                    continue;
                }
                let request = SendRequest {
                    number_id: message.number_id,
                    to: contact.wa_id.clone(),
                    content: OutboundContent::Text {
                        body: "Pronto! Você não receberá mais lembretes de cobrança por aqui. \
                               Suas faturas continuam disponíveis: é só pedir a 2ª via quando quiser."
                            .into(),
                        preview_url: false,
                    },
                    fallback_template: None,
                    idempotency_key: Some(format!("ladder:optout:{}", message.id.0)),
                    author: "ladder".into(),
                };
                if let Err(err) = self.outbox.enqueue(workspace, request).await {
                    tracing::warn!(error = %err, "ladder: opt-out confirmation not queued");
                }
            }
        }
        Ok(opted)
    }

    async fn payment_event(&self, workspace: WorkspaceId, event_id: i64) {
        let event = match self
            .store
            .payment_events(workspace, Some(event_id - 1), 1)
            .await
        {
            Ok(mut events) => match events.pop() {
                Some(event) if event.id == event_id => event,
                _ => return,
            },
            Err(err) => {
                tracing::warn!(error = %err, "ladder: reading a payment event failed");
                return;
            }
        };
        let adapter = self.erp.adapter(workspace).await.ok();
        if let Err(err) = self
            .on_payment(
                workspace,
                &event.invoice_erp_id,
                Some(event.paid_at),
                adapter.as_deref(),
            )
            .await
        {
            tracing::warn!(error = %err, "ladder: payment handling failed");
        }
    }

    /// Runs every workspace with a management system each interval, and reacts to payments
    /// and inbound messages in between, until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut events = self.bus.subscribe();
        let mut next_run = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_run) => {
                    self.run_all().await;
                    next_run = tokio::time::Instant::now() + self.config.interval;
                }
                event = events.recv() => match event {
                    Ok(BusEvent::PaymentRecorded { workspace_id, payment_event_id }) => {
                        self.payment_event(workspace_id, payment_event_id).await;
                    }
                    Ok(BusEvent::InboundStored { conversations, messages }) => {
                        if let Err(err) = self.on_inbound(&conversations, &messages).await {
                            tracing::warn!(error = %err, "ladder: inbound check failed");
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One run over every workspace with a management system (also what the demo clock's
    /// advance triggers).
    pub async fn run_all(&self) {
        match self.store.all_erp_connections().await {
            Ok(connections) => {
                for connection in connections {
                    match self.run_workspace(connection.workspace_id).await {
                        Ok(report) if report.queued > 0 => {
                            tracing::info!(workspace = %connection.workspace_id, ?report, "ladder run");
                        }
                        Ok(_) => {}
                        Err(err) => {
                            metrics::counter!("balcao_ladder_run_errors_total").increment(1);
                            tracing::warn!(workspace = %connection.workspace_id, error = %err, "ladder run failed; will retry");
                        }
                    }
                }
            }
            Err(err) => tracing::error!(error = %err, "ladder: listing ERP connections failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;
    use crate::secrets::MasterKey;
    use async_trait::async_trait;
    use balcao_domain::br::{BrPhone, Document};
    use balcao_erp::{
        ConnectionStatus, InvoiceStatus, NewTicket, PaymentEvent, PaymentMethod, Receivable,
        System, Ticket, UnlockResult,
    };
    use balcao_store::{LadderStore, NewNumber, NewWorkspace, Template};
    use balcao_store_sqlite::SqliteStore;
    use jiff::civil::date;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicI64, Ordering};

    struct ManualClock(AtomicI64);
    impl Clock for ManualClock {
        fn now(&self) -> Millis {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// Local time in São Paulo (UTC−3, no DST) as unix millis.
    fn sp(y: i16, m: i8, d: i8, h: i8) -> Millis {
        date(y, m, d)
            .at(h, 0, 0, 0)
            .to_zoned(TimeZone::get("America/Sao_Paulo").expect("tz"))
            .expect("zoned")
            .timestamp()
            .as_millisecond()
    }

    #[derive(Default)]
    struct FakeErp {
        /// (customer id, phone, invoice id, due, suspended)
        rows: Vec<(String, String, String, Date, bool)>,
        paid: Mutex<Vec<String>>,
        restored: Mutex<Vec<String>>,
    }

    impl FakeErp {
        fn invoice_of(&self, id: &str) -> Option<Invoice> {
            let (_, _, invoice, due, _) = self.rows.iter().find(|r| r.2 == id)?;
            let paid = self.paid.lock().expect("lock").iter().any(|p| p == id);
            Some(Invoice {
                erp_id: invoice.clone(),
                contract_id: Some(format!("ct-{invoice}")),
                due_date: *due,
                amount_cents: 12_000,
                amount_due_cents: None,
                fine_cents: None,
                interest_cents: None,
                paid_cents: None,
                status: if paid {
                    InvoiceStatus::Paid
                } else {
                    InvoiceStatus::Open
                },
                paid_at: None,
                payment_methods: vec![
                    PaymentMethod::Pix {
                        copy_paste: format!("00020126pix-{invoice}"),
                        expires_at: None,
                    },
                    PaymentMethod::Boleto {
                        digitable_line: "34191790010104351004791020150008291070026000".into(),
                        barcode: None,
                        pdf_url: None,
                    },
                ],
            })
        }
    }

    fn unsupported<T>() -> Result<T, ErpError> {
        Err(ErpError::Unavailable("não usado no teste".into()))
    }

    #[async_trait]
    impl ErpAdapter for FakeErp {
        fn system(&self) -> System {
            System::Sgp
        }
        async fn find_customer_by_document(
            &self,
            _: &Document,
        ) -> Result<Option<Customer>, ErpError> {
            unsupported()
        }
        async fn find_customers_by_phone(&self, _: &BrPhone) -> Result<Vec<Customer>, ErpError> {
            unsupported()
        }
        async fn contracts(&self, _: &Customer) -> Result<Vec<Contract>, ErpError> {
            unsupported()
        }
        async fn open_invoices(&self, _: &Customer) -> Result<Vec<Invoice>, ErpError> {
            unsupported()
        }
        async fn invoice(&self, _: &Customer, id: &str) -> Result<Invoice, ErpError> {
            self.invoice_of(id).ok_or(ErpError::NotFound)
        }
        async fn invoice_pdf(&self, _: &Invoice) -> Result<Vec<u8>, ErpError> {
            unsupported()
        }
        async fn trust_unlock(&self, _: &Contract) -> Result<UnlockResult, ErpError> {
            unsupported()
        }
        async fn connection_status(&self, _: &Contract) -> Result<ConnectionStatus, ErpError> {
            unsupported()
        }
        async fn open_ticket(&self, _: &NewTicket) -> Result<Ticket, ErpError> {
            unsupported()
        }
        async fn payments_between(
            &self,
            _: Date,
            _: Date,
            _: &[Customer],
        ) -> Result<Vec<PaymentEvent>, ErpError> {
            unsupported()
        }
        async fn receivables(
            &self,
            _: Date,
            _: Date,
            _: &[Customer],
        ) -> Result<Vec<Receivable>, ErpError> {
            Ok(self
                .rows
                .iter()
                .map(|(customer, phone, invoice, _, suspended)| Receivable {
                    customer: Customer {
                        system: System::Sgp,
                        erp_id: customer.clone(),
                        document: None,
                        name: "MARIA DAS DORES".into(),
                        phones: vec![phone.clone()],
                        emails: vec![],
                    },
                    contract_id: Some(format!("ct-{invoice}")),
                    invoice: self.invoice_of(invoice).expect("invoice"),
                    contract_status: None,
                    suspended: *suspended,
                    city: Some("Ribeirão Preto".into()),
                    plan_value_cents: Some(12_000),
                })
                .collect())
        }
        async fn restore_after_payment(
            &self,
            contract: &Contract,
        ) -> Result<UnlockResult, ErpError> {
            self.restored
                .lock()
                .expect("lock")
                .push(contract.erp_id.clone());
            Ok(UnlockResult {
                granted: true,
                until: None,
                days: None,
                protocol: None,
                refusal: None,
                erp_message: None,
            })
        }
    }

    struct Setup {
        store: Arc<SqliteStore>,
        clock: Arc<ManualClock>,
        ws: WorkspaceId,
        erp: FakeErp,
    }

    impl Setup {
        fn runner(&self) -> LadderRunner {
            let store: Arc<dyn Store> = self.store.clone();
            let clock: SharedClock = self.clock.clone();
            let bus = EventBus::new(64);
            let key = Arc::new(MasterKey::from_hex(&"11".repeat(32)).expect("key"));
            LadderRunner {
                erp: ErpDirectory::new(store.clone(), key, clock.clone()),
                outbox: Outbox::new(store.clone(), clock.clone(), bus.clone()),
                store,
                clock,
                bus,
                documents: Default::default(),
                config: Arc::new(LadderConfig {
                    business: BusinessIdentity {
                        name: "Fibra Boa Telecom".into(),
                        cnpj: "11.222.333/0001-81".into(),
                        address: "Rua das Flores, 100, Ribeirão Preto/SP".into(),
                    },
                    ..Default::default()
                }),
            }
        }

        fn at(&self, millis: Millis) {
            self.clock.0.store(millis, Ordering::SeqCst);
        }

        async fn messages(&self) -> Vec<(String, String)> {
            let mut out = Vec::new();
            for conversation in self
                .store
                .conversations(self.ws, &Default::default())
                .await
                .expect("conversations")
            {
                for m in self
                    .store
                    .messages(self.ws, conversation.id, None, 100)
                    .await
                    .expect("messages")
                {
                    out.push((
                        m.to_wa_id
                            .map(|w| w.as_str().to_owned())
                            .unwrap_or_default(),
                        m.idempotency_key.unwrap_or_default(),
                    ));
                }
            }
            out.sort();
            out
        }
    }

    async fn setup(rows: Vec<(&str, &str, &str, Date, bool)>) -> Setup {
        let store = Arc::new(SqliteStore::open_in_memory().await.expect("store"));
        store.migrate().await.expect("migrate");
        let ws = store
            .create_workspace(NewWorkspace {
                slug: "fibra".into(),
                name: "Fibra Boa".into(),
                time_zone: "America/Sao_Paulo".into(),
            })
            .await
            .expect("ws")
            .id;
        let number = store
            .create_number(
                ws,
                NewNumber {
                    phone_number_id: "5550001".into(),
                    display_phone_number: "+55 16 3333-0001".into(),
                    waba_id: "waba".into(),
                    throughput_mps: 80,
                },
            )
            .await
            .expect("number")
            .id;
        let defaults = LadderConfig::default();
        for (name, body_params) in [
            (defaults.thanks_template, 2),
            (defaults.restored_template, 1),
        ] {
            store
                .upsert_template(
                    ws,
                    Template {
                        number_id: number,
                        name,
                        language: "pt_BR".into(),
                        category: "UTILITY".into(),
                        status: "APPROVED".into(),
                        body: String::new(),
                        body_params,
                    },
                )
                .await
                .expect("template");
        }
        for ladder in PlanConfig::default().ladders.values() {
            for step in &ladder.steps {
                store
                    .upsert_template(
                        ws,
                        Template {
                            number_id: number,
                            name: step.template.name.clone(),
                            language: "pt_BR".into(),
                            category: "UTILITY".into(),
                            status: "APPROVED".into(),
                            body: String::new(),
                            body_params: step.template.params.len() as u32,
                        },
                    )
                    .await
                    .expect("template");
            }
        }
        let erp = FakeErp {
            rows: rows
                .into_iter()
                .map(|(c, p, i, d, s)| (c.into(), p.into(), i.into(), d, s))
                .collect(),
            ..Default::default()
        };
        Setup {
            store,
            clock: Arc::new(ManualClock(AtomicI64::new(0))),
            ws,
            erp,
        }
    }

    const DUE: Date = date(2026, 12, 2); // a Wednesday: D-5 Fri, D-2 Mon, D0 Wed

    #[tokio::test]
    async fn the_ladder_goes_out_once_per_step_as_days_pass_and_skips_opted_out() {
        let s = setup(vec![
            ("c-1", "16992318222", "inv-1", DUE, false),
            ("c-2", "11987650001", "inv-2", DUE, false),
        ])
        .await;
        let runner = s.runner();
        s.store
            .set_ladder_consent(
                s.ws,
                &ConsentChange {
                    wa_id: WaId::parse("5511987650001").expect("wa"),
                    customer_id: None,
                    opted_out: true,
                    source: "text:SAIR".into(),
                },
                0,
            )
            .await
            .expect("opt out");

        // Friday 27/11 07:00: before legal hours, nothing goes yet.
        s.at(sp(2026, 11, 27, 7));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        let early = runner.send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!(early.queued, 0);
        assert!(s.messages().await.is_empty());

        s.at(sp(2026, 11, 27, 9));
        let report = runner.send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!(report.queued, 1, "{report:?}");
        // Again, and after a "restart" (a new runner on the same store): nothing more.
        runner.send_due(s.ws, &s.erp).await.expect("run");
        s.runner().send_due(s.ws, &s.erp).await.expect("run");
        s.at(sp(2026, 11, 27, 15));
        s.runner().send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!(
            s.messages().await,
            vec![("5516992318222".into(), "ladder:d-5:inv-1".into())]
        );

        // Saturday: closed. Monday 30/11: D-2. Wednesday 02/12: D0.
        s.at(sp(2026, 11, 28, 10));
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").queued, 0);
        s.at(sp(2026, 11, 30, 10));
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").queued, 1);
        s.at(sp(2026, 12, 2, 10));
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").queued, 1);
        let keys: Vec<String> = s.messages().await.into_iter().map(|(_, k)| k).collect();
        assert_eq!(
            keys,
            vec!["ladder:d-2:inv-1", "ladder:d-5:inv-1", "ladder:d0:inv-1"],
            "the opted-out subscriber got nothing"
        );
    }

    #[tokio::test]
    async fn a_workspace_s_own_settings_replace_the_default_ladder() {
        let s = setup(vec![("c-1", "16992318222", "inv-1", DUE, false)]).await;
        let runner = s.runner();
        let mut plan = PlanConfig::default();
        plan.rules.insert(
            0,
            balcao_ladder::SegmentRule {
                name: "Sem aviso D-5".into(),
                when: Default::default(),
                ladder: None,
                skip_steps: vec!["d-5".into()],
            },
        );
        crate::ladder_settings::save_plan_config(
            s.store.as_ref(),
            s.ws,
            &plan,
            Some("admin@fibra"),
            0,
        )
        .await
        .expect("save");
        // Friday 27/11 09:00 is D-5: the workspace skips it.
        s.at(sp(2026, 11, 27, 9));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        let report = runner.send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!(report.queued, 0, "{report:?}");
        // Monday 30/11: D-2 goes as usual.
        s.at(sp(2026, 11, 30, 10));
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").queued, 1);
        let keys: Vec<String> = s.messages().await.into_iter().map(|(_, k)| k).collect();
        assert_eq!(keys, vec!["ladder:d-2:inv-1"]);
    }

    #[tokio::test]
    async fn a_payment_pulls_back_a_reminder_no_sender_took_yet() {
        let s = setup(vec![("c-1", "16992318222", "inv-1", DUE, false)]).await;
        let runner = s.runner();
        s.at(sp(2026, 11, 27, 9));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").queued, 1);
        runner
            .on_payment(s.ws, "inv-1", None, Some(&s.erp))
            .await
            .expect("payment");
        let sends = s.store.ladder_sends(s.ws, "inv-1").await.expect("sends");
        assert_eq!(sends[0].status, LadderSendStatus::Cancelled);
        let reminder = s
            .store
            .message(s.ws, sends[0].message_id.expect("linked"))
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            reminder.status,
            Some(balcao_domain::status::DeliveryStatus::Failed),
            "the reminder never goes out"
        );
    }

    #[tokio::test]
    async fn a_missed_run_catches_up_with_the_current_step_only() {
        let s = setup(vec![("c-1", "16992318222", "inv-1", DUE, false)]).await;
        let runner = s.runner();
        s.at(sp(2026, 12, 2, 10));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        let report = runner.send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!((report.queued, report.obsolete), (1, 2), "{report:?}");
        let sends = s.store.ladder_sends(s.ws, "inv-1").await.expect("sends");
        let statuses: Vec<(String, LadderSendStatus)> = sends
            .iter()
            .map(|x| (x.step_key.clone(), x.status))
            .collect();
        assert!(statuses.contains(&("d0".into(), LadderSendStatus::Sent)));
        assert!(statuses.contains(&("d-5".into(), LadderSendStatus::Obsolete)));
        assert!(statuses.contains(&("d-2".into(), LadderSendStatus::Obsolete)));
        assert_eq!(s.messages().await.len(), 1);
    }

    #[tokio::test]
    async fn a_payment_between_planning_and_sending_stops_the_message() {
        let s = setup(vec![("c-1", "16992318222", "inv-1", DUE, false)]).await;
        let runner = s.runner();
        s.at(sp(2026, 11, 30, 10));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        // Paid in the system after the sync, before the run's re-check.
        s.erp.paid.lock().expect("lock").push("inv-1".into());
        let report = runner.send_due(s.ws, &s.erp).await.expect("run");
        assert_eq!((report.queued, report.skipped_paid), (0, 1));
        assert!(s.messages().await.is_empty());
        let row = s
            .store
            .ladder_receivable(s.ws, "inv-1")
            .await
            .expect("row")
            .expect("row");
        assert!(row.paid, "a paid invoice leaves the ladder");
    }

    #[tokio::test]
    async fn payment_thanks_and_restores_a_suspended_contract() {
        let s = setup(vec![(
            "c-1",
            "16992318222",
            "inv-1",
            date(2026, 11, 10),
            true,
        )])
        .await;
        let runner = s.runner();
        s.at(sp(2026, 11, 30, 10));
        runner.sync(s.ws, &s.erp).await.expect("sync");
        assert!(
            runner
                .on_payment(s.ws, "inv-1", None, Some(&s.erp))
                .await
                .expect("paid")
        );
        assert_eq!(
            *s.erp.restored.lock().expect("lock"),
            vec!["ct-inv-1".to_owned()]
        );
        let keys: Vec<String> = s.messages().await.into_iter().map(|(_, k)| k).collect();
        assert_eq!(keys, vec!["ladder:restored:inv-1", "ladder:thanks:inv-1"]);
        // Repeated: nothing more; and the ladder no longer plans it.
        assert!(
            runner
                .on_payment(s.ws, "inv-1", None, Some(&s.erp))
                .await
                .expect("again")
        );
        assert_eq!(s.messages().await.len(), 2);
        assert_eq!(runner.send_due(s.ws, &s.erp).await.expect("run").planned, 0);
    }

    #[test]
    fn what_the_bot_reads_as_an_opt_out_is_recorded_too() {
        for text in [
            "SAIR",
            "parar",
            "não quero mais receber essas mensagens",
            "me descadastra",
        ] {
            assert!(asks_to_stop(text), "{text}");
        }
        for text in ["quero a segunda via", "minha internet parou", "oi"] {
            assert!(!asks_to_stop(text), "{text}");
        }
    }

    #[test]
    fn opt_out_words_and_formats() {
        assert!(is_opt_out_text(" sair "));
        assert!(is_opt_out_text("PARAR!"));
        assert!(!is_opt_out_text("quero sair da operadora amanhã"));
        assert_eq!(first_name("MARIA DAS DORES"), "Maria");
        assert_eq!(br_date(date(2026, 12, 2)), "02/12/2026");
        assert_eq!(
            wa_id_of_phone("(16) 99231-8222").map(|w| w.as_str().to_owned()),
            Some("5516992318222".into())
        );
        assert_eq!(wa_id_of_phone("123"), None);
    }
}
