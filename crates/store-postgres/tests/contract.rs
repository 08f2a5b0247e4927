//! The shared store contract on PostgreSQL. Each test runs in its own fresh schema of the database
//! named by `BALCAO_TEST_POSTGRES_URL`, dropped when the test passes. Without that variable the
//! tests say they were skipped, unless `BALCAO_REQUIRE_POSTGRES=1` makes that a failure (CI).

use balcao_store_postgres::PgStore;
use std::sync::atomic::{AtomicU32, Ordering};

async fn fresh_store() -> Option<PgStore> {
    let Ok(url) = std::env::var("BALCAO_TEST_POSTGRES_URL") else {
        if std::env::var("BALCAO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("BALCAO_REQUIRE_POSTGRES=1 but BALCAO_TEST_POSTGRES_URL is not set");
        }
        // Written to stderr directly (not `eprintln!`, which the test harness captures), once.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: set BALCAO_TEST_POSTGRES_URL to run the PostgreSQL contract tests"
            );
        });
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    let schema = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    Some(
        PgStore::connect_in_schema(&url, &schema)
            .await
            .expect("connect to the test PostgreSQL"),
    )
}

balcao_store::contract_suite!(fresh_store(), |store: PgStore| async move {
    store.drop_schema().await.expect("drop the test schema");
});

balcao_store::desk_contract_suite!(fresh_store(), |store: PgStore| async move {
    store.drop_schema().await.expect("drop the test schema");
});

balcao_store::ladder_contract_suite!(fresh_store(), |store: PgStore| async move {
    store.drop_schema().await.expect("drop the test schema");
});

balcao_store::ladder_settings_contract_suite!(fresh_store(), |store: PgStore| async move {
    store.drop_schema().await.expect("drop the test schema");
});
