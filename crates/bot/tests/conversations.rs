//! Scripted conversations covering every flow and every bad input of the bot.

mod support;

use balcao_bot::{Action, ErpOutcome, Resolution, Stage, Texts, Verification, Waiting};
use balcao_domain::br::Document;
use balcao_erp::{ContractStatus, InvoiceStatus, UnlockRefusal};
use balcao_intent::Sector;
use jiff::SignedDuration;
use support::*;

// ---------------------------------------------------------------------------------------------
// Protocol and identification
// ---------------------------------------------------------------------------------------------

#[test]
fn first_reply_carries_the_protocol_with_local_date_and_time_then_looks_up_the_phone() {
    let mut script = Script::new();
    let turn = script.say("oi");
    let first = turn.sends()[0].display_text();
    assert!(first.contains("20261121-000123"), "{first}");
    assert!(first.contains("21/11/2026 às 09:14"), "{first}");
    assert!(first.contains("Rede Rápida"), "{first}");
    match turn.erp_action() {
        Action::LookupByPhone(wa_id) => assert_eq!(wa_id.as_str(), WA_ID),
        other => panic!("{other:?}"),
    }
    assert_eq!(script.state.waiting_for(), Some(Waiting::CustomersByPhone));
    assert_eq!(turn.records("protocol_given").len(), 1);
    assert!(turn.schedules().is_some());
}

#[test]
fn found_by_phone_greets_by_first_name_and_shows_the_numbered_menu_list() {
    let mut script = Script::new();
    script.say("bom dia");
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    turn.says("Maria")
        .says("*1.* 2ª via / Pix")
        .says("*5.* Falar com atendente")
        .does_not_say("MARIA DA SILVA");
    assert_eq!(
        turn.row_ids(),
        vec![
            "intent:invoice",
            "intent:debts",
            "intent:unlock",
            "intent:connection",
            "intent:human"
        ]
    );
    assert_eq!(
        script.state.identified().unwrap().verification,
        Verification::RegisteredPhone
    );
    assert_eq!(turn.records("identified").len(), 1);
}

#[test]
fn protocol_is_repeated_on_request_in_any_state() {
    let mut script = Script::new();
    // While waiting for the phone lookup.
    script.say("oi");
    script
        .say("qual meu protocolo?")
        .says("20261121-000123")
        .says("21/11/2026 às 09:14");
    assert_eq!(script.state.waiting_for(), Some(Waiting::CustomersByPhone));
    // While asking for the document.
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say("protocolo").says("20261121-000123");
    assert_eq!(script.state.stage(), Stage::AskDocument);
    // After a handoff.
    let mut script = Script::identified();
    script.say("atendente");
    script.say("1");
    script.say("me passa o protocolo").says("20261121-000123");
}

#[test]
fn a_request_in_the_first_message_runs_right_after_identification() {
    let mut script = Script::new();
    script.say("bom dia, quero a segunda via do boleto");
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    turn.says("Maria");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(c) if c.erp_id == "42"));
    assert!(script.state.tags().contains(&"fatura".to_owned()));
}

#[test]
fn unknown_phone_asks_for_the_document_and_a_valid_cpf_is_looked_up() {
    let mut script = Script::new();
    script.say("oi");
    script
        .erp(ErpOutcome::CustomersByPhone(Ok(vec![])))
        .says("CPF")
        .says("CNPJ");
    assert_eq!(script.state.stage(), Stage::AskDocument);
    let turn = script.say("meu cpf é 529.982.247-25");
    match turn.erp_action() {
        Action::LookupByDocument(document) => assert_eq!(document.as_str(), CPF),
        other => panic!("{other:?}"),
    }
    let turn = script.erp(ErpOutcome::CustomerByDocument(Ok(Some(customer()))));
    // This number is registered for the customer: no confirmation needed.
    turn.says("Maria");
    assert_eq!(
        script.state.identified().unwrap().verification,
        Verification::DocumentAndRegisteredPhone
    );
    assert_eq!(script.state.stage(), Stage::Menu);
}

#[test]
fn invalid_documents_get_a_clear_reason_and_attempts_are_limited() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script
        .say("529.982.247-24")
        .says("dígitos verificadores não conferem")
        .says("CPF");
    assert_eq!(script.state.stage(), Stage::AskDocument);
    script
        .say("5299822472")
        .says("o CPF tem 11 dígitos e o CNPJ tem 14")
        .says("tem 10");
    let turn = script.say("111.111.111-11");
    let summary = turn.hands_off_to(Sector::Support);
    turn.says("Não consegui localizar o seu cadastro");
    assert!(turn.tags().contains(&"nao_identificado".to_owned()));
    assert!(summary.contains("não identificado"), "{summary}");
    assert_eq!(turn.records("document_rejected").len(), 1);
}

#[test]
fn wrong_cnpj_check_digit_and_repeated_digits_are_explained() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script
        .say("11.222.333/0001-82")
        .says("Esse CNPJ não é válido");
    script
        .say("000.000.000-00")
        .says("todos os dígitos são iguais");
}

#[test]
fn a_document_that_matches_nobody_counts_as_an_attempt_and_is_shown_redacted() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    for attempt in 1..=2 {
        script.say(CPF);
        let turn = script.erp(ErpOutcome::CustomerByDocument(Ok(None)));
        turn.says("***.982.247-**").does_not_say(CPF);
        assert_eq!(
            script.state.stage(),
            Stage::AskDocument,
            "attempt {attempt}"
        );
    }
    script.say(CPF);
    let turn = script.erp(ErpOutcome::CustomerByDocument(Err(
        balcao_bot::ErpFailure::NotFound,
    )));
    turn.hands_off_to(Sector::Support);
}

