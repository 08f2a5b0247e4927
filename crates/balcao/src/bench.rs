//! `balcao bench …`: rerunnable benchmarks. The server under test runs as a child process
//! (`balcao serve`), so its peak RSS is its own and the load generator shares nothing with it
//! but loopback HTTP — as in production.

use crate::config::{Config, SenderSettings};
use crate::demo;
use balcao_domain::WaId;
use balcao_domain::outbound::{
    OutboundContent, TemplateComponent, TemplateComponentKind, TemplateMessage, TemplateParameter,
};
use balcao_store::NewOutbound;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Durable webhook ingestion: max throughput (batches of 1 and 50), latency at a fixed rate,
    /// server RSS, and the raw SQLite insert ceiling.
    Webhooks(WebhookBenchArgs),
    /// Sender pacing against the simulator at a configured throughput.
    Sender(SenderBenchArgs),
    /// Management-system adapters against their fakes; payment sync over a large data set.
    Erp(crate::bench_erp::ErpBenchArgs),
    /// The bot end to end: subscriber message → reply on the phone, and its own time per message.
    Bot(crate::bench_bot::BotBenchArgs),
    /// Intent accuracy on the held-out corpus, with confusions and time per message.
    Intents(crate::bench_bot::IntentBenchArgs),
    /// The live inbox: agents on SSE while conversations arrive; commit → stream latency.
    Desk(crate::bench_desk::DeskBenchArgs),
    /// Round-robin fairness and no assignments to away or offline agents.
    DeskFairness(crate::bench_desk::FairnessBenchArgs),
    /// The billing ladder: planning a daily run over a large snapshot (time, peak memory) and,
    /// with --send-rate, sending it (pace, duplicates, legal hours).
    Ladder(crate::bench_ladder::LadderBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct WebhookBenchArgs {
    /// `sqlite` or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent connections for the throughput runs.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Messages per second for the latency run (batches of 1).
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Rows for the raw SQLite insert ceiling.
    #[arg(long, default_value_t = 20_000)]
    pub raw_rows: u32,
}

#[derive(clap::Args, Debug)]
pub struct SenderBenchArgs {
    /// `sqlite` or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Configured throughput of the number (messages/s).
    #[arg(long, default_value_t = 80)]
    pub rate: u32,
    /// Messages to send (default: 30 s worth at the rate).
    #[arg(long)]
    pub messages: Option<u64>,
}

pub async fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Webhooks(args) => webhooks(args).await,
        BenchCommand::Sender(args) => sender(args).await,
        BenchCommand::Erp(args) => crate::bench_erp::run(args).await,
        BenchCommand::Bot(args) => crate::bench_bot::bot(args).await,
        BenchCommand::Intents(args) => crate::bench_bot::intents(args).await,
        BenchCommand::Desk(args) => crate::bench_desk::desk(args).await,
        BenchCommand::DeskFairness(args) => crate::bench_desk::fairness(args).await,
        BenchCommand::Ladder(args) => crate::bench_ladder::run(args).await,
    }
}

