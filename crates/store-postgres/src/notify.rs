//! Cross-node notifications over PostgreSQL `LISTEN`/`NOTIFY`: the transport of the engine's
//! event-bus bridge. Payloads are opaque strings here (the engine encodes them as JSON), so this
//! crate knows nothing of the engine's events.
//!
//! The channel is derived from the connection's schema, so deployments (or test runs) sharing one
//! database in different schemas never hear each other. Notifications are transient: while the
//! listening connection is down they are lost, which is why [`ListenEvent::Listening`] says
//! whether this is a reconnection (the caller then tells its live views to resync).

use crate::{db_err, parse_url};
use balcao_store::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::time::Duration;
use tokio::sync::OnceCell;

/// The channel of the default (`public`) schema; other schemas get `balcao_events.<schema>`.
pub const BUS_CHANNEL: &str = "balcao_events";
/// PostgreSQL refuses a `NOTIFY` payload of 8000 bytes or more.
pub const MAX_NOTIFY_PAYLOAD: usize = 7999;
/// What the listening connection is called in `pg_stat_activity` (operators can find it there).
pub const LISTENER_APPLICATION_NAME: &str = "balcao-bus-listener";

/// Channel names are identifiers: at most 63 bytes (`NAMEDATALEN - 1`).
const MAX_CHANNEL_BYTES: usize = 63;
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// The channel for a connection whose `current_schema()` is `schema` (`None`: no schema on the
/// search path exists). Long schema names are cut to the identifier limit.
pub fn channel_for_schema(schema: Option<&str>) -> String {
    let Some(schema) = schema.filter(|s| *s != "public") else {
        return BUS_CHANNEL.to_owned();
    };
    let mut channel = format!("{BUS_CHANNEL}.{schema}");
    if channel.len() > MAX_CHANNEL_BYTES {
        let mut cut = MAX_CHANNEL_BYTES;
        while !channel.is_char_boundary(cut) {
            cut -= 1;
        }
        channel.truncate(cut);
    }
    channel
}

/// What [`PgNotifier::listen`] reports to its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum ListenEvent<'a> {
    /// `LISTEN` is active: every notification from now on arrives. `reconnected` is false only
    /// for the first connection when it succeeded at the first attempt; otherwise notifications
    /// sent meanwhile were missed.
    Listening { reconnected: bool },
    /// A notification from any node (this one included) on the channel.
    Notification(&'a str),
    /// The listening connection failed or could not be opened; it is retried with backoff.
    Failed { error: String },
}

/// Sends and receives the notifications of one database (and schema). Opens its connections
/// lazily: one for sending, one held by [`PgNotifier::listen`].
pub struct PgNotifier {
    options: PgConnectOptions,
    pool: PgPool,
    channel: OnceCell<String>,
}

impl PgNotifier {
    /// For the database at `url` (the same URL as the store, `options=-c search_path=…`
    /// included). Opens no connection yet, so it fails only on a malformed URL.
    pub fn new(url: &str) -> Result<PgNotifier> {
        let options = parse_url(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            // A stalled database must not hold the sender for long: the notification is dropped
            // (and counted by the caller) instead.
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options.clone());
        Ok(PgNotifier {
            options,
            pool,
            channel: OnceCell::new(),
        })
    }

    /// The channel of this database's schema (asked once, on first use).
    pub async fn channel(&self) -> Result<&str> {
        self.channel
            .get_or_try_init(|| async {
                let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok::<_, StoreError>(channel_for_schema(schema.as_deref()))
            })
            .await
            .map(String::as_str)
    }

    /// Sends `payload` to every listener of the channel (this node's included: receivers skip
    /// their own). Refused without a round trip when longer than [`MAX_NOTIFY_PAYLOAD`].
    pub async fn notify(&self, payload: &str) -> Result<()> {
        if payload.len() > MAX_NOTIFY_PAYLOAD {
            return Err(StoreError::Conflict(format!(
                "notificação de {} bytes excede o limite de {MAX_NOTIFY_PAYLOAD}",
                payload.len()
            )));
        }
        let channel = self.channel().await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Listens on the channel and reports to `on_event` until the returned future is dropped
    /// (it never completes). A lost connection is replaced at once, then with a backoff of up
    /// to 10 s while the database stays unreachable.
    pub async fn listen(&self, mut on_event: impl FnMut(ListenEvent<'_>)) {
        let options = self
            .options
            .clone()
            .application_name(LISTENER_APPLICATION_NAME);
        let mut first_attempt = true;
        let mut backoff = RETRY_FIRST;
        loop {
            let reconnected = !first_attempt;
            first_attempt = false;
            match self.open_listener(&options).await {
                Ok((listener, pool)) => {
                    backoff = RETRY_FIRST;
                    on_event(ListenEvent::Listening { reconnected });
                    let error = receive_until_lost(listener, &mut on_event).await;
                    // The dead connection goes with its pool; the next attempt opens a new one.
                    drop(pool);
                    on_event(ListenEvent::Failed { error });
                }
                Err(err) => {
                    on_event(ListenEvent::Failed {
                        error: err.to_string(),
                    });
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        }
    }

    async fn open_listener(&self, options: &PgConnectOptions) -> Result<(PgListener, PgPool)> {
        let channel = self.channel().await?;
        // A pool of one connection held for as long as it lives: PgListener needs a pool.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        let mut listener = PgListener::connect_with(&pool).await.map_err(db_err)?;
        // Reconnections are ours (so the caller learns of them), not sqlx's silent ones.
        listener.eager_reconnect(false);
        listener.listen(channel).await.map_err(db_err)?;
        Ok((listener, pool))
    }
}

/// Hands every notification to `on_event` until the connection is lost; returns why.
async fn receive_until_lost(
    mut listener: PgListener,
    on_event: &mut impl FnMut(ListenEvent<'_>),
) -> String {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => on_event(ListenEvent::Notification(notification.payload())),
            Ok(None) => return "conexão de escuta perdida".to_owned(),
            Err(err) => return err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_schema_uses_the_plain_channel() {
        assert_eq!(channel_for_schema(Some("public")), "balcao_events");
        assert_eq!(channel_for_schema(None), "balcao_events");
        assert_eq!(channel_for_schema(Some("t_12_3")), "balcao_events.t_12_3");
    }

    #[test]
    fn long_schema_names_are_cut_to_an_identifier() {
        let long = "é".repeat(40);
        let channel = channel_for_schema(Some(&long));
        assert!(channel.len() <= MAX_CHANNEL_BYTES, "{}", channel.len());
        assert!(channel.starts_with("balcao_events.é"));
        let other = channel_for_schema(Some(&"x".repeat(63)));
        assert_eq!(other.len(), MAX_CHANNEL_BYTES);
    }
}