#[test]
fn a_document_from_an_unregistered_number_needs_confirmation_before_any_data() {
    let mut script = Script::new();
    script.say("quero meus débitos");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say(OTHER_CPF);
    let turn = script.erp(ErpOutcome::CustomerByDocument(Ok(
        Some(stranger_customer()),
    )));
    turn.says("***.444.777-**")
        .says("telefone com DDD")
        .does_not_say("João")
        .does_not_say("JOÃO");
    assert!(turn.erp_actions().is_empty(), "no data before confirmation");
    assert_eq!(script.state.stage(), Stage::ConfirmIdentity);
    // Asking for invoices again does not bypass it.
    let turn = script.say("segunda via");
    assert!(turn.erp_actions().is_empty());
    turn.says("telefone com DDD");
    // Wrong phone, then the right one (written differently).
    script.say("(11) 91234-5678").says("não confere");
    let turn = script.say("21998765432");
    turn.says("confirmado");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(c) if c.erp_id == "77"));
    assert_eq!(
        script.state.identified().unwrap().verification,
        Verification::DocumentAndConfirmation
    );
}

#[test]
fn confirmation_by_email_works_and_wrong_answers_are_limited() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say(OTHER_CPF);
    script.erp(ErpOutcome::CustomerByDocument(Ok(
        Some(stranger_customer()),
    )));
    script.say("meu email é JOAO@example.com.").says("João");
    assert_eq!(script.state.stage(), Stage::Menu);

    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say(OTHER_CPF);
    script.erp(ErpOutcome::CustomerByDocument(Ok(
        Some(stranger_customer()),
    )));
    script.say("x@y.com").says("não confere");
    script.say("11911112222").says("não confere");
    let turn = script.say("z@w.com");
    let summary = turn.hands_off_to(Sector::Support);
    assert!(summary.contains("NÃO confirmada"), "{summary}");
    assert!(summary.contains("***.444.777-**"), "{summary}");
    assert!(!summary.contains(OTHER_CPF));
}

#[test]
fn a_record_without_phone_or_email_cannot_be_confirmed_and_goes_to_a_person() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say(OTHER_CPF);
    let mut customer = stranger_customer();
    customer.phones.clear();
    customer.emails.clear();
    let turn = script.erp(ErpOutcome::CustomerByDocument(Ok(Some(customer))));
    turn.hands_off_to(Sector::Support);
    turn.says("Não consegui confirmar");
}

#[test]
fn several_customers_on_one_phone_are_listed_with_redacted_documents() {
    let mut script = Script::new();
    script.say("oi");
    let mut second = customer();
    second.erp_id = "43".into();
    second.name = "PEDRO DA SILVA".into();
    second.document = Some(Document::parse("12345678909").unwrap());
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer(), second])));
    turn.says("*1.* MARIA DA SILVA")
        .says("*2.* PEDRO DA SILVA")
        .says("CPF ***.982.247-**")
        .says("Nenhum desses")
        .does_not_say(CPF)
        .does_not_say("529.982.247-25");
    assert_eq!(
        turn.row_ids(),
        vec!["bot:customer:1", "bot:customer:2", "bot:customer:none"]
    );
    script.say("2").says("Pedro");
    assert_eq!(script.state.identified().unwrap().customer.erp_id, "43");
}

#[test]
fn none_of_these_asks_for_the_document_and_an_out_of_range_number_is_invalid() {
    let mut script = Script::new();
    script.say("oi");
    let mut second = customer();
    second.erp_id = "43".into();
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer(), second])));
    script.say("7").says("não entendi").says("*1.*");
    assert_eq!(script.state.stage(), Stage::ChooseCustomer);
    script.tap("bot:customer:none", "Nenhum desses").says("CPF");
    assert_eq!(script.state.stage(), Stage::AskDocument);
}

#[test]
fn several_contracts_are_chosen_from_a_list() {
    let mut script = Script::identified();
    let turn = script.say("3");
    assert!(matches!(turn.erp_action(), Action::FetchContracts(_)));
    let turn = script.erp(ErpOutcome::Contracts(Ok(vec![
        contract("c1", ContractStatus::SuspendedDebt),
        contract("c2", ContractStatus::Active),
        contract("c3", ContractStatus::Cancelled),
    ])));
    turn.says("mais de um contrato")
        .says("Fibra 300 (c1)")
        .says("Suspenso por débito")
        .does_not_say("(c3)");
    assert_eq!(turn.row_ids(), vec!["bot:contract:1", "bot:contract:2"]);
    let turn = script.tap("bot:contract:1", "Fibra 300 (c1)");
    turn.says("desbloqueio de confiança").says("c1");
    assert_eq!(script.state.contract().unwrap().erp_id, "c1");
    assert_eq!(script.state.stage(), Stage::ConfirmUnlock);
}

// ---------------------------------------------------------------------------------------------
// Invoice and debts
// ---------------------------------------------------------------------------------------------

