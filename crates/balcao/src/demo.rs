//! `balcao demo`: the whole product on one machine. The app runs on SQLite (or the given
//! database), WhatsApp is the simulator mounted on the same listener (`/simulator` phone page,
//! `/graph` fake Graph API), and the app talks to it over real HTTP like it talks to Meta.

use crate::app;
use crate::config::{
    Config, ErpConfig, NumberConfig, SenderSettings, TemplateConfig, WhatsAppConfig,
    WorkspaceConfig,
};
use balcao_domain::WorkspaceId;
use balcao_erp_fake::{DataSet, FakeSystem, Faults, RunningFake};
use balcao_simulator::{Behaviour, DemoPerson, SimNumber, SimTemplate, Simulator, SimulatorConfig};
use balcao_store::Store;
use rand::Rng;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Folder for the SQLite database.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Use this database instead (postgres://… or sqlite:…).
    #[arg(long, env = "BALCAO_DATABASE_URL")]
    pub database_url: Option<String>,
    /// API token to accept (random when omitted).
    #[arg(long)]
    pub api_token: Option<String>,
    /// The demo management system (served over HTTP like the real one).
    #[arg(long, default_value = "sgp", value_parser = ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"])]
    pub erp: String,
    /// Subscribers in the demo management system.
    #[arg(long, default_value_t = 200)]
    pub subscribers: usize,
    /// Start the demo clock at this time (time travel for the billing ladder), e.g.
    /// 2026-11-23T09:00:00-03:00; move it with POST /api/v1/demo/clock {"advance":"PT24H"}.
    #[arg(long)]
    pub clock: Option<String>,
}

pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_DISPLAY_NUMBER: &str = "551140040000";
pub const DEMO_WABA_ID: &str = "200000000000001";

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The demo's templates, known both to the app (as approved) and to the simulator's registry.
pub fn demo_templates() -> Vec<(TemplateConfig, SimTemplate)> {
    let defs = [
        (
            "boas_vindas",
            "UTILITY",
            "Olá {{1}}! Aqui é o atendimento do Provedor Demonstração. Como podemos ajudar?",
        ),
        (
            "fatura_disponivel",
            "UTILITY",
            "Olá {{1}}, sua fatura de {{2}} com vencimento em {{3}} está disponível.",
        ),
        (
            "retomar_conversa",
            "UTILITY",
            "Olá {{1}}, temos uma resposta sobre o seu atendimento. Responda esta mensagem para continuar.",
        ),
    ];
    let ladder = crate::demo_clock::ladder_templates(
        &balcao_ladder::PlanConfig::default(),
        &crate::demo_clock::demo_ladder_config(),
    );
    defs.iter()
        .map(|(name, category, body)| {
            (
                TemplateConfig {
                    name: (*name).into(),
                    language: "pt_BR".into(),
                    category: (*category).into(),
                    status: "APPROVED".into(),
                    body: (*body).into(),
                },
                SimTemplate {
                    name: (*name).into(),
                    language: "pt_BR".into(),
                    category: (*category).into(),
                    status: "APPROVED".into(),
                    header: None,
                    body: (*body).into(),
                    footer: Some("Provedor Demonstração".into()),
                    buttons: vec![],
                },
            )
        })
        .chain(ladder)
        .collect()
}

/// The configuration of a demo (also used by the end-to-end tests and benchmarks).
pub struct DemoSetup {
    pub config: Config,
    pub api_token: String,
    pub simulator: SimulatorConfig,
}

pub fn demo_setup(
    addr: std::net::SocketAddr,
    data_dir: PathBuf,
    database_url: Option<String>,
    api_token: Option<String>,
    throughput_mps: u32,
) -> DemoSetup {
    let app_secret = random_token(32);
    let access_token = random_token(40);
    let api_token = api_token.unwrap_or_else(|| random_token(32));
    let templates = demo_templates();
    let config = Config {
        listen: addr.to_string(),
        data_dir,
        database_url,
        whatsapp: WhatsAppConfig {
            app_secret: app_secret.clone(),
            verify_token: random_token(16),
            graph_base_url: format!("http://{addr}/graph"),
            graph_version: "v23.0".into(),
        },
        secret_key: None,
        sender: SenderSettings::default(),
        payments: Default::default(),
        bot: Default::default(),
        desk: Default::default(),
        ladder: Default::default(),
        web: Default::default(),
        workspaces: vec![WorkspaceConfig {
            slug: "demo".into(),
            name: "Provedor Demonstração".into(),
            time_zone: "America/Sao_Paulo".into(),
            api_tokens: vec![api_token.clone()],
            numbers: vec![NumberConfig {
                phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
                display_phone_number: DEMO_DISPLAY_NUMBER.into(),
                waba_id: DEMO_WABA_ID.into(),
                access_token: access_token.clone(),
                throughput_mps,
                templates: templates.iter().map(|(t, _)| t.clone()).collect(),
            }],
            erp: None,
            bot: None,
        }],
    };
    let simulator = SimulatorConfig {
        app_secret,
        access_token,
        webhook_url: format!("http://{addr}/webhooks/whatsapp"),
        numbers: vec![SimNumber {
            phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
            display_phone_number: DEMO_DISPLAY_NUMBER.into(),
            waba_id: DEMO_WABA_ID.into(),
            throughput_mps,
        }],
        templates: templates.into_iter().map(|(_, s)| s).collect(),
        behaviour: Behaviour::default(),
        people: vec![],
    };
    DemoSetup {
        config,
        api_token,
        simulator,
    }
}

