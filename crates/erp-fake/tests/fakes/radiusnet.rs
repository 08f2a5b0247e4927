use crate::common::*;
use balcao_erp_fake::{FakeContractStatus, FakeSystem, RunningFake};
use serde_json::Value;

async fn call(
    fake: &RunningFake,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = http().request(method, format!("{}/{path}", fake.base_url));
    if let Some(token) = token {
        request = request.header("RTOKEN", token);
    }
    body(request.send().await.unwrap()).await
}

async fn get(fake: &RunningFake, path: &str) -> Value {
    let (status, value) = call(fake, reqwest::Method::GET, path, Some(&fake.auth["token"])).await;
    assert_eq!(status, 200);
    value
}

#[tokio::test]
async fn raw_rtoken_header() {
    let (fake, data) = fake(FakeSystem::RadiusNet).await;
    let path = format!("cp/{}", data.subscribers[0].document);
    assert_eq!(call(&fake, reqwest::Method::GET, &path, None).await.0, 401);
    assert_eq!(
        call(&fake, reqwest::Method::GET, &path, Some("errado"))
            .await
            .0,
        401
    );
    let bearer = http()
        .get(format!("{}/{path}", fake.base_url))
        .bearer_auth(&fake.auth["token"])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        401,
        "the token goes raw in RTOKEN, not as a bearer"
    );
    assert_eq!(
        call(
            &fake,
            reqwest::Method::GET,
            &path,
            Some(&fake.auth["token"])
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn plans_by_cpf_and_charges_by_customer() {
    let (fake, data) = fake(FakeSystem::RadiusNet).await;
    let s = &data.subscribers[8];
    let masked = balcao_domain::br::Document::parse(&s.document)
        .unwrap()
        .masked();
    let plans = get(&fake, &format!("cp/{}", enc(&masked))).await;
    let rows = plans["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["status"], "bloqueado");
    let client = rows[0]["id_cliente"].as_str().unwrap().to_owned();
    let missing = get(&fake, "cp/52998224725").await;
    assert_eq!(missing["status"], "error");
    let open = get(&fake, &format!("cbc/abertas/{client}")).await;
    let unpaid: Vec<_> = s.invoices.iter().filter(|i| i.status.is_unpaid()).collect();
    assert_eq!(open["rows"].as_array().unwrap().len(), unpaid.len());
    for row in open["rows"].as_array().unwrap() {
        let source = unpaid
            .iter()
            .find(|i| is_text_of(&row["id_cobranca"], i.id))
            .unwrap();
        assert_line(
            row["linha_digitavel"].as_str().unwrap(),
            Some(source.amount_cents),
        );
        let due_now = source.amount_due_cents();
        assert_eq!(
            row["valor_total_a_pagar"],
            format!("{}.{:02}", due_now / 100, due_now % 100)
        );
        let url = get(&fake, &format!("bc/{}", source.id)).await;
        assert_pdf(url["rows"]["url"].as_str().unwrap()).await;
    }
    let bad = get(&fake, &format!("cbc/quase/{client}")).await;
    assert_eq!(bad["status"], "error");
}

#[tokio::test]
async fn pix_rows_in_both_shapes() {
    let (fake, data) = fake(FakeSystem::RadiusNet).await;
    let mut shapes = (false, false);
    for invoice in data
        .invoices()
        .map(|(_, i)| i)
        .filter(|i| i.status.is_unpaid())
        .take(6)
    {
        let answer = get(&fake, &format!("scp/{}", invoice.id)).await;
        let rows = &answer["rows"];
        let code = if rows.is_array() {
            shapes.1 = true;
            rows[0]["qrcode_copy_paste"].as_str().unwrap()
        } else {
            shapes.0 = true;
            rows["qrcode_copy_paste"].as_str().unwrap()
        };
        assert_pix(code);
    }
    assert_eq!(shapes, (true, true));
}

#[tokio::test]
async fn payment_promise_once_and_paid_charges() {
    let (fake, data) = fake(FakeSystem::RadiusNet).await;
    let s = &data.subscribers[2];
    let charge = s.invoices.iter().find(|i| i.status.is_unpaid()).unwrap();
    let (_, granted) = call(
        &fake,
        reqwest::Method::PUT,
        &format!("ppg/{}", charge.id),
        Some(&fake.auth["token"]),
    )
    .await;
    assert_eq!(granted["status"], "success", "{granted}");
    assert_eq!(
        fake.control.contract(s.contracts[0].id).unwrap().status,
        FakeContractStatus::TrustUnlocked
    );
    let (_, refused) = call(
        &fake,
        reqwest::Method::PUT,
        &format!("ppg/{}", charge.id),
        Some(&fake.auth["token"]),
    )
    .await;
    assert_eq!(refused["status"], "error");
    fake.control.mark_paid(charge.id, paid_moment());
    let paid = get(&fake, &format!("cbc/pagas/{}", s.id)).await;
    let row = paid["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| is_text_of(&r["id_cobranca"], charge.id))
        .unwrap();
    assert_eq!(row["data_pagamento"], "2026-11-16 10:30:00");
}