#[test]
fn open_invoice_shows_amount_due_date_and_payment_buttons_then_pix_and_boleto() {
    let mut script = Script::identified();
    script.say("1");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])));
    turn.says("10/12/2026").says("R$ 99,90");
    assert_eq!(
        turn.button_ids(),
        vec!["bot:pix", "bot:boleto", "intent:human:financeiro"]
    );
    turn.says("Pix").says("Boleto").says("Falar com financeiro");
    assert_eq!(script.state.stage(), Stage::InvoiceMethod);

    let turn = script.tap("bot:pix", "Pix");
    turn.says(PIX).says("Posso ajudar em algo mais?");
    assert!(turn.records("flow_completed").len() == 1);
    // The same invoice, now as boleto: no new ERP call.
    let turn = script.say("manda o boleto");
    assert!(turn.erp_actions().is_empty());
    turn.says(LINE).says(PDF);
    assert!(turn.sends().iter().any(|c| matches!(
        c,
        balcao_domain::outbound::OutboundContent::Document { link, filename: Some(name), .. }
            if link == PDF && name.ends_with(".pdf")
    )));
    // Done: thanks resolves by bot and closes.
    let turn = script.tap("intent:no", "Não, obrigado");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(turn.closes());
    turn.says("20261121-000123");
    assert_eq!(script.state.stage(), Stage::Closed);
}

#[test]
fn asking_for_pix_directly_sends_the_code_without_the_method_question() {
    let mut script = Script::identified();
    script.say("me manda o pix");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])));
    turn.says("R$ 99,90").says(PIX).does_not_say(LINE);
    assert_eq!(script.state.stage(), Stage::AfterFlow);
}

#[test]
fn overdue_invoice_shows_fine_and_interest_and_offers_negotiation_with_context() {
    let mut script = Script::identified();
    script.say("segunda via");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![overdue_invoice("i9")])));
    turn.says("vencida")
        .says("Valor original: R$ 99,90")
        .says("multa e juros: *R$ 102,59*");
    assert_eq!(
        turn.button_ids(),
        vec!["bot:pix", "bot:boleto", "bot:negotiate"]
    );
    let turn = script.tap("bot:negotiate", "Negociar");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(
        summary.contains("negociar a fatura vencida em 10/11/2026"),
        "{summary}"
    );
    assert!(summary.contains("R$ 102,59"), "{summary}");
    assert!(
        summary.contains("Maria") || summary.contains("MARIA"),
        "{summary}"
    );
    assert!(
        summary.contains("***.982.247-**") && !summary.contains(CPF),
        "{summary}"
    );
    assert!(turn.tags().contains(&"negociacao".to_owned()));
}

#[test]
fn overdue_without_updated_amount_shows_the_face_value() {
    let mut script = Script::identified();
    script.say("1");
    let mut invoice = overdue_invoice("i9");
    invoice.amount_due_cents = None;
    script
        .erp(ErpOutcome::OpenInvoices(Ok(vec![invoice])))
        .says("vencida")
        .says("*R$ 99,90*")
        .does_not_say("Valor original");
}

#[test]
fn nothing_open_says_so_and_completes_the_flow() {
    let mut script = Script::identified();
    script.say("1");
    let mut paid = open_invoice("old");
    paid.status = InvoiceStatus::Paid;
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![paid])));
    turn.says("não há faturas em aberto");
    assert_eq!(turn.records("flow_completed").len(), 1);
    let turn = script.say("obrigado");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
}

#[test]
fn several_open_invoices_are_chosen_from_a_list_oldest_first() {
    let mut script = Script::identified();
    script.say("1");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![
        open_invoice("i1"),
        overdue_invoice("i0"),
    ])));
    turn.says("2 faturas em aberto")
        .says("Venc. 10/11/2026")
        .says("R$ 102,59 · vencida");
    assert_eq!(turn.row_ids(), vec!["bot:invoice:1", "bot:invoice:2"]);
    script.say("2").says("10/12/2026").says("R$ 99,90");
    assert_eq!(script.state.stage(), Stage::InvoiceMethod);
}

#[test]
fn more_than_ten_open_invoices_are_chunked_into_lists_of_ten() {
    let mut script = Script::identified();
    script.say("1");
    let invoices: Vec<_> = (0..13)
        .map(|n| {
            let mut invoice = open_invoice(&format!("i{n}"));
            invoice.due_date = jiff::civil::date(2027, 1, 1 + n as i8);
            invoice
        })
        .collect();
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(invoices)));
    let lists = turn
        .sends()
        .into_iter()
        .filter(|c| matches!(c, balcao_domain::outbound::OutboundContent::List { .. }))
        .count();
    assert_eq!(lists, 2);
    assert!(
        turn.sends()
            .iter()
            .all(|c| balcao_bot::compose::fits_limits(c))
    );
    script
        .tap("bot:invoice:13", "Venc. 13/01/2027")
        .says("13/01/2027");
}

#[test]
fn debts_list_every_open_invoice_with_the_total() {
    let mut script = Script::identified();
    let turn = script.say("2");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    let mut big = open_invoice("i2");
    big.amount_cents = 113_466;
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![
        open_invoice("i1"),
        overdue_invoice("i0"),
        big,
    ])));
    turn.says("3 fatura(s) em aberto")
        .says("• 10/11/2026 — R$ 102,59 (vencida)")
        .says("• 10/12/2026 — R$ 99,90 (em aberto)")
        .says("Total em aberto: *R$ 1.337,15*");
    assert_eq!(
        turn.button_ids(),
        vec!["intent:invoice", "intent:human:financeiro", "intent:menu"]
    );
    assert!(script.state.tags().contains(&"debitos".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Trust unlock
// ---------------------------------------------------------------------------------------------

fn at_unlock_confirmation() -> Script {
    let mut script = Script::identified();
    script.say("desbloqueio de confiança");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::SuspendedDebt,
    )])));
    assert_eq!(script.state.stage(), Stage::ConfirmUnlock);
    script
}

