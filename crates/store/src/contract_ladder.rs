//! The billing ladder's contract ([`LadderStore`]) every backend passes:
//!
//! ```text
//! balcao_store::ladder_contract_suite!(async { Some(make_fresh_store().await) });
//! balcao_store::ladder_contract_suite!(async { make().await }, |store| async move { teardown });
//! ```

use crate::contract::{PHONE_A, PHONE_A_OLD, PHONE_B, T0, text_out};
use crate::*;
use jiff::civil::date;

/// Expands to one `#[tokio::test]` per ladder contract test.
#[macro_export]
macro_rules! ladder_contract_suite {
    ($make:expr) => {
        $crate::ladder_contract_suite!($make, |_store| async {});
    };
    ($make:expr, $teardown:expr) => {
        $crate::__ladder_contract_tests!($make, $teardown;
            ladder_each_step_is_recorded_once_under_concurrent_recorders,
            ladder_send_and_message_are_one_transaction,
            ladder_snapshot_pages_by_customer_and_closes_unseen,
            ladder_sent_today_counts_sent_only,
            ladder_opt_out_is_honoured_for_both_digit_forms,
            ladder_payment_marks_paid_and_reports_the_row_before,
            ladder_workspaces_are_isolated,
            ladder_pages_carry_handled_steps_and_last_day,
            ladder_skips_are_one_batch_and_payment_pulls_back_queued,
            ladder_behaviour_is_counted_from_logged_payments,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __ladder_contract_tests {
    ($make:expr, $teardown:expr; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = $make.await else {
                return;
            };
            $crate::Store::migrate(&store).await.expect("migrate");
            $crate::contract_ladder::$name(&store).await;
            let teardown = $teardown;
            teardown(store).await;
        }
    )*};
}

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

fn receivable(invoice: &str, customer: &str, wa_id: Option<&str>) -> NewReceivable {
    NewReceivable {
        invoice_id: invoice.into(),
        customer_id: customer.into(),
        customer_name: format!("Cliente {customer}"),
        contract_id: Some(format!("ct-{customer}")),
        due: date(2026, 11, 28),
        amount_cents: 9990,
        person: Some(balcao_domain::br::DocumentKind::Cpf),
        plan_value_cents: Some(9990),
        city: Some("Ribeirão Preto".into()),
        region: None,
        late_payments_last_12m: 1,
        suspended: false,
        wa_id: wa_id.map(wa),
        time_zone: None,
    }
}

fn send(invoice: &str, customer: &str, step: &str, status: LadderSendStatus) -> NewLadderSend {
    NewLadderSend {
        invoice_id: invoice.into(),
        customer_id: customer.into(),
        step_key: step.into(),
        status,
        variant: None,
        local_date: date(2026, 11, 23),
        detail: None,
    }
}

async fn outbound_total<S: Store>(store: &S, ws: WorkspaceId) -> u64 {
    store
        .outbound_counts(ws)
        .await
        .expect("counts")
        .iter()
        .map(|(_, n)| n)
        .sum()
}

pub async fn ladder_each_step_is_recorded_once_under_concurrent_recorders<S: Store + Clone>(
    store: &S,
) {
    let (ws, number) = workspace(store, "regua-once", "910001").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_ladder_send(
                    ws,
                    &send("inv-1", "c-1", "d-2", LadderSendStatus::Sent),
                    Some(text_out(
                        number,
                        PHONE_A,
                        Some("ladder:d-2:inv-1"),
                        "Lembrete",
                    )),
                    T0,
                )
                .await
                .expect("record")
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        if let LadderRecorded::Recorded { enqueued, .. } = task.await.expect("join") {
            assert!(enqueued.expect("message queued with the record").created);
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1, "exactly one recorder wins");
    assert_eq!(
        outbound_total(store, ws).await,
        1,
        "exactly one message queued"
    );
    let sends = store.ladder_sends(ws, "inv-1").await.expect("sends");
    assert_eq!(sends.len(), 1);
    assert!(
        sends[0].message_id.is_some(),
        "the record names its message"
    );
    // A later step of the same invoice is its own record.
    let later = store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d0", LadderSendStatus::Sent),
            Some(text_out(
                number,
                PHONE_A,
                Some("ladder:d0:inv-1"),
                "Vence hoje",
            )),
            T0 + 1,
        )
        .await
        .expect("record d0");
    assert!(matches!(later, LadderRecorded::Recorded { .. }));
    assert_eq!(outbound_total(store, ws).await, 2);
}

