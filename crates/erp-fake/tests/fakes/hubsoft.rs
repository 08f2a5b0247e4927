use crate::common::*;
use balcao_erp_fake::{FakeInvoiceStatus, FakeSystem, Faults, RunningFake};
use serde_json::{Value, json};

async fn login(fake: &RunningFake) -> Value {
    let response = http()
        .post(format!("{}/oauth/token", fake.base_url))
        .json(&json!({
            "grant_type": "password",
            "client_id": fake.auth["client_id"],
            "client_secret": fake.auth["client_secret"],
            "username": fake.auth["username"],
            "password": fake.auth["password"],
        }))
        .send()
        .await
        .unwrap();
    let (status, token) = body(response).await;
    assert_eq!(status, 200);
    token
}

async fn get(fake: &RunningFake, token: &str, path_and_query: &str) -> (u16, Value) {
    let response = http()
        .get(format!(
            "{}/api/v1/integracao/{path_and_query}",
            fake.base_url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    body(response).await
}

async fn post(fake: &RunningFake, token: &str, path: &str, payload: Value) -> Value {
    let response = http()
        .post(format!("{}/api/v1/integracao/{path}", fake.base_url))
        .bearer_auth(token)
        .json(&payload)
        .send()
        .await
        .unwrap();
    let (status, value) = body(response).await;
    assert_eq!(status, 200, "business errors also come with HTTP 200");
    value
}

async fn access(fake: &RunningFake) -> String {
    login(fake).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn oauth_password_grant_refresh_and_401() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = login(&fake).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 2_592_000);
    let bad_password = http()
        .post(format!("{}/oauth/token", fake.base_url))
        .json(&json!({
            "grant_type": "password",
            "client_id": fake.auth["client_id"],
            "client_secret": fake.auth["client_secret"],
            "username": fake.auth["username"],
            "password": "errada",
        }))
        .send()
        .await
        .unwrap();
    let (status, error) = body(bad_password).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let query = format!(
        "cliente?busca=cpf_cnpj&termo_busca={}",
        data.subscribers[0].document
    );
    assert_eq!(get(&fake, "nao-existe", &query).await.0, 401);
    let no_token = http()
        .get(format!("{}/api/v1/integracao/{query}", fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    // Refresh gives a working token; the refresh token is single use.
    let refresh = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token["refresh_token"].as_str().unwrap()),
        ("client_id", &fake.auth["client_id"]),
        ("client_secret", &fake.auth["client_secret"]),
    ]);
    let send_refresh = || {
        http()
            .post(format!("{}/oauth/token", fake.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(refresh.clone())
            .send()
    };
    let (status, renewed) = body(send_refresh().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&fake, renewed["access_token"].as_str().unwrap(), &query)
            .await
            .0,
        200
    );
    assert_eq!(send_refresh().await.unwrap().status(), 401);
}

#[tokio::test]
async fn expired_token_gets_401_and_a_new_login_works() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let query = format!(
        "cliente?busca=cpf_cnpj&termo_busca={}",
        data.subscribers[0].document
    );
    assert_eq!(get(&fake, &token, &query).await.0, 200);
    fake.control.set_faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    let (status, answer) = get(&fake, &token, &query).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (401, Some("Unauthenticated."))
    );
    let fresh = access(&fake).await;
    assert_eq!(get(&fake, &fresh, &query).await.0, 200);
}

