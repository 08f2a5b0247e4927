use crate::common::*;
use balcao_erp_fake::{FakeSystem, Faults, RunningFake};
use serde_json::{Value, json};

fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63])
            } else {
                '='
            });
        }
    }
    format!("Basic {out}")
}

async fn jwt(fake: &RunningFake) -> String {
    let response = http()
        .get(format!("{}/api/", fake.base_url))
        .header(
            "authorization",
            basic(&fake.auth["client_id"], &fake.auth["client_secret"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn get_text(fake: &RunningFake, token: &str, path: &str) -> (u16, String) {
    let response = http()
        .get(format!("{}/api/{path}", fake.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(fake: &RunningFake, token: &str, path: &str) -> Value {
    let (status, text) = get_text(fake, token, path).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

#[tokio::test]
async fn basic_login_returns_a_raw_short_lived_jwt() {
    let (fake, data) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    assert_eq!(token.split('.').count(), 3, "raw JWT, not JSON: {token}");
    assert!(serde_json::from_str::<Value>(&token).is_err());
    let payload = token.split('.').nth(1).unwrap();
    assert!(!payload.is_empty());
    let bad = http()
        .get(format!("{}/api/", fake.base_url))
        .header("authorization", basic(&fake.auth["client_id"], "errado"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let path = format!("cliente/show/{}", data.subscribers[0].document);
    assert_eq!(get_text(&fake, "a.b.c", &path).await.0, 401);
    assert_eq!(get_text(&fake, &token, &path).await.0, 200);
    fake.control.set_faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    assert_eq!(get_text(&fake, &token, &path).await.0, 401);
    let fresh = jwt(&fake).await;
    assert_eq!(get_text(&fake, &fresh, &path).await.0, 200);
}

#[tokio::test]
async fn customer_by_cpf_or_login_and_null_when_missing() {
    let (fake, data) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    let s = &data.subscribers[2];
    let masked = balcao_domain::br::Document::parse(&s.document)
        .unwrap()
        .masked();
    for key in [s.document.clone(), masked, s.contracts[0].login.clone()] {
        let customer = get(&fake, &token, &format!("cliente/show/{}", enc(&key))).await;
        assert_eq!(customer["login"], s.contracts[0].login);
        assert_eq!(customer["bloqueado"], "sim");
        assert!(customer["uuid_cliente"].as_str().unwrap().len() == 36);
    }
    let active = get(
        &fake,
        &token,
        &format!("cliente/show/{}", data.subscribers[0].document),
    )
    .await;
    assert_eq!(active["bloqueado"], "nao");
    let (status, missing) = get_text(&fake, &token, "cliente/show/52998224725").await;
    assert_eq!((status, missing.as_str()), (200, "NULL"));
}

#[tokio::test]
async fn open_titles_and_the_boleto_page() {
    let (fake, data) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    let s = &data.subscribers[2];
    let answer = get(&fake, &token, &format!("titulo/aberto/{}", s.document)).await;
    let unpaid: Vec<_> = s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
    assert_eq!(answer["Total"], unpaid.len());
    for title in answer["titulos"].as_array().unwrap() {
        let source = unpaid
            .iter()
            .find(|i| is_text_of(&title["titulo"], i.id))
            .unwrap();
        assert_line(
            title["linhadig"].as_str().unwrap(),
            Some(source.amount_cents),
        );
        assert_pix(title["pix"].as_str().unwrap());
        assert!(title["valor"].is_string());
        // No PDF link in MK-Auth: bots build the boleto page URL themselves.
        let page = http()
            .get(format!(
                "{}/boleto/21boleto.php?titulo={}",
                fake.origin, source.id
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(&source.our_number), "{page}");
    }
    let by_login = get(
        &fake,
        &token,
        &format!("titulo/aberto/{}", s.contracts[0].login),
    )
    .await;
    assert_eq!(by_login["Total"], unpaid.len());
    assert_eq!(
        get_text(&fake, &token, "titulo/aberto/ninguem").await.1,
        "NULL"
    );
}

#[tokio::test]
async fn both_unlock_forms_once_a_month() {
    let (fake, data) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    let uuid_of = |index: usize, contract: usize| {
        let fake = &fake;
        let token = &token;
        let login = data.subscribers[index].contracts[contract].login.clone();
        async move {
            get(fake, token, &format!("cliente/show/{login}")).await["uuid_cliente"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = uuid_of(2, 0).await;
    let unlocked = get(&fake, &token, &format!("cliente/desbloqueio/{first}")).await;
    assert_eq!(unlocked["status"], "sucesso", "{unlocked}");
    let shown = get(
        &fake,
        &token,
        &format!("cliente/show/{}", data.subscribers[2].contracts[0].login),
    )
    .await;
    assert_eq!(shown["bloqueado"], "nao");
    let again = get(&fake, &token, &format!("cliente/desbloqueio/{first}")).await;
    assert_eq!(again["status"], "erro");

    let second = uuid_of(8, 1).await;
    let edit = |uuid: String| {
        let fake = &fake;
        let token = &token;
        async move {
            let response = http()
                .put(format!("{}/api/cliente/editar", fake.base_url))
                .bearer_auth(token)
                .json(&json!({"uuid": uuid, "bloqueado": "nao"}))
                .send()
                .await
                .unwrap();
            body(response).await.1
        }
    };
    assert_eq!(edit(second.clone()).await["status"], "sucesso");
    assert_eq!(edit(second).await["status"], "erro");
    let forged = first.replace(&first[..8], "00000000");
    assert_eq!(
        get(&fake, &token, &format!("cliente/desbloqueio/{forged}")).await["status"],
        "erro"
    );
}

#[tokio::test]
async fn path_pagination_and_paid_titles() {
    let (fake, data) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    let records: usize = data.subscribers.iter().map(|s| s.contracts.len()).sum();
    let first = get(&fake, &token, "cliente/listar/limite=8&pagina=1").await;
    let second = get(&fake, &token, "cliente/listar/limite=8&pagina=2").await;
    assert_eq!(first["total_paginas"], records.div_ceil(8));
    let logins = |v: &Value| -> Vec<String> {
        v["clientes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["login"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(logins(&first).len(), 8);
    assert!(logins(&first).iter().all(|l| !logins(&second).contains(l)));
    let invoice = data.subscribers[1]
        .invoices
        .iter()
        .find(|i| i.status.is_unpaid())
        .unwrap();
    fake.control.mark_paid(invoice.id, paid_moment());
    let title = get(&fake, &token, &format!("titulo/show/{}", invoice.id)).await;
    assert_eq!(title["status"], "pago");
    assert_eq!(title["datapag"], "2026-11-16");
    let paid = get(
        &fake,
        &token,
        "titulo/listar/limite=500&pagina=1&status=pago",
    )
    .await;
    assert!(
        paid["titulos"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| is_text_of(&t["titulo"], invoice.id))
    );
    assert!(
        paid["titulos"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "pago")
    );
}

#[tokio::test]
async fn no_ticket_creation() {
    let (fake, _) = fake(FakeSystem::MkAuth).await;
    let token = jwt(&fake).await;
    let response = http()
        .post(format!("{}/api/chamado/novo", fake.base_url))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
