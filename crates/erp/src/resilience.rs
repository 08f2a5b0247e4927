//! Keeping a slow or failing ERP from taking the product down with it: a timeout on every call,
//! retries with backoff for reads only (a write that timed out may have happened), a circuit
//! breaker per connected system, and a short cache for repeated reads that writes invalidate.
//! (Rate limits are per HTTP request, in [`crate::http`].)
//!
//! The state machines ([`CircuitBreaker`], [`TtlCache`], [`RetryPolicy`]) take the time as an
//! argument and are tested with plain values; [`Resilient`] wires them to the clock.

use crate::adapter::ErpAdapter;
use crate::error::{ErpError, Operation};
use crate::model::{
    ConnectionStatus, Contract, Customer, Invoice, NewTicket, PaymentEvent, Receivable, System,
    Ticket, UnlockResult,
};
use async_trait::async_trait;
use balcao_domain::br::{BrPhone, Document};
use balcao_domain::{Millis, now_millis};
use jiff::civil::Date;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Circuit breaker
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive outage failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe call is let through.
    pub open_for_ms: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        until: Millis,
    },
    /// One probe call is out; others fail fast until it answers (or is presumed lost).
    HalfOpen {
        probe_started: Millis,
    },
}

#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    state: BreakerState,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            state: BreakerState::Closed {
                consecutive_failures: 0,
            },
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a call may go out at `now`. Passing the open period turns this call into the probe.
    pub fn try_acquire(&mut self, now: Millis) -> bool {
        match self.state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen { probe_started: now };
                true
            }
            BreakerState::Open { .. } => false,
            // A probe whose caller gave up never reports back; after another open period, let a
            // new probe out instead of staying stuck.
            BreakerState::HalfOpen { probe_started }
                if now - probe_started >= self.policy.open_for_ms =>
            {
                self.state = BreakerState::HalfOpen { probe_started: now };
                true
            }
            BreakerState::HalfOpen { .. } => false,
        }
    }

    /// The system answered (even with a business refusal): it is up.
    pub fn record_success(&mut self) {
        self.state = BreakerState::Closed {
            consecutive_failures: 0,
        };
    }

    /// The system is unreachable, failing or too slow.
    pub fn record_failure(&mut self, now: Millis) {
        let open = BreakerState::Open {
            until: now + self.policy.open_for_ms,
        };
        self.state = match self.state {
            BreakerState::Closed {
                consecutive_failures,
            } => {
                let failures = consecutive_failures + 1;
                if failures >= self.policy.failure_threshold {
                    open
                } else {
                    BreakerState::Closed {
                        consecutive_failures: failures,
                    }
                }
            }
            BreakerState::HalfOpen { .. } => open,
            BreakerState::Open { until } => BreakerState::Open { until },
        };
    }
}

// ---------------------------------------------------------------------------------------------
// TTL cache
// ---------------------------------------------------------------------------------------------

