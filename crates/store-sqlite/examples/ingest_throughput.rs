//! Measures durable inbound ingestion on a fresh SQLite file against the raw-INSERT ceiling:
//! `cargo run --release -p balcao-store-sqlite --example ingest_throughput [groups]`.

use balcao_domain::WaId;
use balcao_domain::webhook::{InboundMessage, MessageContent, WebhookBatch};
use balcao_store::{NewNumber, NewWorkspace, Store};
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
    let groups: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
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
    store
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
    println!("ingest: {total} messages in {seconds:.2}s = {:.0} msg/s", total as f64 / seconds);
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let single = dir.join(format!("balcao-raw-{pid}-1.db"));
    let batched = dir.join(format!("balcao-raw-{pid}-50.db"));
    let raw = raw_insert_benchmark(&single, 5_000).await.expect("raw");
    let raw50 = raw_insert_benchmark_batched(&batched, 20_000, 50).await.expect("raw batched");
    println!("raw single-row transactions: {raw:.0} rows/s; batched by 50: {raw50:.0} rows/s");
    for path in [single, batched] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