#[test]
fn trust_unlock_confirms_until_when_with_the_protocol() {
    let mut script = at_unlock_confirmation();
    let turn = script.tap("intent:yes", "Sim");
    assert!(matches!(turn.erp_action(), Action::TrustUnlock(c) if c.erp_id == "c1"));
    let turn = script.erp(ErpOutcome::Unlock(Ok(granted(
        Some(jiff::civil::date(2026, 11, 24)),
        Some(3),
    ))));
    turn.says("até *24/11/2026*").says("LIB-555");
    assert_eq!(script.state.stage(), Stage::AfterFlow);
    assert!(script.state.tags().contains(&"desbloqueio".to_owned()));
}

#[test]
fn trust_unlock_without_date_uses_days_or_plain_text_and_the_conversation_protocol() {
    let mut script = at_unlock_confirmation();
    script.say("sim");
    let mut result = granted(None, Some(2));
    result.protocol = None;
    script
        .erp(ErpOutcome::Unlock(Ok(result)))
        .says("por *2 dia(s)*")
        .says("20261121-000123");
    let mut script = at_unlock_confirmation();
    script.say("sim");
    script
        .erp(ErpOutcome::Unlock(Ok(granted(None, None))))
        .says("liberada em confiança");
}

#[test]
fn declining_the_unlock_does_not_call_the_erp() {
    let mut script = at_unlock_confirmation();
    let turn = script.say("não");
    assert!(turn.erp_actions().is_empty());
    turn.says("não pedi o desbloqueio");
}

#[test]
fn every_unlock_refusal_is_explained_in_plain_words_with_a_human_path() {
    let cases = [
        (
            UnlockRefusal::AlreadyUsedUnpaid,
            "já foi usado neste período",
        ),
        (UnlockRefusal::NotBlocked, "não está bloqueado"),
        (UnlockRefusal::ContractInactive, "cancelado ou inativo"),
        (UnlockRefusal::NotFound, "Não encontrei esse contrato"),
        (UnlockRefusal::ExceedsPolicy, "não permitem o desbloqueio"),
        (UnlockRefusal::Unknown, "não autorizou"),
    ];
    for (refusal, words) in cases {
        let mut script = at_unlock_confirmation();
        script.say("sim");
        let turn = script.erp(ErpOutcome::Unlock(Ok(refused(refusal))));
        turn.says(words);
        assert!(turn.handoff().is_none(), "{refusal:?}");
        let ids = turn.button_ids();
        assert!(
            ids.iter().any(|id| id.starts_with("intent:human")),
            "{refusal:?}: {ids:?}"
        );
        assert_eq!(script.state.stage(), Stage::AfterFlow);
        // The human path works from there.
        let human_id = ids
            .iter()
            .find(|id| id.starts_with("intent:human"))
            .unwrap();
        script
            .tap(human_id, "Falar com financeiro")
            .handoff()
            .unwrap();
    }
}

#[test]
fn unlock_not_supported_goes_to_a_person() {
    let mut script = at_unlock_confirmation();
    script.say("sim");
    let turn = script.erp(ErpOutcome::Unlock(Ok(refused(UnlockRefusal::NotSupported))));
    turn.says("não está disponível no atendimento automático");
    turn.hands_off_to(Sector::Billing);

    let mut script = at_unlock_confirmation();
    script.say("sim");
    let turn = script.erp(ErpOutcome::Unlock(Err(not_supported())));
    turn.hands_off_to(Sector::Billing);
}

#[test]
fn already_used_refusal_leads_to_the_invoice() {
    let mut script = at_unlock_confirmation();
    script.say("sim");
    script.erp(ErpOutcome::Unlock(Ok(refused(
        UnlockRefusal::AlreadyUsedUnpaid,
    ))));
    let turn = script.tap("intent:invoice", "2ª via / Pix");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
}

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

fn at_connection_check(online: Option<bool>) -> Script {
    let mut script = Script::identified();
    script.say("estou sem internet");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    script.erp(ErpOutcome::Connection(Ok(connection(
        online,
        Some(false),
        Some(ContractStatus::Active),
    ))));
    assert_eq!(script.state.stage(), Stage::ConnectionCheck);
    script
}

#[test]
fn offline_connection_gets_router_steps_then_a_ticket_with_its_protocol() {
    let mut script = Script::identified();
    script.say("4");
    let turn = script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    assert!(matches!(turn.erp_action(), Action::CheckConnection(c) if c.erp_id == "c1"));
    let turn = script.erp(ErpOutcome::Connection(Ok(connection(
        Some(false),
        Some(false),
        None,
    ))));
    turn.says("desconectada")
        .says("roteador")
        .says("cabos")
        .says("voltou?");
    assert_eq!(
        turn.button_ids(),
        vec!["intent:yes", "intent:no", "intent:human:suporte"]
    );
    let turn = script.say("não voltou");
    let Action::OpenTicket(ticket) = turn.erp_action() else {
        panic!("{:?}", turn.0)
    };
    assert_eq!(ticket.customer_erp_id, "42");
    assert_eq!(ticket.contract_erp_id.as_deref(), Some("c1"));
    assert_eq!(ticket.contact_phone.as_deref(), Some("11987654321"));
    assert!(ticket.description.contains("20261121-000123"));
    assert!(!ticket.description.contains(CPF));
    let turn = script.erp(ErpOutcome::Ticket(Ok(ticket_fixture())));
    turn.says("CH-2026-77");
    assert_eq!(script.state.stage(), Stage::AfterFlow);
    assert!(script.state.tags().contains(&"conexao".to_owned()));
}

