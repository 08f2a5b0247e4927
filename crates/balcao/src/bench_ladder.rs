//! `balcao bench ladder`: planning a daily run of the billing ladder over a large snapshot of open
//! invoices (time and peak memory), then, optionally, sending part of that run through the real
//! outbox and sender to the simulator (achieved pace against the number's limit, duplicates,
//! messages outside legal hours).

use crate::bench::{TempDir, database_url, drop_pg_schema, free_addr};
use crate::demo;
use balcao_domain::{Millis, WaId};
use balcao_engine::Clock;
use balcao_engine::ladder::{PlanCursor, PlannedOrder, build_template};
use balcao_engine::outbox::{Outbox, SendRequest};
use balcao_ladder::{PlanConfig, Planner};
use balcao_store::{LadderRecorded, LadderSendStatus, NewLadderSend, NewReceivable, Store};
use jiff::ToSpan;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct LadderBenchArgs {
    /// `sqlite` or a `postgres://…` URL.
    #[arg(long, default_value = "sqlite")]
    pub database: String,
    /// Open invoices in the snapshot (one subscriber each).
    #[arg(long, default_value_t = 1_000_000)]
    pub invoices: u64,
    /// The run's moment (a weekday inside legal hours).
    #[arg(long, default_value = "2026-11-24T10:00:00-03:00")]
    pub at: String,
    /// Snapshot rows per planning page.
    #[arg(long, default_value_t = 5000)]
    pub page_size: u32,
    /// Also send part of the run at this number throughput (msg/s), e.g. 80 or 1000.
    #[arg(long)]
    pub send_rate: Option<u32>,
    /// Messages sent in the send phase (default: 20 s worth at the rate).
    #[arg(long)]
    pub send_messages: Option<u64>,
}

const ZONE: &str = "America/Sao_Paulo";

/// A synthetic open invoice: due dates spread over D-30..D+7 around `today`, so every step of
/// the ladder (and plenty of days with no step) shows up.
fn synthetic(i: u64, today: Date) -> NewReceivable {
    let offset = (i % 38) as i64 - 30;
    NewReceivable {
        invoice_id: format!("{:09}", 5_000_000_000u64 + i),
        customer_id: format!("{i:09}"),
        customer_name: "MARIA DA SILVA".into(),
        contract_id: Some(format!("{}", 1_000_000 + i)),
        due: today.checked_add(offset.days()).unwrap_or(today),
        amount_cents: 9990 + (i % 7) as i64 * 1000,
        person: Some(if i.is_multiple_of(10) {
            balcao_domain::br::DocumentKind::Cnpj
        } else {
            balcao_domain::br::DocumentKind::Cpf
        }),
        plan_value_cents: Some(9990),
        city: Some(["Fortaleza", "Recife", "Natal"][(i % 3) as usize].into()),
        region: None,
        late_payments_last_12m: (i % 5) as u32,
        suspended: offset > 10 && i.is_multiple_of(2),
        wa_id: WaId::parse(&format!("55859{:08}", i % 100_000_000)).ok(),
        time_zone: None,
    }
}

/// Resets the process's peak RSS (VmHWM) so the next phase's peak is its own (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn local(at: Millis) -> jiff::Zoned {
    jiff::Timestamp::from_millisecond(at)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::get(ZONE).unwrap_or(jiff::tz::TimeZone::UTC))
}

pub async fn run(args: LadderBenchArgs) -> Result<(), String> {
    let dir = TempDir::new("balcao-bench-ladder");
    let db_url = database_url(&args.database, &dir.0).await?;
    let result = bench(&args, &dir, db_url).await;
    drop_pg_schema(&args.database, &dir.0).await;
    let _ = std::fs::remove_dir_all(&dir.0);
    result
}

