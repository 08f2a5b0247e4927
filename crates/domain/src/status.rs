//! Delivery status of an outbound message and the rule that keeps it monotonic: WhatsApp does not
//! guarantee the order of status webhooks (`read` may come before `delivered`), and `failed` is
//! terminal.

use serde::{Deserialize, Serialize};

/// Where an outbound message stands. The first three are ours; the rest come from WhatsApp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// In the outbox, not yet handed to the Graph API.
    Queued,
    /// Handed to the Graph API; the answer is not recorded yet (a crash here is reconciled).
    Sending,
    /// The Graph API answered with a `wamid`.
    Accepted,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "accepted" => Self::Accepted,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sending => 1,
            Self::Accepted => 2,
            Self::Sent => 3,
            Self::Delivered => 4,
            Self::Read => 5,
            Self::Failed => 6,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Read | Self::Failed)
    }

    /// The status after `incoming` is reported while the message is `self`, or `None` when the
    /// report changes nothing. Progress only moves forward; `failed` ends everything except a
    /// message already read (WhatsApp cannot un-read it, so a late `failed` is a stale report).
    pub fn advance(self, incoming: DeliveryStatus) -> Option<DeliveryStatus> {
        match (self, incoming) {
            (Self::Failed, _) => None,
            (Self::Read, _) => None,
            (_, Self::Failed) => Some(Self::Failed),
            (current, new) if new.rank() > current.rank() => Some(new),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::{self, *};
    use proptest::prelude::*;

    #[test]
    fn out_of_order_reports_never_go_back() {
        assert_eq!(Accepted.advance(Read), Some(Read));
        assert_eq!(Read.advance(Delivered), None);
        assert_eq!(Delivered.advance(Sent), None);
        assert_eq!(Sent.advance(Delivered), Some(Delivered));
    }

    #[test]
    fn failed_is_terminal() {
        assert_eq!(Delivered.advance(Failed), Some(Failed));
        assert_eq!(Failed.advance(Read), None);
        assert_eq!(Failed.advance(Sent), None);
        assert_eq!(Read.advance(Failed), None);
    }

    fn any_status() -> impl Strategy<Value = DeliveryStatus> {
        prop::sample::select(vec![
            Queued, Sending, Accepted, Sent, Delivered, Read, Failed,
        ])
    }

    proptest! {
        /// Whatever order the reports come in, the final status is the same: the most advanced one
        /// (failed wins unless read came first, which the fold below expresses).
        #[test]
        fn final_status_does_not_depend_on_order(mut reports in prop::collection::vec(any_status(), 0..8)) {
            let fold = |rs: &[DeliveryStatus]| rs.iter().fold(Accepted, |s, r| s.advance(*r).unwrap_or(s));
            let forward = fold(&reports);
            reports.reverse();
            let backward = fold(&reports);
            // Only the read/failed race is order dependent, by design.
            if !(reports.contains(&Read) && reports.contains(&Failed)) {
                prop_assert_eq!(forward, backward);
            }
        }

        #[test]
        fn round_trips_through_text(s in any_status()) {
            prop_assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
    }
}
