//! `kill -9` in the middle of load: every webhook acknowledged with 200 before the crash is stored,
//! and every outbound message accepted by the API is sent to WhatsApp exactly once after the
//! restart (in-flight sends are reconciled from the statuses that carry their idempotency key).

use balcao::bench::{TempDir, config_toml, free_addr, wait_healthy};
use balcao::demo;
use balcao_simulator::Simulator;
use serde_json::json;
use std::collections::HashSet;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn spawn_server(config_path: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_balcao"))
        .arg("serve")
        .arg("--config")
        .arg(config_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn balcao serve")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_nothing_and_sends_nothing_twice() {
    let dir = TempDir::new("balcao-crash");
    let app_addr = free_addr();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_addr = sim_listener.local_addr().unwrap();
    let mut setup = demo::demo_setup(app_addr, dir.0.join("data"), None, None, 200);
    setup.config.whatsapp.graph_base_url = format!("http://{sim_addr}/graph");
    // Short leases so the test does not wait long for reconciliation.
    setup.config.sender.lease_seconds = 1;
    setup.config.sender.resend_after_seconds = 4;
    let config_path = dir.0.join("balcao.toml");
    std::fs::write(&config_path, config_toml(&setup.config)).unwrap();

    // Meta-like answer times keep dozens of sends in flight, so the kill lands mid-send.
    setup.simulator.behaviour.send_latency_ms = 150;
    // Statuses (which reconcile a send) come late, so many sends are still `sending` at the kill.
    setup.simulator.behaviour.status_delay_ms = 400;
    let sim = Simulator::new(setup.simulator.clone());
    sim.spawn_workers();
    let router = sim.router();
    tokio::spawn(async move {
        let _ = axum::serve(sim_listener, router).await;
    });

    let mut child = spawn_server(&config_path);
    wait_healthy(app_addr).await.unwrap();
    let http = balcao::app::http_client();
    let secret = setup.config.whatsapp.app_secret.clone();
    let token = setup.api_token.clone();

    // Subscribers write first, so the window is open for the replies below.
    let subscribers: Vec<String> = (0..20)
        .map(|i| format!("55119{:08}", 81_000_000 + i))
        .collect();
    for s in &subscribers {
        let r = http
            .post(format!("http://{sim_addr}/simulator/api/messages"))
            .json(&json!({"from": s, "name": "Assinante", "text": "oi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    }

    let acked_webhooks = Arc::new(Mutex::new(Vec::<String>::new()));
    let accepted_sends = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_at = Instant::now() + Duration::from_millis(2500);

    let webhook_load = {
        let (http, acked, secret) = (http.clone(), acked_webhooks.clone(), secret.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < stop_at {
                let wamid = format!("wamid.crash.{i}");
                let from = format!("55119{:08}", 82_000_000 + (i % 50));
                let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": demo::DEMO_WABA_ID, "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": demo::DEMO_DISPLAY_NUMBER, "phone_number_id": demo::DEMO_PHONE_NUMBER_ID},
                    "contacts": [{"profile": {"name": "Carga"}, "wa_id": from}],
                    "messages": [{"from": from, "id": wamid, "timestamp": "1763700000", "type": "text", "text": {"body": "carga"}}]}}]}]}))
                .unwrap();
                let sig = balcao_whatsapp::signature::sign(secret.as_bytes(), &body);
                let res = http
                    .post(format!("http://{app_addr}/webhooks/whatsapp"))
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await;
                if matches!(res, Ok(r) if r.status() == 200) {
                    acked.lock().unwrap().push(wamid);
                }
                i += 1;
            }
        })
    };
    let send_load = {
        let (http, accepted, token, subscribers) = (
            http.clone(),
            accepted_sends.clone(),
            token.clone(),
            subscribers.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < stop_at {
                let key = format!("crash-send-{i}");
                let to = &subscribers[(i % subscribers.len() as u64) as usize];
                let res = http
                    .post(format!("http://{app_addr}/api/v1/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"to": to, "content": {"type": "text", "body": format!("resposta {i}")}, "idempotency_key": key}))
                    .send()
                    .await;
                if matches!(res, Ok(r) if r.status() == 202) {
                    accepted.lock().unwrap().push(key);
                }
                i += 1;
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(1200)).await;
    child.kill().expect("kill -9"); // SIGKILL: no chance to flush anything
    let _ = child.wait();
    // What the crash left behind: messages handed to the Graph API with no answer recorded.
    let in_flight = {
        let store = balcao::app::open_store(None, &setup.config.data_dir)
            .await
            .unwrap();
        let ws = store.workspace_by_slug("demo").await.unwrap().unwrap().id;
        let counts = store.outbound_counts(ws).await.unwrap();
        counts
            .iter()
            .filter(|(s, _)| *s == balcao_domain::status::DeliveryStatus::Sending)
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    assert!(
        in_flight > 0,
        "no send was in flight when the server was killed: the test proves nothing"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut child = spawn_server(&config_path);
    wait_healthy(app_addr).await.unwrap();
    webhook_load.await.unwrap();
    send_load.await.unwrap();

    let acked: Vec<String> = acked_webhooks.lock().unwrap().clone();
    let accepted: Vec<String> = accepted_sends.lock().unwrap().clone();
    assert!(
        acked.len() > 50 && accepted.len() > 50,
        "load ran: {} webhooks, {} sends",
        acked.len(),
        accepted.len()
    );

    // Every accepted send reaches WhatsApp exactly once (allowing reconciliation time).
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let counts = sim.sends_by_callback_data();
        let done = accepted
            .iter()
            .all(|k| counts.get(k).copied().unwrap_or(0) >= 1);
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a duplicate the chance to show up before judging.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let counts = sim.sends_by_callback_data();
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|k| !counts.contains_key(*k))
        .collect();
    let twice: Vec<(&String, &u32)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(missing.is_empty(), "accepted but never sent: {missing:?}");
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    let _ = child.kill();
    let _ = child.wait();
    let store = balcao::app::open_store(None, &setup.config.data_dir)
        .await
        .unwrap();
    let ws = store.workspace_by_slug("demo").await.unwrap().unwrap().id;
    let mut lost = Vec::new();
    for wamid in &acked {
        if store.message_by_wamid(ws, wamid).await.unwrap().is_none() {
            lost.push(wamid.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged with 200 but not stored: {lost:?}"
    );
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len());

    eprintln!(
        "in flight at the kill: {in_flight}; {} webhooks acked, {} sends accepted",
        acked.len(),
        accepted.len()
    );
}
