//! `balcao ladder preview`: what the billing ladder would send now (or at `--at`), to whom
//! (masked) and why, from the receivables snapshot in the store — without sending anything.

use crate::app;
use balcao_engine::ladder::PlanCursor;
use balcao_ladder::{PlanConfig, Planner};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum LadderCommand {
    /// Prints what would be sent and why, without sending.
    Preview(PreviewArgs),
}

#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
    /// The moment to plan for (RFC 3339, e.g. 2026-11-23T09:00:00-03:00); now by default.
    #[arg(long)]
    pub at: Option<String>,
    /// Ladder settings to try (JSON, the `PlanConfig` shape); the workspace's own otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The workspace's slug.
    #[arg(long, default_value = "demo")]
    pub workspace: String,
    #[arg(long, env = "BALCAO_DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Skipped invoices shown as examples.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
}

pub async fn run(command: LadderCommand) -> Result<(), String> {
    match command {
        LadderCommand::Preview(args) => preview(args).await,
    }
}

/// "5516*****8222": enough to recognise, not enough to reuse.
pub fn mask(wa_id: &str) -> String {
    let chars: Vec<char> = wa_id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

async fn preview(args: PreviewArgs) -> Result<(), String> {
    let at = match &args.at {
        Some(text) => text
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("--at inválido ({text}): {e}"))?,
        None => jiff::Timestamp::now(),
    };
    let store = app::open_store(args.database_url.as_deref(), &args.data_dir).await?;
    let workspace = store
        .workspace_by_slug(&args.workspace)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("workspace {:?} não encontrado", args.workspace))?;
    // A file given on the command line (to try settings out), else the workspace's own.
    let config: PlanConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("não foi possível ler {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("configuração inválida: {e}"))?
        }
        None => balcao_engine::ladder_settings::plan_config_for(
            store.as_ref(),
            workspace.id,
            &PlanConfig::default(),
        )
        .await
        .map_err(|e| e.to_string())?,
    };
    let planner = Planner::new(&config).map_err(|e| e.to_string())?;
    let mut cursor = PlanCursor::new(
        store.clone(),
        workspace.id,
        &planner,
        at.as_millisecond(),
        5000,
    );
    cursor.samples = args.samples;
    let (mut rows, mut sends, mut obsolete) = (0usize, 0usize, 0usize);
    let mut skipped: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut samples = Vec::new();
    println!("Prévia da régua em {at} (nada é enviado)\n");
    while let Some(page) = cursor.next_page().await.map_err(|e| e.to_string())? {
        rows += page.rows;
        obsolete += page.obsolete.len();
        for (code, n) in page.skipped {
            *skipped.entry(code).or_default() += n;
        }
        if samples.len() < args.samples {
            samples.extend(page.skip_samples);
        }
        for order in page.sends {
            sends += 1;
            let r = &order.row.receivable;
            println!(
                "ENVIAR  {:<16} fatura {:<12} cliente {:<10} modelo {:<28} entre {} e {}\n        motivo: {}",
                r.wa_id
                    .as_ref()
                    .map(|w| mask(w.as_str()))
                    .unwrap_or_default(),
                r.invoice_id,
                r.customer_id,
                order.template,
                order.send_not_before,
                order.send_not_after,
                order.reason
            );
        }
    }
    for (invoice, step, reason) in samples.iter().take(args.samples) {
        println!("PULAR   fatura {invoice:<12} etapa {step:<5} {reason}");
    }
    println!(
        "\n{rows} faturas abertas; {sends} mensagens seriam enviadas; {obsolete} etapas obsoletas"
    );
    for (code, n) in skipped {
        println!("  pulados ({code}): {n}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_the_middle_of_a_number() {
        assert_eq!(mask("5516992318222"), "5516*****8222");
        assert_eq!(mask("123"), "***");
    }
}
