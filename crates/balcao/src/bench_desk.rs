//! `balcao bench desk` and `balcao bench desk-fairness`.
//!
//! `desk`: the live inbox under load. The app runs as a child process (`balcao serve`, bot off so
//! every new conversation enters the numbered menu); this process plays WhatsApp (the simulator)
//! and the staff: N agents spread over the queues log in through `/app/login`, open the inbox
//! page (for its CSRF token), follow `/app/events` and send the presence heartbeat every 15 s as
//! the page does. Subscribers then open conversations at a fixed rate: "oi", and once the menu
//! reaches the phone, the number of a queue. Every `desk` and `message_out` event carries the
//! bus's `seq` and `at` (published right after its commit); each stream records arrival − `at`
//! per event, and a stream missed an event when it lacks a `seq` some other stream received.
//!
//! `desk-fairness`: the round robin through the real store and the desk runner's sweep, with a
//! clock the benchmark moves: conversations arrive between sweeps, agents close what they got,
//! and a second pass sends some agents away and lets others go offline half-way; the assignment
//! events of the conversations' logs are then counted per agent.

use crate::bench::{
    TempDir, config_toml, database_url, drop_pg_schema, free_addr, peak_rss_mb, wait_healthy,
};
use crate::config::Config;
use crate::demo;
use balcao_domain::webhook::{InboundMessage, MessageContent, WebhookBatch};
use balcao_domain::{ConversationId, Millis, UserId, WaId, WorkspaceId};
use balcao_engine::bus::EventBus;
use balcao_engine::desk::{Desk, DeskConfig, DeskRunner, PRESENCE_TTL_MS, online_since};
use balcao_engine::outbox::Outbox;
use balcao_engine::{Clock, SharedClock};
use balcao_simulator::{InboundRequest, Simulator};
use balcao_store::{
    DeskEntry, DeskState, Distribution, InboxFilter, NewNumber, NewUser, NewWorkspace,
    OptionNumber, OutOfHoursMode, QueueId, QueueSettings, Role, Store,
};
use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;

const QUEUE_NAMES: [&str; 9] = [
    "Financeiro",
    "Suporte técnico",
    "Comercial",
    "Cancelamento",
    "Instalação",
    "Mudança de endereço",
    "Ouvidoria",
    "Empresas",
    "Rural",
];
const AGENT_PASSWORD: &str = "bench-desk-senha";
/// How often the open inbox sends its heartbeat (as `app.js` does).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// Streams are done once no desk event has arrived for this long after the last subscriber chose.
const QUIET: Duration = Duration::from_secs(3);

#[derive(clap::Args, Debug)]
pub struct DeskBenchArgs {
    /// `sqlite` or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Agents logged in, each following the live stream.
    #[arg(long, default_value_t = 500)]
    pub agents: usize,
    /// Queues the agents are spread over (1 to 9).
    #[arg(long, default_value_t = 4)]
    pub queues: usize,
    /// New conversations per minute.
    #[arg(long, default_value_t = 1000)]
    pub per_minute: u64,
    #[arg(long, default_value_t = 1)]
    pub minutes: u64,
}

#[derive(clap::Args, Debug)]
pub struct FairnessBenchArgs {
    /// `sqlite` or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    #[arg(long, default_value_t = 10_000)]
    pub conversations: u32,
    #[arg(long, default_value_t = 20)]
    pub agents: u32,
    /// Conversations arriving between two sweeps of the desk runner (not a multiple of the
    /// agents, so the rotation has to carry over from one sweep to the next).
    #[arg(long, default_value_t = 37)]
    pub per_sweep: u32,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Unix milliseconds with the sub-millisecond part (arrival times).
fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Resident set of a process right now, in MB (VmRSS).
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The highest VmRSS seen every 100 ms until the task is stopped.
fn sample_rss(pid: u32, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<f64> {
    tokio::spawn(async move {
        let mut peak = 0f64;
        loop {
            peak = peak.max(rss_mb(pid).unwrap_or(0.0));
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => return peak,
            }
        }
    })
}

/// User + system CPU time of a process (`self` or a pid), in seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks of 1/100 s (USER_HZ) on every common platform.
    Some((utime + stime) / 100.0)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

// ---- bench desk: live streams ------------------------------------------------------------------

/// `application/x-www-form-urlencoded` (the login form).
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let pair = v.split(';').next()?;
            let (k, value) = pair.split_once('=')?;
            (k.trim() == name).then(|| value.trim().to_owned())
        })
}

