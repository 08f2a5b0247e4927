//! Measures durable ingestion of inbound messages and of statuses on a fresh SQLite file, against
//! the raw-INSERT ceiling:
//! `cargo run --release -p balcao-store-sqlite --example ingest_throughput [groups]`.

use balcao_domain::WaId;
use balcao_domain::outbound::OutboundContent;
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{InboundMessage, MessageContent, StatusUpdate, WebhookBatch};
use balcao_store::{NewNumber, NewOutbound, NewWorkspace, SendOutcome, Store};
use balcao_store_sqlite::{SqliteStore, raw_insert_benchmark, raw_insert_benchmark_batched};
use serde_json::json;
use std::time::Instant;

const DELIVERIES_PER_GROUP: usize = 50;
const MESSAGES_PER_DELIVERY: usize = 20;

fn message(n: usize) -> InboundMessage {
    let from = format!("55119{:08}", 60_000_000 + n % 5_000);
    let wamid = format!("wamid.HBgNNTUxNjk5MjMxODIyMhUCABIYFjNFQjA{n:016}");
    let body = format!("Olá, minha internet está lenta desde ontem, podem verificar? ({n})");
    InboundMessage {
        phone_number_id: "pn-bench".into(),
        raw: json!({"from": from, "id": wamid, "timestamp": "1750857384", "type": "text", "text": {"body": body}}),
        wamid,
        from: Some(WaId::parse(&from).expect("wa_id")),
        user_id: None,
        profile_name: Some("Assinante".into()),
        timestamp: 1_750_857_384_000,
        message_type: "text".into(),
        content: MessageContent::Text { body },
        context: None,
        referral: None,
    }
}

#[tokio::main]
async fn main() {
    let groups: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let store = SqliteStore::open_temporary().await.expect("open");
    store.migrate().await.expect("migrate");
    let ws = store
        .create_workspace(NewWorkspace {
            slug: "bench".into(),
            name: "Bench".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .expect("workspace");
    let number = store
        .create_number(
            ws.id,
            NewNumber {
                phone_number_id: "pn-bench".into(),
                display_phone_number: "+55 11 3000-0000".into(),
                waba_id: "waba".into(),
                throughput_mps: 80,
            },
        )
        .await
        .expect("number");
    let mut next = 0;
    let deliveries: Vec<Vec<WebhookBatch>> = (0..groups)
        .map(|_| {
            (0..DELIVERIES_PER_GROUP)
                .map(|_| WebhookBatch {
                    messages: (0..MESSAGES_PER_DELIVERY)
                        .map(|_| {
                            next += 1;
                            message(next)
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    for group in &deliveries {
        store.ingest(group, 1).await.expect("ingest");
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = groups * DELIVERIES_PER_GROUP * MESSAGES_PER_DELIVERY;
    println!(
        "ingest: {total} messages in {seconds:.2}s = {:.0} msg/s",
        total as f64 / seconds
    );

    // Statuses: three per outbound message (sent, delivered, read), 50 deliveries of 20 per group.
    let outbound = total / 3;
    for i in 0..outbound {
        let to = format!("55119{:08}", 60_000_000 + i % 5_000);
        let new = NewOutbound {
            number_id: number.id,
            to: WaId::parse(&to).expect("wa_id"),
            content: OutboundContent::Text {
                body: format!("Sua fatura {i} vence amanhã"),
                preview_url: false,
            },
            idempotency_key: None,
            author: "bench".into(),
        };
        store
            .enqueue_outbound(ws.id, new, 2)
            .await
            .expect("enqueue");
    }
    loop {
        let jobs = store
            .claim_outbound(number.id, 3, 500, 60_000)
            .await
            .expect("claim");
        if jobs.is_empty() {
            break;
        }
        let outcomes: Vec<_> = jobs
            .iter()
            .map(|job| SendOutcome::Accepted {
                message_id: job.message_id,
                wamid: format!("wamid.out.{}", job.message_id),
                wa_id: None,
            })
            .collect();
        store
            .record_send_outcomes(&outcomes, 4)
            .await
            .expect("outcomes");
    }
    let statuses: Vec<StatusUpdate> = [
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
    ]
    .into_iter()
    .flat_map(|status| {
        (0..outbound).map(move |i| StatusUpdate {
            phone_number_id: "pn-bench".into(),
            // Outbound ids follow the inbound ones.
            wamid: format!("wamid.out.{}", total + 1 + i),
            status,
            timestamp: 1_750_857_400_000,
            recipient_id: None,
            biz_opaque_callback_data: None,
            pricing: None,
            errors: vec![],
            raw: json!({"id": format!("wamid.out.{}", total + 1 + i), "status": status.as_str()}),
        })
    })
    .collect();
    let groups_of_statuses: Vec<Vec<WebhookBatch>> = statuses
        .chunks(DELIVERIES_PER_GROUP * MESSAGES_PER_DELIVERY)
        .map(|group| {
            group
                .chunks(MESSAGES_PER_DELIVERY)
                .map(|delivery| WebhookBatch {
                    statuses: delivery.to_vec(),
                    ..Default::default()
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    let mut applied = 0;
    for group in &groups_of_statuses {
        applied += store
            .ingest(group, 5)
            .await
            .expect("ingest statuses")
            .iter()
            .map(|r| r.statuses_new)
            .sum::<u32>();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "statuses: {} ({applied} new) in {seconds:.2}s = {:.0} statuses/s; counts {:?}",
        statuses.len(),
        statuses.len() as f64 / seconds,
        store.outbound_counts(ws.id).await.expect("counts")
    );
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let single = dir.join(format!("balcao-raw-{pid}-1.db"));
    let batched = dir.join(format!("balcao-raw-{pid}-50.db"));
    let raw = raw_insert_benchmark(&single, 5_000).await.expect("raw");
    let raw50 = raw_insert_benchmark_batched(&batched, 20_000, 50)
        .await
        .expect("raw batched");
    println!("raw single-row transactions: {raw:.0} rows/s; batched by 50: {raw50:.0} rows/s");
    for path in [single, batched] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
