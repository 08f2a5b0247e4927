//! Properties of the planner over generated invoices, clocks and histories.

mod common;

use balcao_domain::br::DocumentKind;
use balcao_ladder::{InvoiceFacts, PlanConfig, Planner};
use common::{Ledger, ts};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;
use std::collections::HashSet;

const ZONES: [Option<&str>; 5] = [
    None,
    Some("America/Sao_Paulo"),
    Some("America/Manaus"),
    Some("America/Rio_Branco"),
    Some("America/Noronha"),
];

fn arb_invoice(index: usize) -> impl Strategy<Value = InvoiceFacts> {
    (
        0u8..6,     // customer
        -20i32..30, // due, days from 2026-11-23
        0u32..5,    // late payments
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.9),
        0usize..ZONES.len(),
        1i64..50_000,
    )
        .prop_map(
            move |(customer, due, late, paid, opted_out, suspended, has_wa_id, zone, amount)| {
                InvoiceFacts {
                    invoice_id: format!("f{index}"),
                    customer_id: format!("c{customer}"),
                    contract_id: None,
                    due: date(2026, 11, 23).checked_add(due.days()).unwrap(),
                    amount_cents: amount,
                    person: if customer % 3 == 0 {
                        DocumentKind::Cnpj
                    } else {
                        DocumentKind::Cpf
                    },
                    plan_value_cents: Some(amount),
                    city: Some(["Fortaleza", "Sobral", "Crato"][customer as usize % 3].into()),
                    region: None,
                    late_payments_last_12m: late,
                    paid,
                    suspended,
                    opted_out,
                    has_wa_id,
                    time_zone: ZONES[zone].map(str::to_owned),
                }
            },
        )
}

fn arb_invoices() -> impl Strategy<Value = Vec<InvoiceFacts>> {
    (0usize..30).prop_flat_map(|n| (0..n).map(arb_invoice).collect::<Vec<_>>())
}

/// Any minute of 2026-11-15 … 2026-12-31 (weekends, the 11-20 holiday, nights and Christmas).
fn arb_now() -> impl Strategy<Value = Timestamp> {
    (0i64..47 * 24 * 60)
        .prop_map(|minutes| ts("2026-11-15T00:00:00Z") + SignedDuration::from_mins(minutes))
}

/// A random history: some (invoice, step) already handled, some subscribers already messaged.
/// (invoice, step index) handled; (customer, day from 2026-11-15) messaged.
type History = (Vec<(usize, usize)>, Vec<(u8, i32)>);

fn arb_history() -> impl Strategy<Value = History> {
    (
        prop::collection::vec((0usize..30, 0usize..7), 0..40),
        prop::collection::vec((0u8..6, 0i32..47), 0..4),
    )
}

const KEYS: [&str; 7] = ["d-5", "d-2", "d0", "d+1", "d+3", "d+7", "d+10"];

fn ledger_from(history: &History) -> Ledger {
    let ledger = Ledger::default();
    for &(invoice, step) in &history.0 {
        ledger.mark(&format!("f{invoice}"), KEYS[step]);
    }
    for &(c, day) in &history.1 {
        ledger.mark_messaged(
            &format!("c{c}"),
            date(2026, 11, 15).checked_add(day.days()).unwrap(),
        );
    }
    ledger
}

