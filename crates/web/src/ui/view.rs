//! The inbox's lists ("Minhas", "Aguardando", one per queue, "Encerradas"…) as a parsed value,
//! and the store filter each one means for a given staff member.

use balcao_domain::UserId;
use balcao_store::{DeskState as Phase, InboxFilter, QueueId, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Assigned to me (transfers waiting for my accept included).
    Mine,
    /// Waiting for an agent in any queue I see, longest wait first.
    Waiting,
    /// Waiting in one queue.
    Queue(QueueId),
    /// With any agent (supervisors).
    Active,
    /// Choosing a queue in the menu (supervisors).
    Menu,
    /// Closed, newest first.
    Closed,
}

impl View {
    /// `mine`, `waiting`, `queue:<id>`, `active`, `menu`, `closed`; anything else is `None`.
    pub fn parse(raw: &str) -> Option<View> {
        match raw {
            "mine" => Some(View::Mine),
            "waiting" => Some(View::Waiting),
            "active" => Some(View::Active),
            "menu" => Some(View::Menu),
            "closed" => Some(View::Closed),
            other => other
                .strip_prefix("queue:")
                .and_then(|id| id.parse::<i64>().ok())
                .filter(|id| *id > 0)
                .map(|id| View::Queue(QueueId(id))),
        }
    }

    pub fn key(self) -> String {
        match self {
            View::Mine => "mine".into(),
            View::Waiting => "waiting".into(),
            View::Queue(q) => format!("queue:{q}"),
            View::Active => "active".into(),
            View::Menu => "menu".into(),
            View::Closed => "closed".into(),
        }
    }

    /// Only supervisors see every agent's chats and the menu.
    pub fn allowed(self, role: Role, member_of: &[QueueId]) -> bool {
        match self {
            View::Mine | View::Waiting | View::Closed => true,
            View::Queue(q) => role.sees_all_queues() || member_of.contains(&q),
            View::Active | View::Menu => role.sees_all_queues(),
        }
    }

    /// The store filter of this list for `user` (agents are always limited to what they may
    /// see).
    pub fn filter(self, user: UserId, role: Role, limit: u32) -> InboxFilter {
        let visible_to = (!role.sees_all_queues()).then_some(user);
        let base = InboxFilter {
            visible_to,
            limit,
            ..InboxFilter::default()
        };
        match self {
            View::Mine => InboxFilter {
                state: Some(Phase::Assigned),
                agent: Some(user),
                ..base
            },
            View::Waiting => InboxFilter {
                state: Some(Phase::Queued),
                ..base
            },
            View::Queue(q) => InboxFilter {
                state: Some(Phase::Queued),
                queue: Some(q),
                ..base
            },
            View::Active => InboxFilter {
                state: Some(Phase::Assigned),
                ..base
            },
            View::Menu => InboxFilter {
                state: Some(Phase::Menu),
                ..base
            },
            View::Closed => InboxFilter {
                state: Some(Phase::Closed),
                include_finished: true,
                ..base
            },
        }
    }

    pub fn title(self, queue_name: Option<&str>) -> String {
        match self {
            View::Mine => "Minhas conversas".into(),
            View::Waiting => "Aguardando atendimento".into(),
            View::Queue(_) => format!("Fila {}", queue_name.unwrap_or("")),
            View::Active => "Em atendimento".into(),
            View::Menu => "Escolhendo setor".into(),
            View::Closed => "Encerradas".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_view() {
        for view in [
            View::Mine,
            View::Waiting,
            View::Queue(QueueId(12)),
            View::Active,
            View::Menu,
            View::Closed,
        ] {
            assert_eq!(View::parse(&view.key()), Some(view));
        }
        for bad in ["", "queue:", "queue:x", "queue:0", "queue:-1", "Mine"] {
            assert_eq!(View::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn agents_are_limited_to_their_queues() {
        let member = [QueueId(1)];
        assert!(View::Queue(QueueId(1)).allowed(Role::Agent, &member));
        assert!(!View::Queue(QueueId(2)).allowed(Role::Agent, &member));
        assert!(!View::Active.allowed(Role::Agent, &member));
        assert!(View::Active.allowed(Role::Supervisor, &[]));
        let f = View::Waiting.filter(UserId(5), Role::Agent, 50);
        assert_eq!(f.visible_to, Some(UserId(5)));
        let f = View::Waiting.filter(UserId(5), Role::Admin, 50);
        assert_eq!(f.visible_to, None);
        let f = View::Mine.filter(UserId(5), Role::Admin, 50);
        assert_eq!(f.agent, Some(UserId(5)));
    }

    proptest! {
        #[test]
        fn queue_keys_round_trip(id in 1i64..i64::MAX) {
            prop_assert_eq!(View::parse(&format!("queue:{id}")), Some(View::Queue(QueueId(id))));
        }

        #[test]
        fn parse_never_panics(raw in ".*") {
            let _ = View::parse(&raw);
        }
    }
}
