//! Decisions the desk runner takes on a clock tick, as pure functions of `now`: has a waiting
//! conversation waited too long, should the out-of-hours notice go out, is an agent present.

use jiff::{SignedDuration, Timestamp};

use crate::hours::{BusinessHours, SEARCH_DAYS};

/// An agent without a heartbeat for this long is offline (the inbox beats every ~15 s, so two
/// missed beats are tolerated).
pub const PRESENCE_TTL: SignedDuration = SignedDuration::from_secs(45);

/// Present and available: a heartbeat within [`PRESENCE_TTL`] and not set away. A heartbeat
/// stamped slightly in the future (another node's clock) counts as present.
pub fn is_online(last_seen_at: Option<Timestamp>, away: bool, now: Timestamp) -> bool {
    match last_seen_at {
        Some(seen) if !away => now.duration_since(seen) < PRESENCE_TTL,
        _ => false,
    }
}

/// When a conversation waiting since `since` moves to the fallback queue; `None` without a
/// timeout (a zero or negative timeout counts as none: it would bounce chats at once).
pub fn fallback_deadline(
    since: Timestamp,
    accept_timeout: Option<SignedDuration>,
) -> Option<Timestamp> {
    let timeout = accept_timeout.filter(|t| t.is_positive())?;
    since.checked_add(timeout).ok()
}

/// Whether a conversation queued (or transferred to an agent) at `queued_or_assigned_at` and not
/// yet accepted has waited its queue's `accept_timeout`: then it moves to the fallback queue.
pub fn fallback_due(
    queued_or_assigned_at: Timestamp,
    accepted: bool,
    accept_timeout: Option<SignedDuration>,
    now: Timestamp,
) -> bool {
    !accepted
        && fallback_deadline(queued_or_assigned_at, accept_timeout).is_some_and(|due| now >= due)
}

/// What to do about a conversation waiting in a queue, given its hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OohDecision {
    /// Open: route normally.
    Open,
    /// Closed and the subscriber was not told for this closed period: send the out-of-hours
    /// message and store `until` (the next opening, or a year ahead when none is in sight) as
    /// `ooh_notified_until`.
    NotifyAndWait { until: Timestamp },
    /// Closed and already told during this closed period: say nothing.
    AlreadyNotified,
}

