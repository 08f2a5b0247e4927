//! The contract every [`Store`] backend passes. A backend's `tests/contract.rs` runs it with
//!
//! ```text
//! balcao_store::contract_suite!(async { Some(make_fresh_store().await) });
//! // or, with a teardown run after each test that passed:
//! balcao_store::contract_suite!(async { make().await }, |store| async move { store.drop().await });
//! ```
//!
//! The factory yields `Option<S>`: `None` skips the test (the factory says why). Each test gets a
//! fresh, empty store; the macro migrates it before use. Every test is a public async function of
//! this module, so a backend can also call one directly.

use crate::*;
use balcao_domain::outbound::{OutboundContent, SendError};
use balcao_domain::status::DeliveryStatus;
use balcao_domain::webhook::{
    InboundMessage, MessageContent, OtherChange, Pricing, Referral, StatusUpdate, WaError,
    WebhookBatch,
};
use serde_json::json;
use std::collections::HashSet;

/// Expands to one `#[tokio::test]` per contract test. See the module documentation.
#[macro_export]
macro_rules! contract_suite {
    ($make:expr) => {
        $crate::contract_suite!($make, |_store| async {});
    };
    ($make:expr, $teardown:expr) => {
        $crate::__contract_tests!($make, $teardown;
            migrate_is_idempotent,
            workspaces_numbers_and_tokens,
            templates_are_upserted_per_number,
            ingest_stores_contact_conversation_and_message,
            duplicate_messages_are_skipped,
            duplicate_statuses_are_skipped,
            one_ingest_call_reports_each_delivery,
            ninth_digit_forms_are_one_contact,
            conversation_is_reused_while_open,
            message_by_user_id_needs_a_known_contact,
            unknown_numbers_and_other_changes_are_kept,
            workspaces_are_isolated,
            enqueue_is_idempotent,
            claim_takes_due_messages_oldest_first,
            concurrent_claimers_never_share_a_message,
            send_outcomes_update_the_outbox,
            statuses_only_move_forward,
            statuses_before_the_send_answer_apply_on_accept,
            callback_data_reconciles_a_message_in_flight,
            reconcile_in_flight_waits_then_requeues,
            events_are_appended_in_order,
            conversations_page_by_keyset,
            messages_page_after_an_id,
            dead_letters_are_kept,
            a_large_group_is_stored_whole,
            nul_characters_do_not_block_ingestion,
            erp_connection_is_per_workspace_and_resets_the_cursor,
            payments_are_recorded_once_with_the_cursor,
            bot_session_round_trip_and_upsert,
            bot_session_events_are_appended_in_the_same_transaction,
            bot_turn_queues_its_replies_in_the_same_transaction,
            enqueue_outbound_all_is_one_transaction,
            bot_turns_are_stored_together_and_fail_alone,
            bot_sessions_are_isolated_per_workspace,
            due_bot_timers_are_live_and_oldest_first,
            conversations_awaiting_bot_follow_inbound_messages,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($make:expr, $teardown:expr; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = $make.await else {
                return;
            };
            $crate::Store::migrate(&store).await.expect("migrate");
            $crate::contract::$name(&store).await;
            let teardown = $teardown;
            teardown(store).await;
        }
    )*};
}

/// Any time after 2025; tests move forward from here.
pub const T0: Millis = 1_750_000_000_000;
pub const PHONE_A: &str = "5516992318222";
/// The same person as [`PHONE_A`], in the old 8-digit form.
pub const PHONE_A_OLD: &str = "551692318222";
pub const PHONE_B: &str = "5511987650001";
pub const PHONE_C: &str = "5521987650002";

fn wa(text: &str) -> WaId {
    WaId::parse(text).expect("valid wa_id")
}

