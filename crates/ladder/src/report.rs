//! Conversion of ladder steps: of the invoices a step (and A/B arm) was sent for, how many were
//! paid within 24 hours, 72 hours and 7 days after the send; and which arm of an A/B test wins.
//! Group by segment by filtering the sends before calling.
//!
//! [`ReportBuilder`] folds the ladder's records one by one (a page at a time, so a report over a
//! million sends holds only its groups) into the full report per step, segment and arm: sent,
//! delivered, read, replied, paid within each horizon, opt-outs, failures by reason and the
//! estimated cost by pricing category ([`CategoryPrices`]).

use crate::segment::{Behaviour, Segment, Timing};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A step that went out for an invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRecord<'a> {
    pub invoice_id: &'a str,
    pub step_key: &'a str,
    /// The template actually sent (the A/B arm).
    pub variant: &'a str,
    pub sent_at: Timestamp,
}

/// An invoice's payment (one per invoice; a later duplicate is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentRecord<'a> {
    pub invoice_id: &'a str,
    pub paid_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    Hours24,
    Hours72,
    Days7,
}

impl Horizon {
    pub const ALL: [Horizon; 3] = [Horizon::Hours24, Horizon::Hours72, Horizon::Days7];

    pub fn duration(self) -> SignedDuration {
        match self {
            Horizon::Hours24 => SignedDuration::from_hours(24),
            Horizon::Hours72 => SignedDuration::from_hours(72),
            Horizon::Days7 => SignedDuration::from_hours(7 * 24),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Horizon::Hours24 => "24 h",
            Horizon::Hours72 => "72 h",
            Horizon::Days7 => "7 dias",
        }
    }
}

/// Sends and payments of one (step, arm).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Conversion {
    pub step_key: String,
    pub variant: String,
    pub sent: u64,
    pub paid_24h: u64,
    pub paid_72h: u64,
    pub paid_7d: u64,
}

impl Conversion {
    pub fn paid_within(&self, horizon: Horizon) -> u64 {
        match horizon {
            Horizon::Hours24 => self.paid_24h,
            Horizon::Hours72 => self.paid_72h,
            Horizon::Days7 => self.paid_7d,
        }
    }

    /// Paid ÷ sent; `None` before anything was sent.
    pub fn rate(&self, horizon: Horizon) -> Option<f64> {
        (self.sent > 0).then(|| self.paid_within(horizon) as f64 / self.sent as f64)
    }
}

/// Conversion per (step, arm), sorted by step key then arm. A payment counts for a send when it
/// came at or after the send and within the horizon (a payment that raced ahead of the message was
/// not caused by it).
pub fn conversions<'a>(
    sends: impl IntoIterator<Item = SendRecord<'a>>,
    payments: impl IntoIterator<Item = PaymentRecord<'a>>,
) -> Vec<Conversion> {
    let mut paid_at: HashMap<&str, Timestamp> = HashMap::new();
    for payment in payments {
        paid_at.entry(payment.invoice_id).or_insert(payment.paid_at);
    }
    let mut groups: BTreeMap<(&str, &str), [u64; 4]> = BTreeMap::new();
    for send in sends {
        let counts = groups.entry((send.step_key, send.variant)).or_default();
        counts[0] += 1;
        let Some(&paid) = paid_at.get(send.invoice_id) else {
            continue;
        };
        for (slot, within) in paid_within_horizons(send.sent_at, paid)
            .into_iter()
            .enumerate()
        {
            counts[slot + 1] += u64::from(within);
        }
    }
    groups
        .into_iter()
        .map(|((step_key, variant), [sent, h24, h72, d7])| Conversion {
            step_key: step_key.to_owned(),
            variant: variant.to_owned(),
            sent,
            paid_24h: h24,
            paid_72h: h72,
            paid_7d: d7,
        })
        .collect()
}

/// For each of [`Horizon::ALL`]: whether a payment at `paid_at` came at or after the send and
/// within that horizon (a payment that raced ahead of the message was not caused by it).
pub fn paid_within_horizons(sent_at: Timestamp, paid_at: Timestamp) -> [bool; 3] {
    let after = sent_at.duration_until(paid_at);
    Horizon::ALL.map(|horizon| !after.is_negative() && after <= horizon.duration())
}

