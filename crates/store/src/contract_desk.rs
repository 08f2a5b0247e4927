//! The service desk's contract ([`DeskStore`]) every backend passes, run like the main suite:
//!
//! ```text
//! balcao_store::desk_contract_suite!(async { Some(make_fresh_store().await) });
//! balcao_store::desk_contract_suite!(async { make().await }, |store| async move { teardown });
//! ```

use crate::contract::{T0, batch, text_message};
use crate::*;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// Expands to one `#[tokio::test]` per desk contract test.
#[macro_export]
macro_rules! desk_contract_suite {
    ($make:expr) => {
        $crate::desk_contract_suite!($make, |_store| async {});
    };
    ($make:expr, $teardown:expr) => {
        $crate::__desk_contract_tests!($make, $teardown;
            desk_users_sessions_and_tokens,
            desk_login_throttle_locks_and_resets,
            desk_queues_options_are_unique_and_members_replace,
            desk_settings_holidays_and_quick_replies,
            desk_menu_then_queue,
            desk_assignment_only_to_eligible_agents,
            desk_round_robin_is_fair_over_20_agents,
            desk_concurrent_assigners_never_double_assign,
            desk_claims_conflict_clearly,
            desk_concurrent_claims_have_one_winner,
            desk_offline_agent_returns_unanswered_chats,
            desk_transfer_with_note_and_fallback_deadline,
            desk_out_of_hours_once_per_period,
            desk_close_grace_reopen_and_finish,
            desk_csat_is_stored_per_agent_and_queue,
            desk_notes_tags_and_team_chat,
            desk_entry_follows_handoffs,
            desk_inbox_lists_orders_and_counts_unread,
            desk_board_shows_waiting_and_presence,
            desk_workspaces_are_isolated,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __desk_contract_tests {
    ($make:expr, $teardown:expr; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = $make.await else {
                return;
            };
            $crate::Store::migrate(&store).await.expect("migrate");
            $crate::contract_desk::$name(&store).await;
            let teardown = $teardown;
            teardown(store).await;
        }
    )*};
}

/// Heartbeats at or after this are online in these tests.
const ONLINE_SINCE: Millis = T0 - 45_000;

fn phone(i: u32) -> String {
    format!("55119876{:05}", 20_000 + i)
}

async fn workspace<S: Store>(store: &S, slug: &str, phone_number_id: &str) -> WorkspaceId {
    let ws = store
        .create_workspace(NewWorkspace {
            slug: slug.into(),
            name: format!("Provedor {slug}"),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .expect("create workspace")
        .id;
    store
        .create_number(
            ws,
            NewNumber {
                phone_number_id: phone_number_id.into(),
                display_phone_number: format!("+55 16 3{phone_number_id}"),
                waba_id: format!("waba-{phone_number_id}"),
                throughput_mps: 80,
            },
        )
        .await
        .expect("create number");
    ws
}

/// `count` conversations on `phone_number_id`, one per subscriber, in one ingest.
async fn conversations<S: Store>(
    store: &S,
    phone_number_id: &str,
    first: u32,
    count: u32,
    at: Millis,
) -> Vec<(ConversationId, MessageId)> {
    let messages = (first..first + count)
        .map(|i| {
            text_message(
                phone_number_id,
                &format!("wamid.{phone_number_id}.{i}.{at}"),
                &phone(i),
                at + Millis::from(i),
                "oi",
            )
        })
        .collect();
    let report = store
        .ingest(&[batch(messages, vec![])], at)
        .await
        .expect("ingest")
        .remove(0);
    assert_eq!(report.new_messages.len(), count as usize);
    let mut seen = HashSet::new();
    let conversations: Vec<ConversationId> = report
        .conversations
        .iter()
        .map(|(_, c)| *c)
        .filter(|c| seen.insert(*c))
        .collect();
    conversations.into_iter().zip(report.new_messages).collect()
}

async fn one_conversation<S: Store>(
    store: &S,
    phone_number_id: &str,
    i: u32,
    at: Millis,
) -> (ConversationId, MessageId) {
    conversations(store, phone_number_id, i, 1, at).await[0]
}

fn new_user(email: &str, role: Role, max_chats: u32) -> NewUser {
    NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap_or(email).into(),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        max_chats,
        hours: None,
    }
}

async fn agent<S: Store>(store: &S, ws: WorkspaceId, email: &str, max_chats: u32) -> UserId {
    store
        .create_user(ws, new_user(email, Role::Agent, max_chats), T0)
        .await
        .expect("create user")
        .id
}

/// An agent who is online (heartbeat at T0).
async fn online_agent<S: Store>(store: &S, ws: WorkspaceId, email: &str, max_chats: u32) -> UserId {
    let id = agent(store, ws, email, max_chats).await;
    store
        .heartbeat(ws, id, T0, ONLINE_SINCE)
        .await
        .expect("heartbeat");
    id
}

fn settings(option: u32, name: &str) -> QueueSettings {
    QueueSettings {
        option_number: OptionNumber::new(option).expect("option in range"),
        name: name.into(),
        active: true,
        distribution: Distribution::RoundRobin,
        hours: None,
        out_of_hours: OutOfHoursMode::Wait,
        fallback_queue_id: None,
        accept_timeout_secs: None,
    }
}

async fn queue<S: Store>(store: &S, ws: WorkspaceId, option: u32, name: &str) -> QueueId {
    store
        .create_queue(ws, &settings(option, name), T0)
        .await
        .expect("create queue")
        .id
}

async fn queued<S: Store>(
    store: &S,
    ws: WorkspaceId,
    conversation: ConversationId,
    queue: QueueId,
    at: Millis,
) -> DeskConversation {
    let (desk, created) = store
        .enter_desk(
            ws,
            conversation,
            DeskEntry {
                queue: Some(queue),
                summary: Some("Cliente pediu segunda via".into()),
                handled_up_to: None,
                welcome: false,
            },
            at,
        )
        .await
        .expect("enter desk");
    assert!(created);
    desk
}

fn rules(now: Millis, within_hours: &[UserId]) -> AssignRules {
    AssignRules {
        now,
        online_since: ONLINE_SINCE,
        within_hours: within_hours.to_vec(),
    }
}

async fn desk<S: Store>(store: &S, ws: WorkspaceId, c: ConversationId) -> DeskConversation {
    store
        .desk_conversation(ws, c)
        .await
        .expect("read desk")
        .expect("desk row exists")
}

async fn kinds<S: Store>(store: &S, ws: WorkspaceId, c: ConversationId) -> Vec<String> {
    store
        .events(ws, c)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k != "message_in")
        .collect()
}

/// The notices waiting for one conversation, by kind, oldest first.
async fn notices<S: Store>(store: &S, c: ConversationId) -> Vec<String> {
    store
        .due_desk_work(T0 + 10_000_000, ONLINE_SINCE, 1000)
        .await
        .expect("due work")
        .notices
        .into_iter()
        .filter(|n| n.conversation_id == c)
        .map(|n| n.kind)
        .collect()
}

async fn complete_notices<S: Store>(store: &S) {
    let due = store
        .due_desk_work(T0 + 10_000_000, ONLINE_SINCE, 1000)
        .await
        .expect("due work");
    for notice in due.notices {
        store
            .complete_desk_notice(notice.workspace_id, notice.id)
            .await
            .expect("complete notice");
    }
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T>) -> bool {
    matches!(result, Err(StoreError::Conflict(message)) if !message.is_empty())
}

fn is_not_found<T: std::fmt::Debug>(result: &Result<T>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

// ---- users and access ----------------------------------------------------------------------------

pub async fn desk_users_sessions_and_tokens<S: Store + Clone>(store: &S) {
    let a = workspace(store, "fibra", "pn-1").await;
    let b = workspace(store, "outro", "pn-2").await;
    let ana = store
        .create_user(a, new_user("  Ana@Fibra.COM ", Role::Supervisor, 4), T0)
        .await
        .unwrap();
    assert_eq!(ana.email, "ana@fibra.com");
    assert_eq!(ana.role, Role::Supervisor);
    assert!(ana.active && !ana.away);
    assert_eq!(ana.max_chats, 4);
    assert_eq!(ana.last_seen_at, None);
    // The e-mail is unique per workspace, whatever its case; another workspace may reuse it.
    let again = store
        .create_user(a, new_user("ANA@fibra.com", Role::Agent, 5), T0)
        .await;
    assert!(is_conflict(&again), "{again:?}");
    let zero = store
        .create_user(a, new_user("zero@fibra.com", Role::Agent, 0), T0)
        .await;
    assert!(is_conflict(&zero), "{zero:?}");
    let ana_b = store
        .create_user(b, new_user("ana@fibra.com", Role::Admin, 5), T0)
        .await
        .unwrap();
    let found = store.users_by_email("Ana@fibra.com").await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        [ana.id, ana_b.id]
    );
    assert_eq!(
        store.user_by_email(a, "ANA@FIBRA.COM").await.unwrap(),
        Some(ana.clone())
    );

    // Patch: only what is given changes; hours can be set and cleared.
    let bruno = agent(store, a, "bruno@fibra.com", 5).await;
    let hours = json!({ "mon": [["08:00", "12:00"], ["13:00", "18:00"]] });
    let patched = store
        .update_user(
            a,
            bruno,
            UserPatch {
                name: Some("Bruno Lima".into()),
                max_chats: Some(7),
                hours: Some(Some(hours.clone())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.name, "Bruno Lima");
    assert_eq!(patched.max_chats, 7);
    assert_eq!(patched.hours, Some(hours));
    assert_eq!(patched.email, "bruno@fibra.com");
    let cleared = store
        .update_user(
            a,
            bruno,
            UserPatch {
                hours: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.hours, None);
    assert_eq!(cleared.name, "Bruno Lima");
    let taken = store
        .update_user(
            a,
            bruno,
            UserPatch {
                email: Some("ana@fibra.com".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(is_conflict(&taken), "{taken:?}");
    let foreign = store.update_user(b, bruno, UserPatch::default()).await;
    assert!(is_not_found(&foreign), "{foreign:?}");
    assert_eq!(store.users(a).await.unwrap().len(), 2);

    // Sessions: found while valid and the user active.
    let session = store
        .create_user_session(
            a,
            NewUserSession {
                token_sha256: "s1".into(),
                user_id: bruno,
                csrf_token: "csrf-1".into(),
                created_at: T0,
                expires_at: T0 + 1_000,
            },
        )
        .await
        .unwrap();
    assert_eq!(session.workspace_id, a);
    let (found, user) = store.user_session("s1", T0 + 999).await.unwrap().unwrap();
    assert_eq!(found, session);
    assert_eq!(user.id, bruno);
    assert!(
        store
            .user_session("s1", T0 + 1_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user_session("nope", T0).await.unwrap().is_none());
    let intruder = store
        .create_user_session(
            b,
            NewUserSession {
                token_sha256: "s2".into(),
                user_id: bruno,
                csrf_token: "x".into(),
                created_at: T0,
                expires_at: T0 + 1_000,
            },
        )
        .await;
    assert!(is_not_found(&intruder), "{intruder:?}");
    store
        .update_user(
            a,
            bruno,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(store.user_session("s1", T0).await.unwrap().is_none());
    store
        .update_user(
            a,
            bruno,
            UserPatch {
                active: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(store.user_session("s1", T0).await.unwrap().is_some());
    store.delete_user_session("s1").await.unwrap();
    assert!(store.user_session("s1", T0).await.unwrap().is_none());
    for (token, expires) in [("s3", T0 + 10), ("s4", T0 + 20), ("s5", T0 + 5_000)] {
        store
            .create_user_session(
                a,
                NewUserSession {
                    token_sha256: token.into(),
                    user_id: bruno,
                    csrf_token: "c".into(),
                    created_at: T0,
                    expires_at: expires,
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(store.purge_expired_sessions(T0 + 20).await.unwrap(), 2);
    assert_eq!(store.delete_user_sessions(b, bruno).await.unwrap(), 0);
    assert_eq!(store.delete_user_sessions(a, bruno).await.unwrap(), 1);
    assert!(store.user_session("s5", T0).await.unwrap().is_none());

    // Bearer tokens.
    let token = store
        .create_user_token(a, bruno, "integração", "t-sha", T0)
        .await
        .unwrap();
    assert_eq!(
        store.user_for_token("t-sha").await.unwrap().map(|u| u.id),
        Some(bruno)
    );
    assert_eq!(
        store.user_tokens(a, bruno).await.unwrap(),
        vec![token.clone()]
    );
    assert!(store.user_tokens(b, bruno).await.unwrap().is_empty());
    let foreign = store.create_user_token(b, bruno, "x", "t-2", T0).await;
    assert!(is_not_found(&foreign), "{foreign:?}");
    let foreign = store.delete_user_token(b, bruno, token.id).await;
    assert!(is_not_found(&foreign), "{foreign:?}");
    store.delete_user_token(a, bruno, token.id).await.unwrap();
    assert!(store.user_for_token("t-sha").await.unwrap().is_none());
}

pub async fn desk_login_throttle_locks_and_resets<S: Store + Clone>(store: &S) {
    let rule = ThrottleRule {
        window_millis: 60_000,
        max_failures: 3,
        lock_millis: 300_000,
    };
    assert!(store.login_throttle("email:a").await.unwrap().is_none());
    let first = store
        .record_login_failure("email:a", rule, T0)
        .await
        .unwrap();
    assert_eq!((first.failures, first.locked_until), (1, None));
    store
        .record_login_failure("email:a", rule, T0 + 1)
        .await
        .unwrap();
    let third = store
        .record_login_failure("email:a", rule, T0 + 2)
        .await
        .unwrap();
    assert_eq!(third.failures, 3);
    assert_eq!(third.locked_until, Some(T0 + 2 + 300_000));
    assert!(third.is_locked(T0 + 299_999));
    assert!(!third.is_locked(T0 + 302_000));
    assert_eq!(
        store.login_throttle("email:a").await.unwrap(),
        Some(third.clone())
    );
    // Other keys are independent.
    let other = store.record_login_failure("ip:1", rule, T0).await.unwrap();
    assert_eq!(other.failures, 1);
    // After the window, counting restarts.
    let later = store
        .record_login_failure("ip:1", rule, T0 + 60_000)
        .await
        .unwrap();
    assert_eq!((later.failures, later.window_started_at), (1, T0 + 60_000));
    store.clear_login_failures("email:a").await.unwrap();
    assert!(store.login_throttle("email:a").await.unwrap().is_none());

    // Failures counted concurrently are all counted.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .record_login_failure("email:many", rule, T0 + i)
                .await
                .unwrap()
        });
    }
    while tasks.join_next().await.is_some() {}
    let many = store.login_throttle("email:many").await.unwrap().unwrap();
    assert_eq!(many.failures, 10);
    assert!(many.is_locked(T0 + 20));
}

// ---- queues and configuration ------------------------------------------------------------------

pub async fn desk_queues_options_are_unique_and_members_replace<S: Store + Clone>(store: &S) {
    let a = workspace(store, "fibra", "pn-1").await;
    let b = workspace(store, "outro", "pn-2").await;
    let financeiro = queue(store, a, 1, "Financeiro").await;
    let mut suporte = settings(2, "Suporte");
    suporte.distribution = Distribution::Pick;
    suporte.fallback_queue_id = Some(financeiro);
    suporte.accept_timeout_secs = Some(300);
    suporte.out_of_hours = OutOfHoursMode::Fallback;
    suporte.hours = Some(json!({ "mon": [["08:00", "18:00"]] }));
    let suporte = store.create_queue(a, &suporte, T0).await.unwrap();
    assert_eq!(suporte.distribution, Distribution::Pick);
    assert_eq!(suporte.fallback_queue_id, Some(financeiro));
    assert_eq!(suporte.accept_timeout_secs, Some(300));
    assert_eq!(suporte.out_of_hours, OutOfHoursMode::Fallback);
    // Option numbers are unique per workspace.
    let clash = store.create_queue(a, &settings(1, "Vendas"), T0).await;
    assert!(is_conflict(&clash), "{clash:?}");
    store
        .create_queue(b, &settings(1, "Vendas"), T0)
        .await
        .unwrap();
    let moved = store
        .update_queue(a, suporte.id, &settings(1, "Suporte"))
        .await;
    assert!(is_conflict(&moved), "{moved:?}");
    // A queue cannot fall back on itself nor on another workspace's queue.
    let mut own = settings(2, "Suporte");
    own.fallback_queue_id = Some(suporte.id);
    let result = store.update_queue(a, suporte.id, &own).await;
    assert!(is_conflict(&result), "{result:?}");
    let foreign_fallback = store.queues(b).await.unwrap()[0].id;
    let mut foreign = settings(3, "Vendas");
    foreign.fallback_queue_id = Some(foreign_fallback);
    let result = store.create_queue(a, &foreign, T0).await;
    assert!(is_not_found(&result), "{result:?}");
    // Locking a queue keeps it listed.
    let mut locked = settings(2, "Suporte técnico");
    locked.active = false;
    locked.fallback_queue_id = Some(financeiro);
    let updated = store.update_queue(a, suporte.id, &locked).await.unwrap();
    assert!(!updated.active);
    assert_eq!(updated.name, "Suporte técnico");
    assert_eq!(
        store
            .queues(a)
            .await
            .unwrap()
            .iter()
            .map(|q| q.option_number.get())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(OptionNumber::new(0).is_none() && OptionNumber::new(100).is_none());

    // Members are replaced as a whole; users of other workspaces are refused.
    let ana = agent(store, a, "ana@fibra.com", 5).await;
    let bruno = agent(store, a, "bruno@fibra.com", 5).await;
    let outsider = agent(store, b, "carla@outro.com", 5).await;
    store
        .set_queue_members(a, financeiro, &[ana, bruno])
        .await
        .unwrap();
    store
        .set_queue_members(a, suporte.id, &[bruno])
        .await
        .unwrap();
    store
        .set_queue_members(a, financeiro, &[bruno])
        .await
        .unwrap();
    let members = store.queue_members(a, financeiro).await.unwrap();
    assert_eq!(members.iter().map(|u| u.id).collect::<Vec<_>>(), [bruno]);
    assert_eq!(
        store.user_queues(a, bruno).await.unwrap(),
        [financeiro, suporte.id]
    );
    assert!(store.user_queues(a, ana).await.unwrap().is_empty());
    let result = store.set_queue_members(a, financeiro, &[outsider]).await;
    assert!(is_not_found(&result), "{result:?}");
    assert_eq!(store.queue_members(a, financeiro).await.unwrap().len(), 1);
    let result = store.set_queue_members(b, financeiro, &[outsider]).await;
    assert!(is_not_found(&result), "{result:?}");
    assert!(store.queue_members(b, financeiro).await.unwrap().is_empty());

    // A queue in use cannot be deleted; an unused one can.
    let result = store.delete_queue(a, financeiro).await;
    assert!(is_conflict(&result), "{result:?}");
    let vendas = queue(store, a, 9, "Vendas").await;
    store.set_queue_members(a, vendas, &[ana]).await.unwrap();
    store.delete_queue(a, vendas).await.unwrap();
    assert!(store.queue(a, vendas).await.unwrap().is_none());
    assert!(store.user_queues(a, ana).await.unwrap().is_empty());
}

pub async fn desk_settings_holidays_and_quick_replies<S: Store + Clone>(store: &S) {
    let a = workspace(store, "fibra", "pn-1").await;
    let b = workspace(store, "outro", "pn-2").await;
    assert!(store.desk_settings(a).await.unwrap().is_none());
    let saved = json!({ "messages": { "welcome": "Olá!" }, "reopen_grace_secs": 600 });
    store.save_desk_settings(a, &saved, T0).await.unwrap();
    let changed = json!({ "messages": { "welcome": "Oi!" }, "csat_enabled": true });
    store.save_desk_settings(a, &changed, T0 + 1).await.unwrap();
    assert_eq!(store.desk_settings(a).await.unwrap(), Some(changed));
    assert!(store.desk_settings(b).await.unwrap().is_none());

    let day = |text: &str| text.parse::<jiff::civil::Date>().unwrap();
    let holidays = vec![
        Holiday {
            date: day("2026-11-20"),
            name: "Consciência Negra (municipal)".into(),
        },
        Holiday {
            date: day("2026-01-20"),
            name: "São Sebastião".into(),
        },
    ];
    store.set_holidays(a, &holidays).await.unwrap();
    let listed = store.holidays(a).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].date, day("2026-01-20"));
    store.set_holidays(a, &holidays[..1]).await.unwrap();
    assert_eq!(store.holidays(a).await.unwrap(), holidays[..1].to_vec());
    assert!(store.holidays(b).await.unwrap().is_empty());

    let financeiro = queue(store, a, 1, "Financeiro").await;
    let suporte = queue(store, a, 2, "Suporte").await;
    let reply = |shortcut: &str, body: &str, queue: Option<QueueId>| NewQuickReply {
        shortcut: shortcut.into(),
        body: body.into(),
        queue_id: queue,
        attachment_url: None,
    };
    let general = store
        .create_quick_reply(a, &reply("/Boleto", "Olá {{nome}}, segue o boleto.", None))
        .await
        .unwrap();
    assert_eq!(general.shortcut, "boleto");
    let scoped = store
        .create_quick_reply(
            a,
            &NewQuickReply {
                attachment_url: Some("https://exemplo.com.br/tabela.pdf".into()),
                ..reply("boleto", "Boleto do financeiro.", Some(financeiro))
            },
        )
        .await
        .unwrap();
    let clash = store
        .create_quick_reply(a, &reply("boleto", "de novo", None))
        .await;
    assert!(is_conflict(&clash), "{clash:?}");
    let empty = store
        .create_quick_reply(a, &reply("vazio", "  ", None))
        .await;
    assert!(is_conflict(&empty), "{empty:?}");
    let foreign = store
        .create_quick_reply(b, &reply("x", "y", Some(financeiro)))
        .await;
    assert!(is_not_found(&foreign), "{foreign:?}");
    store
        .create_quick_reply(a, &reply("reinicie", "Reinicie o roteador.", Some(suporte)))
        .await
        .unwrap();
    let in_financeiro = store.quick_replies(a, Some(financeiro)).await.unwrap();
    assert_eq!(
        in_financeiro.iter().map(|r| r.id).collect::<Vec<_>>(),
        [scoped.id, general.id],
        "the queue's own first"
    );
    assert_eq!(store.quick_replies(a, None).await.unwrap().len(), 3);
    let updated = store
        .update_quick_reply(a, general.id, &reply("fatura", "Segue a fatura.", None))
        .await
        .unwrap();
    assert_eq!(updated.shortcut, "fatura");
    let foreign = store
        .update_quick_reply(b, general.id, &reply("z", "z", None))
        .await;
    assert!(is_not_found(&foreign), "{foreign:?}");
    assert!(is_not_found(&store.delete_quick_reply(b, general.id).await));
    store.delete_quick_reply(a, general.id).await.unwrap();
    assert_eq!(store.quick_replies(a, None).await.unwrap().len(), 2);
    assert!(store.quick_replies(b, None).await.unwrap().is_empty());
}

// ---- menu and distribution -----------------------------------------------------------------------

pub async fn desk_menu_then_queue<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let financeiro = queue(store, ws, 1, "Financeiro").await;
    let mut locked = settings(2, "Comercial");
    locked.active = false;
    let comercial = store.create_queue(ws, &locked, T0).await.unwrap().id;
    let (c, m1) = one_conversation(store, "pn-1", 1, T0).await;
    let entry = DeskEntry {
        queue: None,
        summary: None,
        handled_up_to: None,
        welcome: true,
    };
    let (menu, created) = store.enter_desk(ws, c, entry.clone(), T0).await.unwrap();
    assert!(created);
    assert_eq!(menu.state, DeskState::Menu);
    assert_eq!(menu.queue_id, None);
    // Entering again changes nothing (the runner may see a handoff twice).
    let (same, created) = store.enter_desk(ws, c, entry, T0 + 5).await.unwrap();
    assert!(!created);
    assert_eq!(same, menu);
    assert_eq!(notices(store, c).await, ["menu"]);
    let menu_notice = store
        .due_desk_work(T0, ONLINE_SINCE, 10)
        .await
        .unwrap()
        .notices;
    assert_eq!(menu_notice[0].data, json!({ "welcome": true }));

    // A later message id (the store does not need the message itself to count a failure).
    let m2 = MessageId(m1.0 + 1_000);
    assert_eq!(
        store.record_menu_failure(ws, c, m1, T0 + 1).await.unwrap(),
        1
    );
    assert_eq!(
        store.record_menu_failure(ws, c, m1, T0 + 1).await.unwrap(),
        1,
        "the same message counts once"
    );
    assert_eq!(
        store.record_menu_failure(ws, c, m2, T0 + 2).await.unwrap(),
        2
    );
    assert_eq!(desk(store, ws, c).await.last_seen_message_id, Some(m2));
    let result = store.choose_queue(ws, c, comercial, None, T0 + 3).await;
    assert!(
        is_conflict(&result),
        "locked queues are not offered: {result:?}"
    );
    let chosen = store
        .choose_queue(ws, c, financeiro, None, T0 + 4)
        .await
        .unwrap();
    assert_eq!(chosen.state, DeskState::Queued);
    assert_eq!(chosen.queue_id, Some(financeiro));
    assert_eq!(chosen.queued_at, Some(T0 + 4));
    assert_eq!(chosen.menu_failures, 2);
    assert_eq!(
        notices(store, c).await,
        ["menu", "invalid_option", "invalid_option", "queued"]
    );
    assert_eq!(kinds(store, ws, c).await, ["desk_menu", "desk_queued"]);
    let result = store.choose_queue(ws, c, financeiro, None, T0 + 5).await;
    assert!(is_conflict(&result), "{result:?}");
    let result = store
        .record_menu_failure(ws, c, MessageId(m2.0 + 1), T0 + 5)
        .await;
    assert!(is_conflict(&result), "{result:?}");
}

pub async fn desk_assignment_only_to_eligible_agents<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Financeiro").await;
    let other = queue(store, ws, 2, "Suporte").await;
    let eligible = online_agent(store, ws, "ok@fibra.com", 2).await;
    let outsider = online_agent(store, ws, "fora@fibra.com", 5).await;
    let offline = agent(store, ws, "offline@fibra.com", 5).await;
    store
        .heartbeat(ws, offline, ONLINE_SINCE - 1, ONLINE_SINCE - 60_000)
        .await
        .unwrap();
    let away = online_agent(store, ws, "ausente@fibra.com", 5).await;
    store.set_away(ws, away, true).await.unwrap();
    let inactive = online_agent(store, ws, "inativo@fibra.com", 5).await;
    store
        .update_user(
            ws,
            inactive,
            UserPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let lunch = online_agent(store, ws, "almoco@fibra.com", 5).await;
    let never_seen = agent(store, ws, "nunca@fibra.com", 5).await;
    store
        .set_queue_members(
            ws,
            q,
            &[eligible, offline, away, inactive, lunch, never_seen],
        )
        .await
        .unwrap();
    store
        .set_queue_members(ws, other, &[outsider])
        .await
        .unwrap();
    let within = [eligible, outsider, offline, away, inactive, never_seen];
    let convs = conversations(store, "pn-1", 0, 5, T0).await;
    for (i, (c, _)) in convs.iter().enumerate() {
        queued(store, ws, *c, q, T0 + i as Millis).await;
    }
    let mut assigned = Vec::new();
    while let Some(d) = store
        .assign_next(ws, q, &rules(T0 + 100, &within))
        .await
        .unwrap()
    {
        assert_eq!(d.state, DeskState::Assigned);
        assert!(d.accepted);
        assert_eq!(d.assigned_at, Some(T0 + 100));
        assigned.push((d.conversation_id, d.agent_id));
    }
    // Only the eligible agent, only up to their limit, oldest conversations first.
    assert_eq!(
        assigned,
        [(convs[0].0, Some(eligible)), (convs[1].0, Some(eligible))]
    );
    assert_eq!(desk(store, ws, convs[2].0).await.state, DeskState::Queued);
    assert_eq!(
        kinds(store, ws, convs[0].0).await,
        ["desk_queued", "desk_assigned"]
    );
    assert!(
        notices(store, convs[0].0)
            .await
            .contains(&"agent_start".to_owned())
    );
    // Closing one frees a place; the agent at the limit again gets nothing more.
    store
        .close_desk(
            ws,
            convs[0].0,
            &DeskClose {
                by: Some(eligible),
                resolution: "resolved".into(),
                grace_until: T0 + 600_000,
            },
            T0 + 200,
        )
        .await
        .unwrap();
    let next = store
        .assign_next(ws, q, &rules(T0 + 300, &within))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (next.conversation_id, next.agent_id),
        (convs[2].0, Some(eligible))
    );
    assert!(
        store
            .assign_next(ws, q, &rules(T0 + 300, &within))
            .await
            .unwrap()
            .is_none()
    );
    // The lunch-break agent gets one once inside their hours.
    let now_in = [eligible, lunch];
    let lunch_gets = store
        .assign_next(ws, q, &rules(T0 + 400, &now_in))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lunch_gets.agent_id, Some(lunch));
    // Empty queue: nothing.
    assert!(
        store
            .assign_next(ws, other, &rules(T0 + 400, &within))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn desk_round_robin_is_fair_over_20_agents<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Suporte").await;
    let mut agents = Vec::new();
    for i in 0..20 {
        agents.push(online_agent(store, ws, &format!("agente{i:02}@fibra.com"), 100).await);
    }
    store.set_queue_members(ws, q, &agents).await.unwrap();
    let mut per_agent: HashMap<UserId, u32> = HashMap::new();
    let mut order = Vec::new();
    for round in 0..10u32 {
        let convs = conversations(store, "pn-1", round * 100, 100, T0).await;
        for (c, _) in &convs {
            queued(store, ws, *c, q, T0).await;
        }
        while let Some(d) = store
            .assign_next(ws, q, &rules(T0 + 1, &agents))
            .await
            .unwrap()
        {
            let agent = d.agent_id.expect("assigned to someone");
            *per_agent.entry(agent).or_default() += 1;
            order.push(agent);
        }
    }
    assert_eq!(order.len(), 1_000);
    let max = per_agent.values().max().copied().unwrap_or(0);
    let min = if per_agent.len() == 20 {
        per_agent.values().min().copied().unwrap_or(0)
    } else {
        0
    };
    assert!(max - min <= 1, "max {max}, min {min}");
    // Strict rotation: every window of 20 consecutive assignments names 20 different agents.
    for window in order.windows(20) {
        let distinct: HashSet<_> = window.iter().collect();
        assert_eq!(distinct.len(), 20);
    }
}

pub async fn desk_concurrent_assigners_never_double_assign<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Suporte").await;
    let mut agents = Vec::new();
    for i in 0..10 {
        agents.push(online_agent(store, ws, &format!("agente{i}@fibra.com"), 3).await);
    }
    store.set_queue_members(ws, q, &agents).await.unwrap();
    let convs = conversations(store, "pn-1", 0, 60, T0).await;
    for (c, _) in &convs {
        queued(store, ws, *c, q, T0).await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = store.clone();
        let agents = agents.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            while let Some(d) = store
                .assign_next(ws, q, &rules(T0 + 1, &agents))
                .await
                .expect("assign")
            {
                mine.push((d.conversation_id, d.agent_id.expect("agent")));
                tokio::task::yield_now().await;
            }
            mine
        });
    }
    let mut all = Vec::new();
    while let Some(result) = tasks.join_next().await {
        all.extend(result.expect("assigner task"));
    }
    // Never zero when one is free: the 30 places are all used.
    assert_eq!(all.len(), 30);
    let unique: HashSet<_> = all.iter().map(|(c, _)| *c).collect();
    assert_eq!(unique.len(), 30, "a conversation was assigned twice");
    let mut per_agent: HashMap<UserId, u32> = HashMap::new();
    for (_, agent) in &all {
        *per_agent.entry(*agent).or_default() += 1;
    }
    assert!(per_agent.values().all(|&n| n <= 3), "{per_agent:?}");
    for (c, agent) in &all {
        let d = desk(store, ws, *c).await;
        assert_eq!(d.agent_id, Some(*agent));
        let assigned_events = kinds(store, ws, *c)
            .await
            .iter()
            .filter(|k| *k == "desk_assigned")
            .count();
        assert_eq!(assigned_events, 1);
    }
    let board = store.desk_board(ws, ONLINE_SINCE).await.unwrap();
    assert_eq!(board.queues[0].queued, 30);
    assert_eq!(board.queues[0].assigned, 30);
}

pub async fn desk_claims_conflict_clearly<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let mut pick = settings(1, "Comercial");
    pick.distribution = Distribution::Pick;
    let q = store.create_queue(ws, &pick, T0).await.unwrap().id;
    let ana = online_agent(store, ws, "ana@fibra.com", 1).await;
    let bruno = online_agent(store, ws, "bruno@fibra.com", 5).await;
    let outsider = online_agent(store, ws, "fora@fibra.com", 5).await;
    let chefe = store
        .create_user(ws, new_user("chefe@fibra.com", Role::Supervisor, 5), T0)
        .await
        .unwrap()
        .id;
    store.set_queue_members(ws, q, &[ana, bruno]).await.unwrap();
    let convs = conversations(store, "pn-1", 0, 4, T0).await;
    for (c, _) in &convs {
        queued(store, ws, *c, q, T0).await;
    }
    let taken = store.claim(ws, convs[0].0, ana, T0 + 1).await.unwrap();
    assert_eq!(taken.agent_id, Some(ana));
    assert_eq!(taken.state, DeskState::Assigned);
    assert!(taken.accepted);
    let again = store.claim(ws, convs[0].0, bruno, T0 + 2).await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(desk(store, ws, convs[0].0).await.agent_id, Some(ana));
    let full = store.claim(ws, convs[1].0, ana, T0 + 3).await;
    assert!(is_conflict(&full), "over the limit: {full:?}");
    let not_member = store.claim(ws, convs[1].0, outsider, T0 + 3).await;
    assert!(is_conflict(&not_member), "{not_member:?}");
    let supervisor = store.claim(ws, convs[1].0, chefe, T0 + 4).await.unwrap();
    assert_eq!(supervisor.agent_id, Some(chefe));
    assert_eq!(desk(store, ws, convs[2].0).await.state, DeskState::Queued);
    assert_eq!(
        kinds(store, ws, convs[0].0).await,
        ["desk_queued", "desk_claimed"]
    );
    // Accepting is for transfers; a claimed conversation is already accepted.
    let accepted = store.accept(ws, convs[0].0, ana, T0 + 5).await.unwrap();
    assert!(accepted.accepted);
    let wrong = store.accept(ws, convs[0].0, bruno, T0 + 5).await;
    assert!(is_conflict(&wrong), "{wrong:?}");
}

pub async fn desk_concurrent_claims_have_one_winner<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Comercial").await;
    let mut agents = Vec::new();
    for i in 0..8 {
        agents.push(online_agent(store, ws, &format!("a{i}@fibra.com"), 5).await);
    }
    store.set_queue_members(ws, q, &agents).await.unwrap();
    let (c, _) = one_conversation(store, "pn-1", 1, T0).await;
    queued(store, ws, c, q, T0).await;
    let mut tasks = tokio::task::JoinSet::new();
    for agent in agents.clone() {
        let store = store.clone();
        tasks.spawn(async move { (agent, store.claim(ws, c, agent, T0 + 1).await) });
    }
    let mut winners = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (agent, outcome) = result.expect("claim task");
        match outcome {
            Ok(d) => winners.push((agent, d.agent_id)),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(winners[0].1, Some(winners[0].0));
    assert_eq!(desk(store, ws, c).await.agent_id, Some(winners[0].0));
}

pub async fn desk_offline_agent_returns_unanswered_chats<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Suporte").await;
    let ana = online_agent(store, ws, "ana@fibra.com", 5).await;
    store.set_queue_members(ws, q, &[ana]).await.unwrap();
    let convs = conversations(store, "pn-1", 0, 2, T0).await;
    for (i, (c, _)) in convs.iter().enumerate() {
        queued(store, ws, *c, q, T0 + i as Millis).await;
    }
    for _ in 0..2 {
        store
            .assign_next(ws, q, &rules(T0 + 10, &[ana]))
            .await
            .unwrap()
            .unwrap();
    }
    store
        .record_agent_reply(ws, convs[0].0, ana, T0 + 20)
        .await
        .unwrap();
    let answered = desk(store, ws, convs[0].0).await;
    assert_eq!(answered.first_response_at, Some(T0 + 20));
    assert_eq!(answered.answered_at, Some(T0 + 20));
    // Online: nothing to do.
    let due = store
        .due_desk_work(T0 + 30, ONLINE_SINCE, 100)
        .await
        .unwrap();
    assert!(due.agents_gone.is_empty());
    // No heartbeat for 45 s: the agent is gone.
    let later = T0 + 50_000;
    let due = store
        .due_desk_work(later, later - 45_000, 100)
        .await
        .unwrap();
    assert_eq!(due.agents_gone, [(ws, ana)]);
    let returned = store.return_unanswered_chats(ws, ana, later).await.unwrap();
    assert_eq!(returned, [convs[1].0]);
    let back = desk(store, ws, convs[1].0).await;
    assert_eq!(back.state, DeskState::Queued);
    assert_eq!(back.agent_id, None);
    assert_eq!(back.queued_at, Some(T0 + 1), "keeps its place in the line");
    assert_eq!(desk(store, ws, convs[0].0).await.agent_id, Some(ana));
    assert!(
        kinds(store, ws, convs[1].0)
            .await
            .contains(&"desk_returned".to_owned())
    );
    let due = store
        .due_desk_work(later, later - 45_000, 100)
        .await
        .unwrap();
    assert!(due.agents_gone.is_empty());
    assert_eq!(due.queues_waiting, [(ws, q)]);
    // Away counts as gone too, even with a fresh heartbeat.
    store
        .heartbeat(ws, ana, later, later - 45_000)
        .await
        .unwrap();
    store
        .assign_next(ws, q, &rules(later, &[ana]))
        .await
        .unwrap()
        .expect("online again");
    store.set_away(ws, ana, true).await.unwrap();
    let due = store
        .due_desk_work(later, later - 45_000, 100)
        .await
        .unwrap();
    assert_eq!(due.agents_gone, [(ws, ana)]);
}

pub async fn desk_transfer_with_note_and_fallback_deadline<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let financeiro = queue(store, ws, 1, "Financeiro").await;
    let mut suporte = settings(2, "Suporte");
    suporte.accept_timeout_secs = Some(60);
    suporte.fallback_queue_id = Some(financeiro);
    let suporte = store.create_queue(ws, &suporte, T0).await.unwrap().id;
    let ana = online_agent(store, ws, "ana@fibra.com", 5).await;
    let bruno = online_agent(store, ws, "bruno@fibra.com", 1).await;
    let carla = online_agent(store, ws, "carla@fibra.com", 5).await;
    store
        .set_queue_members(ws, financeiro, &[ana])
        .await
        .unwrap();
    store
        .set_queue_members(ws, suporte, &[bruno, carla])
        .await
        .unwrap();
    let (c, _) = one_conversation(store, "pn-1", 1, T0).await;
    queued(store, ws, c, financeiro, T0).await;
    let d = store
        .assign_next(ws, financeiro, &rules(T0 + 1, &[ana]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.deadline_at, None, "no timeout on Financeiro");

    // To a queue, with a private note: queued there with the queue's timer.
    let moved = store
        .transfer(
            ws,
            c,
            ana,
            TransferTarget::Queue(suporte),
            Some("Cliente sem sinal desde ontem"),
            T0 + 1_000,
        )
        .await
        .unwrap();
    assert_eq!(moved.state, DeskState::Queued);
    assert_eq!(moved.queue_id, Some(suporte));
    assert_eq!(moved.agent_id, None);
    assert_eq!(moved.deadline_at, Some(T0 + 61_000));
    let notes = store.notes(ws, c).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].body, "Cliente sem sinal desde ontem");
    assert_eq!(notes[0].user_id, ana);
    let events = store.events(ws, c).await.unwrap();
    let transferred = events
        .iter()
        .find(|e| e.kind == "desk_transferred")
        .expect("transfer event");
    assert_eq!(transferred.data["to_queue_id"], json!(suporte));
    assert_eq!(transferred.data["note_id"], json!(notes[0].id));
    assert!(notices(store, c).await.contains(&"transferred".to_owned()));

    // Nobody takes it in time: it falls back to Financeiro and the subscriber is told.
    let due = store
        .due_desk_work(T0 + 60_999, ONLINE_SINCE, 100)
        .await
        .unwrap();
    assert!(due.deadlines.is_empty());
    assert!(
        store
            .apply_deadline(ws, c, T0 + 60_999)
            .await
            .unwrap()
            .is_none()
    );
    let due = store
        .due_desk_work(T0 + 61_000, ONLINE_SINCE, 100)
        .await
        .unwrap();
    assert_eq!(due.deadlines, [(ws, c)]);
    let fell = store
        .apply_deadline(ws, c, T0 + 61_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fell.queue_id, Some(financeiro));
    assert_eq!(fell.state, DeskState::Queued);
    assert_eq!(fell.fallback_hops, 1);
    assert_eq!(fell.deadline_at, None, "Financeiro has no timer");
    assert!(
        notices(store, c)
            .await
            .contains(&"fallback_moved".to_owned())
    );
    assert!(
        store
            .apply_deadline(ws, c, T0 + 61_001)
            .await
            .unwrap()
            .is_none()
    );

    // To an agent: unaccepted with a timer; over their limit is refused.
    let d = store
        .assign_next(ws, financeiro, &rules(T0 + 62_000, &[ana]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.agent_id, Some(ana));
    let (busy, _) = one_conversation(store, "pn-1", 2, T0).await;
    queued(store, ws, busy, suporte, T0).await;
    store.claim(ws, busy, bruno, T0 + 62_000).await.unwrap();
    let full = store
        .transfer(ws, c, ana, TransferTarget::Agent(bruno), None, T0 + 63_000)
        .await;
    assert!(is_conflict(&full), "{full:?}");
    let same = store
        .transfer(ws, c, ana, TransferTarget::Agent(ana), None, T0 + 63_000)
        .await;
    assert!(is_conflict(&same), "{same:?}");
    // Move it to Suporte first so the agent transfer has Suporte's accept timeout.
    store
        .transfer(
            ws,
            c,
            ana,
            TransferTarget::Queue(suporte),
            None,
            T0 + 63_000,
        )
        .await
        .unwrap();
    let to_carla = store
        .transfer(ws, c, ana, TransferTarget::Agent(carla), None, T0 + 64_000)
        .await
        .unwrap();
    assert_eq!(to_carla.state, DeskState::Assigned);
    assert_eq!(to_carla.agent_id, Some(carla));
    assert!(!to_carla.accepted);
    assert_eq!(to_carla.deadline_at, Some(T0 + 124_000));
    let accepted = store.accept(ws, c, carla, T0 + 65_000).await.unwrap();
    assert!(accepted.accepted);
    assert_eq!(accepted.deadline_at, None);
    assert!(
        store
            .apply_deadline(ws, c, T0 + 200_000)
            .await
            .unwrap()
            .is_none()
    );
    // An unaccepted transfer that expires goes to the fallback queue as well.
    store
        .transfer(ws, c, carla, TransferTarget::Agent(ana), None, T0 + 70_000)
        .await
        .unwrap();
    let expired = store
        .apply_deadline(ws, c, T0 + 130_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (expired.state, expired.queue_id, expired.agent_id),
        (DeskState::Queued, Some(financeiro), None)
    );
    // Closed conversations cannot be transferred.
    store
        .close_desk(
            ws,
            c,
            &DeskClose {
                by: None,
                resolution: "resolved".into(),
                grace_until: T0 + 1_000_000,
            },
            T0 + 131_000,
        )
        .await
        .unwrap();
    let closed = store
        .transfer(
            ws,
            c,
            ana,
            TransferTarget::Queue(suporte),
            None,
            T0 + 132_000,
        )
        .await;
    assert!(is_conflict(&closed), "{closed:?}");
}

pub async fn desk_out_of_hours_once_per_period<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let financeiro = queue(store, ws, 1, "Financeiro").await;
    let plantao = queue(store, ws, 2, "Plantão").await;
    let (c, _) = one_conversation(store, "pn-1", 1, T0).await;
    queued(store, ws, c, financeiro, T0).await;
    let opening = T0 + 8 * 3_600_000;
    assert!(
        store
            .mark_out_of_hours(ws, c, opening, T0 + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_out_of_hours(ws, c, opening, T0 + 2)
            .await
            .unwrap()
    );
    assert_eq!(desk(store, ws, c).await.ooh_notified_until, Some(opening));
    let next_day = opening + 24 * 3_600_000;
    assert!(
        store
            .mark_out_of_hours(ws, c, next_day, T0 + 3)
            .await
            .unwrap()
    );
    assert_eq!(
        notices(store, c)
            .await
            .iter()
            .filter(|k| *k == "out_of_hours")
            .count(),
        2
    );
    let moved = store
        .move_to_queue(ws, c, plantao, "out_of_hours", T0 + 4)
        .await
        .unwrap();
    assert_eq!(moved.queue_id, Some(plantao));
    assert_eq!(moved.queued_at, Some(T0), "keeps its place");
    let fallback = store
        .events(ws, c)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "desk_fallback")
        .expect("fallback event");
    assert_eq!(fallback.data["reason"], json!("out_of_hours"));
}

pub async fn desk_close_grace_reopen_and_finish<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Suporte").await;
    let ana = online_agent(store, ws, "ana@fibra.com", 1).await;
    store.set_queue_members(ws, q, &[ana]).await.unwrap();
    let (c, _) = one_conversation(store, "pn-1", 1, T0).await;
    queued(store, ws, c, q, T0).await;
    store
        .assign_next(ws, q, &rules(T0 + 1, &[ana]))
        .await
        .unwrap()
        .unwrap();
    let close = DeskClose {
        by: Some(ana),
        resolution: "resolved".into(),
        grace_until: T0 + 600_000,
    };
    let closed = store.close_desk(ws, c, &close, T0 + 10).await.unwrap();
    assert_eq!(closed.state, DeskState::Closed);
    assert_eq!(closed.closed_at, Some(T0 + 10));
    assert_eq!(closed.closed_by, Some(ana));
    assert_eq!(closed.resolution.as_deref(), Some("resolved"));
    assert_eq!(closed.grace_until, Some(T0 + 600_000));
    assert_eq!(closed.agent_id, Some(ana), "kept for CSAT and reopening");
    assert!(notices(store, c).await.contains(&"closed".to_owned()));
    assert!(is_conflict(&store.close_desk(ws, c, &close, T0 + 11).await));
    // The agent's place is free again.
    let board = store.desk_board(ws, ONLINE_SINCE).await.unwrap();
    assert_eq!(board.agents[0].open_chats, 0);

    // A new message in the grace reopens with the same agent.
    let reopened = store
        .reopen_desk(ws, c, Some(ana), None, None, T0 + 20)
        .await
        .unwrap();
    assert_eq!(reopened.state, DeskState::Assigned);
    assert_eq!(reopened.agent_id, Some(ana));
    assert_eq!(reopened.grace_until, None);
    assert_eq!(reopened.closed_at, None);
    let result = store.reopen_desk(ws, c, None, None, None, T0 + 21).await;
    assert!(is_conflict(&result), "{result:?}");
    store.close_desk(ws, c, &close, T0 + 30).await.unwrap();
    // Reopening to a full agent is refused; to the queue works.
    let (other, _) = one_conversation(store, "pn-1", 2, T0).await;
    queued(store, ws, other, q, T0).await;
    store.claim(ws, other, ana, T0 + 31).await.unwrap();
    let full = store
        .reopen_desk(ws, c, Some(ana), None, None, T0 + 32)
        .await;
    assert!(is_conflict(&full), "{full:?}");
    assert_eq!(desk(store, ws, c).await.state, DeskState::Closed);
    let requeued = store
        .reopen_desk(ws, c, None, None, None, T0 + 33)
        .await
        .unwrap();
    assert_eq!(
        (requeued.state, requeued.agent_id, requeued.queued_at),
        (DeskState::Queued, None, Some(T0 + 33))
    );
    store.close_desk(ws, c, &close, T0 + 40).await.unwrap();

    // The grace ends: the conversations row is closed once the notices went out.
    assert!(!store.finish_desk(ws, c, T0 + 599_999).await.unwrap());
    let due = store
        .due_desk_work(T0 + 600_000, ONLINE_SINCE, 100)
        .await
        .unwrap();
    assert_eq!(due.grace_expired, [(ws, c)]);
    assert!(
        !store.finish_desk(ws, c, T0 + 600_000).await.unwrap(),
        "notices first"
    );
    complete_notices(store).await;
    assert!(store.finish_desk(ws, c, T0 + 600_000).await.unwrap());
    assert!(!store.finish_desk(ws, c, T0 + 600_001).await.unwrap());
    let finished = desk(store, ws, c).await;
    assert!(finished.finished);
    let row = store.conversation(ws, c).await.unwrap().unwrap();
    assert_eq!(row.status, ConversationStatus::Closed);
    assert_eq!(row.closed_at, Some(T0 + 600_000));
    let result = store
        .reopen_desk(ws, c, None, None, None, T0 + 600_002)
        .await;
    assert!(is_conflict(&result), "{result:?}");
    let due = store
        .due_desk_work(T0 + 700_000, ONLINE_SINCE, 100)
        .await
        .unwrap();
    assert!(due.grace_expired.is_empty());
    // The next message opens a new conversation, which has no desk row yet.
    let (next, _) = one_conversation(store, "pn-1", 1, T0 + 700_000).await;
    assert_ne!(next, c);
    assert!(store.desk_conversation(ws, next).await.unwrap().is_none());
    // close_conversation outside the desk flow.
    assert!(
        store
            .close_conversation(ws, next, T0 + 700_001)
            .await
            .unwrap()
    );
    assert!(
        !store
            .close_conversation(ws, next, T0 + 700_002)
            .await
            .unwrap()
    );
}

