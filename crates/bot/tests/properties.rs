//! Whatever arrives, in whatever order: the bot never panics, answers every inbound message,
//! never shows a CPF unmasked, keeps every message within WhatsApp's limits, emits at most one
//! ERP action per step (and waits for it), and survives JSON storage.

mod support;

use balcao_bot::{Action, ErpFailure, ErpOutcome, Input, LadderReminder, Stage, Waiting, compose};
use balcao_domain::WaId;
use balcao_domain::br::Document;
use balcao_domain::webhook::MediaKind;
use balcao_erp::{ContractStatus, Customer, InvoiceStatus, UnlockRefusal};
use jiff::SignedDuration;
use proptest::prelude::*;
use support::*;

/// Every CPF that appears anywhere in the inputs.
const CPFS: [&str; 4] = [CPF, OTHER_CPF, "12345678909", "39053344705"];

fn masked(cpf: &str) -> String {
    Document::parse(cpf).unwrap().masked()
}

const SAYINGS: &[&str] = &[
    "oi",
    "bom dia",
    "menu",
    "atendente",
    "falar com financeiro",
    "qual meu protocolo",
    "segunda via",
    "pix",
    "boleto",
    "débitos",
    "desbloqueio de confiança",
    "sem internet",
    "quero cancelar",
    "obrigado",
    "sim",
    "não",
    "voltou",
    "não voltou",
    "tchau",
    "já paguei",
    "1",
    "2",
    "3",
    "4",
    "5",
    "7",
    "0",
    "529.982.247-25",
    "52998224725",
    "111.444.777-35",
    "123.456.789-09",
    "390.533.447-05",
    "529.982.247-24",
    "5299822472",
    "111.111.111-11",
    "11.222.333/0001-81",
    "11987654321",
    "(21) 99876-5432",
    "maria@example.com",
    "joao@example.com",
    "asdfgh",
    "",
    "   ",
    "🙂🙂",
    "{{protocolo}}",
];

const REPLY_IDS: &[&str] = &[
    "intent:invoice",
    "intent:invoice:pix",
    "intent:debts",
    "intent:unlock",
    "intent:connection",
    "intent:human",
    "intent:human:financeiro",
    "intent:human:suporte",
    "intent:menu",
    "intent:yes",
    "intent:no",
    "intent:number:2",
    "bot:pix",
    "bot:boleto",
    "bot:negotiate",
    "bot:customer:1",
    "bot:customer:2",
    "bot:customer:9",
    "bot:customer:none",
    "bot:contract:1",
    "bot:contract:2",
    "bot:invoice:1",
    "bot:invoice:3",
    "garbage:id",
    "",
    "bot:negotiate:pay_in_full",
    "bot:negotiate:instalments",
    "bot:receipt:none",
    "ladder:pix:a",
    "ladder:xyz",
];

/// Quick replies of ladder reminders (invoice "a" is open in most answers, "b" overdue, "zz"
/// never) and the typed answers to one.
const REMINDER_REPLIES: &[(&str, &str)] = &[
    ("ladder:pix:a", "Pagar com Pix"),
    ("ladder:boleto:b", "Ver boleto"),
    ("ladder:negociar:b", "Negociar"),
    ("ladder:ja_paguei:a", "Já paguei"),
    ("ladder:financeiro:a", "Falar com financeiro"),
    ("ladder:sair:a", "Parar lembretes"),
    ("ladder:pix:zz", "Pagar com Pix"),
    ("ladder:xyz", "???"),
    ("", "já paguei"),
    ("", "quero negociar"),
    ("", "manda o pix"),
    ("", "não tenho"),
    ("", "parcelar"),
    ("", "2"),
];

const MEDIA: [MediaKind; 4] = [
    MediaKind::Image,
    MediaKind::Document,
    MediaKind::Audio,
    MediaKind::Sticker,
];

