//! The billing ladder report's store contract on a fresh SQLite file per test.

use balcao_store_sqlite::SqliteStore;

balcao_store::ladder_metrics_contract_suite!(async {
    Some(
        SqliteStore::open_temporary()
            .await
            .expect("open a temporary SQLite store"),
    )
});