async fn workspace<S: Store>(store: &S, slug: &str) -> WorkspaceId {
    store
        .create_workspace(NewWorkspace {
            slug: slug.into(),
            name: format!("Provedor {slug}"),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .expect("create workspace")
        .id
}

async fn number<S: Store>(
    store: &S,
    workspace: WorkspaceId,
    phone_number_id: &str,
) -> WhatsAppNumber {
    store
        .create_number(
            workspace,
            NewNumber {
                phone_number_id: phone_number_id.into(),
                display_phone_number: format!("+55 16 3{phone_number_id}"),
                waba_id: format!("waba-{phone_number_id}"),
                throughput_mps: 80,
            },
        )
        .await
        .expect("create number")
}

/// A workspace with one number, `pn-1`.
async fn setup<S: Store>(store: &S) -> (WorkspaceId, WhatsAppNumber) {
    let ws = workspace(store, "fibra").await;
    let n = number(store, ws, "pn-1").await;
    (ws, n)
}

pub fn text_message(
    phone_number_id: &str,
    wamid: &str,
    from: &str,
    timestamp: Millis,
    body: &str,
) -> InboundMessage {
    InboundMessage {
        phone_number_id: phone_number_id.into(),
        wamid: wamid.into(),
        from: Some(wa(from)),
        user_id: None,
        profile_name: Some("Maria Souza".into()),
        timestamp,
        message_type: "text".into(),
        content: MessageContent::Text { body: body.into() },
        context: None,
        referral: None,
        raw: json!({
            "from": from,
            "id": wamid,
            "timestamp": (timestamp / 1000).to_string(),
            "type": "text",
            "text": { "body": body },
        }),
    }
}

pub fn status_update(
    phone_number_id: &str,
    wamid: &str,
    status: DeliveryStatus,
    timestamp: Millis,
) -> StatusUpdate {
    StatusUpdate {
        phone_number_id: phone_number_id.into(),
        wamid: wamid.into(),
        status,
        timestamp,
        recipient_id: Some(PHONE_A.into()),
        biz_opaque_callback_data: None,
        pricing: None,
        errors: vec![],
        raw: json!({ "id": wamid, "status": status.as_str(), "timestamp": (timestamp / 1000).to_string() }),
    }
}

fn utility_pricing() -> Option<Pricing> {
    Some(Pricing {
        billable: Some(true),
        pricing_model: Some("PMP".into()),
        pricing_type: Some("regular".into()),
        category: Some("utility".into()),
    })
}

pub fn batch(messages: Vec<InboundMessage>, statuses: Vec<StatusUpdate>) -> WebhookBatch {
    WebhookBatch {
        messages,
        statuses,
        other: vec![],
    }
}

pub fn text_out(number: NumberId, to: &str, key: Option<&str>, body: &str) -> NewOutbound {
    NewOutbound {
        number_id: number,
        to: wa(to),
        content: OutboundContent::Text {
            body: body.into(),
            preview_url: false,
        },
        idempotency_key: key.map(str::to_owned),
        author: "api".into(),
    }
}

async fn ingest_one<S: Store>(store: &S, delivery: WebhookBatch, now: Millis) -> IngestReport {
    let mut reports = store.ingest(&[delivery], now).await.expect("ingest");
    assert_eq!(reports.len(), 1, "one report per delivery");
    reports.remove(0)
}

async fn enqueue<S: Store>(store: &S, ws: WorkspaceId, new: NewOutbound, now: Millis) -> Message {
    let enqueued = store.enqueue_outbound(ws, new, now).await.expect("enqueue");
    assert!(enqueued.created);
    enqueued.message
}

async fn message<S: Store>(store: &S, ws: WorkspaceId, id: MessageId) -> Message {
    store
        .message(ws, id)
        .await
        .expect("read message")
        .expect("message exists")
}

async fn event_kinds<S: Store>(
    store: &S,
    ws: WorkspaceId,
    conversation: ConversationId,
) -> Vec<String> {
    store
        .events(ws, conversation)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn claim_ids<S: Store>(
    store: &S,
    number: NumberId,
    now: Millis,
    limit: u32,
) -> Vec<MessageId> {
    store
        .claim_outbound(number, now, limit, 60_000)
        .await
        .expect("claim")
        .into_iter()
        .map(|job| job.message_id)
        .collect()
}

fn error(code: i64, title: &str) -> SendError {
    SendError {
        code,
        title: title.into(),
        details: Some(format!("details of {code}")),
    }
}

// ---- setup ---------------------------------------------------------------------------------

pub async fn migrate_is_idempotent<S: Store + Clone>(store: &S) {
    store.migrate().await.expect("second migrate");
    store.migrate().await.expect("third migrate");
    let (ws, _) = setup(store).await;
    assert!(store.workspace(ws).await.unwrap().is_some());
    assert!(!store.backend().is_empty());
}

pub async fn workspaces_numbers_and_tokens<S: Store + Clone>(store: &S) {
    let a = workspace(store, "alfa").await;
    let b = workspace(store, "beta").await;
    assert_ne!(a, b);
    let read = store.workspace(a).await.unwrap().expect("workspace a");
    assert_eq!(read.slug, "alfa");
    assert_eq!(read.name, "Provedor alfa");
    assert_eq!(read.time_zone, "America/Sao_Paulo");
    assert!(read.created_at > 0);
    assert_eq!(
        store.workspace_by_slug("beta").await.unwrap().map(|w| w.id),
        Some(b)
    );
    assert_eq!(store.workspace_by_slug("gama").await.unwrap(), None);
    assert_eq!(
        store.workspace(WorkspaceId(a.0 + b.0 + 100)).await.unwrap(),
        None
    );
    let duplicate = store
        .create_workspace(NewWorkspace {
            slug: "alfa".into(),
            name: "Outro".into(),
            time_zone: "America/Manaus".into(),
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );

    let a1 = number(store, a, "pn-a1").await;
    let a2 = number(store, a, "pn-a2").await;
    let b1 = number(store, b, "pn-b1").await;
    assert_eq!(a1.workspace_id, a);
    assert_eq!(a1.phone_number_id, "pn-a1");
    assert_eq!(a1.waba_id, "waba-pn-a1");
    assert_eq!(a1.throughput_mps, 80);
    // A phone_number_id is connected once, whatever the workspace.
    let again = store
        .create_number(
            b,
            NewNumber {
                phone_number_id: "pn-a1".into(),
                display_phone_number: "+55".into(),
                waba_id: "w".into(),
                throughput_mps: 1000,
            },
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(
        store.numbers(a).await.unwrap(),
        vec![a1.clone(), a2.clone()]
    );
    assert_eq!(store.numbers(b).await.unwrap(), vec![b1.clone()]);
    assert_eq!(
        store.all_numbers().await.unwrap(),
        vec![a1.clone(), a2, b1.clone()]
    );
    assert_eq!(
        store.number_by_phone_number_id("pn-b1").await.unwrap(),
        Some(b1)
    );
    assert_eq!(
        store.number_by_phone_number_id("pn-zz").await.unwrap(),
        None
    );

    store.create_api_token(a, "erp", "aa11").await.unwrap();
    store.create_api_token(b, "erp", "bb22").await.unwrap();
    assert_eq!(store.workspace_for_token("aa11").await.unwrap(), Some(a));
    assert_eq!(store.workspace_for_token("bb22").await.unwrap(), Some(b));
    assert_eq!(store.workspace_for_token("cc33").await.unwrap(), None);
    let reused = store.create_api_token(b, "other", "aa11").await;
    assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");
    assert_eq!(store.workspace_for_token("aa11").await.unwrap(), Some(a));
}

pub async fn templates_are_upserted_per_number<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let n2 = number(store, ws, "pn-2").await;
    let other_ws = workspace(store, "outro").await;
    let template = Template {
        number_id: n.id,
        name: "boleto_vencimento".into(),
        language: "pt_BR".into(),
        category: "UTILITY".into(),
        status: "PENDING".into(),
        body: "Olá {{1}}, seu boleto de {{2}} vence hoje.".into(),
        body_params: 2,
    };
    store.upsert_template(ws, template.clone()).await.unwrap();
    let approved = Template {
        status: "APPROVED".into(),
        ..template.clone()
    };
    store.upsert_template(ws, approved.clone()).await.unwrap();
    let english = Template {
        language: "en_US".into(),
        ..approved.clone()
    };
    store.upsert_template(ws, english.clone()).await.unwrap();
    assert_eq!(
        store.templates(ws, n.id).await.unwrap(),
        vec![english, approved]
    );
    assert_eq!(store.templates(ws, n2.id).await.unwrap(), vec![]);
    // Another workspace can neither write nor read templates of this number.
    let foreign = store.upsert_template(other_ws, template).await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    assert_eq!(store.templates(other_ws, n.id).await.unwrap(), vec![]);
    assert_eq!(store.templates(ws, n.id).await.unwrap().len(), 2);
}

// ---- webhooks in -----------------------------------------------------------------------------

pub async fn ingest_stores_contact_conversation_and_message<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let mut inbound = text_message("pn-1", "wamid.in1", PHONE_A, T0, "Oi, minha internet caiu");
    let referral = Referral {
        source_id: Some("ad-42".into()),
        source_type: Some("ad".into()),
        ctwa_clid: Some("clid-1".into()),
        ..Default::default()
    };
    inbound.referral = Some(referral.clone());
    let report = ingest_one(store, batch(vec![inbound.clone()], vec![]), T0 + 50).await;
    assert_eq!(report.messages_new, 1);
    assert_eq!(report.messages_duplicate, 0);
    assert_eq!(
        report.statuses_new + report.statuses_duplicate + report.unrouted,
        0
    );
    assert_eq!(report.conversations.len(), 1);
    assert_eq!(report.new_messages.len(), 1);

    let conversation = store
        .conversation(ws, report.conversations[0].1)
        .await
        .unwrap()
        .expect("conversation");
    assert_eq!(conversation.workspace_id, ws);
    assert_eq!(conversation.number_id, n.id);
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(conversation.wa_id, wa(PHONE_A));
    assert_eq!(conversation.contact_name.as_deref(), Some("Maria Souza"));
    assert_eq!(conversation.last_inbound_at, Some(T0));
    assert_eq!(conversation.last_message_at, T0);
    assert_eq!(conversation.closed_at, None);
    assert_eq!(conversation.referral, Some(referral));

    let contact = store
        .contact(ws, conversation.contact_id)
        .await
        .unwrap()
        .expect("contact");
    assert_eq!(contact.workspace_id, ws);
    assert_eq!(contact.wa_id, wa(PHONE_A));
    assert_eq!(contact.match_key, wa(PHONE_A).match_key());
    assert_eq!(contact.profile_name.as_deref(), Some("Maria Souza"));

    let stored = message(store, ws, report.new_messages[0]).await;
    assert_eq!(stored.workspace_id, ws);
    assert_eq!(stored.number_id, n.id);
    assert_eq!(stored.conversation_id, conversation.id);
    assert_eq!(stored.contact_id, contact.id);
    assert_eq!(stored.direction, Direction::In);
    assert_eq!(stored.wamid.as_deref(), Some("wamid.in1"));
    assert_eq!(stored.message_type, "text");
    assert_eq!(stored.text.as_deref(), Some("Oi, minha internet caiu"));
    assert_eq!(stored.payload, inbound.raw);
    assert_eq!(stored.status, None);
    assert_eq!(stored.created_at, T0);
    assert_eq!(
        store.message_by_wamid(ws, "wamid.in1").await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        store.messages(ws, conversation.id, None, 10).await.unwrap(),
        vec![stored.clone()]
    );
    let events = store.events(ws, conversation.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "message_in");
    assert_eq!(events[0].message_id, Some(stored.id));
    assert_eq!(events[0].conversation_id, conversation.id);
    assert_eq!(store.inbound_count(ws).await.unwrap(), 1);
    assert_eq!(
        store
            .conversations(
                ws,
                &ConversationFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap(),
        vec![conversation]
    );
}

pub async fn duplicate_messages_are_skipped<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let m1 = text_message("pn-1", "wamid.d1", PHONE_A, T0, "um");
    let m2 = text_message("pn-1", "wamid.d2", PHONE_A, T0 + 1, "dois");
    let m3 = text_message("pn-1", "wamid.d3", PHONE_A, T0 + 2, "três");
    // Twice inside one delivery.
    let first = ingest_one(
        store,
        batch(vec![m1.clone(), m2.clone(), m1.clone()], vec![]),
        T0,
    )
    .await;
    assert_eq!((first.messages_new, first.messages_duplicate), (2, 1));
    assert_eq!(first.new_messages.len(), 2);
    // Again in a later call.
    let second = ingest_one(store, batch(vec![m2.clone(), m3.clone()], vec![]), T0).await;
    assert_eq!((second.messages_new, second.messages_duplicate), (1, 1));
    assert_eq!(second.new_messages.len(), 1);
    // Twice in two deliveries of one call.
    let reports = store
        .ingest(
            &[
                batch(vec![m3.clone()], vec![]),
                batch(vec![m1.clone()], vec![]),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(reports.iter().map(|r| r.messages_new).sum::<u32>(), 0);
    assert_eq!(reports.iter().map(|r| r.messages_duplicate).sum::<u32>(), 2);
    assert!(
        reports
            .iter()
            .all(|r| r.conversations.is_empty() && r.new_messages.is_empty())
    );
    let m4 = text_message("pn-1", "wamid.d4", PHONE_A, T0 + 3, "quatro");
    let reports = store
        .ingest(
            &[batch(vec![m4.clone()], vec![]), batch(vec![m4], vec![])],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (reports[0].messages_new, reports[0].messages_duplicate),
        (1, 0)
    );
    assert_eq!(
        (reports[1].messages_new, reports[1].messages_duplicate),
        (0, 1)
    );

    assert_eq!(store.inbound_count(ws).await.unwrap(), 4);
    let conversation = first.conversations[0].1;
    let texts: Vec<_> = store
        .messages(ws, conversation, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text.unwrap_or_default())
        .collect();
    assert_eq!(texts, ["um", "dois", "três", "quatro"]);
    assert_eq!(event_kinds(store, ws, conversation).await.len(), 4);
    // The same wamid on another number is another message.
    let n2 = number(store, ws, "pn-2").await;
    assert_ne!(n2.id, n.id);
    let other = ingest_one(
        store,
        batch(
            vec![text_message("pn-2", "wamid.d1", PHONE_A, T0, "um")],
            vec![],
        ),
        T0,
    )
    .await;
    assert_eq!(other.messages_new, 1);
    assert_eq!(store.inbound_count(ws).await.unwrap(), 5);
}

pub async fn duplicate_statuses_are_skipped<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    number(store, ws, "pn-2").await;
    let delivered = status_update("pn-1", "wamid.s1", DeliveryStatus::Delivered, T0);
    let report = ingest_one(
        store,
        batch(vec![], vec![delivered.clone(), delivered.clone()]),
        T0,
    )
    .await;
    assert_eq!((report.statuses_new, report.statuses_duplicate), (1, 1));
    let read = status_update("pn-1", "wamid.s1", DeliveryStatus::Read, T0 + 1);
    let report = ingest_one(store, batch(vec![], vec![delivered.clone(), read]), T0).await;
    assert_eq!((report.statuses_new, report.statuses_duplicate), (1, 1));
    let reports = store
        .ingest(
            &[
                batch(
                    vec![],
                    vec![status_update("pn-1", "wamid.s1", DeliveryStatus::Sent, T0)],
                ),
                batch(
                    vec![],
                    vec![status_update("pn-1", "wamid.s1", DeliveryStatus::Sent, T0)],
                ),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (reports[0].statuses_new, reports[0].statuses_duplicate),
        (1, 0)
    );
    assert_eq!(
        (reports[1].statuses_new, reports[1].statuses_duplicate),
        (0, 1)
    );
    // Dedupe is per number.
    let elsewhere = ingest_one(
        store,
        batch(
            vec![],
            vec![status_update(
                "pn-2",
                "wamid.s1",
                DeliveryStatus::Delivered,
                T0,
            )],
        ),
        T0,
    )
    .await;
    assert_eq!(
        (elsewhere.statuses_new, elsewhere.statuses_duplicate),
        (1, 0)
    );
    assert_eq!(elsewhere.unrouted, 0);
}

pub async fn one_ingest_call_reports_each_delivery<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let d1 = batch(
        vec![
            text_message("pn-1", "wamid.g1", PHONE_A, T0, "a1"),
            text_message("pn-1", "wamid.g2", PHONE_A, T0 + 1, "a2"),
        ],
        vec![],
    );
    let d2 = batch(
        vec![text_message("pn-1", "wamid.g3", PHONE_B, T0 + 2, "b1")],
        vec![status_update(
            "pn-1",
            "wamid.unknown",
            DeliveryStatus::Sent,
            T0,
        )],
    );
    let d3 = WebhookBatch {
        messages: vec![text_message(
            "pn-unknown",
            "wamid.g4",
            PHONE_B,
            T0,
            "perdida?",
        )],
        statuses: vec![],
        other: vec![OtherChange {
            phone_number_id: Some("pn-1".into()),
            field: "message_template_status_update".into(),
            raw: json!({ "event": "APPROVED" }),
        }],
    };
    let reports = store
        .ingest(&[d1, d2, d3, WebhookBatch::default()], T0 + 10)
        .await
        .unwrap();
    assert_eq!(reports.len(), 4);
    assert_eq!(
        (reports[0].messages_new, reports[0].conversations.len()),
        (2, 1)
    );
    assert_eq!(reports[0].new_messages.len(), 2);
    assert_eq!((reports[1].messages_new, reports[1].statuses_new), (1, 1));
    assert_eq!(reports[1].conversations.len(), 1);
    assert_ne!(reports[0].conversations, reports[1].conversations);
    assert_eq!((reports[2].messages_new, reports[2].unrouted), (0, 2));
    assert_eq!(reports[3], IngestReport::default());
    // new_messages are in delivery order and belong to the reported conversations.
    let first = message(store, ws, reports[0].new_messages[0]).await;
    let second = message(store, ws, reports[0].new_messages[1]).await;
    assert_eq!(
        (first.text.as_deref(), second.text.as_deref()),
        (Some("a1"), Some("a2"))
    );
    assert_eq!(first.conversation_id, reports[0].conversations[0].1);
    assert_eq!(store.inbound_count(ws).await.unwrap(), 3);
}

pub async fn ninth_digit_forms_are_one_contact<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let new_form = text_message("pn-1", "wamid.n1", PHONE_A, T0, "com nove");
    let mut old_form = text_message("pn-1", "wamid.n2", PHONE_A_OLD, T0 + 1000, "sem nove");
    old_form.profile_name = None;
    let first = ingest_one(store, batch(vec![new_form], vec![]), T0).await;
    let second = ingest_one(store, batch(vec![old_form], vec![]), T0 + 1000).await;
    assert_eq!(
        first.conversations, second.conversations,
        "one conversation"
    );
    let a = message(store, ws, first.new_messages[0]).await;
    let b = message(store, ws, second.new_messages[0]).await;
    assert_eq!(a.contact_id, b.contact_id);
    let contact = store
        .contact(ws, a.contact_id)
        .await
        .unwrap()
        .expect("contact");
    // The wa_id last seen wins; a missing profile name does not erase the known one.
    assert_eq!(contact.wa_id, wa(PHONE_A_OLD));
    assert_eq!(contact.profile_name.as_deref(), Some("Maria Souza"));
    for form in [PHONE_A, PHONE_A_OLD] {
        let found = store.contact_by_wa_id(ws, &wa(form)).await.unwrap();
        assert_eq!(found.map(|c| c.id), Some(contact.id), "{form}");
        let filter = ConversationFilter {
            wa_id: Some(wa(form)),
            limit: 10,
            ..Default::default()
        };
        let listed = store.conversations(ws, &filter).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|c| (c.workspace_id, c.id))
                .collect::<Vec<_>>(),
            first.conversations,
            "{form}"
        );
    }
    assert_eq!(
        store.contact_by_wa_id(ws, &wa(PHONE_B)).await.unwrap(),
        None
    );
    // Sending to either form reaches the same contact and conversation.
    let out = enqueue(
        store,
        ws,
        text_out(n.id, PHONE_A, None, "resposta"),
        T0 + 2000,
    )
    .await;
    assert_eq!(out.contact_id, contact.id);
    assert_eq!(out.conversation_id, first.conversations[0].1);
    assert_eq!(out.to_wa_id, Some(wa(PHONE_A)));
    // The sender is given the contact's current wa_id.
    let jobs = store
        .claim_outbound(n.id, T0 + 2000, 10, 1000)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].to, wa(PHONE_A_OLD));
}