/// The CSRF token the inbox page hands its script (`<meta name="csrf-token" content="…">`).
fn csrf_meta(html: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// A logged-in agent: the session cookie and the page's CSRF token.
#[derive(Clone)]
struct AgentSession {
    cookie: String,
    csrf: String,
}

/// Logs in as a browser does: the login form (its double-submit cookie), then the inbox page.
async fn log_in(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<AgentSession, String> {
    let page = client
        .get(format!("{base}/app/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let login_csrf = set_cookie(&page, balcao_web::session::LOGIN_COOKIE)
        .ok_or("a página de login não entregou o cookie do formulário")?;
    let body = form_encode(&[
        ("email", email),
        ("password", password),
        ("_csrf", &login_csrf),
        ("next", "/app"),
    ]);
    let response = client
        .post(format!("{base}/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            format!("{}={login_csrf}", balcao_web::session::LOGIN_COOKIE),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let token = set_cookie(&response, balcao_web::session::SESSION_COOKIE)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("login de {email} recusado ({})", response.status()))?;
    let cookie = format!("{}={token}", balcao_web::session::SESSION_COOKIE);
    let inbox = client
        .get(format!("{base}/app"))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = csrf_meta(&inbox).ok_or("a caixa de entrada não trouxe o token CSRF")?;
    Ok(AgentSession { cookie, csrf })
}

async fn heartbeat(
    client: &reqwest::Client,
    base: &str,
    agent: &AgentSession,
) -> Result<(), String> {
    let r = client
        .post(format!("{base}/api/v1/desk/presence/heartbeat"))
        .header("cookie", &agent.cookie)
        .header(balcao_web::session::CSRF_HEADER, &agent.csrf)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("heartbeat recusado: {}", r.status()))
    }
}

#[derive(serde::Deserialize)]
struct EventData {
    seq: Option<u64>,
    at: Option<Millis>,
}

/// What one stream received.
#[derive(Default)]
struct StreamRecord {
    /// `seq` of each `desk` / `message_out` event, in arrival order.
    seen: Vec<u64>,
    /// arrival − `at`, in ms, per event of `seen`.
    latencies: Vec<f32>,
    resyncs: u32,
    logouts: u32,
    presence: u32,
    /// Events without `seq`/`at` (an app without the bus stamp).
    unstamped: u32,
    /// The server closed the stream before the end.
    ended_early: bool,
}

impl StreamRecord {
    fn absorb(&mut self, block: &str, arrival: f64, last_event: &AtomicI64) {
        let mut name = "message";
        let mut data = "";
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim();
            } else if let Some(v) = line.strip_prefix("data:") {
                data = v.trim();
            }
        }
        match name {
            "desk" | "message_out" => {
                match serde_json::from_str::<EventData>(data) {
                    Ok(EventData {
                        seq: Some(seq),
                        at: Some(at),
                    }) => {
                        self.seen.push(seq);
                        self.latencies.push((arrival - at as f64) as f32);
                    }
                    _ => self.unstamped += 1,
                }
                last_event.store(arrival as i64, Ordering::Relaxed);
            }
            "resync" => self.resyncs += 1,
            "logout" => self.logouts += 1,
            "presence" => self.presence += 1,
            _ => {}
        }
    }
}

/// Follows `/app/events` until `stop`; tells `ready` once the stream is open (subscribed).
async fn follow(
    client: reqwest::Client,
    url: String,
    cookie: String,
    ready: oneshot::Sender<Result<(), String>>,
    mut stop: watch::Receiver<bool>,
    last_event: Arc<AtomicI64>,
) -> StreamRecord {
    let mut record = StreamRecord::default();
    let mut response = match client.get(&url).header("cookie", cookie).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let _ = ready.send(Err(format!("fluxo recusado: {}", r.status())));
            return record;
        }
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return record;
        }
    };
    let _ = ready.send(Ok(()));
    let mut buffer = String::new();
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk,
            _ = stop.changed() => break,
        };
        match chunk {
            Ok(Some(bytes)) => {
                let arrival = wall_ms();
                buffer.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    record.absorb(&block, arrival, &last_event);
                }
            }
            Ok(None) | Err(_) => {
                record.ended_early = true;
                break;
            }
        }
    }
    record
}