pub async fn ladder_send_and_message_are_one_transaction<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-tx", "910002").await;
    let (_, foreign_number) = workspace(store, "regua-tx-other", "910003").await;
    // A number of another workspace: the message cannot be queued, so nothing is recorded.
    let refused = store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-5", LadderSendStatus::Sent),
            Some(text_out(
                foreign_number,
                PHONE_A,
                Some("ladder:d-5:inv-1"),
                "x",
            )),
            T0,
        )
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert!(
        store
            .ladder_sends(ws, "inv-1")
            .await
            .expect("sends")
            .is_empty()
    );
    // A record without a message (obsolete step) stands alone.
    let obsolete = store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-5", LadderSendStatus::Obsolete),
            None,
            T0,
        )
        .await
        .expect("record obsolete");
    let LadderRecorded::Recorded {
        send: row,
        enqueued,
    } = obsolete
    else {
        panic!("new record expected");
    };
    assert_eq!(row.status, LadderSendStatus::Obsolete);
    assert!(enqueued.is_none() && row.message_id.is_none());
    let again = store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-5", LadderSendStatus::Sent),
            None,
            T0 + 5,
        )
        .await
        .expect("repeat");
    assert!(
        matches!(again, LadderRecorded::AlreadyHandled(ref s) if s.status == LadderSendStatus::Obsolete),
        "{again:?}"
    );
}

pub async fn ladder_snapshot_pages_by_customer_and_closes_unseen<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-page", "910004").await;
    let rows: Vec<NewReceivable> = (0..25)
        .map(|i| {
            receivable(
                &format!("inv-{i:03}"),
                &format!("c-{:02}", i % 7),
                Some(PHONE_B),
            )
        })
        .collect();
    assert_eq!(
        store.upsert_receivables(ws, &rows, T0).await.expect("sync"),
        25
    );
    let mut seen = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = store
            .ladder_receivables_page(ws, after.as_ref().map(|(c, i)| (c.as_str(), i.as_str())), 4)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        let last = &page.last().expect("non-empty").receivable;
        after = Some((last.customer_id.clone(), last.invoice_id.clone()));
        seen.extend(
            page.into_iter()
                .map(|r| (r.receivable.customer_id, r.receivable.invoice_id)),
        );
    }
    let mut expected: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.customer_id.clone(), r.invoice_id.clone()))
        .collect();
    expected.sort();
    assert_eq!(
        seen, expected,
        "every open row once, by (customer, invoice)"
    );

    // A later sync of the same window no longer lists inv-000: it is closed, the rest stay.
    store
        .upsert_receivables(ws, &rows[1..], T0 + 1000)
        .await
        .expect("sync again");
    let closed = store
        .close_unseen_receivables(ws, date(2026, 11, 1), date(2026, 11, 30), T0 + 1000)
        .await
        .expect("close");
    assert_eq!(closed, 1);
    let gone = store
        .ladder_receivable(ws, "inv-000")
        .await
        .expect("read")
        .expect("kept");
    assert!(gone.removed);
    let open = store
        .ladder_receivables_page(ws, None, 100)
        .await
        .expect("page");
    assert_eq!(open.len(), 24);
    // Listed again: open again.
    store
        .upsert_receivables(ws, &rows[..1], T0 + 2000)
        .await
        .expect("sync");
    assert_eq!(
        store
            .ladder_receivables_page(ws, None, 100)
            .await
            .expect("page")
            .len(),
        25
    );
}

