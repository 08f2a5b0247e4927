//! The billing ladder end to end, wired as `balcao demo` wires it: real SQLite, the WhatsApp
//! simulator, the fake management system over HTTP, and the demo clock moved through
//! `POST /api/v1/demo/clock`. The planner's rules (segments, hours, holidays, catch-up, a payment
//! between planning and sending) are covered by the ladder and engine unit tests; this checks the
//! wiring: reminders reach the phone day by day, a payment thanks and restores, an opt-out
//! silences, and a restart on the same data sends nothing twice.

mod common;

use balcao::app::{self, Options, RunningApp};
use balcao::bench::TempDir;
use balcao::demo::{self, DemoSetup};
use balcao::demo_clock::{self, DemoClock};
use balcao_engine::Clock;
use balcao_engine::payments::PaymentSyncConfig;
use balcao_erp_fake::{DataSet, RunningFake};
use balcao_erp_fake::{FakeContractStatus, FakeInvoice, FakeInvoiceStatus, Subscriber};
use balcao_simulator::Simulator;
use common::eventually;
use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const SUBSCRIBERS: usize = 200;
const SEED: u64 = 7;
/// The fake system's "today": its invoices fall due on the 5th, 10th … 25th, and 2027-01-20 is
/// a Wednesday whose D-5, D-2 and D0 are business days with no holiday.
const TODAY: Date = date(2027, 1, 12);

struct Node {
    app: RunningApp,
    clock: DemoClock,
}

/// One app on `addr` over the data in `setup`, with the ladder on and the demo clock mounted.
async fn start_node(
    setup: &DemoSetup,
    sim: &Arc<Simulator>,
    fake: &RunningFake,
    clock: Arc<balcao_engine::OffsetClock>,
) -> Node {
    let addr: std::net::SocketAddr = setup.config.listen.parse().unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let store = app::open_store(None, &setup.config.data_dir).await.unwrap();
    let demo_clock = DemoClock {
        clock: clock.clone(),
        simulator: Some(sim.clone()),
        ladder: Default::default(),
    };
    let options = Options {
        bot: balcao_engine::bot::BotConfig {
            enabled: false,
            ..Default::default()
        },
        desk: false,
        ladder: true,
        ladder_config: Arc::new(demo_clock::demo_ladder_config()),
        payments: PaymentSyncConfig {
            interval: Duration::from_millis(300),
            ..PaymentSyncConfig::default()
        },
        clock,
        extra_routes: Some(
            sim.router()
                .merge(demo::subscribers_route(fake.control.clone()))
                .merge(demo_clock::clock_route(demo_clock.clone())),
        ),
        ..Options::default()
    };
    let app = app::start(&setup.config, store, listener, options)
        .await
        .unwrap();
    let _ = demo_clock.ladder.set(app.ladder.clone());
    Node {
        app,
        clock: demo_clock,
    }
}