#[tokio::test]
async fn customers_by_document_and_phone() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let s = &data.subscribers[2];
    let masked = balcao_domain::br::Document::parse(&s.document)
        .unwrap()
        .masked();
    let (_, found) = get(
        &fake,
        &token,
        &format!("cliente?busca=cpf_cnpj&termo_busca={}", enc(&masked)),
    )
    .await;
    assert_eq!(found["status"], "success");
    let client = &found["clientes"][0];
    assert_eq!(client["id_cliente"], s.id);
    assert_eq!(client["servicos"][0]["status_prefixo"], "suspenso_debito");
    assert_eq!(
        client["servicos"][0]["id_cliente_servico"],
        s.contracts[0].id
    );
    let registered = client["data_cadastro"].as_str().unwrap();
    assert_eq!(registered.len(), 10);
    assert_eq!(&registered[2..3], "/", "customer dates are dd/mm/yyyy");
    for index in [1, 2] {
        let s = &data.subscribers[index];
        let mobile = s.phones.last().unwrap();
        let (_, hit) = get(
            &fake,
            &token,
            &format!("cliente?busca=telefone&termo_busca={}", national(mobile)),
        )
        .await;
        assert_eq!(hit["clientes"][0]["id_cliente"], s.id);
        let (_, miss) = get(
            &fake,
            &token,
            &format!("cliente?busca=telefone&termo_busca={}", other_form(mobile)),
        )
        .await;
        assert!(miss["clientes"].as_array().unwrap().is_empty());
    }
    let (status, invalid) = get(&fake, &token, "cliente?busca=rg&termo_busca=1").await;
    assert_eq!((status, invalid["status"].as_str()), (200, Some("error")));
    assert!(!invalid["errors"].as_array().unwrap().is_empty());
    let (_, limit) = get(
        &fake,
        &token,
        &format!(
            "cliente?busca=cpf_cnpj&termo_busca={}&limit=101",
            s.document
        ),
    )
    .await;
    assert_eq!(limit["status"], "error");
    let statuses: Vec<String> = {
        let mut out = Vec::new();
        for s in data.subscribers.iter().take(8) {
            let (_, c) = get(
                &fake,
                &token,
                &format!("cliente?busca=cpf_cnpj&termo_busca={}", s.document),
            )
            .await;
            out.push(
                c["clientes"][0]["servicos"][0]["status_prefixo"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        out
    };
    for expected in [
        "servico_habilitado",
        "suspenso_parcialmente",
        "suspenso_pedido_cliente",
        "aguardando_instalacao",
        "cancelado",
    ] {
        assert!(
            statuses.iter().any(|s| s == expected),
            "{expected} in {statuses:?}"
        );
    }
}

#[tokio::test]
async fn customer_invoices_with_the_suscess_typo() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let mut statuses = Vec::new();
    for s in [&data.subscribers[1], &data.subscribers[2]] {
        let (_, answer) = get(
            &fake,
            &token,
            &format!(
                "cliente/financeiro?busca=cpf_cnpj&termo_busca={}&apenas_pendente=sim",
                s.document
            ),
        )
        .await;
        statuses.push(answer["status"].as_str().unwrap().to_owned());
        let invoices = answer["faturas"].as_array().unwrap();
        assert_eq!(
            invoices.len(),
            s.invoices.iter().filter(|i| i.status.is_unpaid()).count()
        );
        for invoice in invoices {
            let source = s
                .invoices
                .iter()
                .find(|i| invoice["id_fatura"] == i.id)
                .unwrap();
            assert_line(
                invoice["linha_digitavel"].as_str().unwrap(),
                Some(source.amount_cents),
            );
            assert_pix(invoice["pix_copia_cola"].as_str().unwrap());
            assert_eq!(
                invoice["data_vencimento"],
                source.due_date.strftime("%d/%m/%Y").to_string()
            );
            assert!(invoice["valor"].is_number());
            assert_pdf(invoice["link"].as_str().unwrap()).await;
        }
    }
    statuses.sort();
    assert_eq!(statuses, ["success", "suscess"]);
    let (_, missing) = get(
        &fake,
        &token,
        "cliente/financeiro?busca=cpf_cnpj&termo_busca=52998224725",
    )
    .await;
    assert_eq!(missing["status"], "error");
}

#[tokio::test]
async fn trust_unlock_policy() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let service = data.subscribers[2].contracts[0].id;
    let over = post(
        &fake,
        &token,
        "cliente/desbloqueio_confianca",
        json!({"id_cliente_servico": service, "dias_desbloqueio": 6}),
    )
    .await;
    assert_eq!(over["status"], "error");
    assert!(over["msg"].as_str().unwrap().contains("máximo"));
    let granted = post(
        &fake,
        &token,
        "cliente/desbloqueio_confianca",
        json!({"id_cliente_servico": service, "dias_desbloqueio": 2}),
    )
    .await;
    assert_eq!(granted["status"], "success");
    assert!(
        granted["msg"]
            .as_str()
            .unwrap()
            .ends_with("até a data 18/11/2026"),
        "{granted}"
    );
    let again = post(
        &fake,
        &token,
        "cliente/desbloqueio_confianca",
        json!({"id_cliente_servico": service, "dias_desbloqueio": 2}),
    )
    .await;
    assert_eq!(again["status"], "error");
    let active = post(
        &fake,
        &token,
        "cliente/desbloqueio_confianca",
        json!({"id_cliente_servico": data.subscribers[0].contracts[0].id}),
    )
    .await;
    assert_eq!(active["status"], "error");
}