/// A small time-limited map. Bounded: when full, expired entries go first, then the oldest.
#[derive(Clone, Debug)]
pub struct TtlCache<V> {
    ttl_ms: Millis,
    capacity: usize,
    entries: HashMap<String, (V, Millis)>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl_ms: Millis, capacity: usize) -> Self {
        TtlCache {
            ttl_ms,
            capacity: capacity.max(1),
            entries: HashMap::new(),
        }
    }

    pub fn get(&self, key: &str, now: Millis) -> Option<V> {
        self.entries
            .get(key)
            .filter(|(_, stored_at)| now - stored_at < self.ttl_ms)
            .map(|(value, _)| value.clone())
    }

    pub fn insert(&mut self, key: String, value: V, now: Millis) {
        if self.ttl_ms <= 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl_ms;
            self.entries
                .retain(|_, (_, stored_at)| now - *stored_at < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, stored_at))| *stored_at)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (value, now));
    }

    pub fn invalidate_all(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts for a read, the first included (writes always get one).
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl RetryPolicy {
    /// Delay before attempt `next_attempt` (2 for the first retry): doubling from the base, capped.
    pub fn delay_before(&self, next_attempt: u32) -> Duration {
        let exponent = next_attempt.saturating_sub(2).min(20);
        let delay = self.base_delay_ms.saturating_mul(1 << exponent);
        Duration::from_millis(delay.min(self.max_delay_ms))
    }

    /// Whether a failed attempt number `attempt` of `operation` is tried again.
    pub fn should_retry(&self, operation: Operation, attempt: u32, error: &ErpError) -> bool {
        operation.is_read() && error.is_transient() && attempt < self.max_attempts
    }
}

// ---------------------------------------------------------------------------------------------
// The wrapper
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResiliencePolicy {
    /// Deadline of one attempt of one operation (all its HTTP requests together).
    pub call_timeout: Duration,
    /// Deadline of one attempt of a whole receivables listing, which pages through the provider's
    /// base or asks customer after customer (each request still has its own timeout). Generous:
    /// Voalle answers about 25 customers a minute.
    pub listing_timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// How long repeated reads are answered from memory; zero disables the cache.
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
}

impl Default for ResiliencePolicy {
    fn default() -> Self {
        ResiliencePolicy {
            call_timeout: Duration::from_secs(15),
            listing_timeout: Duration::from_secs(2 * 3600),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay_ms: 300,
                max_delay_ms: 3_000,
            },
            breaker: BreakerPolicy {
                failure_threshold: 5,
                open_for_ms: 30_000,
            },
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 2_000,
        }
    }
}

/// Cached read results.
#[derive(Clone, Debug)]
enum Cached {
    Customer(Option<Customer>),
    Customers(Vec<Customer>),
    Contracts(Vec<Contract>),
    Invoices(Vec<Invoice>),
    Connection(ConnectionStatus),
}

/// An adapter behind timeouts, read retries, a circuit breaker and a read cache.
pub struct Resilient<A> {
    inner: A,
    policy: ResiliencePolicy,
    breaker: Mutex<CircuitBreaker>,
    cache: Mutex<TtlCache<Cached>>,
}

impl<A: ErpAdapter> Resilient<A> {
    pub fn new(inner: A, policy: ResiliencePolicy) -> Self {
        Resilient {
            breaker: Mutex::new(CircuitBreaker::new(policy.breaker)),
            cache: Mutex::new(TtlCache::new(
                policy.cache_ttl.as_millis() as Millis,
                policy.cache_capacity,
            )),
            inner,
            policy,
        }
    }

    pub fn inner(&self) -> &A {
        &self.inner
    }

    pub fn breaker_state(&self) -> BreakerState {
        lock(&self.breaker).state()
    }

    /// Drops every cached read (e.g. after a payment was noticed elsewhere).
    pub fn invalidate_cache(&self) {
        lock(&self.cache).invalidate_all();
    }

    fn cached(&self, key: &str) -> Option<Cached> {
        lock(&self.cache).get(key, now_millis())
    }

    fn remember(&self, key: String, value: Cached) {
        lock(&self.cache).insert(key, value, now_millis());
    }

    /// Runs `call` under the call timeout, the breaker and (for reads) the retry policy.
    async fn run<T, F, Fut>(&self, operation: Operation, call: F) -> Result<T, ErpError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ErpError>>,
    {
        self.run_within(operation, self.policy.call_timeout, call)
            .await
    }