fn ticket_fixture() -> balcao_erp::Ticket {
    ticket("CH-2026-77")
}

#[test]
fn connection_back_after_the_steps_completes_the_flow() {
    let mut script = at_connection_check(Some(true));
    let turn = script.say("voltou");
    turn.says("Que ótimo");
    assert!(turn.erp_actions().is_empty());
    assert_eq!(turn.records("flow_completed").len(), 1);
}

#[test]
fn online_and_unknown_status_get_their_own_words() {
    let mut script = Script::identified();
    script.say("sem internet");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    script
        .erp(ErpOutcome::Connection(Ok(connection(
            Some(true),
            None,
            None,
        ))))
        .says("*online*");
    let mut script = Script::identified();
    script.say("sem internet");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    script
        .erp(ErpOutcome::Connection(Ok(connection(None, None, None))))
        .says("Não consegui ver o estado");
}

#[test]
fn suspended_for_debt_goes_to_the_invoice_flow() {
    let mut script = Script::identified();
    script.say("internet caiu");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    let turn = script.erp(ErpOutcome::Connection(Ok(connection(
        Some(false),
        Some(true),
        Some(ContractStatus::SuspendedDebt),
    ))));
    turn.says("suspensa por pendência financeira");
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![overdue_invoice("i9")])));
    turn.says("R$ 102,59");
    assert!(script.state.tags().contains(&"fatura".to_owned()));
}

#[test]
fn a_manual_block_goes_to_support() {
    let mut script = Script::identified();
    script.say("sem internet");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    let turn = script.erp(ErpOutcome::Connection(Ok(connection(
        None,
        Some(true),
        Some(ContractStatus::SuspendedManual),
    ))));
    turn.says("suspenso manualmente");
    turn.hands_off_to(Sector::Support);
}

// ---------------------------------------------------------------------------------------------
// People, cancellation, menu
// ---------------------------------------------------------------------------------------------

#[test]
fn asking_for_a_person_without_context_offers_the_sectors() {
    let mut script = Script::identified();
    let turn = script.say("quero falar com um atendente");
    assert_eq!(turn.tags(), vec!["atendente".to_owned()]);
    assert_eq!(
        turn.button_ids(),
        vec![
            "intent:human:financeiro",
            "intent:human:suporte",
            "intent:human:comercial"
        ]
    );
    assert_eq!(script.state.stage(), Stage::ChooseSector);
    let turn = script.tap("intent:human:comercial", "Comercial");
    let summary = turn.hands_off_to(Sector::Sales);
    turn.says("Comercial").says("20261121-000123");
    assert!(
        summary.contains("identificado pelo telefone cadastrado"),
        "{summary}"
    );
    assert!(summary.contains("***.982.247-**"), "{summary}");
}

#[test]
fn a_person_with_context_goes_straight_to_that_sector_with_a_summary() {
    let mut script = Script::identified();
    script.say("segunda via");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])));
    let turn = script.tap("intent:human:financeiro", "Falar com financeiro");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(
        summary.contains("Consulta de faturas: 1 em aberto (R$ 99,90)"),
        "{summary}"
    );
    assert!(summary.contains("2ª via / Pix"), "{summary}");
    assert_eq!(
        script.state.stage(),
        Stage::HandedOff {
            sector: Sector::Billing
        }
    );
    // Later messages are told a person is coming, never silence.
    script.say("alô?").says("já está com a nossa equipe");
}

#[test]
fn anything_after_the_sector_question_still_reaches_a_person() {
    let mut script = Script::identified();
    script.say("atendente");
    script.say("sei lá").hands_off_to(Sector::Support);
}

#[test]
fn cancellation_goes_to_retention_with_a_summary() {
    let mut script = Script::identified();
    let turn = script.say("quero cancelar minha internet");
    turn.hands_off_to(Sector::Cancellation);
    assert!(turn.tags().contains(&"cancelamento".to_owned()));
}

