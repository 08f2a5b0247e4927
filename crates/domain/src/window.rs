//! The 24-hour customer service window: every message from the subscriber opens (or refreshes) a
//! window of 24 hours in which anything may be sent; outside it only approved templates go through.

use crate::Millis;

pub const WINDOW_MILLIS: Millis = 24 * 60 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Free-form messages may be sent until `closes_at`.
    Open { closes_at: Millis },
    /// Only templates; `last_inbound_at` is `None` when the subscriber never wrote.
    Closed { last_inbound_at: Option<Millis> },
}

impl Window {
    pub fn at(last_inbound_at: Option<Millis>, now: Millis) -> Window {
        match last_inbound_at {
            Some(t) if now < t + WINDOW_MILLIS => Window::Open {
                closes_at: t + WINDOW_MILLIS,
            },
            other => Window::Closed {
                last_inbound_at: other,
            },
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, Window::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_for_exactly_24_hours() {
        let t = 1_750_000_000_000;
        assert!(Window::at(Some(t), t).is_open());
        assert!(Window::at(Some(t), t + WINDOW_MILLIS - 1).is_open());
        assert!(!Window::at(Some(t), t + WINDOW_MILLIS).is_open());
        assert_eq!(
            Window::at(None, t),
            Window::Closed {
                last_inbound_at: None
            }
        );
    }
}
