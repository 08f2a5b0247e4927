//! Replies to billing-ladder reminders: each button and typed answer, and the bad paths (an
//! invoice that is not open or not the customer's, a garbage payload, the system down, a number
//! not registered for the customer).

mod support;

use balcao_bot::{Action, ErpFailure, ErpOutcome, Resolution, Stage, Texts, Waiting};
use balcao_domain::webhook::MediaKind;
use balcao_erp::{Invoice, InvoiceStatus};
use balcao_intent::Sector;
use support::*;

/// Invoice "b" is the overdue one the reminders are about (due 10/11/2026, 11 days before
/// "today", R$ 102,59 with fine and interest); "a" is another open one.
fn both() -> Vec<Invoice> {
    vec![open_invoice("a"), overdue_invoice("b")]
}

const CONTEXT: &str =
    "fatura de 10/11/2026 (nº b), R$ 102,59, 11 dias em atraso (lembrete D+3 da régua)";

fn paid(id: &str) -> Invoice {
    let mut invoice = overdue_invoice(id);
    invoice.status = InvoiceStatus::Paid;
    invoice
}

/// A first message that is a reminder reply: the protocol greeting and the phone lookup, then
/// the customer found by phone, which asks for their open invoices.
fn identified_by_phone(script: &mut Script, first: Turn) {
    first.says("20261121-000123");
    assert!(matches!(first.erp_action(), Action::LookupByPhone(_)));
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    turn.says("Encontrei seu cadastro, Maria");
    match turn.erp_action() {
        Action::FetchOpenInvoices(c) => assert_eq!(c.erp_id, "42"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Pix and boleto
// ---------------------------------------------------------------------------------------------

#[test]
fn pix_button_goes_straight_to_that_invoices_pix_with_fine_and_interest() {
    let mut script = Script::new();
    let first = script.tap_reminder("ladder:pix:b", "Pagar com Pix");
    let reply = first.records("ladder_reply");
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0]["ask"], "pix");
    assert_eq!(reply[0]["invoice_erp_id"], "b");
    assert_eq!(reply[0]["step"], "d+3");
    assert_eq!(reply[0]["source"], "ladder_reply");
    identified_by_phone(&mut script, first);
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    turn.says("vencida")
        .says("R$ 102,59")
        .says("Valor original: R$ 99,90")
        .says(PIX)
        .does_not_say("10/12/2026")
        .does_not_say(LINE);
    assert_eq!(turn.records("invoice_sent")[0]["invoice_erp_id"], "b");
    assert_eq!(turn.records("ladder_invoice")[0]["open"], true);
    assert_eq!(script.state.stage(), Stage::AfterFlow);
    assert_eq!(script.state.reminder().unwrap().invoice_id, "b");
    let tags = script.state.tags();
    assert!(tags.contains(&"regua".to_owned()) && tags.contains(&"regua_pix".to_owned()));
}

#[test]
fn boleto_button_sends_the_digitable_line_and_the_pdf() {
    let mut script = Script::identified();
    let turn = script.tap_reminder("ladder:boleto:a", "Ver boleto");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    turn.says("consultando");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    turn.says("10/12/2026")
        .says(LINE)
        .says(PDF)
        .does_not_say(PIX);
    assert!(script.state.tags().contains(&"regua_boleto".to_owned()));
}

#[test]
fn a_tapped_button_of_an_old_reminder_works_mid_conversation() {
    let mut script = Script::identified();
    script.say("sem internet");
    assert_eq!(script.state.waiting_for(), Some(Waiting::Contracts));
    let active = balcao_erp::ContractStatus::Active;
    script.erp(ErpOutcome::Contracts(Ok(vec![contract("c1", active)])));
    script.erp(ErpOutcome::Connection(Ok(connection(
        Some(false),
        Some(false),
        Some(active),
    ))));
    assert_eq!(script.state.stage(), Stage::ConnectionCheck);
    // The bot asked about the connection; the subscriber taps Pix on yesterday's reminder.
    let turn = script.inbound(Some("Pagar com Pix"), Some("ladder:pix:b"), None, None);
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    turn.says(PIX).says("R$ 102,59");
    // Without the engine's reminder the step is unknown, not invented.
    assert_eq!(script.state.reminder().unwrap().step, None);
}

// ---------------------------------------------------------------------------------------------
// Invoice not open, unknown, garbage
// ---------------------------------------------------------------------------------------------

#[test]
fn an_invoice_no_longer_open_is_thanked_for_and_other_open_ones_offered() {
    let mut script = Script::identified();
    script.tap_reminder("ladder:pix:old", "Pagar com Pix");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    turn.says("não está mais em aberto")
        .says("Você ainda tem 2 fatura(s) em aberto")
        .does_not_say(PIX)
        .does_not_say("R$");
    assert_eq!(turn.button_ids(), vec!["intent:invoice", "intent:menu"]);
    assert_eq!(turn.records("ladder_invoice")[0]["open"], false);
    assert_eq!(script.state.stage(), Stage::AfterFlow);
}

#[test]
fn an_unknown_invoice_with_nothing_open_thanks_and_resolves() {
    let mut script = Script::new();
    let first = script.tap_reminder("ladder:negociar:zz", "Negociar");
    identified_by_phone(&mut script, first);
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![])));
    turn.says("não está mais em aberto")
        .says("Não há outras faturas em aberto")
        .says("20261121-000123");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(turn.closes());
    assert!(script.state.is_closed());
}