/// Drives a fresh conversation into each stage the bot can be in.
fn every_state() -> Vec<(&'static str, Script)> {
    let mut states = Vec::new();
    let mut script = Script::new();
    script.say("oi");
    states.push(("waiting phone lookup", script));

    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    states.push(("ask document", script));

    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    script.say(OTHER_CPF);
    script.erp(ErpOutcome::CustomerByDocument(Ok(
        Some(stranger_customer()),
    )));
    states.push(("confirm identity", script));

    let mut script = Script::new();
    script.say("oi");
    let mut second = customer();
    second.erp_id = "43".into();
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer(), second])));
    states.push(("choose customer", script));

    states.push(("menu", Script::identified()));

    let mut script = Script::identified();
    script.say("4");
    script.erp(ErpOutcome::Contracts(Ok(vec![
        contract("c1", ContractStatus::Active),
        contract("c2", ContractStatus::Active),
    ])));
    states.push(("choose contract", script));

    let mut script = Script::identified();
    script.say("1");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![
        open_invoice("a"),
        open_invoice("b"),
    ])));
    states.push(("choose invoice", script));

    let mut script = Script::identified();
    script.say("1");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("a")])));
    states.push(("invoice method", script));

    let mut script = Script::identified();
    script.say("1");
    states.push(("waiting invoices", script));

    states.push(("confirm unlock", at_unlock_confirmation()));

    let mut script = at_unlock_confirmation();
    script.say("sim");
    states.push(("waiting unlock", script));

    states.push(("connection check", at_connection_check(Some(false))));

    let mut script = Script::identified();
    script.say("atendente");
    states.push(("choose sector", script));

    let mut script = Script::identified();
    script.say("1");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![])));
    states.push(("after flow", script));

    let mut script = Script::identified();
    script.say("cancelar");
    states.push(("handed off", script));

    let mut script = Script::identified();
    script.fire_timer();
    script.fire_timer();
    states.push(("closed", script));
    states
}

#[test]
fn atendente_works_from_every_state() {
    for (name, mut script) in every_state() {
        let turn = script.say("atendente");
        assert!(
            !turn.sends().is_empty() || turn.handoff().is_some(),
            "{name}: {:?}",
            turn.0
        );
        // At most one more message (the sector question) separates them from a person.
        if !matches!(script.state.stage(), Stage::HandedOff { .. }) {
            let turn = script.say("atendente");
            assert!(
                matches!(script.state.stage(), Stage::HandedOff { .. }),
                "{name}: {:?} / {:?}",
                script.state.stage(),
                turn.0
            );
        }
    }
}

#[test]
fn menu_works_from_every_state() {
    for (name, mut script) in every_state() {
        let turn = script.say("menu");
        assert!(!turn.sends().is_empty(), "{name}");
        match script.state.stage() {
            Stage::Menu => {
                turn.says("*1.* 2ª via / Pix");
            }
            // An unlock in progress finishes first, then the menu comes.
            Stage::ConfirmUnlock if name == "waiting unlock" => {
                turn.says("já te mostro o menu");
                let turn = script.erp(ErpOutcome::Unlock(Ok(granted(None, Some(1)))));
                turn.says("liberada").says("*1.* 2ª via / Pix");
                assert_eq!(script.state.stage(), Stage::Menu);
            }
            // A person owns the conversation: they are told so.
            Stage::HandedOff { .. } => {
                turn.says("já está com a nossa equipe");
            }
            // After the close a message reopens the conversation with the protocol.
            Stage::Identifying if name == "closed" => {
                turn.says("20261121-000123");
            }
            other => panic!("{name}: menu left the bot in {other:?}"),
        }
    }
}

#[test]
fn greetings_repeat_the_current_question_without_counting_as_invalid() {
    let mut script = Script::new();
    script.say("oi");
    script.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
    for _ in 0..5 {
        script.say("boa tarde").says("CPF");
    }
    assert_eq!(script.state.stage(), Stage::AskDocument);
}

// ---------------------------------------------------------------------------------------------
// Never trapped: invalid input, media, inactivity, ERP failures
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_input_gets_the_menu_again_and_the_third_in_a_row_goes_to_a_person() {
    let mut script = Script::identified();
    script
        .say("asdfgh")
        .says("não entendi")
        .says("*menu*")
        .says("*1.* 2ª via / Pix");
    script.say("qwerty zxc").says("não entendi");
    let turn = script.say("lkjhg");
    turn.hands_off_to(Sector::Support);
    assert!(turn.tags().contains(&"nao_compreendido".to_owned()));
}

#[test]
fn a_valid_answer_resets_the_invalid_count() {
    let mut script = Script::identified();
    script.say("asdfgh");
    script.say("qwerty zxc");
    script.say("protocolo");
    script.say("lkjhg").says("não entendi");
    assert_eq!(script.state.stage(), Stage::Menu);
}

#[test]
fn media_gets_a_text_only_explanation() {
    let mut script = Script::identified();
    script.media().says("só consigo ler mensagens de texto");
}

#[test]
fn inactivity_reminds_then_closes_as_abandoned() {
    let mut script = Script::identified();
    let first_due = script.state.inactivity().unwrap().due_at;
    assert_eq!(first_due, script.now + SignedDuration::from_mins(10));
    let turn = script.fire_timer();
    turn.says("ainda está por aí").says("10 minutos");
    let close_due = turn.schedules().expect("close scheduled");
    assert_eq!(close_due, script.now + SignedDuration::from_mins(10));
    let turn = script.fire_timer();
    turn.says("encerrei este atendimento")
        .says("20261121-000123");
    assert_eq!(turn.resolution(), Some(Resolution::Abandoned));
    assert!(turn.closes());
    assert_eq!(script.state.stage(), Stage::Closed);
}

#[test]
fn an_answer_after_the_reminder_rearms_the_reminder_and_stale_timers_are_ignored() {
    let mut script = Script::identified();
    let stale = script.state.inactivity().unwrap().due_at;
    script.fire_timer();
    let turn = script.say("2");
    let rearmed = turn.schedules().unwrap();
    assert!(rearmed > stale);
    // The old close timer fires: ignored.
    let turn = script.feed(balcao_bot::Input::InactivityTimer { at: stale });
    assert!(turn.is_empty(), "{:?}", turn.0);
}

