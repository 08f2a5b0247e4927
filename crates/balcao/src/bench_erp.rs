//! `balcao bench erp`: lookups per adapter against its fake (the fake runs as a child process, so
//! this process's CPU time is the adapter's own work), with and without the read cache, and a
//! payment sync cycle over a large data set.

use crate::bench::{TempDir, free_addr, peak_rss_mb};
use balcao_domain::br::document::Document;
use balcao_erp::{ConnectOptions, ErpAdapter, ResiliencePolicy, System};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct ErpBenchArgs {
    /// Systems to measure (default: all six).
    #[arg(long, value_delimiter = ',')]
    pub systems: Vec<String>,
    /// Subscribers in each fake for the lookup runs.
    #[arg(long, default_value_t = 5_000)]
    pub subscribers: usize,
    /// Seconds per lookup run.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Subscribers for the payment sync cycle (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub sync_subscribers: usize,
}

pub(crate) struct FakeProcess {
    child: std::process::Child,
    pub(crate) base_url: String,
    pub(crate) auth: BTreeMap<String, String>,
    documents: Vec<String>,
    pub(crate) phones: Vec<(String, String)>,
    _dir: TempDir,
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `balcao fake-erp` as a child. With `with_documents`, reads the data set dump for the
/// subscribers' documents; without, only the printed address and credentials (a 100,000-subscriber
/// dump would dwarf the memory being measured).
pub(crate) async fn spawn_fake(
    system: &str,
    subscribers: usize,
    with_documents: bool,
    latency_ms: u64,
) -> Result<FakeProcess, String> {
    let dir = TempDir::new("balcao-bench-erp");
    let dump = dir.0.join("dump.json");
    let mut command =
        std::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    command
        .args([
            "fake-erp",
            "--system",
            system,
            "--listen",
            &free_addr().to_string(),
        ])
        .args([
            "--subscribers",
            &subscribers.to_string(),
            "--seed",
            "11",
            "--rate-limit-per-minute",
            "0",
        ])
        .args(["--latency-ms", &latency_ms.to_string()])
        .stdout(Stdio::piped());
    if with_documents {
        command.arg("--dump").arg(&dump);
    }
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    if !with_documents {
        use std::io::BufRead;
        let stdout = child.stdout.take().ok_or("sem saída do simulador")?;
        let lines = tokio::task::spawn_blocking(move || {
            let mut base_url = String::new();
            let mut auth = BTreeMap::new();
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(v) = line.trim().strip_prefix("base_url:") {
                    base_url = v.trim().to_string();
                } else if let Some(v) = line.trim().strip_prefix("auth:") {
                    auth = crate::erp_cli::parse_auth(v.trim()).unwrap_or_default();
                } else if line.starts_with("Ctrl+C") {
                    break;
                }
            }
            (base_url, auth)
        })
        .await
        .map_err(|e| e.to_string())?;
        return Ok(FakeProcess {
            child,
            base_url: lines.0,
            auth: lines.1,
            documents: Vec::new(),
            phones: Vec::new(),
            _dir: dir,
        });
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let data: serde_json::Value = loop {
        if let Ok(text) = std::fs::read_to_string(&dump)
            && let Ok(v) = serde_json::from_str(&text)
        {
            break v;
        }
        if Instant::now() > deadline {
            return Err(format!("{system}: o simulador não ficou pronto"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let auth = data["auth"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let documents = data["subscribers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["document"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let phones = data["subscribers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some((
                        s["phones"][0].as_str()?.to_string(),
                        s["name"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(FakeProcess {
        child,
        base_url: data["base_url"].as_str().unwrap_or_default().to_string(),
        auth,
        documents,
        phones,
        _dir: dir,
    })
}

/// CPU time (user + system) of this process, in seconds.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

struct LookupRun {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_call: f64,
    errors: u64,
}

async fn lookup_run(
    adapter: Arc<dyn ErpAdapter>,
    documents: Arc<Vec<String>>,
    working_set: usize,
    seconds: u64,
    concurrency: usize,
) -> LookupRun {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (adapter, documents) = (adapter.clone(), documents.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = worker;
            while Instant::now() < deadline {
                let doc = &documents[i % working_set.min(documents.len()).max(1)];
                i += concurrency;
                let Ok(document) = Document::parse(doc) else {
                    continue;
                };
                let t = Instant::now();
                let ok = match adapter.find_customer_by_document(&document).await {
                    Ok(Some(customer)) => adapter.open_invoices(&customer).await.is_ok(),
                    Ok(None) => true,
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    all.sort_by(|a, b| a.total_cmp(b));
    let pick = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    LookupRun {
        per_second: all.len() as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        cpu_ms_per_call: cpu * 1000.0 / all.len().max(1) as f64,
        errors,
    }
}

pub async fn run(args: ErpBenchArgs) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let systems: Vec<String> = if args.systems.is_empty() {
        ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"]
            .map(String::from)
            .to_vec()
    } else {
        args.systems.clone()
    };
    println!(
        "bench erp — consulta = cliente por CPF/CNPJ + faturas em aberto; {} assinantes por simulador, {} s por rodada, {} em paralelo",
        args.subscribers, args.seconds, args.concurrency
    );
    for name in &systems {
        let system: System = name
            .parse()
            .map_err(|_| format!("sistema desconhecido: {name}"))?;
        let fake = spawn_fake(name, args.subscribers, true, 0).await?;
        let documents = Arc::new(fake.documents.clone());
        let no_limit = Some(balcao_erp::RateLimit {
            per_minute: 1_000_000,
            burst: 1_000,
        });
        let uncached = balcao_erp::connect_with(
            system,
            &fake.base_url,
            &fake.auth,
            &ConnectOptions {
                policy: ResiliencePolicy {
                    cache_ttl: Duration::ZERO,
                    ..Default::default()
                },
                rate_limit: no_limit,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let cached = balcao_erp::connect_with(
            system,
            &fake.base_url,
            &fake.auth,
            &ConnectOptions {
                rate_limit: no_limit,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
        // Warm up connections and tokens.
        let _ = lookup_run(
            uncached.clone(),
            documents.clone(),
            documents.len(),
            1,
            args.concurrency,
        )
        .await;
        let cold = lookup_run(
            uncached,
            documents.clone(),
            documents.len(),
            args.seconds,
            args.concurrency,
        )
        .await;
        // With the cache: a conversation repeats its lookups; 200 subscribers in conversation at once.
        let warm = lookup_run(
            cached,
            documents.clone(),
            200,
            args.seconds,
            args.concurrency,
        )
        .await;
        println!(
            "  {name:<9} sem cache: {:>7.0} consultas/s, p50 {:>6.2} ms, p99 {:>6.2} ms, CPU do adaptador {:.3} ms/consulta, {} erros",
            cold.per_second, cold.p50_ms, cold.p99_ms, cold.cpu_ms_per_call, cold.errors
        );
        println!(
            "  {name:<9} com cache: {:>7.0} consultas/s, p50 {:>6.3} ms, p99 {:>6.3} ms, {} erros",
            warm.per_second, warm.p50_ms, warm.p99_ms, warm.errors
        );
    }
    if args.sync_subscribers > 0 {
        println!(
            "sincronização de pagamentos — {} assinantes, primeiro ciclo cobre 40 dias",
            args.sync_subscribers
        );
        for name in ["sgp", "ixc", "hubsoft"] {
            if !systems.iter().any(|s| s == name) {
                continue;
            }
            sync_cycle(name, args.sync_subscribers).await?;
        }
    }
    Ok(())
}

async fn sync_cycle(name: &str, subscribers: usize) -> Result<(), String> {
    use balcao_engine::erp::ErpDirectory;
    use balcao_engine::payments::{PaymentPoller, PaymentSyncConfig};
    let fake = spawn_fake(name, subscribers, false, 0).await?;
    let dir = TempDir::new("balcao-bench-sync");
    let store: Arc<dyn balcao_store::Store> = Arc::new(
        balcao_store_sqlite::SqliteStore::open(&dir.0.join("sync.db"))
            .await
            .map_err(|e| e.to_string())?,
    );
    store.migrate().await.map_err(|e| e.to_string())?;
    let ws = store
        .create_workspace(balcao_store::NewWorkspace {
            slug: "bench".into(),
            name: "Bench".into(),
            time_zone: "America/Sao_Paulo".into(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let key = Arc::new(
        balcao_engine::secrets::MasterKey::load_or_create(&dir.0).map_err(|e| e.to_string())?,
    );
    let clock: balcao_engine::SharedClock = Arc::new(balcao_engine::SystemClock);
    let erp = ErpDirectory::new(store.clone(), key, clock.clone());
    erp.configure(ws.id, name, &fake.base_url, &fake.auth)
        .await
        .map_err(|e| e.to_string())?;
    let poller = PaymentPoller {
        store: store.clone(),
        erp,
        clock,
        bus: balcao_engine::bus::EventBus::default(),
        config: PaymentSyncConfig {
            initial_lookback: Duration::from_secs(40 * 24 * 3600),
            ..Default::default()
        },
    };
    // Measure this cycle's peak alone (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let t = Instant::now();
    let (first, _) = poller
        .poll_once(ws.id, &[])
        .await
        .map_err(|e| e.to_string())?;
    let first_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (steady, _) = poller
        .poll_once(ws.id, &[])
        .await
        .map_err(|e| e.to_string())?;
    let steady_secs = t.elapsed().as_secs_f64();
    println!(
        "  {name:<9} primeiro ciclo: {first_secs:>6.2} s ({} dias, {} pagamentos vistos, {} eventos gravados); ciclo seguinte (janela de 3 dias): {steady_secs:.2} s ({} vistos, {} novos); RSS máximo do processo {:.0} MB",
        first.windows,
        first.seen,
        first.recorded,
        steady.seen,
        steady.recorded,
        peak_rss_mb(std::process::id()).unwrap_or(f64::NAN)
    );
    Ok(())
}
