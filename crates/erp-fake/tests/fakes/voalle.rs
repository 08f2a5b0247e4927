use crate::common::*;
use balcao_erp_fake::{FakeSystem, Faults, RunningFake};
use serde_json::{Value, json};

fn token_form(fake: &RunningFake, scope: &str, syndata: &str) -> String {
    form(&[
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_id", &fake.auth["client_id"]),
        ("client_secret", &fake.auth["client_secret"]),
        ("syndata", syndata),
    ])
}

async fn request_token(fake: &RunningFake, base: &str, form_body: String) -> (u16, Value) {
    let response = http()
        .post(format!("{base}/connect/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let _ = fake;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn token(fake: &RunningFake) -> String {
    let (status, answer) = request_token(
        fake,
        &fake.auth["token_url"],
        token_form(fake, "syngw", &fake.auth["syndata"]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn get(fake: &RunningFake, token: &str, path: &str) -> (u16, Value) {
    let response = http()
        .get(format!(
            "{}/external/integrations/thirdparty/{path}",
            fake.base_url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post(fake: &RunningFake, token: &str, path: &str, payload: Value) -> Value {
    let response = http()
        .post(format!(
            "{}/external/integrations/thirdparty/{path}",
            fake.base_url
        ))
        .bearer_auth(token)
        .json(&payload)
        .send()
        .await
        .unwrap();
    body(response).await.1
}

#[tokio::test]
async fn client_credentials_on_the_separate_token_port() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let token_url = &fake.auth["token_url"];
    assert_ne!(
        token_url, &fake.base_url,
        "token and API listen on different ports"
    );
    assert_eq!(fake.auth.len(), 4);
    let (status, wrong_scope) = request_token(
        &fake,
        token_url,
        token_form(&fake, "openid", &fake.auth["syndata"]),
    )
    .await;
    assert_eq!(
        (status, wrong_scope["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, wrong_syndata) =
        request_token(&fake, token_url, token_form(&fake, "syngw", "x")).await;
    assert_eq!(
        (status, wrong_syndata["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = request_token(
        &fake,
        &fake.base_url,
        token_form(&fake, "syngw", &fake.auth["syndata"]),
    )
    .await;
    assert_eq!(status, 404, "no token endpoint on the API port");
    let access = token(&fake).await;
    let path = format!("people/txid/{}", data.subscribers[0].document);
    assert_eq!(get(&fake, "nope", &path).await.0, 401);
    assert_eq!(get(&fake, &access, &path).await.0, 200);
    fake.control.set_faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    assert_eq!(get(&fake, &access, &path).await.0, 401);
    assert_eq!(get(&fake, &token(&fake).await, &path).await.0, 200);
}

#[tokio::test]
async fn people_by_txid_only_and_envelopes() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let access = token(&fake).await;
    let s = &data.subscribers[9];
    let (status, person) = get(&fake, &access, &format!("people/txid/{}", s.document)).await;
    assert_eq!(status, 200);
    assert_eq!(person["success"], true);
    assert_eq!(person["messages"][0]["type"], "Success");
    assert_eq!(person["response"]["txId"], s.document);
    assert_eq!(
        person["response"]["contracts"][0]["contractNumber"],
        s.contracts[0].id.to_string()
    );
    let (status, missing) = get(&fake, &access, "people/txid/52998224725").await;
    assert_eq!((status, missing["success"].as_bool()), (200, Some(false)));
    assert_eq!(missing["messages"][0]["type"], "Error");
    let (status, _) = get(
        &fake,
        &access,
        &format!("people/phone/{}", national(&s.phones[0])),
    )
    .await;
    assert_eq!(status, 404, "Voalle has no lookup by phone");
    let (_, page) = get(&fake, &access, "people?page=2&pageSize=10").await;
    assert_eq!(page["totalRecords"], data.subscribers.len());
    assert_eq!(page["totalPages"], data.subscribers.len().div_ceil(10));
    assert_eq!(page["page"], 2);
    assert_eq!(page["data"][0]["id"], data.subscribers[10].id);
}

#[tokio::test]
async fn open_titles_and_the_two_nothing_open_answers() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let access = token(&fake).await;
    let s = &data.subscribers[2];
    let (_, open) = get(
        &fake,
        &access,
        &format!("getopentitlesbytxid/{}", s.document),
    )
    .await;
    let titles = open["response"].as_array().unwrap();
    assert_eq!(
        titles.len(),
        s.invoices.iter().filter(|i| i.status.is_unpaid()).count()
    );
    for title in titles {
        let source = s.invoices.iter().find(|i| title["id"] == i.id).unwrap();
        let billet = &title["billet"];
        assert_line(
            billet["typefulLine"].as_str().unwrap(),
            Some(source.amount_cents),
        );
        assert_pix(billet["pixQRCode"].as_str().unwrap());
        assert_eq!(
            billet["amount"]["finalValue"].as_f64().unwrap(),
            source.amount_due_cents() as f64 / 100.0
        );
        assert!(["Em aberto", "Vencida"].contains(&title["status"].as_str().unwrap()));
    }
    // Subscriber 11 (even id) has nothing open: success with a warning.
    let paid_up = &data.subscribers[11];
    let (_, warning) = get(
        &fake,
        &access,
        &format!("getopentitlesbytxid/{}", paid_up.document),
    )
    .await;
    assert_eq!(warning["success"], true);
    assert_eq!(
        warning["messages"][0]["message"],
        "Cliente não possui títulos em aberto."
    );
    // Subscriber 0 (odd id) after paying everything: the failure form.
    let first = &data.subscribers[0];
    for invoice in first.invoices.iter().filter(|i| i.status.is_unpaid()) {
        fake.control.mark_paid(invoice.id, paid_moment());
    }
    let (_, failure) = get(
        &fake,
        &access,
        &format!("getopentitlesbytxid/{}", first.document),
    )
    .await;
    assert_eq!(failure["success"], false);
    assert_eq!(
        failure["messages"][0]["message"],
        "Cliente não possui títulos em aberto."
    );
}

#[tokio::test]
async fn all_titles_paged_show_payments() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let access = token(&fake).await;
    let s = &data.subscribers[2];
    let invoice = s.invoices.iter().find(|i| i.status.is_unpaid()).unwrap();
    fake.control.mark_paid(invoice.id, paid_moment());
    let (_, all) = get(
        &fake,
        &access,
        &format!("gettitlesbytxid/{}?page=1&pageSize=100", s.document),
    )
    .await;
    assert_eq!(all["totalRecords"], s.invoices.len());
    let paid = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == invoice.id)
        .unwrap();
    assert_eq!(paid["status"], "Paga");
    assert_eq!(paid["paymentDate"], "2026-11-16T10:30:00");
    let (_, one) = get(
        &fake,
        &access,
        &format!("gettitlesbytxid/{}?page=2&pageSize=1", s.document),
    )
    .await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["totalPages"], s.invoices.len());
    assert_eq!(one["data"][0]["id"], s.invoices[1].id);
}

#[tokio::test]
async fn unlock_and_solicitation() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let access = token(&fake).await;
    let contract = data.subscribers[1].contracts[0].id;
    let granted = post(
        &fake,
        &access,
        &format!("contracts/unlock/{contract}"),
        json!({}),
    )
    .await;
    assert_eq!(granted["success"], true, "{granted}");
    assert_eq!(granted["response"]["days"], 3);
    let refused = post(
        &fake,
        &access,
        &format!("contracts/unlock/{contract}"),
        json!({}),
    )
    .await;
    assert_eq!(refused["success"], false);
    assert_eq!(refused["messages"][0]["type"], "Error");
    let s = &data.subscribers[0];
    let opened = post(
        &fake,
        &access,
        "opensolicitation",
        json!({"description": "Lentidão", "clientId": s.id, "contractId": s.contracts[0].id}),
    )
    .await;
    assert_eq!(opened["success"], true);
    assert_eq!(
        opened["response"]["protocol"],
        fake.control.tickets()[0].protocol
    );
    let foreign = post(
        &fake,
        &access,
        "opensolicitation",
        json!({"description": "x", "clientId": s.id, "contractId": data.subscribers[1].contracts[0].id}),
    )
    .await;
    assert_eq!(foreign["success"], false);
}

#[tokio::test]
async fn thirty_requests_a_minute_by_default_then_429() {
    let (fake, data) = fake(FakeSystem::Voalle).await;
    let access = token(&fake).await;
    let path = format!("people/txid/{}", data.subscribers[0].document);
    // The bucket refills slowly (one request every 2 s), so the 429 comes right after the 30th.
    let mut successes = 0;
    let response = loop {
        let response = http()
            .get(format!(
                "{}/external/integrations/thirdparty/{path}",
                fake.base_url
            ))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        if response.status() != 200 || successes == 60 {
            break response;
        }
        successes += 1;
    };
    assert!(
        (30..60).contains(&successes),
        "{successes} requests before the limit"
    );
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let (_, envelope) = body(response).await;
    assert_eq!(envelope["success"], false);
    // The knob lifts it.
    fake.control.set_faults(Faults {
        rate_limit_per_minute: Some(0),
        ..Faults::default()
    });
    assert_eq!(get(&fake, &access, &path).await.0, 200);
}