/// Queues, and agents spread over them, created on the store before the server starts (one
/// password hash for all: hashing 500 times would only slow the setup).
async fn seed_staff(
    store: &dyn Store,
    workspace: WorkspaceId,
    agents: usize,
    queues: usize,
) -> Result<Vec<String>, String> {
    let now = balcao_domain::now_millis();
    let mut queue_ids = Vec::new();
    for (i, name) in QUEUE_NAMES.iter().take(queues).enumerate() {
        let queue = store
            .create_queue(
                workspace,
                &QueueSettings {
                    option_number: OptionNumber::new(i as u32 + 1).ok_or("opção")?,
                    name: (*name).into(),
                    active: true,
                    distribution: Distribution::RoundRobin,
                    hours: None,
                    out_of_hours: OutOfHoursMode::Wait,
                    fallback_queue_id: None,
                    accept_timeout_secs: None,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        queue_ids.push(queue.id);
    }
    let password = balcao_web::session::NewPassword::parse(AGENT_PASSWORD)?;
    let hash = balcao_web::session::hash_password(&password);
    let mut members: Vec<Vec<UserId>> = vec![Vec::new(); queue_ids.len()];
    let mut emails = Vec::with_capacity(agents);
    for i in 0..agents {
        let email = format!("agente{:03}@bench.balcao", i + 1);
        let user = store
            .create_user(
                workspace,
                NewUser {
                    email: email.clone(),
                    name: format!("Agente {:03}", i + 1),
                    role: Role::Agent,
                    password_hash: hash.clone(),
                    // Nobody fills up during the run: this measures the fan-out, not capacity.
                    max_chats: 50,
                    hours: None,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        members[i % queue_ids.len()].push(user.id);
        emails.push(email);
    }
    for (queue, users) in queue_ids.iter().zip(&members) {
        store
            .set_queue_members(workspace, *queue, users)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(emails)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SubscriberOutcome {
    Chose,
    NoMenu,
    Refused,
}

/// One subscriber: "oi", then, once the menu reached the phone, the queue's number.
async fn subscriber(
    sim: Arc<Simulator>,
    wa_id: String,
    option: usize,
    to_menu: Arc<Mutex<Vec<f64>>>,
) -> SubscriberOutcome {
    let name = format!("Assinante {}", &wa_id[wa_id.len() - 4..]);
    let started = Instant::now();
    if sim
        .send_inbound(InboundRequest::text(&wa_id, &name, "oi"))
        .await
        .is_err()
    {
        return SubscriberOutcome::Refused;
    }
    let deadline = started + Duration::from_secs(60);
    loop {
        let menu_arrived = sim.chat(&wa_id).is_some_and(|chat| {
            chat.messages
                .iter()
                .any(|m| m.direction == balcao_simulator::Direction::Out)
        });
        if menu_arrived {
            break;
        }
        if Instant::now() > deadline {
            return SubscriberOutcome::NoMenu;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    to_menu
        .lock()
        .expect("menu times")
        .push(started.elapsed().as_secs_f64() * 1000.0);
    match sim
        .send_inbound(InboundRequest::text(&wa_id, &name, &option.to_string()))
        .await
    {
        Ok(_) => SubscriberOutcome::Chose,
        Err(_) => SubscriberOutcome::Refused,
    }
}

pub async fn desk(args: DeskBenchArgs) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !(1..=QUEUE_NAMES.len()).contains(&args.queues) {
        return Err(format!("--queues deve ser de 1 a {}", QUEUE_NAMES.len()));
    }
    if args.agents == 0 || args.per_minute == 0 || args.minutes == 0 {
        return Err("--agents, --per-minute e --minutes devem ser maiores que zero".into());
    }
    let dir = TempDir::new("balcao-bench-desk");
    let db_url = database_url(&args.database, &dir.0).await?;
    let result = run_desk(&args, &dir, db_url).await;
    drop_pg_schema(&args.database, &dir.0).await;
    result
}

/// The server under test (a `balcao serve` child) and what the benchmark needs to reach it.
struct DeskServer {
    child: tokio::process::Child,
    pid: u32,
    base: String,
    workspace: WorkspaceId,
    config: Config,
    emails: Vec<String>,
    simulator: Arc<Simulator>,
}

/// Seeds the workspace, queues and agents, starts the simulator (in this process) and the
/// server (a child process, bot off so every new conversation goes to the queue menu).
async fn start_desk_server(
    args: &DeskBenchArgs,
    dir: &TempDir,
    db_url: Option<String>,
) -> Result<(DeskServer, f64), String> {
    let app_addr = free_addr();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let sim_addr = sim_listener.local_addr().map_err(|e| e.to_string())?;
    // The number's throughput is raised so WhatsApp's tier does not slow the menus down.
    let setup = demo::demo_setup(app_addr, dir.0.join("data"), db_url.clone(), None, 1000);
    let mut config = setup.config;
    config.whatsapp.graph_base_url = format!("http://{sim_addr}/graph");
    config.bot.enabled = false;

    let seed_started = Instant::now();
    let store = crate::app::open_store(db_url.as_deref(), &config.data_dir).await?;
    let erp = balcao_engine::erp::ErpDirectory::new(
        store.clone(),
        crate::app::master_key(&config)?,
        Arc::new(balcao_engine::SystemClock),
    );
    crate::app::provision(store.as_ref(), &config, &erp).await?;
    let workspace = store
        .workspace_by_slug("demo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("workspace demo ausente")?
        .id;
    let emails = seed_staff(store.as_ref(), workspace, args.agents, args.queues).await?;
    let seeded = seed_started.elapsed().as_secs_f64();
    drop(erp);
    drop(store);

    let simulator = Simulator::new(setup.simulator);
    simulator.spawn_workers();
    let router = simulator.router();
    tokio::spawn(async move {
        let _ = axum::serve(sim_listener, router).await;
    });
    let config_path = dir.0.join("balcao.toml");
    std::fs::write(&config_path, config_toml(&config)).map_err(|e| e.to_string())?;
    let child = tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["serve", "--config"])
        .arg(&config_path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("não foi possível iniciar o servidor: {e}"))?;
    wait_healthy(app_addr).await?;
    let pid = child.id().unwrap_or(0);
    Ok((
        DeskServer {
            child,
            pid,
            base: format!("http://{app_addr}"),
            workspace,
            config,
            emails,
            simulator,
        },
        seeded,
    ))
}

/// Logs every agent in, one per core at a time: argon2 keeps a core busy per check (a shift
/// starting, not a stampede).
async fn log_in_all(
    client: &reqwest::Client,
    base: &str,
    emails: &[String],
) -> Result<Vec<AgentSession>, String> {
    let permits = Arc::new(Semaphore::new(cores().max(2)));
    let mut logins = JoinSet::new();
    for (i, email) in emails.iter().enumerate() {
        let (client, base, email, permits) = (
            client.clone(),
            base.to_owned(),
            email.clone(),
            permits.clone(),
        );
        logins.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, log_in(&client, &base, &email, AGENT_PASSWORD).await)
        });
    }
    let mut sessions: Vec<Option<AgentSession>> = vec![None; emails.len()];
    while let Some(joined) = logins.join_next().await {
        let (i, result) = joined.map_err(|e| e.to_string())?;
        sessions[i] = Some(result?);
    }
    Ok(sessions.into_iter().flatten().collect())
}

/// The agents' live streams, all subscribed before the load starts.
struct Streams {
    tasks: Vec<tokio::task::JoinHandle<StreamRecord>>,
    stop: watch::Sender<bool>,
    /// Arrival (unix ms) of the latest desk event on any stream.
    last_event: Arc<AtomicI64>,
}

impl Streams {
    async fn open(base: &str, sessions: &[AgentSession]) -> Result<Streams, String> {
        // No overall timeout on these requests: they last the whole run.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let (stop, stop_rx) = watch::channel(false);
        let last_event = Arc::new(AtomicI64::new(0));
        let mut tasks = Vec::with_capacity(sessions.len());
        let mut readiness = Vec::with_capacity(sessions.len());
        for agent in sessions {
            let (ready_tx, ready_rx) = oneshot::channel();
            tasks.push(tokio::spawn(follow(
                client.clone(),
                format!("{base}/app/events"),
                agent.cookie.clone(),
                ready_tx,
                stop_rx.clone(),
                last_event.clone(),
            )));
            readiness.push(ready_rx);
        }
        for ready in readiness {
            ready
                .await
                .map_err(|_| "um fluxo terminou antes de abrir".to_string())??;
        }
        Ok(Streams {
            tasks,
            stop,
            last_event,
        })
    }

    /// Waits until no desk event arrived for [`QUIET`] (at most a minute).
    async fn wait_quiet(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while wall_ms() - (self.last_event.load(Ordering::Relaxed) as f64)
            < QUIET.as_secs_f64() * 1000.0
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn close(self) -> Result<Vec<StreamRecord>, String> {
        let _ = self.stop.send(true);
        let mut records = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            records.push(task.await.map_err(|e| e.to_string())?);
        }
        Ok(records)
    }
}

/// The open inboxes' heartbeats: everyone at once first, then each agent every 15 s, spread
/// over the interval as independent tabs would be.
struct Heartbeats {
    task: tokio::task::JoinHandle<()>,
    failures: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<String>>>,
}

impl Heartbeats {
    async fn start(
        client: &reqwest::Client,
        base: &str,
        sessions: &[AgentSession],
    ) -> Result<Heartbeats, String> {
        let permits = Arc::new(Semaphore::new(8));
        let mut first = JoinSet::new();
        for agent in sessions {
            let (client, base, permits, agent) = (
                client.clone(),
                base.to_owned(),
                permits.clone(),
                agent.clone(),
            );
            first.spawn(async move {
                let _permit = permits.acquire_owned().await;
                heartbeat(&client, &base, &agent).await
            });
        }
        while let Some(joined) = first.join_next().await {
            joined.map_err(|e| e.to_string())??;
        }
        let failures = Arc::new(AtomicU64::new(0));
        let first_error: Arc<Mutex<Option<String>>> = Arc::default();
        let task = {
            let (client, base, sessions) = (client.clone(), base.to_owned(), sessions.to_vec());
            let (failures, first_error) = (failures.clone(), first_error.clone());
            tokio::spawn(async move {
                let spacing = HEARTBEAT_EVERY / sessions.len().max(1) as u32;
                loop {
                    for agent in &sessions {
                        tokio::time::sleep(spacing).await;
                        let (client, base, agent) = (client.clone(), base.clone(), agent.clone());
                        let (failures, first_error) = (failures.clone(), first_error.clone());
                        tokio::spawn(async move {
                            if let Err(e) = heartbeat(&client, &base, &agent).await {
                                failures.fetch_add(1, Ordering::Relaxed);
                                first_error.lock().expect("error").get_or_insert(e);
                            }
                        });
                    }
                }
            })
        };
        Ok(Heartbeats {
            task,
            failures,
            first_error,
        })
    }

    /// Stops; returns the failures and the first one's reason.
    fn stop(self) -> (u64, Option<String>) {
        self.task.abort();
        let first = self.first_error.lock().expect("error").take();
        (self.failures.load(Ordering::Relaxed), first)
    }
}

/// What the subscribers saw and what the server used while they arrived.
struct LoadFigures {
    total: u64,
    /// Seconds taken to start them all (the offered rate).
    offered: f64,
    outcomes: [u64; 3],
    /// "oi" sent → first menu message on the phone, sorted, ms.
    to_menu: Vec<f64>,
    /// From the first subscriber to the streams going quiet.
    seconds: f64,
    server_cpu: f64,
    own_cpu: f64,
    rss_before: Option<f64>,
    rss_peak: f64,
    rss_end: Option<f64>,
}

/// Subscribers open conversations at the configured rate (open loop) until all have chosen a
/// queue, then the streams are given time to receive the last events.
async fn run_load(
    args: &DeskBenchArgs,
    simulator: &Arc<Simulator>,
    pid: u32,
    streams: &Streams,
) -> LoadFigures {
    let rss_before = rss_mb(pid);
    let cpu_before = (cpu_seconds(&pid.to_string()), cpu_seconds("self"));
    let (sampler_stop, sampler_rx) = watch::channel(false);
    let sampler = sample_rss(pid, sampler_rx);
    let total = args.per_minute * args.minutes;
    let interval = Duration::from_secs_f64(60.0 / args.per_minute as f64);
    let to_menu = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let started = Instant::now();
    let mut subscribers = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let wa_id = format!("55119{:08}", 70_000_000 + i);
        let option = (i as usize) % args.queues + 1;
        subscribers.push(tokio::spawn(subscriber(
            simulator.clone(),
            wa_id,
            option,
            to_menu.clone(),
        )));
    }
    let offered = started.elapsed().as_secs_f64();
    let mut outcomes = [0u64; 3];
    for s in subscribers {
        outcomes[s.await.unwrap_or(SubscriberOutcome::Refused) as usize] += 1;
    }
    streams.wait_quiet().await;
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu =
        cpu_seconds(&pid.to_string()).unwrap_or(f64::NAN) - cpu_before.0.unwrap_or(0.0);
    let own_cpu = cpu_seconds("self").unwrap_or(f64::NAN) - cpu_before.1.unwrap_or(0.0);
    let rss_end = rss_mb(pid);
    let _ = sampler_stop.send(true);
    let rss_peak = sampler.await.unwrap_or(f64::NAN);
    let mut to_menu = std::mem::take(&mut *to_menu.lock().expect("menu times"));
    to_menu.sort_by(|a, b| a.total_cmp(b));
    LoadFigures {
        total,
        offered,
        outcomes,
        to_menu,
        seconds,
        server_cpu,
        own_cpu,
        rss_before,
        rss_peak,
        rss_end,
    }
}

/// The streams' records put together: every stream was open before the first conversation,
/// so each should have received every event some stream received.
#[derive(Debug, Default, PartialEq)]
struct FanOut {
    /// Distinct events (`seq`) received by any stream.
    events: usize,
    streams: usize,
    delivered: usize,
    duplicates: usize,
    /// Deliveries missing, summed over the streams.
    missing: usize,
    /// Streams that missed an event, were told to resync, or ended early.
    incomplete_streams: usize,
    resyncs: u32,
    ended_early: usize,
    unstamped: u32,
    /// arrival − `at` per delivery, sorted, ms.
    latencies: Vec<f64>,
}

impl FanOut {
    fn of(records: &[StreamRecord]) -> FanOut {
        let expected: HashSet<u64> = records
            .iter()
            .flat_map(|r| r.seen.iter().copied())
            .collect();
        let mut fan = FanOut {
            events: expected.len(),
            streams: records.len(),
            ..FanOut::default()
        };
        for r in records {
            let distinct: HashSet<u64> = r.seen.iter().copied().collect();
            fan.delivered += r.seen.len();
            fan.duplicates += r.seen.len() - distinct.len();
            let missing = expected.len() - distinct.len();
            fan.missing += missing;
            if missing > 0 || r.resyncs > 0 || r.ended_early || r.logouts > 0 {
                fan.incomplete_streams += 1;
            }
            fan.resyncs += r.resyncs;
            fan.ended_early += usize::from(r.ended_early);
            fan.unstamped += r.unstamped;
            fan.latencies
                .extend(r.latencies.iter().map(|l| f64::from(*l)));
        }
        fan.latencies.sort_by(|a, b| a.total_cmp(b));
        fan
    }

    fn complete(&self) -> bool {
        self.incomplete_streams == 0 && self.unstamped == 0
    }
}

async fn run_desk(
    args: &DeskBenchArgs,
    dir: &TempDir,
    db_url: Option<String>,
) -> Result<(), String> {
    println!(
        "bench desk — banco: {}, {} núcleos, {} atendentes em {} filas, {} conversas/min por {} min",
        if db_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        cores(),
        args.agents,
        args.queues,
        args.per_minute,
        args.minutes
    );
    let (mut server, seeded) = start_desk_server(args, dir, db_url.clone()).await?;
    let pid = server.pid;
    let rss_started = rss_mb(pid);
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let login_started = Instant::now();
    let sessions = log_in_all(&client, &server.base, &server.emails).await?;
    let logged_in = login_started.elapsed().as_secs_f64();
    // argon2 takes 19 MiB per check: the peak so far is the logins'.
    let rss_logins = peak_rss_mb(pid);
    let streams = Streams::open(&server.base, &sessions).await?;
    let heartbeats = Heartbeats::start(&client, &server.base, &sessions).await?;
    println!(
        "  preparação: filas e atendentes gravados em {seeded:.1} s; {} logins (argon2) e páginas da caixa de entrada em {logged_in:.1} s; {} fluxos SSE abertos; todos online",
        sessions.len(),
        streams.tasks.len()
    );
    // Let the presence events settle before the load.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let load = run_load(args, &server.simulator, pid, &streams).await;
    let rss_peak_process = peak_rss_mb(pid);
    let records = streams.close().await?;
    let (heartbeat_failures, heartbeat_error) = heartbeats.stop();
    let _ = server.child.kill().await;
    let _ = server.child.wait().await;
    let fan = FanOut::of(&records);

    let count = |o: SubscriberOutcome| load.outcomes[o as usize];
    println!(
        "  conversas iniciadas: {} em {:.1} s ({:.0}/min); escolheram a fila: {}; menu não chegou em 60 s: {}; recusadas: {}",
        load.total,
        load.offered,
        load.total as f64 / load.offered * 60.0,
        count(SubscriberOutcome::Chose),
        count(SubscriberOutcome::NoMenu),
        count(SubscriberOutcome::Refused)
    );
    println!(
        "  \"oi\" → primeira mensagem do menu no telefone: p50 {:.1} ms, p99 {:.1} ms, máx {:.1} ms",
        percentile(&load.to_menu, 0.5),
        percentile(&load.to_menu, 0.99),
        load.to_menu.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  eventos desk + message_out publicados: {}; entregas esperadas {} × {} fluxos = {}; entregues: {} ({} em duplicidade)",
        fan.events,
        fan.events,
        fan.streams,
        fan.events * fan.streams,
        fan.delivered,
        fan.duplicates
    );
    println!(
        "  commit → chegada em cada fluxo: p50 {:.1} ms, p99 {:.1} ms, p99,9 {:.1} ms, máx {:.1} ms ({} medidas; `at` tem resolução de 1 ms)",
        percentile(&fan.latencies, 0.5),
        percentile(&fan.latencies, 0.99),
        percentile(&fan.latencies, 0.999),
        fan.latencies.last().copied().unwrap_or(f64::NAN),
        fan.latencies.len()
    );
    println!(
        "  fluxos que perderam algum evento: {} de {} ({} entregas faltando, {} resync, {} encerrados antes do fim{})",
        fan.incomplete_streams,
        fan.streams,
        fan.missing,
        fan.resyncs,
        fan.ended_early,
        if fan.unstamped > 0 {
            format!(", {} eventos sem seq/at", fan.unstamped)
        } else {
            String::new()
        }
    );
    println!(
        "  heartbeats que falharam durante a carga: {heartbeat_failures}{}",
        heartbeat_error
            .map(|e| format!(" (o primeiro: {e})"))
            .unwrap_or_default()
    );
    println!(
        "  CPU durante a carga: servidor {:.1} s, este processo (simulador, atendentes, fluxos) {:.1} s, em {:.1} s de relógio; carga média da máquina ao final: {}",
        load.server_cpu,
        load.own_cpu,
        load.seconds,
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_default()
    );
    let mb = |v: Option<f64>| v.unwrap_or(f64::NAN);
    println!(
        "  RSS do servidor: {:.1} MB ao iniciar; pico {:.1} MB durante os logins (argon2); {:.1} MB antes da carga; pico {:.1} MB durante a carga (amostras a cada 100 ms), {:.1} MB ao final; pico do processo (VmHWM) {:.1} MB",
        mb(rss_started),
        mb(rss_logins),
        mb(load.rss_before),
        load.rss_peak,
        mb(load.rss_end),
        mb(rss_peak_process)
    );

    // Where the conversations ended up, and how long each step to the menu took.
    let store = crate::app::open_store(db_url.as_deref(), &server.config.data_dir).await?;
    let board = store
        .desk_board(server.workspace, online_since(balcao_domain::now_millis()))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "  ao final: {} conversas com atendentes, {} na fila, {} no menu",
        board.queues.iter().map(|q| q.assigned).sum::<u32>(),
        board.queues.iter().map(|q| q.queued).sum::<u32>(),
        board.in_menu
    );
    let stages = menu_stages(store.as_ref(), server.workspace).await?;
    let line = |v: &[f64]| {
        format!(
            "p50 {:.0} ms, p99 {:.0} ms",
            percentile(v, 0.5),
            percentile(v, 0.99)
        )
    };
    println!(
        "  etapas até o menu (relógio do servidor, {} conversas): mensagem gravada → entrada no menu {}; entrada → menu no outbox {}; outbox → aceito pelo WhatsApp simulado {}",
        stages.entered.len(),
        line(&stages.entered),
        line(&stages.queued),
        line(&stages.accepted)
    );
    if !fan.complete() {
        return Err(format!(
            "{} fluxos não receberam todos os eventos",
            fan.incomplete_streams
        ));
    }
    Ok(())
}

/// Per conversation, from its event log: the subscriber's first message stored → desk entry
/// (`desk_menu`) → first reply queued (`message_out`) → first send accepted.
#[derive(Default)]
struct MenuStages {
    entered: Vec<f64>,
    queued: Vec<f64>,
    accepted: Vec<f64>,
}

async fn menu_stages(store: &dyn Store, ws: WorkspaceId) -> Result<MenuStages, String> {
    let mut stages = MenuStages::default();
    let mut before = None;
    loop {
        let page = store
            .conversations(
                ws,
                &balcao_store::ConversationFilter {
                    before,
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else {
            break;
        };
        before = Some(last.id);
        for conversation in &page {
            let events = store
                .events(ws, conversation.id)
                .await
                .map_err(|e| e.to_string())?;
            let first = |kind: &str| {
                events
                    .iter()
                    .find(|e| e.kind == kind)
                    .map(|e| e.created_at as f64)
            };
            if let (Some(inbound), Some(entered), Some(queued), Some(accepted)) = (
                first("message_in"),
                first("desk_menu"),
                first("message_out"),
                first("send_accepted"),
            ) {
                stages.entered.push(entered - inbound);
                stages.queued.push(queued - entered);
                stages.accepted.push(accepted - queued);
            }
        }
    }
    for v in [
        &mut stages.entered,
        &mut stages.queued,
        &mut stages.accepted,
    ] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    Ok(stages)
}

// ---- bench desk-fairness --------------------------------------------------------------------------

/// The benchmark's clock: moved by hand, so a departure does not wait 45 real seconds.
struct BenchClock(AtomicI64);

impl Clock for BenchClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

impl BenchClock {
    fn advance(&self, millis: Millis) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

/// Agents who leave half-way in the departure pass: the second-to-last quarter goes away (the
/// inbox still beats), the last quarter stops beating (their tab closed).
#[derive(Clone, Debug, Default)]
struct Departures {
    away: Vec<UserId>,
    offline: Vec<UserId>,
}

impl Departures {
    fn last_quarters(agents: &[UserId]) -> Departures {
        let quarter = (agents.len() / 4).max(1);
        let n = agents.len();
        Departures {
            away: agents[n.saturating_sub(2 * quarter)..n - quarter].to_vec(),
            offline: agents[n - quarter..].to_vec(),
        }
    }

    fn contains(&self, user: UserId) -> bool {
        self.away.contains(&user) || self.offline.contains(&user)
    }
}

/// Assignments counted from the conversations' event logs.
#[derive(Debug, Default)]
struct Assignments {
    /// Per agent over the whole pass.
    total: BTreeMap<UserId, u32>,
    /// Per agent from the departure on.
    after: BTreeMap<UserId, u32>,
    /// Chats handed back to the queue.
    returned: u32,
    /// Conversations never assigned.
    unassigned: u32,
}

struct PassResult {
    agents: Vec<UserId>,
    assignments: Assignments,
    /// Who left (empty in the pass without departures).
    departures: Departures,
    seconds: f64,
    sweeps: u32,
}

fn spread(counts: impl Iterator<Item = u32>) -> (u32, u32) {
    counts.fold((u32::MAX, 0), |(lo, hi), c| (lo.min(c), hi.max(c)))
}

/// One queue in round robin with equal agents, the desk runner and its agent actions over a
/// real store, on the benchmark's clock.
struct FairnessDesk {
    store: Arc<dyn Store>,
    clock: Arc<BenchClock>,
    runner: DeskRunner,
    desk: Desk,
    workspace: WorkspaceId,
    queue: QueueId,
    agents: Vec<UserId>,
}

const FAIRNESS_NUMBER: &str = "bench-fairness";

impl FairnessDesk {
    async fn create(store: Arc<dyn Store>, agents: u32) -> Result<FairnessDesk, String> {
        let clock = Arc::new(BenchClock(AtomicI64::new(balcao_domain::now_millis())));
        let now = clock.now();
        let workspace = store
            .create_workspace(NewWorkspace {
                slug: "justa".into(),
                name: "Provedor Justo".into(),
                time_zone: "America/Sao_Paulo".into(),
            })
            .await
            .map_err(|e| e.to_string())?
            .id;
        store
            .create_number(
                workspace,
                NewNumber {
                    phone_number_id: FAIRNESS_NUMBER.into(),
                    display_phone_number: "551140040001".into(),
                    waba_id: "bench-fairness-waba".into(),
                    throughput_mps: 80,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let queue = store
            .create_queue(
                workspace,
                &QueueSettings {
                    option_number: OptionNumber::new(1).ok_or("opção")?,
                    name: "Financeiro".into(),
                    active: true,
                    distribution: Distribution::RoundRobin,
                    hours: None,
                    out_of_hours: OutOfHoursMode::Wait,
                    fallback_queue_id: None,
                    accept_timeout_secs: None,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?
            .id;
        let mut ids = Vec::new();
        for i in 0..agents {
            let user = store
                .create_user(
                    workspace,
                    NewUser {
                        email: format!("agente{:02}@justa.balcao", i + 1),
                        name: format!("Agente {:02}", i + 1),
                        role: Role::Agent,
                        // Never logs in: the hash is not used.
                        password_hash: "-".into(),
                        // A sweep's arrivals plus the chats departing agents hand back.
                        max_chats: 10,
                        hours: None,
                    },
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
            ids.push(user.id);
        }
        store
            .set_queue_members(workspace, queue, &ids)
            .await
            .map_err(|e| e.to_string())?;
        let shared: SharedClock = clock.clone();
        let bus = EventBus::default();
        let outbox = Outbox::new(store.clone(), shared.clone(), bus.clone());
        let runner = DeskRunner::new(
            store.clone(),
            outbox,
            shared,
            bus,
            DeskConfig {
                // Entries come in as handoffs (straight into the queue), see `arrive`.
                bot_enabled: true,
                ..DeskConfig::default()
            },
        );
        let desk = runner.desk();
        Ok(FairnessDesk {
            store,
            clock,
            runner,
            desk,
            workspace,
            queue,
            agents: ids,
        })
    }

    /// Subscribers `first..first + n` write (one delivery each, stored in one transaction as
    /// the ingestor does) and are handed to the queue as a bot handoff to "Financeiro" would.
    async fn arrive(&self, first: u32, n: u32) -> Result<Vec<ConversationId>, String> {
        let now = self.clock.now();
        let text = "quero falar com o financeiro";
        let deliveries: Vec<WebhookBatch> = (first..first + n)
            .map(|i| {
                let from = WaId::parse(&format!("55119{:08}", 70_000_000 + i))
                    .map_err(|e| e.to_string())?;
                Ok(WebhookBatch {
                    messages: vec![InboundMessage {
                        phone_number_id: FAIRNESS_NUMBER.into(),
                        wamid: format!("wamid.fair.{i}"),
                        from: Some(from),
                        user_id: None,
                        profile_name: Some(format!("Assinante {i}")),
                        timestamp: now,
                        message_type: "text".into(),
                        content: MessageContent::Text { body: text.into() },
                        context: None,
                        referral: None,
                        raw: serde_json::json!({"type": "text", "text": {"body": text}}),
                    }],
                    ..Default::default()
                })
            })
            .collect::<Result<_, String>>()?;
        let reports = self
            .store
            .ingest(&deliveries, now)
            .await
            .map_err(|e| e.to_string())?;
        let mut conversations = Vec::with_capacity(reports.len());
        for report in reports {
            let (Some((_, conversation)), Some(message)) = (
                report.conversations.first().copied(),
                report.new_messages.first().copied(),
            ) else {
                return Err("uma mensagem não abriu conversa".into());
            };
            self.store
                .enter_desk(
                    self.workspace,
                    conversation,
                    DeskEntry {
                        queue: Some(self.queue),
                        summary: None,
                        handled_up_to: Some(message),
                        welcome: false,
                    },
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
            conversations.push(conversation);
        }
        Ok(conversations)
    }

    /// Every open inbox beats, except those of `closed`.
    async fn heartbeats(&self, closed: &[UserId]) -> Result<(), String> {
        for agent in self.agents.iter().filter(|a| !closed.contains(a)) {
            self.desk
                .heartbeat(self.workspace, *agent)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Agents close the conversations they hold, except those `keeps` says they keep.
    async fn close_assigned(&self, keeps: impl Fn(UserId) -> bool) -> Result<(), String> {
        let assigned = self
            .store
            .desk_inbox(
                self.workspace,
                &InboxFilter {
                    state: Some(DeskState::Assigned),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        for item in assigned {
            let Some(agent) = item.desk.agent_id.filter(|a| !keeps(*a)) else {
                continue;
            };
            self.desk
                .close(self.workspace, agent, item.desk.conversation_id, "resolved")
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Some go away (their unanswered chats return at once); the others' last heartbeat falls
    /// out of the presence window (theirs return on the next sweep). Returns when.
    async fn depart(&self, leaving: &Departures) -> Result<Millis, String> {
        for agent in &leaving.away {
            self.desk
                .set_away(self.workspace, *agent, true)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.clock.advance(PRESENCE_TTL_MS + 1_000);
        Ok(self.clock.now())
    }

    async fn assignments(
        &self,
        conversations: &[ConversationId],
        departed: Option<Millis>,
    ) -> Result<Assignments, String> {
        let zero = || self.agents.iter().map(|a| (*a, 0)).collect();
        let mut counts = Assignments {
            total: zero(),
            after: zero(),
            ..Assignments::default()
        };
        for c in conversations {
            let mut assigned_once = false;
            let events = self
                .store
                .events(self.workspace, *c)
                .await
                .map_err(|e| e.to_string())?;
            for event in events {
                match event.kind.as_str() {
                    "desk_assigned" => {
                        assigned_once = true;
                        let agent = UserId(event.data["agent_id"].as_i64().ok_or("agent_id")?);
                        *counts.total.entry(agent).or_default() += 1;
                        if departed.is_some_and(|at| event.created_at >= at) {
                            *counts.after.entry(agent).or_default() += 1;
                        }
                    }
                    "desk_returned" => counts.returned += 1,
                    _ => {}
                }
            }
            counts.unassigned += u32::from(!assigned_once);
        }
        Ok(counts)
    }
}

/// One pass on a fresh database.
async fn fairness_pass(args: &FairnessBenchArgs, departures: bool) -> Result<PassResult, String> {
    let dir = TempDir::new("balcao-bench-fairness");
    let db_url = database_url(&args.database, &dir.0).await?;
    let result = run_pass(args, departures, db_url, &dir).await;
    drop_pg_schema(&args.database, &dir.0).await;
    result
}

/// Conversations arrive `per_sweep` at a time; after each sweep the agents close what they
/// got. With `departures`, once half have arrived the leaving agents keep the chats just
/// given to them unanswered and leave; from then on none of them may get one.
async fn run_pass(
    args: &FairnessBenchArgs,
    departures: bool,
    db_url: Option<String>,
    dir: &TempDir,
) -> Result<PassResult, String> {
    let store = crate::app::open_store(db_url.as_deref(), &dir.0.join("data")).await?;
    let fair = FairnessDesk::create(store, args.agents).await?;
    let leaving = Departures::last_quarters(&fair.agents);
    let mut departed: Option<Millis> = None;
    let mut conversations = Vec::with_capacity(args.conversations as usize);
    let mut sweeps = 0u32;
    let started = Instant::now();
    while (conversations.len() as u32) < args.conversations {
        let arrived = conversations.len() as u32;
        let n = args.per_sweep.min(args.conversations - arrived);
        conversations.extend(fair.arrive(arrived, n).await?);
        let closed_tabs: &[UserId] = if departed.is_some() {
            &leaving.offline
        } else {
            &[]
        };
        fair.heartbeats(closed_tabs).await?;
        fair.runner.sweep().await.map_err(|e| e.to_string())?;
        sweeps += 1;
        let depart_now = departures && departed.is_none() && arrived + n >= args.conversations / 2;
        let leaving_now = depart_now || departed.is_some();
        fair.close_assigned(|agent| leaving_now && leaving.contains(agent))
            .await?;
        if depart_now {
            departed = Some(fair.depart(&leaving).await?);
        }
        // One sweep's arrivals at 1,000 conversations per minute.
        fair.clock.advance(Millis::from(args.per_sweep) * 60);
    }
    // The last ones (and any returned late): sweep until nothing more is assigned.
    for _ in 0..10 {
        let closed_tabs: &[UserId] = if departed.is_some() {
            &leaving.offline
        } else {
            &[]
        };
        fair.heartbeats(closed_tabs).await?;
        sweeps += 1;
        if fair
            .runner
            .sweep()
            .await
            .map_err(|e| e.to_string())?
            .assigned
            == 0
        {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let assignments = fair.assignments(&conversations, departed).await?;
    Ok(PassResult {
        agents: fair.agents.clone(),
        assignments,
        departures: if departed.is_some() {
            leaving
        } else {
            Departures::default()
        },
        seconds,
        sweeps,
    })
}

fn counts_line(agents: &[UserId], counts: &BTreeMap<UserId, u32>) -> String {
    agents
        .iter()
        .map(|a| counts.get(a).copied().unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn fairness(args: FairnessBenchArgs) -> Result<(), String> {
    if args.agents < 4 || args.conversations == 0 || args.per_sweep == 0 {
        return Err("use --agents ≥ 4, --conversations > 0 e --per-sweep > 0".into());
    }
    let backend = if args.database.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "bench desk-fairness — banco: {backend}, {} conversas, {} atendentes iguais numa fila em rodízio, {} chegadas por varredura do distribuidor",
        args.conversations, args.agents, args.per_sweep
    );

    let all = fairness_pass(&args, false).await?;
    let (lo, hi) = spread(all.assignments.total.values().copied());
    let assigned: u32 = all.assignments.total.values().sum();
    println!(
        "  todos online: {assigned} atribuições em {:.1} s ({:.0} conversas/s no ciclo inteiro: chegada, atribuição, avisos, encerramento; {} varreduras); sem atendente: {}",
        all.seconds,
        f64::from(assigned) / all.seconds,
        all.sweeps,
        all.assignments.unassigned
    );
    println!(
        "    por atendente: {}",
        counts_line(&all.agents, &all.assignments.total)
    );
    println!("    mín {lo}, máx {hi}, diferença {}", hi - lo);

    let pass = fairness_pass(&args, true).await?;
    let left = &pass.departures;
    let staying: Vec<UserId> = pass
        .agents
        .iter()
        .copied()
        .filter(|a| !left.contains(*a))
        .collect();
    let to_departed: u32 = pass
        .assignments
        .after
        .iter()
        .filter(|(a, _)| left.contains(**a))
        .map(|(_, n)| *n)
        .sum();
    let (lo2, hi2) = spread(staying.iter().map(|a| pass.assignments.after[a]));
    let (lo_all, hi_all) = spread(pass.assignments.total.values().copied());
    let assigned2: u32 = pass.assignments.total.values().sum();
    println!(
        "  com saídas na metade ({} ausentes, {} sem heartbeat): {assigned2} atribuições em {:.1} s ({} varreduras); conversas devolvidas à fila: {}; sem atendente: {}",
        left.away.len(),
        left.offline.len(),
        pass.seconds,
        pass.sweeps,
        pass.assignments.returned,
        pass.assignments.unassigned
    );
    println!(
        "    por atendente, no total: {}",
        counts_line(&pass.agents, &pass.assignments.total)
    );
    println!(
        "    por atendente, depois das saídas: {}",
        counts_line(&pass.agents, &pass.assignments.after)
    );
    println!(
        "    atribuições a ausentes ou offline depois das saídas: {to_departed}; entre os que ficaram: mín {lo2}, máx {hi2}, diferença {} (no total: mín {lo_all}, máx {hi_all})",
        hi2 - lo2
    );

    if all.assignments.unassigned > 0 || pass.assignments.unassigned > 0 {
        return Err("conversas ficaram sem atendente".into());
    }
    if to_departed > 0 {
        return Err(format!(
            "{to_departed} conversas atribuídas a atendentes ausentes ou offline"
        ));
    }
    if hi - lo > 1 || hi2 - lo2 > 1 {
        return Err("o rodízio não foi justo (diferença maior que 1)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_form_is_url_encoded() {
        assert_eq!(
            form_encode(&[("email", "agente001@bench.balcao"), ("next", "/app?a=b c")]),
            "email=agente001%40bench.balcao&next=%2Fapp%3Fa%3Db+c"
        );
    }

    #[test]
    fn csrf_token_is_read_from_the_page_meta() {
        let page = r#"<head><meta name="csrf-token" content="abc123"></head>"#;
        assert_eq!(csrf_meta(page).as_deref(), Some("abc123"));
        assert_eq!(csrf_meta("<head></head>"), None);
    }

    #[test]
    fn stream_blocks_become_deliveries_with_their_latency() {
        let last = AtomicI64::new(0);
        let mut record = StreamRecord::default();
        record.absorb(
            "event: desk\nid: 7\ndata: {\"conversation_id\":3,\"seq\":41,\"at\":1000}\n\n",
            1004.5,
            &last,
        );
        record.absorb(":\n\n", 1005.0, &last);
        record.absorb("event: resync\ndata: {}\n\n", 1006.0, &last);
        record.absorb(
            "event: message_out\ndata: {\"conversation_id\":3}\n\n",
            1007.0,
            &last,
        );
        assert_eq!(record.seen, vec![41]);
        assert_eq!(record.latencies, vec![4.5]);
        assert_eq!(record.resyncs, 1);
        assert_eq!(record.unstamped, 1);
        assert_eq!(last.load(Ordering::Relaxed), 1007);
    }

    fn stream(seen: &[u64]) -> StreamRecord {
        StreamRecord {
            seen: seen.to_vec(),
            latencies: seen.iter().map(|s| *s as f32).collect(),
            ..StreamRecord::default()
        }
    }

    #[test]
    fn a_stream_lacking_an_event_another_got_is_incomplete() {
        let fan = FanOut::of(&[stream(&[1, 2, 3]), stream(&[1, 3, 3]), stream(&[3, 2, 1])]);
        assert_eq!(fan.events, 3);
        assert_eq!(fan.delivered, 9);
        assert_eq!(fan.duplicates, 1);
        assert_eq!(fan.missing, 1);
        assert_eq!(fan.incomplete_streams, 1);
        assert!(!fan.complete());
        assert_eq!(fan.latencies.first(), Some(&1.0));
        assert_eq!(fan.latencies.last(), Some(&3.0));
        let all = FanOut::of(&[stream(&[1, 2]), stream(&[2, 1])]);
        assert!(all.complete());
    }

    #[test]
    fn departures_take_the_last_two_quarters() {
        let agents: Vec<UserId> = (1..=20).map(UserId).collect();
        let leaving = Departures::last_quarters(&agents);
        assert_eq!(leaving.away, (11..=15).map(UserId).collect::<Vec<_>>());
        assert_eq!(leaving.offline, (16..=20).map(UserId).collect::<Vec<_>>());
        assert!(!leaving.contains(UserId(10)));
        assert_eq!(spread([3u32, 5, 4].into_iter()), (3, 5));
    }
}