/// Starts a fake management system with a generated data set on a free loopback port.
pub async fn start_fake_erp(
    system: &str,
    subscribers: usize,
    seed: u64,
) -> Result<RunningFake, String> {
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("America/Sao_Paulo").map_err(|e| e.to_string())?)
        .date();
    start_fake_erp_on(system, subscribers, seed, today).await
}

/// [`start_fake_erp`] with the data set generated as of `today` (the demo clock's day).
pub async fn start_fake_erp_on(
    system: &str,
    subscribers: usize,
    seed: u64,
    today: jiff::civil::Date,
) -> Result<RunningFake, String> {
    let system: FakeSystem = system.parse().map_err(|e| format!("{e:?}"))?;
    let data = DataSet::generate(subscribers, seed, today);
    balcao_erp_fake::try_start(
        system,
        data,
        Faults::default(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .map_err(|e| format!("não foi possível iniciar o sistema de gestão de demonstração: {e}"))
}

/// Points the demo workspace at the fake and shows its subscribers on the phone page.
pub fn attach_fake_erp(setup: &mut DemoSetup, fake: &RunningFake) {
    setup.config.workspaces[0].erp = Some(ErpConfig {
        system: fake.system.as_str().to_string(),
        base_url: fake.base_url.clone(),
        auth: fake.auth.clone(),
    });
    setup.simulator.people = demo_people(&fake.control.dataset());
}

/// The first subscribers of the data set (the showcase profiles: every contract status, both
/// 9th-digit forms…) as quick picks on the phone page.
pub fn demo_people(data: &DataSet) -> Vec<DemoPerson> {
    data.subscribers
        .iter()
        .filter(|s| !s.phones.is_empty())
        .take(12)
        .map(|s| {
            let open = s.invoices.iter().filter(|i| i.status.is_unpaid()).count();
            let document = balcao_domain::br::document::Document::parse(&s.document)
                .map(|d| d.redacted())
                .unwrap_or_default();
            DemoPerson {
                name: s.name.clone(),
                wa_id: s
                    .phones
                    .iter()
                    .find(|p| p.len() >= 12)
                    .cloned()
                    .unwrap_or_else(|| s.phones[0].clone()),
                note: format!("{document} · {open} fatura(s) em aberto"),
            }
        })
        .collect()
}

/// `GET /simulator/api/subscribers`: the demo subscribers as the phone page and tests need them
/// (name, wa_id, masked document, open invoices with boleto line and Pix code), read live from the
/// demo management system so payments made meanwhile show.
pub fn subscribers_route(control: balcao_erp_fake::FakeControl) -> axum::Router {
    axum::Router::new().route(
        "/simulator/api/subscribers",
        axum::routing::get(move || {
            let control = control.clone();
            async move { axum::Json(subscribers_json(&control.dataset())) }
        }),
    )
}

pub fn subscribers_json(data: &DataSet) -> serde_json::Value {
    let subscribers: Vec<serde_json::Value> = data
        .subscribers
        .iter()
        .filter(|s| !s.phones.is_empty())
        .map(|s| {
            let document = balcao_domain::br::document::Document::parse(&s.document)
                .map(|d| d.redacted())
                .unwrap_or_default();
            let invoices: Vec<serde_json::Value> = s
                .invoices
                .iter()
                .filter(|i| i.status.is_unpaid())
                .map(|i| {
                    serde_json::json!({
                        "id": i.id,
                        "status": i.status,
                        "due_date": i.due_date.to_string(),
                        "amount_cents": i.amount_cents,
                        "amount_due_cents": i.amount_due_cents(),
                        "digitable_line": i.digitable_line,
                        "pix_code": i.pix_code,
                        "pdf_url": i.pdf_url,
                    })
                })
                .collect();
            serde_json::json!({
                "name": s.name,
                "wa_id": s.phones[0],
                "phones": s.phones,
                "document_masked": document,
                "contracts": s.contracts.iter().map(|c| serde_json::json!({"id": c.id, "plan": c.plan, "status": c.status, "online": c.online})).collect::<Vec<_>>(),
                "open_invoices": invoices,
            })
        })
        .collect();
    serde_json::json!({ "subscribers": subscribers })
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            format!(
                "não foi possível escutar em {}: {e} (use --listen para outra porta)",
                args.listen
            )
        })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut setup = demo_setup(
        addr,
        args.data_dir.clone(),
        args.database_url.clone(),
        args.api_token.clone(),
        80,
    );
    // Time travel (billing ladder): the clock starts at --clock and moves on request.
    let demo_clock = crate::demo_clock::DemoClock::default();
    if let Some(at) = &args.clock {
        demo_clock.clock.set(crate::demo_clock::parse_instant(at)?);
    }
    let today = {
        use balcao_engine::Clock;
        jiff::Timestamp::from_millisecond(demo_clock.clock.now())
            .map_err(|e| e.to_string())?
            .to_zoned(jiff::tz::TimeZone::get("America/Sao_Paulo").map_err(|e| e.to_string())?)
            .date()
    };
    let fake = start_fake_erp_on(&args.erp, args.subscribers, 2026, today).await?;
    attach_fake_erp(&mut setup, &fake);
    let store =
        app::open_store(setup.config.database_url.as_deref(), &setup.config.data_dir).await?;
    let simulator = Simulator::new(setup.simulator);
    simulator.spawn_workers();
    let demo_clock = demo_clock.with_simulator(simulator.clone());
    let options = app::Options {
        extra_routes: Some(
            simulator
                .router()
                .merge(subscribers_route(fake.control.clone()))
                .merge(crate::demo_clock::clock_route(demo_clock.clone())),
        ),
        clock: demo_clock.clock.clone(),
        ladder: true,
        ladder_config: std::sync::Arc::new(crate::demo_clock::demo_ladder_config()),
        ..Default::default()
    };
    let running = app::start(&setup.config, store.clone(), listener, options).await?;
    let _ = demo_clock.ladder.set(running.ladder.clone());
    let workspace = store
        .workspace_by_slug("demo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("workspace de demonstração não encontrado")?;
    let logins = seed_desk(store.as_ref(), workspace.id).await?;
    let database = match &setup.config.database_url {
        Some(url) if url.starts_with("postgres") => "PostgreSQL".to_string(),
        Some(url) => url.clone(),
        None => format!(
            "SQLite em {}",
            setup.config.data_dir.join("balcao.db").display()
        ),
    };
    println!();
    println!("  Balcão — demonstração rodando");
    println!();
    println!("  Telefone simulado (converse como assinante):  http://{addr}/simulator");
    println!("  Caixa de entrada da equipe:                    http://{addr}/app");
    for (email, name) in &logins {
        println!("      {email:<28} {name}");
    }
    println!("      senha de todos: {DEMO_PASSWORD}");
    println!("  API REST:                                      http://{addr}/api/v1/conversations");
    println!("  Documentação da API:                           http://{addr}/api/docs");
    println!(
        "  Token da API (Authorization: Bearer …):        {}",
        setup.api_token
    );
    println!(
        "  Saúde e métricas:                              http://{addr}/healthz  http://{addr}/metrics"
    );
    println!("  Banco de dados:                                {database}");
    println!(
        "  Relógio da demonstração (régua de cobrança):   {}  (avance: curl -X POST -H 'Content-Type: application/json' -d '{{\"advance\":\"PT24H\"}}' http://{addr}/api/v1/demo/clock)",
        crate::demo_clock::show(balcao_engine::Clock::now(demo_clock.clock.as_ref()))
    );
    println!(
        "  Sistema de gestão de demonstração ({}):        {}",
        fake.system.as_str(),
        fake.base_url
    );
    println!();
    println!(
        "  Exemplo: curl -H 'Authorization: Bearer {}' http://{addr}/api/v1/conversations",
        setup.api_token
    );
    println!("  Ctrl+C para sair.");
    println!();
    let stop = running.shutdown_signal();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    running.wait().await;
    Ok(())
}

/// Password of every demo staff member (printed by `balcao demo`).
pub const DEMO_PASSWORD: &str = "balcao-demo";

/// The demo's service desk: an admin, a supervisor and three agents, four sectors (one with
/// business hours and lunch break, one with a timed fallback) and a few quick replies. Nothing
/// is added when the workspace already has staff (a demo restarted on the same data).
pub async fn seed_desk(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> Result<Vec<(String, String)>, String> {
    use balcao_store::{
        Distribution, NewQuickReply, OptionNumber, OutOfHoursMode, QueueSettings, Role,
    };
    use balcao_web::session::{NewStaff, create_staff};
    let people = [
        ("admin@demo.balcao", "Administradora Demo", Role::Admin),
        (
            "supervisor@demo.balcao",
            "Sílvia Supervisora",
            Role::Supervisor,
        ),
        ("ana@demo.balcao", "Ana Souza", Role::Agent),
        ("bruno@demo.balcao", "Bruno Lima", Role::Agent),
        ("carla@demo.balcao", "Carla Dias", Role::Agent),
    ];
    let logins: Vec<(String, String)> = people
        .iter()
        .map(|(email, name, _)| (email.to_string(), name.to_string()))
        .collect();
    if !store
        .users(workspace)
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(logins);
    }
    let now = balcao_domain::now_millis();
    let mut ids = Vec::new();
    for (email, name, role) in people {
        let user = create_staff(
            store,
            workspace,
            NewStaff {
                email: email.into(),
                name: name.into(),
                role,
                password: DEMO_PASSWORD.into(),
                max_chats: None,
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
        ids.push(user.id);
    }
    let (ana, bruno, carla) = (ids[2], ids[3], ids[4]);
    let queue = |number: u32, name: &str| QueueSettings {
        option_number: OptionNumber::new(number).expect("1..99"),
        name: name.into(),
        active: true,
        distribution: Distribution::RoundRobin,
        hours: None,
        out_of_hours: OutOfHoursMode::Wait,
        fallback_queue_id: None,
        accept_timeout_secs: None,
    };
    let create = |settings: QueueSettings| async move {
        store
            .create_queue(workspace, &settings, now)
            .await
            .map(|q| q.id)
            .map_err(|e| e.to_string())
    };
    let financeiro = create(queue(1, "Financeiro")).await?;
    let suporte = create(queue(2, "Suporte técnico")).await?;
    let comercial = create(QueueSettings {
        // Sales keeps office hours with a lunch break; outside them the subscriber is told when
        // it opens and waits.
        hours: Some(serde_json::json!({
            "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
            "tue": [["09:00", "12:00"], ["13:00", "18:00"]],
            "wed": [["09:00", "12:00"], ["13:00", "18:00"]],
            "thu": [["09:00", "12:00"], ["13:00", "18:00"]],
            "fri": [["09:00", "12:00"], ["13:00", "18:00"]],
        })),
        ..queue(3, "Comercial")
    })
    .await?;
    let cancelamento = create(QueueSettings {
        // Nobody takes it within 10 minutes: billing does.
        fallback_queue_id: Some(financeiro),
        accept_timeout_secs: Some(600),
        ..queue(4, "Cancelamento")
    })
    .await?;
    for (queue, members) in [
        (financeiro, vec![ana, carla]),
        (suporte, vec![bruno, carla]),
        (comercial, vec![ana]),
        (cancelamento, vec![carla]),
    ] {
        store
            .set_queue_members(workspace, queue, &members)
            .await
            .map_err(|e| e.to_string())?;
    }
    let replies = [
        (
            "bom-dia",
            "Bom dia, {{primeiro_nome}}! Aqui é {{agente}}, do {{empresa}}. Como posso ajudar?",
            None,
        ),
        (
            "segunda-via",
            "{{primeiro_nome}}, a segunda via da sua fatura já foi enviada aqui na conversa. Pode pagar com o Pix copia e cola ou com o código de barras.",
            Some(financeiro),
        ),
        (
            "reiniciar",
            "Vamos tentar o básico: desligue o roteador da tomada, espere 30 segundos e ligue de novo. Depois de 2 minutos me conte se voltou.",
            Some(suporte),
        ),
        (
            "protocolo",
            "Seu protocolo de atendimento é {{protocolo}}.",
            None,
        ),
    ];
    for (shortcut, body, queue_id) in replies {
        store
            .create_quick_reply(
                workspace,
                &NewQuickReply {
                    shortcut: shortcut.into(),
                    body: body.into(),
                    queue_id,
                    attachment_url: None,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(logins)
}
