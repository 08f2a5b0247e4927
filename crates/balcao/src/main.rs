//! `balcao`: one binary for the provider's server, the demo and the benchmarks.

use balcao::{app, bench, config, demo, erp_cli, ladder_cli, user_cli};

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "balcao",
    version,
    about = "Balcão: atendimento e cobrança pelo WhatsApp para provedores de internet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server with a configuration file.
    Serve {
        #[arg(long, default_value = "balcao.toml", env = "BALCAO_CONFIG")]
        config: PathBuf,
    },
    /// Runs everything on this machine: app on SQLite, simulated WhatsApp with a phone page.
    Demo(demo::DemoArgs),
    /// Applies database migrations and exits.
    Migrate {
        #[arg(long, env = "BALCAO_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Lists webhook deliveries that could not be parsed (dead letters).
    DeadLetters {
        #[arg(long, env = "BALCAO_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Serves a faithful fake of a provider management system with generated subscribers.
    FakeErp(erp_cli::FakeErpArgs),
    /// Provider management system tools.
    #[command(subcommand)]
    Erp(erp_cli::ErpCommand),
    /// Staff accounts of the service desk.
    #[command(subcommand)]
    User(user_cli::UserCommand),
    /// Benchmarks (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Billing ladder (régua de cobrança) tools.
    #[command(subcommand)]
    Ladder(ladder_cli::LadderCommand),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Fixes glibc's mmap threshold at 1 MiB. Left dynamic, glibc raises it after a large block is
/// freed, so argon2's 19 MiB working area of every login check is then taken from — and kept
/// in — the heap: a server that had 500 logins held ~300 MB it no longer used. With the
/// threshold fixed, such blocks are mapped and returned to the system on free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only sets an allocator parameter; it takes the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn main() -> std::process::ExitCode {
    return_large_blocks_to_the_system();
    let cli = Cli::parse();
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { config } => serve(config).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Migrate {
                database_url,
                data_dir,
            } => app::open_store(database_url.as_deref(), &data_dir)
                .await
                .map(|store| {
                    println!("migrações aplicadas ({})", store.backend());
                }),
            Command::DeadLetters {
                database_url,
                data_dir,
                limit,
            } => {
                let store = app::open_store(database_url.as_deref(), &data_dir).await?;
                let letters = store.dead_letters(limit).await.map_err(|e| e.to_string())?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&letters).map_err(|e| e.to_string())?
                );
                Ok(())
            }
            Command::FakeErp(args) => erp_cli::fake_erp(args).await,
            Command::Erp(erp_cli::ErpCommand::Lookup(args)) => erp_cli::lookup(args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::User(cmd) => user_cli::run(cmd).await,
            Command::Ladder(cmd) => ladder_cli::run(cmd).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("erro: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(path: PathBuf) -> Result<(), String> {
    let config = config::Config::load(&path)?;
    let store = app::open_store(config.database_url.as_deref(), &config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("não foi possível escutar em {}: {e}", config.listen))?;
    let options = app::Options {
        sender: app::sender_config(&config),
        payments: app::payment_sync_config(&config),
        bot: app::bot_config(&config),
        desk: config.desk.enabled,
        ladder: config.ladder.enabled,
        ..Default::default()
    };
    let running = app::start(&config, store, listener, options).await?;
    tracing::info!(addr = %running.addr, "balcao serving");
    let stop = running.shutdown_signal();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: finishing in-flight work");
        let _ = stop.send(true);
    });
    running.wait().await;
    Ok(())
}
