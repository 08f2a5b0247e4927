//! The shared store contract, on a fresh SQLite file (WAL, one writer plus readers) per test.

use balcao_store_sqlite::SqliteStore;

balcao_store::contract_suite!(async {
    Some(
        SqliteStore::open_temporary()
            .await
            .expect("open a temporary SQLite store"),
    )
});

balcao_store::desk_contract_suite!(async {
    Some(
        SqliteStore::open_temporary()
            .await
            .expect("open a temporary SQLite store"),
    )
});

balcao_store::ladder_contract_suite!(async {
    Some(
        SqliteStore::open_temporary()
            .await
            .expect("open a temporary SQLite store"),
    )
});

balcao_store::ladder_settings_contract_suite!(async {
    Some(
        SqliteStore::open_temporary()
            .await
            .expect("open a temporary SQLite store"),
    )
});

/// The same contract on the in-memory variant (one connection for reads and writes).
mod in_memory {
    use balcao_store_sqlite::SqliteStore;

    balcao_store::contract_suite!(async {
        Some(
            SqliteStore::open_in_memory()
                .await
                .expect("open an in-memory SQLite store"),
        )
    });

    balcao_store::desk_contract_suite!(async {
        Some(
            SqliteStore::open_in_memory()
                .await
                .expect("open an in-memory SQLite store"),
        )
    });
}
