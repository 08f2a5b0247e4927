//! One sender loop per WhatsApp number. It owns the number's outbox and:
//! - paces sends with a token bucket at the number's throughput, with a small burst, so the Graph
//!   API never answers 130429 because of us;
//! - keeps WhatsApp's pair limit per recipient (deferring only that recipient's messages);
//! - re-checks the 24-hour window at send time (a queued free-form message whose window closed
//!   meanwhile fails with a clear reason instead of being silently dropped by WhatsApp);
//! - classifies Graph errors: retry with capped exponential backoff, or fail for good;
//! - survives crashes: a message is marked `sending` (and committed) before the HTTP call and
//!   carries its idempotency key as `biz_opaque_callback_data`; after a crash, statuses carrying
//!   that key reconcile it, and only messages with no evidence of delivery are sent again.
//!
//! Outcomes are recorded in small batches by a recorder task, one transaction per batch.

use crate::SharedClock;
use crate::outbox::Outbox;
use balcao_domain::outbound::{ErrorAction, SendError};
use balcao_domain::pacing::{PairLimiter, TokenBucket};
use balcao_domain::window::Window;
use balcao_domain::{MessageId, Millis, WorkspaceId};
use balcao_store::{OutboundJob, SendOutcome, Store, WhatsAppNumber};
use balcao_whatsapp::client::{GraphCallError, GraphClient};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};

#[derive(Clone, Debug)]
pub struct SenderConfig {
    /// Most messages claimed per round.
    pub claim_batch: u32,
    /// How long a claim holds a message before another round (or node) may reconcile it.
    pub lease_millis: i64,
    /// Concurrent Graph API calls per number.
    pub max_in_flight: usize,
    /// After a lease expired, how long to wait for a status proving the send reached WhatsApp
    /// before sending again.
    pub resend_after_millis: i64,
    pub retry_base_millis: i64,
    pub retry_cap_millis: i64,
    /// Attempts before a retryable error becomes a failure.
    pub max_attempts: u32,
    /// How long an idle sender sleeps when nothing wakes it.
    pub idle_poll: Duration,
    /// Burst allowed by the pacing bucket, in seconds of throughput.
    pub burst_seconds: f64,
    /// How often to look for expired claims.
    pub reconcile_every: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            claim_batch: 200,
            lease_millis: 30_000,
            max_in_flight: 128,
            resend_after_millis: 120_000,
            retry_base_millis: 2_000,
            retry_cap_millis: 10 * 60_000,
            max_attempts: 10,
            idle_poll: Duration::from_millis(500),
            burst_seconds: 0.05,
            reconcile_every: Duration::from_secs(10),
        }
    }
}

/// Exponential backoff from the attempt count (1-based), capped, with a deterministic jitter of up
/// to 20% from the message id so retries of many messages spread out.
pub fn backoff_millis(attempts: u32, base: i64, cap: i64, message: MessageId) -> i64 {
    let exp = attempts.saturating_sub(1).min(30);
    let raw = base.saturating_mul(1i64 << exp).min(cap);
    let jitter = (message.0.unsigned_abs() % 5) as i64 * raw / 25;
    (raw + jitter).min(cap)
}