#[test]
fn timers_after_a_handoff_are_ignored() {
    let mut script = Script::identified();
    script.say("cancelar");
    assert!(script.state.inactivity().is_none());
    let turn = script.feed(balcao_bot::Input::InactivityTimer {
        at: script.now + SignedDuration::from_hours(1),
    });
    assert!(turn.is_empty());
}

#[test]
fn an_erp_that_never_answers_is_caught_by_the_timer() {
    let mut script = Script::identified();
    script.say("1");
    assert_eq!(script.state.waiting_for(), Some(Waiting::OpenInvoices));
    let turn = script.fire_timer();
    turn.says("fora do ar");
    turn.hands_off_to(Sector::Billing);
}

#[test]
fn erp_down_at_every_step_apologises_and_hands_off_with_context() {
    type Setup = fn() -> Script;
    let cases: Vec<(&str, Setup, ErpOutcome, Sector)> = vec![
        (
            "phone lookup",
            || {
                let mut s = Script::new();
                s.say("oi");
                s
            },
            ErpOutcome::CustomersByPhone(Err(down())),
            Sector::Support,
        ),
        (
            "document lookup",
            || {
                let mut s = Script::new();
                s.say("oi");
                s.erp(ErpOutcome::CustomersByPhone(Ok(vec![])));
                s.say(CPF);
                s
            },
            ErpOutcome::CustomerByDocument(Err(down())),
            Sector::Support,
        ),
        (
            "contracts",
            || {
                let mut s = Script::identified();
                s.say("3");
                s
            },
            ErpOutcome::Contracts(Err(down())),
            Sector::Billing,
        ),
        (
            "invoices",
            || {
                let mut s = Script::identified();
                s.say("2");
                s
            },
            ErpOutcome::OpenInvoices(Err(down())),
            Sector::Billing,
        ),
        (
            "unlock",
            || {
                let mut s = at_unlock_confirmation();
                s.say("sim");
                s
            },
            ErpOutcome::Unlock(Err(down())),
            Sector::Billing,
        ),
        (
            "connection",
            || {
                let mut s = Script::identified();
                s.say("4");
                s.erp(ErpOutcome::Contracts(Ok(vec![contract(
                    "c1",
                    ContractStatus::Active,
                )])));
                s
            },
            ErpOutcome::Connection(Err(down())),
            Sector::Support,
        ),
        (
            "ticket",
            || {
                let mut s = at_connection_check(Some(false));
                s.say("não");
                s
            },
            ErpOutcome::Ticket(Err(down())),
            Sector::Support,
        ),
    ];
    for (name, setup, failure, sector) in cases {
        let mut script = setup();
        let turn = script.erp(failure);
        turn.says("fora do ar ou muito lento");
        let summary = turn.hands_off_to(sector);
        assert!(
            summary.contains("não respondeu a tempo"),
            "{name}: {summary}"
        );
        assert!(
            turn.tags().contains(&"sistema_indisponivel".to_owned()),
            "{name}"
        );
    }
}

#[test]
fn not_supported_operations_take_the_human_path() {
    // Phone lookup missing: ask for the document instead.
    let mut script = Script::new();
    script.say("oi");
    script
        .erp(ErpOutcome::CustomersByPhone(Err(not_supported())))
        .says("CPF");
    assert_eq!(script.state.stage(), Stage::AskDocument);
    // Invoices, contracts, connection, ticket missing: a person.
    let mut script = Script::identified();
    script.say("1");
    let turn = script.erp(ErpOutcome::OpenInvoices(Err(not_supported())));
    turn.says("não está disponível no atendimento automático");
    turn.hands_off_to(Sector::Billing);
    let mut script = Script::identified();
    script.say("4");
    script
        .erp(ErpOutcome::Contracts(Err(not_supported())))
        .hands_off_to(Sector::Support);
    let mut script = at_connection_check(Some(false));
    script.say("não");
    script
        .erp(ErpOutcome::Ticket(Err(not_supported())))
        .hands_off_to(Sector::Support);
}

#[test]
fn messages_while_waiting_are_answered_and_requests_are_remembered() {
    let mut script = Script::new();
    script.say("oi");
    script.say("quero o boleto").says("Anotado");
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    assert!(matches!(turn.erp_action(), Action::FetchOpenInvoices(_)));
    script.say("??").says("Um momento");
}

#[test]
fn menu_while_waiting_for_a_read_drops_the_late_answer() {
    let mut script = Script::identified();
    script.say("2");
    script.say("menu").says("*1.* 2ª via / Pix");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])));
    assert!(turn.sends().is_empty());
    assert_eq!(turn.records("erp_outcome_ignored").len(), 1);
    assert_eq!(script.state.stage(), Stage::Menu);
}

#[test]
fn an_unlock_answered_after_a_handoff_still_reaches_the_subscriber() {
    let mut script = at_unlock_confirmation();
    script.say("sim");
    script.say("atendente").hands_off_to(Sector::Billing);
    assert_eq!(script.state.waiting_for(), Some(Waiting::Unlock));
    let turn = script.erp(ErpOutcome::Unlock(Ok(granted(
        Some(jiff::civil::date(2026, 11, 24)),
        None,
    ))));
    turn.says("24/11/2026");
    assert!(turn.handoff().is_none());
}

