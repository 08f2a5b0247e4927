//! Provider management system connections and payment events (SQLite).

use crate::{SqliteStore, db_err};
use balcao_domain::{Millis, WorkspaceId};
use balcao_store::{ErpConnection, NewPaymentEvent, PaymentEvent, Result, StoreError};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const CONNECTION_COLUMNS: &str =
    "workspace_id, system, base_url, sealed_auth, payment_cursor, updated_at";
const EVENT_COLUMNS: &str = "id, workspace_id, invoice_erp_id, contract_erp_id, customer_erp_id, paid_at, amount_cents, detected_by, recorded_at";

fn connection_from(row: &SqliteRow) -> Result<ErpConnection> {
    Ok(ErpConnection {
        workspace_id: WorkspaceId(row.try_get("workspace_id").map_err(db_err)?),
        system: row.try_get("system").map_err(db_err)?,
        base_url: row.try_get("base_url").map_err(db_err)?,
        sealed_auth: row.try_get("sealed_auth").map_err(db_err)?,
        payment_cursor: row.try_get("payment_cursor").map_err(db_err)?,
        updated_at: row.try_get("updated_at").map_err(db_err)?,
    })
}

fn event_from(row: &SqliteRow) -> Result<PaymentEvent> {
    Ok(PaymentEvent {
        id: row.try_get("id").map_err(db_err)?,
        workspace_id: WorkspaceId(row.try_get("workspace_id").map_err(db_err)?),
        invoice_erp_id: row.try_get("invoice_erp_id").map_err(db_err)?,
        contract_erp_id: row.try_get("contract_erp_id").map_err(db_err)?,
        customer_erp_id: row.try_get("customer_erp_id").map_err(db_err)?,
        paid_at: row.try_get("paid_at").map_err(db_err)?,
        amount_cents: row.try_get("amount_cents").map_err(db_err)?,
        detected_by: row.try_get("detected_by").map_err(db_err)?,
        recorded_at: row.try_get("recorded_at").map_err(db_err)?,
    })
}

impl SqliteStore {
    pub(crate) async fn set_erp_connection_impl(
        &self,
        workspace: WorkspaceId,
        system: &str,
        base_url: &str,
        sealed_auth: &str,
        now: Millis,
    ) -> Result<ErpConnection> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "INSERT INTO erp_connections (workspace_id, system, base_url, sealed_auth, payment_cursor, updated_at)
             VALUES ($1, $2, $3, $4, NULL, $5)
             ON CONFLICT (workspace_id) DO UPDATE SET
                 payment_cursor = CASE WHEN erp_connections.system = excluded.system
                                        AND erp_connections.base_url = excluded.base_url
                                       THEN erp_connections.payment_cursor END,
                 system = excluded.system,
                 base_url = excluded.base_url,
                 sealed_auth = excluded.sealed_auth,
                 updated_at = excluded.updated_at
             RETURNING workspace_id, system, base_url, sealed_auth, payment_cursor, updated_at",
        )
        .bind(workspace.0)
        .bind(system)
        .bind(base_url)
        .bind(sealed_auth)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let connection = connection_from(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(connection)
    }

    pub(crate) async fn erp_connection_impl(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Option<ErpConnection>> {
        let sql =
            format!("SELECT {CONNECTION_COLUMNS} FROM erp_connections WHERE workspace_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(connection_from)
            .transpose()
    }

    pub(crate) async fn all_erp_connections_impl(&self) -> Result<Vec<ErpConnection>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM erp_connections ORDER BY workspace_id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(connection_from)
            .collect()
    }

    pub(crate) async fn record_payments_impl(
        &self,
        workspace: WorkspaceId,
        events: &[NewPaymentEvent],
        cursor: Millis,
        now: Millis,
    ) -> Result<Vec<PaymentEvent>> {
        let mut tx = self.write_tx().await?;
        let exists = sqlx::query("SELECT 1 FROM erp_connections WHERE workspace_id = $1")
            .bind(workspace.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let insert = format!(
            "INSERT INTO payment_events (workspace_id, invoice_erp_id, contract_erp_id, customer_erp_id, paid_at, amount_cents, detected_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (workspace_id, invoice_erp_id) DO NOTHING
             RETURNING {EVENT_COLUMNS}"
        );
        let mut recorded = Vec::new();
        for event in events {
            let row = sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                .bind(workspace.0)
                .bind(&event.invoice_erp_id)
                .bind(&event.contract_erp_id)
                .bind(&event.customer_erp_id)
                .bind(event.paid_at)
                .bind(event.amount_cents)
                .bind(&event.detected_by)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if let Some(row) = row {
                recorded.push(event_from(&row)?);
            }
        }
        sqlx::query(
            "UPDATE erp_connections SET payment_cursor = MAX(COALESCE(payment_cursor, $2), $2)
             WHERE workspace_id = $1",
        )
        .bind(workspace.0)
        .bind(cursor)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(recorded)
    }

    pub(crate) async fn payment_events_impl(
        &self,
        workspace: WorkspaceId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<PaymentEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM payment_events
             WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.0)
            .bind(after.unwrap_or(0))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(event_from)
            .collect()
    }
}
