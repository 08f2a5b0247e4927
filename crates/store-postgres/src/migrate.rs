//! Our own small migrator: numbered SQL files compiled into the binary, applied in order inside one
//! transaction and recorded in `schema_migrations` (in the connection's schema). Not sqlx's
//! migrator, so two backends (or two tools) never clash on `_sqlx_migrations`. A transaction-scoped
//! advisory lock, keyed by the schema, keeps nodes starting together from migrating twice.

use crate::db_err;
use balcao_store::Result;
use sqlx::{PgPool, Row};

/// `(version, name, sql)`, in order. New migrations are appended, never edited.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "outbound_only_indexes",
        include_str!("../migrations/0002_outbound_only_indexes.sql"),
    ),
    (3, "erp", include_str!("../migrations/0003_erp.sql")),
    (4, "bot", include_str!("../migrations/0004_bot.sql")),
    (5, "desk", include_str!("../migrations/0005_desk.sql")),
    (6, "ladder", include_str!("../migrations/0006_ladder.sql")),
    (
        7,
        "ladder_metrics",
        include_str!("../migrations/0007_ladder_metrics.sql"),
    ),
    (
        8,
        "ladder_settings",
        include_str!("../migrations/0008_ladder_settings.sql"),
    ),
    (
        9,
        "ladder_history",
        include_str!("../migrations/0009_ladder_history.sql"),
    ),
];

pub(crate) async fn run(pool: &PgPool, now: i64) -> Result<Vec<i64>> {
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('balcao-migrate:' || current_schema()))")
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let mut newly_applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tracing::info!(version, name, "applied PostgreSQL migration");
        newly_applied.push(version);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(newly_applied)
}
