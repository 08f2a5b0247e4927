//! The self-service bot end to end: a subscriber on the simulated phone, the app over HTTP, and
//! each management system's fake over HTTP.

mod common;

use balcao_erp_fake::{FakeContractStatus, Subscriber};
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A subscriber's phone in a test: says things, taps replies, reads what the bot answered.
struct Phone<'a> {
    h: &'a Harness,
    wa_id: String,
    name: String,
    seen: usize,
}

impl<'a> Phone<'a> {
    fn new(h: &'a Harness, wa_id: &str, name: &str) -> Self {
        Phone {
            h,
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

    async fn say(&mut self, text: &str) {
        self.seen = self.outbound().await.len();
        self.h.phone_says(&self.wa_id, &self.name, text).await;
    }

    /// Waits for a new bot message containing `needle`; returns it.
    async fn expect(&mut self, needle: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.outbound().await;
            if let Some(m) = out
                .iter()
                .skip(self.seen)
                .find(|m| message_text(m).contains(needle))
            {
                return m.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no bot message containing {needle:?}; got {:#?}",
                out.iter()
                    .skip(self.seen)
                    .map(message_text)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Taps the newest reply button or list row whose title contains `title`.
    async fn tap(&mut self, title: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self.outbound().await;
            for m in out.iter().rev() {
                for option in m["reply_options"].as_array().into_iter().flatten() {
                    if option["title"].as_str().unwrap_or_default().contains(title) {
                        self.seen = out.len();
                        self.h.phone_sends(json!({"from": self.wa_id, "name": self.name, "button_reply": {"id": option["id"], "title": option["title"]}})).await;
                        return;
                    }
                }
                for section in m["list"]["sections"].as_array().into_iter().flatten() {
                    for row in section["rows"].as_array().into_iter().flatten() {
                        if row["title"].as_str().unwrap_or_default().contains(title) {
                            self.seen = out.len();
                            self.h.phone_sends(json!({"from": self.wa_id, "name": self.name, "list_reply": {"id": row["id"], "title": row["title"]}})).await;
                            return;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "nothing to tap titled {title:?}; the bot said {:#?}",
                out.iter()
                    .map(|m| (message_text(m), m["buttons"].clone(), m["list"].clone()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Taps the first row of the newest list, if the bot sent one after the last thing we did.
    async fn tap_first_row_if_listed(&mut self) -> bool {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let out = self.outbound().await;
        let Some(m) = out
            .iter()
            .skip(self.seen)
            .rev()
            .find(|m| m["list"].is_object())
        else {
            return false;
        };
        let row = m["list"]["sections"][0]["rows"][0].clone();
        self.seen = out.len();
        self.h.phone_sends(json!({"from": self.wa_id, "name": self.name, "list_reply": {"id": row["id"], "title": row["title"]}})).await;
        true
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

fn with_open_invoice(s: &Subscriber) -> bool {
    s.invoices.iter().any(|i| i.status.is_unpaid()) && !s.phones.is_empty()
}

async fn events_of(h: &Harness, wa_id: &str) -> Vec<Value> {
    let conv = h.conversation_of(wa_id).await;
    let (_, v) = h
        .api_get(&format!("/api/v1/conversations/{}/events", conv["id"]))
        .await;
    v["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_copy_with_pix_and_the_protocol_on_every_management_system() {
    for system in ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"] {
        eprintln!("system: {system}");
        let (h, fake) = Harness::start_with_erp(system, 30).await;
        let data = fake.control.dataset();
        let s = data
            .subscribers
            .iter()
            .find(|s| with_open_invoice(s))
            .expect("subscriber with an open invoice");
        let mut phone = Phone::new(&h, &s.phones[0], &s.name);
        phone.say("oi, preciso da segunda via da fatura").await;
        phone.expect("Protocolo").await;
        // Systems without phone lookup ask for the CPF/CNPJ.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let asked_document = phone
            .outbound()
            .await
            .iter()
            .any(|m| message_text(m).contains("CPF"));
        if asked_document {
            phone.say(&s.document).await;
        }
        if system == "radiusnet" {
            // RadiusNet's API gives no phone or e-mail of the customer: the number cannot be
            // confirmed as the customer's, so invoice data is not shown and a person takes over.
            phone.expect("transferir").await;
            let events = events_of(&h, &s.phones[0]).await;
            assert!(
                events.iter().any(|e| e["kind"] == "handoff"),
                "{system}: {events:?}"
            );
            fake.shutdown();
            continue;
        }
        phone.tap_first_row_if_listed().await;
        phone.tap("Pix").await;
        let pix = phone.expect("br.gov.bcb.pix").await;
        let code = message_text(&pix);
        let code = code.trim();
        assert!(
            balcao_domain::br::pix::PixCode::parse(code).is_ok(),
            "{system}: not a valid Pix code: {code}"
        );
        let events = events_of(&h, &s.phones[0]).await;
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "tag" && e["data"]["tag"] == "fatura"),
            "{system}: tagged by reason: {events:?}"
        );
        fake.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_number_is_identified_by_cpf_with_a_confirmation_step() {
    let (h, fake) = Harness::start_with_erp("sgp", 30).await;
    let data = fake.control.dataset();
    let s = data
        .subscribers
        .iter()
        .find(|s| with_open_invoice(s) && s.document.len() == 11)
        .unwrap();
    let mut phone = Phone::new(&h, "5521999990000", "Alguém");
    phone.say("boleto").await;
    phone.expect("CPF").await;
    phone.say("123.456.789-00").await;
    phone.expect("CPF").await; // a clear message about the invalid CPF, asking again
    phone.say(&s.document).await;
    // Not this customer's number: nothing about invoices is revealed before the confirmation.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let revealed = phone.outbound().await.iter().any(|m| {
        let t = message_text(m);
        s.invoices
            .iter()
            .any(|i| t.contains(&i.digitable_line) || t.contains(&i.pix_code))
            || t.contains(&s.name)
    });
    assert!(
        !revealed,
        "invoice data or name shown to an unregistered number"
    );
    let texts: Vec<String> = phone.outbound().await.iter().map(message_text).collect();
    assert!(
        !texts.iter().any(|t| t.contains(&s.document)),
        "the document is masked in every message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_management_system_leads_to_an_apology_and_a_handoff() {
    let (h, fake) = Harness::start_with_erp("hubsoft", 20).await;
    fake.control.set_faults(balcao_erp_fake::Faults {
        down: true,
        ..Default::default()
    });
    let data = fake.control.dataset();
    let s = data
        .subscribers
        .iter()
        .find(|s| with_open_invoice(s))
        .unwrap();
    let mut phone = Phone::new(&h, &s.phones[0], &s.name);
    phone.say("segunda via").await;
    phone.expect("Protocolo").await;
    phone.expect("transferir").await;
    let events = events_of(&h, &s.phones[0]).await;
    assert!(events.iter().any(|e| e["kind"] == "handoff"), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_unlock_and_connection_check_give_protocols() {
    let (h, fake) = Harness::start_with_erp("sgp", 60).await;
    let data = fake.control.dataset();
    let blocked = data
        .subscribers
        .iter()
        .find(|s| {
            !s.phones.is_empty()
                && s.contracts.len() == 1
                && s.contracts[0].status == FakeContractStatus::SuspendedDebt
                && !s.contracts[0].unlock_used_this_month
        })
        .expect("a subscriber suspended for debt with the unlock available");
    let mut phone = Phone::new(&h, &blocked.phones[0], &blocked.name);
    phone.say("desbloqueia minha internet por favor").await;
    phone.tap("Sim").await;
    phone.expect("liberada em confiança").await;
    let contract = fake.control.contract(blocked.contracts[0].id).unwrap();
    assert!(
        contract.unlock_used_this_month,
        "the management system recorded the unlock"
    );

    let offline = data
        .subscribers
        .iter()
        .find(|s| {
            !s.phones.is_empty()
                && s.contracts.len() == 1
                && s.contracts[0].status == FakeContractStatus::Active
                && !s.contracts[0].online
        })
        .expect("an active subscriber offline");
    let mut phone = Phone::new(&h, &offline.phones[0], &offline.name);
    phone.say("to sem net desde ontem").await;
    phone.expect("roteador").await;
    phone.tap("Não").await;
    phone.expect("chamado").await;
    assert!(
        !fake.control.tickets().is_empty(),
        "a ticket was opened in the management system"
    );
}
