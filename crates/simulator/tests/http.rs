//! The simulator over real HTTP, both ways: the Graph API as a client sees it, and the webhooks as
//! the app receives them.

mod harness;

use harness::*;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn text(to: &str, body: &str) -> Value {
    json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,"type":"text","text":{"body":body}})
}

fn assert_envelope(response: &Value, code: i64) {
    let error = &response["error"];
    assert_eq!(error["code"], code, "{response}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{response}"
    );
    assert!(error["type"].is_string(), "{response}");
    assert!(
        error["fbtrace_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{response}"
    );
}

fn assert_graph_error(response: &Value, code: i64) {
    assert_envelope(response, code);
    assert_eq!(response["error"]["type"], "OAuthException");
    assert_eq!(
        response["error"]["error_data"]["messaging_product"], "whatsapp",
        "{response}"
    );
    assert!(
        response["error"]["error_data"]["details"].is_string(),
        "{response}"
    );
}

fn template(name: &str, components: Value) -> Value {
    json!({"messaging_product":"whatsapp","to":"5511987650001","type":"template",
        "template":{"name":name,"language":{"code":"pt_BR"},"components":components}})
}

fn boleto_components() -> Value {
    json!([
        {"type":"header","parameters":[{"type":"document","document":{"link":"https://boletos.example/b123.pdf","filename":"boleto.pdf"}}]},
        {"type":"body","parameters":[{"type":"text","text":"João"},{"type":"text","text":"R$ 120,00"}]},
        {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"PAGO_123"}]},
        {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"abc123"}]}
    ])
}

// ------------------------------------------------------------------------------------ auth

#[tokio::test]
async fn bad_or_missing_token_is_401_code_190() {
    let h = Harness::start().await;
    let (status, response) = h
        .graph(
            &format!("{PNID}/messages"),
            None,
            &text("5511987650001", "oi"),
        )
        .await;
    assert_eq!(status, 401);
    assert_envelope(&response, 190);
    let (status, response) = h
        .graph(
            &format!("{PNID}/messages"),
            Some("outro"),
            &text("5511987650001", "oi"),
        )
        .await;
    assert_eq!(status, 401);
    assert_envelope(&response, 190);
    assert_eq!(h.sim.stats().rejections.get(&190), Some(&2));
}

#[tokio::test]
async fn unknown_phone_number_id_is_code_100() {
    let h = Harness::start().await;
    let (status, response) = h
        .graph("999/messages", Some(TOKEN), &text("5511987650001", "oi"))
        .await;
    assert_eq!(status, 400);
    assert_envelope(&response, 100);
    assert_eq!(response["error"]["error_subcode"], 33);
}

// ------------------------------------------------------------------------------------ validation

#[tokio::test]
async fn send_validation_errors_have_the_graph_envelope() {
    let h = Harness::start().await;
    let long = "a".repeat(4097);
    let cases: Vec<(Value, i64)> = vec![
        (
            json!({"to":"5511987650001","type":"text","text":{"body":"oi"}}),
            100,
        ),
        (
            json!({"messaging_product":"telegram","to":"5511987650001","type":"text","text":{"body":"oi"}}),
            100,
        ),
        (
            json!({"messaging_product":"whatsapp","type":"text","text":{"body":"oi"}}),
            100,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"carta","carta":{}}),
            100,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"text","text":{"body":long}}),
            100,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"abc","type":"text","text":{"body":"oi"}}),
            131009,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{"type":"button",
                "body":{"text":"Escolha"},"action":{"buttons":[
                    {"type":"reply","reply":{"id":"1","title":"Um"}},{"type":"reply","reply":{"id":"2","title":"Dois"}},
                    {"type":"reply","reply":{"id":"3","title":"Três"}},{"type":"reply","reply":{"id":"4","title":"Quatro"}}]}}}),
            131009,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{"type":"button",
                "body":{"text":"Escolha"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"Segunda via do boleto"}}]}}}),
            131009,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{"type":"button",
                "body":{"text":"Escolha"},"action":{"buttons":[
                    {"type":"reply","reply":{"id":"1","title":"Boleto"}},{"type":"reply","reply":{"id":"2","title":"Boleto"}}]}}}),
            131009,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{"type":"list",
                "body":{"text":"Menu"},"action":{"button":"Ver opções","sections":[{"title":"Tudo","rows":
                    (0..11).map(|i| json!({"id":format!("r{i}"),"title":format!("Opção {i}")})).collect::<Vec<_>>()}]}}}),
            131009,
        ),
    ];
    for (body, code) in cases {
        let (status, response) = h.send(body.clone()).await;
        assert_eq!(status, 400, "{body} → {response}");
        assert_graph_error(&response, code);
    }
    let stats = h.sim.stats();
    assert_eq!(stats.rejections.get(&100), Some(&5));
    assert_eq!(stats.rejections.get(&131009), Some(&5));
    assert_eq!(stats.accepted, 0);
}

