//! The planner's rules with plain values. "Today" is Monday 2026-11-23 unless a test says otherwise.

mod common;

use balcao_domain::br::DocumentKind;
use balcao_ladder::segment::{Behaviour, CentsRange, SegmentFilter, SegmentRule, Timing};
use balcao_ladder::{
    ConfigError, InvoiceFacts, Ladder, Plan, PlanConfig, Planner, SkipReason, Variant, plan,
};
use common::{Ledger, invoice, ts};
use jiff::ToSpan;
use jiff::civil::{Date, date};

const DEFAULT_KEYS: [&str; 7] = ["d-5", "d-2", "d0", "d+1", "d+3", "d+7", "d+10"];

const MONDAY_10H_SP: &str = "2026-11-23T13:00:00Z";

fn today() -> Date {
    date(2026, 11, 23)
}

/// An invoice `offset` days from its due date today (3 → due three days ago).
fn at_offset(id: &str, customer: &str, offset: i32) -> InvoiceFacts {
    invoice(id, customer, today().checked_sub(offset.days()).unwrap())
}

fn run<'a>(
    config: &'a PlanConfig,
    now: &str,
    invoices: &'a [InvoiceFacts],
    ledger: &Ledger,
) -> Plan<'a> {
    plan(
        ts(now),
        invoices,
        &|i: &str, s: &str| ledger.is_handled(i, s),
        &|c: &str, d: Date| ledger.messaged_on(c, d),
        config,
    )
    .unwrap()
}

fn sent_keys<'a>(plan: &Plan<'a>) -> Vec<(&'a str, &'a str)> {
    plan.sends
        .iter()
        .map(|s| (s.invoice_id(), s.step_key()))
        .collect()
}

fn skip_codes<'a>(plan: &Plan<'a>) -> Vec<(&'a str, &'a str, &'static str)> {
    plan.skips
        .iter()
        .map(|s| (s.invoice_id(), s.step_key(), s.reason.code()))
        .collect()
}

#[test]
fn each_default_step_on_its_day() {
    let config = PlanConfig::default();
    let ladder = Ladder::default_pt_br();
    let cases = [
        ("d-5", -5, "cobranca_lembrete_d5", "D-5: vence em 5 dias"),
        ("d-2", -2, "cobranca_pagamento_d2", "D-2: vence em 2 dias"),
        ("d0", 0, "cobranca_vence_hoje", "D0: vence hoje"),
        ("d+1", 1, "cobranca_atraso_d1", "D+1: 1 dia em atraso"),
        ("d+3", 3, "cobranca_negociacao_d3", "D+3: 3 dias em atraso"),
        (
            "d+7",
            7,
            "cobranca_ultimo_aviso_d7",
            "D+7: 7 dias em atraso",
        ),
        (
            "d+10",
            10,
            "cobranca_aviso_suspensao",
            "D+10: 10 dias em atraso",
        ),
    ];
    for (i, (key, offset, template, reason)) in cases.into_iter().enumerate() {
        let invoices = [at_offset("f1", "c1", offset)];
        // The earlier steps went out on their days.
        let earlier: Vec<(&str, &str)> = ladder.steps[..i]
            .iter()
            .map(|s| ("f1", s.key.as_str()))
            .collect();
        let ledger = Ledger::with_handled(&earlier);
        let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
        assert_eq!(sent_keys(&plan), vec![("f1", key)], "{key}");
        assert!(plan.skips.is_empty(), "{key}: {:?}", skip_codes(&plan));
        let send = &plan.sends[0];
        assert_eq!(send.template(), template);
        assert_eq!(send.customer_id(), "c1");
        assert_eq!(send.reason.days_from_due, offset);
        assert_eq!(send.reason.superseded_steps, 0);
        assert!(
            send.reason.to_string().starts_with(reason),
            "{}",
            send.reason
        );
        assert_eq!(send.send_not_before, ts(MONDAY_10H_SP));
        assert_eq!(send.send_not_after, ts("2026-11-23T21:00:00Z"));
        assert_eq!(send.idempotency_key(), format!("ladder:{key}:f1"));
    }
}

