//! Pacing rules for sending: a token bucket for a number's throughput (messages per second) and one
//! per recipient for WhatsApp's pair rate limit (about 1 message per 6 s, bursts up to 45).
//! Time is passed in (milliseconds), so the rules are tested without sleeping.

use crate::Millis;
use std::collections::HashMap;

/// A token bucket: `capacity` tokens, refilled at `per_second` tokens per second.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_milli: f64,
    tokens: f64,
    updated_at: Millis,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(per_second: f64, capacity: f64, now: Millis) -> Self {
        assert!(
            per_second > 0.0 && capacity >= 1.0,
            "bucket needs a positive rate and capacity"
        );
        TokenBucket {
            capacity,
            per_milli: per_second / 1000.0,
            tokens: capacity,
            updated_at: now,
        }
    }

    fn refill(&mut self, now: Millis) {
        if now > self.updated_at {
            let gained = (now - self.updated_at) as f64 * self.per_milli;
            self.tokens = (self.tokens + gained).min(self.capacity);
            self.updated_at = now;
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Millis) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: Millis) -> u32 {
        self.refill(now);
        self.tokens.floor() as u32
    }

    /// The first moment at or after `now` when a token is available.
    pub fn next_token_at(&mut self, now: Millis) -> Millis {
        self.refill(now);
        if self.tokens >= 1.0 {
            now
        } else {
            now + ((1.0 - self.tokens) / self.per_milli).ceil() as Millis
        }
    }
}

/// WhatsApp's pair rate limit (same business number → same user), as documented.
pub const PAIR_PER_SECOND: f64 = 1.0 / 6.0;
pub const PAIR_BURST: f64 = 45.0;

/// One bucket per recipient, forgotten once full again so memory stays bounded by the recipients
/// of the last few minutes.
#[derive(Debug, Default)]
pub struct PairLimiter {
    buckets: HashMap<String, TokenBucket>,
    per_second: f64,
    burst: f64,
}

impl PairLimiter {
    pub fn new(per_second: f64, burst: f64) -> Self {
        PairLimiter {
            buckets: HashMap::new(),
            per_second,
            burst,
        }
    }

    pub fn whatsapp() -> Self {
        Self::new(PAIR_PER_SECOND, PAIR_BURST)
    }

    /// Takes a token for `recipient`, or says when the next one is available.
    pub fn try_take(&mut self, recipient: &str, now: Millis) -> Result<(), Millis> {
        let (per_second, burst) = (self.per_second, self.burst);
        let bucket = self
            .buckets
            .entry(recipient.to_owned())
            .or_insert_with(|| TokenBucket::new(per_second, burst, now));
        if bucket.try_take(now) {
            Ok(())
        } else {
            Err(bucket.next_token_at(now))
        }
    }

    /// Drops buckets that have refilled completely: they hold no information.
    pub fn forget_idle(&mut self, now: Millis) {
        let burst = self.burst;
        self.buckets
            .retain(|_, b| (b.available(now) as f64) < burst);
    }

    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bucket_paces_after_its_burst() {
        let mut b = TokenBucket::new(10.0, 2.0, 0);
        assert!(b.try_take(0));
        assert!(b.try_take(0));
        assert!(!b.try_take(0));
        assert_eq!(b.next_token_at(0), 100);
        assert!(!b.try_take(99));
        assert!(b.try_take(100));
    }

    #[test]
    fn pair_limit_allows_a_burst_then_one_per_six_seconds() {
        let mut p = PairLimiter::whatsapp();
        for _ in 0..45 {
            assert!(p.try_take("5511987650001", 0).is_ok());
        }
        let next = p.try_take("5511987650001", 0).unwrap_err();
        assert_eq!(next, 6000);
        assert!(
            p.try_take("5511987650002", 0).is_ok(),
            "other recipients unaffected"
        );
        assert!(p.try_take("5511987650001", 6000).is_ok());
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        let mut p = PairLimiter::new(1.0, 2.0);
        p.try_take("a", 0).unwrap();
        assert_eq!(p.tracked(), 1);
        p.forget_idle(500);
        assert_eq!(p.tracked(), 1);
        p.forget_idle(1000);
        assert_eq!(p.tracked(), 0);
    }

    proptest! {
        /// Over any span, a bucket never lets through more than capacity + rate × span.
        #[test]
        fn never_exceeds_rate(rate in 1.0f64..2000.0, cap in 1.0f64..100.0, steps in prop::collection::vec(0i64..50, 1..400)) {
            let mut b = TokenBucket::new(rate, cap, 0);
            let mut now = 0;
            let mut taken = 0u64;
            for step in steps {
                now += step;
                while b.try_take(now) { taken += 1; }
            }
            let bound = cap + rate * now as f64 / 1000.0;
            prop_assert!(taken as f64 <= bound + 1e-6, "taken {} > bound {}", taken, bound);
        }
    }
}
