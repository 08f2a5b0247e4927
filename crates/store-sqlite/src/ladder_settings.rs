//! Ladder settings and the ladder's customer list on SQLite (see [`LadderSettingsStore`]). Every
//! write is one `BEGIN IMMEDIATE` transaction on the single writer; JSON is TEXT.

use crate::rows::json;
use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use balcao_domain::*;
use balcao_store::*;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

/// Rows per multi-row statement (5 parameters each, far under SQLite's 32,766).
const CHUNK: usize = 1000;

const CUSTOMER_COLUMNS: &str = "entry, kind, source, added_at, customer, resolved_at, \
    attempted_at, last_error";

fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(db_err)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn customer_from(row: &SqliteRow) -> Result<LadderCustomer> {
    let kind: String = get(row, "kind")?;
    let source: String = get(row, "source")?;
    let customer: Option<String> = get(row, "customer")?;
    Ok(LadderCustomer {
        entry: get(row, "entry")?,
        kind: LadderCustomerKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        source: LadderCustomerSource::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        added_at: get(row, "added_at")?,
        customer: customer.as_deref().map(json).transpose()?,
        resolved_at: get(row, "resolved_at")?,
        attempted_at: get(row, "attempted_at")?,
        last_error: get(row, "last_error")?,
    })
}

#[async_trait]
impl LadderSettingsStore for SqliteStore {
    async fn ladder_settings(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<StoredLadderSettings>> {
        let Some(row) = sqlx::query(
            "SELECT settings, updated_at, updated_by FROM ladder_settings WHERE workspace_id = $1",
        )
        .bind(workspace.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(StoredLadderSettings {
            settings: json(&get::<String>(&row, "settings")?)?,
            updated_at: get(&row, "updated_at")?,
            updated_by: get(&row, "updated_by")?,
        }))
    }

    async fn save_ladder_settings(
        &self,
        workspace: WorkspaceId,
        settings: &Value,
        updated_by: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO ladder_settings (workspace_id, settings, updated_at, updated_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id) DO UPDATE SET settings = excluded.settings,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(workspace.0)
        .bind(settings.to_string())
        .bind(now)
        .bind(updated_by)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn add_ladder_customers(
        &self,
        workspace: WorkspaceId,
        customers: &[NewLadderCustomer],
        now: Millis,
    ) -> Result<u64> {
        if customers.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let mut added = 0;
        for chunk in customers.chunks(CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ladder_customers (workspace_id, entry, kind, source, added_at) ",
            );
            query.push_values(chunk, |mut b, c| {
                b.push_bind(workspace.0)
                    .push_bind(&c.entry)
                    .push_bind(c.kind.as_str())
                    .push_bind(c.source.as_str())
                    .push_bind(now);
            });
            query.push(" ON CONFLICT (workspace_id, entry) DO NOTHING");
            added += query
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(added)
    }

    async fn remove_ladder_customers(
        &self,
        workspace: WorkspaceId,
        entries: &[String],
    ) -> Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let mut removed = 0;
        for chunk in entries.chunks(CHUNK) {
            let mut query =
                QueryBuilder::<Sqlite>::new("DELETE FROM ladder_customers WHERE workspace_id = ");
            query.push_bind(workspace.0).push(" AND entry IN (");
            let mut list = query.separated(", ");
            for entry in chunk {
                list.push_bind(entry);
            }
            query.push(")");
            removed += query
                .build()
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn clear_ladder_customers(&self, workspace: WorkspaceId) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let removed = sqlx::query("DELETE FROM ladder_customers WHERE workspace_id = $1")
            .bind(workspace.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn ladder_customers_page(
        &self,
        workspace: WorkspaceId,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LadderCustomer>> {
        // TEXT compares with BINARY collation: byte order, as the contract says.
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM ladder_customers
             WHERE workspace_id = $1 AND ($2 IS NULL OR entry > $2)
             ORDER BY entry LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.0)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(customer_from)
            .collect()
    }

    async fn ladder_customer_counts(&self, workspace: WorkspaceId) -> Result<LadderCustomerCounts> {
        let row = sqlx::query(
            "SELECT count(*) AS total,
                    count(customer) AS resolved,
                    count(last_error) AS with_error,
                    coalesce(sum(attempted_at IS NULL), 0) AS pending
             FROM ladder_customers WHERE workspace_id = $1",
        )
        .bind(workspace.0)
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(LadderCustomerCounts {
            total: count(get(&row, "total")?),
            resolved: count(get(&row, "resolved")?),
            with_error: count(get(&row, "with_error")?),
            pending: count(get(&row, "pending")?),
        })
    }

    async fn record_ladder_customer_lookup(
        &self,
        workspace: WorkspaceId,
        entry: &str,
        lookup: &LadderCustomerLookup,
        now: Millis,
    ) -> Result<bool> {
        let query = match lookup {
            LadderCustomerLookup::Found(customer) => sqlx::query(
                "UPDATE ladder_customers SET customer = $3, resolved_at = $4, attempted_at = $4,
                     last_error = NULL
                 WHERE workspace_id = $1 AND entry = $2",
            )
            .bind(workspace.0)
            .bind(entry)
            .bind(customer.to_string())
            .bind(now),
            LadderCustomerLookup::NotFound(reason) => sqlx::query(
                "UPDATE ladder_customers SET customer = NULL, resolved_at = $4, attempted_at = $4,
                     last_error = $3
                 WHERE workspace_id = $1 AND entry = $2",
            )
            .bind(workspace.0)
            .bind(entry)
            .bind(reason)
            .bind(now),
            LadderCustomerLookup::Failed(reason) => sqlx::query(
                "UPDATE ladder_customers SET attempted_at = $4, last_error = $3
                 WHERE workspace_id = $1 AND entry = $2",
            )
            .bind(workspace.0)
            .bind(entry)
            .bind(reason)
            .bind(now),
        };
        let mut tx = self.write_tx().await?;
        let changed = query
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(changed > 0)
    }

    async fn ladder_places(&self, workspace: WorkspaceId, limit: u32) -> Result<Vec<LadderPlace>> {
        let mut places = Vec::new();
        for (kind, column) in [
            (LadderPlaceKind::City, "city"),
            (LadderPlaceKind::Region, "region"),
        ] {
            let sql = format!(
                "SELECT {column} AS name, count(*) AS open_invoices FROM ladder_receivables
                 WHERE workspace_id = $1 AND paid = 0 AND removed = 0 AND {column} IS NOT NULL
                 GROUP BY {column} ORDER BY open_invoices DESC, name LIMIT $2"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(workspace.0)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await
                .map_err(db_err)?;
            for row in rows {
                places.push(LadderPlace {
                    kind,
                    name: get(&row, "name")?,
                    open_invoices: count(get(&row, "open_invoices")?),
                });
            }
        }
        Ok(places)
    }
}