/// The out-of-hours notice goes out at most once per closed period: `already_notified_until` is
/// the `until` stored when it was last sent; while `at` is before it, or it is still the next
/// opening, the period is the same one.
pub fn out_of_hours_notice(
    hours: &BusinessHours,
    at: Timestamp,
    already_notified_until: Option<Timestamp>,
) -> OohDecision {
    if hours.is_open(at) {
        return OohDecision::Open;
    }
    let until = hours.next_opening(at).unwrap_or_else(|| {
        at.checked_add(SignedDuration::from_hours(24 * i64::from(SEARCH_DAYS)))
            .unwrap_or(at)
    });
    match already_notified_until {
        Some(notified) if at < notified || notified == until => OohDecision::AlreadyNotified,
        _ => OohDecision::NotifyAndWait { until },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::{DEFAULT_TIME_ZONE, WeeklyHours};
    use balcao_domain::br::HolidayCalendar;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn sp(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .in_tz(DEFAULT_TIME_ZONE)
            .unwrap()
            .timestamp()
    }

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    #[test]
    fn presence_expires_after_45_seconds() {
        let now = sp(2026, 3, 2, 10, 0);
        assert!(is_online(Some(now), false, now));
        assert!(is_online(Some(now - secs(44)), false, now));
        assert!(!is_online(Some(now - secs(45)), false, now));
        assert!(!is_online(Some(now), true, now), "away");
        assert!(!is_online(None, false, now));
        assert!(is_online(Some(now + secs(3)), false, now), "clock skew");
    }

    #[test]
    fn fallback_after_the_timeout_unless_accepted() {
        let since = sp(2026, 3, 2, 10, 0);
        let five_min = Some(secs(300));
        assert!(!fallback_due(since, false, five_min, since + secs(299)));
        assert!(fallback_due(since, false, five_min, since + secs(300)));
        assert!(!fallback_due(since, true, five_min, since + secs(3000)));
        assert!(!fallback_due(since, false, None, since + secs(86_400)));
        assert!(!fallback_due(since, false, Some(secs(0)), since + secs(10)));
        assert_eq!(fallback_deadline(since, five_min), Some(since + secs(300)));
    }

    #[test]
    fn out_of_hours_notice_once_per_closed_period() {
        let hours = BusinessHours::new(
            DEFAULT_TIME_ZONE,
            Some(WeeklyHours::parse_text("seg-sex 08:00-12:00,13:00-18:00").unwrap()),
            HolidayCalendar::default(),
        )
        .unwrap();
        assert_eq!(
            out_of_hours_notice(&hours, sp(2026, 3, 2, 9, 0), None),
            OohDecision::Open
        );
        // Lunch: notify once, until 13:00.
        let lunch = sp(2026, 3, 2, 12, 10);
        let until = sp(2026, 3, 2, 13, 0);
        assert_eq!(
            out_of_hours_notice(&hours, lunch, None),
            OohDecision::NotifyAndWait { until }
        );
        assert_eq!(
            out_of_hours_notice(&hours, sp(2026, 3, 2, 12, 50), Some(until)),
            OohDecision::AlreadyNotified
        );
        // The evening is a new closed period: notify again, until Tuesday 08:00.
        assert_eq!(
            out_of_hours_notice(&hours, sp(2026, 3, 2, 19, 0), Some(until)),
            OohDecision::NotifyAndWait {
                until: sp(2026, 3, 3, 8, 0)
            }
        );
        // Never open: one notice a year at most.
        let never = BusinessHours::new(
            DEFAULT_TIME_ZONE,
            Some(WeeklyHours::default()),
            HolidayCalendar::default(),
        )
        .unwrap();
        let OohDecision::NotifyAndWait { until } = out_of_hours_notice(&never, lunch, None) else {
            panic!("expected a notice");
        };
        assert_eq!(
            out_of_hours_notice(&never, lunch + secs(86_400 * 30), Some(until)),
            OohDecision::AlreadyNotified
        );
    }

    proptest! {
        #[test]
        fn one_notice_per_closed_period(start_min in 0i64..(60 * 24 * 14), steps in proptest::collection::vec(1i64..240, 1..60)) {
            // Walk through two weeks in random steps, storing `until` as the runner does: one
            // notice per closed period, and only while closed.
            let hours = BusinessHours::new(
                DEFAULT_TIME_ZONE,
                Some(WeeklyHours::parse_text("seg-sex 08:00-12:00,13:00-18:00; sab 09:00-13:00").unwrap()),
                HolidayCalendar::default(),
            ).unwrap();
            let mut at = sp(2026, 3, 2, 0, 0) + SignedDuration::from_mins(start_min);
            let mut notified: Option<Timestamp> = None;
            let mut notices: Vec<Timestamp> = Vec::new();
            for step in steps {
                match out_of_hours_notice(&hours, at, notified) {
                    OohDecision::Open => prop_assert!(hours.is_open(at)),
                    OohDecision::NotifyAndWait { until } => {
                        prop_assert!(!hours.is_open(at));
                        prop_assert!(until > at);
                        prop_assert!(!notices.contains(&until), "second notice for the period ending {until}");
                        notices.push(until);
                        notified = Some(until);
                    }
                    OohDecision::AlreadyNotified => prop_assert!(!hours.is_open(at)),
                }
                at += SignedDuration::from_mins(step);
            }
        }

        #[test]
        fn fallback_is_due_exactly_from_the_deadline(wait in 0i64..100_000, timeout in 1i64..10_000) {
            let since = sp(2026, 3, 2, 10, 0);
            let now = since + secs(wait);
            prop_assert_eq!(fallback_due(since, false, Some(secs(timeout)), now), wait >= timeout);
        }
    }
}
