//! The desk runner against a real SQLite store, with a clock the tests move.

use super::*;
use crate::Clock;
use balcao_domain::WaId;
use balcao_domain::webhook::{InboundMessage, MessageContent, WebhookBatch};
use balcao_store::{
    BotSession, Distribution, NewEvent, NewNumber, NewQuickReply, NewUser, NewWorkspace,
    OptionNumber, QueueSettings, Role,
};
use balcao_store_sqlite::SqliteStore;
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};

struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Monday 2 March 2026, 10:00 in São Paulo.
fn monday_10h() -> Millis {
    "2026-03-02T13:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_millisecond()
}

const MARIA: &str = "5516992318222";
const JOAO: &str = "5511987650001";

struct Harness {
    store: Arc<dyn Store>,
    runner: DeskRunner,
    clock: Arc<ManualClock>,
    ws: WorkspaceId,
    next_wamid: AtomicI64,
}

async fn harness(bot_enabled: bool) -> Harness {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temporary().await.unwrap());
    store.migrate().await.unwrap();
    let ws = store
        .create_workspace(NewWorkspace {
            slug: "fibra".into(),
            name: "Fibra Norte".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .unwrap()
        .id;
    store
        .create_number(
            ws,
            NewNumber {
                phone_number_id: "pn-1".into(),
                display_phone_number: "+55 16 3333-0000".into(),
                waba_id: "waba-1".into(),
                throughput_mps: 80,
            },
        )
        .await
        .unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(monday_10h())));
    let shared: SharedClock = clock.clone();
    let bus = EventBus::default();
    let outbox = Outbox::new(store.clone(), shared.clone(), bus.clone());
    let runner = DeskRunner::new(
        store.clone(),
        outbox,
        shared,
        bus,
        DeskConfig {
            bot_enabled,
            ..DeskConfig::default()
        },
    );
    Harness {
        store,
        runner,
        clock,
        ws,
        next_wamid: AtomicI64::new(1),
    }
}

impl Harness {
    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn advance(&self, millis: Millis) {
        self.clock.0.fetch_add(millis, Ordering::SeqCst);
    }

    async fn sweep(&self) -> SweepStats {
        self.runner.sweep().await.expect("sweep")
    }

    async fn deliver(&self, from: &str, content: MessageContent, raw: Value) -> ConversationId {
        let n = self.next_wamid.fetch_add(1, Ordering::SeqCst);
        let message = InboundMessage {
            phone_number_id: "pn-1".into(),
            wamid: format!("wamid.{n}"),
            from: Some(WaId::parse(from).unwrap()),
            user_id: None,
            profile_name: Some("Maria Souza".into()),
            timestamp: self.now(),
            message_type: if matches!(content, MessageContent::Text { .. }) {
                "text".into()
            } else {
                "interactive".into()
            },
            content,
            context: None,
            referral: None,
            raw,
        };
        let report = self
            .store
            .ingest(
                &[WebhookBatch {
                    messages: vec![message],
                    ..Default::default()
                }],
                self.now(),
            )
            .await
            .unwrap()
            .remove(0);
        report.conversations[0].1
    }

    async fn text(&self, from: &str, body: &str) -> ConversationId {
        let raw = json!({ "type": "text", "text": { "body": body } });
        self.deliver(from, MessageContent::Text { body: body.into() }, raw)
            .await
    }

    async fn list_reply(&self, from: &str, id: &str, title: &str) -> ConversationId {
        let raw = json!({
            "type": "interactive",
            "interactive": { "type": "list_reply", "list_reply": { "id": id, "title": title } },
        });
        let content = MessageContent::ListReply {
            id: id.into(),
            title: title.into(),
            description: None,
        };
        self.deliver(from, content, raw).await
    }

    /// What the subscriber received so far in the conversation, in order.
    async fn sent(&self, c: ConversationId) -> Vec<String> {
        self.store
            .messages(self.ws, c, None, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.direction == Direction::Out)
            .map(|m| m.text.unwrap_or_default())
            .collect()
    }

    async fn queue(
        &self,
        option: u32,
        name: &str,
        edit: impl FnOnce(&mut QueueSettings),
    ) -> QueueId {
        let mut settings = QueueSettings {
            option_number: OptionNumber::new(option).unwrap(),
            name: name.into(),
            active: true,
            distribution: Distribution::RoundRobin,
            hours: None,
            out_of_hours: OutOfHoursMode::Wait,
            fallback_queue_id: None,
            accept_timeout_secs: None,
        };
        edit(&mut settings);
        self.store
            .create_queue(self.ws, &settings, self.now())
            .await
            .unwrap()
            .id
    }