pub async fn desk_csat_is_stored_per_agent_and_queue<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let q = queue(store, ws, 1, "Suporte").await;
    let ana = online_agent(store, ws, "ana@fibra.com", 5).await;
    store.set_queue_members(ws, q, &[ana]).await.unwrap();
    let convs = conversations(store, "pn-1", 0, 3, T0).await;
    for (c, _) in &convs {
        queued(store, ws, *c, q, T0).await;
        store.claim(ws, *c, ana, T0 + 1).await.unwrap();
        store
            .close_desk(
                ws,
                *c,
                &DeskClose {
                    by: Some(ana),
                    resolution: "resolved".into(),
                    grace_until: T0 + 600_000,
                },
                T0 + 2,
            )
            .await
            .unwrap();
    }
    let (c, m) = convs[0];
    let early = store
        .record_csat(
            ws,
            c,
            CsatAnswer::Rating {
                rating: 5,
                ask_comment: true,
            },
            Some(m),
            T0 + 3,
        )
        .await;
    assert!(is_conflict(&early), "not asked yet: {early:?}");
    store.set_csat_state(ws, c, CsatState::Asked).await.unwrap();
    let bad = store
        .record_csat(
            ws,
            c,
            CsatAnswer::Rating {
                rating: 6,
                ask_comment: true,
            },
            None,
            T0 + 3,
        )
        .await;
    assert!(is_conflict(&bad), "{bad:?}");
    let rated = store
        .record_csat(
            ws,
            c,
            CsatAnswer::Rating {
                rating: 4,
                ask_comment: true,
            },
            Some(m),
            T0 + 4,
        )
        .await
        .unwrap();
    assert_eq!(rated.csat_state, CsatState::Comment);
    assert_eq!(rated.last_seen_message_id, Some(m));
    let commented = store
        .record_csat(
            ws,
            c,
            CsatAnswer::Comment(" Atendimento rápido ".into()),
            None,
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(commented.csat_state, CsatState::Done);
    let rating = store.csat_rating(ws, c).await.unwrap().unwrap();
    assert_eq!(
        (
            rating.rating,
            rating.agent_id,
            rating.queue_id,
            rating.comment.as_deref()
        ),
        (4, Some(ana), Some(q), Some("Atendimento rápido"))
    );
    let late = store
        .record_csat(ws, c, CsatAnswer::Comment("outro".into()), None, T0 + 6)
        .await;
    assert!(is_conflict(&late), "{late:?}");
    // A second rating without a comment, and a survey skipped.
    store
        .set_csat_state(ws, convs[1].0, CsatState::Asked)
        .await
        .unwrap();
    let done = store
        .record_csat(
            ws,
            convs[1].0,
            CsatAnswer::Rating {
                rating: 2,
                ask_comment: false,
            },
            None,
            T0 + 7,
        )
        .await
        .unwrap();
    assert_eq!(done.csat_state, CsatState::Done);
    let skipped = store
        .record_csat(ws, convs[2].0, CsatAnswer::Skip, None, T0 + 8)
        .await
        .unwrap();
    assert_eq!(skipped.csat_state, CsatState::Done);
    assert!(store.csat_rating(ws, convs[2].0).await.unwrap().is_none());
    let figures = store.csat_figures(ws, T0).await.unwrap();
    assert_eq!(
        figures,
        vec![CsatFigure {
            agent_id: Some(ana),
            queue_id: Some(q),
            count: 2,
            sum: 6,
        }]
    );
    assert!(store.csat_figures(ws, T0 + 100).await.unwrap().is_empty());
    assert!(
        kinds(store, ws, c)
            .await
            .ends_with(&["csat".to_owned(), "csat_comment".to_owned()])
    );
    let kinds_c = notices(store, c).await;
    assert!(kinds_c.ends_with(&["csat_rated".to_owned(), "csat_commented".to_owned()]));
}

