//! The billing ladder report's contract ([`LadderMetricsStore`]) every backend passes:
//!
//! ```text
//! balcao_store::ladder_metrics_contract_suite!(async { Some(make_fresh_store().await) });
//! balcao_store::ladder_metrics_contract_suite!(async { make().await }, |store| async move { teardown });
//! ```

use crate::contract::{PHONE_A, PHONE_A_OLD, PHONE_B, T0, batch, status_update, text_message};
use crate::*;
use balcao_domain::outbound::SendError;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::Pricing;
use jiff::civil::{Date, date};

/// Expands to one `#[tokio::test]` per ladder report contract test.
#[macro_export]
macro_rules! ladder_metrics_contract_suite {
    ($make:expr) => {
        $crate::ladder_metrics_contract_suite!($make, |_store| async {});
    };
    ($make:expr, $teardown:expr) => {
        $crate::__ladder_metrics_contract_tests!($make, $teardown;
            ladder_facts_follow_each_send,
            ladder_facts_page_by_day_within_the_range_and_workspace,
            ladder_payment_time_is_recorded_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __ladder_metrics_contract_tests {
    ($make:expr, $teardown:expr; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = $make.await else {
                return;
            };
            $crate::Store::migrate(&store).await.expect("migrate");
            $crate::contract_ladder_metrics::$name(&store).await;
            let teardown = $teardown;
            teardown(store).await;
        }
    )*};
}

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

fn wa(text: &str) -> WaId {
    WaId::parse(text).expect("valid wa_id")
}

async fn workspace<S: Store>(
    store: &S,
    slug: &str,
    phone_number_id: &str,
) -> (WorkspaceId, NumberId) {
    let ws = store
        .create_workspace(NewWorkspace {
            slug: slug.into(),
            name: format!("Provedor {slug}"),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .expect("create workspace")
        .id;
    let number = store
        .create_number(
            ws,
            NewNumber {
                phone_number_id: phone_number_id.into(),
                display_phone_number: format!("+55 16 3{phone_number_id}"),
                waba_id: format!("waba-{phone_number_id}"),
                throughput_mps: 80,
            },
        )
        .await
        .expect("create number")
        .id;
    (ws, number)
}

fn receivable(invoice: &str, customer: &str, wa_id: &str, late: u32) -> NewReceivable {
    NewReceivable {
        invoice_id: invoice.into(),
        customer_id: customer.into(),
        customer_name: format!("Cliente {customer}"),
        contract_id: None,
        due: date(2026, 11, 25),
        amount_cents: 9990,
        person: None,
        plan_value_cents: None,
        city: None,
        region: None,
        late_payments_last_12m: late,
        suspended: false,
        wa_id: Some(wa(wa_id)),
        time_zone: None,
    }
}

fn record(
    invoice: &str,
    step: &str,
    status: LadderSendStatus,
    variant: Option<&str>,
    day: Date,
    detail: Option<&str>,
) -> NewLadderSend {
    NewLadderSend {
        invoice_id: invoice.into(),
        customer_id: format!("c-{invoice}"),
        step_key: step.into(),
        status,
        variant: variant.map(str::to_owned),
        local_date: day,
        detail: detail.map(str::to_owned),
    }
}

fn reminder(number: NumberId, to: &str, key: &str) -> NewOutbound {
    crate::contract::text_out(number, to, Some(key), "Sua fatura vence em 2 dias")
}

/// Records a step and returns its id and its message's id (when one was queued).
async fn recorded<S: Store>(
    store: &S,
    ws: WorkspaceId,
    send: NewLadderSend,
    outbound: Option<NewOutbound>,
    at: Millis,
) -> (i64, Option<MessageId>) {
    match store
        .record_ladder_send(ws, &send, outbound, at)
        .await
        .expect("record")
    {
        LadderRecorded::Recorded { send, .. } => (send.id, send.message_id),
        LadderRecorded::AlreadyHandled(send) => panic!("already handled: {send:?}"),
    }
}

async fn facts<S: Store>(
    store: &S,
    ws: WorkspaceId,
    from: Date,
    to: Date,
    after: Option<(Date, i64)>,
    limit: u32,
) -> Vec<LadderSendFacts> {
    store
        .ladder_send_facts(
            ws,
            &LadderFactsQuery {
                from,
                to,
                follow_up_millis: LADDER_FOLLOW_UP_MILLIS,
            },
            after,
            limit,
        )
        .await
        .expect("facts")
}

pub async fn ladder_facts_follow_each_send<S: Store + Clone>(store: &S) {
    let (ws, number) = workspace(store, "relatorio", "920001").await;
    let day = date(2026, 11, 23);
    store
        .upsert_receivables(
            ws,
            &[
                receivable("inv-1", "c-inv-1", PHONE_A, 0),
                receivable("inv-2", "c-inv-2", PHONE_B, 4),
            ],
            T0 - DAY,
        )
        .await
        .expect("snapshot");
    let (_, delivered) = recorded(
        store,
        ws,
        record(
            "inv-1",
            "d-2",
            LadderSendStatus::Sent,
            Some("curto"),
            day,
            None,
        ),
        Some(reminder(number, PHONE_A, "ladder:d-2:inv-1")),
        T0,
    )
    .await;
    let (_, undelivered) = recorded(
        store,
        ws,
        record(
            "inv-2",
            "d-2",
            LadderSendStatus::Sent,
            Some("longo"),
            day,
            None,
        ),
        Some(reminder(number, PHONE_B, "ladder:d-2:inv-2")),
        T0,
    )
    .await;
    recorded(
        store,
        ws,
        record(
            "inv-3",
            "d0",
            LadderSendStatus::Failed,
            None,
            day,
            Some("conteúdo inválido"),
        ),
        None,
        T0,
    )
    .await;
    let (delivered, undelivered) = (delivered.expect("message"), undelivered.expect("message"));

    // The sender hands both over; one is accepted, the other fails for good.
    let claimed = store
        .claim_outbound(number, T0, 10, 60_000)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    store
        .record_send_outcomes(
            &[
                SendOutcome::Accepted {
                    message_id: delivered,
                    wamid: "wamid.regua-1".into(),
                    wa_id: None,
                },
                SendOutcome::Failed {
                    message_id: undelivered,
                    error: SendError {
                        code: 131026,
                        title: "Message undeliverable".into(),
                        details: None,
                    },
                },
            ],
            T0 + 1000,
        )
        .await
        .expect("outcomes");
    // Delivered and read, billed as utility.
    let mut statuses = Vec::new();
    for (status, at) in [
        (DeliveryStatus::Delivered, T0 + 2000),
        (DeliveryStatus::Read, T0 + 3000),
    ] {
        let mut update = status_update("920001", "wamid.regua-1", status, at);
        update.pricing = Some(Pricing {
            billable: Some(true),
            pricing_model: Some("PMP".into()),
            pricing_type: Some("regular".into()),
            category: Some("utility".into()),
        });
        statuses.push(update);
    }
    store
        .ingest(&[batch(vec![], statuses)], T0 + 4000)
        .await
        .expect("statuses");
    // PHONE_A answers from the old 8-digit form within the hour, then opts out; PHONE_B wrote
    // before the reminder and again after the window: neither counts.
    let inbound = vec![
        text_message(
            "920001",
            "wamid.in-1",
            PHONE_A_OLD,
            T0 + HOUR,
            "Já vou pagar",
        ),
        text_message("920001", "wamid.in-2", PHONE_B, T0 - HOUR, "Oi"),
        text_message("920001", "wamid.in-3", PHONE_B, T0 + 8 * DAY, "Oi de novo"),
    ];
    store
        .ingest(&[batch(inbound, vec![])], T0 + 8 * DAY)
        .await
        .expect("inbound");
    for (phone, at) in [(PHONE_A, T0 + 2 * HOUR), (PHONE_B, T0 + 9 * DAY)] {
        store
            .set_ladder_consent(
                ws,
                &ConsentChange {
                    wa_id: wa(phone),
                    customer_id: None,
                    opted_out: true,
                    source: "text:SAIR".into(),
                },
                at,
            )
            .await
            .expect("opt-out");
    }
    // inv-1: the ladder learned of its payment 3 h later; the system's event says the day.
    assert!(
        store
            .record_ladder_payment_time(ws, "inv-1", T0 + 3 * HOUR)
            .await
            .expect("payment time")
    );
    store
        .set_erp_connection(ws, "sgp", "http://sgp", "x", T0)
        .await
        .expect("erp");
    store
        .record_payments(
            ws,
            &[NewPaymentEvent {
                invoice_erp_id: "inv-1".into(),
                contract_erp_id: None,
                customer_erp_id: None,
                paid_at: T0 - 9 * HOUR,
                amount_cents: 9990,
                detected_by: "poll:sgp".into(),
            }],
            T0 + 4 * HOUR,
            T0 + 4 * HOUR,
        )
        .await
        .expect("payment event");

    let got = facts(store, ws, day, day, None, 100).await;
    assert_eq!(got.len(), 3, "{got:#?}");
    let by_invoice = |invoice: &str| {
        got.iter()
            .find(|f| f.invoice_id == invoice)
            .unwrap_or_else(|| panic!("{invoice} reported"))
    };

    let one = by_invoice("inv-1");
    assert_eq!(one.step_key, "d-2");
    assert_eq!(one.status, LadderSendStatus::Sent);
    assert_eq!(one.variant.as_deref(), Some("curto"));
    assert_eq!(one.local_date, day);
    assert_eq!(one.recorded_at, T0);
    assert_eq!(one.due, Some(date(2026, 11, 25)));
    assert_eq!(one.late_payments_last_12m, Some(0));
    assert_eq!(one.delivery, Some(DeliveryStatus::Read));
    assert_eq!(one.pricing_category.as_deref(), Some("utility"));
    assert!(one.billable);
    assert!(one.replied, "a reply from the other 9th-digit form counts");
    assert!(one.opted_out);
    assert_eq!(one.ladder_paid_at, Some(T0 + 3 * HOUR));
    assert_eq!(one.payment_paid_at, Some(T0 - 9 * HOUR));
    assert_eq!(one.payment_recorded_at, Some(T0 + 4 * HOUR));
    assert_eq!((one.error_code, one.error_title.as_deref()), (None, None));

    let two = by_invoice("inv-2");
    assert_eq!(two.variant.as_deref(), Some("longo"));
    assert_eq!(two.late_payments_last_12m, Some(4));
    assert_eq!(two.delivery, Some(DeliveryStatus::Failed));
    assert_eq!(two.error_code, Some(131026));
    assert_eq!(two.error_title.as_deref(), Some("Message undeliverable"));
    assert!(!two.billable);
    assert!(
        !two.replied,
        "messages before the send or after the window do not count"
    );
    assert!(!two.opted_out, "an opt-out after the window does not count");
    assert_eq!(
        (
            two.ladder_paid_at,
            two.payment_paid_at,
            two.payment_recorded_at
        ),
        (None, None, None)
    );

    let three = by_invoice("inv-3");
    assert_eq!(three.status, LadderSendStatus::Failed);
    assert_eq!(three.detail.as_deref(), Some("conteúdo inválido"));
    assert_eq!(three.delivery, None);
    assert_eq!((three.due, three.late_payments_last_12m), (None, None));
    assert!(!three.replied && !three.opted_out && !three.billable);
}

pub async fn ladder_facts_page_by_day_within_the_range_and_workspace<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "relatorio-paginas", "920002").await;
    let (other, _) = workspace(store, "relatorio-outro", "920003").await;
    let days = [
        date(2026, 11, 20),
        date(2026, 11, 21),
        date(2026, 11, 21),
        date(2026, 11, 22),
        date(2026, 11, 23),
        date(2026, 11, 24),
    ];
    // Recorded out of day order: the pages follow the day, then the id.
    let mut ids = Vec::new();
    for (i, day) in days.iter().enumerate().rev() {
        let invoice = format!("inv-{i}");
        let (id, _) = recorded(
            store,
            ws,
            record(&invoice, "d0", LadderSendStatus::Obsolete, None, *day, None),
            None,
            T0 + i as Millis,
        )
        .await;
        ids.push((*day, id, invoice));
    }
    recorded(
        store,
        other,
        record(
            "inv-x",
            "d0",
            LadderSendStatus::Obsolete,
            None,
            date(2026, 11, 22),
            None,
        ),
        None,
        T0,
    )
    .await;
    ids.sort();
    let expected: Vec<String> = ids
        .iter()
        .filter(|(day, _, _)| *day >= date(2026, 11, 21) && *day <= date(2026, 11, 23))
        .map(|(_, _, invoice)| invoice.clone())
        .collect();
    assert_eq!(expected.len(), 4);

    let (from, to) = (date(2026, 11, 21), date(2026, 11, 23));
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = facts(store, ws, from, to, after, 3).await;
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some((last.local_date, last.id));
        seen.extend(page.iter().map(|f| f.invoice_id.clone()));
    }
    assert_eq!(seen, expected, "every record of the range once, in order");
    // A cursor from before the range starts at its first day.
    let early = facts(
        store,
        ws,
        from,
        to,
        Some((date(2026, 11, 1), i64::MAX)),
        100,
    )
    .await;
    assert_eq!(early.len(), 4);
    assert!(facts(store, other, from, to, None, 100).await.len() == 1);
    let none = facts(store, ws, date(2026, 12, 1), date(2026, 12, 31), None, 100).await;
    assert!(none.is_empty());
}

