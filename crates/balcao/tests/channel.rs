//! End-to-end tests of the channel: the simulator's phone and Graph API, the app's webhook,
//! store, outbox and sender, over real HTTP on loopback, with a real SQLite database.

mod common;

use balcao_domain::outbound::OutboundContent;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_typed_on_the_phone_appears_through_the_api() {
    let h = Harness::start().await;
    let wamid = h
        .phone_says("5511987650001", "João da Silva", "oi, quero a segunda via")
        .await;
    assert!(wamid.starts_with("wamid."));

    let conv = h.conversation_of("5511987650001").await;
    assert_eq!(
        conv["contact_name"], "João da Silva",
        "non-ASCII name survived the escaped, signed body"
    );
    assert_eq!(conv["status"], "open");
    assert_eq!(conv["window_open"], true);
    let msgs = h.messages_of(conv["id"].as_i64().unwrap()).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["direction"], "in");
    assert_eq!(msgs[0]["wamid"], wamid);
    assert_eq!(msgs[0]["type"], "text");
    assert_eq!(msgs[0]["text"], "oi, quero a segunda via");

    let (status, events) = h
        .api_get(&format!("/api/v1/conversations/{}/events", conv["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events["events"][0]["kind"], "message_in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_is_stored_once() {
    let h = Harness::start().await;
    h.phone_sends(
        json!({"from": "5511987650002", "name": "Ana", "text": "alô", "duplicate": true}),
    )
    .await;
    let body = serde_json::to_vec(&envelope(
        balcao::demo::DEMO_PHONE_NUMBER_ID,
        text_message("5511987650002", "wamid.dup-1", "de novo"),
    ))
    .unwrap();
    assert_eq!(h.post_webhook(&body, None).await, StatusCode::OK);
    assert_eq!(
        h.post_webhook(&body, None).await,
        StatusCode::OK,
        "a duplicate is acknowledged"
    );
    let conv = h.conversation_of("5511987650002").await;
    let msgs = h.messages_of(conv["id"].as_i64().unwrap()).await;
    assert_eq!(msgs.len(), 2, "one per distinct wamid: {msgs:?}");
    assert_eq!(
        h.store().inbound_count(h.workspace().await).await.unwrap(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ninth_digit_forms_are_one_contact_and_conversation() {
    let h = Harness::start().await;
    h.phone_says("551692318222", "Carlos", "mensagem do número antigo")
        .await;
    let body = serde_json::to_vec(&envelope(
        balcao::demo::DEMO_PHONE_NUMBER_ID,
        text_message("5516992318222", "wamid.9th-2", "agora com o nove"),
    ))
    .unwrap();
    assert_eq!(h.post_webhook(&body, None).await, StatusCode::OK);
    let by_old = h.conversation_of("551692318222").await;
    let by_new = h.conversation_of("5516992318222").await;
    assert_eq!(by_old["id"], by_new["id"]);
    assert_eq!(h.messages_of(by_old["id"].as_i64().unwrap()).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_refused_and_nothing_is_stored() {
    let h = Harness::start().await;
    let body = serde_json::to_vec(&envelope(
        balcao::demo::DEMO_PHONE_NUMBER_ID,
        text_message("5511987650003", "wamid.sig-1", "oi"),
    ))
    .unwrap();
    let wrong = balcao_whatsapp::signature::sign(b"not-the-secret", &body);
    assert_eq!(
        h.post_webhook(&body, Some(Some(wrong))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.post_webhook(&body, Some(None)).await,
        StatusCode::UNAUTHORIZED,
        "missing header"
    );
    assert_eq!(
        h.post_webhook(&body, Some(Some("sha256=zz".into()))).await,
        StatusCode::UNAUTHORIZED
    );
    // A body re-serialised after signing (e.g. "João" unescaped) no longer matches.
    let signed = balcao_whatsapp::signature::sign(h.app_secret.as_bytes(), &body);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        h.post_webhook(&tampered, Some(Some(signed))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.store().inbound_count(h.workspace().await).await.unwrap(),
        0
    );
    assert!(h.store().dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_with_a_valid_signature_is_kept_as_a_dead_letter() {
    let h = Harness::start().await;
    let body = br#"{"object":"whatsapp_business_account","entry":[{"#;
    assert_eq!(
        h.post_webhook(body, None).await,
        StatusCode::OK,
        "200 so Meta stops retrying"
    );
    let letters = h.store().dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body.as_bytes(), body);
    assert!(!letters[0].reason.is_empty());
    let metrics = h
        .http
        .get(h.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("balcao_webhook_dead_letters_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_types_and_unknown_numbers_are_kept_not_crashed_on() {
    let h = Harness::start().await;
    let odd = json!({
        "contacts": [{"profile": {"name": "X"}, "wa_id": "5511987650004"}],
        "messages": [{"from": "5511987650004", "id": "wamid.odd-1", "timestamp": now_secs(), "type": "hologram", "hologram": {"depth": 3}}]
    });
    let body = serde_json::to_vec(&envelope(balcao::demo::DEMO_PHONE_NUMBER_ID, odd)).unwrap();
    assert_eq!(h.post_webhook(&body, None).await, StatusCode::OK);
    let conv = h.conversation_of("5511987650004").await;
    let msgs = h.messages_of(conv["id"].as_i64().unwrap()).await;
    assert_eq!(msgs[0]["type"], "hologram");
    assert_eq!(msgs[0]["payload"]["hologram"]["depth"], 3, "raw kept");

    let stray = serde_json::to_vec(&envelope(
        "999999999",
        text_message("5511987650005", "wamid.stray-1", "oi"),
    ))
    .unwrap();
    assert_eq!(h.post_webhook(&stray, None).await, StatusCode::OK);
    let unrouted = h.store().unrouted(10).await.unwrap();
    assert!(
        unrouted
            .iter()
            .any(|u| u.phone_number_id.as_deref() == Some("999999999")),
        "{unrouted:?}"
    );

    let template_update = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED", "message_template_name": "x"}}]}]});
    assert_eq!(
        h.post_webhook(&serde_json::to_vec(&template_update).unwrap(), None)
            .await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_handshake_echoes_the_challenge_only_for_our_token() {
    let h = Harness::start().await;
    let ok = h
        .http
        .get(h.url(&format!(
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1158201444",
            h.verify_token
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = h
        .http
        .get(h.url("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);
}

async fn reply(h: &Harness, conversation: i64, content: Value) -> (StatusCode, Value) {
    h.api_post(
        &format!("/api/v1/conversations/{conversation}/messages"),
        json!({"content": content}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_inside_the_window_reaches_the_phone_and_its_statuses_come_back() {
    let h = Harness::start().await;
    h.phone_says("5511987650006", "Bia", "oi").await;
    let conv = h.conversation_of("5511987650006").await;
    let id = conv["id"].as_i64().unwrap();
    let (status, msg) = reply(&h, id, json!({"type": "buttons", "body": "Como posso ajudar?", "buttons": [{"id": "fatura", "title": "2ª via"}, {"id": "suporte", "title": "Suporte"}]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{msg}");
    let message_id = msg["id"].as_i64().unwrap();

    let delivered = eventually(10, "delivered status", || async {
        let (_, m) = h.api_get(&format!("/api/v1/messages/{message_id}")).await;
        matches!(m["status"].as_str(), Some("delivered" | "read")).then_some(m)
    })
    .await;
    assert!(delivered["wamid"].as_str().unwrap().starts_with("wamid."));
    assert_eq!(delivered["pricing"]["category"], "service");

    let chat = h.phone_chat("5511987650006").await;
    let out: Vec<&Value> = chat.iter().filter(|m| m["direction"] == "out").collect();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["text"], "Como posso ajudar?");
    assert_eq!(out[0]["buttons"], json!(["2ª via", "Suporte"]));

    // The subscriber taps a button: it comes back as an interactive reply.
    h.phone_sends(json!({"from": "5511987650006", "name": "Bia", "button_reply": {"id": "fatura", "title": "2ª via"}})).await;
    let msgs = h.messages_of(id).await;
    let last = msgs.last().unwrap();
    assert_eq!(last["type"], "interactive");
    assert_eq!(last["text"], "2ª via");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_form_outside_the_window_is_refused_with_a_reason_or_becomes_the_template() {
    let h = Harness::start().await;
    let (status, err) = h
        .api_post(
            "/api/v1/messages",
            json!({"to": "5511987650007", "content": {"type": "text", "body": "oi"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "outside_window");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("24 horas")
    );

    let template = json!({"type": "template", "name": "fatura_disponivel", "language": "pt_BR", "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Maria"}, {"type": "text", "text": "R$ 99,90"}, {"type": "text", "text": "10/12/2026"}]}]});
    let fallback = json!({"name": "fatura_disponivel", "language": "pt_BR", "components": template["components"]});
    let (status, msg) = h
        .api_post("/api/v1/messages", json!({"to": "5511987650007", "content": {"type": "text", "body": "oi"}, "fallback_template": fallback}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{msg}");
    assert_eq!(msg["type"], "template");
    let shown = eventually(10, "template on the phone", || async {
        let chat = h.phone_chat("5511987650007").await;
        chat.iter().find(|m| m["direction"] == "out").cloned()
    })
    .await;
    assert_eq!(
        shown["text"].as_str().unwrap(),
        "Olá Maria, sua fatura de R$ 99,90 com vencimento em 10/12/2026 está disponível."
    );

    let (status, err) = h
        .api_post("/api/v1/messages", json!({"to": "5511987650007", "content": {"type": "template", "name": "nao_existe", "language": "pt_BR"}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "template_not_approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_never_sends_twice() {
    let h = Harness::start().await;
    h.phone_says("5511987650008", "Caio", "oi").await;
    let id = h.conversation_of("5511987650008").await["id"]
        .as_i64()
        .unwrap();
    let body =
        json!({"content": {"type": "text", "body": "uma vez só"}, "idempotency_key": "pedido-42"});
    let (s1, m1) = h
        .api_post(
            &format!("/api/v1/conversations/{id}/messages"),
            body.clone(),
        )
        .await;
    let (s2, m2) = h
        .api_post(&format!("/api/v1/conversations/{id}/messages"), body)
        .await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(m1["id"], m2["id"]);
    eventually(10, "sent", || async {
        let (_, m) = h.api_get(&format!("/api/v1/messages/{}", m1["id"])).await;
        matches!(m["status"].as_str(), Some("sent" | "delivered" | "read")).then_some(())
    })
    .await;
    let out = h
        .phone_chat("5511987650008")
        .await
        .into_iter()
        .filter(|m| m["direction"] == "out")
        .count();
    assert_eq!(out, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_content_is_refused_before_it_is_queued() {
    let h = Harness::start().await;
    h.phone_says("5511987650009", "Dani", "oi").await;
    let id = h.conversation_of("5511987650009").await["id"]
        .as_i64()
        .unwrap();
    let (status, err) = reply(&h, id, json!({"type": "buttons", "body": "x", "buttons": [
        {"id": "1", "title": "a"}, {"id": "2", "title": "b"}, {"id": "3", "title": "c"}, {"id": "4", "title": "d"}]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "invalid_content");
    let (status, _) = h
        .api_post(
            &format!("/api/v1/conversations/{id}/messages"),
            json!({"content": {"type": "sticker"}}),
        )
        .await;
    assert!(status.is_client_error());
    assert_eq!(h.messages_of(id).await.len(), 1, "nothing queued");
    let _ = OutboundContent::Text {
        body: String::new(),
        preview_url: false,
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_requires_a_token_and_documents_itself() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(h.url("/api/v1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h
        .http
        .get(h.url("/api/v1/conversations"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let spec: Value = h
        .http
        .get(h.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/v1/conversations"]["get"].is_object());
    assert!(spec["paths"]["/api/v1/conversations/{id}/messages"]["get"].is_object());
    let docs = h
        .http
        .get(h.url("/api/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("openapi.json"));
    let health: Value = h
        .http
        .get(h.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

fn status_webhook(wamid: &str, status: &str, extra: Value) -> Vec<u8> {
    let mut s = json!({"id": wamid, "status": status, "timestamp": now_secs(), "recipient_id": "5511987650010"});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    serde_json::to_vec(&envelope(
        balcao::demo::DEMO_PHONE_NUMBER_ID,
        json!({"statuses": [s]}),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_statuses_keep_delivery_monotonic_and_failed_terminal() {
    let h = Harness::start().await;
    h.phone_says("5511987650010", "Edu", "oi").await;
    let id = h.conversation_of("5511987650010").await["id"]
        .as_i64()
        .unwrap();
    let mut wamids = Vec::new();
    for text in ["primeira", "segunda"] {
        let (_, m) = reply(&h, id, json!({"type": "text", "body": text})).await;
        let mid = m["id"].as_i64().unwrap();
        let wamid = eventually(10, "accepted", || async {
            let (_, m) = h.api_get(&format!("/api/v1/messages/{mid}")).await;
            m["wamid"].as_str().map(str::to_string)
        })
        .await;
        wamids.push((mid, wamid));
    }
    let (first, first_wamid) = &wamids[0];
    for status in ["read", "delivered", "sent"] {
        assert_eq!(
            h.post_webhook(&status_webhook(first_wamid, status, json!({})), None)
                .await,
            StatusCode::OK
        );
    }
    let failed = json!({"errors": [{"code": 131026, "title": "Message undeliverable"}]});
    assert_eq!(
        h.post_webhook(&status_webhook(first_wamid, "failed", failed.clone()), None)
            .await,
        StatusCode::OK
    );
    let (_, m) = h.api_get(&format!("/api/v1/messages/{first}")).await;
    assert_eq!(m["status"], "read", "read is final: {m}");

    let (second, second_wamid) = &wamids[1];
    assert_eq!(
        h.post_webhook(&status_webhook(second_wamid, "failed", failed), None)
            .await,
        StatusCode::OK
    );
    for status in ["delivered", "read"] {
        assert_eq!(
            h.post_webhook(&status_webhook(second_wamid, status, json!({})), None)
                .await,
            StatusCode::OK
        );
    }
    let (_, m) = h.api_get(&format!("/api/v1/messages/{second}")).await;
    assert_eq!(m["status"], "failed", "failed is terminal: {m}");
    assert_eq!(m["error"]["code"], 131026);
}
