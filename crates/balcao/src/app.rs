//! Wiring: opens the store, provisions what the configuration declares, starts the engine (ingest
//! worker, one sender per number) and the HTTP server. Used by `serve`, `demo`, the benchmarks and
//! the end-to-end tests, so they all run the same code.

use crate::config::Config;
use axum::Router;
use balcao_domain::NumberId;
use balcao_engine::bot::{BotConfig, BotProfile, BotRunner};
use balcao_engine::bus::EventBus;
use balcao_engine::desk::{DeskConfig, DeskRunner};
use balcao_engine::erp::ErpDirectory;
use balcao_engine::ingest::{IngestConfig, Ingestor};
use balcao_engine::outbox::Outbox;
use balcao_engine::payments::{PaymentPoller, PaymentSyncConfig};
use balcao_engine::secrets::MasterKey;
use balcao_engine::sender::{NumberSender, SenderConfig};
use balcao_engine::{SharedClock, SystemClock};
use balcao_store::{NewNumber, NewWorkspace, Store, StoreError, Template};
use balcao_whatsapp::client::GraphClient;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Opens the database named by `database_url`, or SQLite in `data_dir`, and migrates it.
pub async fn open_store(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, String> {
    let store: Arc<dyn Store> = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(
                balcao_store_postgres::PgStore::connect(url)
                    .await
                    .map_err(|e| format!("não foi possível conectar ao PostgreSQL: {e}"))?,
            )
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Arc::new(
                balcao_store_sqlite::SqliteStore::open(Path::new(path))
                    .await
                    .map_err(|e| format!("não foi possível abrir o SQLite {path}: {e}"))?,
            )
        }
        Some(other) => {
            return Err(format!(
                "database_url não reconhecida (use postgres:// ou sqlite:): {other}"
            ));
        }
        None => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("não foi possível criar {}: {e}", data_dir.display()))?;
            let path = data_dir.join("balcao.db");
            Arc::new(
                balcao_store_sqlite::SqliteStore::open(&path)
                    .await
                    .map_err(|e| {
                        format!("não foi possível abrir o SQLite {}: {e}", path.display())
                    })?,
            )
        }
    };
    store
        .migrate()
        .await
        .map_err(|e| format!("falha na migração do banco: {e}"))?;
    Ok(store)
}

/// The master key sealing stored credentials: from the configuration, or `secret.key` in the
/// data folder (created on first start).
pub fn master_key(config: &Config) -> Result<Arc<MasterKey>, String> {
    let key = match &config.secret_key {
        Some(hex) => MasterKey::from_hex(hex),
        None => {
            if config
                .database_url
                .as_deref()
                .is_some_and(|u| u.starts_with("postgres"))
            {
                tracing::warn!(
                    "no secret_key in the configuration: using secret.key in the data folder; every node of a cluster needs the same key"
                );
            }
            MasterKey::load_or_create(&config.data_dir)
        }
    };
    key.map(Arc::new).map_err(|e| e.to_string())
}