/// Moves the demo clock over HTTP (which runs the ladder) and returns the new time as answered.
async fn move_clock(http: &reqwest::Client, addr: std::net::SocketAddr, body: Value) -> String {
    let r = http
        .post(format!("http://{addr}/api/v1/demo/clock"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ladder_ran"], true, "{v}");
    v["now"].as_str().unwrap().to_owned()
}

fn unpaid(s: &Subscriber) -> Vec<&FakeInvoice> {
    s.invoices.iter().filter(|i| i.status.is_unpaid()).collect()
}

/// A subscriber with one phone and exactly one unpaid, open invoice due on `due`.
fn due_soon_subscribers(data: &DataSet, due: Date) -> Vec<&Subscriber> {
    data.subscribers
        .iter()
        .filter(|s| s.phones.len() == 1 && s.phones[0].len() == 13)
        .filter(|s| {
            let open = unpaid(s);
            open.len() == 1 && open[0].due_date == due && open[0].status == FakeInvoiceStatus::Open
        })
        .collect()
}

/// Outbound messages the phone showed (text as rendered).
fn shown_out(sim: &Simulator, wa_id: &str) -> Vec<(String, String)> {
    shown_out_at(sim, wa_id)
        .into_iter()
        .map(|(kind, text, _)| (kind, text))
        .collect()
}

/// [`shown_out`] with the phone's (demo-clock) time of each message.
fn shown_out_at(sim: &Simulator, wa_id: &str) -> Vec<(String, String, jiff::Zoned)> {
    let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap();
    sim.chat(wa_id)
        .map(|c| {
            c.messages
                .iter()
                .filter(|m| m.direction == balcao_simulator::Direction::Out && m.shown)
                .map(|m| {
                    let at = jiff::Timestamp::from_second(m.timestamp.parse().unwrap())
                        .unwrap()
                        .to_zoned(tz.clone());
                    (m.kind.clone(), m.text.clone().unwrap_or_default(), at)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn ladder_templates(sim: &Simulator, wa_id: &str) -> Vec<String> {
    shown_out(sim, wa_id)
        .into_iter()
        .filter(|(kind, text)| kind == "template" && text.contains("CNPJ 11.222.333/0001-81"))
        .map(|(_, text)| text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_arrive_day_by_day_then_payment_thanks_and_restores() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    let data = DataSet::generate(SUBSCRIBERS, SEED, TODAY);
    // A due date whose D-5, D-2 and D0 are all business days: a Wednesday (no holiday near it).
    let (due, subs) = (0..40)
        .map(|d| TODAY + d.days())
        .filter(|d| d.weekday() == Weekday::Wednesday && *d >= TODAY + 5.days())
        .map(|d| (d, due_soon_subscribers(&data, d)))
        .find(|(_, subs)| subs.len() >= 3)
        .expect("three subscribers due on the same Wednesday");
    let payer = subs[0].clone();
    let quitter = subs[1].clone();
    let early_payer = subs[2].clone();
    // A contract suspended for debt whose overdue invoices fall in the ladder's sync window.
    let suspended = data
        .subscribers
        .iter()
        .find(|s| {
            s.phones.len() == 1
                && s.phones[0].len() == 13
                && s.contracts.len() == 1
                && s.contracts[0].status == FakeContractStatus::SuspendedDebt
                && !unpaid(s).is_empty()
                && unpaid(s)
                    .iter()
                    .any(|i| i.due_date >= due - 25.days() && i.due_date < due - 5.days())
        })
        .cloned()
        .expect("a subscriber suspended for debt");

    let fake = demo::start_fake_erp_on("sgp", SUBSCRIBERS, SEED, TODAY)
        .await
        .unwrap();
    let dir = TempDir::new("balcao-ladder-e2e");
    let addr = balcao::bench::free_addr();
    let mut setup = demo::demo_setup(addr, dir.0.join("data"), None, None, 80);
    demo::attach_fake_erp(&mut setup, &fake);
    let sim = Simulator::new(setup.simulator.clone());
    sim.spawn_workers();
    let http = app::http_client();

    // D-6, Thursday 09:00 in São Paulo: no step is due for the chosen invoice yet.
    let d6 = (due - 6.days())
        .at(9, 0, 0, 0)
        .in_tz("America/Sao_Paulo")
        .unwrap()
        .timestamp()
        .as_millisecond();
    let clock = Arc::new(balcao_engine::OffsetClock::starting_at(d6));
    // The phone's clock moves with the demo's (inbound timestamps, the 24-hour window).
    sim.advance_clock(Duration::from_millis(clock.offset() as u64));
    let node = start_node(&setup, &sim, &fake, clock.clone()).await;
    assert!(ladder_templates(&sim, &payer.phones[0]).is_empty());

    // The quitter opts out by text before the first reminder.
    let r = http
        .post(format!("http://{addr}/simulator/api/messages"))
        .json(&json!({"from": quitter.phones[0], "name": quitter.name, "text": "SAIR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    eventually(20, "opt-out confirmation", || {
        let out = shown_out(&sim, &quitter.phones[0]);
        async move {
            out.iter()
                .any(|(_, t)| t.contains("não receberá mais lembretes"))
                .then_some(())
        }
    })
    .await;

    // D-5 (Friday): the informative reminder.
    let now = move_clock(&http, addr, json!({"advance": "PT24H"})).await;
    assert!(now.starts_with(&(due - 5.days()).to_string()), "{now}");
    eventually(20, "D-5 on the phone", || {
        let sent = ladder_templates(&sim, &payer.phones[0]);
        async move { (sent.len() == 1).then_some(()) }
    })
    .await;
    assert!(ladder_templates(&sim, &payer.phones[0])[0].contains("Lembrete"));

    // A restart on the same data at the same moment sends nothing twice.
    node.app.stop().await;
    let node = start_node(&setup, &sim, &fake, clock.clone()).await;
    move_clock(&http, addr, json!({"advance": "PT1M"})).await;

    // Someone pays over the weekend: no more reminders for that invoice, only the thanks.
    assert_eq!(ladder_templates(&sim, &early_payer.phones[0]).len(), 1);
    let at = jiff::Timestamp::from_millisecond(clock.now()).unwrap();
    assert!(fake.control.mark_paid(unpaid(&early_payer)[0].id, at));

    // D-2 (Monday) and D0 (Wednesday): payment ready, then the last call.
    let now = move_clock(&http, addr, json!({"advance": "PT72H"})).await;
    assert!(now.starts_with(&(due - 2.days()).to_string()), "{now}");
    eventually(20, "D-2 on the phone", || {
        let sent = ladder_templates(&sim, &payer.phones[0]);
        async move { (sent.len() == 2).then_some(()) }
    })
    .await;
    move_clock(&http, addr, json!({"advance": "PT48H"})).await;
    eventually(20, "D0 on the phone", || {
        let sent = ladder_templates(&sim, &payer.phones[0]);
        async move { (sent.len() == 3).then_some(()) }
    })
    .await;
    let sent = ladder_templates(&sim, &payer.phones[0]);
    assert!(sent[1].contains("Pix copia e cola"), "{}", sent[1]);
    assert!(sent[2].contains("vence hoje"), "{}", sent[2]);
    // Another run the same day adds nothing (one message per subscriber per day, each step once).
    move_clock(&http, addr, json!({"advance": "PT2H"})).await;

    // The payer pays: the poller sees it, the ladder thanks.
    let at = jiff::Timestamp::from_millisecond(node.clock.clock.now()).unwrap();
    assert!(fake.control.mark_paid(unpaid(&payer)[0].id, at));
    eventually(30, "thank-you after payment", || {
        let out = shown_out(&sim, &payer.phones[0]);
        async move {
            out.iter()
                .any(|(_, t)| t.contains("Recebemos o pagamento"))
                .then_some(())
        }
    })
    .await;

    // The suspended subscriber pays everything: thanks and restoration.
    let wa = suspended
        .phones
        .iter()
        .find(|p| p.len() == 13)
        .unwrap()
        .clone();
    for invoice in unpaid(&suspended) {
        assert!(fake.control.mark_paid(invoice.id, at));
    }
    eventually(30, "restoration after payment", || {
        let out = shown_out(&sim, &wa);
        async move {
            (out.iter().any(|(_, t)| t.contains("Recebemos o pagamento"))
                && out
                    .iter()
                    .any(|(_, t)| t.contains("conexão foi restabelecida")))
            .then_some(())
        }
    })
    .await;

    // Days later: nothing more for the paid invoice, nothing ever for the quitter.
    move_clock(&http, addr, json!({"advance": "PT24H"})).await;
    move_clock(&http, addr, json!({"advance": "PT48H"})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ladder_templates(&sim, &payer.phones[0]).len(), 3);
    assert_eq!(ladder_templates(&sim, &early_payer.phones[0]).len(), 1);
    assert!(
        shown_out(&sim, &early_payer.phones[0])
            .iter()
            .any(|(_, t)| t.contains("Recebemos o pagamento"))
    );
    assert!(
        ladder_templates(&sim, &quitter.phones[0]).is_empty(),
        "{:?}",
        shown_out(&sim, &quitter.phones[0])
    );
    // Nothing was sent twice, and every reminder went out on a weekday inside 08:00–18:00.
    for s in [&payer, &quitter, &early_payer, &suspended] {
        for phone in &s.phones {
            for (_, text, at) in shown_out_at(&sim, phone) {
                if text.contains("CNPJ 11.222.333/0001-81") {
                    assert!(
                        !matches!(at.weekday(), Weekday::Saturday | Weekday::Sunday)
                            && (8..18).contains(&at.hour()),
                        "{at}: {text}"
                    );
                }
            }
            let sent = ladder_templates(&sim, phone);
            let unique: std::collections::HashSet<&String> = sent.iter().collect();
            assert_eq!(unique.len(), sent.len(), "{phone}: {sent:?}");
        }
    }
    node.app.stop().await;
}