#[tokio::test]
async fn malformed_json_is_rejected() {
    let h = Harness::start().await;
    let response = h
        .http
        .post(format!("{}/graph/v23.0/{PNID}/messages", h.sim_url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_graph_error(&response.json().await.unwrap(), 100);
}

// ------------------------------------------------------------------------------------ window

#[tokio::test]
async fn free_form_outside_the_window_is_accepted_then_fails_with_131047() {
    let h = Harness::start().await;
    let wamid = h.send_text("5511987650001", "Olá, tudo bem?").await;
    assert!(wamid.starts_with("wamid."));
    let statuses = h.wait_statuses(&wamid, 1).await;
    assert_eq!(statuses[0]["status"], "failed");
    assert_eq!(statuses[0]["recipient_id"], "5511987650001");
    assert_eq!(statuses[0]["errors"][0]["code"], 131047);
    assert!(statuses[0]["errors"][0]["error_data"]["details"].is_string());
    assert!(statuses[0].get("pricing").is_none());

    let chat = h.chat("5511987650001").await;
    let message = &chat["messages"][0];
    assert_eq!(message["status"], "failed");
    assert_eq!(message["error_code"], 131047);
    assert_eq!(message["shown"], false);
    assert_eq!(h.sim.stats().failed_statuses.get(&131047), Some(&1));

    // A template is always allowed, and is charged when no window is open.
    let template_id = h.send_ok(template("promo", json!([]))).await;
    let statuses = h.wait_statuses(&template_id, 2).await;
    assert_eq!(statuses[0]["status"], "sent");
    assert_eq!(statuses[1]["status"], "delivered");
    for status in &statuses {
        assert_eq!(
            status["pricing"],
            json!({"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"})
        );
    }
}

#[tokio::test]
async fn inbound_opens_the_window_for_24_hours() {
    let h = Harness::start().await;
    h.sim.set_clock_frozen(true);
    h.inbound(json!({"from":"5511987650001","name":"Maria","text":"oi"}))
        .await;
    let inside = h.send_text("5511987650001", "Olá Maria!").await;
    let statuses = h.wait_statuses(&inside, 2).await;
    assert_eq!(
        statuses
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["sent", "delivered"]
    );
    assert_eq!(
        statuses[0]["pricing"],
        json!({"billable":false,"pricing_model":"PMP","type":"free_customer_service","category":"service"})
    );
    // A utility template inside the window is free too.
    let utility = h
        .send_ok(template(
            "boas_vindas",
            json!([
        {"type":"header","parameters":[{"type":"text","text":"Maria"}]},
        {"type":"body","parameters":[{"type":"text","text":"Provedor"}]}]),
        ))
        .await;
    let statuses = h.wait_statuses(&utility, 2).await;
    assert_eq!(statuses[0]["pricing"]["category"], "utility");
    assert_eq!(statuses[0]["pricing"]["type"], "free_customer_service");
    assert_eq!(statuses[0]["pricing"]["billable"], false);

    h.sim.advance_clock(Duration::from_secs(24 * 3600));
    let late = h.send_text("5511987650001", "Ainda está aí?").await;
    let statuses = h.wait_statuses(&late, 1).await;
    assert_eq!(statuses[0]["errors"][0]["code"], 131047);
    let chat = h.chat("5511987650001").await;
    let shown: Vec<bool> = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["shown"].as_bool().unwrap())
        .collect();
    assert_eq!(shown, [true, true, true, false]);
}

#[tokio::test]
async fn strict_recipients_fail_unknown_numbers_with_131026() {
    let h = Harness::with(Options {
        behaviour: balcao_simulator::Behaviour {
            strict_recipients: true,
            ..test_behaviour()
        },
        ..Options::default()
    })
    .await;
    let wamid = h.send_ok(template("promo", json!([]))).await;
    let statuses = h.wait_statuses(&wamid, 1).await;
    assert_eq!(statuses[0]["status"], "failed");
    assert_eq!(statuses[0]["errors"][0]["code"], 131026);
    let (status, _) = h.api_get("chats/5511987650001").await;
    assert_eq!(status, 404, "no phone was created");
}

// ------------------------------------------------------------------------------------ templates

#[tokio::test]
async fn templates_are_rendered_on_the_phone() {
    let h = Harness::start().await;
    let wamid = h
        .send_ok(template("boleto_vencimento", boleto_components()))
        .await;
    h.wait_statuses(&wamid, 2).await;
    let chat = h.chat("5511987650001").await;
    let message = &chat["messages"][0];
    assert_eq!(message["direction"], "out");
    assert_eq!(message["type"], "template");
    assert_eq!(
        message["text"],
        "Olá João, sua fatura de R$ 120,00 vence amanhã."
    );
    assert_eq!(message["footer"], "Provedor Teste");
    assert_eq!(message["buttons"], json!(["Já paguei"]));
    assert_eq!(
        message["reply_options"][0],
        json!({"kind":"template_button","id":"PAGO_123","title":"Já paguei"})
    );
    assert_eq!(
        message["links"][0],
        json!({"text":"Ver fatura","url":"https://provedor.example/f/abc123"})
    );
    assert_eq!(
        message["document"],
        json!({"link":"https://boletos.example/b123.pdf","filename":"boleto.pdf"})
    );
    assert_eq!(message["status"], "delivered");
    assert_eq!(message["shown"], true);

    let header = h
        .send_ok(template(
            "boas_vindas",
            json!([
        {"type":"header","parameters":[{"type":"text","text":"Maria"}]},
        {"type":"body","parameters":[{"type":"text","text":"Provedor"}]}]),
        ))
        .await;
    let chat = h.chat("5511987650001").await;
    let message = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == header)
        .unwrap()
        .clone();
    assert_eq!(message["text"], "Olá Maria\nBem-vindo ao Provedor!");
}