/// What to record for a failed Graph call, or `None` when the call is ambiguous (WhatsApp may have
/// accepted it): then the message stays `sending` and reconciliation decides.
pub fn outcome_for_error(
    job: &OutboundJob,
    error: &GraphCallError,
    config: &SenderConfig,
    now: Millis,
) -> Option<SendOutcome> {
    if error.is_ambiguous() {
        return None;
    }
    let send_error = error.to_send_error();
    let retry_at = |delay: i64| {
        if job.attempts >= config.max_attempts {
            SendOutcome::Failed {
                message_id: job.message_id,
                error: send_error.clone(),
            }
        } else {
            SendOutcome::Retry {
                message_id: job.message_id,
                next_attempt_at: now + delay,
                error: send_error.clone(),
            }
        }
    };
    Some(match error.action() {
        ErrorAction::RetryWithBackoff => retry_at(backoff_millis(
            job.attempts,
            config.retry_base_millis,
            config.retry_cap_millis,
            job.message_id,
        )),
        // Pair limit: 4^attempt seconds, as Meta advises.
        ErrorAction::RetryRecipientLater => {
            let secs = 4i64.saturating_pow(job.attempts.min(6));
            retry_at((secs * 1000).min(config.retry_cap_millis))
        }
        ErrorAction::RetryAfterMinute => retry_at(60_000),
        ErrorAction::Fail => SendOutcome::Failed {
            message_id: job.message_id,
            error: send_error,
        },
        ErrorAction::FailAndAlertOperator => {
            tracing::error!(
                code = send_error.code,
                "WhatsApp rejected the credentials or permissions of a number: check its access token"
            );
            metrics::counter!("balcao_sender_operator_alerts_total").increment(1);
            SendOutcome::Failed {
                message_id: job.message_id,
                error: send_error,
            }
        }
    })
}

/// Local refusal when the window closed while the message waited in the outbox.
pub fn window_closed_error() -> SendError {
    SendError {
        code: 131047,
        title: "fora da janela de 24 horas".into(),
        details: Some(
            "a janela fechou enquanto a mensagem aguardava envio; envie um modelo aprovado".into(),
        ),
    }
}

pub struct NumberSender {
    pub store: Arc<dyn Store>,
    pub client: GraphClient,
    pub number: WhatsAppNumber,
    pub access_token: String,
    pub clock: SharedClock,
    pub outbox: Outbox,
    pub config: SenderConfig,
}