    /// An agent of `queues`, online now.
    async fn agent(&self, name: &str, queues: &[QueueId]) -> User {
        let user = self
            .store
            .create_user(
                self.ws,
                NewUser {
                    email: format!("{name}@fibra.com"),
                    name: name.into(),
                    role: Role::Agent,
                    password_hash: "x".into(),
                    max_chats: 5,
                    hours: None,
                },
                self.now(),
            )
            .await
            .unwrap();
        for q in queues {
            let mut members: Vec<UserId> = self
                .store
                .queue_members(self.ws, *q)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect();
            members.push(user.id);
            self.store
                .set_queue_members(self.ws, *q, &members)
                .await
                .unwrap();
        }
        self.beat(&user).await;
        user
    }

    async fn beat(&self, user: &User) {
        self.runner
            .desk()
            .heartbeat(self.ws, user.id)
            .await
            .unwrap();
    }

    async fn desk(&self, c: ConversationId) -> DeskConversation {
        self.store
            .desk_conversation(self.ws, c)
            .await
            .unwrap()
            .expect("desk row")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_menu_and_the_queue_give_the_protocol_on_request() {
    let h = harness(false).await;
    let financeiro = h.queue(1, "Financeiro", |_| {}).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    let before = h.sent(c).await.len();
    h.text(MARIA, "qual o número do protocolo?").await;
    h.sweep().await;
    let sent = h.sent(c).await;
    assert_eq!(sent.len(), before + 1, "{sent:?}");
    assert!(
        sent[before].starts_with("Seu protocolo de atendimento é *"),
        "{}",
        sent[before]
    );
    // Not a menu failure: the menu still waits for a choice.
    assert_eq!(h.desk(c).await.menu_failures, 0);
    assert_eq!(h.desk(c).await.state, DeskState::Menu);
    // Waiting in the queue (nobody online), it is answered too.
    h.text(MARIA, "1").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.queue_id, Some(financeiro));
    let waiting = h.sent(c).await.len();
    h.text(MARIA, "me passa o protocolo").await;
    h.sweep().await;
    let sent = h.sent(c).await;
    assert_eq!(sent.len(), waiting + 1, "{sent:?}");
    assert!(sent[waiting].starts_with("Seu protocolo de atendimento é *"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_bot_the_menu_leads_to_a_queue_and_an_online_agent() {
    let h = harness(false).await;
    let financeiro = h.queue(1, "Financeiro", |_| {}).await;
    h.queue(2, "Suporte técnico", |_| {}).await;
    let ana = h.agent("Ana", &[financeiro]).await;

    let c = h.text(MARIA, "oi").await;
    let stats = h.sweep().await;
    assert_eq!(stats.entered, 1);
    assert_eq!(h.desk(c).await.state, DeskState::Menu);
    let sent = h.sent(c).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    // Anatel RGC art. 9: the protocol in the first reply.
    assert!(
        sent[0]
            .starts_with("Olá, Maria! Você está no atendimento da Fibra Norte. Seu protocolo é "),
        "{}",
        sent[0]
    );
    assert!(sent[0].ends_with(&format!("{:07}.", c.0)), "{}", sent[0]);
    assert!(
        sent[1].ends_with("1 - Financeiro\n2 - Suporte técnico"),
        "{}",
        sent[1]
    );
    assert!(sent[2].contains("toque"), "the list message: {}", sent[2]);
    // The greeting that opened the conversation is not read as a menu answer, and nothing is
    // sent twice.
    h.sweep().await;
    assert_eq!(h.sent(c).await.len(), 3);
    assert_eq!(h.desk(c).await.menu_failures, 0);

    // The subscriber taps the list row: queued, told to wait, and given to Ana at once.
    h.list_reply(MARIA, &format!("queue:{financeiro}"), "1 - Financeiro")
        .await;
    let stats = h.sweep().await;
    assert_eq!(stats.assigned, 1);
    let desk = h.desk(c).await;
    assert_eq!(desk.state, DeskState::Assigned);
    assert_eq!(desk.agent_id, Some(ana.id));
    let sent = h.sent(c).await;
    assert_eq!(
        sent[3..],
        [
            "Certo! Você está na fila do setor Financeiro. Aguarde, em instantes alguém vai te atender.",
            "Olá, Maria! Aqui é Ana, do setor Financeiro. Como posso ajudar?",
        ]
    );
    // New messages now wait, unread, for Ana.
    h.text(MARIA, "minha fatura veio errada").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.unread, 1);
    assert_eq!(h.sent(c).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_third_invalid_answer_goes_to_the_first_queue() {
    let h = harness(false).await;
    h.queue(2, "Suporte", |_| {}).await;
    let comercial = h.queue(1, "Comercial", |_| {}).await;
    let c = h.text(JOAO, "boa tarde").await;
    h.sweep().await;
    h.text(JOAO, "quero uma pizza").await;
    h.sweep().await;
    let desk = h.desk(c).await;
    assert_eq!((desk.state, desk.menu_failures), (DeskState::Menu, 1));
    let sent = h.sent(c).await;
    assert_eq!(
        sent[3],
        "Não entendi sua escolha. Responda só com o número de uma das opções, por favor."
    );
    assert!(
        sent[4].ends_with("1 - Comercial\n2 - Suporte"),
        "the menu again"
    );
    h.text(JOAO, "9").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.menu_failures, 2);
    h.text(JOAO, "hein?").await;
    h.sweep().await;
    let desk = h.desk(c).await;
    assert_eq!(desk.state, DeskState::Queued);
    assert_eq!(desk.queue_id, Some(comercial), "never trapped in the menu");
    assert!(h.sent(c).await.last().unwrap().contains("setor Comercial"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_handoff_enters_the_queue_of_its_sector_with_the_summary() {
    let h = harness(true).await;
    let financeiro = h.queue(1, "Financeiro", |_| {}).await;
    let c = h.text(MARIA, "quero falar com o financeiro").await;
    let last = h.store.messages(h.ws, c, None, 10).await.unwrap()[0].id;
    // Nothing for the desk while the bot is in charge.
    assert_eq!(h.sweep().await.entered, 0);
    let session = BotSession {
        workspace_id: h.ws,
        conversation_id: c,
        protocol: "202603020000001".into(),
        state: json!({}),
        last_message_id: Some(last),
        timer_due_at: None,
        finished: true,
        updated_at: h.now(),
    };
    let handoff = NewEvent {
        kind: "handoff".into(),
        message_id: Some(last),
        data: json!({ "sector": "billing", "summary": "Cliente identificado; 2 faturas em aberto." }),
    };
    h.store
        .save_bot_turn(&session, &[handoff], &[], false)
        .await
        .unwrap();
    let stats = h.sweep().await;
    assert_eq!(stats.entered, 1);
    let desk = h.desk(c).await;
    assert_eq!(desk.state, DeskState::Queued);
    assert_eq!(desk.queue_id, Some(financeiro));
    assert_eq!(
        desk.summary.as_deref(),
        Some("Cliente identificado; 2 faturas em aberto.")
    );
    assert_eq!(desk.last_seen_message_id, Some(last));
    // No welcome and no menu: the bot already talked; only "aguarde".
    assert_eq!(
        h.sent(c).await,
        [
            "Certo! Você está na fila do setor Financeiro. Aguarde, em instantes alguém vai te atender."
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_hours_is_said_once_then_the_queue_opens_after_lunch() {
    let h = harness(false).await;
    let hours = json!({ "mon": [["08:00", "12:00"], ["13:00", "18:00"]] });
    let suporte = h
        .queue(1, "Suporte", |q| q.hours = Some(hours.clone()))
        .await;
    // 12:30: lunch.
    h.advance(150 * 60_000);
    let ana = h.agent("Ana", &[suporte]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "1").await;
    let stats = h.sweep().await;
    assert_eq!((stats.out_of_hours, stats.assigned), (1, 0));
    let sent = h.sent(c).await;
    assert_eq!(
        sent.last().unwrap(),
        "Estamos fora do horário de atendimento agora. Voltamos hoje às 13:00 e vamos responder sua mensagem assim que possível."
    );
    let before = sent.len();
    h.advance(60_000);
    h.beat(&ana).await;
    h.sweep().await;
    h.text(MARIA, "alguém?").await;
    h.sweep().await;
    assert_eq!(h.sent(c).await.len(), before, "once per closed period");
    // 13:00: open again.
    h.advance(29 * 60_000);
    h.beat(&ana).await;
    let stats = h.sweep().await;
    assert_eq!(stats.assigned, 1);
    assert_eq!(h.desk(c).await.agent_id, Some(ana.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_goes_offline_gives_back_unanswered_chats() {
    let h = harness(false).await;
    let suporte = h.queue(1, "Suporte", |_| {}).await;
    let ana = h.agent("Ana", &[suporte]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "1").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.agent_id, Some(ana.id));
    let bruno = h.agent("Bruno", &[suporte]).await;
    // Ana's inbox closed 45 s ago; Bruno's is open.
    h.advance(45_000);
    h.beat(&bruno).await;
    let stats = h.sweep().await;
    assert_eq!((stats.returned, stats.assigned), (1, 1));
    let desk = h.desk(c).await;
    assert_eq!(desk.agent_id, Some(bruno.id));
    let kinds: Vec<String> = h
        .store
        .events(h.ws, c)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| k.starts_with("desk_"))
        .collect();
    assert_eq!(
        kinds,
        [
            "desk_menu",
            "desk_queued",
            "desk_assigned",
            "desk_returned",
            "desk_assigned"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unaccepted_transfer_falls_back_and_the_subscriber_is_told() {
    let h = harness(false).await;
    let financeiro = h.queue(1, "Financeiro", |_| {}).await;
    let suporte = h
        .queue(2, "Suporte", |q| {
            q.accept_timeout_secs = Some(120);
            q.fallback_queue_id = Some(financeiro);
        })
        .await;
    let ana = h.agent("Ana", &[suporte]).await;
    let bruno = h.agent("Bruno", &[financeiro]).await;
    let carla = h.agent("Carla", &[]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "2").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.agent_id, Some(ana.id));
    let desk = h.runner.desk();
    desk.transfer(
        h.ws,
        ana.id,
        c,
        TransferTarget::Agent(carla.id),
        Some("Cliente pediu para falar com a Carla"),
    )
    .await
    .unwrap();
    // Carla is online but does not accept within 2 minutes.
    for _ in 0..5 {
        h.advance(30_000);
        for u in [&ana, &bruno, &carla] {
            h.beat(u).await;
        }
        h.sweep().await;
    }
    let moved = h.desk(c).await;
    assert_eq!(moved.queue_id, Some(financeiro));
    assert_eq!(moved.agent_id, Some(bruno.id), "and Financeiro serves it");
    let sent = h.sent(c).await;
    assert!(
        sent.iter().any(|t| t
            == "Para você não esperar mais, sua conversa foi passada para o setor Financeiro. Já já alguém te responde."),
        "{sent:?}"
    );
    assert_eq!(
        h.store.notes(h.ws, c).await.unwrap()[0].body,
        "Cliente pediu para falar com a Carla"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_thanks_survey_comment_grace_and_a_new_conversation() {
    let h = harness(false).await;
    let suporte = h.queue(1, "Suporte", |_| {}).await;
    let ana = h.agent("Ana", &[suporte]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "1").await;
    h.sweep().await;
    let desk = h.runner.desk();
    let reply = desk
        .reply(
            h.ws,
            &ana,
            c,
            AgentReply {
                content: ReplyContent::Text {
                    body: "Reiniciei sua conexão, pode testar?".into(),
                    attachment_url: None,
                },
                idempotency_key: Some("r1".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        reply.text.as_deref(),
        Some("Reiniciei sua conexão, pode testar?")
    );
    assert!(h.desk(c).await.first_response_at.is_some());
    let before = h.sent(c).await.len();
    desk.close(h.ws, ana.id, c, "resolved").await.unwrap();
    h.sweep().await;
    let sent = h.sent(c).await;
    assert_eq!(sent.len(), before + 2);
    assert!(
        sent[before]
            .starts_with("Atendimento encerrado. Obrigado pelo contato, Maria! Protocolo: 2026030")
    );
    assert_eq!(
        sent[before + 1],
        "Como você avalia este atendimento? Escolha uma nota de 1 a 5."
    );
    assert_eq!(h.desk(c).await.csat_state, CsatState::Asked);

    h.list_reply(MARIA, "csat:5", "5 - Excelente").await;
    h.sweep().await;
    assert_eq!(h.desk(c).await.csat_state, CsatState::Comment);
    assert_eq!(
        h.sent(c).await.last().unwrap(),
        "Obrigado pela nota! Se quiser, escreva um comentário sobre o atendimento."
    );
    h.text(MARIA, "Muito rápido, obrigada").await;
    h.sweep().await;
    let rating = h.store.csat_rating(h.ws, c).await.unwrap().unwrap();
    assert_eq!(
        (rating.rating, rating.agent_id, rating.queue_id),
        (5, Some(ana.id), Some(suporte))
    );
    assert_eq!(rating.comment.as_deref(), Some("Muito rápido, obrigada"));
    assert_eq!(
        h.sent(c).await.last().unwrap(),
        "Obrigado pela sua avaliação!"
    );
    assert_eq!(
        h.desk(c).await.state,
        DeskState::Closed,
        "the survey does not reopen"
    );

    // After the 10-minute grace the conversation closes; the next message starts a new one.
    h.advance(600_000);
    h.beat(&ana).await;
    assert_eq!(h.sweep().await.finished, 1);
    let row = h.store.conversation(h.ws, c).await.unwrap().unwrap();
    assert_eq!(row.status, ConversationStatus::Closed);
    let next = h.text(MARIA, "oi de novo").await;
    assert_ne!(next, c);
    h.sweep().await;
    assert_eq!(h.desk(next).await.state, DeskState::Menu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_the_grace_reopens_with_the_same_agent() {
    let h = harness(false).await;
    let suporte = h.queue(1, "Suporte", |_| {}).await;
    let ana = h.agent("Ana", &[suporte]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "1").await;
    h.sweep().await;
    h.runner
        .desk()
        .close(h.ws, ana.id, c, "resolved")
        .await
        .unwrap();
    h.sweep().await;
    assert_eq!(h.desk(c).await.csat_state, CsatState::Asked);
    h.advance(60_000);
    h.beat(&ana).await;
    h.text(MARIA, "voltou a cair!").await;
    h.sweep().await;
    let desk = h.desk(c).await;
    assert_eq!(desk.state, DeskState::Assigned);
    assert_eq!(desk.agent_id, Some(ana.id));
    assert!(h.store.csat_rating(h.ws, c).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_use_quick_replies_and_belong_to_the_agent() {
    let h = harness(false).await;
    let financeiro = h.queue(1, "Financeiro", |_| {}).await;
    let ana = h.agent("Ana", &[financeiro]).await;
    let bruno = h.agent("Bruno", &[financeiro]).await;
    let c = h.text(MARIA, "oi").await;
    h.sweep().await;
    h.text(MARIA, "financeiro").await;
    h.sweep().await;
    let owner = h.desk(c).await.agent_id.unwrap();
    let (owner, other) = if owner == ana.id {
        (ana, bruno)
    } else {
        (bruno, ana)
    };
    let quick = h
        .store
        .create_quick_reply(
            h.ws,
            &NewQuickReply {
                shortcut: "boleto".into(),
                body: "{{primeiro_nome}}, segue a segunda via. Protocolo {{protocolo}}.".into(),
                queue_id: Some(financeiro),
                attachment_url: Some("https://fibra.example/boleto.pdf".into()),
            },
        )
        .await
        .unwrap();
    let desk = h.runner.desk();
    let sent = desk
        .reply(
            h.ws,
            &owner,
            c,
            AgentReply {
                content: ReplyContent::QuickReply { id: quick.id },
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.message_type, "document");
    let text = sent.text.unwrap_or_default();
    assert!(
        text.starts_with("Maria, segue a segunda via. Protocolo 2026030"),
        "{text}"
    );
    let refused = desk
        .reply(
            h.ws,
            &other,
            c,
            AgentReply {
                content: ReplyContent::Text {
                    body: "oi".into(),
                    attachment_url: None,
                },
                idempotency_key: None,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(DeskError::Conflict(_))),
        "{refused:?}"
    );
    // A day later the window is closed: only a template may go.
    h.advance(25 * 3_600_000);
    let late = desk
        .reply(
            h.ws,
            &owner,
            c,
            AgentReply {
                content: ReplyContent::Text {
                    body: "ainda aí?".into(),
                    attachment_url: None,
                },
                idempotency_key: None,
            },
        )
        .await;
    match late {
        Err(err @ DeskError::WindowClosed { .. }) => {
            assert_eq!(
                err.to_string(),
                "a janela de 24 horas está fechada: envie um modelo aprovado"
            )
        }
        other => panic!("expected the window to be closed: {other:?}"),
    }
}