#[test]
fn reason_names_the_segment() {
    let config = PlanConfig::default();
    let invoices = [at_offset("f1", "c1", 3)];
    let ledger = Ledger::with_handled(&[("f1", "d-5"), ("f1", "d-2"), ("f1", "d0"), ("f1", "d+1")]);
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert_eq!(
        plan.sends[0].reason.to_string(),
        "D+3: 3 dias em atraso, segmento Atraso 1–3, pagador regular"
    );
}

#[test]
fn nothing_between_steps_before_the_first_or_after_the_ladder() {
    let config = PlanConfig::default();
    let all_sent: Vec<(&str, &str)> = DEFAULT_KEYS.iter().map(|&k| ("f1", k)).collect();
    let ledger = Ledger::with_handled(&all_sent[..1]); // d-5 sent
    let between = [at_offset("f1", "c1", -4)];
    assert!(
        run(&config, MONDAY_10H_SP, &between, &ledger)
            .sends
            .is_empty()
    );
    let early = [at_offset("f1", "c1", -6)];
    let plan = run(&config, MONDAY_10H_SP, &early, &Ledger::default());
    assert!(plan.sends.is_empty() && plan.skips.is_empty());
    // D+10 stays current until D+15 (a missed run can still send the notice), not after.
    let ledger = Ledger::with_handled(&all_sent[..6]);
    let late = [at_offset("f1", "c1", 15)];
    assert_eq!(
        sent_keys(&run(&config, MONDAY_10H_SP, &late, &ledger)),
        vec![("f1", "d+10")]
    );
    let over = [at_offset("f1", "c1", 16)];
    let plan = run(&config, MONDAY_10H_SP, &over, &ledger);
    assert!(plan.sends.is_empty() && plan.skips.is_empty());
}

#[test]
fn good_payers_get_the_softer_shorter_ladder() {
    let config = PlanConfig::default();
    let good = |id: &str, offset| InvoiceFacts {
        late_payments_last_12m: 0,
        ..at_offset(id, id, offset)
    };
    let invoices = [good("g1", -5), good("g2", -2), good("g3", 3)];
    let ledger = Ledger::with_handled(&[("g3", "d+1")]);
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    // No D-5 and no D+3 in the good payers' ladder.
    assert_eq!(sent_keys(&plan), vec![("g2", "d-2")]);
    assert_eq!(plan.sends[0].template(), "cobranca_bom_pagador_d2");
    assert_eq!(plan.sends[0].reason.rule, Some("Bom pagador"));
    assert_eq!(plan.sends[0].reason.segment.behaviour, Behaviour::GoodPayer);
    assert_eq!(
        plan.sends[0].reason.to_string(),
        "D-2: vence em 2 dias, segmento A vencer, bom pagador (regra \"Bom pagador\")"
    );
}