pub async fn conversation_is_reused_while_open<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let n2 = number(store, ws, "pn-2").await;
    let first = ingest_one(
        store,
        batch(
            vec![text_message("pn-1", "wamid.c1", PHONE_A, T0, "1")],
            vec![],
        ),
        T0,
    )
    .await;
    let later = ingest_one(
        store,
        batch(
            vec![text_message("pn-1", "wamid.c2", PHONE_A, T0 + 5000, "2")],
            vec![],
        ),
        T0 + 5000,
    )
    .await;
    assert_eq!(first.conversations, later.conversations);
    // A late (older) message does not move the window back.
    ingest_one(
        store,
        batch(
            vec![text_message("pn-1", "wamid.c3", PHONE_A, T0 + 100, "3")],
            vec![],
        ),
        T0 + 6000,
    )
    .await;
    let conversation = store
        .conversation(ws, first.conversations[0].1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.last_inbound_at, Some(T0 + 5000));
    assert_eq!(conversation.last_message_at, T0 + 5000);
    assert_eq!(conversation.number_id, n.id);
    // The same contact on another number has another conversation.
    let other = ingest_one(
        store,
        batch(
            vec![text_message("pn-2", "wamid.c4", PHONE_A, T0, "4")],
            vec![],
        ),
        T0,
    )
    .await;
    assert_ne!(other.conversations, first.conversations);
    let other_conversation = store
        .conversation(ws, other.conversations[0].1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other_conversation.number_id, n2.id);
    assert_eq!(other_conversation.contact_id, conversation.contact_id);
    // Two messages of one contact in one delivery: one conversation, reported once.
    let both = ingest_one(
        store,
        batch(
            vec![
                text_message("pn-1", "wamid.c5", PHONE_A, T0 + 7000, "5"),
                text_message("pn-1", "wamid.c6", PHONE_A, T0 + 7001, "6"),
            ],
            vec![],
        ),
        T0 + 7002,
    )
    .await;
    assert_eq!(both.conversations, first.conversations);
    assert_eq!(both.new_messages.len(), 2);
    let conversation = store
        .conversation(ws, first.conversations[0].1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.last_inbound_at, Some(T0 + 7001));
    // An outbound message moves activity but not the window.
    enqueue(store, ws, text_out(n.id, PHONE_A, None, "ok"), T0 + 9000).await;
    let conversation = store
        .conversation(ws, first.conversations[0].1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.last_inbound_at, Some(T0 + 7001));
    assert_eq!(conversation.last_message_at, T0 + 9000);
    let filter = ConversationFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.conversations(ws, &filter).await.unwrap().len(), 2);
}

pub async fn message_by_user_id_needs_a_known_contact<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let mut with_both = text_message("pn-1", "wamid.u1", PHONE_A, T0, "oi");
    with_both.user_id = Some("BR.user.1".into());
    let first = ingest_one(store, batch(vec![with_both], vec![]), T0).await;
    let mut only_user = text_message("pn-1", "wamid.u2", PHONE_A, T0 + 1, "de novo");
    only_user.from = None;
    only_user.user_id = Some("BR.user.1".into());
    let second = ingest_one(store, batch(vec![only_user], vec![]), T0 + 1).await;
    assert_eq!(second.messages_new, 1);
    assert_eq!(second.conversations, first.conversations);
    let contact = store
        .contact_by_wa_id(ws, &wa(PHONE_A))
        .await
        .unwrap()
        .expect("contact");
    assert_eq!(contact.user_id.as_deref(), Some("BR.user.1"));
    // Nobody to attach it to: kept in unrouted, never lost.
    let mut stranger = text_message("pn-1", "wamid.u3", PHONE_B, T0 + 2, "quem sou eu");
    stranger.from = None;
    stranger.user_id = Some("BR.user.2".into());
    let third = ingest_one(store, batch(vec![stranger.clone()], vec![]), T0 + 2).await;
    assert_eq!((third.messages_new, third.unrouted), (0, 1));
    let kept = store.unrouted(10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].kind, "message");
    assert_eq!(kept[0].raw, stranger.raw);
    assert_eq!(store.inbound_count(ws).await.unwrap(), 2);
}

pub async fn unknown_numbers_and_other_changes_are_kept<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let lost = text_message("pn-404", "wamid.x1", PHONE_A, T0, "alô?");
    let lost_status = status_update("pn-404", "wamid.x2", DeliveryStatus::Read, T0);
    let delivery = WebhookBatch {
        messages: vec![lost.clone()],
        statuses: vec![lost_status.clone()],
        other: vec![
            OtherChange {
                phone_number_id: Some("pn-1".into()),
                field: "message_template_status_update".into(),
                raw: json!({ "event": "APPROVED", "message_template_name": "boleto" }),
            },
            OtherChange {
                phone_number_id: None,
                field: "account_update".into(),
                raw: json!({ "event": "VERIFIED_ACCOUNT" }),
            },
        ],
    };
    let report = ingest_one(store, delivery.clone(), T0 + 7).await;
    assert_eq!(report.unrouted, 4);
    assert_eq!(report.messages_new + report.statuses_new, 0);
    assert!(report.conversations.is_empty());
    let kept = store.unrouted(10).await.unwrap();
    assert_eq!(kept.len(), 4);
    // Newest first.
    assert!(kept.windows(2).all(|w| w[0].id > w[1].id));
    let kinds: Vec<_> = kept.iter().rev().map(|k| k.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "message",
            "status",
            "message_template_status_update",
            "account_update"
        ]
    );
    let oldest_first: Vec<_> = kept.iter().rev().collect();
    assert_eq!(oldest_first[0].phone_number_id.as_deref(), Some("pn-404"));
    assert_eq!(oldest_first[0].raw, lost.raw);
    assert_eq!(oldest_first[1].raw, lost_status.raw);
    assert_eq!(oldest_first[2].phone_number_id.as_deref(), Some("pn-1"));
    assert_eq!(oldest_first[3].phone_number_id, None);
    assert!(kept.iter().all(|k| k.received_at == T0 + 7));
    assert_eq!(store.unrouted(2).await.unwrap().len(), 2);
    assert_eq!(store.inbound_count(ws).await.unwrap(), 0);
    let filter = ConversationFilter {
        limit: 10,
        ..Default::default()
    };
    assert!(store.conversations(ws, &filter).await.unwrap().is_empty());
    // Once the number is connected, the same wamid is a new message (unrouted is not dedupe).
    let ws2 = workspace(store, "novo").await;
    number(store, ws2, "pn-404").await;
    let report = ingest_one(store, batch(vec![lost], vec![]), T0 + 8).await;
    assert_eq!(report.messages_new, 1);
    assert_eq!(store.inbound_count(ws2).await.unwrap(), 1);
}

