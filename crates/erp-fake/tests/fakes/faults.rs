use crate::common::*;
use balcao_erp_fake::{FakeContractStatus, FakeSystem, Faults, RunningFake};
use std::time::Duration;

/// An authenticated SGP read (fixed credentials in the body).
async fn sgp_read(
    fake: &RunningFake,
    client: &reqwest::Client,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/api/auth/info/", fake.base_url))
        .body(form(&[
            ("token", &fake.auth["token"]),
            ("app", &fake.auth["app"]),
        ]))
        .send()
        .await
}

#[tokio::test]
async fn down_refuses_every_system_but_not_the_control_api() {
    for system in FakeSystem::ALL {
        let (fake, _) = fake(system).await;
        fake.control.set_faults(Faults {
            down: true,
            ..Faults::default()
        });
        let response = http()
            .get(format!("{}/anything", fake.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{system}");
        let control = http()
            .get(format!("{}/_fake/faults", fake.origin))
            .send()
            .await
            .unwrap();
        assert_eq!(control.status(), 200);
        if let Some(token_url) = fake.auth.get("token_url") {
            let response = http()
                .post(format!("{token_url}/connect/token"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 503, "the token port is down too");
        }
        fake.control.set_faults(Faults::default());
        let response = http()
            .get(format!("{}/anything", fake.base_url))
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 503);
    }
}

#[tokio::test]
async fn error_500() {
    let (fake, _) = fake(FakeSystem::Hubsoft).await;
    fake.control.set_faults(Faults {
        error_500_rate: 1.0,
        ..Faults::default()
    });
    let response = http()
        .post(format!("{}/oauth/token", fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
}

#[tokio::test]
async fn html_error_is_a_200_page_on_ixc_and_a_502_elsewhere() {
    for (system, status) in [
        (FakeSystem::Ixc, 200),
        (FakeSystem::Sgp, 502),
        (FakeSystem::MkAuth, 502),
    ] {
        let (fake, _) = fake(system).await;
        fake.control.set_faults(Faults {
            html_error_rate: 1.0,
            ..Faults::default()
        });
        let response = http()
            .post(format!("{}/cliente", fake.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{system}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let text = response.text().await.unwrap();
        assert!(text.trim_start().starts_with('<'), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }
}

#[tokio::test]
async fn truncated_json_after_the_write_happened() {
    let (fake, data) = fake(FakeSystem::Sgp).await;
    fake.control.set_faults(Faults {
        truncated_json_rate: 1.0,
        ..Faults::default()
    });
    let contract = data.subscribers[2].contracts[0].id;
    let response = http()
        .post(format!("{}/api/ura/liberacaopromessa/", fake.base_url))
        .body(form(&[
            ("token", &fake.auth["token"]),
            ("app", &fake.auth["app"]),
            ("contrato", &contract.to_string()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.starts_with('{'));
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    assert_eq!(
        fake.control.contract(contract).unwrap().status,
        FakeContractStatus::TrustUnlocked,
        "the unlock was applied even though the answer was cut"
    );
}

#[tokio::test]
async fn timeouts_hang_past_the_client_timeout() {
    let (fake, _) = fake(FakeSystem::Sgp).await;
    fake.control.set_faults(Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    });
    let error = sgp_read(&fake, &http_with_timeout(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    fake.control.set_faults(Faults::default());
    assert_eq!(sgp_read(&fake, &http()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn latency_is_added_to_answers() {
    let (fake, _) = fake(FakeSystem::Sgp).await;
    fake.control.set_faults(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    });
    let error = sgp_read(&fake, &http_with_timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(error.is_timeout());
    fake.control.set_faults(Faults {
        latency_ms: 1,
        ..Faults::default()
    });
    assert_eq!(sgp_read(&fake, &http()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn expire_tokens_refuses_the_next_call_of_fixed_token_systems_once() {
    let (sgp, _) = fake(FakeSystem::Sgp).await;
    sgp.control.set_faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    assert!(!sgp.control.faults().expire_tokens, "one-shot");
    assert_eq!(sgp_read(&sgp, &http()).await.unwrap().status(), 401);
    assert_eq!(sgp_read(&sgp, &http()).await.unwrap().status(), 200);

    let (radius, data) = fake(FakeSystem::RadiusNet).await;
    radius.control.set_faults(Faults {
        expire_tokens: true,
        ..Faults::default()
    });
    let read = || {
        http()
            .get(format!(
                "{}/cp/{}",
                radius.base_url, data.subscribers[0].document
            ))
            .header("RTOKEN", &radius.auth["token"])
            .send()
    };
    assert_eq!(read().await.unwrap().status(), 401);
    assert_eq!(read().await.unwrap().status(), 200);
}

#[tokio::test]
async fn fault_draws_repeat_for_a_seed() {
    let (fake, _) = fake(FakeSystem::Sgp).await;
    let faults = Faults {
        error_500_rate: 0.5,
        seed: 3,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        fake.control.set_faults(faults.clone());
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(sgp_read(&fake, &http()).await.unwrap().status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&500) && runs[0].contains(&200));
}