#[test]
fn segment_rules_by_plan_value_person_city_and_behaviour() {
    let mut config = PlanConfig::default();
    config.rules.insert(
        0,
        SegmentRule {
            name: "Empresas".into(),
            when: SegmentFilter {
                person: Some(DocumentKind::Cnpj),
                ..Default::default()
            },
            ladder: None,
            skip_steps: vec!["d+3".into()],
        },
    );
    config.rules.push(SegmentRule {
        name: "Planos caros em Sobral, reincidentes".into(),
        when: SegmentFilter {
            behaviour: vec![Behaviour::RepeatDefaulter],
            timing: vec![Timing::Overdue1To3],
            plan_value_cents: Some(CentsRange {
                min: Some(20_000),
                max: None,
            }),
            cities: vec!["sobral".into()],
            ..Default::default()
        },
        ladder: None,
        skip_steps: vec!["d+1".into()],
    });
    let planner = Planner::new(&config).unwrap();
    let ledger = Ledger::with_handled(&[
        ("pj", "d+1"),
        ("pf", "d+1"),
        ("rd", "d0"),
        ("rd-cheap", "d0"),
    ]);
    let invoices = [
        InvoiceFacts {
            person: DocumentKind::Cnpj,
            ..at_offset("pj", "pj", 3)
        },
        at_offset("pf", "pf", 3),
        InvoiceFacts {
            late_payments_last_12m: 4,
            plan_value_cents: Some(25_000),
            city: Some("Sobral".into()),
            ..at_offset("rd", "rd", 1)
        },
        InvoiceFacts {
            late_payments_last_12m: 4,
            plan_value_cents: Some(10_000),
            city: Some("Sobral".into()),
            ..at_offset("rd-cheap", "rd-cheap", 1)
        },
    ];
    let plan = planner.plan(
        ts(MONDAY_10H_SP),
        &invoices,
        &|i: &str, s: &str| ledger.is_handled(i, s),
        &|c: &str, d: Date| ledger.messaged_on(c, d),
    );
    // The company skips D+3; the person gets it; the expensive repeat defaulter in Sobral skips
    // D+1 (its D0 was sent, so nothing is due); the cheaper one gets D+1.
    assert_eq!(sent_keys(&plan), vec![("pf", "d+3"), ("rd-cheap", "d+1")]);
    let rd = &invoices[2];
    let segment = planner.segment_of(rd, 1);
    assert_eq!(segment.behaviour, Behaviour::RepeatDefaulter);
    let (rule, steps) = planner.steps_for(rd, segment);
    assert_eq!(rule, Some("Planos caros em Sobral, reincidentes"));
    assert!(!steps.iter().any(|s| s.key == "d+1"));
}

#[test]
fn segment_ladder_by_name() {
    let mut config = PlanConfig::default();
    let mut short = Ladder::default_pt_br();
    short
        .steps
        .retain(|s| ["d0", "d+10"].contains(&s.key.as_str()));
    config.ladders.insert("curta".into(), short);
    config.rules.push(SegmentRule {
        name: "Zona Rural".into(),
        when: SegmentFilter {
            regions: vec!["zona rural".into()],
            ..Default::default()
        },
        ladder: Some("curta".into()),
        skip_steps: vec![],
    });
    let rural = |id: &str, offset| InvoiceFacts {
        region: Some("Zona Rural".into()),
        ..at_offset(id, id, offset)
    };
    let invoices = [rural("r1", -2), rural("r2", 2)];
    let plan = run(&config, MONDAY_10H_SP, &invoices, &Ledger::default());
    // r1: nothing before D0. r2: D0 is the current step of the short ladder (no D+1 in it).
    assert_eq!(sent_keys(&plan), vec![("r2", "d0")]);
}

#[test]
fn paused_region_opt_out_paid_and_no_whatsapp_are_skipped() {
    let mut config = PlanConfig::default();
    config.paused.cities.push("Maracanaú".into());
    let invoices = [
        InvoiceFacts {
            city: Some("MARACANAU".into()),
            ..at_offset("paused", "c1", 0)
        },
        InvoiceFacts {
            opted_out: true,
            ..at_offset("optout", "c2", 0)
        },
        InvoiceFacts {
            paid: true,
            ..at_offset("paid", "c3", 0)
        },
        InvoiceFacts {
            has_wa_id: false,
            ..at_offset("nowa", "c4", 0)
        },
        at_offset("ok", "c5", 0),
    ];
    let ledger = Ledger::default();
    for (i, _) in invoices.iter().enumerate() {
        ledger.mark(&invoices[i].invoice_id, "d-5");
        ledger.mark(&invoices[i].invoice_id, "d-2");
    }
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("ok", "d0")]);
    assert_eq!(
        skip_codes(&plan),
        vec![
            ("paused", "d0", "paused_region"),
            ("optout", "d0", "opted_out"),
            ("paid", "d0", "paid"),
            ("nowa", "d0", "no_whatsapp"),
        ]
    );
    assert_eq!(
        plan.skips[1].reason.to_string(),
        "assinante pediu para não receber lembretes"
    );
    assert!(plan.skips.iter().all(|s| !s.reason.is_final()));
}

