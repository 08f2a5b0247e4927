//! Cross-node live updates: when the store is PostgreSQL, several nodes may serve the same
//! workspaces, each with its own in-process event bus. This wires the engine's bridge
//! (`balcao_engine::bus::bridge`: what is shared, the payloads, loop and own-echo prevention) to
//! PostgreSQL `LISTEN`/`NOTIFY` (`balcao_store_postgres::PgNotifier`). SQLite is one node: nothing
//! to do.

use balcao_engine::bus::bridge::{self, NodeId};
use balcao_engine::bus::{BusEvent, EventBus};
use balcao_store_postgres::{ListenEvent, MAX_NOTIFY_PAYLOAD, PgNotifier};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts the bridge's two tasks when `database_url` is PostgreSQL (none otherwise): one sends
/// this node's shared events to the others, one republishes theirs on `bus` (and publishes
/// [`BusEvent::Resync`] after its connection came back). Both stop when `shutdown` turns true.
/// Never fails the start: a bridge that cannot work logs, counts
/// `balcao_bus_bridge_errors_total` and keeps retrying, while this node runs on.
pub fn spawn(
    database_url: Option<&str>,
    bus: &EventBus,
    shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let Some(url) = database_url
        .filter(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    else {
        return Vec::new();
    };
    let notifier = match PgNotifier::new(url) {
        Ok(notifier) => Arc::new(notifier),
        Err(err) => {
            metrics::counter!(bridge::ERRORS_METRIC, "stage" => "connect").increment(1);
            tracing::error!(error = %err, "bus bridge disabled: other nodes' live updates will not show here");
            return Vec::new();
        }
    };
    let node = NodeId::random();
    tracing::info!(%node, "event bus bridged to the other nodes through PostgreSQL");

    // Subscribed before returning, so nothing published once the app runs is missed.
    let events = bus.subscribe();
    let sender = notifier.clone();
    let mut stop = shutdown.clone();
    let forwarder = tokio::spawn(async move {
        let forward = bridge::forward(events, node, MAX_NOTIFY_PAYLOAD, move |payload| {
            let sender = sender.clone();
            async move { sender.notify(&payload).await }
        });
        tokio::select! {
            _ = forward => {}
            _ = stop.wait_for(|stop| *stop) => {}
        }
    });

    let bus = bus.clone();
    let mut stop = shutdown;
    let listener = tokio::spawn(async move {
        let listen = notifier.listen(|event| match event {
            ListenEvent::Listening { reconnected } => {
                if reconnected {
                    tracing::info!("bus bridge listening again; live views resync");
                    bus.publish(BusEvent::Resync);
                }
            }
            ListenEvent::Notification(payload) => bridge::republish(&bus, node, payload),
            ListenEvent::Failed { error } => {
                metrics::counter!(bridge::ERRORS_METRIC, "stage" => "listen").increment(1);
                tracing::warn!(%error, "bus bridge: listening connection lost; reconnecting");
            }
        });
        tokio::select! {
            _ = listen => {}
            _ = stop.wait_for(|stop| *stop) => {}
        }
    });
    vec![forwarder, listener]
}