pub async fn workspaces_are_isolated<S: Store + Clone>(store: &S) {
    let a = workspace(store, "alfa").await;
    let b = workspace(store, "beta").await;
    let na = number(store, a, "pn-a").await;
    let nb = number(store, b, "pn-b").await;
    let template = Template {
        number_id: na.id,
        name: "aviso".into(),
        language: "pt_BR".into(),
        category: "UTILITY".into(),
        status: "APPROVED".into(),
        body: "Aviso".into(),
        body_params: 0,
    };
    store.upsert_template(a, template).await.unwrap();
    let report = ingest_one(
        store,
        batch(
            vec![text_message("pn-a", "wamid.i1", PHONE_A, T0, "oi")],
            vec![],
        ),
        T0,
    )
    .await;
    let conversation = report.conversations[0].1;
    let inbound = report.new_messages[0];
    let out = enqueue(
        store,
        a,
        text_out(na.id, PHONE_A, Some("shared-key"), "olá"),
        T0 + 1,
    )
    .await;
    let contact = message(store, a, inbound).await.contact_id;
    let all = ConversationFilter {
        limit: 100,
        ..Default::default()
    };

    // Nothing of A is visible from B.
    assert!(store.conversations(b, &all).await.unwrap().is_empty());
    let by_wa_id = ConversationFilter {
        wa_id: Some(wa(PHONE_A)),
        ..all.clone()
    };
    assert!(store.conversations(b, &by_wa_id).await.unwrap().is_empty());
    let before = ConversationFilter {
        before: Some(ConversationId(conversation.0 + 1)),
        ..all.clone()
    };
    assert!(store.conversations(b, &before).await.unwrap().is_empty());
    assert_eq!(store.conversation(b, conversation).await.unwrap(), None);
    assert!(
        store
            .messages(b, conversation, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.message(b, inbound).await.unwrap(), None);
    assert_eq!(store.message(b, out.id).await.unwrap(), None);
    assert_eq!(store.message_by_wamid(b, "wamid.i1").await.unwrap(), None);
    assert!(store.events(b, conversation).await.unwrap().is_empty());
    assert_eq!(store.contact(b, contact).await.unwrap(), None);
    assert_eq!(store.contact_by_wa_id(b, &wa(PHONE_A)).await.unwrap(), None);
    assert!(store.templates(b, na.id).await.unwrap().is_empty());
    assert_eq!(store.numbers(b).await.unwrap(), vec![nb.clone()]);
    assert_eq!(store.inbound_count(b).await.unwrap(), 0);
    assert!(store.outbound_counts(b).await.unwrap().is_empty());
    // B cannot send through A's number.
    let foreign = store
        .enqueue_outbound(b, text_out(na.id, PHONE_A, None, "intruso"), T0)
        .await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    // Idempotency keys and contacts are per workspace.
    let own = store
        .enqueue_outbound(
            b,
            text_out(nb.id, PHONE_A, Some("shared-key"), "de B"),
            T0 + 2,
        )
        .await
        .unwrap();
    assert!(own.created);
    assert_ne!(own.message.id, out.id);
    assert_ne!(own.message.contact_id, contact);
    assert_ne!(own.message.conversation_id, conversation);
    // A's view is intact.
    assert_eq!(store.inbound_count(a).await.unwrap(), 1);
    assert_eq!(
        store.outbound_counts(a).await.unwrap(),
        vec![(DeliveryStatus::Queued, 1)]
    );
    assert_eq!(
        store.outbound_counts(b).await.unwrap(),
        vec![(DeliveryStatus::Queued, 1)]
    );
    assert_eq!(store.conversations(a, &all).await.unwrap().len(), 1);
    assert_eq!(store.conversations(b, &all).await.unwrap().len(), 1);
    assert_eq!(
        store
            .message_by_wamid(a, "wamid.i1")
            .await
            .unwrap()
            .map(|m| m.id),
        Some(inbound)
    );
}

// ---- the outbox ------------------------------------------------------------------------------

pub async fn enqueue_is_idempotent<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let new = text_out(n.id, PHONE_A, Some("fatura-123"), "Sua fatura vence amanhã");
    let first = store.enqueue_outbound(ws, new.clone(), T0).await.unwrap();
    assert!(first.created);
    let m = &first.message;
    assert_eq!(m.workspace_id, ws);
    assert_eq!(m.number_id, n.id);
    assert_eq!(m.direction, Direction::Out);
    assert_eq!(m.status, Some(DeliveryStatus::Queued));
    assert_eq!(m.wamid, None);
    assert_eq!(m.message_type, "text");
    assert_eq!(m.text.as_deref(), Some("Sua fatura vence amanhã"));
    assert_eq!(m.payload, serde_json::to_value(&new.content).unwrap());
    assert_eq!(m.to_wa_id, Some(wa(PHONE_A)));
    assert_eq!(m.sent_wa_id, None);
    assert_eq!(m.idempotency_key.as_deref(), Some("fatura-123"));
    assert_eq!(m.attempts, 0);
    assert_eq!(m.error, None);
    assert_eq!(m.created_at, T0);

    let changed = NewOutbound {
        content: OutboundContent::Text {
            body: "outro texto".into(),
            preview_url: false,
        },
        ..new.clone()
    };
    let again = store.enqueue_outbound(ws, changed, T0 + 10).await.unwrap();
    assert!(!again.created);
    assert_eq!(&again.message, m, "nothing changes on a repeated key");
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 1)]
    );

    // Without a key the store makes one per message.
    let x = enqueue(store, ws, text_out(n.id, PHONE_A, None, "x"), T0 + 20).await;
    let y = enqueue(store, ws, text_out(n.id, PHONE_A, None, "y"), T0 + 30).await;
    assert_eq!(x.idempotency_key, Some(format!("msg-{}", x.id)));
    assert_eq!(y.idempotency_key, Some(format!("msg-{}", y.id)));
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 3)]
    );
    assert_eq!(x.conversation_id, m.conversation_id);

    let conversation = store
        .conversation(ws, m.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(conversation.last_inbound_at, None);
    assert_eq!(conversation.last_message_at, T0 + 30);
    let contact = store.contact(ws, m.contact_id).await.unwrap().unwrap();
    assert_eq!(contact.wa_id, wa(PHONE_A));
    assert_eq!(
        event_kinds(store, ws, m.conversation_id).await,
        ["message_out", "message_out", "message_out"]
    );
    let events = store.events(ws, m.conversation_id).await.unwrap();
    assert_eq!(events[0].message_id, Some(m.id));
    assert_eq!(
        store
            .messages(ws, m.conversation_id, None, 10)
            .await
            .unwrap()
            .len(),
        3
    );
    // A number that does not exist.
    let missing = store
        .enqueue_outbound(
            ws,
            text_out(NumberId(n.id.0 + 1000), PHONE_A, None, "?"),
            T0,
        )
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn claim_takes_due_messages_oldest_first<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let n2 = number(store, ws, "pn-2").await;
    ingest_one(
        store,
        batch(
            vec![text_message("pn-1", "wamid.w1", PHONE_A, T0 - 1000, "oi")],
            vec![],
        ),
        T0,
    )
    .await;
    let a = enqueue(store, ws, text_out(n.id, PHONE_A, Some("a"), "a"), T0).await;
    let b = enqueue(store, ws, text_out(n.id, PHONE_B, Some("b"), "b"), T0 + 10).await;
    let c = enqueue(store, ws, text_out(n.id, PHONE_A, Some("c"), "c"), T0 + 20).await;
    let d = enqueue(store, ws, text_out(n2.id, PHONE_A, Some("d"), "d"), T0).await;

    assert!(
        store
            .claim_outbound(n.id, T0 - 1, 10, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = store
        .claim_outbound(n.id, T0 + 15, 10, 30_000)
        .await
        .unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.message_id).collect::<Vec<_>>(),
        [a.id, b.id]
    );
    let job = &jobs[0];
    assert_eq!(job.workspace_id, ws);
    assert_eq!(job.number_id, n.id);
    assert_eq!(job.conversation_id, a.conversation_id);
    assert_eq!(job.to, wa(PHONE_A));
    assert_eq!(job.idempotency_key, "a");
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_inbound_at, Some(T0 - 1000));
    assert_eq!(
        job.content,
        OutboundContent::Text {
            body: "a".into(),
            preview_url: false
        }
    );
    assert_eq!(jobs[1].last_inbound_at, None, "B never wrote");
    let claimed = message(store, ws, a.id).await;
    assert_eq!(claimed.status, Some(DeliveryStatus::Sending));
    assert_eq!(claimed.attempts, 1);
    // Claimed messages are not claimed again.
    assert!(
        store
            .claim_outbound(n.id, T0 + 15, 10, 30_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(claim_ids(store, n.id, T0 + 100, 10).await, [c.id]);
    assert_eq!(claim_ids(store, n2.id, T0 + 100, 10).await, [d.id]);
    // The limit takes the oldest.
    let mut queued = Vec::new();
    for i in 0..5 {
        queued.push(
            enqueue(
                store,
                ws,
                text_out(n.id, PHONE_B, None, "lote"),
                T0 + 200 + i,
            )
            .await
            .id,
        );
    }
    assert_eq!(claim_ids(store, n.id, T0 + 300, 2).await, queued[..2]);
    assert_eq!(claim_ids(store, n.id, T0 + 300, 10).await, queued[2..]);
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Sending, 9)]
    );
}

pub async fn concurrent_claimers_never_share_a_message<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let mut enqueued = HashSet::new();
    for i in 0..120 {
        let to = if i % 2 == 0 { PHONE_A } else { PHONE_B };
        enqueued.insert(
            enqueue(store, ws, text_out(n.id, to, None, "cobrança"), T0 + i)
                .await
                .id,
        );
    }
    let mut claimers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = store.clone();
        let number = n.id;
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = store
                    .claim_outbound(number, T0 + 1000, 7, 60_000)
                    .await
                    .expect("claim");
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|j| j.message_id));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut all = Vec::new();
    while let Some(result) = claimers.join_next().await {
        all.extend(result.expect("claimer task"));
    }
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a message was claimed twice");
    assert_eq!(unique, enqueued);
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Sending, 120)]
    );
}

pub async fn send_outcomes_update_the_outbox<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let accepted = enqueue(store, ws, text_out(n.id, PHONE_A, None, "1"), T0).await;
    let retried = enqueue(store, ws, text_out(n.id, PHONE_A, None, "2"), T0).await;
    let deferred = enqueue(store, ws, text_out(n.id, PHONE_A, None, "3"), T0).await;
    let failed = enqueue(store, ws, text_out(n.id, PHONE_A, None, "4"), T0).await;
    assert_eq!(claim_ids(store, n.id, T0 + 1, 10).await.len(), 4);
    let throttled = error(130429, "Rate limit hit");
    let blocked = error(131026, "Message undeliverable");
    store
        .record_send_outcomes(
            &[
                SendOutcome::Accepted {
                    message_id: accepted.id,
                    wamid: "wamid.out1".into(),
                    wa_id: Some(wa(PHONE_A_OLD)),
                },
                SendOutcome::Retry {
                    message_id: retried.id,
                    next_attempt_at: T0 + 5000,
                    error: throttled.clone(),
                },
                SendOutcome::Deferred {
                    message_id: deferred.id,
                    next_attempt_at: T0 + 2000,
                },
                SendOutcome::Failed {
                    message_id: failed.id,
                    error: blocked.clone(),
                },
            ],
            T0 + 2,
        )
        .await
        .unwrap();

    let a = message(store, ws, accepted.id).await;
    assert_eq!(a.status, Some(DeliveryStatus::Accepted));
    assert_eq!(a.wamid.as_deref(), Some("wamid.out1"));
    assert_eq!(a.sent_wa_id, Some(wa(PHONE_A_OLD)));
    assert_eq!(a.to_wa_id, Some(wa(PHONE_A)));
    assert_eq!(
        store
            .message_by_wamid(ws, "wamid.out1")
            .await
            .unwrap()
            .map(|m| m.id),
        Some(a.id)
    );
    // The wa_id WhatsApp answered with becomes the contact's.
    let contact = store.contact(ws, a.contact_id).await.unwrap().unwrap();
    assert_eq!(contact.wa_id, wa(PHONE_A_OLD));
    let r = message(store, ws, retried.id).await;
    assert_eq!(r.status, Some(DeliveryStatus::Queued));
    assert_eq!(r.error, Some(throttled));
    assert_eq!(r.attempts, 1);
    let d = message(store, ws, deferred.id).await;
    assert_eq!(d.status, Some(DeliveryStatus::Queued));
    assert_eq!(d.attempts, 0, "a deferral is not an attempt");
    assert_eq!(d.error, None);
    let f = message(store, ws, failed.id).await;
    assert_eq!(f.status, Some(DeliveryStatus::Failed));
    assert_eq!(f.error, Some(blocked));

    // Back in the queue at their own time.
    assert!(claim_ids(store, n.id, T0 + 1999, 10).await.is_empty());
    let jobs = store
        .claim_outbound(n.id, T0 + 2500, 10, 60_000)
        .await
        .unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.message_id, j.attempts))
            .collect::<Vec<_>>(),
        [(d.id, 1)]
    );
    let jobs = store
        .claim_outbound(n.id, T0 + 6000, 10, 60_000)
        .await
        .unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.message_id, j.attempts))
            .collect::<Vec<_>>(),
        [(r.id, 2)]
    );

    // Outcomes for messages no longer in `sending` change nothing.
    store
        .record_send_outcomes(
            &[
                SendOutcome::Failed {
                    message_id: a.id,
                    error: error(1, "late"),
                },
                SendOutcome::Accepted {
                    message_id: f.id,
                    wamid: "wamid.late".into(),
                    wa_id: None,
                },
                SendOutcome::Retry {
                    message_id: a.id,
                    next_attempt_at: T0,
                    error: error(2, "late"),
                },
            ],
            T0 + 7000,
        )
        .await
        .unwrap();
    assert_eq!(message(store, ws, a.id).await, a);
    assert_eq!(message(store, ws, f.id).await, f);
    store.record_send_outcomes(&[], T0).await.unwrap();

    let kinds = event_kinds(store, ws, a.conversation_id).await;
    for kind in [
        "send_accepted",
        "send_retry",
        "send_deferred",
        "send_failed",
    ] {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            1,
            "{kind} in {kinds:?}"
        );
    }
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![
            (DeliveryStatus::Sending, 2),
            (DeliveryStatus::Accepted, 1),
            (DeliveryStatus::Failed, 1)
        ]
    );
}