#[test]
fn suspended_contract_gets_no_suspension_warning_but_still_reminders() {
    let config = PlanConfig::default();
    let invoices = [
        InvoiceFacts {
            suspended: true,
            ..at_offset("s10", "c1", 10)
        },
        InvoiceFacts {
            suspended: true,
            ..at_offset("s3", "c2", 3)
        },
    ];
    let ledger = Ledger::with_handled(&[
        ("s10", "d-5"),
        ("s10", "d-2"),
        ("s10", "d0"),
        ("s10", "d+1"),
        ("s10", "d+3"),
        ("s10", "d+7"),
        ("s3", "d-5"),
        ("s3", "d-2"),
        ("s3", "d0"),
        ("s3", "d+1"),
    ]);
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("s3", "d+3")]);
    assert_eq!(skip_codes(&plan), vec![("s10", "d+10", "suspended")]);
}

#[test]
fn unknown_time_zone_is_skipped_not_guessed() {
    let config = PlanConfig::default();
    let invoices = [InvoiceFacts {
        time_zone: Some("America/Atlantida".into()),
        ..at_offset("f1", "c1", -5)
    }];
    let plan = run(&config, MONDAY_10H_SP, &invoices, &Ledger::default());
    assert!(plan.sends.is_empty());
    assert_eq!(skip_codes(&plan), vec![("f1", "d-5", "unknown_time_zone")]);
}

#[test]
fn weekend_run_defers_to_monday_morning() {
    let config = PlanConfig::default();
    // Saturday 2026-11-21 10:00 in São Paulo; the invoice is due Monday (D-2 today).
    let invoices = [invoice("f1", "c1", date(2026, 11, 23))];
    let ledger = Ledger::with_handled(&[("f1", "d-5")]);
    let plan = run(&config, "2026-11-21T13:00:00Z", &invoices, &ledger);
    assert!(plan.sends.is_empty());
    assert_eq!(
        plan.skips[0].reason,
        SkipReason::OutsideLegalHours {
            next_allowed: Some(ts("2026-11-23T11:00:00Z"))
        }
    );
    assert!(
        plan.skips[0]
            .reason
            .to_string()
            .starts_with("fora do horário permitido")
    );
    // Monday's run: D0 is current now; the D-2 that could not go out on Saturday is obsolete.
    let plan = run(&config, "2026-11-23T11:00:00Z", &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("f1", "d0")]);
    assert_eq!(skip_codes(&plan), vec![("f1", "d-2", "obsolete")]);
}

#[test]
fn holiday_2026_11_20_defers_to_monday() {
    let config = PlanConfig::default();
    // Friday 2026-11-20, Consciência Negra, 10:00 in São Paulo.
    let invoices = [invoice("f1", "c1", date(2026, 11, 20))];
    let ledger = Ledger::with_handled(&[("f1", "d-5"), ("f1", "d-2")]);
    let plan = run(&config, "2026-11-20T13:00:00Z", &invoices, &ledger);
    assert!(plan.sends.is_empty());
    assert_eq!(
        plan.skips[0].reason,
        SkipReason::OutsideLegalHours {
            next_allowed: Some(ts("2026-11-23T11:00:00Z"))
        }
    );
    // Thursday the 19th is an ordinary day.
    let invoices = [invoice("f2", "c2", date(2026, 11, 19))];
    let ledger = Ledger::with_handled(&[("f2", "d-5"), ("f2", "d-2")]);
    let plan = run(&config, "2026-11-19T13:00:00Z", &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("f2", "d0")]);
}

#[test]
fn seventeen_fifty_nine_plans_eighteen_hundred_does_not() {
    let config = PlanConfig::default();
    let invoices = [at_offset("f1", "c1", -5)];
    let plan = run(
        &config,
        "2026-11-23T20:59:00Z",
        &invoices,
        &Ledger::default(),
    );
    assert_eq!(sent_keys(&plan), vec![("f1", "d-5")]);
    assert_eq!(plan.sends[0].send_not_after, ts("2026-11-23T21:00:00Z"));
    let plan = run(
        &config,
        "2026-11-23T21:00:00Z",
        &invoices,
        &Ledger::default(),
    );
    assert!(plan.sends.is_empty());
    assert_eq!(
        plan.skips[0].reason,
        SkipReason::OutsideLegalHours {
            next_allowed: Some(ts("2026-11-24T11:00:00Z"))
        }
    );
}

