//! Every flow of the self-service bot and every bad input, end to end on each management
//! system's fake: a subscriber on the simulated phone (real HTTP), the app with a real SQLite
//! database, and the fake over HTTP. Each test checks what the phone received and what the bot
//! recorded (events, tags, resolution).
//!
//! The six systems run side by side (one harness each) because Voalle's client-side rate limit
//! (25 requests a minute) makes its run the longest; within a system the scenarios run one after
//! the other: the inactivity scenario moves the app's clock (every open session's timer fires)
//! and the garbage scenario injects faults into the fake, so both come last.

mod common;

use balcao::demo::DEMO_PHONE_NUMBER_ID;
use balcao_domain::br::Brl;
use balcao_erp_fake::{
    DataSet, FakeContractStatus, FakeInvoice, FakeSystem, Faults, RunningFake, Subscriber,
};
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long to wait for an answer before declaring silence.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// What each system can do (from the adapters' documentation), so the expectations are explicit
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Caps {
    system: FakeSystem,
    /// Finds customers by the WhatsApp number (otherwise the bot asks for the CPF/CNPJ).
    by_phone: bool,
    /// The record lists the customer's phones, so this number can be tied to the customer.
    /// RadiusNet gives none: every data flow ends in a person (LGPD policy of the bot).
    confirmable: bool,
    /// Reports a contract's connection status.
    connection: bool,
    /// The status says whether the connection is online (MK-Auth only tells the block).
    knows_online: bool,
    /// Opens support tickets.
    tickets: bool,
    /// Lists every contract of a customer (an MK-Auth customer is one login: a company with two
    /// logins is found by its first one only).
    every_contract: bool,
    /// Gives the overdue amount updated with fine and interest.
    updated_amount: bool,
}