/// Enqueues, claims and accepts one message with `wamid`.
async fn accepted_message<S: Store>(
    store: &S,
    ws: WorkspaceId,
    number: NumberId,
    wamid: &str,
) -> Message {
    let m = enqueue(store, ws, text_out(number, PHONE_A, None, wamid), T0).await;
    let jobs = store.claim_outbound(number, T0, 100, 60_000).await.unwrap();
    assert!(jobs.iter().any(|j| j.message_id == m.id));
    store
        .record_send_outcomes(
            &[SendOutcome::Accepted {
                message_id: m.id,
                wamid: wamid.into(),
                wa_id: None,
            }],
            T0 + 1,
        )
        .await
        .unwrap();
    message(store, ws, m.id).await
}

pub async fn statuses_only_move_forward<S: Store + Clone>(store: &S) {
    use DeliveryStatus::*;
    let (ws, n) = setup(store).await;
    let first = accepted_message(store, ws, n.id, "wamid.m1").await;
    let second = accepted_message(store, ws, n.id, "wamid.m2").await;
    assert_eq!(first.status, Some(Accepted));

    // read, then the older delivered (with pricing), then sent: read stays, pricing is kept.
    let mut delivered = status_update("pn-1", "wamid.m1", Delivered, T0 + 20);
    delivered.pricing = utility_pricing();
    let report = ingest_one(
        store,
        batch(
            vec![],
            vec![
                status_update("pn-1", "wamid.m1", Read, T0 + 30),
                delivered,
                status_update("pn-1", "wamid.m1", Sent, T0 + 10),
            ],
        ),
        T0 + 40,
    )
    .await;
    assert_eq!(report.statuses_new, 3);
    let m1 = message(store, ws, first.id).await;
    assert_eq!(m1.status, Some(Read));
    assert_eq!(m1.pricing_category.as_deref(), Some("utility"));
    assert_eq!(m1.pricing_type.as_deref(), Some("regular"));
    assert_eq!(m1.billable, Some(true));
    // A late failure does not un-read a message.
    let mut late_failure = status_update("pn-1", "wamid.m1", Failed, T0 + 50);
    late_failure.errors = vec![WaError {
        code: 131026,
        title: Some("Message undeliverable".into()),
        message: None,
        details: None,
    }];
    ingest_one(store, batch(vec![], vec![late_failure.clone()]), T0 + 50).await;
    let m1 = message(store, ws, first.id).await;
    assert_eq!(m1.status, Some(Read));
    assert_eq!(m1.error, None);

    // failed is terminal.
    ingest_one(
        store,
        batch(
            vec![],
            vec![status_update("pn-1", "wamid.m2", Delivered, T0 + 20)],
        ),
        T0 + 20,
    )
    .await;
    assert_eq!(message(store, ws, second.id).await.status, Some(Delivered));
    let mut failure = late_failure;
    failure.wamid = "wamid.m2".into();
    failure.errors[0].details = Some("número sem WhatsApp".into());
    ingest_one(store, batch(vec![], vec![failure]), T0 + 60).await;
    ingest_one(
        store,
        batch(
            vec![],
            vec![status_update("pn-1", "wamid.m2", Read, T0 + 70)],
        ),
        T0 + 70,
    )
    .await;
    let m2 = message(store, ws, second.id).await;
    assert_eq!(m2.status, Some(Failed));
    let recorded = m2.error.expect("error recorded");
    assert_eq!(recorded.code, 131026);
    assert_eq!(recorded.title, "Message undeliverable");
    assert_eq!(recorded.details.as_deref(), Some("número sem WhatsApp"));
    // A redelivered status is a duplicate and changes nothing.
    let report = ingest_one(
        store,
        batch(
            vec![],
            vec![status_update("pn-1", "wamid.m2", Delivered, T0 + 20)],
        ),
        T0 + 80,
    )
    .await;
    assert_eq!((report.statuses_new, report.statuses_duplicate), (0, 1));
    let statuses = store
        .events(ws, second.conversation_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "status" && e.message_id == Some(second.id))
        .count();
    assert_eq!(statuses, 3);
}

pub async fn statuses_before_the_send_answer_apply_on_accept<S: Store + Clone>(store: &S) {
    use DeliveryStatus::*;
    let (ws, n) = setup(store).await;
    let m = enqueue(
        store,
        ws,
        text_out(n.id, PHONE_A, Some("k-early"), "rápido"),
        T0,
    )
    .await;
    assert_eq!(claim_ids(store, n.id, T0, 10).await, [m.id]);
    let mut sent = status_update("pn-1", "wamid.early", Sent, T0 + 1);
    sent.pricing = utility_pricing();
    let report = ingest_one(
        store,
        batch(
            vec![],
            vec![
                status_update("pn-1", "wamid.early", Delivered, T0 + 2),
                sent,
            ],
        ),
        T0 + 3,
    )
    .await;
    assert_eq!(report.statuses_new, 2);
    let waiting = message(store, ws, m.id).await;
    assert_eq!(waiting.status, Some(Sending));
    assert_eq!(waiting.wamid, None);

    store
        .record_send_outcomes(
            &[SendOutcome::Accepted {
                message_id: m.id,
                wamid: "wamid.early".into(),
                wa_id: Some(wa(PHONE_A)),
            }],
            T0 + 4,
        )
        .await
        .unwrap();
    let applied = message(store, ws, m.id).await;
    assert_eq!(applied.status, Some(Delivered));
    assert_eq!(applied.wamid.as_deref(), Some("wamid.early"));
    assert_eq!(applied.pricing_category.as_deref(), Some("utility"));
    ingest_one(
        store,
        batch(
            vec![],
            vec![status_update("pn-1", "wamid.early", Read, T0 + 5)],
        ),
        T0 + 5,
    )
    .await;
    assert_eq!(message(store, ws, m.id).await.status, Some(Read));
    let kinds = event_kinds(store, ws, m.conversation_id).await;
    assert_eq!(
        kinds,
        ["message_out", "send_accepted", "status", "status", "status"]
    );
}

pub async fn callback_data_reconciles_a_message_in_flight<S: Store + Clone>(store: &S) {
    use DeliveryStatus::*;
    let (ws, n) = setup(store).await;
    let m = enqueue(store, ws, text_out(n.id, PHONE_A, Some("k-77"), "oi"), T0).await;
    let other = enqueue(store, ws, text_out(n.id, PHONE_B, Some("k-78"), "oi"), T0).await;
    assert_eq!(claim_ids(store, n.id, T0, 10).await.len(), 2);
    let mut sent = status_update("pn-1", "wamid.lost-answer", Sent, T0 + 1);
    sent.biz_opaque_callback_data = Some("k-77".into());
    // A key nobody uses changes nothing.
    let mut stray = status_update("pn-1", "wamid.stray", Sent, T0 + 1);
    stray.biz_opaque_callback_data = Some("k-unknown".into());
    let report = ingest_one(store, batch(vec![], vec![sent, stray]), T0 + 2).await;
    assert_eq!(report.statuses_new, 2);
    let reconciled = message(store, ws, m.id).await;
    assert_eq!(reconciled.wamid.as_deref(), Some("wamid.lost-answer"));
    assert_eq!(reconciled.status, Some(Sent));
    assert_eq!(message(store, ws, other.id).await.status, Some(Sending));
    // The send answer arriving afterwards is ignored.
    store
        .record_send_outcomes(
            &[SendOutcome::Accepted {
                message_id: m.id,
                wamid: "wamid.other".into(),
                wa_id: None,
            }],
            T0 + 3,
        )
        .await
        .unwrap();
    let after = message(store, ws, m.id).await;
    assert_eq!(after.wamid.as_deref(), Some("wamid.lost-answer"));
    assert_eq!(after.status, Some(Sent));
    let kinds = event_kinds(store, ws, m.conversation_id).await;
    assert!(kinds.contains(&"send_reconciled".to_string()), "{kinds:?}");
    assert!(!kinds.contains(&"send_accepted".to_string()), "{kinds:?}");
}

pub async fn reconcile_in_flight_waits_then_requeues<S: Store + Clone>(store: &S) {
    use DeliveryStatus::*;
    let (ws, n) = setup(store).await;
    // `evidenced`: a status carrying its key was kept while it was not in flight.
    let evidenced = enqueue(store, ws, text_out(n.id, PHONE_A, Some("k-ev"), "e"), T0).await;
    assert_eq!(claim_ids(store, n.id, T0, 10).await, [evidenced.id]);
    store
        .record_send_outcomes(
            &[SendOutcome::Deferred {
                message_id: evidenced.id,
                next_attempt_at: T0,
            }],
            T0,
        )
        .await
        .unwrap();
    let mut evidence = status_update("pn-1", "wamid.ev", Delivered, T0 + 1);
    evidence.biz_opaque_callback_data = Some("k-ev".into());
    ingest_one(store, batch(vec![], vec![evidence]), T0 + 1).await;
    assert_eq!(message(store, ws, evidenced.id).await.status, Some(Queued));

    let a = enqueue(store, ws, text_out(n.id, PHONE_A, None, "a"), T0).await;
    let b = enqueue(store, ws, text_out(n.id, PHONE_B, None, "b"), T0).await;
    let jobs = store.claim_outbound(n.id, T0 + 10, 10, 1000).await.unwrap();
    assert_eq!(jobs.len(), 3);
    let fresh = enqueue(store, ws, text_out(n.id, PHONE_B, None, "c"), T0 + 10).await;
    let lease_end = T0 + 10 + 1000;

    // Leases still running: nothing to do.
    assert_eq!(
        store
            .reconcile_in_flight(n.id, lease_end - 1, 5000)
            .await
            .unwrap(),
        (0, 0)
    );
    // Expired: the evidenced one is reconciled, the others wait for the grace period.
    assert_eq!(
        store
            .reconcile_in_flight(n.id, lease_end + 1, 5000)
            .await
            .unwrap(),
        (1, 0)
    );
    let e = message(store, ws, evidenced.id).await;
    assert_eq!(e.wamid.as_deref(), Some("wamid.ev"));
    assert_eq!(e.status, Some(Delivered));
    assert_eq!(message(store, ws, a.id).await.status, Some(Sending));
    assert_eq!(
        store
            .reconcile_in_flight(n.id, lease_end + 4999, 5000)
            .await
            .unwrap(),
        (0, 0)
    );
    // After the grace period the send most likely never happened: back to the queue.
    assert_eq!(
        store
            .reconcile_in_flight(n.id, lease_end + 5000, 5000)
            .await
            .unwrap(),
        (0, 2)
    );
    assert_eq!(message(store, ws, a.id).await.status, Some(Queued));
    assert_eq!(message(store, ws, b.id).await.status, Some(Queued));
    assert_eq!(message(store, ws, fresh.id).await.status, Some(Queued));
    assert_eq!(
        store
            .reconcile_in_flight(n.id, lease_end + 9000, 5000)
            .await
            .unwrap(),
        (0, 0)
    );
    let jobs = store
        .claim_outbound(n.id, lease_end + 5000, 10, 1000)
        .await
        .unwrap();
    let mut retried: Vec<_> = jobs.iter().map(|j| (j.message_id, j.attempts)).collect();
    retried.sort();
    assert_eq!(retried, [(a.id, 2), (b.id, 2), (fresh.id, 1)]);
    // Another number's in-flight messages are not touched.
    let n2 = number(store, ws, "pn-2").await;
    assert_eq!(
        store
            .reconcile_in_flight(n2.id, lease_end + 100_000, 0)
            .await
            .unwrap(),
        (0, 0)
    );
    assert_eq!(message(store, ws, a.id).await.status, Some(Sending));
    let kinds = event_kinds(store, ws, a.conversation_id).await;
    assert!(kinds.contains(&"send_requeued".to_string()), "{kinds:?}");
}