/// When an invoice is taken to have been paid, from what is known about it: the management
/// system's payment time (many systems give only the date, read as midnight) and when Balcão
/// learned of it (the ladder or the payment poller, minutes to days later: boletos post late).
/// The payment happened no later than either the moment it was learned or the end of the day the
/// system names, so the earlier of the two is the best bound; with one of them, that one.
pub fn payment_moment(
    system_paid_at: Option<Timestamp>,
    learned_at: Option<Timestamp>,
) -> Option<Timestamp> {
    match (system_paid_at, learned_at) {
        (Some(system), Some(learned)) => {
            let day_end = system
                .checked_add(SignedDuration::from_hours(24))
                .unwrap_or(system);
            Some(learned.min(day_end))
        }
        (system, learned) => system.or(learned),
    }
}

/// One arm's figures in an A/B result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arm {
    pub variant: String,
    pub sent: u64,
    pub paid: u64,
    pub rate: f64,
}

/// The outcome of a step's A/B test at one horizon.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AbResult {
    pub step_key: String,
    pub horizon: Horizon,
    /// Every arm with sends, best rate first.
    pub arms: Vec<Arm>,
    /// The best arm, when its rate is strictly above the runner-up's.
    pub winner: Option<String>,
    /// Two-proportion z statistic of the best two arms.
    pub z_score: f64,
    /// How sure the difference is not chance: 2Φ(|z|) − 1 (0.95 at |z| = 1.96).
    pub confidence: f64,
    /// |z| ≥ 1.96 (95 %) and both arms have [`MIN_SENDS_PER_ARM`] sends: the difference is
    /// unlikely to be chance. Do not promote an arm before.
    pub significant: bool,
}

/// Below this many sends in an arm the normal approximation behind the z test is not trusted.
pub const MIN_SENDS_PER_ARM: u64 = 30;

/// The A/B result of `step_key` from [`conversions`]; `None` with fewer than two arms that sent.
pub fn ab_winner(conversions: &[Conversion], step_key: &str, horizon: Horizon) -> Option<AbResult> {
    let mut arms: Vec<Arm> = conversions
        .iter()
        .filter(|c| c.step_key == step_key && c.sent > 0)
        .map(|c| Arm {
            variant: c.variant.clone(),
            sent: c.sent,
            paid: c.paid_within(horizon),
            rate: c.rate(horizon).unwrap_or(0.0),
        })
        .collect();
    if arms.len() < 2 {
        return None;
    }
    arms.sort_by(|a, b| {
        b.rate
            .total_cmp(&a.rate)
            .then_with(|| a.variant.cmp(&b.variant))
    });
    let (best, second) = (&arms[0], &arms[1]);
    let z_score = two_proportion_z(best, second);
    let winner = (best.rate > second.rate).then(|| best.variant.clone());
    let enough_sends = best.sent >= MIN_SENDS_PER_ARM && second.sent >= MIN_SENDS_PER_ARM;
    Some(AbResult {
        step_key: step_key.to_owned(),
        horizon,
        winner,
        confidence: confidence_of(z_score),
        significant: enough_sends && winner_is_significant(z_score),
        z_score,
        arms,
    })
}

fn winner_is_significant(z: f64) -> bool {
    z.abs() >= 1.96
}

/// Two-sided confidence of a z statistic: P(|Z| ≤ |z|) = erf(|z| / √2).
pub fn confidence_of(z: f64) -> f64 {
    erf(z.abs() / std::f64::consts::SQRT_2)
}

/// The error function, Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7): plenty for a
/// percentage on a screen, and no dependency.
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

fn two_proportion_z(a: &Arm, b: &Arm) -> f64 {
    let (na, nb) = (a.sent as f64, b.sent as f64);
    let pooled = (a.paid + b.paid) as f64 / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se == 0.0 {
        0.0
    } else {
        (a.rate - b.rate) / se
    }
}

// ---- the full report --------------------------------------------------------------------------

/// What became of a ladder record (the store's `LadderSendStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Queued in the outbox: a send.
    Sent,
    /// A later step went out first (catch-up).
    Obsolete,
    /// The invoice was found paid right before sending.
    SkippedPaid,
    /// Cancelled (payment, opt-out) before it went out.
    Cancelled,
    /// Could not be built or queued.
    Failed,
}

/// Where the send's message stands with WhatsApp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// Queued, handed over or sent; no delivery receipt yet.
    Pending,
    Delivered,
    Read,
    Failed {
        code: Option<i64>,
        title: Option<&'a str>,
    },
}