#[tokio::test]
async fn tickets_with_protocol_and_service_orders() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let service = data.subscribers[0].contracts[0].id;
    let opened = post(
        &fake,
        &token,
        "atendimento",
        json!({"id_cliente_servico": service, "descricao": "Sem sinal", "nome": "Ana", "telefone": "85999990000", "abrir_os": true}),
    )
    .await;
    assert_eq!(opened["status"], "success");
    let protocol = opened["atendimento"]["protocolo"].as_str().unwrap();
    assert_eq!(fake.control.tickets()[0].protocol, protocol);
    assert_eq!(
        opened["atendimento"]["ordens_servico"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let refused = post(
        &fake,
        &token,
        "atendimento",
        json!({"id_cliente_servico": service}),
    )
    .await;
    assert_eq!(refused["status"], "error");
}

#[tokio::test]
async fn paged_invoices_and_payment_window() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
    let invoice = data.subscribers[10]
        .invoices
        .iter()
        .find(|i| i.status == FakeInvoiceStatus::Overdue)
        .unwrap();
    fake.control.mark_paid(invoice.id, paid_moment());
    let (_, window) = get(
        &fake,
        &token,
        "financeiro/fatura?tipo_data=data_pagamento&data_inicio=2026-11-16&data_fim=2026-11-16&apenas_quitado=sim&pagina=1&itens_por_pagina=500",
    )
    .await;
    let paid = window["faturas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id_fatura"] == invoice.id)
        .expect("paid invoice in the window");
    assert_eq!(paid["data_pagamento"], "2026-11-16");
    assert!(paid["valor"].is_string() && paid["valor_pago"].is_string());
    assert_eq!(paid["quitado"], true);
    let total = data.invoices().count();
    let (_, first) = get(
        &fake,
        &token,
        "financeiro/fatura?pagina=1&itens_por_pagina=4",
    )
    .await;
    let (_, second) = get(
        &fake,
        &token,
        "financeiro/fatura?pagina=2&itens_por_pagina=4",
    )
    .await;
    assert_eq!(first["paginacao"]["total_registros"], total);
    assert_eq!(first["paginacao"]["ultima_pagina"], total.div_ceil(4));
    let ids = |v: &Value| -> Vec<u64> {
        v["faturas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id_fatura"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first).len(), 4);
    assert!(ids(&first).iter().all(|id| !ids(&second).contains(id)));
    let (_, too_big) = get(&fake, &token, "financeiro/fatura?itens_por_pagina=501").await;
    assert_eq!(too_big["status"], "error");
}

#[tokio::test]
async fn open_invoices_by_due_date_window() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let token = access(&fake).await;
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
    let (_, answer) = get(
        &fake,
        &token,
        &format!(
            "financeiro/fatura?tipo_data=data_vencimento&data_inicio={from}&data_fim={until}&apenas_em_aberto=sim&pagina=1&itens_por_pagina=500"
        ),
    )
    .await;
    let listed: Vec<u64> = answer["faturas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id_fatura"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(answer["paginacao"]["total_registros"], expected.len());
    assert!(
        answer["faturas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id_cliente_servico"].is_u64())
    );
}