#[derive(Clone, Debug)]
enum Event {
    Say(usize),
    /// A reply id with a free title.
    Tap(usize, String),
    Free(String),
    Media,
    /// A photo, PDF, audio or sticker after the reminder about invoice "a".
    MediaAfterReminder(usize),
    /// A reminder's quick reply or a typed answer after it.
    Reminder(usize),
    /// Answers what the bot waits for with the n-th outcome of that kind.
    Answer(usize),
    /// An outcome of any kind, expected or not.
    Stray(usize, usize),
    /// Taps one of the buttons or rows of the last interactive message, as people do.
    TapOffered(usize),
    /// The armed timer fires.
    Timer,
    /// A timer fires at an arbitrary offset from now.
    TimerAt(i64),
    Wait(i64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (0..SAYINGS.len()).prop_map(Event::Say),
        2 => ((0..REPLY_IDS.len()), "\\PC{0,12}").prop_map(|(i, t)| Event::Tap(i, t)),
        1 => "\\PC{0,40}".prop_map(Event::Free),
        1 => Just(Event::Media),
        1 => (0..MEDIA.len()).prop_map(Event::MediaAfterReminder),
        2 => (0..REMINDER_REPLIES.len()).prop_map(Event::Reminder),
        5 => (0usize..12).prop_map(Event::Answer),
        4 => (0usize..10).prop_map(Event::TapOffered),
        1 => ((0..KINDS.len()), (0usize..12)).prop_map(|(k, n)| Event::Stray(k, n)),
        1 => Just(Event::Timer),
        1 => (-30i64..30).prop_map(Event::TimerAt),
        1 => (0i64..30).prop_map(Event::Wait),
    ]
}

/// A subscriber who mostly answers what is asked: deep into every flow.
fn cooperative_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        2 => (0..SAYINGS.len()).prop_map(Event::Say),
        1 => (0..REMINDER_REPLIES.len()).prop_map(Event::Reminder),
        1 => (0..MEDIA.len()).prop_map(Event::MediaAfterReminder),
        6 => (0usize..12).prop_map(Event::Answer),
        6 => (0usize..10).prop_map(Event::TapOffered),
    ]
}

fn customers(n: usize) -> Vec<Customer> {
    let mut second = customer();
    second.erp_id = "43".into();
    second.document = Some(Document::parse("12345678909").unwrap());
    match n % 5 {
        0 => vec![],
        1 => vec![customer(), second],
        2 => vec![stranger_customer()],
        _ => vec![customer()],
    }
}

fn failure(n: usize) -> ErpFailure {
    match n % 4 {
        0 => down(),
        1 => not_supported(),
        2 => ErpFailure::NotFound,
        _ => ErpFailure::Failed {
            detail: "resposta inválida".into(),
        },
    }
}

