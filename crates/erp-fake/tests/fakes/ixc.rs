use crate::common::*;
use balcao_erp_fake::{FakeContractStatus, FakeInvoiceStatus, FakeSystem, RunningFake};
use serde_json::{Value, json};

fn basic(token: &str) -> String {
    // The test encodes Basic itself so the fake's decoder is checked against an independent one.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = token.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

async fn list(fake: &RunningFake, table: &str, query: Value) -> Value {
    let response = http()
        .post(format!("{}/{table}", fake.base_url))
        .header("authorization", basic(&fake.auth["token"]))
        .header("ixcsoft", "listar")
        .json(&query)
        .send()
        .await
        .unwrap();
    let (status, value) = body(response).await;
    assert_eq!(status, 200);
    value
}

async fn write(fake: &RunningFake, table: &str, payload: Value) -> reqwest::Response {
    http()
        .post(format!("{}/{table}", fake.base_url))
        .header("authorization", basic(&fake.auth["token"]))
        .json(&payload)
        .send()
        .await
        .unwrap()
}

fn registros(answer: &Value) -> &Vec<Value> {
    answer["registros"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test]
async fn basic_auth_with_the_whole_token() {
    let (fake, _) = fake(FakeSystem::Ixc).await;
    let ok = list(
        &fake,
        "cliente",
        json!({"qtype": "cliente.id", "query": "1001", "oper": "="}),
    )
    .await;
    assert_eq!(ok["total"], "1");
    let (id, _) = fake.auth["token"].split_once(':').unwrap();
    for header in [
        basic(&format!("{id}:wrong")),
        basic(id),
        "Bearer x".to_owned(),
    ] {
        let response = http()
            .post(format!("{}/cliente", fake.base_url))
            .header("authorization", header)
            .header("ixcsoft", "listar")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
}

#[tokio::test]
async fn documents_are_matched_as_stored_masked_or_not() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    for s in data.subscribers.iter().take(12) {
        let masked = balcao_domain::br::Document::parse(&s.document)
            .unwrap()
            .masked();
        let mut hits = 0;
        for form in [s.document.as_str(), masked.as_str()] {
            let answer = list(
                &fake,
                "cliente",
                json!({"qtype": "cliente.cnpj_cpf", "query": form, "oper": "=", "page": "1", "rp": "20"}),
            )
            .await;
            if answer["total"] == "1" {
                hits += 1;
                let client = &registros(&answer)[0];
                assert_eq!(client["id"], s.id.to_string());
                assert_eq!(client["cnpj_cpf"], form);
            }
        }
        assert_eq!(hits, 1, "exactly one form finds subscriber {}", s.id);
    }
    // Both kinds exist: most masked, older imports bare.
    let stored: Vec<String> = {
        let answer = list(&fake, "cliente", json!({"rp": "30"})).await;
        registros(&answer)
            .iter()
            .map(|c| c["cnpj_cpf"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(stored.iter().any(|d| d.contains('.')) && stored.iter().any(|d| !d.contains('.')));
}

#[tokio::test]
async fn every_value_is_a_string() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let id = data.subscribers[2].id.to_string();
    for (table, qtype) in [
        ("cliente", "cliente.id"),
        ("cliente_contrato", "cliente_contrato.id_cliente"),
        ("fn_areceber", "fn_areceber.id_cliente"),
        ("radusuarios", "radusuarios.id_cliente"),
    ] {
        let answer = list(
            &fake,
            table,
            json!({"qtype": qtype, "query": id, "oper": "="}),
        )
        .await;
        assert!(answer["page"].is_string() && answer["total"].is_string());
        assert!(!registros(&answer).is_empty(), "{table}");
        for row in registros(&answer) {
            for (key, value) in row.as_object().unwrap() {
                assert!(value.is_string(), "{table}.{key} = {value}");
            }
        }
    }
}

#[tokio::test]
async fn phone_lookup_respects_the_ninth_digit() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    for index in [0, 1] {
        let phone = &data.subscribers[index].phones[0];
        let hit = list(
            &fake,
            "cliente",
            json!({"qtype": "cliente.telefone_celular", "query": national(phone), "oper": "="}),
        )
        .await;
        assert_eq!(
            registros(&hit)[0]["id"],
            data.subscribers[index].id.to_string()
        );
        let miss = list(
            &fake,
            "cliente",
            json!({"qtype": "cliente.telefone_celular", "query": other_form(phone), "oper": "="}),
        )
        .await;
        assert_eq!(miss["total"], "0");
    }
    // The second mobile of subscriber 4 (old form) is in the whatsapp column.
    let s = &data.subscribers[4];
    let hit = list(
        &fake,
        "cliente",
        json!({"qtype": "cliente.whatsapp", "query": national(&s.phones[1]), "oper": "="}),
    )
    .await;
    assert_eq!(registros(&hit)[0]["id"], s.id.to_string());
}

#[tokio::test]
async fn contracts_invoices_and_get_with_body() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let s = &data.subscribers[8];
    let contracts = list(
        &fake,
        "cliente_contrato",
        json!({"qtype": "cliente_contrato.id_cliente", "query": s.id.to_string(), "oper": "="}),
    )
    .await;
    let rows = registros(&contracts);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status_internet"], "A");
    assert_eq!(rows[1]["status_internet"], "CA");
    // The classic open-invoice query, sent as GET with a body.
    let query = json!({
        "qtype": "fn_areceber.id_cliente",
        "query": s.id.to_string(),
        "oper": "=",
        "page": "1",
        "rp": "50",
        "sortname": "fn_areceber.data_vencimento",
        "sortorder": "asc",
        "grid_param": json!([
            {"TB": "fn_areceber.liberado", "OP": "=", "P": "S"},
            {"TB": "fn_areceber.status", "OP": "!=", "P": "R"},
            {"TB": "fn_areceber.status", "OP": "!=", "P": "C"},
        ]).to_string(),
    });
    let response = http()
        .get(format!("{}/fn_areceber", fake.base_url))
        .header("authorization", basic(&fake.auth["token"]))
        .header("ixcsoft", "listar")
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    let (_, open) = body(response).await;
    let unpaid: Vec<_> = s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
    assert_eq!(registros(&open).len(), unpaid.len());
    let dues: Vec<&str> = registros(&open)
        .iter()
        .map(|r| r["data_vencimento"].as_str().unwrap())
        .collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "sorted by due date");
    for row in registros(&open) {
        assert_eq!(row["status"], "A");
        assert_eq!(row["pagamento_data"], "0000-00-00");
        assert_line(row["linha_digitavel"].as_str().unwrap(), None);
        assert_pdf(row["gateway_link"].as_str().unwrap()).await;
    }
    // Without the listar header a GET is refused with the error envelope.
    let response = http()
        .get(format!("{}/fn_areceber", fake.base_url))
        .header("authorization", basic(&fake.auth["token"]))
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    let (status, refused) = body(response).await;
    assert_eq!((status, refused["type"].as_str()), (200, Some("error")));
    let bad_field = list(
        &fake,
        "cliente",
        json!({"qtype": "cliente.nao_existe", "query": "1"}),
    )
    .await;
    assert_eq!(bad_field["type"], "error");
}

#[tokio::test]
async fn boleto_file_base64_and_pix() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let invoice = data.subscribers[2]
        .invoices
        .iter()
        .find(|i| i.status == FakeInvoiceStatus::Overdue)
        .unwrap();
    let pdf = write(&fake, "get_boleto", json!({"boletos": invoice.id.to_string(), "juro": "S", "multa": "S", "atualiza_boleto": "S", "tipo_boleto": "arquivo", "base64": "N"})).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let encoded = write(
        &fake,
        "get_boleto",
        json!({"boletos": invoice.id.to_string(), "tipo_boleto": "arquivo", "base64": "S"}),
    )
    .await;
    assert!(
        encoded.text().await.unwrap().starts_with("JVBER"),
        "base64 of %PDF"
    );
    let (_, mail) = body(
        write(
            &fake,
            "get_boleto",
            json!({"boletos": invoice.id.to_string(), "tipo_boleto": "mail"}),
        )
        .await,
    )
    .await;
    assert_eq!(mail["registros"][0]["sucesso"], true);
    let (_, pix) = body(
        write(
            &fake,
            "get_pix",
            json!({"id_areceber": invoice.id.to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(pix["type"], "success");
    let copy_paste = pix["pix"]["dadosPix"]["pixCopiaECola"].as_str().unwrap();
    assert_pix(copy_paste);
    assert_eq!(pix["pix"]["qrCode"]["qrcode"], copy_paste);
    assert_eq!(
        pix["pix"]["dadosPix"]["valor"]["original"],
        format!(
            "{}.{:02}",
            invoice.amount_cents / 100,
            invoice.amount_cents % 100
        )
    );
    let paid = data.subscribers[11].invoices[0].id.to_string();
    let (_, refused) = body(write(&fake, "get_pix", json!({"id_areceber": paid})).await).await;
    assert_eq!(refused["type"], "error");
}

#[tokio::test]
async fn trust_unlock_codes() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let unlock = |id: u64| {
        let fake = &fake;
        async move {
            body(write(fake, "desbloqueio_confianca", json!({"id": id.to_string()})).await)
                .await
                .1
        }
    };
    let code = |v: &Value| {
        v["codigo"]
            .as_u64()
            .or_else(|| v["codigo"].as_str()?.parse().ok())
    };
    let blocked = data.subscribers[2].contracts[0].id;
    let first = unlock(blocked).await;
    assert_eq!(first["tipo"], "sucesso", "{first}");
    let second = unlock(blocked).await;
    assert_eq!(
        (second["tipo"].as_str(), code(&second)),
        (Some("erro"), Some(113))
    );
    let active = unlock(data.subscribers[0].contracts[0].id).await;
    assert_eq!(code(&active), Some(107));
    let cancelled = unlock(data.subscribers[7].contracts[0].id).await;
    assert_eq!(code(&cancelled), Some(109));
    let missing = unlock(1).await;
    assert_eq!(code(&missing), Some(106));
    // IXC versions differ: `codigo` comes as a number or as a string.
    let raw: Vec<&Value> = [&second, &active, &cancelled, &missing]
        .iter()
        .map(|v| &v["codigo"])
        .collect();
    assert!(raw.iter().any(|c| c.is_string()) && raw.iter().any(|c| c.is_number()));
    let contract = list(
        &fake,
        "cliente_contrato",
        json!({"qtype": "cliente_contrato.id", "query": blocked.to_string(), "oper": "="}),
    )
    .await;
    assert_eq!(registros(&contract)[0]["desbloqueio_confianca_ativo"], "S");
    assert_eq!(registros(&contract)[0]["status_internet"], "A");
}

#[tokio::test]
async fn tickets_need_the_misspelled_field_and_get_protocols() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let s = &data.subscribers[0];
    let mut ticket = json!({
        "tipo": "C",
        "id_cliente": s.id.to_string(),
        "id_assunto": "4",
        "titulo": "Sem conexão",
        "id_ticket_setor": "2",
        "prioridade": "M",
        "mensagem": "Cliente sem internet",
        "su_status": "N",
    });
    let (_, refused) = body(write(&fake, "su_ticket", ticket.clone()).await).await;
    assert_eq!(refused["type"], "error");
    assert!(
        refused["message"].as_str().unwrap().contains("<b>"),
        "IXC puts HTML in messages"
    );
    ticket["menssagem"] = json!("Cliente sem internet");
    let (_, created) = body(write(&fake, "su_ticket", ticket).await).await;
    assert_eq!(created["type"], "success");
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = list(
        &fake,
        "su_ticket",
        json!({"qtype": "su_ticket.id", "query": id, "oper": "="}),
    )
    .await;
    let protocol = registros(&listed)[0]["protocolo"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fake.control.tickets()[0].protocol, protocol);
}

#[tokio::test]
async fn payment_window_on_pagamento_data() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let invoice = data.subscribers[1]
        .invoices
        .iter()
        .find(|i| i.status.is_unpaid())
        .unwrap();
    fake.control.mark_paid(invoice.id, paid_moment());
    let answer = list(
        &fake,
        "fn_areceber",
        json!({
            "qtype": "fn_areceber.pagamento_data",
            "query": "2026-11-16",
            "oper": ">=",
            "rp": "1000",
            "grid_param": json!([{"TB": "fn_areceber.status", "OP": "=", "P": "R"}]).to_string(),
        }),
    )
    .await;
    let row = registros(&answer)
        .iter()
        .find(|r| is_text_of(&r["id"], invoice.id))
        .expect("paid invoice listed");
    assert_eq!(row["pagamento_data"], "2026-11-16");
    assert_eq!(row["valor_aberto"], "0.00");
    assert!(registros(&answer).iter().all(|r| r["status"] == "R"));
}

#[tokio::test]
async fn pagination_with_page_and_rp() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let page = |n: u32| {
        let fake = &fake;
        async move {
            list(fake, "cliente", json!({"page": n.to_string(), "rp": "7", "sortname": "cliente.id", "sortorder": "desc"})).await
        }
    };
    let (first, second) = (page(1).await, page(2).await);
    assert_eq!(first["total"], data.subscribers.len().to_string());
    assert_eq!(second["page"], "2");
    let ids = |v: &Value| -> Vec<u64> {
        registros(v)
            .iter()
            .map(|r| r["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(ids(&first).len(), 7);
    assert!(ids(&first)[0] > ids(&first)[6], "descending");
    assert!(ids(&first).iter().all(|id| !ids(&second).contains(id)));
}

#[tokio::test]
async fn radius_status_and_block_actions() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let contract = data.subscribers[0].contracts[0].id;
    let radius = list(
        &fake,
        "radusuarios",
        json!({"qtype": "radusuarios.id_contrato", "query": contract.to_string(), "oper": "="}),
    )
    .await;
    assert_eq!(registros(&radius)[0]["online"], "S");
    let (_, blocked) = body(
        write(
            &fake,
            "cliente_contrato_15300",
            json!({"id_contrato": contract.to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(blocked["type"], "success");
    assert_eq!(
        fake.control.contract(contract).unwrap().status,
        FakeContractStatus::SuspendedManual
    );
    let (_, released) = body(
        write(
            &fake,
            "cliente_contrato_15464",
            json!({"id_contrato": contract.to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(released["type"], "success");
    assert_eq!(
        fake.control.contract(contract).unwrap().status,
        FakeContractStatus::Active
    );
    let (_, again) = body(
        write(
            &fake,
            "cliente_contrato_15464",
            json!({"id_contrato": contract.to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(again["type"], "error");
}

/// What a receivables listing asks: titles by due date, with the rest of the conditions in
/// `grid_param`; the total counts the window, not the table.
#[tokio::test]
async fn receivables_by_due_date_window() {
    let (fake, data) = fake(FakeSystem::Ixc).await;
    let (from, until) = ("2026-11-06", "2026-11-26");
    let expected: Vec<u64> = {
        let mut ids: Vec<u64> = data
            .invoices()
            .filter(|(_, i)| i.status.is_unpaid())
            .filter(|(_, i)| i.due_date.to_string().as_str() <= until)
            .filter(|(_, i)| i.due_date.to_string().as_str() >= from)
            .map(|(_, i)| i.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert!(expected.len() > 5, "the window holds several titles");
    let grid = json!([
        {"TB": "fn_areceber.data_vencimento", "OP": "<=", "P": until},
        {"TB": "fn_areceber.liberado", "OP": "=", "P": "S"},
        {"TB": "fn_areceber.status", "OP": "!=", "P": "R"},
        {"TB": "fn_areceber.status", "OP": "!=", "P": "C"},
    ])
    .to_string();
    let page = |n: usize| {
        let (fake, grid) = (&fake, grid.clone());
        async move {
            list(
                fake,
                "fn_areceber",
                json!({"qtype": "fn_areceber.data_vencimento", "query": from, "oper": ">=",
                       "page": n.to_string(), "rp": "5", "sortname": "fn_areceber.id",
                       "sortorder": "asc", "grid_param": grid}),
            )
            .await
        }
    };
    let first = page(1).await;
    assert_eq!(first["total"], expected.len().to_string());
    let mut listed = Vec::new();
    for n in 1..=expected.len().div_ceil(5) {
        let answer = page(n).await;
        for row in registros(&answer) {
            assert!(row["status"] == "A", "{row}");
            listed.push(row["id"].as_str().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(listed, expected);
}
