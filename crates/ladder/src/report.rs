//! Conversion of ladder steps: of the invoices a step (and A/B arm) was sent for, how many were
//! paid within 24 hours, 72 hours and 7 days after the send; and which arm of an A/B test wins.
//! Group by segment by filtering the sends before calling.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
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
        let after = send.sent_at.duration_until(paid);
        if after.is_negative() {
            continue;
        }
        for (slot, horizon) in Horizon::ALL.into_iter().enumerate() {
            if after <= horizon.duration() {
                counts[slot + 1] += 1;
            }
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
    /// |z| ≥ 1.96: the difference is unlikely to be chance (95 %). Do not promote an arm before.
    pub significant: bool,
}

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
    Some(AbResult {
        step_key: step_key.to_owned(),
        horizon,
        winner,
        significant: winner_is_significant(z_score),
        z_score,
        arms,
    })
}

fn winner_is_significant(z: f64) -> bool {
    z.abs() >= 1.96
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
}