    /// [`Self::run`] with `deadline` for each attempt.
    async fn run_within<T, F, Fut>(
        &self,
        operation: Operation,
        deadline: Duration,
        call: F,
    ) -> Result<T, ErpError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ErpError>>,
    {
        let mut attempt = 1;
        loop {
            if !lock(&self.breaker).try_acquire(now_millis()) {
                return Err(ErpError::Unavailable(format!(
                    "{} fora do ar (circuito aberto após falhas seguidas)",
                    self.inner.system().display_name()
                )));
            }
            let outcome = match tokio::time::timeout(deadline, call()).await {
                Ok(result) => result,
                Err(_) => Err(ErpError::Timeout),
            };
            {
                let mut breaker = lock(&self.breaker);
                match &outcome {
                    Err(error) if error.counts_as_outage() => breaker.record_failure(now_millis()),
                    _ => breaker.record_success(),
                }
            }
            match outcome {
                Err(error) if self.policy.retry.should_retry(operation, attempt, &error) => {
                    attempt += 1;
                    tracing::debug!(
                        system = %self.inner.system(),
                        operation = operation.as_str(),
                        attempt,
                        %error,
                        "retrying erp read"
                    );
                    tokio::time::sleep(self.policy.retry.delay_before(attempt)).await;
                }
                Err(error) => {
                    if !matches!(error, ErpError::NotSupported { .. } | ErpError::NotFound) {
                        tracing::warn!(
                            system = %self.inner.system(),
                            operation = operation.as_str(),
                            %error,
                            "erp call failed"
                        );
                    }
                    return Err(error);
                }
                ok => return ok,
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn cache_key(operation: Operation, argument: &str) -> String {
    format!("{}:{argument}", operation.as_str())
}

#[async_trait]
impl<A: ErpAdapter> ErpAdapter for Resilient<A> {
    fn system(&self) -> System {
        self.inner.system()
    }

    async fn find_customer_by_document(
        &self,
        document: &Document,
    ) -> Result<Option<Customer>, ErpError> {
        let key = cache_key(Operation::FindCustomerByDocument, document.as_str());
        if let Some(Cached::Customer(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::FindCustomerByDocument, || {
                self.inner.find_customer_by_document(document)
            })
            .await?;
        self.remember(key, Cached::Customer(found.clone()));
        Ok(found)
    }

    async fn find_customer_by_login(&self, login: &str) -> Result<Option<Customer>, ErpError> {
        let key = cache_key(Operation::FindCustomerByLogin, login);
        if let Some(Cached::Customer(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::FindCustomerByLogin, || {
                self.inner.find_customer_by_login(login)
            })
            .await?;
        self.remember(key, Cached::Customer(found.clone()));
        Ok(found)
    }

    async fn find_customers_by_phone(&self, phone: &BrPhone) -> Result<Vec<Customer>, ErpError> {
        let key = cache_key(Operation::FindCustomersByPhone, &phone.national());
        if let Some(Cached::Customers(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::FindCustomersByPhone, || {
                self.inner.find_customers_by_phone(phone)
            })
            .await?;
        self.remember(key, Cached::Customers(found.clone()));
        Ok(found)
    }

    async fn contracts(&self, customer: &Customer) -> Result<Vec<Contract>, ErpError> {
        let key = cache_key(Operation::Contracts, &customer.erp_id);
        if let Some(Cached::Contracts(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::Contracts, || self.inner.contracts(customer))
            .await?;
        self.remember(key, Cached::Contracts(found.clone()));
        Ok(found)
    }

    async fn open_invoices(&self, customer: &Customer) -> Result<Vec<Invoice>, ErpError> {
        let key = cache_key(Operation::OpenInvoices, &customer.erp_id);
        if let Some(Cached::Invoices(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::OpenInvoices, || {
                self.inner.open_invoices(customer)
            })
            .await?;
        self.remember(key, Cached::Invoices(found.clone()));
        Ok(found)
    }

    /// Never cached: this is the "check right before sending" read.
    async fn invoice(&self, customer: &Customer, invoice_id: &str) -> Result<Invoice, ErpError> {
        self.run(Operation::Invoice, || {
            self.inner.invoice(customer, invoice_id)
        })
        .await
    }

    async fn invoice_pdf(&self, invoice: &Invoice) -> Result<Vec<u8>, ErpError> {
        self.run(Operation::InvoicePdf, || self.inner.invoice_pdf(invoice))
            .await
    }

    async fn trust_unlock(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let result = self
            .run(Operation::TrustUnlock, || self.inner.trust_unlock(contract))
            .await;
        // Even a failed or timed-out write may have changed the contract.
        self.invalidate_cache();
        result
    }

    async fn connection_status(&self, contract: &Contract) -> Result<ConnectionStatus, ErpError> {
        let key = cache_key(Operation::ConnectionStatus, &contract.erp_id);
        if let Some(Cached::Connection(hit)) = self.cached(&key) {
            return Ok(hit);
        }
        let found = self
            .run(Operation::ConnectionStatus, || {
                self.inner.connection_status(contract)
            })
            .await?;
        self.remember(key, Cached::Connection(found.clone()));
        Ok(found)
    }

    async fn open_ticket(&self, ticket: &NewTicket) -> Result<Ticket, ErpError> {
        let result = self
            .run(Operation::OpenTicket, || self.inner.open_ticket(ticket))
            .await;
        self.invalidate_cache();
        result
    }

    async fn payments_between(
        &self,
        from: Date,
        until: Date,
        customers: &[Customer],
    ) -> Result<Vec<PaymentEvent>, ErpError> {
        let events = self
            .run(Operation::Payments, || {
                self.inner.payments_between(from, until, customers)
            })
            .await?;
        if !events.is_empty() {
            // Paid invoices are no longer open: cached invoice lists are stale.
            self.invalidate_cache();
        }
        Ok(events)
    }

    /// Retried as a whole, under `listing_timeout`, never cached: the ladder plans on it and a
    /// paid invoice must drop out at the next read.
    async fn receivables(
        &self,
        due_from: Date,
        due_until: Date,
        customers: &[Customer],
    ) -> Result<Vec<Receivable>, ErpError> {
        self.run_within(Operation::Receivables, self.policy.listing_timeout, || {
            self.inner.receivables(due_from, due_until, customers)
        })
        .await
    }

    fn lists_receivables_in_bulk(&self) -> bool {
        self.inner.lists_receivables_in_bulk()
    }

    /// A write where the system has a release action: tried once, and the cache dropped.
    async fn restore_after_payment(&self, contract: &Contract) -> Result<UnlockResult, ErpError> {
        let result = self
            .run(Operation::RestoreAfterPayment, || {
                self.inner.restore_after_payment(contract)
            })
            .await;
        self.invalidate_cache();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContractStatus, InvoiceStatus, UnlockRefusal};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn breaker(threshold: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerPolicy {
            failure_threshold: threshold,
            open_for_ms: 1_000,
        })
    }

    #[test]
    fn breaker_opens_after_threshold_consecutive_failures() {
        let mut b = breaker(3);
        assert!(b.try_acquire(0));
        b.record_failure(0);
        b.record_failure(1);
        assert!(b.try_acquire(2), "still closed after two failures");
        b.record_failure(2);
        assert_eq!(b.state(), BreakerState::Open { until: 1_002 });
        assert!(!b.try_acquire(500));
        assert!(!b.try_acquire(1_001));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut b = breaker(3);
        b.record_failure(0);
        b.record_failure(0);
        b.record_success();
        b.record_failure(0);
        b.record_failure(0);
        assert!(matches!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 2
            }
        ));
    }

    #[test]
    fn half_open_lets_one_probe_and_closes_on_success() {
        let mut b = breaker(1);
        b.record_failure(0);
        assert!(
            b.try_acquire(1_000),
            "the first call after the open period is the probe"
        );
        assert_eq!(
            b.state(),
            BreakerState::HalfOpen {
                probe_started: 1_000
            }
        );
        assert!(
            !b.try_acquire(1_001),
            "others fail fast while the probe is out"
        );
        b.record_success();
        assert!(b.try_acquire(1_002));
        assert!(matches!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 0
            }
        ));
    }

    #[test]
    fn a_failed_probe_reopens_for_a_full_period() {
        let mut b = breaker(1);
        b.record_failure(0);
        assert!(b.try_acquire(1_000));
        b.record_failure(1_100);
        assert_eq!(b.state(), BreakerState::Open { until: 2_100 });
        assert!(!b.try_acquire(2_000));
        assert!(b.try_acquire(2_100));
    }

    #[test]
    fn a_lost_probe_does_not_block_forever() {
        let mut b = breaker(1);
        b.record_failure(0);
        assert!(b.try_acquire(1_000));
        // The probe's caller was cancelled and never reported.
        assert!(!b.try_acquire(1_999));
        assert!(b.try_acquire(2_000));
    }

    #[test]
    fn cache_entries_expire_after_ttl() {
        let mut c = TtlCache::new(60_000, 10);
        c.insert("k".into(), 1, 0);
        assert_eq!(c.get("k", 59_999), Some(1));
        assert_eq!(c.get("k", 60_000), None);
        assert_eq!(c.get("other", 0), None);
    }

    #[test]
    fn cache_invalidation_drops_everything() {
        let mut c = TtlCache::new(60_000, 10);
        c.insert("a".into(), 1, 0);
        c.insert("b".into(), 2, 0);
        c.invalidate_all();
        assert!(c.is_empty());
        assert_eq!(c.get("a", 1), None);
    }

    #[test]
    fn cache_stays_bounded_evicting_expired_then_oldest() {
        let mut c = TtlCache::new(100, 2);
        c.insert("old".into(), 1, 0);
        c.insert("mid".into(), 2, 150);
        c.insert("new".into(), 3, 160);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("old", 160), None);
        c.insert("newer".into(), 4, 170);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("mid", 170), None, "the oldest live entry goes");
        assert_eq!(c.get("new", 170), Some(3));
        assert_eq!(c.get("newer", 170), Some(4));
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let mut c = TtlCache::new(0, 10);
        c.insert("k".into(), 1, 0);
        assert_eq!(c.get("k", 0), None);
    }

    #[test]
    fn retry_only_transient_failures_of_reads() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 250,
        };
        let outage = ErpError::Unavailable("HTTP 500".into());
        assert!(p.should_retry(Operation::OpenInvoices, 1, &outage));
        assert!(p.should_retry(Operation::OpenInvoices, 2, &ErpError::Timeout));
        assert!(
            !p.should_retry(Operation::OpenInvoices, 3, &outage),
            "attempts exhausted"
        );
        assert!(
            !p.should_retry(Operation::TrustUnlock, 1, &outage),
            "writes are never retried"
        );
        assert!(!p.should_retry(Operation::OpenTicket, 1, &ErpError::Timeout));
        assert!(!p.should_retry(
            Operation::Contracts,
            1,
            &ErpError::InvalidResponse("x".into())
        ));
        assert!(!p.should_retry(Operation::Contracts, 1, &ErpError::business("não")));
        assert_eq!(p.delay_before(2), Duration::from_millis(100));
        assert_eq!(p.delay_before(3), Duration::from_millis(200));
        assert_eq!(p.delay_before(4), Duration::from_millis(250), "capped");
    }