async fn bench(
    args: &LadderBenchArgs,
    dir: &TempDir,
    db_url: Option<String>,
) -> Result<(), String> {
    let at = crate::demo_clock::parse_instant(&args.at)?;
    let today = local(at).date();
    let clock = Arc::new(balcao_engine::OffsetClock::starting_at(at));
    let addr = free_addr();
    let rate = args.send_rate.unwrap_or(80);
    let setup = demo::demo_setup(addr, dir.0.join("data"), db_url.clone(), None, rate);
    let store = crate::app::open_store(db_url.as_deref(), &setup.config.data_dir).await?;
    let erp = balcao_engine::erp::ErpDirectory::new(
        store.clone(),
        crate::app::master_key(&setup.config)?,
        clock.clone(),
    );
    crate::app::provision(store.as_ref(), &setup.config, &erp).await?;
    let ws = store
        .workspace_by_slug("demo")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("workspace")?
        .id;
    let backend = if db_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "bench ladder — banco: {backend}, {} faturas em aberto, execução em {}",
        args.invoices,
        crate::demo_clock::show(at)
    );

    // Fill the snapshot as a sync would (chunks of upserts).
    let fill_started = Instant::now();
    let chunk = 5000u64;
    let mut next = 0u64;
    while next < args.invoices {
        let end = (next + chunk).min(args.invoices);
        let rows: Vec<NewReceivable> = (next..end).map(|i| synthetic(i, today)).collect();
        store
            .upsert_receivables(ws, &rows, at)
            .await
            .map_err(|e| e.to_string())?;
        next = end;
    }
    println!(
        "  snapshot preenchido em {:.1} s",
        fill_started.elapsed().as_secs_f64()
    );

    // The snapshot read alone (what planning costs beyond the planner itself).
    let read_started = Instant::now();
    let mut after: Option<(String, String)> = None;
    let mut read_rows = 0usize;
    loop {
        let page = store
            .ladder_receivables_page(
                ws,
                after.as_ref().map(|(c, i)| (c.as_str(), i.as_str())),
                args.page_size,
            )
            .await
            .map_err(|e| e.to_string())?;
        read_rows += page.len();
        match page.last() {
            Some(last) if page.len() == args.page_size as usize => {
                after = Some((
                    last.receivable.customer_id.clone(),
                    last.receivable.invoice_id.clone(),
                ));
            }
            _ => break,
        }
    }
    println!(
        "  leitura do snapshot (sem planejar): {read_rows} linhas em {:.2} s",
        read_started.elapsed().as_secs_f64()
    );

    // Plan the day's run, page by page.
    let plan = PlanConfig::default();
    let planner = Planner::new(&plan).map_err(|e| e.to_string())?;
    reset_peak_rss();
    let plan_started = Instant::now();
    let mut cursor = PlanCursor::new(store.clone(), ws, &planner, at, args.page_size);
    let (mut rows, mut obsolete, mut skipped) = (0usize, 0usize, 0u64);
    let mut planned: Vec<PlannedOrder> = Vec::new();
    let keep = args
        .send_messages
        .unwrap_or(u64::from(rate) * 20)
        .min(args.invoices) as usize;
    let mut planned_total = 0usize;
    let mut by_step: HashMap<String, usize> = HashMap::new();
    while let Some(page) = cursor.next_page().await.map_err(|e| e.to_string())? {
        rows += page.rows;
        obsolete += page.obsolete.len();
        skipped += page.skipped.values().sum::<u64>();
        planned_total += page.sends.len();
        for order in page.sends {
            *by_step.entry(order.step.key.clone()).or_default() += 1;
            if args.send_rate.is_some() && planned.len() < keep {
                planned.push(order);
            }
        }
    }
    let plan_secs = plan_started.elapsed().as_secs_f64();
    let rss = crate::bench::peak_rss_mb(std::process::id());
    let mut steps: Vec<_> = by_step.into_iter().collect();
    steps.sort();
    println!(
        "  planejamento: {rows} linhas em {plan_secs:.2} s ({:.0} linhas/s)",
        rows as f64 / plan_secs.max(1e-9)
    );
    println!(
        "  envios planejados: {planned_total} ({steps:?}); etapas obsoletas: {obsolete}; ignoradas: {skipped}"
    );
    println!(
        "  RSS máximo durante o planejamento: {:.1} MB",
        rss.unwrap_or(f64::NAN)
    );

    if args.send_rate.is_some() {
        send_phase(&setup, store.clone(), clock, ws, planned, rate, addr).await?;
    }
    Ok(())
}