#[test]
fn early_run_plans_for_the_opening() {
    let config = PlanConfig::default();
    let invoices = [at_offset("f1", "c1", -5)];
    // 06:00 in São Paulo.
    let plan = run(
        &config,
        "2026-11-23T09:00:00Z",
        &invoices,
        &Ledger::default(),
    );
    assert_eq!(plan.sends[0].send_not_before, ts("2026-11-23T11:00:00Z"));
    assert_eq!(plan.sends[0].send_not_after, ts("2026-11-23T21:00:00Z"));
}

#[test]
fn manaus_and_sao_paulo_hours_differ() {
    let config = PlanConfig::default();
    let manaus = |id: &str, customer: &str| InvoiceFacts {
        time_zone: Some("America/Manaus".into()),
        ..at_offset(id, customer, -5)
    };
    let sao_paulo = |id: &str, customer: &str| InvoiceFacts {
        time_zone: Some("America/Sao_Paulo".into()),
        ..at_offset(id, customer, -5)
    };
    let invoices = [manaus("am", "c1"), sao_paulo("sp", "c2")];
    // 11:30Z: 08:30 in São Paulo, 07:30 in Manaus — both planned, Manaus from 08:00 local.
    let plan = run(
        &config,
        "2026-11-23T11:30:00Z",
        &invoices,
        &Ledger::default(),
    );
    let by_id = |id: &str| plan.sends.iter().find(|s| s.invoice_id() == id).unwrap();
    assert_eq!(by_id("sp").send_not_before, ts("2026-11-23T11:30:00Z"));
    assert_eq!(by_id("am").send_not_before, ts("2026-11-23T12:00:00Z"));
    assert_eq!(by_id("am").send_not_after, ts("2026-11-23T22:00:00Z"));
    // 21:30Z: 18:30 in São Paulo (closed until tomorrow), 17:30 in Manaus (open).
    let plan = run(
        &config,
        "2026-11-23T21:30:00Z",
        &invoices,
        &Ledger::default(),
    );
    assert_eq!(sent_keys(&plan), vec![("am", "d-5")]);
    assert_eq!(
        skip_codes(&plan),
        vec![("sp", "d-5", "outside_legal_hours")]
    );
}

#[test]
fn local_date_decides_the_step() {
    let config = PlanConfig::default();
    // 2026-11-24T02:30Z is still Monday the 23rd (23:30) in São Paulo: an invoice due on the
    // 28th is at D-5 there, though it is already the 24th in UTC.
    let mut hours = config.clone();
    hours.legal = balcao_ladder::LegalHours::new(
        vec![balcao_ladder::WeeklyInterval {
            weekday: jiff::civil::Weekday::Monday,
            start: balcao_ladder::ClockTime::new(20, 0).unwrap(),
            end: balcao_ladder::ClockTime::END_OF_DAY,
        }],
        Default::default(),
        balcao_ladder::Zone::sao_paulo(),
    )
    .unwrap();
    let invoices = [invoice("f1", "c1", date(2026, 11, 28))];
    let plan = run(
        &hours,
        "2026-11-24T02:30:00Z",
        &invoices,
        &Ledger::default(),
    );
    assert_eq!(sent_keys(&plan), vec![("f1", "d-5")]);
    assert_eq!(plan.sends[0].reason.days_from_due, -5);
}