fn zone_of(invoice: &InvoiceFacts) -> TimeZone {
    TimeZone::get(invoice.time_zone.as_deref().unwrap_or("America/Sao_Paulo")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_a_step_for_a_paid_opted_out_or_unreachable_invoice(
        invoices in arb_invoices(), now in arb_now(), history in arb_history(),
    ) {
        let config = PlanConfig::default();
        let ledger = ledger_from(&history);
        let plan = Planner::new(&config).unwrap().plan(
            now, &invoices, &|i: &str, s: &str| ledger.is_handled(i, s), &|c: &str, d: Date| ledger.messaged_on(c, d));
        for send in &plan.sends {
            prop_assert!(!send.invoice.paid);
            prop_assert!(!send.invoice.opted_out);
            prop_assert!(send.invoice.has_wa_id);
            prop_assert!(!ledger.is_handled(send.invoice_id(), send.step_key()));
            prop_assert!(!ledger.messaged_on(send.customer_id(), send.local_date));
            prop_assert!(!(send.invoice.suspended && send.step.kind.warns_of_suspension()));
            prop_assert!(send.reason.days_from_due >= send.step.offset_days);
        }
    }

    #[test]
    fn never_two_sends_for_one_subscriber_in_a_run(
        invoices in arb_invoices(), now in arb_now(), history in arb_history(),
    ) {
        let config = PlanConfig::default();
        let ledger = ledger_from(&history);
        let plan = Planner::new(&config).unwrap().plan(
            now, &invoices, &|i: &str, s: &str| ledger.is_handled(i, s), &|c: &str, d: Date| ledger.messaged_on(c, d));
        let mut customers = HashSet::new();
        for send in &plan.sends {
            prop_assert!(customers.insert(send.customer_id()), "two for {}", send.customer_id());
        }
    }

    #[test]
    fn sends_are_planned_inside_legal_hours(
        invoices in arb_invoices(), now in arb_now(),
    ) {
        let config = PlanConfig::default();
        let plan = Planner::new(&config).unwrap().plan(
            now, &invoices, &|_: &str, _: &str| false, &|_: &str, _: Date| false);
        for send in &plan.sends {
            let tz = zone_of(send.invoice);
            prop_assert!(send.send_not_before >= now);
            prop_assert!(send.send_not_before < send.send_not_after);
            prop_assert!(config.legal.allowed(send.send_not_before, &tz),
                "{} not allowed in {:?}", send.send_not_before, send.invoice.time_zone);
            let last_second = send.send_not_after - SignedDuration::from_secs(1);
            prop_assert!(config.legal.allowed(last_second, &tz));
            // The window is on the day the step was computed for.
            prop_assert_eq!(tz.to_datetime(send.send_not_before).date(), tz.to_datetime(now).date());
        }
        for skip in &plan.skips {
            if let balcao_ladder::SkipReason::OutsideLegalHours { next_allowed: Some(at) } = skip.reason {
                prop_assert!(at > now);
                prop_assert!(config.legal.allowed(at, &zone_of(skip.invoice)));
            }
        }
    }

    #[test]
    fn planning_again_after_recording_yields_nothing_new(
        invoices in arb_invoices(), now in arb_now(), history in arb_history(),
    ) {
        let config = PlanConfig::default();
        let planner = Planner::new(&config).unwrap();
        let ledger = ledger_from(&history);
        let first = planner.plan(
            now, &invoices, &|i: &str, s: &str| ledger.is_handled(i, s), &|c: &str, d: Date| ledger.messaged_on(c, d));
        ledger.record(&first);
        let second = planner.plan(
            now, &invoices, &|i: &str, s: &str| ledger.is_handled(i, s), &|c: &str, d: Date| ledger.messaged_on(c, d));
        prop_assert!(second.sends.is_empty(), "{:?}", second.sends.iter().map(|s| s.idempotency_key()).collect::<Vec<_>>());
        prop_assert!(second.skips.iter().all(|s| !s.reason.is_final()));
    }

    /// A month of hourly runs over one set of invoices: each (invoice, step) at most once, one
    /// message per subscriber per local day, a step never sent after it was declared obsolete.
    #[test]
    fn a_month_of_runs_sends_each_step_once_and_one_per_day(
        invoices in arb_invoices(), start_hour in 0i64..24, step_hours in 1i64..30,
    ) {
        let config = PlanConfig::default();
        let planner = Planner::new(&config).unwrap();
        let ledger = Ledger::default();
        let mut sent: HashSet<(String, String)> = HashSet::new();
        let mut obsolete: HashSet<(String, String)> = HashSet::new();
        let mut per_day: HashSet<(String, jiff::civil::Date)> = HashSet::new();
        let mut now = ts("2026-11-01T00:00:00Z") + SignedDuration::from_hours(start_hour);
        let end = ts("2026-12-31T00:00:00Z");
        while now < end {
            let plan = planner.plan(
                now, &invoices, &|i: &str, s: &str| ledger.is_handled(i, s), &|c: &str, d: Date| ledger.messaged_on(c, d));
            for send in &plan.sends {
                let key = (send.invoice_id().to_owned(), send.step_key().to_owned());
                prop_assert!(!obsolete.contains(&key), "obsolete step sent: {:?}", key);
                prop_assert!(sent.insert(key.clone()), "sent twice: {:?}", key);
                let local_day = zone_of(send.invoice).to_datetime(send.send_not_before).date();
                prop_assert_eq!(local_day, send.local_date);
                prop_assert!(per_day.insert((send.customer_id().to_owned(), local_day)),
                    "two messages for {} on {}", send.customer_id(), local_day);
            }
            for skip in plan.skips.iter().filter(|s| s.reason.is_final()) {
                obsolete.insert((skip.invoice_id().to_owned(), skip.step_key().to_owned()));
            }
            ledger.record(&plan);
            now += SignedDuration::from_hours(step_hours);
        }
    }
}
