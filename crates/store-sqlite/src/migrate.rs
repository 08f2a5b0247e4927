//! Our own small migrator: numbered SQL files compiled into the binary, applied in order inside
//! one `BEGIN IMMEDIATE` transaction, and recorded in `schema_migrations`. Not sqlx's migrator, so
//! two backends (or two tools) never clash on `_sqlx_migrations`.

use crate::db_err;
use balcao_store::Result;
use sqlx::{Row, SqlitePool};

/// `(version, name, sql)`, in order. New migrations are appended, never edited.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "erp", include_str!("../migrations/0002_erp.sql")),
    (3, "bot", include_str!("../migrations/0003_bot.sql")),
    (4, "desk", include_str!("../migrations/0004_desk.sql")),
    (5, "ladder", include_str!("../migrations/0005_ladder.sql")),
    (
        6,
        "ladder_metrics",
        include_str!("../migrations/0006_ladder_metrics.sql"),
    ),
    (
        7,
        "ladder_settings",
        include_str!("../migrations/0007_ladder_settings.sql"),
    ),
    (
        8,
        "ladder_history",
        include_str!("../migrations/0008_ladder_history.sql"),
    ),
];

pub(crate) async fn run(writer: &SqlitePool, now: i64) -> Result<Vec<i64>> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        ) STRICT",
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
        tracing::info!(version, name, "applied SQLite migration");
        newly_applied.push(version);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(newly_applied)
}