#[test]
fn a_garbage_ladder_payload_is_read_by_its_title() {
    let mut script = Script::identified();
    let turn = script.tap("ladder:xyz", "???");
    assert_eq!(turn.records("ladder_reply_malformed").len(), 1);
    assert!(turn.records("ladder_reply").is_empty());
    turn.says("não entendi");
    assert!(turn.erp_actions().is_empty());
    // With a readable title the usual flow runs (no invoice id is trusted).
    let turn = script.tap("ladder:pix", "Pagar com Pix");
    assert_eq!(turn.records("ladder_reply_malformed").len(), 1);
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    assert_eq!(script.state.reminder(), None);
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("a")])));
    turn.says(PIX);
}

// ---------------------------------------------------------------------------------------------
// "Já paguei"
// ---------------------------------------------------------------------------------------------

/// Taps "Já paguei" on the reminder about "b" (identified already) up to the fresh read.
fn already_paid_until_the_fresh_read(script: &mut Script) {
    let turn = script.tap_reminder("ladder:ja_paguei:b", "Já paguei");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    match turn.erp_action() {
        Action::FetchInvoice {
            customer,
            invoice_id,
        } => {
            assert_eq!(customer.erp_id, "42");
            assert_eq!(invoice_id, "b");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(script.state.waiting_for(), Some(Waiting::Invoice));
}

#[test]
fn already_paid_and_the_system_shows_it_paid_thanks_and_resolves() {
    let mut script = Script::identified();
    already_paid_until_the_fresh_read(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Ok(paid("b"))));
    turn.says("já consta no nosso sistema")
        .says("10/11/2026")
        .says("volta sozinha");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(turn.closes());
    assert_eq!(turn.records("payment_confirmed").len(), 1);
    let tags = script.state.tags();
    assert!(tags.contains(&"pagamento_informado".to_owned()));
    assert!(tags.contains(&"pagamento_confirmado".to_owned()));
}

#[test]
fn already_paid_still_open_asks_for_the_receipt_and_hands_it_to_billing() {
    let mut script = Script::identified();
    already_paid_until_the_fresh_read(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Ok(overdue_invoice("b"))));
    turn.says("Ainda não consta o pagamento")
        .says("R$ 102,59")
        .says("comprovante");
    assert_eq!(
        turn.button_ids(),
        vec!["bot:receipt:none", "intent:human:financeiro"]
    );
    assert_eq!(script.state.stage(), Stage::AwaitReceipt);
    // Words are not a receipt.
    let turn = script.say("já paguei ontem");
    turn.says("envie uma *foto* ou o *PDF*");
    assert!(turn.handoff().is_none());
    // An audio is not either.
    script.media().says("envie uma *foto* ou o *PDF*");
    let turn = script.photo();
    turn.says("Recebi o seu comprovante");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("comprovante enviado"), "{summary}");
    assert!(summary.contains(CONTEXT), "{summary}");
    assert!(summary.contains("Enviou o comprovante (foto)"), "{summary}");
    assert_eq!(turn.records("receipt_received")[0]["media"], "image");
    assert!(turn.tags().contains(&"comprovante".to_owned()));
}

#[test]
fn already_paid_without_a_receipt_goes_to_billing_anyway() {
    for answer in ["tap", "não tenho", "perdi o comprovante"] {
        let mut script = Script::identified();
        already_paid_until_the_fresh_read(&mut script);
        script.erp(ErpOutcome::Invoice(Ok(overdue_invoice("b"))));
        let turn = if answer == "tap" {
            script.tap("bot:receipt:none", "Não tenho")
        } else {
            script.say(answer)
        };
        let summary = turn.hands_off_to(Sector::Billing);
        assert!(summary.contains("sem comprovante"), "{answer}: {summary}");
        assert!(summary.contains(CONTEXT), "{answer}: {summary}");
    }
}