/// A `balcao serve` child process on a free loopback port.
struct Server {
    child: tokio::process::Child,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// Writes the configuration as TOML (the same file an operator writes).
pub fn config_toml(c: &Config) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "listen = {:?}\ndata_dir = {:?}\n",
        c.listen,
        c.data_dir.display().to_string()
    ));
    if let Some(url) = &c.database_url {
        s.push_str(&format!("database_url = {url:?}\n"));
    }
    s.push_str(&format!(
        "[whatsapp]\napp_secret = {:?}\nverify_token = {:?}\ngraph_base_url = {:?}\ngraph_version = {:?}\n",
        c.whatsapp.app_secret, c.whatsapp.verify_token, c.whatsapp.graph_base_url, c.whatsapp.graph_version
    ));
    s.push_str(&format!(
        "[sender]\nlease_seconds = {}\nresend_after_seconds = {}\nmax_in_flight = {}\nmax_attempts = {}\n",
        c.sender.lease_seconds, c.sender.resend_after_seconds, c.sender.max_in_flight, c.sender.max_attempts
    ));
    if let Some(key) = &c.secret_key {
        s = format!("secret_key = {key:?}\n") + &s;
    }
    s.push_str(&format!(
        "[payments]\ninterval_seconds = {}\noverlap_hours = {}\n",
        c.payments.interval_seconds, c.payments.overlap_hours
    ));
    s.push_str(&format!(
        "[bot]\nenabled = {}\nworkers = {}\n[desk]\nenabled = {}\n[ladder]\nenabled = {}\n[web]\nsecure_cookies = {}\ntrust_proxy = {}\n",
        c.bot.enabled, c.bot.workers, c.desk.enabled, c.ladder.enabled, c.web.secure_cookies, c.web.trust_proxy
    ));
    for ws in &c.workspaces {
        s.push_str(&format!(
            "[[workspaces]]\nslug = {:?}\nname = {:?}\ntime_zone = {:?}\napi_tokens = {:?}\n",
            ws.slug, ws.name, ws.time_zone, ws.api_tokens
        ));
        for n in &ws.numbers {
            s.push_str(&format!(
                "[[workspaces.numbers]]\nphone_number_id = {:?}\ndisplay_phone_number = {:?}\nwaba_id = {:?}\naccess_token = {:?}\nthroughput_mps = {}\n",
                n.phone_number_id, n.display_phone_number, n.waba_id, n.access_token, n.throughput_mps
            ));
            for t in &n.templates {
                s.push_str(&format!(
                    "[[workspaces.numbers.templates]]\nname = {:?}\nlanguage = {:?}\ncategory = {:?}\nstatus = {:?}\nbody = {:?}\n",
                    t.name, t.language, t.category, t.status, t.body
                ));
            }
        }
        if let Some(erp) = &ws.erp {
            s.push_str(&format!(
                "[workspaces.erp]\nsystem = {:?}\nbase_url = {:?}\n[workspaces.erp.auth]\n",
                erp.system, erp.base_url
            ));
            for (k, v) in &erp.auth {
                s.push_str(&format!("{k:?} = {v:?}\n"));
            }
        }
    }
    s
}