pub async fn desk_notes_tags_and_team_chat<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let ana = agent(store, ws, "ana@fibra.com", 5).await;
    let bruno = agent(store, ws, "bruno@fibra.com", 5).await;
    let (c, _) = one_conversation(store, "pn-1", 1, T0).await;
    let note = store
        .add_note(ws, c, ana, "  Cliente já reiniciou o roteador ", T0)
        .await
        .unwrap();
    assert_eq!(note.body, "Cliente já reiniciou o roteador");
    store
        .add_note(ws, c, bruno, "Agendar visita", T0 + 1)
        .await
        .unwrap();
    assert!(is_conflict(&store.add_note(ws, c, ana, "   ", T0).await));
    let notes = store.notes(ws, c).await.unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0], note);
    assert!(
        store
            .add_tag(ws, c, "lentidão", Some(ana), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .add_tag(ws, c, "lentidão", Some(ana), T0)
            .await
            .unwrap()
    );
    assert!(store.add_tag(ws, c, "financeiro", None, T0).await.unwrap());
    assert_eq!(store.tags(ws, c).await.unwrap(), ["financeiro", "lentidão"]);
    assert!(
        store
            .remove_tag(ws, c, "financeiro", Some(ana), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_tag(ws, c, "financeiro", Some(ana), T0)
            .await
            .unwrap()
    );
    assert_eq!(store.tags(ws, c).await.unwrap(), ["lentidão"]);
    assert_eq!(
        kinds(store, ws, c).await,
        ["desk_note", "desk_note", "tag", "tag", "untag"]
    );

    let mut ids = Vec::new();
    for i in 0..5 {
        let user = if i % 2 == 0 { ana } else { bruno };
        ids.push(
            store
                .add_team_message(ws, user, &format!("mensagem {i}"), T0 + i)
                .await
                .unwrap()
                .id,
        );
    }
    assert!(is_conflict(&store.add_team_message(ws, ana, " ", T0).await));
    let recent = store.team_messages(ws, None, 3).await.unwrap();
    assert_eq!(
        recent.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[2..].to_vec()
    );
    assert_eq!(recent[2].body, "mensagem 4");
    let after = store.team_messages(ws, Some(ids[1]), 2).await.unwrap();
    assert_eq!(
        after.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
}

// ---- runner queries ---------------------------------------------------------------------------------

pub async fn desk_entry_follows_handoffs<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let (handed, m1) = one_conversation(store, "pn-1", 1, T0).await;
    let (in_bot, m2) = one_conversation(store, "pn-1", 2, T0 + 1).await;
    let (resolved, m3) = one_conversation(store, "pn-1", 3, T0 + 2).await;
    let (fresh, _) = one_conversation(store, "pn-1", 4, T0 + 3).await;
    let session = |c: ConversationId, protocol: &str, last: MessageId, finished: bool| BotSession {
        workspace_id: ws,
        conversation_id: c,
        protocol: protocol.into(),
        state: json!({}),
        last_message_id: Some(last),
        timer_due_at: None,
        finished,
        updated_at: T0 + 10,
    };
    let handoff = NewEvent {
        kind: "handoff".into(),
        message_id: Some(m1),
        data: json!({ "sector": "financeiro", "summary": "Quer a segunda via" }),
    };
    store
        .save_bot_turn(&session(handed, "P-1", m1, true), &[handoff], &[], false)
        .await
        .unwrap();
    store
        .save_bot_turn(&session(in_bot, "P-2", m2, false), &[], &[], false)
        .await
        .unwrap();
    store
        .save_bot_turn(&session(resolved, "P-3", m3, true), &[], &[], true)
        .await
        .unwrap();
    // With the bot on: only the handed-off conversation.
    let with_bot = store.desk_entry_candidates(true, 100).await.unwrap();
    assert_eq!(with_bot.len(), 1);
    assert_eq!(with_bot[0].conversation_id, handed);
    assert_eq!(with_bot[0].workspace_id, ws);
    assert_eq!(with_bot[0].bot_last_message_id, Some(m1));
    assert_eq!(
        with_bot[0].handoff,
        Some(json!({ "sector": "financeiro", "summary": "Quer a segunda via" }))
    );
    // With the bot off: every open conversation with inbound messages and no desk row.
    let without_bot: Vec<_> = store
        .desk_entry_candidates(false, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.conversation_id)
        .collect();
    // (The conversation the bot resolved is closed: its next message opens a new one.)
    assert_eq!(without_bot, [handed, in_bot, fresh]);
    assert_eq!(
        store.desk_entry_candidates(false, 2).await.unwrap().len(),
        2
    );
    // Entering removes it from the candidates.
    store
        .enter_desk(
            ws,
            handed,
            DeskEntry {
                queue: None,
                summary: Some("Quer a segunda via".into()),
                handled_up_to: Some(m1),
                welcome: false,
            },
            T0 + 20,
        )
        .await
        .unwrap();
    assert!(
        store
            .desk_entry_candidates(true, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let entered = desk(store, ws, handed).await;
    assert_eq!(entered.summary.as_deref(), Some("Quer a segunda via"));
    assert_eq!(entered.last_seen_message_id, Some(m1));
    // The cursor: nothing new until the subscriber writes again.
    assert!(store.desk_awaiting_inbound(100).await.unwrap().is_empty());
    let more = text_message("pn-1", "wamid.more", &phone(1), T0 + 30, "1");
    store
        .ingest(&[batch(vec![more], vec![])], T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        store.desk_awaiting_inbound(100).await.unwrap(),
        [(ws, handed)]
    );
    let last = store
        .messages(ws, handed, None, 100)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    store
        .advance_desk_cursor(ws, handed, last, 1, T0 + 31)
        .await
        .unwrap();
    assert!(store.desk_awaiting_inbound(100).await.unwrap().is_empty());
    assert_eq!(desk(store, ws, handed).await.unread, 1);
    // Never backwards.
    store
        .advance_desk_cursor(ws, handed, m1, 0, T0 + 32)
        .await
        .unwrap();
    assert_eq!(
        desk(store, ws, handed).await.last_seen_message_id,
        Some(last)
    );
}

pub async fn desk_inbox_lists_orders_and_counts_unread<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let financeiro = queue(store, ws, 1, "Financeiro").await;
    let suporte = queue(store, ws, 2, "Suporte").await;
    let ana = online_agent(store, ws, "ana@fibra.com", 5).await;
    let bruno = online_agent(store, ws, "bruno@fibra.com", 5).await;
    store
        .set_queue_members(ws, financeiro, &[ana])
        .await
        .unwrap();
    store
        .set_queue_members(ws, suporte, &[bruno])
        .await
        .unwrap();
    let convs = conversations(store, "pn-1", 0, 5, T0).await;
    // 0 and 1 wait in Financeiro (1 waits longer), 2 waits in Suporte, 3 is Bruno's, 4 in menu.
    queued(store, ws, convs[0].0, financeiro, T0 + 20).await;
    queued(store, ws, convs[1].0, financeiro, T0 + 10).await;
    queued(store, ws, convs[2].0, suporte, T0 + 5).await;
    queued(store, ws, convs[3].0, suporte, T0 + 1).await;
    store.claim(ws, convs[3].0, bruno, T0 + 30).await.unwrap();
    store
        .enter_desk(
            ws,
            convs[4].0,
            DeskEntry {
                queue: None,
                summary: None,
                handled_up_to: None,
                welcome: false,
            },
            T0 + 40,
        )
        .await
        .unwrap();
    store
        .add_tag(ws, convs[3].0, "visita", None, T0)
        .await
        .unwrap();
    store
        .add_tag(ws, convs[3].0, "urgente", None, T0)
        .await
        .unwrap();
    store
        .advance_desk_cursor(ws, convs[3].0, convs[3].1, 2, T0 + 50)
        .await
        .unwrap();
    let list = |filter: InboxFilter| async move {
        store
            .desk_inbox(ws, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|item| item.desk.conversation_id)
            .collect::<Vec<_>>()
    };
    let queued_financeiro = list(InboxFilter {
        state: Some(DeskState::Queued),
        queue: Some(financeiro),
        ..Default::default()
    })
    .await;
    assert_eq!(
        queued_financeiro,
        [convs[1].0, convs[0].0],
        "longest wait first"
    );
    let all = list(InboxFilter::default()).await;
    assert_eq!(
        all,
        [convs[2].0, convs[1].0, convs[0].0, convs[4].0, convs[3].0]
    );
    // Ana sees Financeiro's; Bruno sees Suporte's and his own.
    assert_eq!(
        list(InboxFilter {
            visible_to: Some(ana),
            ..Default::default()
        })
        .await,
        [convs[1].0, convs[0].0]
    );
    assert_eq!(
        list(InboxFilter {
            visible_to: Some(bruno),
            ..Default::default()
        })
        .await,
        [convs[2].0, convs[3].0]
    );
    assert_eq!(
        list(InboxFilter {
            agent: Some(bruno),
            ..Default::default()
        })
        .await,
        [convs[3].0]
    );
    assert_eq!(
        list(InboxFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    let items = store
        .desk_inbox(
            ws,
            &InboxFilter {
                agent: Some(bruno),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let item = &items[0];
    assert_eq!(item.desk.unread, 2);
    assert_eq!(item.tags, ["urgente", "visita"]);
    assert_eq!(item.agent_name.as_deref(), Some("bruno"));
    assert_eq!(item.queue_name.as_deref(), Some("Suporte"));
    assert_eq!(item.last_text.as_deref(), Some("oi"));
    assert_eq!(item.wa_id.as_str(), phone(3));
    assert_eq!(item.contact_name.as_deref(), Some("Maria Souza"));
    assert!(item.last_inbound_at.is_some());
    store.mark_desk_read(ws, convs[3].0).await.unwrap();
    assert_eq!(desk(store, ws, convs[3].0).await.unread, 0);
    store
        .advance_desk_cursor(ws, convs[3].0, convs[3].1, 1, T0 + 60)
        .await
        .unwrap();
    store
        .record_agent_reply(ws, convs[3].0, bruno, T0 + 70)
        .await
        .unwrap();
    assert_eq!(desk(store, ws, convs[3].0).await.unread, 0);
    // Finished conversations leave the lists unless asked for.
    let (c, _) = convs[3];
    store
        .close_desk(
            ws,
            c,
            &DeskClose {
                by: Some(bruno),
                resolution: "resolved".into(),
                grace_until: T0 + 100,
            },
            T0 + 80,
        )
        .await
        .unwrap();
    complete_notices(store).await;
    assert!(store.finish_desk(ws, c, T0 + 100).await.unwrap());
    assert!(!list(InboxFilter::default()).await.contains(&c));
    assert!(
        list(InboxFilter {
            include_finished: true,
            state: Some(DeskState::Closed),
            ..Default::default()
        })
        .await
        .contains(&c)
    );
}

pub async fn desk_board_shows_waiting_and_presence<S: Store + Clone>(store: &S) {
    let ws = workspace(store, "fibra", "pn-1").await;
    let financeiro = queue(store, ws, 1, "Financeiro").await;
    let suporte = queue(store, ws, 2, "Suporte").await;
    let ana = agent(store, ws, "ana@fibra.com", 3).await;
    let bruno = online_agent(store, ws, "bruno@fibra.com", 5).await;
    store
        .set_queue_members(ws, financeiro, &[ana, bruno])
        .await
        .unwrap();
    // Heartbeats: the first one (and one after a gap) says "came online".
    assert!(store.heartbeat(ws, ana, T0, ONLINE_SINCE).await.unwrap());
    assert!(
        !store
            .heartbeat(ws, ana, T0 + 15_000, ONLINE_SINCE)
            .await
            .unwrap()
    );
    assert!(
        store
            .heartbeat(ws, ana, T0 + 200_000, T0 + 200_000 - 45_000)
            .await
            .unwrap()
    );
    let away = store.set_away(ws, ana, true).await.unwrap();
    assert!(away.away && !away.is_online(ONLINE_SINCE));
    let convs = conversations(store, "pn-1", 0, 3, T0).await;
    queued(store, ws, convs[0].0, financeiro, T0 + 5).await;
    queued(store, ws, convs[1].0, financeiro, T0 + 7).await;
    queued(store, ws, convs[2].0, suporte, T0 + 9).await;
    store.claim(ws, convs[1].0, bruno, T0 + 10).await.unwrap();
    let board = store.desk_board(ws, ONLINE_SINCE).await.unwrap();
    assert_eq!(board.in_menu, 0);
    let names: Vec<_> = board.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ana", "bruno"]);
    assert!(!board.agents[0].online && board.agents[0].away);
    assert!(board.agents[1].online);
    assert_eq!(board.agents[1].open_chats, 1);
    assert_eq!(board.agents[1].max_chats, 5);
    assert_eq!(board.queues.len(), 2);
    let f = &board.queues[0];
    assert_eq!(
        (
            f.queue_id,
            f.queued,
            f.assigned,
            f.oldest_queued_at,
            f.online_members
        ),
        (financeiro, 1, 1, Some(T0 + 5), 1)
    );
    let s = &board.queues[1];
    assert_eq!(
        (s.queue_id, s.queued, s.oldest_queued_at, s.online_members),
        (suporte, 1, Some(T0 + 9), 0)
    );
    let due = store.due_desk_work(T0, ONLINE_SINCE, 100).await.unwrap();
    assert_eq!(due.queues_waiting, [(ws, financeiro), (ws, suporte)]);
}

pub async fn desk_workspaces_are_isolated<S: Store + Clone>(store: &S) {
    let a = workspace(store, "fibra", "pn-1").await;
    let b = workspace(store, "outro", "pn-2").await;
    let qa = queue(store, a, 1, "Financeiro").await;
    let qb = queue(store, b, 1, "Financeiro").await;
    let ana = online_agent(store, a, "ana@fibra.com", 5).await;
    let intruder = online_agent(store, b, "intruso@outro.com", 5).await;
    store.set_queue_members(a, qa, &[ana]).await.unwrap();
    store.set_queue_members(b, qb, &[intruder]).await.unwrap();
    let (c, m) = one_conversation(store, "pn-1", 1, T0).await;
    queued(store, a, c, qa, T0).await;

    // Reads from b see nothing of a.
    assert!(store.user(b, ana).await.unwrap().is_none());
    assert!(store.queue(b, qa).await.unwrap().is_none());
    assert!(store.desk_conversation(b, c).await.unwrap().is_none());
    assert!(store.users(b).await.unwrap().iter().all(|u| u.id != ana));
    assert!(
        store
            .desk_inbox(b, &InboxFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    let board = store.desk_board(b, ONLINE_SINCE).await.unwrap();
    assert!(board.agents.iter().all(|x| x.user_id != ana));
    assert_eq!(board.queues[0].queued, 0);
    // Writes from b into a's rows fail and change nothing.
    let entry = DeskEntry {
        queue: Some(qb),
        summary: None,
        handled_up_to: None,
        welcome: false,
    };
    assert!(is_not_found(&store.enter_desk(b, c, entry, T0).await));
    assert!(
        store
            .assign_next(b, qa, &rules(T0, &[ana, intruder]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(is_not_found(&store.claim(b, c, intruder, T0).await));
    assert!(is_not_found(&store.claim(a, c, intruder, T0).await));
    assert!(is_not_found(
        &store
            .transfer(b, c, intruder, TransferTarget::Queue(qb), None, T0)
            .await
    ));
    assert!(is_not_found(
        &store
            .transfer(a, c, ana, TransferTarget::Queue(qb), None, T0)
            .await
    ));
    assert!(is_not_found(&store.choose_queue(b, c, qb, None, T0).await));
    assert!(is_not_found(&store.add_note(b, c, intruder, "x", T0).await));
    assert!(is_not_found(&store.add_note(a, c, intruder, "x", T0).await));
    assert!(is_not_found(&store.add_tag(b, c, "x", None, T0).await));
    assert!(is_not_found(
        &store.record_agent_reply(b, c, intruder, T0).await
    ));
    assert!(is_not_found(&store.mark_desk_read(b, c).await));
    assert!(is_not_found(
        &store.advance_desk_cursor(b, c, m, 1, T0).await
    ));
    assert!(is_not_found(&store.set_away(b, ana, true).await));
    assert!(is_not_found(
        &store.heartbeat(b, ana, T0, ONLINE_SINCE).await
    ));
    assert!(is_not_found(
        &store
            .close_desk(
                b,
                c,
                &DeskClose {
                    by: None,
                    resolution: "spam".into(),
                    grace_until: T0,
                },
                T0
            )
            .await
    ));
    assert!(is_not_found(&store.close_conversation(b, c, T0).await));
    assert!(is_not_found(
        &store.add_team_message(b, ana, "oi", T0).await
    ));
    assert!(
        store
            .apply_deadline(b, c, T0 + 1_000_000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.finish_desk(b, c, T0 + 1_000_000).await.unwrap());
    assert!(
        store
            .return_unanswered_chats(b, ana, T0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.notes(b, c).await.unwrap().is_empty());
    assert!(store.tags(b, c).await.unwrap().is_empty());
    assert!(store.team_messages(b, None, 10).await.unwrap().is_empty());
    let d = desk(store, a, c).await;
    assert_eq!(
        (d.state, d.queue_id, d.agent_id),
        (DeskState::Queued, Some(qa), None)
    );
    assert_eq!(d.unread, 0);
    // Notices carry their workspace; completing with another workspace removes nothing.
    let due = store.due_desk_work(T0, ONLINE_SINCE, 10).await.unwrap();
    let notice = due.notices.iter().find(|n| n.conversation_id == c).unwrap();
    assert_eq!(notice.workspace_id, a);
    store.complete_desk_notice(b, notice.id).await.unwrap();
    assert_eq!(notices(store, c).await, ["queued"]);
}
