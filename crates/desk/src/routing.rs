//! Who may receive a conversation, and who gets the next one.
//!
//! The store gathers one [`Candidate`] per agent of the queue inside its assignment transaction
//! and calls a picker; the rules live here so they are proved once, with plain values.

use serde::{Deserialize, Serialize};

/// An agent as seen at the moment of an assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub user_id: i64,
    /// Belongs to the queue.
    pub member: bool,
    /// The user is not deactivated.
    pub active: bool,
    /// Heartbeat within the presence TTL (see [`crate::timers::is_online`]).
    pub online: bool,
    /// Manually set away.
    pub away: bool,
    /// Conversations assigned to the agent and not closed.
    pub open_chats: u32,
    /// Concurrent-chat limit.
    pub max_chats: u32,
    /// Inside both the agent's and the queue's business hours.
    pub in_hours: bool,
    /// Value of the workspace's assignment counter at the agent's last assignment (0 = never):
    /// lower means longer since the last chat.
    pub last_assigned_seq: i64,
}

/// May receive a new conversation now: a working, present member with room for one more chat.
pub fn eligible(c: &Candidate) -> bool {
    c.member && c.active && c.online && !c.away && c.in_hours && c.open_chats < c.max_chats
}

/// Round robin: the eligible agent assigned least recently; ties (e.g. never assigned) go to the
/// lower id so the order is deterministic.
pub fn pick_round_robin(candidates: &[Candidate]) -> Option<i64> {
    candidates
        .iter()
        .filter(|c| eligible(c))
        .min_by_key(|c| (c.last_assigned_seq, c.user_id))
        .map(|c| c.user_id)
}

/// Balanced: the eligible agent with the fewest open chats; ties go round robin.
pub fn pick_balanced(candidates: &[Candidate]) -> Option<i64> {
    candidates
        .iter()
        .filter(|c| eligible(c))
        .min_by_key(|c| (c.open_chats, c.last_assigned_seq, c.user_id))
        .map(|c| c.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agent(user_id: i64) -> Candidate {
        Candidate {
            user_id,
            member: true,
            active: true,
            online: true,
            away: false,
            open_chats: 0,
            max_chats: 5,
            in_hours: true,
            last_assigned_seq: 0,
        }
    }

    #[test]
    fn each_condition_is_required() {
        assert!(eligible(&agent(1)));
        let changes: [fn(&mut Candidate); 6] = [
            |c| c.member = false,
            |c| c.active = false,
            |c| c.online = false,
            |c| c.away = true,
            |c| c.in_hours = false,
            |c| c.open_chats = c.max_chats,
        ];
        for change in changes {
            let mut c = agent(1);
            change(&mut c);
            assert!(!eligible(&c), "{c:?}");
            assert_eq!(pick_round_robin(&[c.clone()]), None);
            assert_eq!(pick_balanced(&[c]), None);
        }
        let mut zero_limit = agent(1);
        zero_limit.max_chats = 0;
        assert!(!eligible(&zero_limit));
    }

    #[test]
    fn round_robin_takes_the_least_recently_assigned() {
        let mut a = agent(1);
        a.last_assigned_seq = 7;
        let mut b = agent(2);
        b.last_assigned_seq = 3;
        let mut c = agent(3);
        c.last_assigned_seq = 3;
        assert_eq!(
            pick_round_robin(&[a.clone(), c.clone(), b.clone()]),
            Some(2)
        );
        b.away = true;
        assert_eq!(pick_round_robin(&[a, b, c]), Some(3));
    }

    #[test]
    fn balanced_takes_the_least_busy() {
        let mut a = agent(1);
        a.open_chats = 2;
        let mut b = agent(2);
        b.open_chats = 1;
        b.last_assigned_seq = 9;
        let mut c = agent(3);
        c.open_chats = 1;
        c.last_assigned_seq = 4;
        assert_eq!(pick_balanced(&[a, b, c]), Some(3));
    }

    #[test]
    fn ten_thousand_conversations_over_twenty_equal_agents() {
        let mut agents: Vec<Candidate> = (1..=20).map(agent).collect();
        for c in &mut agents {
            c.max_chats = u32::MAX;
        }
        for seq in 1..=10_000 {
            let id = pick_round_robin(&agents).unwrap();
            let c = &mut agents[(id - 1) as usize];
            c.open_chats += 1;
            c.last_assigned_seq = seq;
        }
        assert!(agents.iter().all(|c| c.open_chats == 500));
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (1i64..50, any::<[bool; 6]>(), 0u32..6, 0u32..6, 0i64..20).prop_map(
            |(user_id, f, open_chats, max_chats, seq)| Candidate {
                user_id,
                member: f[0],
                active: f[1],
                online: f[2],
                away: f[3],
                open_chats,
                max_chats,
                in_hours: f[4] || f[5],
                last_assigned_seq: seq,
            },
        )
    }

    proptest! {
        #[test]
        fn pickers_choose_an_eligible_agent_exactly_when_there_is_one(
            candidates in proptest::collection::vec(arb_candidate(), 0..12)
        ) {
            let any_eligible = candidates.iter().any(eligible);
            for picked in [pick_round_robin(&candidates), pick_balanced(&candidates)] {
                prop_assert_eq!(picked.is_some(), any_eligible);
                if let Some(id) = picked {
                    prop_assert!(candidates.iter().any(|c| c.user_id == id && eligible(c)));
                }
            }
        }

    }

    proptest! {
        // Each case simulates 10,000 assignments; fewer cases keep the suite quick.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn round_robin_is_fair_while_chats_come_and_go(
            closings in proptest::collection::vec((0usize..20, any::<bool>()), 10_000)
        ) {
            // 20 equal agents, 10,000 conversations; between assignments some agent may close a
            // chat. Everyone stays under the limit, so each stays eligible and the counts differ
            // by at most one.
            let mut agents: Vec<Candidate> = (1..=20).map(|id| {
                let mut c = agent(id);
                c.max_chats = u32::MAX;
                c
            }).collect();
            let mut counts = [0u32; 20];
            for (seq, (who, closes)) in (1i64..).zip(closings) {
                if closes && agents[who].open_chats > 0 {
                    agents[who].open_chats -= 1;
                }
                let id = pick_round_robin(&agents).unwrap();
                let i = (id - 1) as usize;
                agents[i].open_chats += 1;
                agents[i].last_assigned_seq = seq;
                counts[i] += 1;
            }
            let max = counts.iter().max().unwrap();
            let min = counts.iter().min().unwrap();
            prop_assert!(max - min <= 1, "{counts:?}");
            prop_assert_eq!(counts.iter().sum::<u32>(), 10_000);
        }

        #[test]
        fn round_robin_never_picks_offline_agents(
            online in proptest::collection::vec(any::<bool>(), 20),
        ) {
            let mut agents: Vec<Candidate> = (1..=20).map(agent).collect();
            for (c, on) in agents.iter_mut().zip(&online) {
                c.online = *on;
                c.max_chats = u32::MAX;
            }
            for seq in 1..=1_000 {
                match pick_round_robin(&agents) {
                    Some(id) => {
                        let c = &mut agents[(id - 1) as usize];
                        prop_assert!(c.online);
                        c.last_assigned_seq = seq;
                        c.open_chats += 1;
                    }
                    None => prop_assert!(online.iter().all(|on| !on)),
                }
            }
            let counts: Vec<u32> = agents.iter().filter(|c| c.online).map(|c| c.open_chats).collect();
            if let (Some(max), Some(min)) = (counts.iter().max(), counts.iter().min()) {
                prop_assert!(max - min <= 1);
            }
        }
    }
}