impl Server {
    async fn start(config: &Config, dir: &Path) -> Result<Server, String> {
        let path = dir.join("balcao.toml");
        std::fs::write(&path, config_toml(config)).map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = tokio::process::Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("não foi possível iniciar o servidor: {e}"))?;
        let addr: std::net::SocketAddr = config.listen.parse().map_err(|e| format!("{e}"))?;
        let server = Server { child };
        wait_healthy(addr).await?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    async fn stop(mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.child.id() {
            // SIGTERM is not handled specially; SIGINT triggers the graceful path.
            let _ = std::process::Command::new("kill")
                .arg("-INT")
                .arg(pid.to_string())
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

pub async fn wait_healthy(addr: std::net::SocketAddr) -> Result<(), String> {
    let client = crate::app::http_client();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("http://{addr}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("servidor em {addr} não respondeu em 30 s"))
}

/// Peak resident set of a process, in MB (VmHWM).
pub fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The database a benchmark runs on: `None` for SQLite in the run's folder, or a PostgreSQL URL
/// pointing at a fresh schema created for the run (`options=-c search_path=…`), so a benchmark
/// starts from an empty database and leaves the others alone.
pub(crate) async fn database_url(database: &str, dir: &Path) -> Result<Option<String>, String> {
    match database {
        "sqlite" => Ok(None),
        url if url.starts_with("postgres") => {
            let schema = pg_schema_name(dir);
            balcao_store_postgres::PgStore::connect_in_schema(url, &schema)
                .await
                .map_err(|e| format!("PostgreSQL: {e}"))?;
            let sep = if url.contains('?') { '&' } else { '?' };
            Ok(Some(format!(
                "{url}{sep}options=-c%20search_path%3D{schema}"
            )))
        }
        other => Err(format!(
            "--database deve ser sqlite ou uma URL postgres://, não {other}"
        )),
    }
}

fn pg_schema_name(dir: &Path) -> String {
    let tail: String = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("x")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("bench_{tail}")
}

/// Drops the run's PostgreSQL schema (nothing to do for SQLite: the folder is removed).
pub(crate) async fn drop_pg_schema(database: &str, dir: &Path) {
    if database.starts_with("postgres")
        && let Ok(store) =
            balcao_store_postgres::PgStore::connect_in_schema(database, &pg_schema_name(dir)).await
    {
        let _ = store.drop_schema().await;
    }
}

fn bench_config(
    addr: std::net::SocketAddr,
    dir: &Path,
    database_url: Option<String>,
    graph_base: String,
    throughput: u32,
) -> (Config, balcao_simulator::SimulatorConfig) {
    let setup = demo::demo_setup(addr, dir.join("data"), database_url, None, throughput);
    let mut config = setup.config;
    config.whatsapp.graph_base_url = graph_base;
    config.sender = SenderSettings::default();
    // These benchmarks measure the channel: the bot (`bench bot`) and the desk (`bench desk`)
    // stay off.
    config.bot.enabled = false;
    config.desk.enabled = false;
    (config, setup.simulator)
}

/// One signed webhook body with `n` text messages from rotating senders.
fn webhook_body(seq: &AtomicU64, n: usize) -> Vec<u8> {
    let mut messages = Vec::with_capacity(n);
    let mut contacts = Vec::with_capacity(n);
    for _ in 0..n {
        let i = seq.fetch_add(1, Ordering::Relaxed);
        let wa_id = format!("55119{:08}", 60_000_000 + (i % 5000));
        contacts.push(serde_json::json!({"profile": {"name": "Assinante Bench"}, "wa_id": wa_id}));
        messages.push(serde_json::json!({
            "from": wa_id, "id": format!("wamid.bench.{}.{i}", std::process::id()),
            "timestamp": "1763700000", "type": "text", "text": {"body": "quero a segunda via do boleto, por favor"}
        }));
    }
    let envelope = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": demo::DEMO_WABA_ID, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": demo::DEMO_DISPLAY_NUMBER, "phone_number_id": demo::DEMO_PHONE_NUMBER_ID},
        "contacts": contacts, "messages": messages}}]}]});
    balcao_whatsapp::json::to_ascii_json(&envelope).into_bytes()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

struct Throughput {
    messages_per_sec: f64,
    requests: u64,
    errors: u64,
}

async fn throughput_run(
    addr: std::net::SocketAddr,
    secret: &str,
    batch: usize,
    seconds: u64,
    concurrency: usize,
    seq: Arc<AtomicU64>,
) -> Throughput {
    let client = crate::app::http_client();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, seq, ok, errors, secret) = (
            client.clone(),
            seq.clone(),
            ok.clone(),
            errors.clone(),
            secret.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let body = webhook_body(&seq, batch);
                let sig = balcao_whatsapp::signature::sign(secret.as_bytes(), &body);
                let res = client
                    .post(format!("http://{addr}/webhooks/whatsapp"))
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sig)
                    .body(body)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests = ok.load(Ordering::Relaxed);
    Throughput {
        messages_per_sec: (requests as usize * batch) as f64 / elapsed,
        requests,
        errors: errors.load(Ordering::Relaxed),
    }
}