#[tokio::test]
async fn template_registry_and_parameter_errors() {
    let h = Harness::start().await;
    let mut wrong_language = template("promo", json!([]));
    wrong_language["template"]["language"]["code"] = json!("en_US");
    let one_body_parameter = {
        let mut components = boleto_components();
        components[1]["parameters"].as_array_mut().unwrap().pop();
        components
    };
    let no_header = {
        let mut components = boleto_components();
        components.as_array_mut().unwrap().remove(0);
        components
    };
    let no_url_parameter = {
        let mut components = boleto_components();
        components.as_array_mut().unwrap().remove(3);
        components
    };
    let cases = [
        (template("nao_existe", json!([])), 132001),
        (wrong_language, 132001),
        (template("pendente", json!([])), 132001),
        (template("pausado", json!([])), 132015),
        (template("boleto_vencimento", one_body_parameter), 132000),
        (template("boleto_vencimento", no_header), 132000),
        (template("boleto_vencimento", no_url_parameter), 132000),
        (template("codigo", json!([])), 132000),
        (
            template(
                "promo",
                json!([{"type":"body","parameters":[{"type":"text","text":"a mais"}]}]),
            ),
            132000,
        ),
    ];
    for (body, code) in cases {
        let (status, response) = h.send(body.clone()).await;
        assert_eq!(status, 400, "{body} → {response}");
        assert_graph_error(&response, code);
    }
}

#[tokio::test]
async fn authentication_templates_are_always_charged() {
    let h = Harness::start().await;
    h.inbound(json!({"from":"5511987650001","text":"quero o código"}))
        .await;
    let wamid = h
        .send_ok(template(
            "codigo",
            json!([{"type":"body","parameters":[{"type":"text","text":"123456"}]}]),
        ))
        .await;
    let statuses = h.wait_statuses(&wamid, 2).await;
    assert_eq!(statuses[1]["pricing"]["category"], "authentication");
    assert_eq!(statuses[1]["pricing"]["billable"], true);
}

// ------------------------------------------------------------------------------------ wa_id

#[tokio::test]
async fn ninth_digit_reaches_the_registered_account() {
    let h = Harness::start().await;
    let registered = h.sim.add_phone("551187650002", "Seu Jorge");
    assert_eq!(registered, "551187650002");
    h.inbound(json!({"from":"5511987650002","text":"oi"})).await;
    let inbound = h.received().last().unwrap().json.clone();
    assert_eq!(values(&inbound, "messages")[0]["from"], "551187650002");
    assert_eq!(values(&inbound, "contacts")[0]["wa_id"], "551187650002");
    assert_eq!(
        values(&inbound, "contacts")[0]["profile"]["name"],
        "Seu Jorge"
    );

    let (status, response) = h.send(text("+55 11 98765-0002", "Olá!")).await;
    assert_eq!(status, 200);
    assert_eq!(response["messaging_product"], "whatsapp");
    assert_eq!(
        response["contacts"],
        json!([{"input":"+55 11 98765-0002","wa_id":"551187650002"}])
    );
    let wamid = response["messages"][0]["id"].as_str().unwrap();
    let statuses = h.wait_statuses(wamid, 2).await;
    assert_eq!(statuses[0]["recipient_id"], "551187650002");

    let by_new_form = h.chat("5511987650002").await;
    let by_old_form = h.chat("551187650002").await;
    assert_eq!(by_new_form, by_old_form);
    assert_eq!(by_new_form["wa_id"], "551187650002");
    assert_eq!(by_new_form["messages"].as_array().unwrap().len(), 2);
}

// ------------------------------------------------------------------------------------ limits

#[tokio::test]
async fn throughput_above_the_number_limit_is_130429() {
    let h = Harness::with(Options {
        throughput_mps: 2,
        ..Options::default()
    })
    .await;
    h.sim.set_clock_frozen(true);
    let promo = |to: &str| {
        let mut body = template("promo", json!([]));
        body["to"] = json!(to);
        body
    };
    h.send_ok(promo("5511987650001")).await;
    h.send_ok(promo("5511987650002")).await;
    let (status, response) = h.send(promo("5511987650003")).await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 130429);
    // The other number has its own budget.
    let (status, _) = h
        .graph(
            "100000000000002/messages",
            Some(TOKEN),
            &promo("5511987650003"),
        )
        .await;
    assert_eq!(status, 200);
    h.sim.advance_clock(Duration::from_millis(500));
    h.send_ok(promo("5511987650003")).await;
    let (status, _) = h.send(promo("5511987650004")).await;
    assert_eq!(status, 400);
    let stats = h.sim.stats();
    assert_eq!(stats.rejected(130429), 2);
    assert_eq!(stats.rejected(131056), 0);
    assert_eq!(stats.per_number[PNID].accepted, 3);
    let (first, last) = stats.accepted_window(PNID).unwrap();
    assert_eq!(
        last - first,
        500,
        "frozen clock: the last send came 500 ms after the first"
    );
}

