//! Replies to billing-ladder reminders end to end: the ladder sends its real D-2 template (with
//! the quick-reply payloads `ladder:<code>:<invoice>`) through the simulator, the subscriber
//! taps "Pagar com Pix" on the phone and gets that invoice's Pix code from the fake management
//! system; then types "já paguei" while the invoice is still open, is asked for the receipt,
//! sends a photo (Meta's signed webhook: the simulated phone sends no media) and lands in the
//! desk's Financeiro queue with a summary that names the invoice and the ladder step.
//! The flows' rules (every button, bad payloads, system down, unverified numbers) are covered by
//! the bot's unit tests (`crates/bot/tests/reminders.rs`).

mod common;

use balcao::app::Options;
use balcao::demo::{self, DEMO_PHONE_NUMBER_ID};
use balcao::demo_clock;
use balcao_domain::ConversationId;
use balcao_erp_fake::{DataSet, FakeInvoice, FakeInvoiceStatus, Subscriber};
use balcao_simulator::{Direction, ReplyKind, Simulator};
use common::{Harness, envelope, eventually};
use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const SUBSCRIBERS: usize = 200;
const SEED: u64 = 7;
/// The fake system's "today" (its invoices fall due on the 5th, 10th … 25th).
const TODAY: Date = date(2027, 1, 12);

/// A subscriber with one mobile phone (with the 9th digit) and exactly one unpaid invoice, open
/// and due on a day whose D-2 is a Tuesday to Thursday without a holiday near it.
fn subscriber_due_soon(data: &DataSet) -> (Subscriber, FakeInvoice) {
    data.subscribers
        .iter()
        .filter(|s| s.phones.len() == 1 && s.phones[0].len() == 13)
        .find_map(|s| {
            let unpaid: Vec<&FakeInvoice> =
                s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
            let [invoice] = unpaid[..] else {
                return None;
            };
            let d2 = invoice.due_date - 2.days();
            let quiet_day = matches!(
                d2.weekday(),
                Weekday::Tuesday | Weekday::Wednesday | Weekday::Thursday
            ) && d2 > TODAY
                && d2 < date(2027, 2, 5)
                && d2 != date(2027, 1, 25);
            (invoice.status == FakeInvoiceStatus::Open && quiet_day)
                .then(|| (s.clone(), invoice.clone()))
        })
        .expect("a subscriber with one open invoice due soon")
}