pub async fn ladder_sent_today_counts_sent_only<S: Store + Clone>(store: &S) {
    let (ws, number) = workspace(store, "regua-today", "910005").await;
    store
        .upsert_receivables(ws, &[receivable("inv-1", "c-1", Some(PHONE_B))], T0)
        .await
        .expect("sync");
    let day = date(2026, 11, 23);
    assert!(!store.ladder_sent_today(ws, "c-1", day).await.expect("q"));
    store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-5", LadderSendStatus::Obsolete),
            None,
            T0,
        )
        .await
        .expect("obsolete");
    assert!(
        !store.ladder_sent_today(ws, "c-1", day).await.expect("q"),
        "an obsolete step is not a message"
    );
    store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-2", LadderSendStatus::Sent),
            Some(text_out(number, PHONE_B, Some("ladder:d-2:inv-1"), "x")),
            T0,
        )
        .await
        .expect("sent");
    assert!(store.ladder_sent_today(ws, "c-1", day).await.expect("q"));
    assert!(
        !store
            .ladder_sent_today(ws, "c-1", date(2026, 11, 24))
            .await
            .expect("q")
    );
    assert!(!store.ladder_sent_today(ws, "c-2", day).await.expect("q"));
    let row = store
        .ladder_receivable(ws, "inv-1")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.last_sent_on, Some(day));
    let mut handled = row.handled_steps.clone();
    handled.sort();
    assert_eq!(handled, vec!["d-2".to_owned(), "d-5".to_owned()]);
    assert!(row.handled("d-2") && !row.handled("d0"));
}

pub async fn ladder_opt_out_is_honoured_for_both_digit_forms<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-optout", "910006").await;
    store
        .upsert_receivables(
            ws,
            &[
                receivable("inv-a", "c-a", Some(PHONE_A)),
                receivable("inv-b", "c-b", Some(PHONE_B)),
            ],
            T0,
        )
        .await
        .expect("sync");
    let opted = |rows: &[LadderReceivable], invoice: &str| {
        rows.iter()
            .find(|r| r.receivable.invoice_id == invoice)
            .expect("row")
            .opted_out
    };
    let rows = store
        .ladder_receivables_page(ws, None, 10)
        .await
        .expect("page");
    assert!(!opted(&rows, "inv-a") && !opted(&rows, "inv-b"));
    // "SAIR" from the old 8-digit form of A's number.
    let out = ConsentChange {
        wa_id: wa(PHONE_A_OLD),
        customer_id: None,
        opted_out: true,
        source: "text:SAIR".into(),
    };
    assert!(
        store
            .set_ladder_consent(ws, &out, T0 + 10)
            .await
            .expect("opt out")
    );
    assert!(
        !store
            .set_ladder_consent(ws, &out, T0 + 20)
            .await
            .expect("again"),
        "a repeated opt-out changes nothing"
    );
    let rows = store
        .ladder_receivables_page(ws, None, 10)
        .await
        .expect("page");
    assert!(opted(&rows, "inv-a"), "both digit forms are one subscriber");
    assert!(!opted(&rows, "inv-b"));
    let consent = store
        .ladder_consent(ws, &wa(PHONE_A))
        .await
        .expect("consent")
        .expect("stated");
    assert!(consent.opted_out);
    assert_eq!(consent.changed_at, T0 + 10);
    assert_eq!(consent.source, "text:SAIR");
    // Opt-in again.
    let back = ConsentChange {
        opted_out: false,
        source: "agent:1".into(),
        ..out
    };
    assert!(
        store
            .set_ladder_consent(ws, &back, T0 + 30)
            .await
            .expect("opt in")
    );
    let rows = store
        .ladder_receivables_page(ws, None, 10)
        .await
        .expect("page");
    assert!(!opted(&rows, "inv-a"));
    let log = store
        .ladder_consent_log(ws, &wa(PHONE_A))
        .await
        .expect("log");
    let entries: Vec<(bool, Millis)> = log.iter().map(|c| (c.opted_out, c.changed_at)).collect();
    assert_eq!(
        entries,
        vec![(true, T0 + 10), (true, T0 + 20), (false, T0 + 30)]
    );
}