#[test]
fn catch_up_sends_only_the_latest_step() {
    let config = PlanConfig::default();
    // The planner never ran for this invoice: it is now 4 days late.
    let invoices = [at_offset("f1", "c1", 4)];
    let ledger = Ledger::default();
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("f1", "d+3")]);
    assert_eq!(
        skip_codes(&plan),
        vec![
            ("f1", "d-5", "obsolete"),
            ("f1", "d-2", "obsolete"),
            ("f1", "d0", "obsolete"),
            ("f1", "d+1", "obsolete"),
        ]
    );
    assert!(plan.skips.iter().all(|s| s.reason.is_final()));
    assert_eq!(plan.sends[0].reason.superseded_steps, 4);
    assert_eq!(
        plan.sends[0].reason.to_string(),
        "D+3: 4 dias em atraso, segmento Atraso 4–10, pagador regular; 4 etapas anteriores não enviadas ficaram obsoletas"
    );
    assert_eq!(
        plan.skips[0].reason.to_string(),
        "etapa obsoleta: substituída por D+3"
    );
    // Recorded: the next runs neither resend nor re-report, and D+7 comes on its day.
    ledger.record(&plan);
    let again = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert!(again.sends.is_empty() && again.skips.is_empty());
    let plan = run(&config, "2026-11-26T13:00:00Z", &invoices, &ledger);
    assert_eq!(sent_keys(&plan), vec![("f1", "d+7")]);
    assert!(plan.skips.is_empty());
}

#[test]
fn at_most_one_message_per_subscriber_per_day() {
    let config = PlanConfig::default();
    let invoices = [
        at_offset("internet-nov", "c1", -2),
        InvoiceFacts {
            amount_cents: 5_000,
            ..at_offset("internet-out", "c1", 3)
        },
        at_offset("tv-out", "c1", 3),
        at_offset("other", "c2", -2),
    ];
    let ledger = Ledger::with_handled(&[
        ("internet-nov", "d-5"),
        ("internet-out", "d+1"),
        ("tv-out", "d+1"),
        ("other", "d-5"),
    ]);
    let plan = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    // The negotiation (more urgent) on the larger invoice goes; the rest of c1 waits.
    assert_eq!(sent_keys(&plan), vec![("tv-out", "d+3"), ("other", "d-2")]);
    // (The earlier steps of "tv-out" never went out in this made-up history: obsolete.)
    let mut skipped = skip_codes(&plan);
    skipped.retain(|s| s.2 != "obsolete");
    skipped.sort();
    assert_eq!(
        skipped,
        vec![
            ("internet-nov", "d-2", "more_urgent_invoice"),
            ("internet-out", "d+3", "more_urgent_invoice"),
        ]
    );
    assert!(plan.skips.iter().any(|s| s.invoice_id() == "internet-out"
        && s.reason
            == SkipReason::MoreUrgentInvoice {
                invoice_id: "tv-out"
            }));
    // Later the same day: c1 was messaged today, c2 as well.
    ledger.record(&plan);
    let later = run(&config, "2026-11-23T17:00:00Z", &invoices, &ledger);
    assert!(later.sends.is_empty());
    assert!(
        later
            .skips
            .iter()
            .all(|s| s.reason == SkipReason::AlreadyMessagedToday)
    );
    assert_eq!(later.skips.len(), 2);
}

#[test]
fn ab_split_is_deterministic_and_close_to_its_weights() {
    let mut config = PlanConfig::default();
    let ladder = config.ladders.get_mut("padrao").unwrap();
    ladder.steps[1].variants = vec![
        Variant {
            template: "cobranca_pagamento_d2".into(),
            weight: 70,
        },
        Variant {
            template: "cobranca_pagamento_d2_curto".into(),
            weight: 30,
        },
    ];
    let invoices: Vec<InvoiceFacts> = (0..10_000)
        .map(|i| at_offset(&format!("f{i}"), &format!("c{i}"), -2))
        .collect();
    let ledger = Ledger::default();
    for invoice in &invoices {
        ledger.mark(&invoice.invoice_id, "d-5");
    }
    let first = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    let second = run(&config, MONDAY_10H_SP, &invoices, &ledger);
    assert_eq!(first.sends.len(), 10_000);
    let short = first
        .sends
        .iter()
        .filter(|s| s.template() == "cobranca_pagamento_d2_curto")
        .count();
    assert!((2_700..=3_300).contains(&short), "{short}");
    let arms = |p: &Plan<'_>| -> Vec<(String, String)> {
        p.sends
            .iter()
            .map(|s| (s.invoice_id().to_owned(), s.template().to_owned()))
            .collect()
    };
    assert_eq!(arms(&first), arms(&second));
    assert!(first.sends.iter().all(|s| s.variant.is_some()));
}