impl NumberSender {
    /// Runs until `shutdown` turns true; waits for in-flight calls before returning.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let (outcomes_tx, outcomes_rx) = mpsc::channel::<SendOutcome>(4096);
        let recorder = tokio::spawn(record_outcomes(
            this.store.clone(),
            this.clock.clone(),
            outcomes_rx,
        ));
        let waker = this.outbox.waker(this.number.id);
        let started = Instant::now();
        let mono = || started.elapsed().as_millis() as Millis;
        let mps = f64::from(this.number.throughput_mps.max(1));
        let mut bucket = TokenBucket::new(mps, (mps * this.config.burst_seconds).max(1.0), mono());
        let mut pairs = PairLimiter::whatsapp();
        let in_flight = Arc::new(Semaphore::new(this.config.max_in_flight));
        let mut last_reconcile: Option<Instant> = None;

        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_reconcile.is_none_or(|t| t.elapsed() >= this.config.reconcile_every) {
                last_reconcile = Some(Instant::now());
                this.reconcile().await;
                pairs.forget_idle(this.clock.now());
            }
            let tokens = bucket.available(mono());
            if tokens == 0 {
                let wait = bucket.next_token_at(mono()) - mono();
                tokio::time::sleep(Duration::from_millis(wait.max(1) as u64)).await;
                continue;
            }
            let permits = in_flight.available_permits();
            if permits == 0 {
                // Wait for one call to finish.
                drop(in_flight.clone().acquire_owned().await);
                continue;
            }
            let limit = (tokens as usize)
                .min(permits)
                .min(this.config.claim_batch as usize) as u32;
            let now = this.clock.now();
            let jobs = match this
                .store
                .claim_outbound(this.number.id, now, limit, this.config.lease_millis)
                .await
            {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::error!(error = %err, number = %this.number.id, "claiming outbox messages failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = waker.notified() => {}
                    _ = tokio::time::sleep(this.config.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for job in jobs {
                if !job.content.is_template() && !Window::at(job.last_inbound_at, now).is_open() {
                    metrics::counter!("balcao_sender_window_closed_total").increment(1);
                    let _ = outcomes_tx
                        .send(SendOutcome::Failed {
                            message_id: job.message_id,
                            error: window_closed_error(),
                        })
                        .await;
                    continue;
                }
                if let Err(next_at) = pairs.try_take(job.to.as_str(), now) {
                    metrics::counter!("balcao_sender_pair_deferred_total").increment(1);
                    let _ = outcomes_tx
                        .send(SendOutcome::Deferred {
                            message_id: job.message_id,
                            next_attempt_at: next_at,
                        })
                        .await;
                    continue;
                }
                // Counted by `available` above; a token is there.
                bucket.try_take(mono());
                let permit = in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed");
                let this = this.clone();
                let outcomes_tx = outcomes_tx.clone();
                tokio::spawn(async move {
                    let outcome = this.send_one(&job).await;
                    drop(permit);
                    if let Some(outcome) = outcome {
                        let _ = outcomes_tx.send(outcome).await;
                    }
                });
            }
        }
        // Let in-flight calls finish and their outcomes be recorded.
        let _ = in_flight
            .acquire_many(this.config.max_in_flight as u32)
            .await;
        drop(outcomes_tx);
        let _ = recorder.await;
    }

    async fn send_one(&self, job: &OutboundJob) -> Option<SendOutcome> {
        let started = Instant::now();
        let result = self
            .client
            .send(
                &self.number.phone_number_id,
                &self.access_token,
                &job.to,
                &job.content,
                Some(&job.idempotency_key),
                None,
            )
            .await;
        metrics::histogram!("balcao_sender_call_seconds").record(started.elapsed().as_secs_f64());
        match result {
            Ok(accepted) => {
                metrics::counter!("balcao_sender_sent_total").increment(1);
                Some(SendOutcome::Accepted {
                    message_id: job.message_id,
                    wamid: accepted.wamid,
                    wa_id: accepted.wa_id,
                })
            }
            Err(error) => {
                let code = error.to_send_error().code.to_string();
                metrics::counter!("balcao_sender_errors_total", "code" => code).increment(1);
                tracing::warn!(message = %job.message_id, error = %error, "send failed");
                outcome_for_error(job, &error, &self.config, self.clock.now())
            }
        }
    }

    async fn reconcile(&self) {
        match self
            .store
            .reconcile_in_flight(
                self.number.id,
                self.clock.now(),
                self.config.resend_after_millis,
            )
            .await
        {
            Ok((0, 0)) => {}
            Ok((reconciled, requeued)) => {
                tracing::warn!(number = %self.number.id, reconciled, requeued, "reconciled messages left in flight");
            }
            Err(err) => tracing::error!(error = %err, "reconciling in-flight messages failed"),
        }
    }
}

/// Records outcomes in batches. A failed write is retried; if the process dies first, the messages
/// stay `sending` and reconciliation recovers them, so no outcome is needed for safety.
async fn record_outcomes(
    store: Arc<dyn Store>,
    clock: SharedClock,
    mut rx: mpsc::Receiver<SendOutcome>,
) {
    let mut batch = Vec::with_capacity(512);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut delay = Duration::from_millis(50);
        loop {
            match store.record_send_outcomes(&batch, clock.now()).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::error!(error = %err, outcomes = batch.len(), "recording send outcomes failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}

/// Marks an inbound message as read on WhatsApp (blue ticks), best effort.
pub async fn mark_read(
    store: &dyn Store,
    client: &GraphClient,
    access_token: &str,
    workspace: WorkspaceId,
    message: MessageId,
) -> Result<(), String> {
    let msg = store
        .message(workspace, message)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "mensagem não encontrada".to_string())?;
    let wamid = msg.wamid.ok_or("mensagem sem wamid")?;
    let number = store
        .numbers(workspace)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|n| n.id == msg.number_id)
        .ok_or("número não encontrado")?;
    client
        .mark_read(&number.phone_number_id, access_token, &wamid, false)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let m = MessageId(0);
        assert_eq!(backoff_millis(1, 1000, 60_000, m), 1000);
        assert_eq!(backoff_millis(2, 1000, 60_000, m), 2000);
        assert_eq!(backoff_millis(3, 1000, 60_000, m), 4000);
        assert_eq!(backoff_millis(20, 1000, 60_000, m), 60_000);
        assert!(backoff_millis(1, 1000, 60_000, MessageId(4)) > 1000);
        assert!(backoff_millis(40, 1000, 60_000, MessageId(4)) <= 60_000);
    }
}
