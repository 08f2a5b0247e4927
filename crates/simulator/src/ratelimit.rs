//! Token buckets for Meta's throughput (per business number) and pair (number → user) limits.

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TokenBucket {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    updated_ms: i64,
}

impl TokenBucket {
    /// A full bucket holding `capacity` tokens, refilled at `per_second`.
    pub fn full(capacity: f64, per_second: f64, now_ms: i64) -> Self {
        TokenBucket {
            capacity,
            per_ms: per_second / 1000.0,
            tokens: capacity,
            updated_ms: now_ms,
        }
    }

    /// Meta's default: one second of burst at the number's rate.
    pub fn throughput(mps: u32, now_ms: i64) -> Self {
        let mps = f64::from(mps.max(1));
        TokenBucket::full(mps, mps, now_ms)
    }

    /// About one message every 6 s to the same user, bursts up to 45 borrowing from later quota.
    pub fn pair(now_ms: i64) -> Self {
        TokenBucket::full(45.0, 1.0 / 6.0, now_ms)
    }

    fn refill(&mut self, now_ms: i64) {
        let elapsed = (now_ms - self.updated_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.capacity);
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    pub fn has_token(&mut self, now_ms: i64) -> bool {
        self.refill(now_ms);
        self.tokens >= 1.0
    }

    /// Call only after `has_token` said yes.
    pub fn take(&mut self) {
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(bucket: &mut TokenBucket, now_ms: i64) -> usize {
        let mut taken = 0;
        while bucket.has_token(now_ms) {
            bucket.take();
            taken += 1;
        }
        taken
    }

    #[test]
    fn throughput_allows_one_second_of_burst() {
        let mut bucket = TokenBucket::throughput(80, 0);
        assert_eq!(drain(&mut bucket, 0), 80);
        assert_eq!(drain(&mut bucket, 500), 40);
        assert_eq!(
            drain(&mut bucket, 10_000),
            80,
            "never more than the capacity"
        );
    }

    #[test]
    fn pair_limit_bursts_45_then_one_per_six_seconds() {
        let mut bucket = TokenBucket::pair(0);
        assert_eq!(drain(&mut bucket, 0), 45);
        assert_eq!(drain(&mut bucket, 5_999), 0);
        assert_eq!(drain(&mut bucket, 6_000), 1);
    }

    #[test]
    fn time_going_backwards_does_not_add_tokens() {
        let mut bucket = TokenBucket::throughput(1, 10_000);
        bucket.take();
        assert!(!bucket.has_token(0));
    }

    proptest! {
        #[test]
        fn never_exceeds_rate_plus_burst(mps in 1u32..200, steps in proptest::collection::vec(0i64..2_000, 1..50)) {
            let mut bucket = TokenBucket::throughput(mps, 0);
            let mut now = 0;
            let mut taken = drain(&mut bucket, 0);
            for step in steps {
                now += step;
                taken += drain(&mut bucket, now);
            }
            let allowed = f64::from(mps) * (1.0 + now as f64 / 1000.0);
            prop_assert!(taken as f64 <= allowed + 1e-6);
        }
    }
}
