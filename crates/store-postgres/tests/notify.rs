//! `PgNotifier` against a real PostgreSQL (`BALCAO_TEST_POSTGRES_URL`, a fresh schema per test;
//! skipped without it unless `BALCAO_REQUIRE_POSTGRES=1`): notifications reach listeners of the
//! same schema only, and a killed listening connection comes back and says so.

use balcao_store::StoreError;
use balcao_store_postgres::{
    LISTENER_APPLICATION_NAME, ListenEvent, MAX_NOTIFY_PAYLOAD, PgNotifier, PgStore,
    channel_for_schema,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the listener reported, owned.
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    Listening { reconnected: bool },
    Notification(String),
    Failed,
}

struct Schema {
    url: String,
    name: String,
    store: PgStore,
}

async fn fresh_schema() -> Option<Schema> {
    let Ok(url) = std::env::var("BALCAO_TEST_POSTGRES_URL") else {
        if std::env::var("BALCAO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("BALCAO_REQUIRE_POSTGRES=1 but BALCAO_TEST_POSTGRES_URL is not set");
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: set BALCAO_TEST_POSTGRES_URL to run the PostgreSQL notification tests"
        );
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "n_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let store = PgStore::connect_in_schema(&url, &name)
        .await
        .expect("connect to the test PostgreSQL");
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(Schema {
        url: format!("{url}{sep}options=-c%20search_path%3D{name}"),
        name,
        store,
    })
}

/// Starts `notifier.listen` in a task; what it hears comes out of the returned channel.
fn listen(
    notifier: Arc<PgNotifier>,
) -> (mpsc::UnboundedReceiver<Heard>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        notifier
            .listen(|event| {
                let _ = tx.send(match event {
                    ListenEvent::Listening { reconnected } => Heard::Listening { reconnected },
                    ListenEvent::Notification(p) => Heard::Notification(p.to_owned()),
                    ListenEvent::Failed { .. } => Heard::Failed,
                });
            })
            .await
    });
    (rx, task)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Heard>) -> Heard {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the listener said nothing for 30 s")
        .expect("listener task ended")
}

#[tokio::test]
async fn notifications_reach_the_same_schema_and_survive_a_killed_listener() {
    let Some(schema) = fresh_schema().await else {
        return;
    };
    let notifier = Arc::new(PgNotifier::new(&schema.url).unwrap());
    let channel = notifier.channel().await.unwrap().to_owned();
    assert_eq!(channel, channel_for_schema(Some(&schema.name)));
    let (mut heard, task) = listen(notifier.clone());
    assert_eq!(
        next(&mut heard).await,
        Heard::Listening { reconnected: false }
    );

    // Another schema's notification, committed first, would arrive first if it leaked.
    let other = fresh_schema().await.unwrap();
    let elsewhere = PgNotifier::new(&other.url).unwrap();
    elsewhere.notify("de outro schema").await.unwrap();
    notifier.notify(r#"{"n":1}"#).await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Heard::Notification(r#"{"n":1}"#.into())
    );

    // The listening backend is killed (as a failover or an idle-connection reaper would do).
    let admin = sqlx::PgPool::connect(&schema.url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND query = $2",
    )
    .bind(LISTENER_APPLICATION_NAME)
    .bind(format!("LISTEN \"{channel}\""))
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);
    assert_eq!(next(&mut heard).await, Heard::Failed);
    assert_eq!(
        next(&mut heard).await,
        Heard::Listening { reconnected: true }
    );
    notifier.notify("de novo").await.unwrap();
    assert_eq!(
        next(&mut heard).await,
        Heard::Notification("de novo".into())
    );

    task.abort();
    admin.close().await;
    other.store.drop_schema().await.unwrap();
    schema.store.drop_schema().await.unwrap();
}

#[tokio::test]
async fn an_oversized_payload_is_refused_before_the_database() {
    // No database needed: the size is checked first (this URL leads nowhere).
    let notifier = PgNotifier::new("postgres://nobody@127.0.0.1:1/none").unwrap();
    let result = notifier.notify(&"x".repeat(MAX_NOTIFY_PAYLOAD + 1)).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
}