/// One ladder record and what followed it, as the report reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFacts<'a> {
    pub step_key: &'a str,
    /// The A/B arm's template; `None` when the step has no variants.
    pub variant: Option<&'a str>,
    /// `None` when the invoice is no longer in the snapshot.
    pub segment: Option<Segment>,
    pub status: RecordStatus,
    pub detail: Option<&'a str>,
    /// When the record (and its message) was written.
    pub sent_at: Timestamp,
    /// `None` when no message was queued.
    pub delivery: Option<Delivery<'a>>,
    /// The pricing category, when WhatsApp said the message is billable.
    pub billed_category: Option<&'a str>,
    /// The subscriber wrote within the follow-up window.
    pub replied: bool,
    /// The subscriber opted out within the follow-up window.
    pub opted_out: bool,
    /// See [`payment_moment`].
    pub paid_at: Option<Timestamp>,
}

/// The segment of a send: timing from its day relative to the due date, behaviour from the
/// customer's late payments (the planner's own rules).
pub fn segment_of(
    send_day: Date,
    due: Date,
    late_payments_last_12m: u32,
    repeat_defaulter_min_late: u32,
) -> Segment {
    let days_from_due = (send_day - due).get_days();
    Segment {
        timing: Timing::from_days_from_due(days_from_due),
        behaviour: Behaviour::classify(late_payments_last_12m, repeat_defaulter_min_late),
    }
}

/// Why a record did not reach the subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The ladder could not build or queue it (`detail` says why).
    NotQueued,
    /// Not sent: the invoice was found paid right before.
    SkippedPaid,
    /// WhatsApp refused or could not deliver it (its error).
    DeliveryFailed,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::NotQueued => "Não enviada",
            FailureKind::SkippedPaid => "Pulada (fatura já paga)",
            FailureKind::DeliveryFailed => "Falha na entrega",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureCount {
    pub kind: FailureKind,
    /// The record's detail or WhatsApp's error ("131026 Message undeliverable").
    pub reason: String,
    pub count: u64,
}

/// Rates of a group, each over the messages sent (`None` before any).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    pub delivered: Option<f64>,
    pub read: Option<f64>,
    pub replied: Option<f64>,
    pub paid_24h: Option<f64>,
    pub paid_72h: Option<f64>,
    pub paid_7d: Option<f64>,
    pub opted_out: Option<f64>,
}

/// The figures of one group: a step (all segments) or a (step, segment), and an A/B arm.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepMetrics {
    pub step_key: String,
    /// `None` in the per-step totals, and for records whose invoice left the snapshot.
    pub segment: Option<Segment>,
    /// The A/B arm's template; `None` when the step has no variants.
    pub variant: Option<String>,
    /// Every record of the group, whatever became of it.
    pub records: u64,
    /// Messages queued (the base of every rate).
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub replied: u64,
    pub paid_24h: u64,
    pub paid_72h: u64,
    pub paid_7d: u64,
    pub opted_out: u64,
    /// Records a later step made obsolete or a payment/opt-out cancelled: never meant to go out.
    pub obsolete: u64,
    pub cancelled: u64,
    /// Most frequent first.
    pub failures: Vec<FailureCount>,
    /// Billable messages delivered, by pricing category.
    pub billable: BTreeMap<String, u64>,
    pub cost_cents: i64,
    pub rates: Rates,
}

impl StepMetrics {
    fn add(&mut self, facts: &RecordFacts<'_>, failures: &mut FailureCounts) {
        self.records += 1;
        match facts.status {
            RecordStatus::Sent => {}
            RecordStatus::Obsolete => {
                self.obsolete += 1;
                return;
            }
            RecordStatus::Cancelled => {
                self.cancelled += 1;
                return;
            }
            RecordStatus::SkippedPaid | RecordStatus::Failed => {
                let kind = if facts.status == RecordStatus::Failed {
                    FailureKind::NotQueued
                } else {
                    FailureKind::SkippedPaid
                };
                let reason = facts.detail.unwrap_or("sem detalhe").to_owned();
                *failures.entry((kind, reason)).or_default() += 1;
                return;
            }
        }
        self.sent += 1;
        match facts.delivery {
            Some(Delivery::Delivered) => self.delivered += 1,
            Some(Delivery::Read) => {
                self.delivered += 1;
                self.read += 1;
            }
            Some(Delivery::Failed { code, title }) => {
                let reason = match (code, title) {
                    (Some(code), Some(title)) => format!("{code} {title}"),
                    (Some(code), None) => code.to_string(),
                    (None, Some(title)) => title.to_owned(),
                    (None, None) => "sem detalhe".to_owned(),
                };
                *failures
                    .entry((FailureKind::DeliveryFailed, reason))
                    .or_default() += 1;
            }
            Some(Delivery::Pending) | None => {}
        }
        // WhatsApp charges delivered messages only.
        let delivered = matches!(facts.delivery, Some(Delivery::Delivered | Delivery::Read));
        if let (true, Some(category)) = (delivered, facts.billed_category) {
            *self.billable.entry(category.to_owned()).or_default() += 1;
        }
        self.replied += u64::from(facts.replied);
        self.opted_out += u64::from(facts.opted_out);
        if let Some(paid_at) = facts.paid_at {
            let [h24, h72, d7] = paid_within_horizons(facts.sent_at, paid_at);
            self.paid_24h += u64::from(h24);
            self.paid_72h += u64::from(h72);
            self.paid_7d += u64::from(d7);
        }
    }