pub async fn events_are_appended_in_order<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let first = ingest_one(
        store,
        batch(
            vec![text_message("pn-1", "wamid.e1", PHONE_A, T0, "oi")],
            vec![],
        ),
        T0,
    )
    .await;
    let out = enqueue(store, ws, text_out(n.id, PHONE_A, None, "olá"), T0 + 1).await;
    assert_eq!(claim_ids(store, n.id, T0 + 1, 10).await, [out.id]);
    store
        .record_send_outcomes(
            &[SendOutcome::Accepted {
                message_id: out.id,
                wamid: "wamid.e-out".into(),
                wa_id: None,
            }],
            T0 + 2,
        )
        .await
        .unwrap();
    ingest_one(
        store,
        batch(
            vec![text_message(
                "pn-1",
                "wamid.e2",
                PHONE_A,
                T0 + 4,
                "obrigado",
            )],
            vec![status_update(
                "pn-1",
                "wamid.e-out",
                DeliveryStatus::Sent,
                T0 + 3,
            )],
        ),
        T0 + 5,
    )
    .await;
    let events = store.events(ws, first.conversations[0].1).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "message_in",
            "message_out",
            "send_accepted",
            "message_in",
            "status"
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        events
            .iter()
            .all(|e| e.workspace_id == ws && e.conversation_id == first.conversations[0].1)
    );
    assert_eq!(events[0].message_id, Some(first.new_messages[0]));
    assert_eq!(events[1].message_id, Some(out.id));
    assert_eq!(events[4].message_id, Some(out.id));
    assert_eq!(events[1].created_at, T0 + 1);
    assert_eq!(events[4].created_at, T0 + 5);
}

pub async fn conversations_page_by_keyset<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let phones = [
        "5511990000001",
        "5511990000002",
        "5511990000003",
        "5511990000004",
        "5511990000005",
    ];
    let mut conversations = Vec::new();
    for (i, phone) in phones.iter().enumerate() {
        let at = T0 + 1000 * i as i64;
        let report = ingest_one(
            store,
            batch(
                vec![text_message(
                    "pn-1",
                    &format!("wamid.k{i}"),
                    phone,
                    at,
                    "oi",
                )],
                vec![],
            ),
            at,
        )
        .await;
        conversations.push(report.conversations[0].1);
    }
    let page = |before: Option<ConversationId>, limit: u32| {
        let filter = ConversationFilter {
            before,
            limit,
            ..Default::default()
        };
        async move {
            store
                .conversations(ws, &filter)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    let c = &conversations;
    assert_eq!(page(None, 2).await, [c[4], c[3]]);
    assert_eq!(page(Some(c[3]), 2).await, [c[2], c[1]]);
    assert_eq!(page(Some(c[1]), 2).await, [c[0]]);
    assert!(page(Some(c[0]), 2).await.is_empty());
    // New activity moves a conversation to the front.
    ingest_one(
        store,
        batch(
            vec![text_message(
                "pn-1",
                "wamid.k-late",
                phones[0],
                T0 + 10_000,
                "voltei",
            )],
            vec![],
        ),
        T0 + 10_000,
    )
    .await;
    assert_eq!(page(None, 3).await, [c[0], c[4], c[3]]);
    assert_eq!(page(Some(c[3]), 10).await, [c[2], c[1]]);
    // Ties on activity are ordered by id, and paging across them loses nothing.
    let mut tied = Vec::new();
    for i in 0..3 {
        let report = ingest_one(
            store,
            batch(
                vec![text_message(
                    "pn-1",
                    &format!("wamid.t{i}"),
                    &format!("551188000000{i}"),
                    T0 + 20_000,
                    "empate",
                )],
                vec![],
            ),
            T0 + 20_000,
        )
        .await;
        tied.push(report.conversations[0].1);
    }
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let next = page(cursor, 1).await;
        let Some(last) = next.last().copied() else {
            break;
        };
        walked.extend(next);
        cursor = Some(last);
    }
    assert_eq!(
        walked,
        [tied[2], tied[1], tied[0], c[0], c[4], c[3], c[2], c[1]]
    );
    // Filters.
    let open = ConversationFilter {
        status: Some(ConversationStatus::Open),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(store.conversations(ws, &open).await.unwrap().len(), 8);
    let closed = ConversationFilter {
        status: Some(ConversationStatus::Closed),
        limit: 100,
        ..Default::default()
    };
    assert!(store.conversations(ws, &closed).await.unwrap().is_empty());
    let one = ConversationFilter {
        wa_id: Some(wa("551190000003")),
        limit: 100,
        ..Default::default()
    };
    let found: Vec<_> = store
        .conversations(ws, &one)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(found, [c[2]]);
}

pub async fn messages_page_after_an_id<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let messages: Vec<_> = (0..4)
        .map(|i| {
            text_message(
                "pn-1",
                &format!("wamid.p{i}"),
                PHONE_A,
                T0 + i,
                &format!("m{i}"),
            )
        })
        .collect();
    let report = ingest_one(store, batch(messages, vec![]), T0).await;
    let out = enqueue(store, ws, text_out(n.id, PHONE_A, None, "m4"), T0 + 10).await;
    let mut ids = report.new_messages.clone();
    ids.push(out.id);
    let conversation = report.conversations[0].1;
    let page = |after: Option<MessageId>, limit: u32| async move {
        store
            .messages(ws, conversation, after, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(None, 2).await, ids[..2]);
    assert_eq!(page(Some(ids[1]), 2).await, ids[2..4]);
    assert_eq!(page(Some(ids[3]), 2).await, ids[4..]);
    assert!(page(Some(ids[4]), 2).await.is_empty());
    assert_eq!(page(None, 100).await, ids);
    let texts: Vec<_> = store
        .messages(ws, conversation, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text.unwrap_or_default())
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
}

pub async fn dead_letters_are_kept<S: Store + Clone>(store: &S) {
    assert!(store.dead_letters(10).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = store
            .record_dead_letter(NewDeadLetter {
                source: "whatsapp_webhook".into(),
                reason: format!("expected value at line 1 column {i}"),
                body: format!("{{not json {i}"),
                received_at: T0 + i,
            })
            .await
            .unwrap();
        ids.push(id);
    }
    let letters = store.dead_letters(2).await.unwrap();
    assert_eq!(
        letters.iter().map(|l| l.id).collect::<Vec<_>>(),
        [ids[2], ids[1]]
    );
    assert_eq!(letters[0].source, "whatsapp_webhook");
    assert_eq!(letters[0].reason, "expected value at line 1 column 2");
    assert_eq!(letters[0].body, "{not json 2");
    assert_eq!(letters[0].received_at, T0 + 2);
    assert_eq!(store.dead_letters(10).await.unwrap().len(), 3);
}

pub async fn a_large_group_is_stored_whole<S: Store + Clone>(store: &S) {
    use DeliveryStatus::*;
    let (ws, n) = setup(store).await;
    let first = accepted_message(store, ws, n.id, "wamid.big-out").await;
    let phones = [PHONE_A, PHONE_B, "5521977776666"];
    let mut deliveries = Vec::new();
    for d in 0..30 {
        let mut messages: Vec<_> = (0..5)
            .map(|i| {
                let k = d * 5 + i;
                text_message(
                    "pn-1",
                    &format!("wamid.big{k}"),
                    phones[k % 3],
                    T0 + k as i64,
                    &format!("m{k}"),
                )
            })
            .collect();
        // A redelivery of the previous delivery's first message.
        if d > 0 {
            messages.push(text_message(
                "pn-1",
                &format!("wamid.big{}", (d - 1) * 5),
                phones[0],
                T0,
                "dup",
            ));
        }
        let statuses = match d {
            3 => vec![status_update("pn-1", "wamid.big-out", Read, T0 + 30)],
            7 => vec![
                status_update("pn-1", "wamid.big-out", Delivered, T0 + 20),
                status_update("pn-1", "wamid.big-out", Read, T0 + 30),
            ],
            _ => vec![],
        };
        deliveries.push(batch(messages, statuses));
    }
    let reports = store.ingest(&deliveries, T0 + 1000).await.unwrap();
    assert_eq!(reports.len(), 30);
    for (d, report) in reports.iter().enumerate() {
        assert_eq!(report.messages_new, 5, "delivery {d}");
        assert_eq!(report.messages_duplicate, u32::from(d > 0), "delivery {d}");
        assert_eq!(report.new_messages.len(), 5);
        assert_eq!(report.conversations.len(), 3, "delivery {d}");
    }
    assert_eq!(
        (reports[3].statuses_new, reports[3].statuses_duplicate),
        (1, 0)
    );
    assert_eq!(
        (reports[7].statuses_new, reports[7].statuses_duplicate),
        (1, 1)
    );
    assert_eq!(store.inbound_count(ws).await.unwrap(), 150);
    // Every delivery saw the same three conversations, and new_messages follow delivery order.
    assert!(reports.iter().all(|r| {
        let mut c = r.conversations.clone();
        c.sort();
        let mut first = reports[0].conversations.clone();
        first.sort();
        c == first
    }));
    let all_new: Vec<_> = reports
        .iter()
        .flat_map(|r| r.new_messages.clone())
        .collect();
    assert!(all_new.windows(2).all(|w| w[0] < w[1]));
    let last = message(store, ws, all_new[149]).await;
    assert_eq!(last.text.as_deref(), Some("m149"));
    let out = message(store, ws, first.id).await;
    assert_eq!(out.status, Some(Read));
    let conversation = store
        .conversation(ws, first.conversation_id)
        .await
        .unwrap()
        .unwrap();
    // PHONE_A wrote messages 0, 3, …, 147: the newest timestamp is T0 + 147.
    assert_eq!(conversation.last_inbound_at, Some(T0 + 147));
    assert_eq!(
        store
            .messages(ws, first.conversation_id, None, 1000)
            .await
            .unwrap()
            .len(),
        51,
        "50 inbound and the outbound one"
    );
}

pub async fn nul_characters_do_not_block_ingestion<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let mut odd = text_message("pn-1", "wamid.nul", PHONE_A, T0, "a\u{0}b");
    odd.profile_name = Some("Jo\u{0}ão".into());
    odd.raw = json!({ "id": "wamid.nul", "text": { "body": "a\u{0}b" } });
    let report = ingest_one(store, batch(vec![odd], vec![]), T0).await;
    assert_eq!(report.messages_new, 1);
    let stored = message(store, ws, report.new_messages[0]).await;
    // A backend may drop U+0000 (PostgreSQL cannot store it); everything else is kept.
    assert_eq!(stored.text.unwrap_or_default().replace('\0', ""), "ab");
    assert_eq!(
        stored.payload["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .replace('\0', ""),
        "ab"
    );
    let out = enqueue(store, ws, text_out(n.id, PHONE_A, None, "x\u{0}y"), T0).await;
    assert_eq!(out.text.unwrap_or_default().replace('\0', ""), "xy");
    let mut status = status_update("pn-1", "wamid.unknown-nul", DeliveryStatus::Sent, T0);
    status.raw = json!({ "id": "wamid.unknown-nul", "note": "\u{0}" });
    let report = ingest_one(store, batch(vec![], vec![status]), T0).await;
    assert_eq!(report.statuses_new, 1);
}

fn payment(invoice: &str, paid_at: Millis, cents: i64) -> NewPaymentEvent {
    NewPaymentEvent {
        invoice_erp_id: invoice.into(),
        contract_erp_id: Some("c-1".into()),
        customer_erp_id: Some("k-1".into()),
        paid_at,
        amount_cents: cents,
        detected_by: "poll:sgp".into(),
    }
}

pub async fn erp_connection_is_per_workspace_and_resets_the_cursor<S: Store + Clone>(store: &S) {
    let (a, _) = setup(store).await;
    let b = workspace(store, "outro").await;
    assert!(store.erp_connection(a).await.unwrap().is_none());
    let c = store
        .set_erp_connection(a, "sgp", "http://sgp.local", "sealed-1", 1_000)
        .await
        .unwrap();
    assert_eq!((c.system.as_str(), c.payment_cursor), ("sgp", None));
    store.record_payments(a, &[], 5_000, 1_100).await.unwrap();
    // New credentials, same system: the cursor stays.
    let c = store
        .set_erp_connection(a, "sgp", "http://sgp.local", "sealed-2", 2_000)
        .await
        .unwrap();
    assert_eq!(
        (c.sealed_auth.as_str(), c.payment_cursor),
        ("sealed-2", Some(5_000))
    );
    // Another system: polled from scratch.
    let c = store
        .set_erp_connection(
            a,
            "ixc",
            "http://ixc.local/webservice/v1",
            "sealed-3",
            3_000,
        )
        .await
        .unwrap();
    assert_eq!(c.payment_cursor, None);
    assert!(store.erp_connection(b).await.unwrap().is_none(), "isolated");
    store
        .set_erp_connection(b, "hubsoft", "http://h", "s", 1)
        .await
        .unwrap();
    let all = store.all_erp_connections().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        store.erp_connection(a).await.unwrap().unwrap().system,
        "ixc"
    );
}