fn caps(system: FakeSystem) -> Caps {
    let all = Caps {
        system,
        by_phone: true,
        confirmable: true,
        connection: true,
        knows_online: true,
        tickets: true,
        every_contract: true,
        updated_amount: true,
    };
    match system {
        FakeSystem::Sgp => all,
        // IXC sends fine and interest only with the Pix and the re-issued boleto; Hubsoft's
        // listing has no updated amount.
        FakeSystem::Ixc | FakeSystem::Hubsoft => Caps {
            updated_amount: false,
            ..all
        },
        FakeSystem::MkAuth => Caps {
            by_phone: false,
            knows_online: false,
            tickets: false,
            every_contract: false,
            updated_amount: false,
            ..all
        },
        FakeSystem::Voalle => Caps {
            by_phone: false,
            connection: false,
            knows_online: false,
            ..all
        },
        FakeSystem::RadiusNet => Caps {
            by_phone: false,
            confirmable: false,
            connection: false,
            knows_online: false,
            tickets: false,
            ..all
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The phone
// ---------------------------------------------------------------------------------------------

/// A subscriber's phone: says things, taps replies, reads what the bot answered.
struct Phone<'a> {
    h: &'a Harness,
    system: FakeSystem,
    wa_id: String,
    name: String,
    /// Outbound messages already on the phone when we last said something.
    seen: usize,
}

impl<'a> Phone<'a> {
    fn new(h: &'a Harness, system: FakeSystem, wa_id: &str, name: &str) -> Self {
        Phone {
            h,
            system,
            wa_id: wa_id.into(),
            name: name.into(),
            seen: 0,
        }
    }

    async fn outbound(&self) -> Vec<Value> {
        self.h
            .phone_chat(&self.wa_id)
            .await
            .into_iter()
            .filter(|m| m["direction"] == "out")
            .collect()
    }

    /// Waits until no new bot message arrived for a moment, so the next step's answers are not
    /// mixed with this one's.
    async fn settle(&mut self) -> usize {
        let mut count = self.outbound().await.len();
        let mut stable_since = Instant::now();
        let deadline = Instant::now() + ANSWER_WITHIN;
        while stable_since.elapsed() < Duration::from_millis(250) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.outbound().await.len();
            if now != count {
                count = now;
                stable_since = Instant::now();
            }
        }
        count
    }

    async fn send(&mut self, mut body: Value) {
        self.seen = self.settle().await;
        body["from"] = json!(self.wa_id);
        body["name"] = json!(self.name);
        self.h.phone_sends(body).await;
    }

    async fn say(&mut self, text: &str) {
        self.send(json!({ "text": text })).await;
    }

    /// A location without a name: a message with no text at all.
    async fn send_location(&mut self) {
        self.send(json!({ "location": {"latitude": -23.5505, "longitude": -46.6333} }))
            .await;
    }

    /// A sticker, which the simulated phone cannot send: posted as Meta's signed webhook.
    async fn send_sticker(&mut self) {
        self.seen = self.settle().await;
        let body = envelope(
            DEMO_PHONE_NUMBER_ID,
            json!({
                "contacts": [{"profile": {"name": self.name}, "wa_id": self.wa_id}],
                "messages": [{
                    "from": self.wa_id,
                    "id": format!("wamid.sticker.{}", self.wa_id),
                    "timestamp": now_secs(),
                    "type": "sticker",
                    "sticker": {"id": "7001", "mime_type": "image/webp", "animated": false}
                }]
            }),
        );
        let status = self.h.post_webhook(body.to_string().as_bytes(), None).await;
        assert_eq!(
            status,
            reqwest::StatusCode::OK,
            "{}: sticker webhook",
            self.system
        );
    }

    /// Bot messages since the last thing the subscriber did.
    async fn new_messages(&self) -> Vec<Value> {
        self.outbound().await.into_iter().skip(self.seen).collect()
    }

    /// Waits for a bot message, since the last thing the subscriber did, containing `needle`.
    async fn expect(&self, needle: &str) -> Value {
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let fresh = self.new_messages().await;
            if let Some(m) = fresh.iter().find(|m| message_text(m).contains(needle)) {
                return m.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no bot message containing {needle:?}; since the last input the bot said {:#?}",
                self.system,
                fresh.iter().map(message_text).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the bot said since the last input, once it went quiet.
    async fn said(&mut self) -> Vec<String> {
        self.settle().await;
        self.new_messages().await.iter().map(message_text).collect()
    }

    /// The titles of the buttons and list rows of a message.
    fn choices(m: &Value) -> Vec<String> {
        let mut out: Vec<String> = m["reply_options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["title"].as_str().map(str::to_owned))
            .collect();
        for section in m["list"]["sections"].as_array().into_iter().flatten() {
            for row in section["rows"].as_array().into_iter().flatten() {
                out.extend(row["title"].as_str().map(str::to_owned));
            }
        }
        out
    }

    /// Taps the button or list row of the newest message (since the last input) that matches.
    async fn tap_where(&mut self, what: &str, matches: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let fresh = self.new_messages().await;
            for m in fresh.iter().rev() {
                for option in m["reply_options"].as_array().into_iter().flatten() {
                    if matches(option) {
                        let reply = json!({"id": option["id"], "title": option["title"]});
                        return self.send(json!({ "button_reply": reply })).await;
                    }
                }
                for section in m["list"]["sections"].as_array().into_iter().flatten() {
                    for row in section["rows"].as_array().into_iter().flatten() {
                        if matches(row) {
                            let reply = json!({"id": row["id"], "title": row["title"]});
                            return self.send(json!({ "list_reply": reply })).await;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "{}: nothing to tap for {what}; since the last input the bot said {:#?}",
                self.system,
                fresh
                    .iter()
                    .map(|m| (message_text(m), Self::choices(m)))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn tap(&mut self, title: &str) {
        self.tap_where(title, |option| {
            option["title"].as_str().is_some_and(|t| t.contains(title))
        })
        .await;
    }

    /// After the first message: the document when the system cannot find people by phone, then
    /// the welcome (systems whose records tie this number to the customer).
    async fn identify(&mut self, caps: Caps, s: &Subscriber) {
        if !caps.by_phone {
            self.expect("CPF").await;
            self.say(&s.document).await;
        }
        if caps.confirmable {
            self.expect("Encontrei seu cadastro").await;
        }
    }

    async fn conversation_id(&self) -> i64 {
        self.h.conversation_of(&self.wa_id).await["id"]
            .as_i64()
            .expect("conversation id")
    }

    async fn events(&self) -> Vec<Value> {
        let id = self.conversation_id().await;
        let (_, v) = self
            .h
            .api_get(&format!("/api/v1/conversations/{id}/events"))
            .await;
        v["events"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until an event satisfies `wanted` (events are saved with the session, which may
    /// land a moment after the replies).
    async fn expect_event(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + ANSWER_WITHIN;
        loop {
            let events = self.events().await;
            if let Some(e) = events.iter().find(|e| wanted(e)) {
                return e.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no event {what}; recorded: {:#?}",
                self.system,
                events
                    .iter()
                    .map(|e| (e["kind"].clone(), e["data"].clone()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn expect_tag(&self, tag: &str) {
        self.expect_event(&format!("tag {tag}"), |e| {
            e["kind"] == "tag" && e["data"]["tag"] == tag
        })
        .await;
    }

    async fn expect_resolution(&self, resolution: &str) {
        self.expect_event(&format!("resolution {resolution}"), |e| {
            e["kind"] == "resolution" && e["data"]["resolution"] == resolution
        })
        .await;
    }

    /// The handoff message, its event to `sector` and the handed-off resolution.
    async fn expect_handoff(&self, sector_label: &str, sector: &str) {
        self.expect(&format!("transferir para o setor *{sector_label}*"))
            .await;
        self.expect_event(&format!("handoff to {sector}"), |e| {
            e["kind"] == "handoff" && e["data"]["sector"] == sector
        })
        .await;
        self.expect_resolution("handed_off").await;
    }

    /// RadiusNet: the record has no phone or e-mail to confirm the number with, so a person
    /// takes over before any data is shown.
    async fn expect_identity_handoff(&self, s: &Subscriber) {
        self.expect("Não consegui confirmar os dados do titular")
            .await;
        self.expect("transferir para o setor").await;
        self.expect_tag("nao_identificado").await;
        self.expect_resolution("handed_off").await;
        let texts: Vec<String> = self.outbound().await.iter().map(message_text).collect();
        for invoice in &s.invoices {
            assert!(
                !texts
                    .iter()
                    .any(|t| t.contains(&invoice.digitable_line) || t.contains(&invoice.pix_code)),
                "{}: invoice data shown to an unconfirmed number: {texts:#?}",
                self.system
            );
        }
        assert!(
            !texts.iter().any(|t| t.contains(&s.document)),
            "{}: document unmasked: {texts:#?}",
            self.system
        );
    }
}

fn message_text(m: &Value) -> String {
    let mut t = m["text"].as_str().unwrap_or_default().to_string();
    if let Some(doc) = m["document"]["link"].as_str() {
        t.push(' ');
        t.push_str(doc);
    }
    t
}

fn brl(cents: i64) -> String {
    Brl::from_cents(cents).format()
}

fn br_date(date: jiff::civil::Date) -> String {
    date.strftime("%d/%m/%Y").to_string()
}

fn unpaid(s: &Subscriber) -> Vec<&FakeInvoice> {
    let mut list: Vec<&FakeInvoice> = s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
    list.sort_by_key(|i| i.due_date);
    list
}

/// What the bot should show as owed for an invoice on this system.
fn owed(caps: Caps, invoice: &FakeInvoice) -> i64 {
    if caps.updated_amount {
        invoice.amount_due_cents()
    } else {
        invoice.amount_cents
    }
}

/// The protocol, date and time in "… *PROTOCOL*, aberto em DD/MM/YYYY às HH:MM".
fn protocol_parts(text: &str) -> (String, String, String) {
    let named = text.find("rotocolo").expect("the word protocolo");
    let start = named + text[named..].find('*').expect("protocol in bold") + 1;
    let len = text[start..].find('*').expect("closing *");
    let protocol = text[start..start + len].to_string();
    let rest = &text[start + len..];
    let at = rest.find("aberto em ").expect("date") + "aberto em ".len();
    let date = rest[at..at + 10].to_string();
    let time_at = rest.find(" às ").expect("time") + " às ".len();
    let time = rest[time_at..time_at + 5].to_string();
    (protocol, date, time)
}

// ---------------------------------------------------------------------------------------------
// One system's run
// ---------------------------------------------------------------------------------------------

struct Run {
    h: Harness,
    fake: RunningFake,
    caps: Caps,
    data: DataSet,
    clock: Arc<ShiftedClock>,
}

impl Run {
    fn system(&self) -> FakeSystem {
        self.caps.system
    }

    fn phone(&self, s: &Subscriber) -> Phone<'_> {
        Phone::new(&self.h, self.system(), &s.phones[0], &s.name)
    }

    /// A showcase subscriber (fixed profile, see `DataSet::generate`), checked against the
    /// profile the scenario relies on.
    fn showcase(&self, index: usize, status: FakeContractStatus) -> Subscriber {
        let s = self.data.subscribers[index].clone();
        assert!(!s.phones.is_empty(), "showcase {index} has a phone");
        assert_eq!(
            s.contracts.last().map(|c| c.status),
            Some(status),
            "showcase {index}"
        );
        s
    }

    /// The `nth` drawn subscriber with one active contract and a phone.
    fn drawn(&self, nth: usize) -> Subscriber {
        self.data
            .subscribers
            .iter()
            .skip(balcao_erp_fake::SHOWCASE_SUBSCRIBERS)
            .filter(|s| {
                !s.phones.is_empty()
                    && s.contracts.len() == 1
                    && s.contracts[0].status == FakeContractStatus::Active
            })
            .nth(nth)
            .cloned()
            .expect("enough drawn subscribers")
    }
}

async fn run_system(system: FakeSystem) {
    let started = Instant::now();
    let clock = Arc::new(ShiftedClock::default());
    let options = balcao::app::Options {
        clock: clock.clone(),
        ..Default::default()
    };
    let (h, fake) = Harness::start_with_erp_options(system.as_str(), 30, options).await;
    let data = fake.control.dataset();
    let run = Run {
        h,
        fake,
        caps: caps(system),
        data,
        clock,
    };
    debts_overdue_invoice_and_unlock_already_used(&run).await;
    unlock_not_blocked_with_protocol_and_menu_mid_flow(&run).await;
    unlock_refused_for_an_inactive_contract(&run).await;
    nothing_open_then_offline_connection_to_a_ticket(&run).await;
    suspended_for_debt_leads_to_the_invoice(&run).await;
    several_contracts_are_offered_as_a_list(&run).await;
    invalid_documents_lead_to_a_person(&run).await;
    invalid_menu_input_leads_to_a_person(&run).await;
    unknown_message_types_then_inactivity_close(&run).await;
    garbage_from_the_system_gets_an_apology_and_a_person(&run).await;
    eprintln!(
        "{system}: every scenario passed in {:?} ({} requests to the system)",
        started.elapsed(),
        run.fake.control.request_count()
    );
    run.fake.shutdown();
    if let Some(app) = run.h.app {
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Showcase 10 (suspended for debt, this month's unlock already used): the unlock is refused in
/// plain words with the invoice and the billing team offered; "quanto devo" lists every open
/// invoice with the total; the overdue one shows fine and interest (when the system gives them)
/// and the negotiation path, which hands off to billing.
async fn debts_overdue_invoice_and_unlock_already_used(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(10, FakeContractStatus::SuspendedDebt);
    let mut phone = run.phone(&s);
    phone.say("desbloqueia minha internet por favor").await;
    phone.expect("Protocolo").await;
    phone.identify(caps, &s).await;
    if !caps.confirmable {
        return phone.expect_identity_handoff(&s).await;
    }
    phone.expect("desbloqueio de confiança").await;
    phone.tap("Sim").await;
    let refusal = phone.expect("já foi usado neste período").await;
    let offered = Phone::choices(&refusal);
    assert!(
        offered.iter().any(|c| c.contains("financeiro"))
            && offered.iter().any(|c| c.contains("2ª via")),
        "{}: the refusal offers the invoice and the billing team: {offered:?}",
        caps.system
    );
    phone
        .expect_event("unlock refused as already used", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "trust_unlock"
                && e["data"]["granted"] == false
                && e["data"]["refusal"] == "already_used_unpaid"
        })
        .await;
    let contract = run.fake.control.contract(s.contracts[0].id).unwrap();
    assert_eq!(
        contract.status,
        FakeContractStatus::SuspendedDebt,
        "{}: a refused unlock changes nothing",
        caps.system
    );

    // "quanto devo": every open invoice and the total.
    let open = unpaid(&s);
    assert!(!open.is_empty(), "showcase 10 owes something");
    phone.say("quanto devo?").await;
    let debts = message_text(&phone.expect("Total em aberto").await);
    assert!(
        debts.contains(&format!("Você tem {} fatura(s) em aberto", open.len())),
        "{}: count of open invoices in {debts:?} (expected {})",
        caps.system,
        open.len()
    );
    for invoice in &open {
        let line = format!(
            "{} — {}",
            br_date(invoice.due_date),
            brl(owed(caps, invoice))
        );
        assert!(
            debts.contains(&line),
            "{}: {line:?} missing from {debts:?}",
            caps.system
        );
    }
    let total: i64 = open.iter().map(|i| owed(caps, i)).sum();
    assert!(
        debts.contains(&format!("Total em aberto: *{}*", brl(total))),
        "{}: total {} missing from {debts:?}",
        caps.system,
        brl(total)
    );
    phone.expect_tag("debitos").await;
    phone
        .expect_event("open invoices with their total", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "open_invoices"
                && e["data"]["count"] == open.len()
                && e["data"]["total_cents"] == total
        })
        .await;

    // The overdue invoice: fine and interest, and the negotiation path.
    let overdue = *open
        .iter()
        .find(|i| i.due_date < run.data.today)
        .expect("showcase 10 has an overdue invoice");
    phone.tap("2ª via").await;
    if open.len() > 1 {
        phone.expect("Qual delas você quer?").await;
        let title = format!("Venc. {}", br_date(overdue.due_date));
        phone.tap(&title).await;
    }
    let summary = message_text(&phone.expect("Fatura *vencida*").await);
    if caps.updated_amount {
        assert!(
            overdue.fine_cents + overdue.interest_cents > 0,
            "the fake charges fine and interest on overdue invoices"
        );
        assert!(
            summary.contains(&format!("Valor original: {}", brl(overdue.amount_cents)))
                && summary.contains(&format!(
                    "Valor atualizado com multa e juros: *{}*",
                    brl(overdue.amount_due_cents())
                )),
            "{}: fine and interest in {summary:?} (original {}, updated {})",
            caps.system,
            brl(overdue.amount_cents),
            brl(overdue.amount_due_cents())
        );
    } else {
        assert!(
            summary.contains(&format!("Valor: *{}*", brl(overdue.amount_cents)))
                && summary.contains("multa e juros podem ser cobrados"),
            "{}: face value with the fine note in {summary:?}",
            caps.system
        );
    }
    phone.tap("Negociar").await;
    phone.expect("negociar").await;
    phone.expect_handoff("Financeiro", "billing").await;
    phone.expect_tag("negociacao").await;
}

/// Showcase 0 (active): the protocol of the first reply is repeated with the same date and time
/// mid-flow; "menu" leaves the unlock question without unlocking; an unlock is refused because
/// nothing is blocked, with the connection check and a person offered; tapping the person hands
/// off to support.
async fn unlock_not_blocked_with_protocol_and_menu_mid_flow(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(0, FakeContractStatus::Active);
    let mut phone = run.phone(&s);
    phone.say("oi, boa noite").await;
    let greeting = message_text(&phone.expect("Protocolo").await);
    let (protocol, date, time) = protocol_parts(&greeting);
    let conversation = phone.conversation_id().await;
    assert!(
        protocol.len() == 15 && protocol.ends_with(&format!("{conversation:07}")),
        "{}: protocol {protocol} is the day and the conversation {conversation}",
        caps.system
    );
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap())
        .date();
    assert!(
        protocol.starts_with(&today.strftime("%Y%m%d").to_string()) && date == br_date(today),
        "{}: protocol {protocol} opened {date}",
        caps.system
    );
    if !caps.confirmable {
        // Asked before the document: once it is typed, a person takes over.
        phone.expect("CPF").await;
        phone.say("qual o protocolo?").await;
        let again = message_text(&phone.expect("Seu protocolo de atendimento").await);
        assert_eq!(
            protocol_parts(&again),
            (protocol, date, time),
            "{}",
            caps.system
        );
        phone.say(&s.document).await;
        return phone.expect_identity_handoff(&s).await;
    }
    phone.identify(caps, &s).await;
    phone.expect("Como posso ajudar?").await;
    phone.say("3").await;
    phone.expect("desbloqueio de confiança").await;

    phone.say("qual o protocolo?").await;
    let again = message_text(&phone.expect("Seu protocolo de atendimento").await);
    assert_eq!(
        protocol_parts(&again),
        (protocol.clone(), date, time),
        "{}: the same protocol, date and time",
        caps.system
    );
    phone
        .expect_event("protocol repeated", |e| {
            e["kind"] == "protocol_repeated" && e["data"]["protocol"] == protocol
        })
        .await;

    phone.say("menu").await;
    phone.expect("Como posso ajudar?").await;
    let events = phone.events().await;
    assert!(
        !events
            .iter()
            .any(|e| e["kind"] == "erp_request" && e["data"]["operation"] == "trust_unlock"),
        "{}: \"menu\" at the confirmation must not unlock: {events:?}",
        caps.system
    );

    phone.say("libera minha internet").await;
    phone.expect("desbloqueio de confiança").await;
    phone.tap("Sim").await;
    let refusal = phone.expect("não está bloqueado").await;
    let offered = Phone::choices(&refusal);
    assert!(
        offered.iter().any(|c| c.contains("Sem conexão"))
            && offered.iter().any(|c| c.contains("atendente")),
        "{}: the refusal offers the connection check and a person: {offered:?}",
        caps.system
    );
    phone
        .expect_event("unlock refused as not blocked", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "trust_unlock"
                && e["data"]["refusal"] == "not_blocked"
        })
        .await;
    phone.tap("atendente").await;
    phone.expect_handoff("Suporte técnico", "support").await;
    phone.expect_tag("atendente").await;
    phone.expect_tag("desbloqueio").await;
}

/// Showcase 7 (cancelled contract): the unlock is refused in plain words and the billing team
/// is offered.
async fn unlock_refused_for_an_inactive_contract(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(7, FakeContractStatus::Cancelled);
    let mut phone = run.phone(&s);
    phone.say("quero o desbloqueio de confiança").await;
    phone.expect("Protocolo").await;
    phone.identify(caps, &s).await;
    if !caps.confirmable {
        return phone.expect_identity_handoff(&s).await;
    }
    phone.expect("*desbloqueio de confiança* do contrato").await;
    phone.tap("Sim").await;
    let refusal = phone.expect("cancelado ou inativo").await;
    assert!(
        Phone::choices(&refusal)
            .iter()
            .any(|c| c.contains("financeiro")),
        "{}: the billing team is offered",
        caps.system
    );
    phone
        .expect_event("unlock refused as inactive", |e| {
            e["kind"] == "erp_result" && e["data"]["refusal"] == "contract_inactive"
        })
        .await;
    phone.tap("financeiro").await;
    phone.expect_handoff("Financeiro", "billing").await;
}

/// Showcase 11 (active, everything paid, offline): "segunda via" says nothing is open; "to sem
/// net" checks the connection, gives the router steps, and "não voltou" opens a ticket whose
/// protocol is told with the conversation's protocol; "obrigado" closes resolved by the bot.
async fn nothing_open_then_offline_connection_to_a_ticket(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(11, FakeContractStatus::Active);
    assert!(unpaid(&s).is_empty() && !s.contracts[0].online);
    let mut phone = run.phone(&s);
    phone.say("me manda a segunda via do boleto").await;
    let greeting = message_text(&phone.expect("Protocolo").await);
    let (protocol, _, _) = protocol_parts(&greeting);
    phone.identify(caps, &s).await;
    if !caps.confirmable {
        return phone.expect_identity_handoff(&s).await;
    }
    phone.expect("não há faturas em aberto").await;
    phone
        .expect_event("no open invoice", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "open_invoices"
                && e["data"]["count"] == 0
        })
        .await;

    let tickets_before = run.fake.control.tickets().len();
    phone.say("to sem net desde ontem").await;
    if !caps.connection {
        phone
            .expect("não está disponível no atendimento automático")
            .await;
        phone.expect_handoff("Suporte técnico", "support").await;
        return;
    }
    if caps.knows_online {
        phone.expect("aparece *desconectada*").await;
    } else {
        phone
            .expect("Não consegui ver o estado da sua conexão")
            .await;
    }
    phone.expect("Desligue o roteador").await;
    phone.tap("Não voltou").await;
    if !caps.tickets {
        phone
            .expect("não está disponível no atendimento automático")
            .await;
        phone.expect_handoff("Suporte técnico", "support").await;
        assert_eq!(run.fake.control.tickets().len(), tickets_before);
        return;
    }
    let opened = message_text(&phone.expect("Abri o chamado").await);
    let tickets = run.fake.control.tickets();
    let ticket = tickets
        .iter()
        .find(|t| t.subscriber_id == s.id)
        .unwrap_or_else(|| panic!("{}: a ticket in the system: {tickets:?}", caps.system));
    assert!(
        opened.contains(&format!("*{}*", ticket.protocol)),
        "{}: the ticket's protocol {} in {opened:?}",
        caps.system,
        ticket.protocol
    );
    assert!(
        opened.contains(&format!("Protocolo do atendimento: {protocol}")),
        "{}: the conversation's protocol in {opened:?}",
        caps.system
    );
    assert!(
        ticket.description.contains(&protocol),
        "{}: the ticket carries the conversation's protocol: {:?}",
        caps.system,
        ticket.description
    );
    phone.expect_tag("conexao").await;
    phone
        .expect_event("ticket opened", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "open_ticket"
                && e["data"]["ticket_protocol"] == ticket.protocol
        })
        .await;
    phone.say("obrigado").await;
    phone.expect(&format!("Seu protocolo é {protocol}")).await;
    phone.expect_resolution("resolved_by_bot").await;
}

/// Showcase 2 (suspended for debt): "caiu a internet" finds the block and goes to the invoice;
/// "atendente" mid-flow hands off to billing.
async fn suspended_for_debt_leads_to_the_invoice(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(2, FakeContractStatus::SuspendedDebt);
    let mut phone = run.phone(&s);
    phone.say("caiu a internet aqui").await;
    phone.expect("Protocolo").await;
    phone.identify(caps, &s).await;
    if !caps.confirmable {
        return phone.expect_identity_handoff(&s).await;
    }
    if !caps.connection {
        phone
            .expect("não está disponível no atendimento automático")
            .await;
        return phone.expect_handoff("Suporte técnico", "support").await;
    }
    phone.expect("suspensa por pendência financeira").await;
    let open = unpaid(&s);
    if open.len() > 1 {
        phone.expect("Qual delas você quer?").await;
    } else {
        phone.expect("Como você prefere pagar?").await;
    }
    phone.expect_tag("fatura").await;
    phone.say("atendente").await;
    phone.expect_handoff("Financeiro", "billing").await;
    phone.expect_tag("atendente").await;
}

/// Showcase 8 (a company with two contracts, the second suspended for debt): the contracts come
/// as a list message; choosing the suspended one and confirming unlocks it in the system.
async fn several_contracts_are_offered_as_a_list(run: &Run) {
    let caps = run.caps;
    let s = run.showcase(8, FakeContractStatus::SuspendedDebt);
    assert_eq!(s.contracts.len(), 2);
    let mut phone = run.phone(&s);
    phone.say("preciso de desbloqueio").await;
    phone.expect("Protocolo").await;
    phone.identify(caps, &s).await;
    if !caps.confirmable {
        return phone.expect_identity_handoff(&s).await;
    }
    if !caps.every_contract {
        // Only the first login is found: its unlock is asked for; the subscriber says no.
        phone.expect("*desbloqueio de confiança* do contrato").await;
        phone.tap("Não").await;
        phone.expect("não pedi o desbloqueio").await;
        phone.expect("Posso ajudar em algo mais?").await;
        let contract = run.fake.control.contract(s.contracts[1].id).unwrap();
        assert_eq!(contract.status, FakeContractStatus::SuspendedDebt);
        return;
    }
    let list = phone.expect("mais de um contrato").await;
    let rows: Vec<Value> = list["list"]["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|section| section["rows"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "{}: one row per contract: {list:#}",
        caps.system
    );
    phone
        .tap_where("the suspended contract", |row| {
            row["description"]
                .as_str()
                .is_some_and(|d| d.contains("Suspenso por débito"))
        })
        .await;
    phone.expect("*desbloqueio de confiança* do contrato").await;
    phone.tap("Sim").await;
    let granted = message_text(&phone.expect("liberada em confiança").await);
    let contract = run.fake.control.contract(s.contracts[1].id).unwrap();
    assert!(
        contract.unlock_used_this_month && contract.status == FakeContractStatus::TrustUnlocked,
        "{}: the chosen contract was unlocked: {contract:?}",
        caps.system
    );
    let first = run.fake.control.contract(s.contracts[0].id).unwrap();
    assert_eq!(first.status, FakeContractStatus::Active, "{}", caps.system);
    let until = contract.unlock_until.expect("until");
    let days = (until - run.data.today).get_days();
    assert!(
        granted.contains(&format!("até *{}*", br_date(until)))
            || granted.contains(&format!("por *{days} dia(s)*")),
        "{}: until {} in {granted:?}",
        caps.system,
        br_date(until)
    );
    phone
        .expect_event("unlock granted", |e| {
            e["kind"] == "erp_result"
                && e["data"]["operation"] == "trust_unlock"
                && e["data"]["granted"] == true
        })
        .await;
}

/// An unknown number: an invalid CPF gets the reason, an unknown one says so (masked), and
/// after the third failure a person takes over.
async fn invalid_documents_lead_to_a_person(run: &Run) {
    let caps = run.caps;
    let unknown = "5521988887777";
    assert!(
        !run.data
            .subscribers
            .iter()
            .any(|s| s.phones.iter().any(|p| p.ends_with("88887777"))),
        "the test number belongs to nobody"
    );
    let nobody = "00000000191"; // valid check digits, nobody's
    assert!(run.data.subscriber_by_document(nobody).is_none());
    let mut phone = Phone::new(&run.h, caps.system, unknown, "Visitante");
    phone.say("2 via").await;
    phone.expect("Protocolo").await;
    if caps.by_phone {
        phone
            .expect("Não encontrei um cadastro com este número de WhatsApp")
            .await;
    } else {
        phone.expect("digite o *CPF* ou *CNPJ*").await;
    }
    phone.say("000.000.001-91").await;
    let not_found = message_text(&phone.expect("Não encontrei cadastro com o CPF").await);
    assert!(
        not_found.contains("***.000.001-**") && !not_found.contains(nobody),
        "{}: the document is masked: {not_found:?}",
        caps.system
    );
    phone.say("123.456.789-00").await;
    phone.expect("dígitos verificadores não conferem").await;
    phone.say("12345678").await;
    phone.expect("Não consegui localizar o seu cadastro").await;
    phone.expect_handoff("Financeiro", "billing").await;
    phone.expect_tag("nao_identificado").await;
    let events = phone.events().await;
    let rejected = events
        .iter()
        .filter(|e| e["kind"] == "document_rejected")
        .count();
    assert_eq!(
        rejected, 2,
        "{}: two invalid documents: {events:#?}",
        caps.system
    );
    assert!(
        !events.iter().any(|e| e.to_string().contains(nobody)),
        "{}: documents are masked in the records",
        caps.system
    );
}

/// A drawn subscriber at the menu: three messages the bot cannot use — each answered with help
/// and the menu again — then a person.
async fn invalid_menu_input_leads_to_a_person(run: &Run) {
    let caps = run.caps;
    let s = run.drawn(0);
    let mut phone = run.phone(&s);
    phone.say("olá").await;
    phone.expect("Protocolo").await;
    // RadiusNet stays at the CPF question (a typed document would hand off): the same rule
    // applies there.
    let prompt = if caps.confirmable {
        phone.identify(caps, &s).await;
        phone.expect("Como posso ajudar?").await;
        "Como posso ajudar?"
    } else {
        phone.expect("CPF").await;
        "CPF"
    };
    for (attempt, nonsense) in ["9", "xablau", "fjdksla qwpeo"].into_iter().enumerate() {
        phone.say(nonsense).await;
        if attempt < 2 {
            phone.expect("Desculpe, não entendi").await;
            phone.expect("Digite *menu*").await;
            phone.expect(prompt).await;
        }
    }
    phone.expect("não estou conseguindo te ajudar").await;
    phone.expect("transferir para o setor").await;
    phone.expect_tag("nao_compreendido").await;
    phone.expect_resolution("handed_off").await;
    let events = phone.events().await;
    let counts: Vec<i64> = events
        .iter()
        .filter(|e| e["kind"] == "invalid_input")
        .filter_map(|e| e["data"]["count"].as_i64())
        .collect();
    assert_eq!(counts, [1, 2, 3], "{}: {events:#?}", caps.system);
}

/// A location and a sticker get a helpful answer (what the bot reads, how to get out, and the
/// question again); then silence gets a reminder and, later, a polite close as abandoned.
async fn unknown_message_types_then_inactivity_close(run: &Run) {
    let caps = run.caps;
    let s = run.drawn(1);
    let mut phone = run.phone(&s);
    phone.say("bom dia").await;
    let (protocol, _, _) = protocol_parts(&message_text(&phone.expect("Protocolo").await));
    let prompt = if caps.confirmable {
        phone.identify(caps, &s).await;
        "Como posso ajudar?"
    } else {
        "CPF"
    };
    phone.expect(prompt).await;
    phone.send_location().await;
    phone.expect("só consigo ler mensagens de texto").await;
    phone.expect("Digite *menu*").await;
    phone.expect(prompt).await;
    phone.send_sticker().await;
    phone.expect("só consigo ler mensagens de texto").await;
    phone.expect(prompt).await;
    phone
        .expect_event("media counted as not understood", |e| {
            e["kind"] == "inbound" && e["data"]["source"] == "media"
        })
        .await;

    // Silence: the app's clock steps over the reminder and then the close.
    phone.seen = phone.settle().await;
    run.clock.advance(Duration::from_secs(11 * 60));
    phone.expect("Você ainda está por aí?").await;
    phone.expect("encerro este atendimento em 10 minutos").await;
    phone
        .expect_event("inactivity reminder", |e| {
            e["kind"] == "inactivity_reminder"
        })
        .await;
    phone.seen = phone.settle().await;
    run.clock.advance(Duration::from_secs(11 * 60));
    let close = message_text(&phone.expect("encerrei este atendimento").await);
    assert!(
        close.contains(&protocol),
        "{}: the close carries the protocol: {close:?}",
        caps.system
    );
    phone.expect_resolution("abandoned").await;
    phone
        .expect_event("bot closed", |e| e["kind"] == "bot_closed")
        .await;
    let said = phone.said().await;
    assert_eq!(
        said.len(),
        1,
        "{}: one close message, nothing else: {said:?}",
        caps.system
    );
}

/// The system answers garbage (cut JSON): an apology and a person, never silence.
async fn garbage_from_the_system_gets_an_apology_and_a_person(run: &Run) {
    let caps = run.caps;
    let s = run.drawn(2);
    let mut phone = run.phone(&s);
    run.fake.control.set_faults(Faults {
        truncated_json_rate: 1.0,
        ..Faults::default()
    });
    phone.say("preciso da segunda via").await;
    phone.expect("Protocolo").await;
    if !caps.by_phone {
        phone.expect("CPF").await;
        phone.say(&s.document).await;
    }
    phone.expect("Desculpe! 😓").await;
    phone.expect_handoff("Financeiro", "billing").await;
    phone.expect_tag("sistema_indisponivel").await;
    phone
        .expect_event("the failed call", |e| {
            e["kind"] == "erp_result" && e["data"]["ok"] == false
        })
        .await;
    run.fake.control.set_faults(Faults::default());
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

fn panic_text(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into()),
        Err(error) => error.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_and_bad_input_on_every_management_system() {
    let runs: Vec<_> = FakeSystem::ALL
        .into_iter()
        .map(|system| (system, tokio::spawn(run_system(system))))
        .collect();
    let mut failures = Vec::new();
    for (system, run) in runs {
        if let Err(error) = run.await {
            failures.push(format!("{system}: {}", panic_text(error)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// After the inactivity close the subscriber is told "se precisar, é só mandar uma mensagem":
/// the next message is answered, as a new contact with a new protocol (the close closed the
/// conversation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_after_the_inactivity_close_is_answered() {
    let clock = Arc::new(ShiftedClock::default());
    let options = balcao::app::Options {
        clock: clock.clone(),
        ..Default::default()
    };
    let (h, fake) = Harness::start_with_erp_options("sgp", 30, options).await;
    let data = fake.control.dataset();
    let s = data.subscribers[0].clone();
    let mut phone = Phone::new(&h, FakeSystem::Sgp, &s.phones[0], &s.name);
    phone.say("oi").await;
    let (protocol, _, _) = protocol_parts(&message_text(&phone.expect("Protocolo").await));
    phone.expect("Como posso ajudar?").await;
    phone.seen = phone.settle().await;
    clock.advance(Duration::from_secs(11 * 60));
    phone.expect("Você ainda está por aí?").await;
    phone.seen = phone.settle().await;
    clock.advance(Duration::from_secs(11 * 60));
    phone.expect("encerrei este atendimento").await;
    phone.seen = phone.settle().await;
    phone.say("oi, voltei").await;
    let (again, _, _) = protocol_parts(&message_text(&phone.expect("Protocolo").await));
    assert_ne!(
        again, protocol,
        "a new contact gets a new protocol (Anatel RGC art. 9)"
    );
}

/// "qual o protocolo" after a handoff still gets the protocol (Anatel: the subscriber can ask
/// for it again at any time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocol_is_repeated_after_a_handoff() {
    let (h, fake) = Harness::start_with_erp("sgp", 30).await;
    let data = fake.control.dataset();
    let s = data.subscribers[0].clone();
    let mut phone = Phone::new(&h, FakeSystem::Sgp, &s.phones[0], &s.name);
    phone.say("quero falar com o financeiro").await;
    let (protocol, _, _) = protocol_parts(&message_text(&phone.expect("Protocolo").await));
    phone.expect("transferir para o setor").await;
    phone.say("qual o protocolo?").await;
    phone.expect(&format!("*{protocol}*")).await;
}