    // --- the wrapper, over a scripted adapter ------------------------------------------------

    /// Answers from a script and counts calls.
    struct Scripted {
        calls: AtomicU32,
        failures_before_success: u32,
        failure: ErpError,
        /// How long a receivables listing takes.
        listing_takes: Duration,
    }

    impl Scripted {
        fn new(failures_before_success: u32, failure: ErpError) -> Self {
            Scripted {
                calls: AtomicU32::new(0),
                failures_before_success,
                failure,
                listing_takes: Duration::ZERO,
            }
        }

        fn step(&self) -> Result<(), ErpError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.failures_before_success {
                Err(self.failure.clone())
            } else {
                Ok(())
            }
        }

        fn calls(&self) -> u32 {
            self.calls.load(Ordering::SeqCst)
        }
    }

    fn contract() -> Contract {
        Contract {
            erp_id: "10".into(),
            customer_erp_id: "1".into(),
            plan_name: None,
            monthly_cents: None,
            status: ContractStatus::SuspendedDebt,
            raw_status: "x".into(),
            online: None,
            login: None,
        }
    }

    fn customer() -> Customer {
        Customer {
            system: System::Sgp,
            erp_id: "1".into(),
            document: None,
            name: "Maria".into(),
            phones: vec![],
            emails: vec![],
        }
    }

    #[async_trait]
    impl ErpAdapter for Scripted {
        fn system(&self) -> System {
            System::Sgp
        }
        async fn find_customer_by_document(
            &self,
            _: &Document,
        ) -> Result<Option<Customer>, ErpError> {
            self.step().map(|_| Some(customer()))
        }
        async fn find_customers_by_phone(&self, _: &BrPhone) -> Result<Vec<Customer>, ErpError> {
            Err(ErpError::not_supported(Operation::FindCustomersByPhone))
        }
        async fn contracts(&self, _: &Customer) -> Result<Vec<Contract>, ErpError> {
            self.step().map(|_| vec![contract()])
        }
        async fn open_invoices(&self, _: &Customer) -> Result<Vec<Invoice>, ErpError> {
            self.step().map(|_| Vec::new())
        }
        async fn invoice(&self, _: &Customer, id: &str) -> Result<Invoice, ErpError> {
            self.step()?;
            Ok(Invoice {
                erp_id: id.into(),
                contract_id: None,
                due_date: jiff::civil::date(2026, 1, 1),
                amount_cents: 100,
                amount_due_cents: None,
                fine_cents: None,
                interest_cents: None,
                paid_cents: None,
                status: InvoiceStatus::Open,
                paid_at: None,
                payment_methods: vec![],
            })
        }
        async fn invoice_pdf(&self, _: &Invoice) -> Result<Vec<u8>, ErpError> {
            self.step().map(|_| b"%PDF".to_vec())
        }
        async fn trust_unlock(&self, _: &Contract) -> Result<UnlockResult, ErpError> {
            self.step()
                .map(|_| UnlockResult::refused(UnlockRefusal::NotBlocked, None))
        }
        async fn connection_status(&self, _: &Contract) -> Result<ConnectionStatus, ErpError> {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Err(ErpError::NotFound)
        }
        async fn open_ticket(&self, _: &NewTicket) -> Result<Ticket, ErpError> {
            self.step()?;
            Err(ErpError::not_supported(Operation::OpenTicket))
        }
        async fn payments_between(
            &self,
            _: Date,
            _: Date,
            _: &[Customer],
        ) -> Result<Vec<PaymentEvent>, ErpError> {
            self.step().map(|_| Vec::new())
        }
        async fn receivables(
            &self,
            _: Date,
            _: Date,
            _: &[Customer],
        ) -> Result<Vec<Receivable>, ErpError> {
            tokio::time::sleep(self.listing_takes).await;
            self.step().map(|_| Vec::new())
        }
        async fn restore_after_payment(&self, _: &Contract) -> Result<UnlockResult, ErpError> {
            self.step().map(|_| UnlockResult::released(None))
        }
    }

    fn policy(max_attempts: u32, threshold: u32) -> ResiliencePolicy {
        ResiliencePolicy {
            call_timeout: Duration::from_millis(200),
            listing_timeout: Duration::from_millis(200),
            retry: RetryPolicy {
                max_attempts,
                base_delay_ms: 1,
                max_delay_ms: 2,
            },
            breaker: BreakerPolicy {
                failure_threshold: threshold,
                open_for_ms: 600_000,
            },
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 100,
        }
    }

    #[tokio::test]
    async fn reads_are_retried_until_they_succeed() {
        let r = Resilient::new(
            Scripted::new(2, ErpError::Unavailable("500".into())),
            policy(3, 10),
        );
        assert_eq!(r.contracts(&customer()).await.unwrap().len(), 1);
        assert_eq!(r.inner().calls(), 3);
    }

    #[tokio::test]
    async fn reads_give_up_after_max_attempts_with_the_last_error() {
        let r = Resilient::new(
            Scripted::new(9, ErpError::Unavailable("500".into())),
            policy(3, 10),
        );
        assert_eq!(
            r.open_invoices(&customer()).await.unwrap_err(),
            ErpError::Unavailable("500".into())
        );
        assert_eq!(r.inner().calls(), 3);
    }

    #[tokio::test]
    async fn writes_are_tried_once() {
        let r = Resilient::new(Scripted::new(1, ErpError::Timeout), policy(3, 10));
        assert_eq!(
            r.trust_unlock(&contract()).await.unwrap_err(),
            ErpError::Timeout
        );
        assert_eq!(r.inner().calls(), 1);
    }

    #[tokio::test]
    async fn non_transient_errors_are_not_retried() {
        let r = Resilient::new(
            Scripted::new(1, ErpError::InvalidResponse("html".into())),
            policy(3, 10),
        );
        assert!(matches!(
            r.contracts(&customer()).await,
            Err(ErpError::InvalidResponse(_))
        ));
        assert_eq!(r.inner().calls(), 1);
    }

    #[tokio::test]
    async fn a_hanging_call_times_out() {
        let r = Resilient::new(Scripted::new(0, ErpError::Timeout), policy(1, 10));
        assert_eq!(
            r.connection_status(&contract()).await.unwrap_err(),
            ErpError::Timeout
        );
    }

    #[tokio::test]
    async fn the_open_circuit_fails_fast_without_calling() {
        let r = Resilient::new(
            Scripted::new(100, ErpError::Unavailable("503".into())),
            policy(1, 3),
        );
        for _ in 0..3 {
            assert!(r.contracts(&customer()).await.is_err());
        }
        assert!(matches!(r.breaker_state(), BreakerState::Open { .. }));
        let before = r.inner().calls();
        match r.open_invoices(&customer()).await {
            Err(ErpError::Unavailable(m)) => assert!(m.contains("circuito aberto"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.inner().calls(), before);
    }

    #[tokio::test]
    async fn business_answers_keep_the_circuit_closed() {
        let r = Resilient::new(Scripted::new(100, ErpError::business("não")), policy(1, 2));
        for _ in 0..5 {
            let _ = r.contracts(&customer()).await;
        }
        assert!(matches!(r.breaker_state(), BreakerState::Closed { .. }));
        assert_eq!(r.inner().calls(), 5);
    }

    #[tokio::test]
    async fn repeated_reads_come_from_cache_until_a_write() {
        let r = Resilient::new(Scripted::new(0, ErpError::Timeout), policy(1, 10));
        r.contracts(&customer()).await.unwrap();
        r.contracts(&customer()).await.unwrap();
        assert_eq!(r.inner().calls(), 1, "second read served from cache");
        r.trust_unlock(&contract()).await.unwrap();
        r.contracts(&customer()).await.unwrap();
        assert_eq!(r.inner().calls(), 3, "the write invalidated the cache");
    }

    #[tokio::test]
    async fn single_invoice_reads_are_never_cached() {
        let r = Resilient::new(Scripted::new(0, ErpError::Timeout), policy(1, 10));
        r.invoice(&customer(), "7").await.unwrap();
        r.invoice(&customer(), "7").await.unwrap();
        assert_eq!(r.inner().calls(), 2);
    }

    #[tokio::test]
    async fn receivables_are_retried_and_never_cached() {
        let r = Resilient::new(
            Scripted::new(1, ErpError::Unavailable("503".into())),
            policy(3, 10),
        );
        let day = jiff::civil::date(2026, 11, 1);
        r.receivables(day, day, &[]).await.unwrap();
        assert_eq!(r.inner().calls(), 2, "the failed attempt was retried");
        r.receivables(day, day, &[]).await.unwrap();
        assert_eq!(r.inner().calls(), 3, "a second listing asks again");
    }

    #[tokio::test]
    async fn a_listing_gets_the_listing_deadline_not_the_call_deadline() {
        let mut slow = Scripted::new(0, ErpError::Timeout);
        slow.listing_takes = Duration::from_millis(400);
        let day = jiff::civil::date(2026, 11, 1);
        let generous = ResiliencePolicy {
            listing_timeout: Duration::from_secs(30),
            ..policy(1, 10)
        };
        let r = Resilient::new(slow, generous);
        assert!(r.receivables(day, day, &[]).await.is_ok());
        let mut slow = Scripted::new(0, ErpError::Timeout);
        slow.listing_takes = Duration::from_secs(3600);
        let r = Resilient::new(slow, policy(1, 10));
        assert_eq!(
            r.receivables(day, day, &[]).await.unwrap_err(),
            ErpError::Timeout
        );
    }

    #[tokio::test]
    async fn a_restore_is_a_write_tried_once_that_drops_the_cache() {
        let r = Resilient::new(Scripted::new(1, ErpError::Timeout), policy(3, 10));
        assert_eq!(
            r.restore_after_payment(&contract()).await.unwrap_err(),
            ErpError::Timeout
        );
        assert_eq!(r.inner().calls(), 1);
        r.contracts(&customer()).await.unwrap();
        r.contracts(&customer()).await.unwrap();
        assert_eq!(r.inner().calls(), 2, "cached");
        assert!(r.restore_after_payment(&contract()).await.unwrap().granted);
        r.contracts(&customer()).await.unwrap();
        assert_eq!(r.inner().calls(), 4, "the restore dropped the cache");
    }
}