/// Creates the workspaces, numbers, API tokens and templates of the configuration that do not
/// exist yet, and sets the management systems it names. Idempotent: running it on every start is
/// safe.
pub async fn provision(
    store: &dyn Store,
    config: &Config,
    erp: &ErpDirectory,
) -> Result<(), String> {
    for ws_config in &config.workspaces {
        let ws = match store
            .workspace_by_slug(&ws_config.slug)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(ws) => ws,
            None => store
                .create_workspace(NewWorkspace {
                    slug: ws_config.slug.clone(),
                    name: ws_config.name.clone(),
                    time_zone: ws_config.time_zone.clone(),
                })
                .await
                .map_err(|e| e.to_string())?,
        };
        for token in &ws_config.api_tokens {
            let hash = balcao_web::auth::token_sha256(token);
            match store
                .workspace_for_token(&hash)
                .await
                .map_err(|e| e.to_string())?
            {
                Some(owner) if owner == ws.id => {}
                Some(_) => {
                    return Err(format!(
                        "um token de API do workspace {} já pertence a outro workspace",
                        ws.slug
                    ));
                }
                None => store
                    .create_api_token(ws.id, "config", &hash)
                    .await
                    .map_err(|e| e.to_string())?,
            }
        }
        if let Some(erp_config) = &ws_config.erp {
            erp.configure(
                ws.id,
                &erp_config.system,
                &erp_config.base_url,
                &erp_config.auth,
            )
            .await
            .map_err(|e| format!("sistema de gestão do workspace {}: {e}", ws.slug))?;
        }
        let existing = store.numbers(ws.id).await.map_err(|e| e.to_string())?;
        for n in &ws_config.numbers {
            let number = match existing
                .iter()
                .find(|e| e.phone_number_id == n.phone_number_id)
            {
                Some(number) => number.clone(),
                None => match store
                    .create_number(
                        ws.id,
                        NewNumber {
                            phone_number_id: n.phone_number_id.clone(),
                            display_phone_number: n.display_phone_number.clone(),
                            waba_id: n.waba_id.clone(),
                            throughput_mps: n.throughput_mps,
                        },
                    )
                    .await
                {
                    Ok(number) => number,
                    Err(StoreError::Conflict(_)) => {
                        return Err(format!(
                            "o phone_number_id {} já está ligado a outro workspace",
                            n.phone_number_id
                        ));
                    }
                    Err(e) => return Err(e.to_string()),
                },
            };
            for t in &n.templates {
                store
                    .upsert_template(
                        ws.id,
                        Template {
                            number_id: number.id,
                            name: t.name.clone(),
                            language: t.language.clone(),
                            category: t.category.clone(),
                            status: t.status.clone(),
                            body_params: count_placeholders(&t.body),
                            body: t.body.clone(),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// The bot settings of the workspaces whose configuration names texts or intent files.
pub async fn bot_profiles(
    store: &dyn Store,
    config: &Config,
) -> Result<HashMap<balcao_domain::WorkspaceId, BotProfile>, String> {
    let mut out = HashMap::new();
    for ws_config in &config.workspaces {
        let Some(files) = &ws_config.bot else {
            continue;
        };
        let ws = store
            .workspace_by_slug(&ws_config.slug)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("workspace {} ausente", ws_config.slug))?;
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path)
                .map_err(|e| format!("não foi possível ler {}: {e}", path.display()))
        };
        let mut profile = BotProfile::default();
        if let Some(path) = &files.texts {
            let texts = balcao_bot::Texts::from_json(&read(path)?)
                .map_err(|e| format!("textos do bot em {}: {e}", path.display()))?;
            profile.texts = Arc::new(texts);
        }
        if let Some(path) = &files.intents {
            let matcher_config = balcao_intent::MatcherConfig::from_json(&read(path)?)
                .map_err(|e| format!("intenções em {}: {e}", path.display()))?;
            let matcher = balcao_intent::Matcher::new(matcher_config)
                .map_err(|e| format!("intenções em {}: {e}", path.display()))?;
            profile.matcher = Arc::new(matcher);
        }
        out.insert(ws.id, profile);
    }
    Ok(out)
}

/// Number of distinct `{{n}}` placeholders in a template body.
pub fn count_placeholders(body: &str) -> u32 {
    let mut seen = std::collections::BTreeSet::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        if let Some(end) = rest.find("}}") {
            if let Ok(n) = rest[..end].trim().parse::<u32>() {
                seen.insert(n);
            }
            rest = &rest[end + 2..];
        } else {
            break;
        }
    }
    seen.len() as u32
}

/// The process-wide Prometheus recorder (installed once; tests start several apps).
pub fn metrics_renderer() -> balcao_web::MetricsRenderer {
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok().map(|_| handle)
    });
    match handle.clone() {
        Some(h) => Arc::new(move || h.render()),
        None => Arc::new(String::new),
    }
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(256)
        .build()
        .expect("HTTP client")
}

