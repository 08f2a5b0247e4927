//! What only the SQLite backend promises: a database file that survives reopening, WAL mode, and
//! the raw-insert benchmark used as the ingestion ceiling.

use balcao_store::{NewWorkspace, Store, StoreError};
use balcao_store_sqlite::{SqliteStore, raw_insert_benchmark, raw_insert_benchmark_batched};
use std::path::{Path, PathBuf};

/// A fresh directory under the system's temporary one, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "balcao-sqlite-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[tokio::test]
async fn a_reopened_file_keeps_its_data_and_schema() {
    let scratch = Scratch::new("reopen");
    let path = scratch.path("balcao.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store.migrate().await.expect("migrate");
    let created = store
        .create_workspace(NewWorkspace {
            slug: "fibra".into(),
            name: "Fibra Veloz".into(),
            time_zone: "America/Fortaleza".into(),
        })
        .await
        .expect("workspace");
    assert!(path.exists());
    assert!(
        sidecar(&path, "-wal").exists(),
        "the database runs in WAL mode"
    );
    drop(store);

    let reopened = SqliteStore::open(&path).await.expect("reopen");
    reopened
        .migrate()
        .await
        .expect("migrating again is a no-op");
    let found = reopened.workspace_by_slug("fibra").await.expect("read");
    assert_eq!(found, Some(created));
    assert_eq!(reopened.backend(), "sqlite");
}

#[tokio::test]
async fn a_clone_keeps_a_temporary_store_alive() {
    let store = SqliteStore::open_temporary().await.expect("open");
    store.migrate().await.expect("migrate");
    let second = store.clone();
    drop(store);
    // A clone keeps the database alive.
    assert!(
        second
            .workspace_by_slug("nenhum")
            .await
            .expect("read")
            .is_none()
    );
    drop(second);
}

#[tokio::test]
async fn the_raw_insert_benchmark_measures_a_fresh_file() {
    let scratch = Scratch::new("raw");
    let single = scratch.path("single.db");
    let rate = raw_insert_benchmark(&single, 200).await.expect("benchmark");
    assert!(rate.is_finite() && rate > 0.0, "{rate}");
    assert!(single.exists());
    let batched = raw_insert_benchmark_batched(&scratch.path("batched.db"), 230, 50)
        .await
        .expect("batched benchmark");
    assert!(batched.is_finite() && batched > 0.0, "{batched}");
    // It never writes into an existing database.
    let again = raw_insert_benchmark(&single, 10).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}