#[test]
fn planning_is_reproducible_whatever_the_input_order() {
    let config = PlanConfig::default();
    let mut invoices: Vec<InvoiceFacts> = (0..50)
        .map(|i| at_offset(&format!("f{i}"), &format!("c{}", i % 7), (i % 19) - 6))
        .collect();
    let key = |p: &Plan<'_>| -> Vec<(String, String)> {
        p.sends
            .iter()
            .map(|s| (s.invoice_id().to_owned(), s.step_key().to_owned()))
            .collect()
    };
    let a = key(&run(&config, MONDAY_10H_SP, &invoices, &Ledger::default()));
    invoices.reverse();
    let b = key(&run(&config, MONDAY_10H_SP, &invoices, &Ledger::default()));
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

#[test]
fn plan_with_streams_skips() {
    let config = PlanConfig::default();
    let planner = Planner::new(&config).unwrap();
    let invoices = [
        InvoiceFacts {
            paid: true,
            ..at_offset("paid", "c1", -5)
        },
        at_offset("ok", "c2", -5),
    ];
    let mut codes = Vec::new();
    let sends = planner.plan_with(
        ts(MONDAY_10H_SP),
        &invoices,
        &|_: &str, _: &str| false,
        &|_: &str, _: Date| false,
        |skip| codes.push(skip.reason.code()),
    );
    assert_eq!(sends.len(), 1);
    assert_eq!(codes, vec!["paid"]);
}

#[test]
fn configuration_errors() {
    let base = PlanConfig::default();
    let mut c = base.clone();
    c.default_ladder = "nenhuma".into();
    assert_eq!(
        Planner::new(&c).unwrap_err(),
        ConfigError::DefaultLadderMissing("nenhuma".into())
    );
    let mut c = base.clone();
    c.rules[0].ladder = Some("fantasma".into());
    assert!(matches!(
        Planner::new(&c).unwrap_err(),
        ConfigError::UnknownLadder { .. }
    ));
    let mut c = base.clone();
    c.rules[0].skip_steps = vec!["d+99".into()];
    let err = Planner::new(&c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a regra \"Bom pagador\" pula a etapa \"d+99\", que não existe na régua"
    );
    let mut c = base.clone();
    c.rules[0].skip_steps = vec!["d-2".into(), "d+1".into(), "d+7".into(), "d+10".into()];
    assert!(matches!(
        Planner::new(&c).unwrap_err(),
        ConfigError::RuleSkipsEveryStep { .. }
    ));
    let mut c = base.clone();
    c.repeat_defaulter_min_late = 0;
    assert_eq!(
        Planner::new(&c).unwrap_err(),
        ConfigError::RepeatDefaulterThreshold
    );
    let mut c = base.clone();
    c.ladders.get_mut("padrao").unwrap().suspension_after_days = Some(20);
    let err = Planner::new(&c).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("régua \"padrao\": o aviso de suspensão"),
        "{err}"
    );
}

#[test]
fn config_serde_round_trip() {
    let config = PlanConfig::default();
    let json = serde_json::to_string(&config).unwrap();
    let back: PlanConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, config);
    let minimal: PlanConfig = serde_json::from_value(serde_json::json!({
        "ladders": {"padrao": Ladder::default_pt_br()},
        "default_ladder": "padrao"
    }))
    .unwrap();
    assert_eq!(minimal.repeat_defaulter_min_late, 3);
    assert_eq!(minimal.legal, balcao_ladder::LegalHours::default());
    Planner::new(&minimal).unwrap();
}