pub async fn ladder_payment_marks_paid_and_reports_the_row_before<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-paid", "910007").await;
    let mut suspended = receivable("inv-1", "c-1", Some(PHONE_B));
    suspended.suspended = true;
    store
        .upsert_receivables(
            ws,
            &[suspended, receivable("inv-2", "c-1", Some(PHONE_B))],
            T0,
        )
        .await
        .expect("sync");
    let before = store
        .ladder_invoice_paid(ws, "inv-1", T0 + 5)
        .await
        .expect("paid")
        .expect("known");
    assert!(!before.paid && before.receivable.suspended);
    let open = store
        .ladder_receivables_page(ws, None, 10)
        .await
        .expect("page");
    let ids: Vec<&str> = open
        .iter()
        .map(|r| r.receivable.invoice_id.as_str())
        .collect();
    assert_eq!(ids, vec!["inv-2"], "a paid invoice is never planned");
    // A later sync listing it (the system lags) does not reopen it.
    store
        .upsert_receivables(ws, &[receivable("inv-1", "c-1", Some(PHONE_B))], T0 + 10)
        .await
        .expect("sync");
    assert_eq!(
        store
            .ladder_receivables_page(ws, None, 10)
            .await
            .expect("page")
            .len(),
        1
    );
    let again = store
        .ladder_invoice_paid(ws, "inv-1", T0 + 20)
        .await
        .expect("paid again")
        .expect("known");
    assert!(again.paid);
    assert!(
        store
            .ladder_invoice_paid(ws, "nope", T0)
            .await
            .expect("unknown")
            .is_none()
    );
}

pub async fn ladder_workspaces_are_isolated<S: Store + Clone>(store: &S) {
    let (a, number_a) = workspace(store, "regua-iso-a", "910008").await;
    let (b, number_b) = workspace(store, "regua-iso-b", "910009").await;
    store
        .upsert_receivables(a, &[receivable("inv-1", "c-1", Some(PHONE_A))], T0)
        .await
        .expect("sync a");
    assert!(
        store
            .ladder_receivables_page(b, None, 10)
            .await
            .expect("b")
            .is_empty()
    );
    assert!(
        store
            .ladder_receivable(b, "inv-1")
            .await
            .expect("b")
            .is_none()
    );
    assert!(
        store
            .ladder_invoice_paid(b, "inv-1", T0)
            .await
            .expect("b")
            .is_none()
    );
    assert!(
        !store
            .ladder_receivable(a, "inv-1")
            .await
            .expect("a")
            .expect("a")
            .paid
    );
    // The same invoice id and step in both workspaces are two records.
    for (ws, number) in [(a, number_a), (b, number_b)] {
        let recorded = store
            .record_ladder_send(
                ws,
                &send("inv-1", "c-1", "d-2", LadderSendStatus::Sent),
                Some(text_out(number, PHONE_A, Some("ladder:d-2:inv-1"), "x")),
                T0,
            )
            .await
            .expect("record");
        assert!(matches!(recorded, LadderRecorded::Recorded { .. }));
    }
    assert!(
        store
            .ladder_sent_today(b, "c-1", date(2026, 11, 23))
            .await
            .expect("b")
    );
    // An opt-out in A does not reach B.
    store
        .set_ladder_consent(
            a,
            &ConsentChange {
                wa_id: wa(PHONE_A),
                customer_id: Some("c-1".into()),
                opted_out: true,
                source: "button".into(),
            },
            T0,
        )
        .await
        .expect("opt out a");
    assert!(
        store
            .ladder_consent(b, &wa(PHONE_A))
            .await
            .expect("b")
            .is_none()
    );
    store
        .upsert_receivables(b, &[receivable("inv-1", "c-1", Some(PHONE_A))], T0)
        .await
        .expect("sync b");
    assert!(!store.ladder_receivables_page(b, None, 10).await.expect("b")[0].opted_out);
    assert!(store.ladder_receivables_page(a, None, 10).await.expect("a")[0].opted_out);
}

