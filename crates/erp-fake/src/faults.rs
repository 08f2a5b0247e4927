//! Injected failures. Each request draws one number from a generator seeded with
//! [`Faults::seed`], so a test that sends the same requests sees the same failures.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How long a "timed out" request hangs: longer than any sane client timeout.
pub const HANG: Duration = Duration::from_secs(600);

/// Failures to inject, settable at run time (`FakeControl::set_faults` or `POST /_fake/faults`).
/// Rates are probabilities in `[0, 1]`, checked in this order: timeout, 500, HTML error,
/// truncated JSON (their sum should not exceed 1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every request before it is answered.
    pub latency_ms: u64,
    /// The request hangs for [`HANG`] (then 504): the client's timeout must fire.
    pub timeout_rate: f64,
    /// HTTP 500 with a short text body.
    pub error_500_rate: f64,
    /// IXC: an HTML error page with HTTP 200 (its real failure mode); others: nginx's HTML 502.
    pub html_error_rate: f64,
    /// The handler runs (writes happen) but the JSON body is cut in half.
    pub truncated_json_rate: f64,
    /// One-shot: every token issued so far stops working (Hubsoft, MK-Auth, Voalle answer 401
    /// and a fresh token works); systems with a fixed token (SGP, IXC, RadiusNet) refuse the next
    /// authenticated call with their 401. Reads back as `false` once applied.
    pub expire_tokens: bool,
    /// Every request gets 503 (the control API keeps working).
    pub down: bool,
    /// Requests per minute before HTTP 429. `None`: the system's own limit (Voalle 30, the others
    /// unlimited); `Some(0)`: no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Seed of the fault draws; setting faults restarts the sequence.
    pub seed: u64,
}

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Pass,
    Down,
    Hang,
    Error500,
    HtmlError,
    TruncateBody,
}

impl Faults {
    /// The action for a request whose draw is `draw` in `[0, 1)` (pure).
    pub fn action_for(&self, draw: f64) -> FaultAction {
        if self.down {
            return FaultAction::Down;
        }
        let mut threshold = 0.0;
        for (rate, action) in [
            (self.timeout_rate, FaultAction::Hang),
            (self.error_500_rate, FaultAction::Error500),
            (self.html_error_rate, FaultAction::HtmlError),
            (self.truncated_json_rate, FaultAction::TruncateBody),
        ] {
            threshold += rate.clamp(0.0, 1.0);
            if draw < threshold {
                return action;
            }
        }
        FaultAction::Pass
    }
}

/// A token bucket of `per_minute` requests refilling continuously.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    pub(crate) fn new(per_minute: u32, now: Instant) -> Self {
        RateLimiter {
            per_minute,
            tokens: f64::from(per_minute),
            last: now,
        }
    }

    pub(crate) fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one request from the bucket; `Err(seconds to wait)` when empty.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * capacity / 60.0).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) * 60.0 / capacity).ceil() as u64)
        }
    }
}

/// The mutable fault state of one fake.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    rng: Rng,
    /// Tokens issued in an older epoch are expired.
    pub(crate) token_epoch: u64,
    /// A fixed-token system refuses the next authenticated call.
    pub(crate) reject_next_auth: bool,
    limiter: Option<RateLimiter>,
    default_rate_limit: Option<u32>,
}

impl FaultState {
    pub(crate) fn new(faults: Faults, default_rate_limit: Option<u32>) -> Self {
        let mut state = FaultState {
            faults: Faults::default(),
            rng: Rng::new(0),
            token_epoch: 0,
            reject_next_auth: false,
            limiter: None,
            default_rate_limit,
        };
        state.set(faults);
        state
    }

    pub(crate) fn set(&mut self, mut faults: Faults) {
        if faults.expire_tokens {
            self.token_epoch += 1;
            self.reject_next_auth = true;
            faults.expire_tokens = false;
        }
        self.rng = Rng::new(faults.seed);
        let limit = match faults.rate_limit_per_minute {
            Some(0) => None,
            Some(n) => Some(n),
            None => self.default_rate_limit,
        };
        if self.limiter.as_ref().map(RateLimiter::per_minute) != limit {
            self.limiter = limit.map(|n| RateLimiter::new(n, Instant::now()));
        }
        self.faults = faults;
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// Latency and action for the next request.
    pub(crate) fn next(&mut self) -> (Duration, FaultAction) {
        let draw = self.rng.unit();
        (
            Duration::from_millis(self.faults.latency_ms),
            self.faults.action_for(draw),
        )
    }

    /// Whether the rate limit lets one more request through; `Err(retry after seconds)`.
    pub(crate) fn acquire(&mut self) -> Result<(), u64> {
        match &mut self.limiter {
            Some(limiter) => limiter.try_acquire(Instant::now()),
            None => Ok(()),
        }
    }

    /// Consumes the one-shot refusal of a fixed-token system.
    pub(crate) fn take_auth_rejection(&mut self) -> bool {
        std::mem::take(&mut self.reject_next_auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_cumulative_rates() {
        let faults = Faults {
            timeout_rate: 0.1,
            error_500_rate: 0.2,
            html_error_rate: 0.3,
            truncated_json_rate: 0.1,
            ..Faults::default()
        };
        assert_eq!(faults.action_for(0.05), FaultAction::Hang);
        assert_eq!(faults.action_for(0.25), FaultAction::Error500);
        assert_eq!(faults.action_for(0.55), FaultAction::HtmlError);
        assert_eq!(faults.action_for(0.65), FaultAction::TruncateBody);
        assert_eq!(faults.action_for(0.75), FaultAction::Pass);
        let down = Faults {
            down: true,
            ..faults
        };
        assert_eq!(down.action_for(0.99), FaultAction::Down);
        assert_eq!(Faults::default().action_for(0.0), FaultAction::Pass);
    }

    #[test]
    fn draws_repeat_for_the_same_seed() {
        let faults = Faults {
            error_500_rate: 0.5,
            seed: 9,
            ..Faults::default()
        };
        let run = || {
            let mut state = FaultState::new(faults.clone(), None);
            (0..32).map(|_| state.next().1).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&FaultAction::Error500) && first.contains(&FaultAction::Pass));
    }

    #[test]
    fn expire_tokens_is_one_shot() {
        let mut state = FaultState::new(Faults::default(), None);
        state.set(Faults {
            expire_tokens: true,
            ..Faults::default()
        });
        assert_eq!(state.token_epoch, 1);
        assert!(!state.faults().expire_tokens);
        assert!(state.take_auth_rejection());
        assert!(!state.take_auth_rejection());
    }

    #[test]
    fn bucket_empties_and_refills() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(30, start);
        for _ in 0..30 {
            assert!(limiter.try_acquire(start).is_ok());
        }
        assert_eq!(limiter.try_acquire(start), Err(2));
        assert!(limiter.try_acquire(start + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn system_default_limit_and_overrides() {
        let mut state = FaultState::new(Faults::default(), Some(2));
        assert!(state.acquire().is_ok() && state.acquire().is_ok());
        assert!(state.acquire().is_err());
        state.set(Faults {
            rate_limit_per_minute: Some(0),
            ..Faults::default()
        });
        assert!((0..100).all(|_| state.acquire().is_ok()));
    }
}