fn outcome(kind: Waiting, n: usize) -> ErpOutcome {
    // Most answers succeed (in every shape); the last ones fail in every way.
    let fail = n >= 8;
    match kind {
        Waiting::CustomersByPhone => ErpOutcome::CustomersByPhone(if fail {
            Err(failure(n))
        } else {
            Ok(customers(n))
        }),
        Waiting::CustomerByDocument => ErpOutcome::CustomerByDocument(if fail {
            Err(failure(n))
        } else {
            Ok(match n % 3 {
                0 => None,
                1 => Some(customer()),
                _ => Some(stranger_customer()),
            })
        }),
        Waiting::Contracts => ErpOutcome::Contracts(if fail {
            Err(failure(n))
        } else {
            Ok(match n % 3 {
                0 => vec![],
                1 => vec![contract("c1", ContractStatus::SuspendedDebt)],
                _ => vec![
                    contract("c1", ContractStatus::Active),
                    contract("c2", ContractStatus::Cancelled),
                    contract("c3", ContractStatus::ReducedSpeed),
                ],
            })
        }),
        Waiting::OpenInvoices => ErpOutcome::OpenInvoices(if fail {
            Err(failure(n))
        } else {
            Ok(match n % 4 {
                0 => vec![],
                1 => vec![open_invoice("a")],
                2 => vec![overdue_invoice("b"), open_invoice("a")],
                _ => {
                    let mut partial = open_invoice("p");
                    partial.status = InvoiceStatus::Partial;
                    partial.paid_cents = Some(1000);
                    partial.payment_methods.clear();
                    (0..12).map(|_| partial.clone()).collect()
                }
            })
        }),
        Waiting::Invoice => ErpOutcome::Invoice(if fail {
            Err(failure(n))
        } else {
            let mut invoice = open_invoice("a");
            if n.is_multiple_of(3) {
                invoice.status = InvoiceStatus::Paid;
            }
            Ok(invoice)
        }),
        Waiting::Unlock => ErpOutcome::Unlock(if fail {
            Err(failure(n))
        } else {
            let refusals = [
                UnlockRefusal::AlreadyUsedUnpaid,
                UnlockRefusal::NotBlocked,
                UnlockRefusal::ContractInactive,
                UnlockRefusal::NotFound,
                UnlockRefusal::ExceedsPolicy,
                UnlockRefusal::NotSupported,
                UnlockRefusal::Unknown,
            ];
            Ok(match refusals.get(n) {
                Some(refusal) => refused(*refusal),
                None => granted(Some(jiff::civil::date(2026, 11, 25)), None),
            })
        }),
        Waiting::Connection => ErpOutcome::Connection(if fail {
            Err(failure(n))
        } else {
            Ok(match n % 4 {
                0 => connection(Some(false), Some(false), Some(ContractStatus::Active)),
                1 => connection(Some(true), None, None),
                2 => connection(None, Some(true), Some(ContractStatus::SuspendedDebt)),
                _ => connection(None, Some(true), Some(ContractStatus::SuspendedByRequest)),
            })
        }),
        Waiting::Ticket => ErpOutcome::Ticket(if fail {
            Err(failure(n))
        } else {
            Ok(ticket("T-1"))
        }),
    }
}

const KINDS: [Waiting; 8] = [
    Waiting::CustomersByPhone,
    Waiting::CustomerByDocument,
    Waiting::Contracts,
    Waiting::OpenInvoices,
    Waiting::Invoice,
    Waiting::Unlock,
    Waiting::Connection,
    Waiting::Ticket,
];

/// The buttons and rows (id, title) of the last interactive message sent.
fn offered(actions: &[Action]) -> Vec<(String, String)> {
    use balcao_domain::outbound::OutboundContent;
    let mut out = Vec::new();
    for action in actions {
        match action {
            Action::Send(OutboundContent::Buttons { buttons, .. }) => {
                out = buttons
                    .iter()
                    .map(|b| (b.id.clone(), b.title.clone()))
                    .collect();
            }
            Action::Send(OutboundContent::List { sections, .. }) => {
                out = sections
                    .iter()
                    .flat_map(|s| s.rows.iter().map(|r| (r.id.clone(), r.title.clone())))
                    .collect();
            }
            _ => {}
        }
    }
    out
}

