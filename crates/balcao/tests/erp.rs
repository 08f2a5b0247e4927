//! The management systems end to end: the operator CLI against every fake over HTTP, the admin
//! API (credentials sealed at rest, test connection, lookup), and payment sync exactly once.

mod common;

use balcao_engine::payments::{PaymentPoller, PaymentSyncConfig};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SYSTEMS: [&str; 6] = ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"];

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lookup(
    system: &str,
    base_url: &str,
    auth: &str,
    flag: &str,
    value: &str,
) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_balcao"))
        .args([
            "erp",
            "lookup",
            "--system",
            system,
            "--base-url",
            base_url,
            "--auth",
            auth,
            flag,
            value,
        ])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn erp_lookup_works_against_every_fake_erp() {
    for system in SYSTEMS {
        let dir = balcao::bench::TempDir::new("balcao-fake-erp");
        let dump = dir.0.join("dump.json");
        let addr = balcao::bench::free_addr();
        let _child = Child(
            Command::new(env!("CARGO_BIN_EXE_balcao"))
                .args([
                    "fake-erp",
                    "--system",
                    system,
                    "--listen",
                    &addr.to_string(),
                    "--subscribers",
                    "40",
                    "--seed",
                    "3",
                ])
                .arg("--dump")
                .arg(&dump)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let data: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&dump)
                && let Ok(v) = serde_json::from_str(&text)
            {
                break v;
            }
            assert!(Instant::now() < deadline, "{system}: no dump written");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(data["system"], system);
        let base_url = data["base_url"].as_str().unwrap();
        let auth: Vec<String> = data["auth"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let auth = auth.join(",");
        let subscriber = data["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["invoices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["status"] == "open" || i["status"] == "overdue")
            })
            .expect("a subscriber with something open");
        let document = subscriber["document"].as_str().unwrap();

        let (ok, stdout, stderr) = lookup(system, base_url, &auth, "--document", document);
        assert!(ok, "{system}: lookup failed: {stderr}");
        let result: Value = serde_json::from_str(&stdout).unwrap();
        let customer = &result["customers"][0];
        assert_eq!(
            customer["customer"]["name"], subscriber["name"],
            "{system}: {stdout}"
        );
        let lines: Vec<&str> = customer["open_invoices"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["payment_methods"].as_array().unwrap().iter())
            .filter_map(|m| m["digitable_line"].as_str())
            .collect();
        assert!(
            !lines.is_empty(),
            "{system}: open invoices carry boleto lines: {stdout}"
        );

        // Phone lookup: supported systems find the subscriber; the others say so clearly.
        let phone = subscriber["phones"][0].as_str().unwrap();
        let (ok, stdout, stderr) = lookup(system, base_url, &auth, "--phone", phone);
        if ok {
            assert!(
                stdout.contains(subscriber["name"].as_str().unwrap()),
                "{system}: {stdout}"
            );
        } else {
            assert!(
                stderr.contains("erro:") && !stderr.contains("panicked"),
                "{system}: {stderr}"
            );
        }

        // Wrong credentials: a clear error, not a crash.
        let bad_auth = auth.replace('=', "=x");
        let (ok, _, stderr) = lookup(system, base_url, &bad_auth, "--document", document);
        assert!(!ok && stderr.starts_with("erro:"), "{system}: {stderr}");
    }
    let (ok, _, stderr) = lookup(
        "sgp",
        "http://127.0.0.1:9",
        "token=a,app=b",
        "--document",
        "123.456.789-00",
    );
    assert!(
        !ok && stderr.contains("CPF"),
        "invalid CPF is refused before any call: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_keeps_credentials_sealed_and_tests_the_connection() {
    let (h, fake) = Harness::start_with_erp("sgp", 30).await;
    let (status, settings) = h.api_get("/api/v1/erp").await;
    assert_eq!(status, StatusCode::OK, "{settings}");
    assert_eq!(settings["system"], "sgp");
    assert_eq!(settings["auth_keys"], json!(["app", "token"]));
    let token = &fake.auth["token"];
    assert!(
        !settings.to_string().contains(token.as_str()),
        "credential values are never returned"
    );

    // Sealed at rest: the token is nowhere in the database file.
    let mut bytes = std::fs::read(h.dir.0.join("data").join("balcao.db")).unwrap();
    if let Ok(wal) = std::fs::read(h.dir.0.join("data").join("balcao.db-wal")) {
        bytes.extend(wal);
    }
    assert!(
        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
        "token stored in clear"
    );

    let (status, check) = h.api_post("/api/v1/erp/test", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check["ok"], true, "{check}");

    let first = fake.control.dataset().subscribers[0].clone();
    let (status, found) = h
        .api_get(&format!("/api/v1/erp/lookup?document={}", first.document))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["customers"][0]["customer"]["name"],
        first.name.as_str()
    );

    let mut auth = fake.auth.clone();
    auth.insert("token".into(), "wrong-token".into());
    let (status, _) = h
        .api_put(
            "/api/v1/erp",
            json!({"system": "sgp", "base_url": fake.base_url, "auth": auth}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, check) = h.api_post("/api/v1/erp/test", json!({})).await;
    assert_eq!(check["ok"], false);
    assert!(!check["error"].as_str().unwrap().is_empty());

    let (status, err) = h
        .api_put(
            "/api/v1/erp",
            json!({"system": "sgp", "base_url": fake.base_url, "auth": {"token": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["error"]["message"].as_str().unwrap().contains("app"),
        "{err}"
    );
    let (status, _) = h
        .api_put(
            "/api/v1/erp",
            json!({"system": "zabbix", "base_url": fake.base_url, "auth": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = h
        .api_get("/api/v1/erp/lookup?document=123.456.789-00")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "invalid CPF");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_become_events_exactly_once_across_polls_and_restarts() {
    for system in ["sgp", "ixc", "hubsoft"] {
        let (h, fake) = Harness::start_with_erp(system, 40).await;
        let ws = h.workspace().await;
        let app = h.app.as_ref().unwrap();
        let poller = |config: PaymentSyncConfig| PaymentPoller {
            store: h.store(),
            erp: app.erp.clone(),
            clock: Arc::new(balcao_engine::SystemClock),
            bus: app.bus.clone(),
            config,
        };
        let config = PaymentSyncConfig {
            initial_lookback: Duration::from_secs(3600),
            ..Default::default()
        };
        let first = poller(config.clone());
        let (_, before) = first.poll_once(ws, &[]).await.unwrap();

        let data = fake.control.dataset();
        let open = data
            .subscribers
            .iter()
            .flat_map(|s| s.invoices.iter())
            .find(|i| i.status.is_unpaid())
            .expect("an unpaid invoice")
            .clone();
        assert!(fake.control.mark_paid(open.id, jiff::Timestamp::now()));
        let (report, recorded) = first.poll_once(ws, &[]).await.unwrap();
        // Recorded by this poll (or by the app's own poller if it ran in between).
        let stored = h.store().payment_events(ws, None, 1000).await.unwrap();
        let event = stored
            .iter()
            .find(|e| e.invoice_erp_id == open.id.to_string())
            .unwrap_or_else(|| panic!("{system}: payment not recorded (poll saw {})", report.seen));
        assert_eq!(event.amount_cents, open.amount_due_cents(), "{system}");

        // The same window again, and a fresh poller as after a restart: nothing twice.
        let (_, again) = first.poll_once(ws, &[]).await.unwrap();
        assert!(again.is_empty(), "{system}: {again:?}");
        let restarted = poller(config.clone());
        let (_, after_restart) = restarted.poll_once(ws, &[]).await.unwrap();
        assert!(after_restart.is_empty(), "{system}");
        let all = h.store().payment_events(ws, None, 1000).await.unwrap();
        let matching = all
            .iter()
            .filter(|e| e.invoice_erp_id == open.id.to_string())
            .count();
        assert_eq!(matching, 1, "{system}");
        // The app's own poller runs too: whoever records first, each invoice is one event.
        let unique: std::collections::HashSet<&str> =
            all.iter().map(|e| e.invoice_erp_id.as_str()).collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "{system}: an invoice recorded twice"
        );
        assert!(all.len() >= before.len() + recorded.len(), "{system}");
        assert!(report.seen >= 1, "{system}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_management_system_is_a_clear_error_not_a_crash() {
    let (h, fake) = Harness::start_with_erp("ixc", 10).await;
    fake.control.set_faults(balcao_erp_fake::Faults {
        down: true,
        ..Default::default()
    });
    let (_, check) = h.api_post("/api/v1/erp/test", json!({})).await;
    assert_eq!(check["ok"], false);
    let first = fake.control.dataset().subscribers[0].clone();
    let (status, err) = h
        .api_get(&format!("/api/v1/erp/lookup?document={}", first.document))
        .await;
    assert!(status.is_server_error(), "{status} {err}");
    assert!(
        err["error"]["code"].as_str().unwrap().starts_with("erp_"),
        "{err}"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_lists_its_subscribers_with_payable_invoices() {
    let (h, fake) = Harness::start_with_erp("sgp", 20).await;
    let v: Value = h
        .http
        .get(h.url("/simulator/api/subscribers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = v["subscribers"].as_array().unwrap();
    assert!(!list.is_empty());
    let with_invoice = list
        .iter()
        .find(|s| !s["open_invoices"].as_array().unwrap().is_empty())
        .unwrap();
    let invoice = &with_invoice["open_invoices"][0];
    assert!(
        balcao_domain::br::boleto::Boleto::parse(invoice["digitable_line"].as_str().unwrap())
            .is_ok()
    );
    assert!(balcao_domain::br::pix::PixCode::parse(invoice["pix_code"].as_str().unwrap()).is_ok());
    assert!(
        with_invoice["document_masked"]
            .as_str()
            .unwrap()
            .contains('*'),
        "documents are masked"
    );
    // Paying in the management system shows at once.
    let id = invoice["id"].as_u64().unwrap();
    assert!(fake.control.mark_paid(id, jiff::Timestamp::now()));
    let v: Value = h
        .http
        .get(h.url("/simulator/api/subscribers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let still_open = v["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["open_invoices"].as_array().unwrap().iter())
        .any(|i| i["id"] == id);
    assert!(!still_open);
}