pub async fn payments_are_recorded_once_with_the_cursor<S: Store + Clone>(store: &S) {
    let (a, _) = setup(store).await;
    let b = workspace(store, "outro").await;
    assert!(matches!(
        store
            .record_payments(a, &[payment("i-1", 10, 100)], 10, 20)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .set_erp_connection(a, "sgp", "http://s", "x", 1)
        .await
        .unwrap();
    store
        .set_erp_connection(b, "sgp", "http://s", "x", 1)
        .await
        .unwrap();
    let first = store
        .record_payments(
            a,
            &[payment("i-1", 10, 100), payment("i-2", 20, 200)],
            20,
            30,
        )
        .await
        .unwrap();
    assert_eq!(
        first
            .iter()
            .map(|e| e.invoice_erp_id.as_str())
            .collect::<Vec<_>>(),
        ["i-1", "i-2"]
    );
    // A poll overlapping the last one, and a restart that repeats it: nothing twice.
    let again = store
        .record_payments(
            a,
            &[
                payment("i-2", 20, 200),
                payment("i-3", 25, 300),
                payment("i-3", 25, 300),
            ],
            25,
            40,
        )
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|e| e.invoice_erp_id.as_str())
            .collect::<Vec<_>>(),
        ["i-3"]
    );
    // The cursor never goes back.
    store.record_payments(a, &[], 5, 50).await.unwrap();
    assert_eq!(
        store
            .erp_connection(a)
            .await
            .unwrap()
            .unwrap()
            .payment_cursor,
        Some(25)
    );
    // The same invoice id in another workspace is another event.
    assert_eq!(
        store
            .record_payments(b, &[payment("i-1", 10, 100)], 10, 60)
            .await
            .unwrap()
            .len(),
        1
    );
    let events = store.payment_events(a, None, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(events[2].amount_cents, 300);
    assert_eq!(events[0].recorded_at, 30);
    let after = store
        .payment_events(a, Some(events[0].id), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(store.payment_events(b, None, 10).await.unwrap().len(), 1);
}

// ---- self-service bot ----------------------------------------------------------------------

/// A distinct valid Brazilian mobile wa_id per `i`.
fn phone(i: u32) -> String {
    format!("55119876{:05}", 10_000 + i)
}

/// Ingests one text message from `from` on `phone_number_id`; returns its conversation and id.
async fn inbound<S: Store>(
    store: &S,
    phone_number_id: &str,
    wamid: &str,
    from: &str,
    at: Millis,
) -> (ConversationId, MessageId) {
    let report = ingest_one(
        store,
        batch(
            vec![text_message(phone_number_id, wamid, from, at, "oi")],
            vec![],
        ),
        at,
    )
    .await;
    assert_eq!(report.new_messages.len(), 1, "{wamid} is new");
    (report.conversations[0].1, report.new_messages[0])
}

fn session(
    ws: WorkspaceId,
    conversation: ConversationId,
    protocol: &str,
    last_message_id: Option<MessageId>,
    timer_due_at: Option<Millis>,
    finished: bool,
) -> BotSession {
    BotSession {
        workspace_id: ws,
        conversation_id: conversation,
        protocol: protocol.into(),
        state: json!({ "step": "menu", "attempts": 1 }),
        last_message_id,
        timer_due_at,
        finished,
        updated_at: T0 + 10,
    }
}

async fn awaiting<S: Store>(store: &S, limit: u32) -> Vec<(WorkspaceId, ConversationId)> {
    store
        .conversations_awaiting_bot(limit)
        .await
        .expect("conversations awaiting the bot")
}

pub async fn bot_turn_queues_its_replies_in_the_same_transaction<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let (c, m1) = inbound(store, "pn-1", "wamid.t1", PHONE_A, T0).await;
    let (other, _) = inbound(store, "pn-1", "wamid.t2", PHONE_B, T0 + 1).await;
    let reply = |key: &str, body: &str| NewOutbound {
        author: "bot".into(),
        ..text_out(n.id, PHONE_A, Some(key), body)
    };
    let replies = [
        reply("bot:1:0", "Protocolo P-1"),
        reply("bot:1:1", "Sua fatura"),
    ];
    let saved = session(ws, c, "P-1", Some(m1), None, false);
    let done = store
        .save_bot_turn(&saved, &[], &replies, false)
        .await
        .unwrap();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|e| e.created));
    assert!(done.iter().all(|e| e.message.conversation_id == c));
    assert_eq!(done[0].message.text.as_deref(), Some("Protocolo P-1"));
    assert_eq!(done[1].message.text.as_deref(), Some("Sua fatura"));
    assert!(done[0].message.id < done[1].message.id, "in order");
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 2)]
    );
    // The same turn again (a crash before the caller learnt of the commit): nothing new.
    let again = store
        .save_bot_turn(&saved, &[], &replies, false)
        .await
        .unwrap();
    assert!(again.iter().all(|e| !e.created));
    assert_eq!(again[0].message.id, done[0].message.id);
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 2)]
    );
    // A protocol clash writes neither the session nor its replies.
    let clash = session(ws, other, "P-1", None, None, false);
    let replies_b = [NewOutbound {
        author: "bot".into(),
        ..text_out(n.id, PHONE_B, Some("bot:2:0"), "não deve sair")
    }];
    let result = store.save_bot_turn(&clash, &[], &replies_b, false).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 2)]
    );
    assert!(store.bot_session(ws, other).await.unwrap().is_none());

    // The bot ends the contact: the conversation closes with the turn, and the subscriber's next
    // message opens a new one.
    let closing = BotSession {
        finished: true,
        updated_at: T0 + 50,
        ..saved
    };
    store.save_bot_turn(&closing, &[], &[], true).await.unwrap();
    let closed = store.conversation(ws, c).await.unwrap().unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert_eq!(closed.closed_at, Some(T0 + 50));
    let (next, _) = inbound(store, "pn-1", "wamid.t3", PHONE_A, T0 + 60).await;
    assert_ne!(next, c);
}

pub async fn bot_turns_are_stored_together_and_fail_alone<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let (a, ma) = inbound(store, "pn-1", "wamid.g1", PHONE_A, T0).await;
    let (b, mb) = inbound(store, "pn-1", "wamid.g2", PHONE_B, T0 + 1).await;
    let (c, _) = inbound(store, "pn-1", "wamid.g3", PHONE_C, T0 + 2).await;
    let reply = |to: &str, key: &str| NewOutbound {
        author: "bot".into(),
        ..text_out(n.id, to, Some(key), key)
    };
    let turn = |conversation, session: Option<BotSession>, replies: Vec<NewOutbound>| BotTurn {
        workspace_id: ws,
        conversation_id: conversation,
        session,
        events: vec![NewEvent {
            kind: "bot_input".into(),
            message_id: None,
            data: json!({}),
        }],
        replies,
        close_conversation: false,
        now: T0 + 10,
    };
    let turns = [
        // Early replies only (no session yet).
        turn(a, None, vec![reply(PHONE_A, "a:0")]),
        turn(
            a,
            Some(session(ws, a, "P-A", Some(ma), None, false)),
            vec![reply(PHONE_A, "a:1")],
        ),
        turn(
            b,
            Some(session(ws, b, "P-B", Some(mb), None, false)),
            vec![reply(PHONE_B, "b:0")],
        ),
        // Refused: B's protocol. Nothing of it may stay.
        turn(
            c,
            Some(session(ws, c, "P-B", None, None, false)),
            vec![reply(PHONE_C, "c:0")],
        ),
        // Refused: a conversation of no workspace of ours.
        turn(
            ConversationId(c.0 + 1000),
            None,
            vec![reply(PHONE_C, "x:0")],
        ),
    ];
    let results = store.save_bot_turns(&turns).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(results[0].as_ref().unwrap()[0].created);
    assert!(results[1].as_ref().unwrap()[0].created);
    assert!(results[2].as_ref().unwrap()[0].created);
    assert!(
        matches!(results[3], Err(StoreError::Conflict(_))),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(results[4], Err(StoreError::NotFound)),
        "{:?}",
        results[4]
    );
    assert_eq!(
        store.outbound_counts(ws).await.unwrap(),
        vec![(DeliveryStatus::Queued, 3)]
    );
    assert!(store.bot_session(ws, c).await.unwrap().is_none());
    assert_eq!(event_kinds(store, ws, c).await, ["message_in"]);
    assert_eq!(
        store.bot_session(ws, a).await.unwrap().unwrap().protocol,
        "P-A"
    );
    assert_eq!(
        event_kinds(store, ws, a).await,
        [
            "message_in",
            "message_out",
            "bot_input",
            "message_out",
            "bot_input"
        ]
    );
}