pub struct Options {
    pub sender: SenderConfig,
    pub bot: BotConfig,
    /// Run the service desk's runner (menu, queues, assignment, timers); off: the channel and
    /// the bot alone.
    pub desk: bool,
    /// Run the billing ladder (proactive reminders): off unless configured, since it writes to
    /// subscribers on its own.
    pub ladder: bool,
    /// The ladder's settings (the demo sets its business identity).
    pub ladder_config: Arc<balcao_engine::ladder::LadderConfig>,
    pub payments: PaymentSyncConfig,
    pub ingest: IngestConfig,
    pub clock: SharedClock,
    /// Extra routes served on the same listener (the simulator in the demo).
    pub extra_routes: Option<Router>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sender: SenderConfig::default(),
            bot: BotConfig::default(),
            desk: true,
            ladder: false,
            ladder_config: Default::default(),
            payments: PaymentSyncConfig::default(),
            ingest: IngestConfig::default(),
            clock: Arc::new(SystemClock),
            extra_routes: None,
        }
    }
}

pub fn payment_sync_config(config: &Config) -> PaymentSyncConfig {
    PaymentSyncConfig {
        interval: Duration::from_secs(config.payments.interval_seconds.max(5)),
        overlap: Duration::from_secs(config.payments.overlap_hours * 3600),
        ..PaymentSyncConfig::default()
    }
}

pub fn bot_config(config: &Config) -> BotConfig {
    BotConfig {
        enabled: config.bot.enabled,
        workers: config.bot.workers.max(1),
        ..BotConfig::default()
    }
}

pub fn sender_config(config: &Config) -> SenderConfig {
    SenderConfig {
        lease_millis: config.sender.lease_seconds as i64 * 1000,
        resend_after_millis: config.sender.resend_after_seconds as i64 * 1000,
        max_in_flight: config.sender.max_in_flight.max(1),
        max_attempts: config.sender.max_attempts.max(1),
        ..SenderConfig::default()
    }
}