fn input(script: &mut Script, event: &Event, offered: &[(String, String)]) -> Option<Input> {
    let message = |script: &mut Script,
                   text: Option<String>,
                   reply_id: Option<String>,
                   media: Option<MediaKind>,
                   reminder: Option<LadderReminder>| {
        script.now += SignedDuration::from_secs(3);
        Input::Inbound {
            text,
            reply_id,
            wa_id: script.wa_id.clone(),
            at: script.now,
            media,
            reminder,
        }
    };
    let inbound = |script: &mut Script, text: Option<String>, reply_id: Option<String>| {
        message(script, text, reply_id, None, None)
    };
    Some(match event {
        Event::Say(i) => inbound(script, Some(SAYINGS[*i].to_owned()), None),
        Event::Tap(i, title) => {
            inbound(script, Some(title.clone()), Some(REPLY_IDS[*i].to_owned()))
        }
        Event::Free(text) => inbound(script, Some(text.clone()), None),
        Event::Media => message(script, None, None, Some(MediaKind::Audio), None),
        Event::MediaAfterReminder(i) => {
            message(script, None, None, Some(MEDIA[*i]), Some(reminder("a")))
        }
        Event::Reminder(i) => {
            let (id, title) = REMINDER_REPLIES[*i];
            let invoice = id.splitn(3, ':').nth(2).unwrap_or("a");
            let reply_id = (!id.is_empty()).then(|| id.to_owned());
            message(
                script,
                Some(title.to_owned()),
                reply_id,
                None,
                Some(reminder(invoice)),
            )
        }
        Event::TapOffered(i) => {
            let (id, title) = offered.get(i % offered.len().max(1))?.clone();
            inbound(script, Some(title), Some(id))
        }
        Event::Answer(n) => Input::Erp(outcome(script.state.waiting_for()?, *n)),
        Event::Stray(kind, n) => Input::Erp(outcome(KINDS[*kind], *n)),
        Event::Timer => {
            let due = script.state.inactivity()?.due_at;
            script.now = due;
            Input::InactivityTimer { at: due }
        }
        Event::TimerAt(minutes) => Input::InactivityTimer {
            at: script.now + SignedDuration::from_mins(*minutes),
        },
        Event::Wait(minutes) => {
            script.now += SignedDuration::from_mins(*minutes);
            return None;
        }
    })
}

fn check_step(input: &Input, actions: &[Action], script: &Script) -> Result<(), TestCaseError> {
    let sends: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(content) => Some(content),
            _ => None,
        })
        .collect();
    if matches!(input, Input::Inbound { .. }) {
        let handed_off = actions.iter().any(|a| matches!(a, Action::Handoff { .. }));
        prop_assert!(
            !sends.is_empty() || handed_off,
            "inbound left without an answer: {:?}",
            actions
        );
    }
    for content in &sends {
        prop_assert!(
            compose::fits_limits(content),
            "over the limits: {content:?}"
        );
        let serialized = serde_json::to_string(content).unwrap();
        for cpf in CPFS {
            prop_assert!(
                !serialized.contains(cpf) && !serialized.contains(&masked(cpf)),
                "CPF {cpf} unmasked in {serialized}"
            );
        }
    }
    for action in actions {
        if let Action::Handoff { summary, .. } = action {
            for cpf in CPFS {
                prop_assert!(!summary.contains(cpf) && !summary.contains(&masked(cpf)));
            }
        }
        if let Action::Record { data, .. } = action {
            let serialized = data.to_string();
            for cpf in CPFS {
                prop_assert!(!serialized.contains(cpf), "CPF in a record: {serialized}");
            }
        }
    }
    let erp_actions = actions.iter().filter(|a| a.is_erp()).count();
    prop_assert!(erp_actions <= 1, "several ERP actions: {actions:?}");
    if erp_actions == 1 {
        prop_assert!(
            script.state.waiting_for().is_some(),
            "ERP action without waiting"
        );
    }
    if script.state.is_finished() {
        prop_assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::ScheduleInactivity { .. })),
            "timer armed after the end: {actions:?}"
        );
    }
    let resolutions = actions
        .iter()
        .filter(|a| matches!(a, Action::Resolve(_)))
        .count();
    prop_assert!(resolutions <= 1);
    Ok(())
}

