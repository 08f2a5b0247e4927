use crate::common::*;
use balcao_erp_fake::{DataSet, FakeInvoiceStatus, FakeSystem, Faults, start};
use serde_json::json;

#[tokio::test]
async fn control_api_over_http() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    let set = http()
        .post(format!("{}/_fake/faults", fake.origin))
        .json(&json!({"down": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(body(set).await.1["down"], true);
    assert!(fake.control.faults().down);
    let reset = http()
        .post(format!("{}/_fake/faults", fake.origin))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(body(reset).await.1["down"], false);
    let bad = http()
        .post(format!("{}/_fake/faults", fake.origin))
        .body("{\"down\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let invoice = data.subscribers[2]
        .invoices
        .iter()
        .find(|i| i.status.is_unpaid())
        .unwrap();
    let pay = http()
        .post(format!("{}/_fake/invoices/{}/pay", fake.origin, invoice.id))
        .json(&json!({"paid_at": "2026-11-16T13:30:00Z"}))
        .send()
        .await
        .unwrap();
    let (status, paid) = body(pay).await;
    assert_eq!(status, 200);
    assert_eq!(paid["invoice"]["status"], "paid");
    assert_eq!(
        fake.control.invoice(invoice.id).unwrap().status,
        FakeInvoiceStatus::Paid
    );
    let missing = http()
        .post(format!("{}/_fake/invoices/1/pay", fake.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(!fake.control.mark_paid("não é número", paid_moment()));

    let before = fake.control.request_count();
    let _ = http()
        .post(format!("{}/api/auth/info/", fake.base_url))
        .send()
        .await
        .unwrap();
    let counted = http()
        .get(format!("{}/_fake/requests", fake.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(body(counted).await.1["count"], before + 1);

    let dataset = http()
        .get(format!("{}/_fake/dataset", fake.origin))
        .send()
        .await
        .unwrap();
    let served: DataSet = serde_json::from_str(&dataset.text().await.unwrap()).unwrap();
    assert_eq!(served.subscribers.len(), data.subscribers.len());
    let served_invoice = served
        .invoices()
        .find(|(_, i)| i.id == invoice.id)
        .unwrap()
        .1;
    assert_eq!(served_invoice.status, FakeInvoiceStatus::Paid);
    assert!(
        served_invoice.pdf_url.starts_with(&fake.origin),
        "PDF links are absolute"
    );
}

#[tokio::test]
async fn dump_has_the_cli_shape_with_exactly_the_connect_pairs() {
    for system in FakeSystem::ALL {
        let (fake, data) = fake(system).await;
        let dump = fake.dump_json();
        assert_eq!(dump["system"], system.as_str());
        assert_eq!(dump["base_url"], fake.base_url);
        let keys: Vec<&String> = dump["auth"].as_object().unwrap().keys().collect();
        let expected: &[&str] = match system {
            FakeSystem::Sgp => &["app", "token"],
            FakeSystem::Ixc | FakeSystem::RadiusNet => &["token"],
            FakeSystem::Hubsoft => &["client_id", "client_secret", "password", "username"],
            FakeSystem::MkAuth => &["client_id", "client_secret"],
            FakeSystem::Voalle => &["client_id", "client_secret", "syndata", "token_url"],
        };
        assert_eq!(keys, expected, "{system}");
        let subscribers = dump["subscribers"].as_array().unwrap();
        assert_eq!(subscribers.len(), data.subscribers.len());
        let invoice = &subscribers[0]["invoices"][0];
        for key in [
            "status",
            "due_date",
            "amount_cents",
            "digitable_line",
            "pix_code",
        ] {
            assert!(!invoice[key].is_null(), "{key}");
        }
    }
    let (ixc, _) = fake(FakeSystem::Ixc).await;
    assert!(ixc.base_url.ends_with("/webservice/v1"));
    let (radius, _) = fake(FakeSystem::RadiusNet).await;
    assert!(radius.base_url.ends_with("/radiusnet/index.php/api/v1"));
}

#[tokio::test]
async fn boleto_pdf_route_and_unknown_invoice() {
    let (fake, data) = fake(FakeSystem::Hubsoft).await;
    let invoice = &data.subscribers[0].invoices[0];
    assert_pdf(&format!("{}/boleto/{}.pdf", fake.origin, invoice.id)).await;
    let missing = http()
        .get(format!("{}/boleto/1.pdf", fake.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn unspecified_address_is_published_as_localhost_and_shutdown_stops() {
    let fake = start(
        FakeSystem::Sgp,
        dataset(),
        Faults::default(),
        "0.0.0.0:0".parse().unwrap(),
    )
    .await;
    assert!(fake.base_url.starts_with("http://127.0.0.1:"));
    assert!(
        http()
            .get(format!("{}/_fake/faults", fake.origin))
            .send()
            .await
            .is_ok()
    );
    fake.shutdown();
    tokio::task::yield_now().await;
    let mut refused = false;
    for _ in 0..50 {
        if http()
            .get(format!("{}/_fake/faults", fake.origin))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener is closed after shutdown");
}