pub struct RunningApp {
    pub addr: std::net::SocketAddr,
    pub store: Arc<dyn Store>,
    pub outbox: Outbox,
    pub bus: EventBus,
    pub erp: ErpDirectory,
    /// The billing ladder's runner (runs on demand too: the demo clock's advance).
    pub ladder: balcao_engine::ladder::LadderRunner,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningApp {
    /// Stops accepting requests, lets senders finish their in-flight calls, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    pub fn shutdown_signal(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts everything on an already bound listener.
pub async fn start(
    config: &Config,
    store: Arc<dyn Store>,
    listener: TcpListener,
    options: Options,
) -> Result<RunningApp, String> {
    let clock = options.clock.clone();
    let erp = ErpDirectory::new(store.clone(), master_key(config)?, clock.clone());
    provision(store.as_ref(), config, &erp).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let bus = EventBus::default();
    let mut ingest = options.ingest.clone();
    if store.backend() == "postgres" {
        // PostgreSQL takes concurrent writers; SQLite has one writer anyway.
        ingest.workers = ingest.workers.max(4);
    }
    let ingestor = Ingestor::spawn(store.clone(), clock.clone(), bus.clone(), ingest);
    let outbox = Outbox::new(store.clone(), clock.clone(), bus.clone());
    let graph = GraphClient::new(
        http_client(),
        config.whatsapp.graph_base_url.clone(),
        config.whatsapp.graph_version.clone(),
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    // Cross-node live updates (PostgreSQL only): see bus_bridge.rs.
    tasks.extend(crate::bus_bridge::spawn(
        config.database_url.as_deref(),
        &bus,
        shutdown_rx.clone(),
    ));

    let mut tokens: HashMap<String, String> = HashMap::new();
    for ws in &config.workspaces {
        for n in &ws.numbers {
            tokens.insert(n.phone_number_id.clone(), n.access_token.clone());
        }
    }
    let mut access_tokens: HashMap<NumberId, String> = HashMap::new();
    for number in store.all_numbers().await.map_err(|e| e.to_string())? {
        let Some(token) = tokens.get(&number.phone_number_id) else {
            tracing::warn!(phone_number_id = %number.phone_number_id, "number without an access token in the configuration: its outbox is not sent");
            continue;
        };
        access_tokens.insert(number.id, token.clone());
        let sender = NumberSender {
            store: store.clone(),
            client: graph.clone(),
            number,
            access_token: token.clone(),
            clock: clock.clone(),
            outbox: outbox.clone(),
            config: options.sender.clone(),
        };
        tasks.push(tokio::spawn(sender.run(shutdown_rx.clone())));
    }

    let poller = PaymentPoller {
        store: store.clone(),
        erp: erp.clone(),
        clock: clock.clone(),
        bus: bus.clone(),
        config: options.payments.clone(),
    };
    tasks.push(tokio::spawn(poller.run(shutdown_rx.clone())));

    // Billing ladder (issue 6): syncs receivables, plans and sends reminders every 15 minutes,
    // thanks/restores on payments, honours "SAIR"/"PARAR". Default settings until the config has them.
    let ladder = balcao_engine::ladder::LadderRunner {
        store: store.clone(),
        erp: erp.clone(),
        outbox: outbox.clone(),
        clock: clock.clone(),
        bus: bus.clone(),
        config: if options.bot.enabled {
            // The bot confirms an opt-out itself: one answer to "SAIR", not two.
            Arc::new(balcao_engine::ladder::LadderConfig {
                confirm_opt_out: false,
                ..(*options.ladder_config).clone()
            })
        } else {
            options.ladder_config.clone()
        },
        documents: Default::default(),
    };
    if options.ladder {
        tasks.push(tokio::spawn(ladder.clone().run(shutdown_rx.clone())));
    }

    let bot = BotRunner::new(
        store.clone(),
        erp.clone(),
        outbox.clone(),
        clock.clone(),
        bus.clone(),
        options.bot.clone(),
        bot_profiles(store.as_ref(), config).await?,
    );
    if options.bot.enabled {
        tasks.push(tokio::spawn(bot.run(shutdown_rx.clone())));
    }

    let state = balcao_web::AppState {
        store: store.clone(),
        clock,
        bus: bus.clone(),
        ingestor,
        outbox: outbox.clone(),
        graph,
        access_tokens: Arc::new(access_tokens),
        app_secret: Arc::new(config.whatsapp.app_secret.as_bytes().to_vec()),
        verify_token: Arc::new(config.whatsapp.verify_token.clone()),
        metrics: Some(metrics_renderer()),
        auth_cache: Default::default(),
        erp: erp.clone(),
    };
    let desk_runner = DeskRunner::new(
        store.clone(),
        outbox.clone(),
        state.clock.clone(),
        bus.clone(),
        DeskConfig {
            bot_enabled: options.bot.enabled,
            ..Default::default()
        },
    );
    let desk = desk_runner.desk();
    if options.desk {
        tasks.push(tokio::spawn(desk_runner.run(shutdown_rx.clone())));
    }
    let desk_state = balcao_web::DeskState {
        app: state.clone(),
        desk,
        config: balcao_web::DeskWebConfig {
            secure_cookies: config.web.secure_cookies,
            trust_proxy: config.web.trust_proxy,
        },
    };
    let mut router = balcao_web::router(state).merge(balcao_web::desk_router(desk_state));
    if let Some(extra) = options.extra_routes {
        router = router.merge(extra);
    }
    let mut server_shutdown = shutdown_rx.clone();
    tasks.push(tokio::spawn(async move {
        // The client address feeds the login throttle.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = server_shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = %err, "HTTP server stopped with an error");
        }
    }));
    Ok(RunningApp {
        addr,
        store,
        outbox,
        bus,
        erp,
        ladder,
        shutdown,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::count_placeholders;

    #[test]
    fn counts_distinct_placeholders() {
        assert_eq!(
            count_placeholders("Olá {{1}}, sua fatura de {{2}} vence {{3}}. {{1}}"),
            3
        );
        assert_eq!(count_placeholders("sem variáveis"), 0);
        assert_eq!(count_placeholders("quebrado {{1"), 0);
    }
}
