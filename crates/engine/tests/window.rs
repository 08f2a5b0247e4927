//! The 24-hour window at both ends of the outbox: refused at enqueue when closed, and failed with
//! a clear reason when it closes while the message waits (instead of looking sent and never
//! arriving). Time is moved with an injected clock.

use balcao_domain::outbound::OutboundContent;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{InboundMessage, MessageContent, WebhookBatch};
use balcao_domain::{Millis, WaId};
use balcao_engine::bus::EventBus;
use balcao_engine::outbox::{Outbox, OutboxError, SendRequest};
use balcao_engine::sender::{NumberSender, SenderConfig};
use balcao_engine::{Clock, SharedClock};
use balcao_store::{NewNumber, NewWorkspace, Store};
use balcao_whatsapp::client::GraphClient;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

const HOUR: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_window_closed_while_queued_fails_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("balcao-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn Store> = Arc::new(
        balcao_store_sqlite::SqliteStore::open(&dir.join("w.db"))
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let ws = store
        .create_workspace(NewWorkspace {
            slug: "w".into(),
            name: "W".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .unwrap();
    let number = store
        .create_number(
            ws.id,
            NewNumber {
                phone_number_id: "555".into(),
                display_phone_number: "551140000000".into(),
                waba_id: "1".into(),
                throughput_mps: 80,
            },
        )
        .await
        .unwrap();
    let t0: Millis = 1_763_700_000_000;
    let manual = Arc::new(ManualClock(AtomicI64::new(t0)));
    let clock: SharedClock = manual.clone();
    let subscriber = WaId::parse("5511987650001").unwrap();
    let inbound = InboundMessage {
        phone_number_id: "555".into(),
        wamid: "wamid.w1".into(),
        from: Some(subscriber.clone()),
        user_id: None,
        profile_name: Some("Ana".into()),
        timestamp: t0,
        message_type: "text".into(),
        content: MessageContent::Text { body: "oi".into() },
        context: None,
        referral: None,
        raw: serde_json::json!({}),
    };
    store
        .ingest(
            &[WebhookBatch {
                messages: vec![inbound],
                ..Default::default()
            }],
            t0,
        )
        .await
        .unwrap();

    let outbox = Outbox::new(store.clone(), clock.clone(), EventBus::default());
    let text = |body: &str| SendRequest {
        number_id: number.id,
        to: subscriber.clone(),
        content: OutboundContent::Text {
            body: body.into(),
            preview_url: false,
        },
        fallback_template: None,
        idempotency_key: None,
        author: "test".into(),
    };
    manual.0.store(t0 + 23 * HOUR, Ordering::SeqCst);
    let queued = outbox
        .enqueue(ws.id, text("ainda dentro da janela"))
        .await
        .unwrap();
    assert!(queued.created);

    manual.0.store(t0 + 25 * HOUR, Ordering::SeqCst);
    match outbox.enqueue(ws.id, text("fora da janela")).await {
        Err(OutboxError::OutsideWindow { last_inbound_at }) => {
            assert_eq!(last_inbound_at, Some(t0))
        }
        other => panic!("expected OutsideWindow, got {other:?}"),
    }

    // The sender wakes after the window closed: it must not call the Graph API (the address below
    // refuses connections) and must fail the message with the reason.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let graph = GraphClient::new(reqwest::Client::new(), "http://127.0.0.1:9/graph", "v23.0");
    let sender = NumberSender {
        store: store.clone(),
        client: graph,
        number: number.clone(),
        access_token: "x".into(),
        clock: clock.clone(),
        outbox: outbox.clone(),
        config: SenderConfig {
            idle_poll: Duration::from_millis(20),
            ..SenderConfig::default()
        },
    };
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(sender.run(stop_rx));
    let mut message = None;
    for _ in 0..200 {
        let m = store
            .message(ws.id, queued.message.id)
            .await
            .unwrap()
            .unwrap();
        if m.status == Some(DeliveryStatus::Failed) {
            message = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    let message = message.expect("message failed");
    let error = message.error.expect("error recorded");
    assert_eq!(error.code, 131047);
    assert!(error.title.contains("24 horas"));
    assert_eq!(message.wamid, None, "never handed to WhatsApp");
    let _ = std::fs::remove_dir_all(&dir);
}
