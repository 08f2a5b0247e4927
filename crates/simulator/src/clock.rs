//! The simulator's notion of time: wall-clock time shifted by an offset, optionally frozen, so tests
//! can step over the 24 h window, media URL expiry and rate-limit refills without sleeping.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub(crate) struct SimClock {
    inner: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    offset_ms: i64,
    frozen_at_ms: Option<i64>,
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SimClock {
    /// Unix milliseconds as the simulator sees them.
    pub(crate) fn now_ms(&self) -> i64 {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.frozen_at_ms.unwrap_or_else(wall_ms) + state.offset_ms
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub(crate) fn advance_ms(&self, by_ms: i64) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.offset_ms += by_ms;
    }

    /// Freezing keeps the current instant; unfreezing resumes from it without jumping.
    pub(crate) fn set_frozen(&self, frozen: bool) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match (frozen, state.frozen_at_ms) {
            (true, None) => state.frozen_at_ms = Some(wall_ms()),
            (false, Some(at)) => {
                state.offset_ms += at - wall_ms();
                state.frozen_at_ms = None;
            }
            _ => {}
        }
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .frozen_at_ms
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_only_moves_when_advanced() {
        let clock = SimClock::default();
        clock.set_frozen(true);
        let start = clock.now_ms();
        assert_eq!(clock.now_ms(), start);
        clock.advance_ms(6_000);
        assert_eq!(clock.now_ms(), start + 6_000);
        assert_eq!(clock.now_secs(), (start + 6_000).div_euclid(1000));
        assert!(clock.is_frozen());
    }

    #[test]
    fn unfreezing_does_not_jump_backwards() {
        let clock = SimClock::default();
        clock.set_frozen(true);
        clock.advance_ms(90_000_000);
        let frozen_now = clock.now_ms();
        clock.set_frozen(false);
        assert!(clock.now_ms() >= frozen_now);
        assert!(!clock.is_frozen());
    }
}