/// Texts the phone received, in order.
fn received(sim: &Simulator, wa_id: &str) -> Vec<String> {
    sim.chat(wa_id)
        .map(|chat| {
            chat.messages
                .iter()
                .filter(|m| m.direction == Direction::Out && m.shown)
                .map(|m| m.text.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

async fn expect_text(sim: &Simulator, wa_id: &str, needle: &str) {
    eventually(30, needle, || {
        let texts = received(sim, wa_id);
        async move { texts.iter().any(|t| t.contains(needle)).then_some(()) }
    })
    .await;
}

async fn events(h: &Harness, conversation: i64) -> Vec<Value> {
    let (_, v) = h
        .api_get(&format!("/api/v1/conversations/{conversation}/events"))
        .await;
    v["events"].as_array().cloned().unwrap_or_default()
}

async fn expect_event(h: &Harness, conversation: i64, what: &str, wanted: impl Fn(&Value) -> bool) {
    let wanted = &wanted;
    eventually(30, what, || async move {
        events(h, conversation)
            .await
            .iter()
            .any(wanted)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pix_tap_gets_the_code_and_a_receipt_reaches_the_financeiro_queue() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let fake = demo::start_fake_erp_on("sgp", SUBSCRIBERS, SEED, TODAY)
        .await
        .unwrap();
    let (subscriber, invoice) = subscriber_due_soon(&fake.control.dataset());
    let wa = subscriber.phones[0].clone();

    // D-2 at 10:30 in São Paulo (08:30 in the westernmost zone): the ladder's first run, right
    // at start, sends the "payment ready" reminder with its Pix and boleto buttons.
    let d2 = (invoice.due_date - 2.days())
        .at(10, 30, 0, 0)
        .in_tz("America/Sao_Paulo")
        .unwrap()
        .timestamp()
        .as_millisecond();
    let clock = Arc::new(balcao_engine::OffsetClock::starting_at(d2));
    let options = Options {
        ladder: true,
        ladder_config: Arc::new(demo_clock::demo_ladder_config()),
        clock: clock.clone(),
        ..Options::default()
    };
    let h = Harness::start_with(None, |setup| demo::attach_fake_erp(setup, &fake), options).await;
    // The phone's clock moves with the app's (inbound timestamps open the 24-hour window).
    h.sim
        .advance_clock(Duration::from_millis(clock.offset().max(0) as u64));
    let cast = h.desk_cast().await;

    let (payload, title) = eventually(60, "the D-2 reminder with a Pix button", || {
        let chat = h.sim.chat(&wa);
        async move {
            chat?.messages.iter().find_map(|m| {
                m.reply_options
                    .iter()
                    .find(|o| {
                        o.kind == ReplyKind::TemplateButton && o.id.starts_with("ladder:pix:")
                    })
                    .map(|o| (o.id.clone(), o.title.clone()))
            })
        }
    })
    .await;
    let invoice_id = payload.trim_start_matches("ladder:pix:").to_owned();

    // The tap: the bot greets with the protocol, finds the subscriber by phone and sends the
    // Pix code of THAT invoice.
    h.phone_sends(json!({
        "from": wa,
        "name": subscriber.name,
        "template_button": {"payload": payload, "text": title},
    }))
    .await;
    expect_text(&h.sim, &wa, "Protocolo").await;
    expect_text(&h.sim, &wa, &invoice.pix_code).await;
    let conversation = h.conversation_of(&wa).await["id"].as_i64().unwrap();
    expect_event(&h, conversation, "ladder_reply for pix at D-2", |e| {
        e["kind"] == "ladder_reply"
            && e["data"]["ask"] == "pix"
            && e["data"]["invoice_erp_id"] == invoice_id.as_str()
            && e["data"]["step"] == "d-2"
    })
    .await;
    expect_event(&h, conversation, "tag regua_pix", |e| {
        e["kind"] == "tag" && e["data"]["tag"] == "regua_pix"
    })
    .await;

    // "Já paguei" typed: the system still shows it open, so the bot asks for the receipt.
    h.phone_says(&wa, &subscriber.name, "já paguei").await;
    expect_text(&h.sim, &wa, "Ainda não consta o pagamento").await;
    expect_event(&h, conversation, "the fresh read of the invoice", |e| {
        e["kind"] == "erp_request" && e["data"]["operation"] == "invoice"
    })
    .await;

    // The receipt, as a photo.
    let photo = envelope(
        DEMO_PHONE_NUMBER_ID,
        json!({
            "contacts": [{"profile": {"name": subscriber.name}, "wa_id": wa}],
            "messages": [{
                "from": wa,
                "id": format!("wamid.receipt.{wa}"),
                "timestamp": h.sim.now_secs().to_string(),
                "type": "image",
                "image": {"id": "9001", "mime_type": "image/jpeg", "sha256": "abc"}
            }]
        }),
    );
    let status = h.post_webhook(photo.to_string().as_bytes(), None).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    expect_text(&h.sim, &wa, "Recebi o seu comprovante").await;
    expect_text(&h.sim, &wa, "transferir para o setor *Financeiro*").await;

    // In the desk: the Financeiro queue, with what the bot learnt.
    let store = h.store();
    let ws = h.workspace().await;
    let desk = eventually(30, "the desk conversation in Financeiro", || {
        let store = store.clone();
        async move {
            store
                .desk_conversation(ws, ConversationId(conversation))
                .await
                .unwrap()
                .filter(|d| d.queue_id.is_some())
        }
    })
    .await;
    assert_eq!(desk.queue_id, Some(cast.financeiro));
    let summary = desk.summary.unwrap_or_default();
    let due = invoice.due_date.strftime("%d/%m/%Y").to_string();
    for needle in [
        "comprovante enviado",
        &format!("fatura de {due} (nº {invoice_id})"),
        "vence em 2 dias (lembrete D-2 da régua)",
        "Enviou o comprovante (foto)",
        "Régua de cobrança: respondeu ao lembrete D-2",
    ] {
        assert!(summary.contains(needle), "{needle:?} not in {summary}");
    }
    for tag in ["pagamento_informado", "comprovante"] {
        expect_event(&h, conversation, tag, |e| {
            e["kind"] == "tag" && e["data"]["tag"] == tag
        })
        .await;
    }
    fake.shutdown();
    if let Some(app) = h.app {
        app.stop().await;
    }
}