pub async fn ladder_pages_carry_handled_steps_and_last_day<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-handled", "910020").await;
    // Upper and lower case: byte order ("B" < "a") differs from a locale's ("a" < "B"), and
    // every query of a page must follow the snapshot's byte order.
    const CUSTOMERS: [&str; 5] = ["B", "a", "Z", "b", "A"];
    let rows: Vec<NewReceivable> = (0..12)
        .map(|i| receivable(&format!("inv-{i:02}"), CUSTOMERS[i % 5], Some(PHONE_B)))
        .collect();
    store.upsert_receivables(ws, &rows, T0).await.expect("sync");
    for (i, step, status, day) in [
        (0, "d-5", LadderSendStatus::Sent, 20),
        (0, "d-2", LadderSendStatus::Sent, 23),
        (5, "d-5", LadderSendStatus::Obsolete, 24),
        (3, "d-2", LadderSendStatus::Sent, 22),
        (8, "d0", LadderSendStatus::Failed, 25),
        (11, "d-5", LadderSendStatus::Sent, 21),
    ] {
        let mut row = send(&format!("inv-{i:02}"), CUSTOMERS[i % 5], step, status);
        row.local_date = date(2026, 11, day);
        store
            .record_ladder_send(ws, &row, None, T0)
            .await
            .expect("record");
    }
    // Pages of 5 cut customers apart: each row must still carry its own history.
    let mut after: Option<(String, String)> = None;
    let mut seen = 0;
    loop {
        let page = store
            .ladder_receivables_page(ws, after.as_ref().map(|(c, i)| (c.as_str(), i.as_str())), 5)
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some((
            last.receivable.customer_id.clone(),
            last.receivable.invoice_id.clone(),
        ));
        for mut row in page {
            let mut single = store
                .ladder_receivable(ws, &row.receivable.invoice_id)
                .await
                .expect("read")
                .expect("exists");
            row.handled_steps.sort();
            single.handled_steps.sort();
            assert_eq!(row, single, "a page row reads as the row alone");
            seen += 1;
        }
    }
    assert_eq!(seen, 12);
    let inv0 = store
        .ladder_receivable(ws, "inv-00")
        .await
        .expect("read")
        .expect("exists");
    let mut steps = inv0.handled_steps.clone();
    steps.sort();
    assert_eq!(steps, vec!["d-2", "d-5"]);
    // "B" holds inv-00 (sent 23rd), inv-05 (obsolete, not a send) and inv-10: the last day a
    // message went out is the 23rd, for every invoice of the customer.
    let inv10 = store
        .ladder_receivable(ws, "inv-10")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(inv10.last_sent_on, Some(date(2026, 11, 23)));
    assert!(inv10.handled_steps.is_empty());
}