    fn finish(&mut self, failures: FailureCounts, prices: &CategoryPrices) {
        let mut failures: Vec<FailureCount> = failures
            .into_iter()
            .map(|((kind, reason), count)| FailureCount {
                kind,
                reason,
                count,
            })
            .collect();
        failures.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (a.kind, &a.reason).cmp(&(b.kind, &b.reason)))
        });
        self.failures = failures;
        self.cost_cents = self
            .billable
            .iter()
            .map(|(category, &count)| prices.cost_cents(category, count))
            .sum();
        let rate = |n: u64| (self.sent > 0).then(|| n as f64 / self.sent as f64);
        self.rates = Rates {
            delivered: rate(self.delivered),
            read: rate(self.read),
            replied: rate(self.replied),
            paid_24h: rate(self.paid_24h),
            paid_72h: rate(self.paid_72h),
            paid_7d: rate(self.paid_7d),
            opted_out: rate(self.opted_out),
        };
    }

    /// The conversion figures of this group (for [`ab_winner`]).
    pub fn conversion(&self) -> Conversion {
        Conversion {
            step_key: self.step_key.clone(),
            variant: self.variant.clone().unwrap_or_default(),
            sent: self.sent,
            paid_24h: self.paid_24h,
            paid_72h: self.paid_72h,
            paid_7d: self.paid_7d,
        }
    }
}

/// WhatsApp's price of one delivered billable message, in BRL cents (fractions allowed: a
/// utility message costs a few cents), per pricing category. Unlisted categories cost nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryPrices(pub BTreeMap<String, f64>);

impl Default for CategoryPrices {
    /// Meta's per-message rates for Brazil (July 2025 rate card, unchanged in January 2026:
    /// marketing US$ 0.0625, utility and authentication US$ 0.0068) at R$ 5.50 per US$.
    /// Service and free-entry-point messages are free. Estimates: configure the invoice's rates.
    fn default() -> Self {
        CategoryPrices(
            [
                ("marketing", 34.375),
                ("marketing_lite", 34.375),
                ("utility", 3.74),
                ("authentication", 3.74),
                ("authentication_international", 3.74),
                ("service", 0.0),
                ("referral_conversion", 0.0),
            ]
            .into_iter()
            .map(|(category, cents)| (category.to_owned(), cents))
            .collect(),
        )
    }
}

impl CategoryPrices {
    pub fn cents(&self, category: &str) -> f64 {
        self.0.get(category).copied().unwrap_or(0.0)
    }

    /// `count` messages of `category`, rounded to the cent.
    pub fn cost_cents(&self, category: &str, count: u64) -> i64 {
        (self.cents(category) * count as f64).round() as i64
    }
}

/// Billable messages and their cost in one pricing category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryCost {
    pub category: String,
    pub messages: u64,
    pub unit_cents: f64,
    pub cost_cents: i64,
}

/// The ladder's report over a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LadderReport {
    /// Per step and arm, all segments together; steps in ladder order (by day).
    pub steps: Vec<StepMetrics>,
    /// Per step, segment and arm.
    pub segments: Vec<StepMetrics>,
    /// Every record of the period together.
    pub total: StepMetrics,
    /// Each step with two or more arms, at each horizon.
    pub ab_tests: Vec<AbResult>,
    pub costs: Vec<CategoryCost>,
    pub total_cost_cents: i64,
}

type GroupKey = (String, Option<Segment>, Option<String>);
type FailureCounts = HashMap<(FailureKind, String), u64>;

/// Folds records, in any order and a page at a time, into a [`LadderReport`].
#[derive(Debug, Default)]
pub struct ReportBuilder {
    groups: HashMap<GroupKey, Partial>,
}