#[test]
fn silence_while_the_receipt_is_awaited_hands_off_instead_of_closing() {
    let mut script = Script::identified();
    already_paid_until_the_fresh_read(&mut script);
    script.erp(ErpOutcome::Invoice(Ok(overdue_invoice("b"))));
    let turn = script.fire_timer();
    turn.says("Ainda estou aguardando o comprovante")
        .says("passo o seu atendimento para o financeiro");
    assert!(turn.handoff().is_none());
    let turn = script.fire_timer();
    turn.says("Como o comprovante não chegou");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("não enviou o comprovante"), "{summary}");
    assert!(summary.contains(CONTEXT), "{summary}");
    assert!(!turn.closes());
}

/// Taps "Já paguei" on the reminder about "b" while only "a" is open in the chosen
/// registration, up to the read of "b" for that customer.
fn already_paid_for_an_invoice_not_among_the_open_ones(script: &mut Script) {
    script.tap_reminder("ladder:ja_paguei:b", "Já paguei");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("a")])));
    turn.does_not_say("Obrigado");
    match turn.erp_action() {
        Action::FetchInvoice {
            customer,
            invoice_id,
        } => {
            assert_eq!(customer.erp_id, "42");
            assert_eq!(invoice_id, "b");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn already_paid_for_an_invoice_no_longer_open_and_read_paid_thanks_and_resolves() {
    let mut script = Script::identified();
    already_paid_for_an_invoice_not_among_the_open_ones(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Ok(paid("b"))));
    turn.says("já consta no nosso sistema").says("Obrigado");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(turn.closes());
}

/// A shared phone: the subscriber chose another registration, which has no invoice "b".
#[test]
fn already_paid_for_an_invoice_of_another_registration_hands_off_without_an_all_clear() {
    let mut script = Script::identified();
    already_paid_for_an_invoice_not_among_the_open_ones(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Err(ErpFailure::NotFound)));
    turn.says("Não encontrei essa fatura neste cadastro.")
        .says("setor *Financeiro*")
        .does_not_say("Obrigado")
        .does_not_say("volta sozinha")
        .does_not_say("não consta mais como em aberto");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(
        summary.contains(
            "informou que já pagou a fatura b (lembrete D+3 da régua), que não foi encontrada neste cadastro"
        ),
        "{summary}"
    );
    assert_ne!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(!turn.closes());
    assert!(turn.tags().iter().all(|t| t != "pagamento_confirmado"));
}

#[test]
fn already_paid_for_a_cancelled_invoice_hands_off_without_an_all_clear() {
    let mut script = Script::identified();
    already_paid_for_an_invoice_not_among_the_open_ones(&mut script);
    let mut cancelled = overdue_invoice("b");
    cancelled.status = InvoiceStatus::Cancelled;
    let turn = script.erp(ErpOutcome::Invoice(Ok(cancelled)));
    turn.says("Não encontrei essa fatura neste cadastro.")
        .does_not_say("Obrigado");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("fatura b"), "{summary}");
    assert!(summary.contains("cancelada"), "{summary}");
    assert!(!turn.closes());
}

#[test]
fn already_paid_and_the_fresh_read_no_longer_finds_it_hands_off() {
    let mut script = Script::identified();
    already_paid_until_the_fresh_read(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Err(ErpFailure::NotFound)));
    turn.says("Não encontrei essa fatura neste cadastro.")
        .does_not_say("Obrigado");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("fatura b"), "{summary}");
    assert!(!turn.closes());
}

