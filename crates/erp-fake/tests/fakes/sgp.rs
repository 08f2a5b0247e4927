use crate::common::*;
use balcao_erp_fake::{FakeContractStatus, FakeInvoiceStatus, FakeSystem, RunningFake};
use serde_json::Value;

async fn post(fake: &RunningFake, path: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let mut all = vec![
        ("token", fake.auth["token"].as_str()),
        ("app", fake.auth["app"].as_str()),
    ];
    all.extend_from_slice(pairs);
    let response = http()
        .post(format!("{}{path}", fake.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&all))
        .send()
        .await
        .unwrap();
    body(response).await
}

#[tokio::test]
async fn credentials_are_checked_case_sensitively() {
    let (fake, _) = fake(FakeSystem::Sgp).await;
    let (status, info) = post(&fake, "/api/auth/info/", &[]).await;
    assert_eq!((status, info["status"].as_i64()), (200, Some(1)));
    // JSON bodies are accepted too.
    let json_body = serde_json::json!({"token": fake.auth["token"], "app": fake.auth["app"]});
    let response = http()
        .post(format!("{}/api/ura/consultacliente/", fake.base_url))
        .json(&json_body)
        .send()
        .await
        .unwrap();
    let (status, answer) = body(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["status"], 0,
        "no filter is a business error with HTTP 200"
    );
    for (token, app) in [
        (fake.auth["token"].as_str(), "Balcao"),
        ("x", "balcao"),
        ("", ""),
    ] {
        let response = http()
            .post(format!("{}/api/auth/info/", fake.base_url))
            .body(form(&[("token", token), ("app", app)]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn customer_by_document_and_by_phone_in_its_registered_form() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let s = &data.subscribers[8];
    let masked = format!(
        "{}.{}.{}/{}-{}",
        &s.document[..2],
        &s.document[2..5],
        &s.document[5..8],
        &s.document[8..12],
        &s.document[12..]
    );
    for document in [s.document.as_str(), masked.as_str()] {
        let (_, found) = post(&fake, "/api/ura/consultacliente/", &[("cpfcnpj", document)]).await;
        let contracts = found["contratos"].as_array().unwrap();
        assert_eq!(contracts.len(), 2);
        assert_eq!(contracts[0]["contratoId"], s.contracts[0].id);
        assert_eq!(contracts[0]["contratoStatusDisplay"], "Ativo");
        assert_eq!(contracts[1]["contratoStatusDisplay"], "Suspenso");
        assert_eq!(contracts[0]["cpfCnpj"], masked);
    }
    let (_, missing) = post(
        &fake,
        "/api/ura/consultacliente/",
        &[("cpfcnpj", "529.982.247-25")],
    )
    .await;
    assert!(missing["contratos"].as_array().unwrap().is_empty());
    assert_eq!(missing["msg"], "Cliente não encontrado");
    // Old 8-digit mobile (subscriber 1) and new 9-digit mobile (subscriber 0): each found only by
    // the form it was registered with.
    for index in [0, 1] {
        let phone = &data.subscribers[index].phones[0];
        let (_, hit) = post(
            &fake,
            "/api/ura/consultacliente/",
            &[("telefone", &national(phone))],
        )
        .await;
        assert_eq!(hit["contratos"][0]["clienteId"], data.subscribers[index].id);
        let (_, formatted) = post(
            &fake,
            "/api/ura/consultacliente/",
            &[("telefone", &format!("+{phone}"))],
        )
        .await;
        assert_eq!(
            formatted["contratos"][0]["clienteId"],
            data.subscribers[index].id
        );
        let (_, miss) = post(
            &fake,
            "/api/ura/consultacliente/",
            &[("telefone", &other_form(phone))],
        )
        .await;
        assert!(miss["contratos"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn titles_carry_valid_lines_pix_and_pdf_with_mixed_number_types() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let s = &data.subscribers[2];
    let (_, answer) = post(
        &fake,
        "/api/ura/titulos/",
        &[("cpfcnpj", &s.document), ("status", "abertos")],
    )
    .await;
    let titles = answer["titulos"].as_array().unwrap();
    let unpaid: Vec<_> = s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
    assert_eq!(titles.len(), unpaid.len());
    assert_eq!(answer["paginacao"]["total"], unpaid.len());
    for title in titles {
        assert_eq!(title["status"], "aberto");
        let invoice = unpaid.iter().find(|i| title["id"] == i.id).unwrap();
        assert_line(
            title["linhaDigitavel"].as_str().unwrap(),
            Some(invoice.amount_cents),
        );
        assert_pix(title["codigoPix"].as_str().unwrap());
        assert_eq!(title["dataVencimento"], invoice.due_date.to_string());
        if invoice.status == FakeInvoiceStatus::Overdue {
            assert!(title["diasAtraso"].as_i64().unwrap() > 0);
        }
        assert_pdf(title["link"].as_str().unwrap()).await;
    }
    let (_, everything) = post(&fake, "/api/ura/titulos/", &[("limit", "250")]).await;
    let values: Vec<&Value> = everything["titulos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["valor"])
        .collect();
    assert!(values.iter().any(|v| v.is_string()) && values.iter().any(|v| v.is_number()));
    let (_, bad) = post(&fake, "/api/ura/titulos/", &[("status", "vencidos")]).await;
    assert_eq!(bad["status"], 0);
}

#[tokio::test]
async fn second_copy_updates_overdue_boletos_and_reports_nothing_open() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let s = &data.subscribers[2];
    let (_, answer) = post(
        &fake,
        "/api/ura/fatura2via/",
        &[("cpfcnpj", &s.document), ("faturas_abertas_todas", "1")],
    )
    .await;
    assert_eq!(answer["status"], 1);
    assert!(!answer["protocolo"].as_str().unwrap().is_empty());
    let links = answer["links"].as_array().unwrap();
    let overdue: Vec<_> = s
        .invoices
        .iter()
        .filter(|i| i.status == FakeInvoiceStatus::Overdue)
        .collect();
    assert!(!overdue.is_empty());
    for invoice in &overdue {
        let link = links.iter().find(|l| l["fatura"] == invoice.id).unwrap();
        assert_eq!(link["vencimento"], today().to_string());
        assert_eq!(link["vencimento_original"], invoice.due_date.to_string());
        assert_line(
            link["linhadigitavel"].as_str().unwrap(),
            Some(invoice.amount_due_cents()),
        );
        assert_pix(link["codigopix"].as_str().unwrap());
    }
    let (_, single) = post(&fake, "/api/ura/fatura2via/", &[("cpfcnpj", &s.document)]).await;
    assert_eq!(single["links"].as_array().unwrap().len(), 1);
    // Subscriber 11 has nothing to pay: status ≠ 1, or status 1 with no links.
    let paid_up = &data.subscribers[11];
    let (_, none) = post(
        &fake,
        "/api/ura/fatura2via/",
        &[("cpfcnpj", &paid_up.document)],
    )
    .await;
    let nothing = none["status"] != 1 || none["links"].as_array().unwrap().is_empty();
    assert!(nothing, "{none}");
}

#[tokio::test]
async fn trust_unlock_once_then_refused() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let contract = data.subscribers[2].contracts[0].id.to_string();
    let (_, first) = post(
        &fake,
        "/api/ura/liberacaopromessa/",
        &[("contrato", &contract)],
    )
    .await;
    assert_eq!(first["status"], 1);
    assert_eq!(first["liberado"], true);
    assert_eq!(first["liberado_dias"], 3);
    assert!(first["protocolo"].as_str().unwrap().starts_with("20261116"));
    let (_, second) = post(
        &fake,
        "/api/ura/liberacaopromessa/",
        &[("contrato", &contract)],
    )
    .await;
    assert!(
        second["status"] != 1 || second["liberado"] == false,
        "{second}"
    );
    assert!(
        second["msg"].as_str().unwrap().contains("já utilizou")
            || second["msg"].as_str().unwrap().contains("já utilizada")
    );
    let id = data.subscribers[2].contracts[0].id;
    assert_eq!(
        fake.control.contract(id).unwrap().status,
        FakeContractStatus::TrustUnlocked
    );
    let active = data.subscribers[0].contracts[0].id.to_string();
    let (_, refused) = post(
        &fake,
        "/api/ura/liberacaopromessa/",
        &[("contrato", &active)],
    )
    .await;
    assert_eq!(refused["status"], 0);
    let (_, missing) = post(&fake, "/api/ura/liberacaopromessa/", &[]).await;
    assert_eq!(missing["status"], 0);
}

#[tokio::test]
async fn connection_status_uses_the_misspelled_key() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let online = &data.subscribers[0];
    let (_, answer) = post(
        &fake,
        "/api/ura/verificaacesso/",
        &[("contrato", &online.contracts[0].id.to_string())],
    )
    .await;
    assert_eq!(answer["status"], 1);
    assert_eq!(answer["msg"], "Serviço Online");
    assert_eq!(answer["staus"], "Ativo");
    let offline = &data.subscribers[2];
    let (_, by_phone) = post(
        &fake,
        "/api/ura/verificaacesso/",
        &[("telefone", &national(&offline.phones[1]))],
    )
    .await;
    assert_eq!(by_phone["status"], 0);
    assert_eq!(by_phone["msg"], "Serviço Offline");
    assert_eq!(by_phone["staus"], "Suspenso");
}

#[tokio::test]
async fn tickets_get_protocols() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let contract = data.subscribers[0].contracts[0].id.to_string();
    let (_, opened) = post(
        &fake,
        "/api/ura/chamado/",
        &[
            ("contrato", &contract),
            ("ocorrenciatipo", "5"),
            ("conteudo", "Internet lenta desde ontem"),
            ("contato_nome", "Maria"),
            ("contato_telefone", "85999990000"),
        ],
    )
    .await;
    assert_eq!(opened["status"], 1);
    let protocol = opened["protocolo"].as_str().unwrap();
    let tickets = fake.control.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].protocol, protocol);
    assert_eq!(tickets[0].description, "Internet lenta desde ontem");
    let (_, missing) = post(&fake, "/api/ura/chamado/", &[("contrato", &contract)]).await;
    assert_eq!(missing["status"], 0);
}

#[tokio::test]
async fn payment_window_sees_mark_paid() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let invoice = data.subscribers[2]
        .invoices
        .iter()
        .find(|i| i.status.is_unpaid())
        .unwrap();
    let window = [
        ("status", "pagos"),
        ("data_pagamento_inicio", "2026-11-16"),
        ("data_pagamento_fim", "2026-11-16"),
    ];
    let (_, before) = post(&fake, "/api/ura/titulos/", &window).await;
    assert!(
        !before["titulos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == invoice.id)
    );
    assert!(fake.control.mark_paid(invoice.id, paid_moment()));
    let (_, after) = post(&fake, "/api/ura/titulos/", &window).await;
    let title = after["titulos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == invoice.id)
        .expect("paid invoice in the window");
    assert_eq!(title["status"], "pago");
    assert_eq!(title["dataPagamento"], "2026-11-16");
}

#[tokio::test]
async fn pagination_by_offset_and_limit() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let (_, first) = post(
        &fake,
        "/api/ura/clientes/",
        &[("offset", "0"), ("limit", "10")],
    )
    .await;
    let (_, second) = post(
        &fake,
        "/api/ura/clientes/",
        &[("offset", "10"), ("limit", "10")],
    )
    .await;
    assert_eq!(first["paginacao"]["total"], data.subscribers.len());
    let ids = |v: &Value| -> Vec<u64> {
        v["clientes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first).len(), 10);
    assert!(ids(&first).iter().all(|id| !ids(&second).contains(id)));
    let contract = &first["clientes"][0]["contratos"][0];
    assert!(
        contract["contrato"].is_u64(),
        "this endpoint says contrato, not contratoId"
    );
    assert!(contract["servicos"][0]["onu"]["conexao"]["status"].is_string());
    let (_, too_many) = post(&fake, "/api/ura/clientes/", &[("limit", "101")]).await;
    assert_eq!(too_many["status"], 0);
    let (_, too_many_titles) = post(&fake, "/api/ura/titulos/", &[("limit", "251")]).await;
    assert_eq!(too_many_titles["status"], 0);
}

#[tokio::test]
async fn titles_by_due_date_window_and_clientes_with_their_titles() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let (from, until) = (
        today() - jiff::ToSpan::days(10),
        today() + jiff::ToSpan::days(10),
    );
    let mut expected: Vec<u64> = data
        .invoices()
        .filter(|(_, i)| i.status.is_unpaid() && from <= i.due_date && i.due_date <= until)
        .map(|(_, i)| i.id)
        .collect();
    expected.sort_unstable();
    assert!(!expected.is_empty());
    let (from_text, until_text) = (from.to_string(), until.to_string());
    let (_, answer) = post(
        &fake,
        "/api/ura/titulos/",
        &[
            ("status", "abertos"),
            ("data_vencimento_inicio", &from_text),
            ("data_vencimento_fim", &until_text),
        ],
    )
    .await;
    let listed: Vec<u64> = answer["titulos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(answer["paginacao"]["total"], expected.len());
    // `clientes` carries each customer's open titles, the bulk source of receivables.
    let (_, clients) = post(&fake, "/api/ura/clientes/", &[("limit", "100")]).await;
    let open_in_clients: usize = clients["clientes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["titulos"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        open_in_clients,
        data.invoices()
            .filter(|(_, i)| i.status.is_unpaid())
            .count()
    );
}
