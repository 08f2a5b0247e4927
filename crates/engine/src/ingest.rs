//! Durable webhook ingestion with group commit.
//!
//! Every webhook request hands its parsed delivery to one ingest worker and waits. The worker takes
//! whatever deliveries are waiting (up to a bound), stores them all in ONE transaction and then
//! answers each request. Under load many requests share one commit, so SQLite's single writer and
//! PostgreSQL's commit latency stop being the ceiling; with no load a delivery is committed alone
//! at once. Nothing is acknowledged before it is durable: a request gets `Ok` only after the commit.
//! If a grouped transaction fails, each delivery is retried alone so one bad delivery cannot make
//! the others fail.

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use balcao_domain::webhook::WebhookBatch;
use balcao_store::{IngestReport, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<IngestReport, IngestError>>;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("falha ao gravar o webhook: {0}")]
    Store(#[from] StoreError),
    #[error("o serviço de gravação está parando")]
    ShuttingDown,
}

#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Most deliveries in one transaction.
    pub max_group_deliveries: usize,
    /// Most messages + statuses in one transaction (bounds transaction size for 50-item batches).
    pub max_group_items: usize,
    /// Concurrent writers: 1 for SQLite (one writer anyway), a few for PostgreSQL.
    pub workers: usize,
    pub queue_capacity: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_group_deliveries: 256,
            max_group_items: 4000,
            workers: 1,
            queue_capacity: 8192,
        }
    }
}

#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<(WebhookBatch, Reply)>,
}

impl Ingestor {
    pub fn spawn(
        store: Arc<dyn Store>,
        clock: SharedClock,
        bus: EventBus,
        config: IngestConfig,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<(WebhookBatch, Reply)>(config.queue_capacity);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..config.workers.max(1) {
            let worker = Worker {
                store: store.clone(),
                clock: clock.clone(),
                bus: bus.clone(),
                config: config.clone(),
                rx: rx.clone(),
            };
            tokio::spawn(worker.run());
        }
        Ingestor { tx }
    }

    /// Stores one delivery durably; returns after the commit.
    pub async fn ingest(&self, batch: WebhookBatch) -> Result<IngestReport, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((batch, reply))
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        answer.await.map_err(|_| IngestError::ShuttingDown)?
    }
}

struct Worker {
    store: Arc<dyn Store>,
    clock: SharedClock,
    bus: EventBus,
    config: IngestConfig,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<(WebhookBatch, Reply)>>>,
}

fn size(batch: &WebhookBatch) -> usize {
    batch.messages.len() + batch.statuses.len() + batch.other.len()
}

impl Worker {
    async fn run(self) {
        loop {
            let group = {
                let mut rx = self.rx.lock().await;
                let Some(first) = rx.recv().await else { return };
                let mut items = size(&first.0);
                let mut group = vec![first];
                while group.len() < self.config.max_group_deliveries
                    && items < self.config.max_group_items
                {
                    match rx.try_recv() {
                        Ok(next) => {
                            items += size(&next.0);
                            group.push(next);
                        }
                        Err(_) => break,
                    }
                }
                group
            };
            self.commit(group).await;
        }
    }

    async fn commit(&self, group: Vec<(WebhookBatch, Reply)>) {
        let (batches, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        metrics::histogram!("balcao_ingest_group_deliveries").record(batches.len() as f64);
        match self.store.ingest(&batches, self.clock.now()).await {
            Ok(reports) => {
                for (report, reply) in reports.into_iter().zip(replies) {
                    self.publish(&report);
                    let _ = reply.send(Ok(report));
                }
            }
            Err(err) if batches.len() > 1 => {
                tracing::warn!(error = %err, deliveries = batches.len(), "group commit failed; storing deliveries one by one");
                for (batch, reply) in batches.into_iter().zip(replies) {
                    let result = self
                        .store
                        .ingest(std::slice::from_ref(&batch), self.clock.now())
                        .await
                        .map(|mut r| r.pop().unwrap_or_default())
                        .map_err(IngestError::from);
                    if let Ok(report) = &result {
                        self.publish(report);
                    }
                    let _ = reply.send(result);
                }
            }
            Err(err) => {
                for reply in replies {
                    let _ = reply.send(Err(IngestError::Store(StoreError::Database(
                        err.to_string(),
                    ))));
                }
            }
        }
    }

    fn publish(&self, report: &IngestReport) {
        metrics::counter!("balcao_webhook_messages_total", "result" => "new")
            .increment(report.messages_new.into());
        metrics::counter!("balcao_webhook_messages_total", "result" => "duplicate")
            .increment(report.messages_duplicate.into());
        metrics::counter!("balcao_webhook_statuses_total", "result" => "new")
            .increment(report.statuses_new.into());
        metrics::counter!("balcao_webhook_statuses_total", "result" => "duplicate")
            .increment(report.statuses_duplicate.into());
        if report.unrouted > 0 {
            metrics::counter!("balcao_webhook_unrouted_total").increment(report.unrouted.into());
            tracing::warn!(
                items = report.unrouted,
                "webhook items for an unknown phone_number_id or non-message change kept in unrouted"
            );
        }
        if !report.new_messages.is_empty() {
            self.bus.publish(BusEvent::InboundStored {
                conversations: report.conversations.clone(),
                messages: report.new_messages.clone(),
            });
        }
        if report.statuses_new > 0 {
            self.bus.publish(BusEvent::StatusesStored {
                count: report.statuses_new,
            });
        }
    }
}
