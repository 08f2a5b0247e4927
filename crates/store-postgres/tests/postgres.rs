//! What only the PostgreSQL backend promises, beyond the shared contract.

use balcao_store::StoreError;
use balcao_store_postgres::PgStore;

#[tokio::test]
async fn schema_names_must_be_plain_identifiers() {
    // Refused before any connection is attempted, so no database is needed.
    for bad in [
        "",
        "Public",
        "t-1",
        "a\"; DROP SCHEMA public; --",
        "1abc",
        &"x".repeat(64),
    ] {
        let result = PgStore::connect_in_schema("postgres://nobody@127.0.0.1:1/none", bad).await;
        assert!(matches!(result, Err(StoreError::Conflict(_))), "{bad:?}");
    }
}

#[tokio::test]
async fn a_bad_url_is_reported() {
    let result = PgStore::connect("mysql://localhost/db").await;
    assert!(
        matches!(result, Err(StoreError::Database(_))),
        "{:?}",
        result.err()
    );
}