pub async fn enqueue_outbound_all_is_one_transaction<S: Store + Clone>(store: &S) {
    let (ws, n) = setup(store).await;
    let good = text_out(n.id, PHONE_A, Some("a-1"), "um");
    let foreign = text_out(NumberId(n.id.0 + 1000), PHONE_A, Some("a-2"), "dois");
    // One bad message: none is stored.
    let result = store
        .enqueue_outbound_all(ws, &[good.clone(), foreign], T0)
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert!(store.outbound_counts(ws).await.unwrap().is_empty());
    let both = store
        .enqueue_outbound_all(
            ws,
            &[good.clone(), text_out(n.id, PHONE_B, Some("a-3"), "três")],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert!(both.iter().all(|e| e.created));
    assert_ne!(
        both[0].message.conversation_id,
        both[1].message.conversation_id
    );
    let repeat = store
        .enqueue_outbound_all(ws, &[good], T0 + 5)
        .await
        .unwrap();
    assert!(!repeat[0].created);
    assert_eq!(repeat[0].message.id, both[0].message.id);
}

pub async fn bot_session_round_trip_and_upsert<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let (c, m1) = inbound(store, "pn-1", "wamid.b1", PHONE_A, T0).await;
    assert!(store.bot_session(ws, c).await.unwrap().is_none());
    let first = session(ws, c, "20250615000001", None, None, false);
    store.save_bot_turn(&first, &[], &[], false).await.unwrap();
    assert_eq!(store.bot_session(ws, c).await.unwrap(), Some(first));
    let second = BotSession {
        state: json!({ "step": "handoff", "queue": "financeiro", "text": "Olá, é a Maria" }),
        last_message_id: Some(m1),
        timer_due_at: Some(T0 + 60_000),
        finished: true,
        updated_at: T0 + 20,
        ..session(ws, c, "20250615000001", None, None, false)
    };
    store.save_bot_turn(&second, &[], &[], false).await.unwrap();
    assert_eq!(store.bot_session(ws, c).await.unwrap(), Some(second));
    // Clearing optional fields is an update too.
    let third = session(ws, c, "20250615000001", None, None, false);
    store.save_bot_turn(&third, &[], &[], false).await.unwrap();
    assert_eq!(store.bot_session(ws, c).await.unwrap(), Some(third));
}

pub async fn bot_session_events_are_appended_in_the_same_transaction<S: Store + Clone>(store: &S) {
    let (ws, _) = setup(store).await;
    let (c, m1) = inbound(store, "pn-1", "wamid.b1", PHONE_A, T0).await;
    let (other, _) = inbound(store, "pn-1", "wamid.b2", PHONE_B, T0 + 1).await;
    assert_ne!(c, other);
    let events = [
        NewEvent {
            kind: "bot_protocol".into(),
            message_id: None,
            data: json!({ "protocol": "P-1" }),
        },
        NewEvent {
            kind: "bot_input".into(),
            message_id: Some(m1),
            data: json!({ "choice": "2" }),
        },
        NewEvent {
            kind: "bot_transition".into(),
            message_id: None,
            data: json!({ "from": "menu", "to": "segunda_via" }),
        },
    ];
    let saved = session(ws, c, "P-1", Some(m1), None, false);
    store
        .save_bot_turn(&saved, &events, &[], false)
        .await
        .unwrap();
    let log = store.events(ws, c).await.unwrap();
    let kinds: Vec<_> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["message_in", "bot_protocol", "bot_input", "bot_transition"]
    );
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    for (stored, new) in log[1..].iter().zip(&events) {
        assert_eq!(stored.message_id, new.message_id);
        assert_eq!(stored.data, new.data);
        assert_eq!(stored.created_at, saved.updated_at);
        assert_eq!((stored.workspace_id, stored.conversation_id), (ws, c));
    }

    // Another conversation of the workspace asking for the same protocol: nothing is written.
    let clash = session(ws, other, "P-1", None, Some(T0), false);
    let result = store.save_bot_turn(&clash, &events, &[], false).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert!(store.bot_session(ws, other).await.unwrap().is_none());
    assert_eq!(event_kinds(store, ws, other).await, ["message_in"]);
    assert!(store.due_bot_timers(T0, 10).await.unwrap().is_empty());
    assert_eq!(store.bot_session(ws, c).await.unwrap(), Some(saved));
    // Its own protocol again (an update of the same conversation) is no conflict.
    store
        .save_bot_turn(
            &session(ws, c, "P-1", Some(m1), None, true),
            &[],
            &[],
            false,
        )
        .await
        .unwrap();
    assert_eq!(store.events(ws, c).await.unwrap().len(), 4);
}

pub async fn bot_sessions_are_isolated_per_workspace<S: Store + Clone>(store: &S) {
    let (a, _) = setup(store).await;
    let b = workspace(store, "outro").await;
    number(store, b, "pn-2").await;
    let (ca, _) = inbound(store, "pn-1", "wamid.a1", PHONE_A, T0).await;
    let (cb, _) = inbound(store, "pn-2", "wamid.b1", PHONE_A, T0).await;
    let in_a = session(a, ca, "P-1", None, None, false);
    store.save_bot_turn(&in_a, &[], &[], false).await.unwrap();
    // The same protocol in another workspace is fine.
    let in_b = session(b, cb, "P-1", None, None, true);
    store.save_bot_turn(&in_b, &[], &[], false).await.unwrap();
    assert_eq!(store.bot_session(a, ca).await.unwrap(), Some(in_a.clone()));
    assert_eq!(store.bot_session(b, cb).await.unwrap(), Some(in_b));
    assert!(store.bot_session(b, ca).await.unwrap().is_none());
    assert!(store.bot_session(a, cb).await.unwrap().is_none());
    // Workspace b cannot write a session (or events) into a's conversation.
    let intruder = session(b, ca, "P-9", None, Some(T0), true);
    let event = NewEvent {
        kind: "bot_input".into(),
        message_id: None,
        data: json!({}),
    };
    let result = store.save_bot_turn(&intruder, &[event], &[], false).await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(store.bot_session(a, ca).await.unwrap(), Some(in_a));
    assert_eq!(event_kinds(store, a, ca).await, ["message_in"]);
}

pub async fn due_bot_timers_are_live_and_oldest_first<S: Store + Clone>(store: &S) {
    let (a, _) = setup(store).await;
    let b = workspace(store, "outro").await;
    number(store, b, "pn-2").await;
    let mut conversations = Vec::new();
    for i in 0..5 {
        let wamid = format!("wamid.t{i}");
        conversations.push(inbound(store, "pn-1", &wamid, &phone(i), T0).await.0);
    }
    let (in_b, _) = inbound(store, "pn-2", "wamid.tb", PHONE_A, T0).await;
    let timers = [
        (Some(T0 + 300), false),
        (Some(T0 + 100), false),
        (Some(T0 + 50), true), // finished: its timer no longer matters
        (Some(T0 + 1_000), false),
        (None, false),
    ];
    for (i, (&c, (due, finished))) in conversations.iter().zip(timers).enumerate() {
        let protocol = format!("P-{i}");
        store
            .save_bot_turn(
                &session(a, c, &protocol, None, due, finished),
                &[],
                &[],
                false,
            )
            .await
            .unwrap();
    }
    store
        .save_bot_turn(
            &session(b, in_b, "P-0", None, Some(T0 + 200), false),
            &[],
            &[],
            false,
        )
        .await
        .unwrap();
    let due = |now: Millis, limit: u32| async move {
        store
            .due_bot_timers(now, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.workspace_id, s.conversation_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(due(T0 + 99, 10).await, []);
    assert_eq!(due(T0 + 100, 10).await, [(a, conversations[1])]);
    assert_eq!(
        due(T0 + 500, 10).await,
        [(a, conversations[1]), (b, in_b), (a, conversations[0])]
    );
    assert_eq!(due(T0 + 500, 2).await, [(a, conversations[1]), (b, in_b)]);
    let all = store.due_bot_timers(T0 + 5_000, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].conversation_id, conversations[3]);
    assert_eq!(all[3].protocol, "P-3");
    assert_eq!(all[3].state, json!({ "step": "menu", "attempts": 1 }));
}

pub async fn conversations_awaiting_bot_follow_inbound_messages<S: Store + Clone>(store: &S) {
    let (a, n) = setup(store).await;
    let b = workspace(store, "outro").await;
    number(store, b, "pn-2").await;
    assert_eq!(awaiting(store, 10).await, []);

    // A new conversation without a session is listed.
    let (ca, m1) = inbound(store, "pn-1", "wamid.w1", PHONE_A, T0).await;
    assert_eq!(awaiting(store, 10).await, [(a, ca)]);
    // Outbound messages do not count, neither in a new conversation nor after the last inbound.
    let out = enqueue(store, a, text_out(n.id, PHONE_B, None, "aviso"), T0 + 1).await;
    assert_ne!(out.conversation_id, ca);
    assert_eq!(awaiting(store, 10).await, [(a, ca)]);
    // A session that processed nothing yet still has the message waiting.
    store
        .save_bot_turn(&session(a, ca, "P-1", None, None, false), &[], &[], false)
        .await
        .unwrap();
    assert_eq!(awaiting(store, 10).await, [(a, ca)]);
    // Processed up to the newest inbound message: not listed.
    store
        .save_bot_turn(
            &session(a, ca, "P-1", Some(m1), None, false),
            &[],
            &[],
            false,
        )
        .await
        .unwrap();
    assert_eq!(awaiting(store, 10).await, []);
    let reply = enqueue(store, a, text_out(n.id, PHONE_A, None, "menu"), T0 + 2).await;
    assert_eq!(reply.conversation_id, ca);
    assert_eq!(awaiting(store, 10).await, []);

    // Across workspaces, oldest waiting message first: b's message came before a's new one.
    let (cb, mb) = inbound(store, "pn-2", "wamid.w2", PHONE_A, T0 + 3).await;
    let (again, m2) = inbound(store, "pn-1", "wamid.w3", PHONE_A, T0 + 4).await;
    assert_eq!(again, ca, "same open conversation");
    assert!(mb.0 < m2.0);
    assert_eq!(awaiting(store, 10).await, [(b, cb), (a, ca)]);
    assert_eq!(awaiting(store, 1).await, [(b, cb)]);
    let (cc, _) = inbound(store, "pn-1", "wamid.w4", &phone(7), T0 + 5).await;
    assert_eq!(awaiting(store, 10).await, [(b, cb), (a, ca), (a, cc)]);

    // Finished: no longer listed, even with a message the bot never processed.
    store
        .save_bot_turn(
            &session(a, ca, "P-1", Some(m1), None, true),
            &[],
            &[],
            false,
        )
        .await
        .unwrap();
    assert_eq!(awaiting(store, 10).await, [(b, cb), (a, cc)]);
    let (still, _) = inbound(store, "pn-1", "wamid.w5", PHONE_A, T0 + 6).await;
    assert_eq!(still, ca);
    assert_eq!(awaiting(store, 10).await, [(b, cb), (a, cc)]);
    store
        .save_bot_turn(
            &session(b, cb, "P-1", Some(mb), None, false),
            &[],
            &[],
            false,
        )
        .await
        .unwrap();
    assert_eq!(awaiting(store, 10).await, [(a, cc)]);
}