/// Open-loop load at `rate` requests/s of one message each; latency counted from the scheduled
/// start, so a stalled server is not hidden by a waiting client (no coordinated omission).
async fn latency_run(
    addr: std::net::SocketAddr,
    secret: &str,
    rate: u64,
    seconds: u64,
    seq: Arc<AtomicU64>,
) -> (Vec<f64>, u64) {
    let client = crate::app::http_client();
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = started + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, seq, latencies, errors, secret) = (
            client.clone(),
            seq.clone(),
            latencies.clone(),
            errors.clone(),
            secret.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let body = webhook_body(&seq, 1);
            let sig = balcao_whatsapp::signature::sign(secret.as_bytes(), &body);
            let res = client
                .post(format!("http://{addr}/webhooks/whatsapp"))
                .header("content-type", "application/json")
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => {
                    latencies
                        .lock()
                        .expect("latencies")
                        .push(scheduled.elapsed().as_secs_f64() * 1000.0);
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut l = std::mem::take(&mut *latencies.lock().expect("latencies"));
    l.sort_by(|a, b| a.total_cmp(b));
    (l, errors.load(Ordering::Relaxed))
}

async fn webhooks(args: WebhookBenchArgs) -> Result<(), String> {
    let dir = TempDir::new("balcao-bench-webhooks");
    let db_url = database_url(&args.database, &dir.0).await?;
    let addr = free_addr();
    let (config, _) = bench_config(
        addr,
        &dir.0,
        db_url.clone(),
        "http://127.0.0.1:9/graph".into(),
        80,
    );
    let secret = config.whatsapp.app_secret.clone();
    let data_dir = config.data_dir.clone();
    let backend = if db_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "bench webhooks — banco: {backend}, {} núcleos",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let server = Server::start(&config, &dir.0).await?;
    let pid = server.pid();
    let seq = Arc::new(AtomicU64::new(0));

    // Warm up (connections, statement caches, contacts).
    let warm = throughput_run(addr, &secret, 1, 1, args.concurrency, seq.clone()).await;
    let mut acked = warm.requests;

    let mut results = Vec::new();
    for batch in [1usize, 50] {
        let t = throughput_run(
            addr,
            &secret,
            batch,
            args.seconds,
            args.concurrency,
            seq.clone(),
        )
        .await;
        println!(
            "  vazão, lotes de {batch:>2}: {:>8.0} msg/s aceitas ({} requisições, {} erros)",
            t.messages_per_sec, t.requests, t.errors
        );
        acked += t.requests * batch as u64;
        results.push((batch, t.messages_per_sec, t.errors));
    }
    let (lat, lat_errors) = latency_run(addr, &secret, args.rate, args.seconds, seq.clone()).await;
    println!(
        "  latência a {} msg/s (lotes de 1, {} s): p50 {:.2} ms, p99 {:.2} ms, máx {:.2} ms, {} erros",
        args.rate,
        args.seconds,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat_errors
    );
    acked += lat.len() as u64;
    let rss = peak_rss_mb(pid);
    println!(
        "  RSS máximo do servidor: {:.1} MB",
        rss.unwrap_or(f64::NAN)
    );

    // Nothing lost: every message acknowledged with 200 is in the database.
    let client = crate::app::http_client();
    let _ = client.get(format!("http://{addr}/healthz")).send().await;
    server.stop().await;
    let store = crate::app::open_store(db_url.as_deref(), &data_dir).await?;
    let ws = store
        .workspace_by_slug("demo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("workspace demo ausente")?;
    let stored = store
        .inbound_count(ws.id)
        .await
        .map_err(|e| e.to_string())?;
    println!("  mensagens confirmadas com 200: {acked}; gravadas no banco: {stored}");
    if stored != acked {
        return Err(format!(
            "{acked} mensagens confirmadas, mas {stored} gravadas"
        ));
    }

    drop(store);
    if db_url.is_none() {
        let raw_dir = TempDir::new("balcao-bench-raw");
        let raw =
            balcao_store_sqlite::raw_insert_benchmark(&raw_dir.0.join("raw.db"), args.raw_rows)
                .await
                .map_err(|e| e.to_string())?;
        println!("  teto: INSERT simples no SQLite (1 por transação): {raw:.0} linhas/s");
        let raw_dir50 = TempDir::new("balcao-bench-raw50");
        let raw50 = balcao_store_sqlite::raw_insert_benchmark_batched(
            &raw_dir50.0.join("raw.db"),
            args.raw_rows,
            50,
        )
        .await
        .map_err(|e| e.to_string())?;
        println!("  teto: INSERT simples no SQLite (50 por transação): {raw50:.0} linhas/s");
        for (batch, rate, _) in &results {
            println!(
                "  razão ingestão/teto, lotes de {batch:>2}: {:.2} (do teto de 1/transação), {:.2} (do teto de 50/transação)",
                rate / raw,
                rate / raw50
            );
        }
    }
    drop_pg_schema(&args.database, &dir.0).await;
    Ok(())
}

async fn sender(args: SenderBenchArgs) -> Result<(), String> {
    use balcao_simulator::Simulator;
    let dir = TempDir::new("balcao-bench-sender");
    let db_url = database_url(&args.database, &dir.0).await?;
    let total = args.messages.unwrap_or(u64::from(args.rate) * 30);
    let app_addr = free_addr();

    // The simulator runs in this process on its own port; the server under test is a child.
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let sim_addr = sim_listener.local_addr().map_err(|e| e.to_string())?;
    // The demo's simulator configuration already matches the app's secret, token, webhook URL
    // and throughput.
    let (config, sim_config) = bench_config(
        app_addr,
        &dir.0,
        db_url.clone(),
        format!("http://{sim_addr}/graph"),
        args.rate,
    );
    let simulator = Simulator::new(sim_config);
    simulator.spawn_workers();
    let router = simulator.router();
    tokio::spawn(async move {
        let _ = axum::serve(sim_listener, router).await;
    });

    // Fill the outbox before the server starts, so the sender starts with the whole backlog and
    // the measured pace is the sender's, not the enqueue rate.
    let store = crate::app::open_store(db_url.as_deref(), &config.data_dir).await?;
    let erp = balcao_engine::erp::ErpDirectory::new(
        store.clone(),
        crate::app::master_key(&config)?,
        Arc::new(balcao_engine::SystemClock),
    );
    crate::app::provision(store.as_ref(), &config, &erp).await?;
    let ws = store
        .workspace_by_slug("demo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("workspace")?;
    let number = store
        .numbers(ws.id)
        .await
        .map_err(|e| e.to_string())?
        .remove(0);
    let recipients = (total / 10).max(1);
    let fill_started = Instant::now();
    for i in 0..total {
        let to = WaId::parse(&format!("55219{:08}", 70_000_000 + (i % recipients)))
            .map_err(|e| e.to_string())?;
        let content = OutboundContent::Template(TemplateMessage {
            name: "fatura_disponivel".into(),
            language: "pt_BR".into(),
            components: vec![TemplateComponent {
                kind: TemplateComponentKind::Body,
                sub_type: None,
                index: None,
                parameters: ["Maria", "R$ 99,90", "10/12/2026"]
                    .iter()
                    .map(|t| TemplateParameter::Text { text: (*t).into() })
                    .collect(),
            }],
        });
        store
            .enqueue_outbound(
                ws.id,
                NewOutbound {
                    number_id: number.id,
                    to,
                    content,
                    idempotency_key: Some(format!("bench-{i}")),
                    author: "bench".into(),
                },
                balcao_domain::now_millis(),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    drop(store);
    println!(
        "bench sender — banco: {}, limite configurado {} msg/s, {} mensagens para {} destinatários (fila preenchida em {:.1} s)",
        if db_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        args.rate,
        total,
        recipients,
        fill_started.elapsed().as_secs_f64()
    );

    let server = Server::start(&config, &dir.0).await?;
    let pid = server.pid();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(total / u64::from(args.rate.max(1)) * 3 + 60);
    loop {
        let stats = simulator.stats();
        if stats.accepted >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats = simulator.stats();
    let rss = peak_rss_mb(pid);
    server.stop().await;
    let (first, last) = stats
        .accepted_window(demo::DEMO_PHONE_NUMBER_ID)
        .ok_or("o simulador não registrou envios")?;
    let span = (last - first) as f64 / 1000.0;
    // n messages accepted over a span holds n-1 intervals.
    let achieved = (stats.accepted.saturating_sub(1)) as f64 / span.max(1e-9);
    let deviation = (achieved - f64::from(args.rate)) / f64::from(args.rate) * 100.0;
    println!("  aceitas pelo simulador: {} de {total}", stats.accepted);
    println!("  ritmo alcançado: {achieved:.1} msg/s ({deviation:+.2}% do limite)");
    println!("  erros 130429 (vazão): {}", stats.rejected(130429));
    println!("  erros 131056 (par):  {}", stats.rejected(131056));
    println!(
        "  RSS máximo do servidor: {:.1} MB",
        rss.unwrap_or(f64::NAN)
    );
    drop_pg_schema(&args.database, &dir.0).await;
    Ok(())
}