fn run(events: &[Event], script: &mut Script) -> Result<(), TestCaseError> {
    let mut last_offered = Vec::new();
    for event in events {
        let Some(input) = input(script, event, &last_offered) else {
            continue;
        };
        // `feed` also checks the JSON round trip of the state.
        let turn = script.feed(input.clone());
        check_step(&input, &turn.0, script)?;
        let now_offered = offered(&turn.0);
        if !now_offered.is_empty() {
            last_offered = now_offered;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_is_answered_safely(events in prop::collection::vec(event(), 1..40)) {
        let mut script = Script::new();
        run(&events, &mut script)?;
    }

    #[test]
    fn any_cooperative_conversation_is_answered_safely(
        events in prop::collection::vec(cooperative_event(), 1..60),
    ) {
        let mut script = Script::new();
        run(&events, &mut script)?;
    }

    #[test]
    fn any_sequence_from_an_unregistered_old_style_number_is_answered_safely(
        events in prop::collection::vec(event(), 1..40),
    ) {
        let mut script = Script::new();
        // The 8-digit form of a number that is not the customer's.
        script.wa_id = WaId::parse("552188887777").unwrap();
        run(&events, &mut script)?;
    }

    /// After anything, two "atendente" messages reach a person.
    #[test]
    fn a_person_is_always_two_messages_away(events in prop::collection::vec(event(), 0..30)) {
        let mut script = Script::new();
        run(&events, &mut script)?;
        for _ in 0..2 {
            if matches!(script.state.stage(), Stage::HandedOff { .. }) {
                break;
            }
            let turn = script.say("atendente");
            check_step(
                &Input::Inbound { text: None, reply_id: None, wa_id: script.wa_id.clone(), at: script.now, media: None, reminder: None },
                &turn.0,
                &script,
            )?;
        }
        prop_assert!(matches!(script.state.stage(), Stage::HandedOff { .. }), "{:?}", script.state.stage());
    }

    /// A conversation that has not ended always gets the menu (or, during an unlock/ticket
    /// request, the promise of it) on "menu".
    #[test]
    fn menu_always_answers(events in prop::collection::vec(event(), 0..30)) {
        let mut script = Script::new();
        run(&events, &mut script)?;
        let before = script.state.stage();
        let waiting_write = script.state.waiting_for().is_some_and(Waiting::is_write);
        let turn = script.say("menu");
        prop_assert!(!turn.sends().is_empty());
        match before {
            Stage::Start | Stage::Closed => {
                prop_assert_eq!(script.state.stage(), Stage::Identifying);
            }
            Stage::HandedOff { .. } => {}
            _ if waiting_write => {
                prop_assert!(turn.text().contains("já te mostro o menu"));
            }
            _ => {
                prop_assert_eq!(script.state.stage(), Stage::Menu);
                prop_assert!(turn.text().contains("*1.*"));
            }
        }
    }
}

/// The cooperative random conversations reach deep into every flow (so the properties are not
/// checked only on greetings and handoffs).
#[test]
fn random_conversations_reach_every_stage_and_action() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(cooperative_event(), 1..60);
    let mut stages = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for _ in 0..500 {
        let events = strategy.new_tree(&mut runner).unwrap().current();
        let mut script = Script::new();
        let mut last_offered = Vec::new();
        for event in &events {
            let Some(input) = input(&mut script, event, &last_offered) else {
                continue;
            };
            let turn = script.feed(input);
            let now_offered = offered(&turn.0);
            if !now_offered.is_empty() {
                last_offered = now_offered;
            }
            stages.insert(
                format!("{:?}", script.state.stage())
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_owned(),
            );
            for action in &turn.0 {
                let name = format!("{action:?}");
                actions.insert(name.split(['(', ' ', '{']).next().unwrap().to_owned());
            }
        }
    }
    for stage in [
        "AskDocument",
        "ConfirmIdentity",
        "ChooseCustomer",
        "ChooseContract",
        "Menu",
        "ChooseInvoice",
        "InvoiceMethod",
        "ConfirmUnlock",
        "ConnectionCheck",
        "ChooseSector",
        "Negotiation",
        "AwaitReceipt",
        "AfterFlow",
        "HandedOff",
        "Closed",
    ] {
        assert!(stages.contains(stage), "{stage} never reached: {stages:?}");
    }
    for action in [
        "LookupByPhone",
        "LookupByDocument",
        "FetchContracts",
        "FetchOpenInvoices",
        "FetchInvoice",
        "TrustUnlock",
        "CheckConnection",
        "OpenTicket",
        "Handoff",
        "Close",
    ] {
        assert!(
            actions.contains(action),
            "{action} never emitted: {actions:?}"
        );
    }
}
