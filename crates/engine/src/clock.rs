//! A clock that can be moved: the system time shifted by an offset. The demo and the end-to-end
//! tests use it to watch a whole billing ladder (days of reminders) in minutes; time keeps
//! flowing between moves, so timers and leases behave as they do in production.

use crate::Clock;
use balcao_domain::Millis;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl OffsetClock {
    /// The system clock as is (offset zero).
    pub fn new() -> Self {
        OffsetClock::default()
    }

    /// A clock that reads `start` now and advances with real time.
    pub fn starting_at(start: Millis) -> Self {
        let clock = OffsetClock::default();
        clock.set(start);
        clock
    }

    /// Makes the clock read `at` now (it keeps advancing with real time from there).
    pub fn set(&self, at: Millis) {
        self.offset_ms
            .store(at - balcao_domain::now_millis(), Ordering::SeqCst);
    }

    /// Moves the clock by `by` milliseconds (negative moves it back) and returns the new time.
    pub fn advance(&self, by: Millis) -> Millis {
        self.offset_ms.fetch_add(by, Ordering::SeqCst);
        self.now()
    }

    pub fn offset(&self) -> Millis {
        self.offset_ms.load(Ordering::SeqCst)
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Millis {
        balcao_domain::now_millis() + self.offset_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_advance_moves_by_exactly_the_step() {
        let clock = OffsetClock::starting_at(1_000_000_000_000);
        let before = clock.now();
        assert!((1_000_000_000_000..1_000_000_000_000 + 60_000).contains(&before));
        let offset = clock.offset();
        let after = clock.advance(86_400_000);
        assert_eq!(clock.offset(), offset + 86_400_000);
        assert!(after >= before + 86_400_000);
        clock.advance(-86_400_000);
        assert_eq!(clock.offset(), offset);
    }

    #[test]
    fn new_reads_the_system_time() {
        let clock = OffsetClock::new();
        assert_eq!(clock.offset(), 0);
        assert!((clock.now() - balcao_domain::now_millis()).abs() < 60_000);
    }
}