pub async fn ladder_payment_time_is_recorded_once<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "relatorio-pago", "920004").await;
    let (other, _) = workspace(store, "relatorio-pago-outro", "920005").await;
    store
        .upsert_receivables(ws, &[receivable("inv-1", "c-1", PHONE_A, 0)], T0)
        .await
        .expect("snapshot");
    store
        .upsert_receivables(other, &[receivable("inv-1", "c-1", PHONE_A, 0)], T0)
        .await
        .expect("snapshot");
    assert!(
        !store
            .record_ladder_payment_time(ws, "inv-unknown", T0)
            .await
            .unwrap(),
        "not in the snapshot"
    );
    assert!(
        store
            .record_ladder_payment_time(ws, "inv-1", T0 + HOUR)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_ladder_payment_time(ws, "inv-1", T0 + 2 * HOUR)
            .await
            .unwrap(),
        "the first time wins"
    );
    // A sync refreshing the row keeps the time.
    store
        .upsert_receivables(ws, &[receivable("inv-1", "c-1", PHONE_A, 0)], T0 + DAY)
        .await
        .expect("resync");
    let (_, _) = recorded(
        store,
        ws,
        record(
            "inv-1",
            "d0",
            LadderSendStatus::SkippedPaid,
            None,
            date(2026, 11, 23),
            None,
        ),
        None,
        T0,
    )
    .await;
    let (_, _) = recorded(
        store,
        other,
        record(
            "inv-1",
            "d0",
            LadderSendStatus::SkippedPaid,
            None,
            date(2026, 11, 23),
            None,
        ),
        None,
        T0,
    )
    .await;
    let day = date(2026, 11, 23);
    let mine = facts(store, ws, day, day, None, 10).await;
    assert_eq!(mine[0].ladder_paid_at, Some(T0 + HOUR));
    let theirs = facts(store, other, day, day, None, 10).await;
    assert_eq!(
        theirs[0].ladder_paid_at, None,
        "another workspace's invoice of the same id is untouched"
    );
}