#[tokio::test]
async fn pair_rate_limit_is_131056() {
    let h = Harness::start().await;
    h.sim.set_clock_frozen(true);
    for _ in 0..45 {
        h.send_ok(template("promo", json!([]))).await;
    }
    let (status, response) = h.send(template("promo", json!([]))).await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 131056);
    // Another user is unaffected.
    let mut other = template("promo", json!([]));
    other["to"] = json!("5511987650009");
    h.send_ok(other).await;
    h.sim.advance_clock(Duration::from_secs(6));
    h.send_ok(template("promo", json!([]))).await;
    let (status, _) = h.send(template("promo", json!([]))).await;
    assert_eq!(status, 400);
}

// ------------------------------------------------------------------------------------ webhooks

#[tokio::test]
async fn inbound_webhook_is_signed_over_escaped_bytes() {
    let h = Harness::start().await;
    let wamid = h
        .inbound(json!({"from":"5511987650001","name":"João 👍","text":"Olá, ação ✓ https://x.example/a"}))
        .await;
    let received = h.received();
    assert_eq!(received.len(), 1);
    let raw = &received[0].body;
    let raw_text = std::str::from_utf8(raw).unwrap();
    assert!(
        raw.is_ascii(),
        "every non-ASCII char is escaped: {raw_text}"
    );
    assert!(
        raw_text.contains(r#""Jo\u00e3o \ud83d\udc4d""#),
        "{raw_text}"
    );
    assert!(raw_text.contains(r#"https:\/\/x.example\/a"#), "{raw_text}");
    assert_eq!(
        received[0].signature,
        format!("sha256={}", hmac_hex(SECRET, raw))
    );
    // Re-serialising the parsed JSON gives other bytes, whose HMAC does not match: the trap.
    let reserialised = serde_json::to_vec(&received[0].json).unwrap();
    assert_ne!(&reserialised, raw);
    assert_ne!(
        received[0].signature,
        format!("sha256={}", hmac_hex(SECRET, &reserialised))
    );

    let envelope = &received[0].json;
    assert_eq!(envelope["object"], "whatsapp_business_account");
    assert_eq!(envelope["entry"][0]["id"], WABA);
    let change = &envelope["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["messaging_product"], "whatsapp");
    assert_eq!(
        change["value"]["metadata"],
        json!({"display_phone_number":DISPLAY,"phone_number_id":PNID})
    );
    assert_eq!(
        change["value"]["contacts"][0],
        json!({"profile":{"name":"João 👍"},"wa_id":"5511987650001"})
    );
    let message = &change["value"]["messages"][0];
    assert_eq!(message["id"], wamid);
    assert_eq!(message["from"], "5511987650001");
    assert_eq!(message["type"], "text");
    assert_eq!(message["text"]["body"], "Olá, ação ✓ https://x.example/a");
    let timestamp = message["timestamp"]
        .as_str()
        .expect("timestamp is a string");
    assert!(timestamp.parse::<i64>().unwrap() > 1_700_000_000);
}

#[tokio::test]
async fn inbound_to_a_failing_app_answers_502_with_the_app_status() {
    let h = Harness::start().await;
    h.app.fail_next.store(1, Ordering::SeqCst);
    let (status, response) = h
        .api_post("messages", &json!({"from":"5511987650001","text":"oi"}))
        .await;
    assert_eq!(status, 502);
    assert_eq!(response["app_status"], 500);
    assert_eq!(response["app_body"], "banco indisponível");
    let chat = h.chat("5511987650001").await;
    assert_eq!(chat["messages"][0]["status"], "failed");
    assert_eq!(h.sim.stats().inbound_failed, 1);
}

#[tokio::test]
async fn duplicate_delivery_sends_identical_bytes_twice() {
    let h = Harness::start().await;
    let wamid = h
        .inbound(json!({"from":"5511987650001","text":"oi","duplicate":true}))
        .await;
    let received = h.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(values(&received[0].json, "messages")[0]["id"], wamid);

    let mut behaviour = h.sim.behaviour();
    behaviour.duplicate_webhooks = true;
    behaviour.status_batch_max = 1;
    h.sim.set_behaviour(behaviour);
    let reply = h.send_text("5511987650001", "Olá!").await;
    h.wait_statuses(&reply, 4).await;
    assert_eq!(
        h.status_names_of(&reply),
        ["sent", "sent", "delivered", "delivered"]
    );
    let second = h
        .inbound(json!({"from":"5511987650001","text":"de novo"}))
        .await;
    let copies = h
        .received()
        .iter()
        .filter(|r| {
            values(&r.json, "messages")
                .first()
                .is_some_and(|m| m["id"] == second)
        })
        .count();
    assert_eq!(copies, 2);
}

#[tokio::test]
async fn out_of_order_statuses_put_read_before_delivered() {
    let h = Harness::with(Options {
        behaviour: balcao_simulator::Behaviour {
            out_of_order_statuses: true,
            auto_read: true,
            status_batch_max: 1,
            ..test_behaviour()
        },
        ..Options::default()
    })
    .await;
    h.inbound(json!({"from":"5511987650001","text":"oi"})).await;
    let wamid = h.send_text("5511987650001", "Olá!").await;
    h.wait_statuses(&wamid, 3).await;
    assert_eq!(h.status_names_of(&wamid), ["read", "delivered", "sent"]);
    assert_eq!(
        h.chat("5511987650001").await["messages"][1]["status"],
        "read"
    );
}

#[tokio::test]
async fn statuses_are_batched_into_one_envelope() {
    let h = Harness::with(Options {
        spawn_workers: false,
        ..Options::default()
    })
    .await;
    let first = h.send_ok(template("promo", json!([]))).await;
    let mut to_other_number = template("promo", json!([]));
    to_other_number["to"] = json!("5521987650003");
    let (status, response) = h
        .graph("100000000000002/messages", Some(TOKEN), &to_other_number)
        .await;
    assert_eq!(status, 200);
    let second = response["messages"][0]["id"].as_str().unwrap().to_string();
    h.sim.spawn_workers();
    h.wait_statuses(&second, 2).await;
    let received = h.received();
    assert_eq!(received.len(), 1, "all four statuses travel together");
    let envelope = &received[0].json;
    assert_eq!(
        envelope["entry"].as_array().unwrap().len(),
        2,
        "one entry per WABA"
    );
    assert_eq!(
        envelope["entry"][1]["changes"][0]["value"]["metadata"]["phone_number_id"],
        "100000000000002"
    );
    assert_eq!(h.status_names_of(&first), ["sent", "delivered"]);
    assert_eq!(values(envelope, "statuses").len(), 4);
}

#[tokio::test]
async fn failed_status_deliveries_are_retried() {
    let h = Harness::start().await;
    h.app.fail_next.store(2, Ordering::SeqCst);
    let wamid = h.send_ok(template("promo", json!([]))).await;
    h.wait_statuses(&wamid, 2).await;
    wait_until(|| h.sim.stats().statuses_pending == 0).await;
    let stats = h.sim.stats();
    assert_eq!(stats.webhooks_failed, 2);
    assert_eq!(stats.webhook_retries, 2);
    assert_eq!(stats.webhooks_abandoned, 0);
    assert_eq!(h.app.attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn status_deliveries_give_up_after_the_last_attempt() {
    let h = Harness::start().await;
    h.app.fail_next.store(100, Ordering::SeqCst);
    h.send_ok(template("promo", json!([]))).await;
    wait_until(|| h.sim.stats().webhooks_abandoned == 1).await;
    let stats = h.sim.stats();
    assert_eq!(
        stats.webhooks_failed, 4,
        "retry_max_attempts counts the first attempt"
    );
    assert_eq!(stats.statuses_pending, 0);
    assert!(h.received().is_empty());
}

#[tokio::test]
async fn biz_opaque_callback_data_is_echoed_in_every_status() {
    let h = Harness::start().await;
    h.inbound(json!({"from":"5511987650001","text":"oi"})).await;
    let mut body = text("5511987650001", "Olá!");
    body["biz_opaque_callback_data"] = json!("outbox-42");
    let wamid = h.send_ok(body).await;
    h.wait_statuses(&wamid, 2).await;
    assert_eq!(h.sim.mark_chat_read("5511987650001"), 1);
    let statuses = h.wait_statuses(&wamid, 3).await;
    assert!(
        statuses
            .iter()
            .all(|s| s["biz_opaque_callback_data"] == "outbox-42"),
        "{statuses:?}"
    );
    assert_eq!(statuses[2]["status"], "read");
    assert!(statuses[2].get("pricing").is_none());
}

#[tokio::test]
async fn click_to_whatsapp_referral_opens_a_free_entry_point() {
    let h = Harness::start().await;
    h.sim.set_clock_frozen(true);
    let referral = json!({"source_url":"https://fb.me/abc","source_id":"120","source_type":"ad","body":"Internet 500 Mega",
        "headline":"Assine já","media_type":"image","image_url":"https://x.example/i.png","ctwa_clid":"ARAkLk",
        "welcome_message":{"text":"Olá!"}});
    h.inbound(json!({"from":"5511987650001","text":"Quero assinar","referral":referral}))
        .await;
    let inbound = h.received().last().unwrap().json.clone();
    assert_eq!(values(&inbound, "messages")[0]["referral"], referral);

    let reply = h.send_text("5511987650001", "Que bom!").await;
    let statuses = h.wait_statuses(&reply, 2).await;
    assert_eq!(
        statuses[0]["pricing"],
        json!({"billable":false,"pricing_model":"PMP","type":"free_entry_point","category":"referral_conversion"})
    );
    assert_eq!(
        statuses[0]["conversation"]["origin"]["type"],
        "referral_conversion"
    );

    // Two days later the window is closed but the entry point still makes templates free.
    h.sim.advance_clock(Duration::from_secs(48 * 3600));
    let later = h.send_ok(template("promo", json!([]))).await;
    let statuses = h.wait_statuses(&later, 2).await;
    assert_eq!(statuses[1]["pricing"]["category"], "referral_conversion");
    h.sim.advance_clock(Duration::from_secs(25 * 3600));
    let after = h.send_ok(template("promo", json!([]))).await;
    let statuses = h.wait_statuses(&after, 2).await;
    assert_eq!(statuses[1]["pricing"]["category"], "marketing");
    assert!(statuses[1].get("conversation").is_none());
}

#[tokio::test]
async fn webhook_verification_handshake() {
    let h = Harness::start().await;
    assert_eq!(h.sim.verify_webhook(VERIFY_TOKEN).await, Ok(()));
    assert!(matches!(
        h.sim.verify_webhook("errado").await,
        Err(balcao_simulator::SimError::AppRejected { status: 403, .. })
    ));
    let (status, response) = h
        .api_post("verify", &json!({"verify_token": VERIFY_TOKEN}))
        .await;
    assert_eq!((status, response), (200, json!({"ok": true})));
}

// ------------------------------------------------------------------------------------ replies

#[tokio::test]
async fn button_and_list_replies_carry_the_context() {
    let h = Harness::start().await;
    h.inbound(json!({"from":"5511987650001","name":"Ana","text":"oi"}))
        .await;
    let buttons = h
        .send_ok(json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{
            "type":"button","body":{"text":"Como posso ajudar?"},"action":{"buttons":[
                {"type":"reply","reply":{"id":"segunda_via","title":"Segunda via"}},
                {"type":"reply","reply":{"id":"suporte","title":"Suporte técnico"}}]}}}))
        .await;
    let list = h
        .send_ok(json!({"messaging_product":"whatsapp","to":"5511987650001","type":"interactive","interactive":{
            "type":"list","header":{"type":"text","text":"Menu"},"body":{"text":"Escolha um assunto"},"footer":{"text":"Provedor"},
            "action":{"button":"Ver opções","sections":[{"title":"Financeiro","rows":[
                {"id":"fatura","title":"Fatura","description":"Segunda via e Pix"},{"id":"planos","title":"Planos"}]}]}}}))
        .await;
    let chat = h.chat("5511987650001").await;
    let list_view = &chat["messages"][2];
    assert_eq!(list_view["text"], "Menu\nEscolha um assunto");
    assert_eq!(list_view["list"]["button"], "Ver opções");
    assert_eq!(
        list_view["list"]["sections"][0]["rows"][0],
        json!({"id":"fatura","title":"Fatura","description":"Segunda via e Pix"})
    );
    assert_eq!(
        chat["messages"][1]["buttons"],
        json!(["Segunda via", "Suporte técnico"])
    );
    assert_eq!(chat["messages"][1]["list"], Value::Null);

    h.inbound(
        json!({"from":"5511987650001","button_reply":{"id":"segunda_via","title":"Segunda via"}}),
    )
    .await;
    let message = values(&h.received().last().unwrap().json, "messages")[0].clone();
    assert_eq!(message["type"], "interactive");
    assert_eq!(
        message["interactive"],
        json!({"type":"button_reply","button_reply":{"id":"segunda_via","title":"Segunda via"}})
    );
    assert_eq!(message["context"], json!({"from": DISPLAY, "id": buttons}));

    h.inbound(json!({"from":"5511987650001","list_reply":{"id":"fatura","title":"Fatura"}}))
        .await;
    let message = values(&h.received().last().unwrap().json, "messages")[0].clone();
    assert_eq!(
        message["interactive"],
        json!({"type":"list_reply","list_reply":{"id":"fatura","title":"Fatura","description":"Segunda via e Pix"}})
    );
    assert_eq!(message["context"]["id"], list);
}

#[tokio::test]
async fn template_buttons_and_locations_from_the_phone() {
    let h = Harness::start().await;
    let boleto = h
        .send_ok(template("boleto_vencimento", boleto_components()))
        .await;
    h.inbound(
        json!({"from":"5511987650001","template_button":{"payload":"PAGO_123","text":"Já paguei"}}),
    )
    .await;
    let message = values(&h.received().last().unwrap().json, "messages")[0].clone();
    assert_eq!(message["type"], "button");
    assert_eq!(
        message["button"],
        json!({"payload":"PAGO_123","text":"Já paguei"})
    );
    assert_eq!(message["context"]["id"], boleto);

    h.inbound(json!({"from":"5511987650001","location":{"latitude":-23.55,"longitude":-46.63,"name":"Casa"}})).await;
    let message = values(&h.received().last().unwrap().json, "messages")[0].clone();
    assert_eq!(message["type"], "location");
    assert_eq!(
        message["location"],
        json!({"latitude":-23.55,"longitude":-46.63,"name":"Casa"})
    );

    let (status, response) = h
        .api_post(
            "messages",
            &json!({"from":"5511987650001","text":"a","location":{"latitude":1,"longitude":2}}),
        )
        .await;
    assert_eq!(status, 400, "{response}");
    assert!(response["error"].is_string());
}

// ------------------------------------------------------------------------------------ mark read

#[tokio::test]
async fn mark_as_read_shows_the_inbound_message_read() {
    let h = Harness::start().await;
    let wamid = h.inbound(json!({"from":"5511987650001","text":"oi"})).await;
    let (status, response) = h
        .send(json!({"messaging_product":"whatsapp","status":"read","message_id":wamid,"typing_indicator":{"type":"text"}}))
        .await;
    assert_eq!((status, response), (200, json!({"success": true})));
    let chat = h.chat("5511987650001").await;
    assert_eq!(chat["messages"][0]["direction"], "in");
    assert_eq!(chat["messages"][0]["status"], "read");
    let (status, response) = h
        .send(
            json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.nao-existe"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 100);
}

#[tokio::test]
async fn viewing_the_chat_sends_read_statuses() {
    let h = Harness::start().await;
    h.inbound(json!({"from":"5511987650001","text":"oi"})).await;
    let wamid = h.send_text("5511987650001", "Olá!").await;
    h.wait_statuses(&wamid, 2).await;
    let (status, response) = h.api_post("chats/5511987650001/read", &json!({})).await;
    assert_eq!((status, response), (200, json!({"marked": 1})));
    h.wait_statuses(&wamid, 3).await;
    assert_eq!(h.status_names_of(&wamid), ["sent", "delivered", "read"]);
    let (_, again) = h.api_post("chats/5511987650001/read", &json!({})).await;
    assert_eq!(again["marked"], 0);
}

// ------------------------------------------------------------------------------------ media

fn multipart(boundary: &str, product: &str, mime: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n{product}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{mime}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"boleto.pdf\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

async fn upload(h: &Harness, product: &str, mime: &str, data: &[u8]) -> (u16, Value) {
    let response = h
        .http
        .post(format!("{}/graph/v23.0/{PNID}/media", h.sim_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=xYzBoundary")
        .body(multipart("xYzBoundary", product, mime, data))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn media_upload_info_download_and_expiry() {
    use sha2::Digest;
    let h = Harness::start().await;
    h.sim.set_clock_frozen(true);
    let pdf = b"%PDF-1.4 fatura de teste \x00\xff".to_vec();
    let (status, response) = upload(&h, "whatsapp", "application/pdf", &pdf).await;
    assert_eq!(status, 200, "{response}");
    let media_id = response["id"].as_str().unwrap().to_string();
    assert!(media_id.bytes().all(|b| b.is_ascii_digit()));

    let info = h
        .http
        .get(format!("{}/graph/v23.0/{media_id}", h.sim_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status().as_u16(), 200);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["id"], media_id);
    assert_eq!(info["mime_type"], "application/pdf");
    assert_eq!(info["file_size"], pdf.len());
    assert_eq!(info["sha256"], hex::encode(sha2::Sha256::digest(&pdf)));
    let url = info["url"].as_str().unwrap().to_string();

    let unauthorised = h.http.get(&url).send().await.unwrap();
    assert_eq!(unauthorised.status().as_u16(), 401);
    let download = h.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert_eq!(download.bytes().await.unwrap().as_ref(), pdf.as_slice());

    h.sim.advance_clock(Duration::from_secs(5 * 60 + 1));
    let expired = h.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(expired.status().as_u16(), 404);

    // The id itself lives on: a new look-up gives a new, working URL.
    let info: Value = h
        .http
        .get(format!("{}/graph/v23.0/{media_id}", h.sim_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = h
        .http
        .get(info["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status().as_u16(), 200);

    let missing = h
        .http
        .get(format!("{}/graph/v23.0/123456", h.sim_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 400);
}

#[tokio::test]
async fn media_upload_errors() {
    let h = Harness::start().await;
    let (status, response) = upload(&h, "telegram", "application/pdf", b"%PDF").await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 100);
    let (status, response) = upload(&h, "whatsapp", "image/gif", b"GIF89a").await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 100);
    let (status, response) = upload(&h, "whatsapp", "application/pdf", b"").await;
    assert_eq!(status, 400);
    assert_graph_error(&response, 131053);
    let no_token = h
        .http
        .post(format!("{}/graph/v23.0/{PNID}/media", h.sim_url))
        .header("content-type", "multipart/form-data; boundary=b")
        .body(multipart("b", "whatsapp", "application/pdf", b"%PDF"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status().as_u16(), 401);
}

#[tokio::test]
async fn documents_by_id_and_by_link() {
    let h = Harness::start().await;
    h.inbound(json!({"from":"5511987650001","text":"manda o boleto"}))
        .await;
    let (_, uploaded) = upload(&h, "whatsapp", "application/pdf", b"%PDF-1.4 boleto").await;
    let media_id = uploaded["id"].as_str().unwrap();
    let by_id = h
        .send_ok(
            json!({"messaging_product":"whatsapp","to":"5511987650001","type":"document",
            "document":{"id":media_id,"filename":"boleto.pdf","caption":"Sua fatura"}}),
        )
        .await;
    assert_eq!(h.wait_statuses(&by_id, 2).await[1]["status"], "delivered");
    let chat = h.chat("5511987650001").await;
    let document = &chat["messages"][1]["document"];
    assert_eq!(document["filename"], "boleto.pdf");
    assert_eq!(chat["messages"][1]["text"], "Sua fatura");
    let on_phone = h
        .http
        .get(format!(
            "{}{}",
            h.sim_url,
            document["link"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(on_phone.bytes().await.unwrap().as_ref(), b"%PDF-1.4 boleto");

    let unknown = h
        .send_ok(json!({"messaging_product":"whatsapp","to":"5511987650001","type":"document","document":{"id":"42"}}))
        .await;
    assert_eq!(
        h.wait_statuses(&unknown, 1).await[0]["errors"][0]["code"],
        131053
    );

    let remote_http = h
        .send_ok(json!({"messaging_product":"whatsapp","to":"5511987650001","type":"image","image":{"link":"http://fotos.example/a.png"}}))
        .await;
    assert_eq!(
        h.wait_statuses(&remote_http, 1).await[0]["errors"][0]["code"],
        131052
    );
}

#[tokio::test]
async fn media_links_are_fetched_when_asked() {
    let h = Harness::with(Options {
        behaviour: balcao_simulator::Behaviour {
            fetch_media_links: true,
            ..test_behaviour()
        },
        ..Options::default()
    })
    .await;
    h.inbound(json!({"from":"5511987650001","text":"oi"})).await;
    let document = |path: &str| {
        json!({"messaging_product":"whatsapp","to":"5511987650001","type":"document",
            "document":{"link":format!("{}{path}", h.app_url),"filename":"boleto.pdf"}})
    };
    let good = h.send_ok(document("/files/boleto.pdf")).await;
    let bad = h.send_ok(document("/files/missing.pdf")).await;
    assert_eq!(h.wait_statuses(&good, 2).await[1]["status"], "delivered");
    let failed = h.wait_statuses(&bad, 1).await;
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["errors"][0]["code"], 131052);
}

// ------------------------------------------------------------------------------------ JSON API

#[tokio::test]
async fn simulator_json_api_shapes() {
    let h = Harness::start().await;
    let wamid = h
        .inbound(json!({"from":"5511987650001","name":"Maria","text":"oi"}))
        .await;
    h.send_text("5511987650001", "Olá Maria").await;

    let (status, chats) = h.api_get("chats").await;
    assert_eq!(status, 200);
    let chats = chats["chats"].as_array().unwrap();
    assert_eq!(chats[0]["wa_id"], "5511987650001");
    assert_eq!(chats[0]["name"], "Maria");
    assert_eq!(chats[0]["last_message"]["text"], "Olá Maria");
    assert!(
        chats
            .iter()
            .any(|c| c["wa_id"] == "5511987650099" && c["name"] == "Ana Demonstração"),
        "demo people are phones"
    );

    let chat = h.chat("5511987650001").await;
    let first = &chat["messages"][0];
    for key in [
        "id",
        "direction",
        "type",
        "text",
        "buttons",
        "list",
        "document",
        "image",
        "status",
        "error_code",
        "timestamp",
        "shown",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["id"], wamid);
    assert_eq!(first["direction"], "in");
    assert_eq!(first["status"], Value::Null);
    assert_eq!(chat["messages"][1]["direction"], "out");
    let (status, _) = h.api_get("chats/5599999999999").await;
    assert_eq!(status, 404);

    let (status, behaviour) = h
        .api_post(
            "behaviour",
            &json!({"auto_read": true, "status_batch_max": 3}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(behaviour["auto_read"], true);
    assert_eq!(behaviour["status_batch_max"], 3);
    assert_eq!(
        behaviour["retry_base_delay_ms"], 20,
        "untouched fields are kept"
    );
    assert!(h.sim.behaviour().auto_read);
    let (status, _) = h.api_post("behaviour", &json!({"nao_existe": 1})).await;
    assert_eq!(status, 400);

    let (status, stats) = h.api_get("stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["accepted"], 1);
    assert_eq!(stats["inbound_delivered"], 1);
    assert!(stats["per_number"][PNID]["first_accepted_ms"].is_i64());

    let (status, info) = h.api_get("info").await;
    assert_eq!(status, 200);
    assert_eq!(info["people"][0]["note"], "fatura vencida");
    assert_eq!(info["numbers"][0]["phone_number_id"], PNID);

    let (status, phone) = h
        .api_post(
            "phones",
            &json!({"wa_id":"552187650003","name":"Dona Ilda"}),
        )
        .await;
    assert_eq!((status, phone), (201, json!({"wa_id":"552187650003"})));

    let (status, clock) = h
        .api_post("clock", &json!({"frozen": true, "advance_seconds": 3600}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(clock["frozen"], true);
    assert_eq!(clock["now"], h.sim.now_secs());
}

#[tokio::test]
async fn phone_page_and_assets_are_served() {
    let h = Harness::start().await;
    let page = h
        .http
        .get(format!("{}/simulator", h.sim_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for id in [
        "phone-number",
        "phone-name",
        "open-chat",
        "message-input",
        "send-button",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
    assert!(html.contains("lang=\"pt-BR\""));
    let script = h
        .http
        .get(format!("{}/simulator/assets/phone.js", h.sim_url))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status().as_u16(), 200);
    let script = script.text().await.unwrap();
    assert!(script.contains("\"reply\"") && script.contains("/read"));
    let css = h
        .http
        .get(format!("{}/simulator/assets/phone.css", h.sim_url))
        .send()
        .await
        .unwrap();
    assert!(css.text().await.unwrap().contains(".msg.in"));
}

#[tokio::test]
async fn phone_number_lookup_returns_number_data() {
    let h = Harness::start().await;
    let response = h
        .http
        .get(format!("{}/graph/v23.0/{PNID}", h.sim_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let number: Value = response.json().await.unwrap();
    assert_eq!(number["display_phone_number"], DISPLAY);
    assert_eq!(number["id"], PNID);
    let bad_version = h
        .http
        .get(format!("{}/graph/latest/{PNID}", h.sim_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_version.status().as_u16(), 400);
}