/// Queues the kept planned orders as the runner does (ladder record and message in one
/// transaction), then starts the app's sender against the simulator and measures.
async fn send_phase(
    setup: &demo::DemoSetup,
    store: Arc<dyn Store>,
    clock: Arc<balcao_engine::OffsetClock>,
    ws: balcao_domain::WorkspaceId,
    planned: Vec<PlannedOrder>,
    rate: u32,
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    use balcao_simulator::Simulator;
    let bus = balcao_engine::bus::EventBus::default();
    let outbox = Outbox::new(store.clone(), clock.clone(), bus);
    let number = store
        .numbers(ws)
        .await
        .map_err(|e| e.to_string())?
        .first()
        .map(|n| n.id)
        .ok_or("número")?;
    let business = crate::demo_clock::demo_business();
    let restoration = balcao_engine::ladder::LadderConfig::default().restoration_time;
    let total = planned.len() as u64;
    let now = clock.now();
    let mut outside_window = 0u64;
    for order in &planned {
        let at = jiff::Timestamp::from_millisecond(now).map_err(|e| e.to_string())?;
        if at < order.send_not_before || at > order.send_not_after {
            outside_window += 1;
        }
        let r = &order.row.receivable;
        let invoice = balcao_erp::Invoice {
            erp_id: r.invoice_id.clone(),
            contract_id: r.contract_id.clone(),
            due_date: r.due,
            amount_cents: r.amount_cents,
            amount_due_cents: None,
            fine_cents: None,
            interest_cents: None,
            paid_cents: None,
            status: balcao_erp::InvoiceStatus::Open,
            paid_at: None,
            payment_methods: Vec::new(),
        };
        let template = build_template(order, &invoice, &business, &restoration, None);
        let request = SendRequest {
            number_id: number,
            to: r.wa_id.clone().ok_or("wa_id")?,
            content: balcao_domain::outbound::OutboundContent::Template(template),
            fallback_template: None,
            idempotency_key: Some(order.idempotency_key.clone()),
            author: "ladder".into(),
        };
        let new = outbox
            .prepare(ws, request, balcao_domain::window::Window::at(None, now))
            .await
            .map_err(|e| e.to_string())?;
        let send = NewLadderSend {
            invoice_id: r.invoice_id.clone(),
            customer_id: r.customer_id.clone(),
            step_key: order.step.key.clone(),
            status: LadderSendStatus::Sent,
            variant: order.variant.clone(),
            local_date: order.local_date,
            detail: None,
        };
        match store
            .record_ladder_send(ws, &send, Some(new), now)
            .await
            .map_err(|e| e.to_string())?
        {
            LadderRecorded::Recorded { .. } => {}
            LadderRecorded::AlreadyHandled(_) => return Err("envio planejado duas vezes".into()),
        }
    }

    let simulator = Simulator::new(setup.simulator.clone());
    simulator.spawn_workers();
    // The phone's clock reads the run's moment too (legal hours are judged on it).
    simulator.advance_clock(Duration::from_millis(clock.offset().max(0) as u64));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| e.to_string())?;
    let options = crate::app::Options {
        bot: balcao_engine::bot::BotConfig {
            enabled: false,
            ..Default::default()
        },
        desk: false,
        clock: clock.clone(),
        extra_routes: Some(simulator.router()),
        ..Default::default()
    };
    let running = crate::app::start(&setup.config, store, listener, options).await?;
    let deadline = Instant::now() + Duration::from_secs(total / u64::from(rate.max(1)) * 3 + 60);
    while simulator.stats().accepted < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats = simulator.stats();
    running.stop().await;
    let (first, last) = stats
        .accepted_window(demo::DEMO_PHONE_NUMBER_ID)
        .ok_or("o simulador não registrou envios")?;
    let span = (last - first) as f64 / 1000.0;
    let achieved = stats.accepted.saturating_sub(1) as f64 / span.max(1e-9);
    let deviation = (achieved - f64::from(rate)) / f64::from(rate) * 100.0;
    // Duplicates and legal hours, from what the phones received.
    let mut duplicates = 0u64;
    let mut outside_hours = 0u64;
    let mut received = 0u64;
    for order in &planned {
        let Some(to) = &order.row.receivable.wa_id else {
            continue;
        };
        let Some(chat) = simulator.chat(to.as_str()) else {
            continue;
        };
        let out: Vec<_> = chat
            .messages
            .iter()
            .filter(|m| m.direction == balcao_simulator::Direction::Out && m.shown)
            .collect();
        received += out.len() as u64;
        duplicates += (out.len() as u64).saturating_sub(1);
        for m in out {
            let secs: i64 = m.timestamp.parse().unwrap_or(0);
            let when = local(secs * 1000);
            let weekend = matches!(
                when.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            );
            if weekend || !(8..18).contains(&when.hour()) {
                outside_hours += 1;
            }
        }
    }
    println!("  envio — limite {rate} msg/s, {total} mensagens da execução");
    println!(
        "    aceitas pelo simulador: {} (recebidas nos telefones: {received})",
        stats.accepted
    );
    println!("    ritmo alcançado: {achieved:.1} msg/s ({deviation:+.2}% do limite)");
    println!("    duplicadas: {duplicates}");
    println!(
        "    fora do horário legal: {outside_hours} (planejadas fora da janela: {outside_window})"
    );
    println!("    erros 130429 (vazão): {}", stats.rejected(130429));
    Ok(())
}
