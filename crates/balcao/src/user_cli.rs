//! `balcao user add`: the first admin of a workspace (the rest are managed in the admin screens).

use crate::app;
use crate::config::Config;
use balcao_store::Role;
use balcao_web::session::{NewStaff, create_staff};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Creates a staff member; the password is read from the first line of standard input.
    Add(UserAddArgs),
}

#[derive(clap::Args, Debug)]
pub struct UserAddArgs {
    #[arg(long, default_value = "balcao.toml", env = "BALCAO_CONFIG")]
    pub config: PathBuf,
    /// The workspace's slug, as in the configuration file.
    #[arg(long)]
    pub workspace: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// admin, supervisor or agent.
    #[arg(long, default_value = "agent")]
    pub role: String,
}

pub async fn run(command: UserCommand) -> Result<(), String> {
    let UserCommand::Add(args) = command;
    let role = Role::parse(&args.role).ok_or_else(|| {
        format!(
            "papel inválido: {} (use admin, supervisor ou agent)",
            args.role
        )
    })?;
    let config = Config::load(&args.config)?;
    let store = app::open_store(config.database_url.as_deref(), &config.data_dir).await?;
    // The workspaces of the file exist before the first start of the server, as `serve` makes them.
    let clock: balcao_engine::SharedClock = std::sync::Arc::new(balcao_engine::SystemClock);
    let erp =
        balcao_engine::erp::ErpDirectory::new(store.clone(), app::master_key(&config)?, clock);
    app::provision(store.as_ref(), &config, &erp).await?;
    let workspace = store
        .workspace_by_slug(&args.workspace)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "o workspace {} não está no arquivo de configuração",
                args.workspace
            )
        })?;
    eprintln!("Senha (uma linha, de 8 a 128 caracteres):");
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("não foi possível ler a senha: {e}"))?;
    let user = create_staff(
        store.as_ref(),
        workspace.id,
        NewStaff {
            email: args.email,
            name: args.name,
            role,
            password: password.trim_end_matches(['\r', '\n']).to_string(),
            max_chats: None,
        },
        balcao_domain::now_millis(),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "usuário {} ({}) criado no workspace {}",
        user.email,
        user.role.as_str(),
        workspace.slug
    );
    Ok(())
}