pub async fn ladder_skips_are_one_batch_and_payment_pulls_back_queued<S: Store + Clone>(store: &S) {
    let (ws, number) = workspace(store, "regua-skips", "910021").await;
    store
        .upsert_receivables(
            ws,
            &[
                receivable("inv-1", "c-1", Some(PHONE_B)),
                receivable("inv-2", "c-2", Some(PHONE_A)),
            ],
            T0,
        )
        .await
        .expect("sync");
    store
        .record_ladder_send(
            ws,
            &send("inv-1", "c-1", "d-5", LadderSendStatus::Sent),
            None,
            T0,
        )
        .await
        .expect("record");
    let skips = vec![
        send("inv-1", "c-1", "d-5", LadderSendStatus::Obsolete),
        send("inv-1", "c-1", "d-2", LadderSendStatus::Obsolete),
        send("inv-2", "c-2", "d-5", LadderSendStatus::Obsolete),
    ];
    assert_eq!(
        store
            .record_ladder_skips(ws, &skips, T0)
            .await
            .expect("skips"),
        2,
        "the step already recorded is left as it was"
    );
    assert_eq!(
        store
            .record_ladder_skips(ws, &skips, T0)
            .await
            .expect("again"),
        0
    );
    let inv1 = store.ladder_sends(ws, "inv-1").await.expect("sends");
    assert_eq!(inv1[0].status, LadderSendStatus::Sent);
    assert_eq!(inv1[1].status, LadderSendStatus::Obsolete);

    // inv-1's D0 is queued, inv-2's D0 already claimed by a sender.
    for (invoice, customer, phone) in [("inv-1", "c-1", PHONE_B), ("inv-2", "c-2", PHONE_A)] {
        let key = format!("ladder:d0:{invoice}");
        store
            .record_ladder_send(
                ws,
                &send(invoice, customer, "d0", LadderSendStatus::Sent),
                Some(text_out(number, phone, Some(&key), "lembrete")),
                T0,
            )
            .await
            .expect("record d0");
        if invoice == "inv-2" {
            let claimed = store
                .claim_outbound(number, T0 + 1, 10, 30_000)
                .await
                .expect("claim");
            assert_eq!(claimed.len(), 2, "both queued messages are claimable");
            // Put inv-1's back: only inv-2's stays claimed.
            let inv1_message = store
                .ladder_sends(ws, "inv-1")
                .await
                .expect("sends")
                .into_iter()
                .find(|s| s.step_key == "d0")
                .and_then(|s| s.message_id)
                .expect("inv-1 d0 message");
            let outcomes: Vec<SendOutcome> = claimed
                .iter()
                .filter(|job| job.message_id == inv1_message)
                .map(|job| SendOutcome::Deferred {
                    message_id: job.message_id,
                    next_attempt_at: T0 + 2,
                })
                .collect();
            store
                .record_send_outcomes(&outcomes, T0 + 1)
                .await
                .expect("put back");
        }
    }
    for invoice in ["inv-1", "inv-2"] {
        store
            .ladder_invoice_paid(ws, invoice, T0 + 10)
            .await
            .expect("paid")
            .expect("known");
    }
    let d0 = |sends: Vec<LadderSend>| {
        sends
            .into_iter()
            .find(|s| s.step_key == "d0")
            .expect("d0 record")
    };
    let pulled = d0(store.ladder_sends(ws, "inv-1").await.expect("sends"));
    assert_eq!(pulled.status, LadderSendStatus::Cancelled);
    let message = store
        .message(ws, pulled.message_id.expect("linked"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(message.status, Some(DeliveryStatus::Failed));
    let claimed = d0(store.ladder_sends(ws, "inv-2").await.expect("sends"));
    assert_eq!(
        claimed.status,
        LadderSendStatus::Sent,
        "a message a sender already holds goes out"
    );
    let message = store
        .message(ws, claimed.message_id.expect("linked"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(message.status, Some(DeliveryStatus::Sending));
}

pub async fn ladder_behaviour_is_counted_from_logged_payments<S: Store + Clone>(store: &S) {
    let (ws, _) = workspace(store, "regua-history", "910022").await;
    let due = |m: i8, d: i8| date(2026, m, d);
    // Brasília midnight ending a due date, in UTC millis.
    let end_of = |day: jiff::civil::Date| {
        day.tomorrow()
            .expect("date")
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(-3)))
            .expect("zoned")
            .timestamp()
            .as_millisecond()
    };
    let mut old = Vec::new();
    for (invoice, customer, m, d) in [
        ("old-1", "late", 8, 10),
        ("old-2", "late", 9, 10),
        ("old-3", "good", 9, 10),
        ("ancient", "good", 1, 10),
    ] {
        let mut row = receivable(invoice, customer, Some(PHONE_B));
        row.due = due(m, d);
        if invoice == "ancient" {
            row.due = date(2025, 11, 10);
        }
        old.push(row);
    }
    store.upsert_receivables(ws, &old, T0).await.expect("sync");
    // "late" paid both a day after the due date; "good" paid on the due date's last minute,
    // and once more than 12 months before (not counted, on time anyway).
    for (invoice, at) in [
        ("old-1", end_of(due(8, 10)) + 86_400_000),
        ("old-2", end_of(due(9, 10))),
        ("old-3", end_of(due(9, 10)) - 60_000),
        ("ancient", end_of(date(2025, 11, 10)) + 5 * 86_400_000),
    ] {
        store
            .ladder_invoice_paid(ws, invoice, at)
            .await
            .expect("paid")
            .expect("known");
    }
    let mut new_rows = Vec::new();
    for (invoice, customer) in [("new-1", "late"), ("new-2", "good"), ("new-3", "unknown")] {
        let mut row = receivable(invoice, customer, Some(PHONE_B));
        row.due = due(12, 10);
        row.late_payments_last_12m = 7;
        new_rows.push(row);
    }
    store
        .upsert_receivables(ws, &new_rows, T0 + 1)
        .await
        .expect("sync");
    let late_of = |invoice: &'static str| async move {
        store
            .ladder_receivable(ws, invoice)
            .await
            .expect("read")
            .expect("exists")
            .receivable
            .late_payments_last_12m
    };
    assert_eq!(late_of("new-1").await, 2, "both logged payments were late");
    assert_eq!(late_of("new-2").await, 0, "paid on time within 12 months");
    assert_eq!(
        late_of("new-3").await,
        7,
        "no history: the given value stands"
    );
    assert!(paid_late(due(9, 10), end_of(due(9, 10))));
    assert!(!paid_late(due(9, 10), end_of(due(9, 10)) - 1));
}
