//! Payment sync: no management system pushes payments, so a poller per workspace asks for the
//! payments since its cursor and records each newly paid invoice as a payment event exactly once.
//! The events and the new cursor are written in one transaction, and the window overlaps the
//! previous one (boletos are posted days after payment; windows are whole days), so a crash or a
//! late posting never loses a payment and the store's unique key never repeats one.

use crate::SharedClock;
use crate::bus::{BusEvent, EventBus};
use crate::erp::{ErpDirectory, ErpSetupError};
use balcao_domain::{Millis, WorkspaceId};
use balcao_erp::{Customer, DetectedBy, System};
use balcao_store::{NewPaymentEvent, PaymentEvent, Store};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct PaymentSyncConfig {
    pub interval: Duration,
    /// How far back each poll reaches before the cursor.
    pub overlap: Duration,
    /// Where the first poll of a workspace starts.
    pub initial_lookback: Duration,
}

impl Default for PaymentSyncConfig {
    fn default() -> Self {
        PaymentSyncConfig {
            interval: Duration::from_secs(120),
            overlap: Duration::from_secs(3 * 24 * 3600),
            initial_lookback: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

/// Where the poll of a workspace starts: the cursor minus the overlap, or the initial lookback.
pub fn window_start(cursor: Option<Millis>, now: Millis, config: &PaymentSyncConfig) -> Millis {
    match cursor {
        Some(c) => c - config.overlap.as_millis() as Millis,
        None => now - config.initial_lookback.as_millis() as Millis,
    }
}

/// The store's form of an ERP payment.
pub fn to_new_event(system: &str, event: &balcao_erp::PaymentEvent) -> NewPaymentEvent {
    let how = match event.detected_by {
        DetectedBy::PaymentDateWindow => "payment_date_window",
        DetectedBy::StatusPoll => "status_poll",
    };
    NewPaymentEvent {
        invoice_erp_id: event.invoice_id.clone(),
        contract_erp_id: event.contract_id.clone(),
        // The systems' payment listings name the invoice and contract, not the customer.
        customer_erp_id: None,
        paid_at: event.paid_at.as_millisecond(),
        amount_cents: event.amount_cents,
        detected_by: format!("poll:{system}:{how}"),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Windows asked for (days, or one span).
    pub windows: usize,
    pub seen: usize,
    pub recorded: usize,
}

#[derive(Clone)]
pub struct PaymentPoller {
    pub store: Arc<dyn Store>,
    pub erp: ErpDirectory,
    pub clock: SharedClock,
    pub bus: EventBus,
    pub config: PaymentSyncConfig,
}

/// The windows one poll asks for, oldest first: one day per call where the system lists payments
/// by date (each call stays small and each completed day moves the cursor, so a failure or a
/// crash resumes from there), or the whole span at once where it polls customer by customer
/// (one pass over the customers instead of one per day).
pub fn plan_windows(start: Date, today: Date, per_day: bool) -> Vec<(Date, Date)> {
    if start > today {
        return vec![(today, today)];
    }
    if !per_day {
        return vec![(start, today)];
    }
    let mut out = Vec::new();
    let mut day = start;
    while day <= today {
        out.push((day, day));
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

impl PaymentPoller {
    /// One poll of one workspace. `customers` are polled one by one on systems that cannot list
    /// payments by date (Voalle, RadiusNet); the others ignore it.
    pub async fn poll_once(
        &self,
        workspace: WorkspaceId,
        customers: &[Customer],
    ) -> Result<(PollReport, Vec<PaymentEvent>), ErpSetupError> {
        let connection = self
            .store
            .erp_connection(workspace)
            .await?
            .ok_or(ErpSetupError::NotConfigured)?;
        let time_zone = self
            .store
            .workspace(workspace)
            .await?
            .and_then(|w| TimeZone::get(&w.time_zone).ok())
            .unwrap_or_else(|| TimeZone::get("America/Sao_Paulo").expect("bundled tz"));
        let adapter = self.erp.adapter(workspace).await?;
        let started = self.clock.now();
        let date_of = |ms: Millis| {
            Timestamp::from_millisecond(ms)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(time_zone.clone())
                .date()
        };
        let start = date_of(window_start(
            connection.payment_cursor,
            started,
            &self.config,
        ));
        let today = date_of(started);
        let per_day = !matches!(adapter.system(), System::Voalle | System::RadiusNet);
        let mut report = PollReport::default();
        let mut all = Vec::new();
        for (from, until) in plan_windows(start, today, per_day) {
            let found = adapter.payments_between(from, until, customers).await?;
            let events: Vec<NewPaymentEvent> = found
                .iter()
                .map(|e| to_new_event(&connection.system, e))
                .collect();
            // Payments of the days before `until + 1` are all seen; today is seen up to `started`.
            let cursor = match until.tomorrow() {
                Ok(next) if until < today => next
                    .to_zoned(time_zone.clone())
                    .map(|z| z.timestamp().as_millisecond())
                    .unwrap_or(started),
                _ => started,
            };
            let recorded = self
                .store
                .record_payments(workspace, &events, cursor, self.clock.now())
                .await?;
            metrics::counter!("balcao_payments_recorded_total").increment(recorded.len() as u64);
            for event in &recorded {
                self.bus.publish(BusEvent::PaymentRecorded {
                    workspace_id: workspace,
                    payment_event_id: event.id,
                });
            }
            report.seen += found.len();
            report.recorded += recorded.len();
            report.windows += 1;
            all.extend(recorded);
        }
        Ok((report, all))
    }

    /// Polls every connected workspace each interval until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.store.all_erp_connections().await {
                Ok(connections) => {
                    for connection in connections {
                        match self.poll_once(connection.workspace_id, &[]).await {
                            Ok((report, _)) if report.recorded > 0 => {
                                tracing::info!(workspace = %connection.workspace_id, recorded = report.recorded, "payments recorded");
                            }
                            Ok(_) => {}
                            Err(err) => {
                                metrics::counter!("balcao_payment_poll_errors_total").increment(1);
                                tracing::warn!(workspace = %connection.workspace_id, error = %err, "payment poll failed; will retry");
                            }
                        }
                    }
                }
                Err(err) => tracing::error!(error = %err, "listing ERP connections failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_days_or_one_span() {
        use jiff::civil::date;
        let days = plan_windows(date(2026, 11, 19), date(2026, 11, 21), true);
        assert_eq!(
            days,
            vec![
                (date(2026, 11, 19), date(2026, 11, 19)),
                (date(2026, 11, 20), date(2026, 11, 20)),
                (date(2026, 11, 21), date(2026, 11, 21)),
            ]
        );
        assert_eq!(
            plan_windows(date(2026, 11, 19), date(2026, 11, 21), false),
            vec![(date(2026, 11, 19), date(2026, 11, 21))]
        );
        // A cursor in the future (clock moved back) still polls today.
        assert_eq!(
            plan_windows(date(2026, 11, 22), date(2026, 11, 21), true),
            vec![(date(2026, 11, 21), date(2026, 11, 21))]
        );
    }

    #[test]
    fn the_window_overlaps_the_previous_poll() {
        let config = PaymentSyncConfig {
            overlap: Duration::from_secs(10),
            initial_lookback: Duration::from_secs(100),
            ..Default::default()
        };
        assert_eq!(window_start(Some(50_000), 60_000, &config), 40_000);
        assert_eq!(window_start(None, 200_000, &config), 100_000);
    }
}
