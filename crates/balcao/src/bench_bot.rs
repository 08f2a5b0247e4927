//! `balcao bench bot` and `balcao bench intents`.
//!
//! `bot`: subscribers on the simulator (this process) write to the app (`balcao serve`, a child
//! process) whose management system is a fake SGP (another child) answering after a fixed
//! latency. Each conversation opens with "segunda via da fatura" (identification and invoice
//! lookups) and goes on with everyday messages. The simulator times each subscriber message to
//! the first message that reaches that phone ("reply on the phone"). The number's throughput is
//! raised so WhatsApp's own tier does not hide the product's latency.

use crate::bench::{TempDir, config_toml, free_addr, peak_rss_mb, wait_healthy};
use crate::bench_erp::spawn_fake;
use crate::config::ErpConfig;
use crate::demo;
use balcao_simulator::{InboundRequest, Simulator};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BotBenchArgs {
    /// Subscriber messages per second.
    #[arg(long, default_value_t = 100)]
    pub rate: u64,
    /// Conversations in parallel.
    #[arg(long, default_value_t = 1000)]
    pub conversations: usize,
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Response time of the management system, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub erp_latency_ms: u64,
}

const FOLLOW_UPS: [&str; 4] = [
    "qual meu protocolo",
    "menu",
    "obrigado",
    "qual o número do protocolo?",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A quantile of a summary in Prometheus text (the exporter renders histograms as summaries).
fn quantile(metrics: &str, name: &str, q: &str) -> Option<f64> {
    let prefix = format!("{name}{{quantile=\"{q}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

pub async fn bot(args: BotBenchArgs) -> Result<(), String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = spawn_fake("sgp", args.conversations + 50, true, args.erp_latency_ms).await?;
    let phones: Vec<(String, String)> = fake
        .phones
        .iter()
        .take(args.conversations)
        .cloned()
        .collect();
    if phones.len() < args.conversations {
        return Err(
            "o simulador de sistema de gestão tem menos assinantes com telefone do que conversas"
                .into(),
        );
    }

    let dir = TempDir::new("balcao-bench-bot");
    let app_addr = free_addr();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let sim_addr = sim_listener.local_addr().map_err(|e| e.to_string())?;
    let mut setup = demo::demo_setup(app_addr, dir.0.join("data"), None, None, 20_000);
    setup.config.whatsapp.graph_base_url = format!("http://{sim_addr}/graph");
    setup.config.workspaces[0].erp = Some(ErpConfig {
        system: "sgp".into(),
        base_url: fake.base_url.clone(),
        auth: fake.auth.clone(),
    });
    let config_path = dir.0.join("balcao.toml");
    std::fs::write(&config_path, config_toml(&setup.config)).map_err(|e| e.to_string())?;
    let sim = Simulator::new(setup.simulator.clone());
    sim.spawn_workers();
    let router = sim.router();
    tokio::spawn(async move {
        let _ = axum::serve(sim_listener, router).await;
    });
    let mut child =
        tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
    wait_healthy(app_addr).await?;
    let pid = child.id().unwrap_or(0);

    println!(
        "bench bot — {} msg/s, {} conversas, {} s, sistema de gestão SGP simulado com {} ms de latência",
        args.rate, args.conversations, args.seconds, args.erp_latency_ms
    );
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let started = Instant::now();
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = started + interval * i as u32;
        tokio::time::sleep_until(scheduled.into()).await;
        let conversation = (i as usize) % args.conversations;
        let round = (i as usize) / args.conversations;
        let (wa_id, name) = phones[conversation].clone();
        let text = if round == 0 {
            "oi, preciso da segunda via da fatura".to_string()
        } else {
            FOLLOW_UPS[(round - 1) % FOLLOW_UPS.len()].to_string()
        };
        let (sim, failures) = (sim.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            if sim
                .send_inbound(InboundRequest::text(&wa_id, &name, &text))
                .await
                .is_err()
            {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let offered = started.elapsed().as_secs_f64();
    // Let the last replies arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.unanswered() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = sim.reply_latencies_ms();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let duplicates = sim
        .sends_by_callback_data()
        .values()
        .filter(|n| **n > 1)
        .count();
    let metrics = reqwest::get(format!("http://{app_addr}/metrics"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let rss = peak_rss_mb(pid);
    let _ = child.kill().await;

    println!(
        "  mensagens enviadas: {total} em {offered:.1} s ({:.0}/s), recusadas pelo app: {}",
        total as f64 / offered,
        failures.load(Ordering::Relaxed)
    );
    println!(
        "  mensagem do assinante → resposta no telefone: p50 {:.1} ms, p99 {:.1} ms, máx {:.1} ms ({} respostas medidas)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        latencies.len()
    );
    let ms = |v: Option<f64>| {
        v.map(|s| format!("{:.3} ms", s * 1000.0))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "  decisão do bot por mensagem (conversa retirada da fila → respostas gravadas no outbox, sem o tempo do sistema de gestão): p50 {}, p99 {}",
        ms(quantile(&metrics, "balcao_bot_reply_seconds", "0.5")),
        ms(quantile(&metrics, "balcao_bot_reply_seconds", "0.99"))
    );
    println!(
        "  mensagem gravada → resposta no outbox (inclui a espera por um worker, relógio em ms, sem o sistema de gestão): p50 {}, p99 {}",
        ms(quantile(
            &metrics,
            "balcao_bot_stored_to_outbox_seconds",
            "0.5"
        )),
        ms(quantile(
            &metrics,
            "balcao_bot_stored_to_outbox_seconds",
            "0.99"
        ))
    );
    for (part, name) in [
        (
            "leitura (conversa, sessão, mensagens)",
            "balcao_bot_load_seconds",
        ),
        (
            "respostas antes do sistema de gestão",
            "balcao_bot_flush_seconds",
        ),
        ("gravação do turno", "balcao_bot_save_seconds"),
    ] {
        println!(
            "    {part}: p50 {}, p99 {}",
            ms(quantile(&metrics, name, "0.5")),
            ms(quantile(&metrics, name, "0.99"))
        );
    }
    println!(
        "  só a máquina de estados do bot: p50 {}, p99 {}",
        ms(quantile(&metrics, "balcao_bot_decision_seconds", "0.5")),
        ms(quantile(&metrics, "balcao_bot_decision_seconds", "0.99"))
    );
    println!(
        "  sem resposta ao final: {}; respostas enviadas em duplicidade: {duplicates}",
        sim.unanswered()
    );
    println!(
        "  RSS máximo do servidor: {:.1} MB",
        rss.unwrap_or(f64::NAN)
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct IntentBenchArgs {}

/// Accuracy of the intent matcher on the held-out part of the labelled corpus, with the
/// confusions, and the time per message.
pub async fn intents(_: IntentBenchArgs) -> Result<(), String> {
    let matcher = balcao_intent::Matcher::default();
    let split = balcao_intent::corpus::builtin_split();
    let evaluation = balcao_intent::evaluate(&matcher, &split.held_out);
    println!(
        "bench intents — corpus: {} para treino, {} separadas para teste",
        split.train.len(),
        split.held_out.len()
    );
    println!(
        "  acurácia no teste: {:.1}% ({} de {}), {:.1} µs por mensagem",
        evaluation.accuracy * 100.0,
        evaluation.correct,
        evaluation.total,
        evaluation.mean_micros
    );
    for c in &evaluation.confusions {
        println!(
            "  confusão: esperado {:?}, obtido {:?}: {:?}",
            c.expected, c.got, c.text
        );
    }
    Ok(())
}