#[test]
fn a_receipt_photo_sent_in_reply_to_the_reminder_goes_to_billing_when_still_open() {
    let mut script = Script::new();
    let first = script.inbound(None, None, Some(MediaKind::Image), Some(reminder("b")));
    assert_eq!(first.records("ladder_reply")[0]["ask"], "already_paid");
    identified_by_phone(&mut script, first);
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    assert!(matches!(turn.erp_action(), Action::FetchInvoice { .. }));
    let turn = script.erp(ErpOutcome::Invoice(Ok(overdue_invoice("b"))));
    turn.says("Recebi o seu comprovante")
        .does_not_say("envie aqui");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("comprovante enviado"), "{summary}");
    assert!(summary.contains(CONTEXT), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// The system down
// ---------------------------------------------------------------------------------------------

#[test]
fn the_system_down_apologises_and_hands_off_with_the_reminder_in_the_summary() {
    let mut script = Script::identified();
    script.tap_reminder("ladder:ja_paguei:b", "Já paguei");
    let turn = script.erp(ErpOutcome::OpenInvoices(Err(down())));
    turn.says("fora do ar");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(
        summary.contains("Régua de cobrança: respondeu ao lembrete D+3 da fatura b"),
        "{summary}"
    );
    assert!(summary.contains("informou que já pagou"), "{summary}");

    // Down at the fresh read: the invoice's context is already known.
    let mut script = Script::identified();
    already_paid_until_the_fresh_read(&mut script);
    let turn = script.erp(ErpOutcome::Invoice(Err(down())));
    turn.says("fora do ar");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains(CONTEXT), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// Negotiation and the billing team
// ---------------------------------------------------------------------------------------------

#[test]
fn negotiate_offers_numbered_options_and_paying_in_full_shows_the_updated_amount() {
    let mut script = Script::identified();
    script.tap_reminder("ladder:negociar:b", "Negociar");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    turn.says("Vamos negociar a fatura com vencimento em 10/11/2026 (R$ 102,59)")
        .says("*1.* Pagar o total agora")
        .says("*2.* Nova data")
        .says("*3.* Parcelar");
    assert_eq!(
        turn.button_ids(),
        vec![
            "bot:negotiate:pay_in_full",
            "bot:negotiate:new_due_date",
            "bot:negotiate:instalments"
        ]
    );
    assert_eq!(script.state.stage(), Stage::Negotiation);
    let turn = script.say("1");
    turn.says("Valor atualizado com multa e juros: *R$ 102,59*");
    assert_eq!(turn.button_ids()[..2], ["bot:pix", "bot:boleto"]);
    script.tap("bot:pix", "Pix").says(PIX);
    assert_eq!(
        script
            .state
            .tags()
            .iter()
            .filter(|t| *t == "regua_negociacao")
            .count(),
        1
    );
}

#[test]
fn instalments_and_a_new_due_date_go_to_billing_with_the_request_and_the_invoice() {
    for (answer, request, tag) in [
        ("3", "pediu parcelamento da ", "negociacao_parcelamento"),
        (
            "quero parcelar",
            "pediu parcelamento da ",
            "negociacao_parcelamento",
        ),
        (
            "tap",
            "pediu nova data de vencimento da ",
            "negociacao_nova_data",
        ),
        (
            "dá pra mudar a data?",
            "pediu nova data de vencimento da ",
            "negociacao_nova_data",
        ),
    ] {
        let mut script = Script::identified();
        script.tap_reminder("ladder:negociar:b", "Negociar");
        script.erp(ErpOutcome::OpenInvoices(Ok(both())));
        let turn = if answer == "tap" {
            script.tap("bot:negotiate:new_due_date", "Nova data")
        } else {
            script.say(answer)
        };
        turn.says("Anotei").says("equipe financeira");
        let summary = turn.hands_off_to(Sector::Billing);
        assert!(
            summary.contains(&format!("{request}{CONTEXT}")),
            "{answer}: {summary}"
        );
        assert!(turn.tags().contains(&tag.to_owned()), "{answer}");
        assert_eq!(turn.records("negotiation_chosen").len(), 1);
    }
}

#[test]
fn something_else_during_the_negotiation_repeats_the_options() {
    let mut script = Script::identified();
    script.tap_reminder("ladder:negociar:b", "Negociar");
    script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    let turn = script.say("asdfgh");
    turn.says("não entendi").says("*3.* Parcelar");
    assert_eq!(script.state.stage(), Stage::Negotiation);
}

#[test]
fn talk_to_finance_hands_off_with_the_invoice_amount_days_and_step() {
    let mut script = Script::new();
    let first = script.tap_reminder("ladder:financeiro:b", "Falar com financeiro");
    // Not handed off before identification: the summary must carry the invoice.
    assert!(first.handoff().is_none());
    identified_by_phone(&mut script, first);
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(
        summary.contains(&format!(
            "pediu para falar com o financeiro sobre a {CONTEXT}"
        )),
        "{summary}"
    );
    turn.says("setor *Financeiro*");
}

#[test]
fn talk_to_finance_about_an_invoice_no_longer_open_still_reaches_billing() {
    let mut script = Script::identified();
    script.tap_reminder("ladder:financeiro:zz", "Falar com financeiro");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("fatura zz"), "{summary}");
    assert!(summary.contains("não consta mais em aberto"), "{summary}");
}

// ---------------------------------------------------------------------------------------------
// Typed replies, stop, identification
// ---------------------------------------------------------------------------------------------

#[test]
fn typed_replies_to_a_reminder_reach_the_same_flows() {
    let mut script = Script::new();
    let first = script.say_after_reminder("manda o pix", "b");
    identified_by_phone(&mut script, first);
    script
        .erp(ErpOutcome::OpenInvoices(Ok(both())))
        .says(PIX)
        .says("R$ 102,59");

    let mut script = Script::identified();
    script.say_after_reminder("quero negociar", "b");
    script
        .erp(ErpOutcome::OpenInvoices(Ok(both())))
        .says("*3.* Parcelar");

    let mut script = Script::identified();
    script.say_after_reminder("já paguei", "b");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
    assert!(matches!(turn.erp_action(), Action::FetchInvoice { .. }));

    // The reminder is remembered for the rest of the conversation.
    let mut script = Script::identified();
    script.say_after_reminder("oi", "b");
    let turn = script.say("boleto");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    script
        .erp(ErpOutcome::OpenInvoices(Ok(both())))
        .says(LINE)
        .says("10/11/2026");
}

#[test]
fn paying_an_instalment_in_reply_to_a_reminder_is_already_paid_not_a_negotiation() {
    for text in [
        "paguei a parcela",
        "já paguei a parcela de acordo com o combinado",
    ] {
        let mut script = Script::identified();
        let turn = script.say_after_reminder(text, "b");
        assert_eq!(
            turn.records("ladder_reply")[0]["ask"],
            "already_paid",
            "{text}"
        );
        let turn = script.erp(ErpOutcome::OpenInvoices(Ok(both())));
        assert!(
            matches!(turn.erp_action(), Action::FetchInvoice { .. }),
            "{text}"
        );
    }
}

#[test]
fn paying_an_instalment_without_a_reminder_is_not_a_negotiation() {
    let mut script = Script::identified();
    let turn = script.say("paguei a parcela");
    assert!(turn.handoff().is_none());
    assert!(!turn.tags().contains(&"negociacao".to_owned()));
    assert!(turn.tags().contains(&"pagamento_informado".to_owned()));
}

#[test]
fn quero_negociar_without_a_reminder_goes_to_billing() {
    let mut script = Script::identified();
    let turn = script.say("quero negociar");
    turn.hands_off_to(Sector::Billing);
}

#[test]
fn the_stop_button_opts_out_and_the_conversation_goes_on() {
    let mut script = Script::new();
    let turn = script.tap_reminder("ladder:sair:b", "Parar lembretes");
    turn.says("não vai mais receber mensagens automáticas de cobrança");
    assert!(turn.records("ladder_reply").is_empty());
    assert!(matches!(turn.erp_action(), Action::LookupByPhone(_)));
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    turn.says("*1.* 2ª via / Pix");
}

#[test]
fn a_number_not_registered_sees_nothing_until_confirmed() {
    let mut script = Script::new();
    script.tap_reminder("ladder:pix:b", "Pagar com Pix");
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    turn.says("CPF");
    script.say(OTHER_CPF);
    let turn = script.erp(ErpOutcome::CustomerByDocument(Ok(
        Some(stranger_customer()),
    )));
    turn.says("este WhatsApp não está registrado")
        .does_not_say("JOÃO")
        .does_not_say(PIX);
    assert!(turn.erp_actions().is_empty());
    assert_eq!(script.state.stage(), Stage::ConfirmIdentity);
    // Tapping the reminder again changes nothing.
    let turn = script.tap_reminder("ladder:pix:b", "Pagar com Pix");
    assert!(turn.erp_actions().is_empty());
    turn.says("telefone com DDD").does_not_say(PIX);
    // Confirmed with the registered e-mail: now the invoice.
    let turn = script.say("joao@example.com");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    script.erp(ErpOutcome::OpenInvoices(Ok(both()))).says(PIX);
}

#[test]
fn reminder_texts_are_editable() {
    let texts = Texts::from_json(
        r#"{"receipt_request": "Manda o comprovante da fatura de {{vencimento}}, {{valor}}."}"#,
    )
    .unwrap();
    let mut script = Script::with_texts(texts);
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    already_paid_until_the_fresh_read(&mut script);
    script
        .erp(ErpOutcome::Invoice(Ok(overdue_invoice("b"))))
        .says("Manda o comprovante da fatura de 10/11/2026, R$ 102,59.");
    assert!(
        Texts::from_json(r#"{"negotiation_options": "{{parcelas}}"}"#).is_err(),
        "unknown variables are refused"
    );
}