#[test]
fn a_message_after_the_close_reopens_with_the_same_protocol() {
    let mut script = Script::identified();
    script.say("1");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![])));
    script.say("não");
    assert_eq!(script.state.stage(), Stage::Closed);
    let turn = script.say("oi de novo");
    turn.says("20261121-000123");
    assert!(matches!(turn.erp_action(), Action::LookupByPhone(_)));
}

// ---------------------------------------------------------------------------------------------
// Texts, records
// ---------------------------------------------------------------------------------------------

#[test]
fn workspace_texts_replace_the_defaults() {
    let texts = Texts::from_json(
        r#"{"greeting": "Oi! {{empresa}} aqui. Protocolo {{protocolo}} ({{data}} {{hora}})",
            "menu_invoice": "Segunda via da conta de internet"}"#,
    )
    .unwrap();
    let mut script = Script::with_texts(texts);
    script
        .say("oi")
        .says("Oi! Rede Rápida aqui. Protocolo 20261121-000123 (21/11/2026 09:14)");
    let turn = script.erp(ErpOutcome::CustomersByPhone(Ok(vec![customer()])));
    // The full label in the numbered text, a truncated one as the row title.
    turn.says("*1.* Segunda via da conta de internet")
        .says("Segunda via da conta de…");
    assert!(
        turn.sends()
            .iter()
            .all(|c| balcao_bot::compose::fits_limits(c))
    );
}

#[test]
fn every_intent_action_and_result_is_recorded() {
    let mut script = Script::identified();
    let turn = script.say("2");
    assert_eq!(turn.records("inbound")[0]["intent"], "number");
    assert_eq!(turn.records("flow_started")[0]["flow"], "debts");
    assert_eq!(turn.records("erp_request")[0]["operation"], "open_invoices");
    let turn = script.erp(ErpOutcome::OpenInvoices(Ok(vec![overdue_invoice("i")])));
    let result = &turn.records("erp_result")[0];
    assert_eq!(result["count"], 1);
    assert_eq!(result["total_cents"], 10259);
    assert_eq!(turn.records("flow_completed")[0]["flow"], "debts");
    assert_eq!(turn.tags(), Vec::<String>::new(), "tags are emitted once");
    assert_eq!(script.state.tags(), &["debitos".to_owned()]);
}

#[test]
fn opt_out_is_recorded_tagged_and_confirmed_without_leaving_the_menu() {
    let mut script = Script::identified();
    let turn = script.say("parem de me mandar mensagem");
    assert_eq!(turn.records("opt_out").len(), 1, "{:?}", turn.0);
    assert_eq!(turn.tags(), vec!["opt_out".to_owned()]);
    turn.says("não vai mais receber mensagens automáticas de cobrança");
    assert_eq!(script.state.stage(), Stage::Menu);
}

#[test]
fn goodbye_words_close_resolved_after_a_flow_and_abandoned_before_any() {
    let mut script = Script::identified();
    script.say("2");
    script.erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])));
    script.say("menu");
    let turn = script.say("tchau, era só isso");
    assert_eq!(turn.resolution(), Some(Resolution::ResolvedByBot));
    assert!(turn.closes());

    let mut script = Script::identified();
    let turn = script.say("tchau");
    turn.says("Obrigado pelo contato");
    assert_eq!(turn.resolution(), Some(Resolution::Abandoned));
    assert!(turn.closes());
}

#[test]
fn thanks_before_anything_was_done_shows_the_menu_instead_of_closing() {
    let mut script = Script::identified();
    let turn = script.say("obrigado");
    turn.says("Por nada").says("*1.* 2ª via / Pix");
    assert!(turn.resolution().is_none());
    assert_eq!(script.state.stage(), Stage::Menu);
}

#[test]
fn overdue_method_question_mentions_negotiation_only_with_the_button() {
    let mut script = Script::identified();
    script.say("1");
    script
        .erp(ErpOutcome::OpenInvoices(Ok(vec![overdue_invoice("i9")])))
        .says("toque em *Negociar*");
    let mut script = Script::identified();
    script.say("1");
    script
        .erp(ErpOutcome::OpenInvoices(Ok(vec![open_invoice("i1")])))
        .does_not_say("Negociar");
    let mut script = Script::identified();
    script.say("quero o pix");
    script
        .erp(ErpOutcome::OpenInvoices(Ok(vec![overdue_invoice("i9")])))
        .does_not_say("Negociar")
        .says(PIX);
}

#[test]
fn an_unreadable_erp_answer_or_a_missing_record_also_reaches_a_person() {
    let mut script = Script::identified();
    script.say("1");
    let turn = script.erp(ErpOutcome::OpenInvoices(Err(
        balcao_bot::ErpFailure::Failed {
            detail: "resposta inválida do sistema de gestão: html".into(),
        },
    )));
    turn.says("Não consegui concluir essa consulta");
    let summary = turn.hands_off_to(Sector::Billing);
    assert!(summary.contains("resposta inválida"), "{summary}");

    let mut script = Script::identified();
    script.say("4");
    script.erp(ErpOutcome::Contracts(Ok(vec![contract(
        "c1",
        ContractStatus::Active,
    )])));
    let turn = script.erp(ErpOutcome::Connection(Err(
        balcao_bot::ErpFailure::NotFound,
    )));
    turn.says("Não consegui concluir essa consulta")
        .does_not_say("fora do ar");
    turn.hands_off_to(Sector::Support);
    assert!(!turn.tags().contains(&"sistema_indisponivel".to_owned()));
}