impl ReportBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, facts: &RecordFacts<'_>) {
        let key = (
            facts.step_key.to_owned(),
            facts.segment,
            facts.variant.map(str::to_owned),
        );
        let group = self.groups.entry(key).or_insert_with(|| {
            let mut group =
                Partial::new(facts.step_key.to_owned(), facts.variant.map(str::to_owned));
            group.metrics.segment = facts.segment;
            group
        });
        group.metrics.add(facts, &mut group.failures);
    }

    pub fn finish(self, prices: &CategoryPrices) -> LadderReport {
        let mut steps: BTreeMap<(StepOrder, Option<String>), Partial> = BTreeMap::new();
        let mut total = Partial::new(String::new(), None);
        let mut segments = Vec::with_capacity(self.groups.len());
        for ((step_key, _, variant), group) in self.groups {
            let step = steps
                .entry((StepOrder::of(&step_key), variant.clone()))
                .or_insert_with(|| Partial::new(step_key, variant));
            step.merge(&group);
            total.merge(&group);
            segments.push(group.finish(prices));
        }
        segments.sort_by(|a, b| {
            (
                StepOrder::of(&a.step_key),
                a.segment.map(segment_order),
                &a.variant,
            )
                .cmp(&(
                    StepOrder::of(&b.step_key),
                    b.segment.map(segment_order),
                    &b.variant,
                ))
        });
        let steps: Vec<StepMetrics> = steps.into_values().map(|p| p.finish(prices)).collect();
        let total = total.finish(prices);
        let conversions: Vec<Conversion> = steps
            .iter()
            .filter(|s| s.variant.is_some())
            .map(StepMetrics::conversion)
            .collect();
        let mut ab_tests = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for step in &steps {
            if step.variant.is_none() || seen.contains(&step.step_key.as_str()) {
                continue;
            }
            seen.push(&step.step_key);
            for horizon in Horizon::ALL {
                ab_tests.extend(ab_winner(&conversions, &step.step_key, horizon));
            }
        }
        let costs: Vec<CategoryCost> = total
            .billable
            .iter()
            .map(|(category, &messages)| CategoryCost {
                category: category.clone(),
                messages,
                unit_cents: prices.cents(category),
                cost_cents: prices.cost_cents(category, messages),
            })
            .collect();
        LadderReport {
            total_cost_cents: costs.iter().map(|c| c.cost_cents).sum(),
            steps,
            segments,
            total,
            ab_tests,
            costs,
        }
    }
}

/// A group's figures and its failure counts while records are added or groups summed.
#[derive(Debug)]
struct Partial {
    metrics: StepMetrics,
    failures: FailureCounts,
}

impl Partial {
    fn new(step_key: String, variant: Option<String>) -> Self {
        Partial {
            metrics: StepMetrics {
                step_key,
                variant,
                ..StepMetrics::default()
            },
            failures: HashMap::new(),
        }
    }

    fn merge(&mut self, group: &Partial) {
        let (m, other) = (&mut self.metrics, &group.metrics);
        m.records += other.records;
        m.sent += other.sent;
        m.delivered += other.delivered;
        m.read += other.read;
        m.replied += other.replied;
        m.paid_24h += other.paid_24h;
        m.paid_72h += other.paid_72h;
        m.paid_7d += other.paid_7d;
        m.opted_out += other.opted_out;
        m.obsolete += other.obsolete;
        m.cancelled += other.cancelled;
        for (category, count) in &other.billable {
            *m.billable.entry(category.clone()).or_default() += count;
        }
        for (key, count) in &group.failures {
            *self.failures.entry(key.clone()).or_default() += count;
        }
    }

    fn finish(mut self, prices: &CategoryPrices) -> StepMetrics {
        self.metrics.finish(self.failures, prices);
        self.metrics
    }
}

/// Steps in ladder order: keys of the form `d-5`, `d0`, `d+3` by their day, others after them
/// by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct StepOrder(i64, String);

impl StepOrder {
    fn of(key: &str) -> StepOrder {
        let day = key
            .strip_prefix('d')
            .map(|rest| rest.strip_prefix('+').unwrap_or(rest))
            .and_then(|n| n.parse::<i64>().ok());
        StepOrder(day.unwrap_or(i64::MAX), key.to_owned())
    }
}

fn segment_order(segment: Segment) -> (u8, u8) {
    let timing = match segment.timing {
        Timing::DueSoon => 0,
        Timing::Overdue1To3 => 1,
        Timing::Overdue4To10 => 2,
        Timing::Overdue11Plus => 3,
    };
    let behaviour = match segment.behaviour {
        Behaviour::GoodPayer => 0,
        Behaviour::Regular => 1,
        Behaviour::RepeatDefaulter => 2,
    };
    (timing, behaviour)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn paid_within_each_horizon_after_the_send() {
        let sent_at = ts("2026-11-23T12:00:00Z");
        let sends = [
            ("i1", "d-2", "a"),
            ("i2", "d-2", "a"),
            ("i3", "d-2", "a"),
            ("i4", "d-2", "a"),
            ("i5", "d-2", "a"),
            ("i6", "d+3", "neg"),
        ]
        .map(|(invoice_id, step_key, variant)| SendRecord {
            invoice_id,
            step_key,
            variant,
            sent_at,
        });
        let payments = [
            ("i1", "2026-11-23T18:00:00Z"), // 6 h
            ("i2", "2026-11-25T12:00:00Z"), // 48 h
            ("i3", "2026-11-29T12:00:00Z"), // 6 days
            ("i4", "2026-12-10T12:00:00Z"), // too late
            ("i5", "2026-11-23T11:00:00Z"), // before the send
            ("i6", "2026-11-24T12:00:00Z"), // exactly 24 h
            ("i6", "2026-11-23T13:00:00Z"), // duplicate event: the first one counts
        ]
        .map(|(invoice_id, at)| PaymentRecord {
            invoice_id,
            paid_at: ts(at),
        });
        let got = conversions(sends, payments);
        assert_eq!(
            got,
            vec![
                Conversion {
                    step_key: "d+3".into(),
                    variant: "neg".into(),
                    sent: 1,
                    paid_24h: 1,
                    paid_72h: 1,
                    paid_7d: 1,
                },
                Conversion {
                    step_key: "d-2".into(),
                    variant: "a".into(),
                    sent: 5,
                    paid_24h: 1,
                    paid_72h: 2,
                    paid_7d: 3,
                },
            ]
        );
        assert_eq!(got[1].rate(Horizon::Days7), Some(0.6));
        assert_eq!(Conversion::default().rate(Horizon::Hours24), None);
    }

    fn arm(variant: &str, sent: u64, paid: u64) -> Conversion {
        Conversion {
            step_key: "d-2".into(),
            variant: variant.into(),
            sent,
            paid_24h: paid,
            paid_72h: paid,
            paid_7d: paid,
        }
    }

    #[test]
    fn ab_winner_by_rate_with_counts() {
        let data = [arm("longo", 1000, 200), arm("curto", 1000, 260)];
        let result = ab_winner(&data, "d-2", Horizon::Hours72).unwrap();
        assert_eq!(result.winner.as_deref(), Some("curto"));
        assert_eq!(result.arms[0].sent, 1000);
        assert_eq!(result.arms[0].paid, 260);
        assert_eq!(result.arms[1].variant, "longo");
        assert!(result.z_score > 3.0, "{}", result.z_score);
        assert!(result.significant);
    }

    #[test]
    fn small_samples_are_not_significant_and_ties_have_no_winner() {
        let data = [arm("a", 20, 5), arm("b", 20, 7)];
        let result = ab_winner(&data, "d-2", Horizon::Hours24).unwrap();
        assert_eq!(result.winner.as_deref(), Some("b"));
        assert!(!result.significant);
        let tie = [arm("a", 100, 10), arm("b", 50, 5)];
        let result = ab_winner(&tie, "d-2", Horizon::Hours24).unwrap();
        assert_eq!(result.winner, None);
        assert_eq!(result.z_score, 0.0);
        assert!(ab_winner(&[arm("a", 10, 1)], "d-2", Horizon::Hours24).is_none());
        assert!(ab_winner(&data, "d0", Horizon::Hours24).is_none());
        let nothing_paid = [arm("a", 10, 0), arm("b", 10, 0)];
        let result = ab_winner(&nothing_paid, "d-2", Horizon::Hours24).unwrap();
        assert_eq!((result.winner, result.significant), (None, false));
    }

    #[test]
    fn payment_moment_is_the_tighter_bound() {
        let midnight = ts("2026-11-23T03:00:00Z"); // 23/11 00:00 in São Paulo: a date-only system
        // Pix at 14:00, seen by the poller at 14:05: the moment it was learned.
        let pix = ts("2026-11-23T17:05:00Z");
        assert_eq!(payment_moment(Some(midnight), Some(pix)), Some(pix));
        // A boleto paid on the 23rd posted two days later: no later than the end of the 23rd.
        let posted = ts("2026-11-25T12:00:00Z");
        assert_eq!(
            payment_moment(Some(midnight), Some(posted)),
            Some(ts("2026-11-24T03:00:00Z"))
        );
        assert_eq!(payment_moment(Some(midnight), None), Some(midnight));
        assert_eq!(payment_moment(None, Some(pix)), Some(pix));
        assert_eq!(payment_moment(None, None), None);
    }

    #[test]
    fn confidence_follows_the_normal_distribution() {
        assert!((confidence_of(1.96) - 0.95).abs() < 1e-4);
        assert!((confidence_of(-1.96) - 0.95).abs() < 1e-4);
        assert!((confidence_of(3.0) - 0.9973).abs() < 1e-4);
        assert!(confidence_of(0.0).abs() < 1e-6);
    }

    #[test]
    fn segments_from_the_day_and_the_late_payments() {
        use jiff::civil::date;
        let day = date(2026, 11, 23);
        let soon = segment_of(day, date(2026, 11, 25), 0, 3);
        assert_eq!(
            (soon.timing, soon.behaviour),
            (Timing::DueSoon, Behaviour::GoodPayer)
        );
        let late = segment_of(day, date(2026, 11, 20), 3, 3);
        assert_eq!(
            (late.timing, late.behaviour),
            (Timing::Overdue1To3, Behaviour::RepeatDefaulter)
        );
        let regular = segment_of(day, date(2026, 11, 1), 1, 3);
        assert_eq!(
            (regular.timing, regular.behaviour),
            (Timing::Overdue11Plus, Behaviour::Regular)
        );
    }

    #[test]
    fn steps_sort_by_day_then_named_steps() {
        let mut keys = vec!["d+10", "suspensao", "d0", "d-2", "d+1", "d-5"];
        keys.sort_by_key(|k| StepOrder::of(k));
        assert_eq!(keys, ["d-5", "d-2", "d0", "d+1", "d+10", "suspensao"]);
    }

    fn facts<'a>(step_key: &'a str, variant: Option<&'a str>) -> RecordFacts<'a> {
        RecordFacts {
            step_key,
            variant,
            segment: None,
            status: RecordStatus::Sent,
            detail: None,
            sent_at: ts("2026-11-23T12:00:00Z"),
            delivery: Some(Delivery::Pending),
            billed_category: None,
            replied: false,
            opted_out: false,
            paid_at: None,
        }
    }

    #[test]
    fn builder_counts_each_outcome_per_step_segment_and_arm() {
        let due_soon = Some(Segment {
            timing: Timing::DueSoon,
            behaviour: Behaviour::GoodPayer,
        });
        let repeat = Some(Segment {
            timing: Timing::DueSoon,
            behaviour: Behaviour::RepeatDefaulter,
        });
        let read_paid = RecordFacts {
            segment: due_soon,
            delivery: Some(Delivery::Read),
            billed_category: Some("utility"),
            replied: true,
            paid_at: Some(ts("2026-11-24T18:00:00Z")), // 30 h later
            ..facts("d-2", None)
        };
        let delivered_opted_out = RecordFacts {
            segment: repeat,
            delivery: Some(Delivery::Delivered),
            billed_category: Some("utility"),
            opted_out: true,
            paid_at: Some(ts("2026-11-23T11:00:00Z")), // before the send: not caused by it
            ..facts("d-2", None)
        };
        let undeliverable = RecordFacts {
            segment: repeat,
            delivery: Some(Delivery::Failed {
                code: Some(131026),
                title: Some("Message undeliverable"),
            }),
            // Pricing on a message that never arrived is not charged.
            billed_category: Some("utility"),
            ..facts("d-2", None)
        };
        let not_queued = RecordFacts {
            status: RecordStatus::Failed,
            detail: Some("modelo sem parâmetro"),
            delivery: None,
            ..facts("d-2", None)
        };
        let skipped = RecordFacts {
            status: RecordStatus::SkippedPaid,
            detail: Some("fatura paga ou baixada no sistema"),
            delivery: None,
            ..facts("d0", None)
        };
        let obsolete = RecordFacts {
            status: RecordStatus::Obsolete,
            delivery: None,
            ..facts("d-5", None)
        };
        let marketing = RecordFacts {
            delivery: Some(Delivery::Read),
            billed_category: Some("marketing"),
            ..facts("d0", None)
        };
        let mut builder = ReportBuilder::new();
        for record in [
            &read_paid,
            &delivered_opted_out,
            &undeliverable,
            &not_queued,
            &not_queued,
            &skipped,
            &obsolete,
            &marketing,
        ] {
            builder.add(record);
        }
        let report = builder.finish(&CategoryPrices::default());

        let steps: Vec<&str> = report.steps.iter().map(|s| s.step_key.as_str()).collect();
        assert_eq!(steps, ["d-5", "d-2", "d0"], "ladder order");
        let d2 = &report.steps[1];
        assert_eq!(d2.records, 5);
        assert_eq!(d2.sent, 3);
        assert_eq!(
            (d2.delivered, d2.read, d2.replied, d2.opted_out),
            (2, 1, 1, 1)
        );
        assert_eq!((d2.paid_24h, d2.paid_72h, d2.paid_7d), (0, 1, 1));
        assert_eq!(d2.billable.get("utility"), Some(&2));
        assert_eq!(d2.cost_cents, 7, "2 × 3.74 cents");
        assert_eq!(
            d2.failures,
            vec![
                FailureCount {
                    kind: FailureKind::NotQueued,
                    reason: "modelo sem parâmetro".into(),
                    count: 2,
                },
                FailureCount {
                    kind: FailureKind::DeliveryFailed,
                    reason: "131026 Message undeliverable".into(),
                    count: 1,
                },
            ]
        );
        assert_eq!(d2.rates.delivered, Some(2.0 / 3.0));
        assert_eq!(d2.rates.paid_72h, Some(1.0 / 3.0));
        assert_eq!(report.steps[0].obsolete, 1);
        assert_eq!(report.steps[0].rates.delivered, None, "nothing sent");
        assert_eq!(report.steps[2].failures[0].kind, FailureKind::SkippedPaid);

        // By segment: d-2 splits in two (plus the records without a snapshot row).
        let d2_segments: Vec<(Option<Segment>, u64)> = report
            .segments
            .iter()
            .filter(|s| s.step_key == "d-2")
            .map(|s| (s.segment, s.sent))
            .collect();
        assert_eq!(d2_segments, vec![(None, 0), (due_soon, 1), (repeat, 2)]);

        assert_eq!(report.total.records, 8);
        assert_eq!(report.total.sent, 4);
        assert_eq!(
            report.costs,
            vec![
                CategoryCost {
                    category: "marketing".into(),
                    messages: 1,
                    unit_cents: 34.375,
                    cost_cents: 34,
                },
                CategoryCost {
                    category: "utility".into(),
                    messages: 2,
                    unit_cents: 3.74,
                    cost_cents: 7,
                },
            ]
        );
        assert_eq!(report.total_cost_cents, 41);
        assert!(report.ab_tests.is_empty(), "no step has variants");
    }

    #[test]
    fn ab_tests_compare_the_arms_of_a_step() {
        let paid = Some(ts("2026-11-23T20:00:00Z")); // 8 h after the send
        let mut builder = ReportBuilder::new();
        // "curto": 40 sent, 20 paid; "longo": 40 sent, 6 paid; plus sends without variant.
        for i in 0..40 {
            builder.add(&RecordFacts {
                paid_at: if i < 20 { paid } else { None },
                ..facts("d-2", Some("curto"))
            });
            builder.add(&RecordFacts {
                paid_at: if i < 6 { paid } else { None },
                ..facts("d-2", Some("longo"))
            });
        }
        builder.add(&RecordFacts {
            paid_at: paid,
            ..facts("d-2", None)
        });
        // A step whose arms are too small to tell.
        for i in 0..10 {
            builder.add(&RecordFacts {
                paid_at: if i < 9 { paid } else { None },
                ..facts("d0", Some("a"))
            });
            builder.add(&RecordFacts {
                paid_at: None,
                ..facts("d0", Some("b"))
            });
        }
        let report = builder.finish(&CategoryPrices::default());
        assert_eq!(report.ab_tests.len(), 6, "two steps × three horizons");
        let d2 = &report.ab_tests[0];
        assert_eq!(
            (d2.step_key.as_str(), d2.horizon),
            ("d-2", Horizon::Hours24)
        );
        assert_eq!(d2.winner.as_deref(), Some("curto"));
        assert_eq!(d2.arms.len(), 2, "the sends without variant are no arm");
        assert!(d2.significant, "z = {}", d2.z_score);
        assert!(d2.confidence > 0.99, "{}", d2.confidence);
        let d0 = report
            .ab_tests
            .iter()
            .find(|r| r.step_key == "d0")
            .expect("d0 test");
        assert_eq!(d0.winner.as_deref(), Some("a"));
        assert!(d0.z_score > 1.96, "a large difference: {}", d0.z_score);
        assert!(!d0.significant, "but 10 sends an arm are too few");
    }
}
