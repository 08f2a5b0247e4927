//! The configuration file (`balcao serve --config balcao.toml`). Secrets (app secret, access
//! tokens, API tokens) live here or in environment variables, never in logs.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where the SQLite database lives when `database_url` is not set.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, or `sqlite:/path/file.db`; default `sqlite` in `data_dir`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Master key sealing stored credentials (64 hex digits). Every node of a PostgreSQL cluster
    /// needs the same one; on a single machine it may be left out and `secret.key` in `data_dir`
    /// is created on first start.
    #[serde(default)]
    pub secret_key: Option<String>,
    pub whatsapp: WhatsAppConfig,
    #[serde(default)]
    pub sender: SenderSettings,
    #[serde(default)]
    pub payments: PaymentSettings,
    #[serde(default)]
    pub bot: BotSettings,
    #[serde(default)]
    pub desk: DeskSettings,
    #[serde(default)]
    pub ladder: LadderSettings,
    #[serde(default)]
    pub web: WebSettings,
    #[serde(default)]
    pub workspaces: Vec<WorkspaceConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeskSettings {
    /// Off: no menu, queues or assignment run (the channel and the bot alone); the staff's
    /// screens still open.
    pub enabled: bool,
}

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings { enabled: true }
    }
}

/// The billing ladder ("régua de cobrança").
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LadderSettings {
    /// Off by default: the ladder writes to subscribers on its own, so it starts only when the
    /// provider turns it on (with its templates approved).
    pub enabled: bool,
}

/// How the staff's web app is served.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Mark session cookies `Secure`: set it when Balcão is served over HTTPS.
    pub secure_cookies: bool,
    /// Behind a reverse proxy: take the client address for the login throttle from
    /// `X-Forwarded-For` (only when the proxy sets it).
    pub trust_proxy: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// The Meta app secret: webhook signatures are checked with it.
    pub app_secret: String,
    /// The token Meta echoes in the verification handshake.
    pub verify_token: String,
    #[serde(default = "default_graph_base")]
    pub graph_base_url: String,
    #[serde(default = "default_graph_version")]
    pub graph_version: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SenderSettings {
    pub lease_seconds: u64,
    pub resend_after_seconds: u64,
    pub max_in_flight: usize,
    pub max_attempts: u32,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            lease_seconds: 30,
            resend_after_seconds: 120,
            max_in_flight: 128,
            max_attempts: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSettings {
    /// Seconds between payment polls of each management system.
    pub interval_seconds: u64,
    /// How far back each poll reaches before the last one (boletos are posted days late).
    pub overlap_hours: u64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            interval_seconds: 120,
            overlap_hours: 72,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotSettings {
    /// Off: subscribers' messages wait for people (the channel alone).
    pub enabled: bool,
    /// Conversations handled at the same time.
    pub workers: usize,
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            enabled: true,
            workers: 64,
        }
    }
}

/// The workspace's provider management system.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpConfig {
    /// `sgp`, `ixc`, `hubsoft`, `mkauth`, `voalle` or `radiusnet`.
    pub system: String,
    pub base_url: String,
    /// The system's credentials as key = value (see `balcao erp lookup --help`).
    pub auth: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    pub slug: String,
    pub name: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Bearer tokens for the REST API of this workspace.
    #[serde(default)]
    pub api_tokens: Vec<String>,
    #[serde(default)]
    pub numbers: Vec<NumberConfig>,
    #[serde(default)]
    pub erp: Option<ErpConfig>,
    #[serde(default)]
    pub bot: Option<BotFiles>,
}

/// The workspace's own bot texts and intent keywords (JSON files; missing entries keep the
/// built-in pt-BR defaults).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotFiles {
    pub texts: Option<PathBuf>,
    pub intents: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberConfig {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub waba_id: String,
    pub access_token: String,
    #[serde(default = "default_mps")]
    pub throughput_mps: u32,
    /// Approved templates of this number (name, language, category, body with {{n}}).
    #[serde(default)]
    pub templates: Vec<TemplateConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub name: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default = "default_category")]
    pub category: String,
    #[serde(default = "default_template_status")]
    pub status: String,
    pub body: String,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_graph_base() -> String {
    "https://graph.facebook.com".into()
}
fn default_graph_version() -> String {
    "v23.0".into()
}
fn default_time_zone() -> String {
    "America/Sao_Paulo".into()
}
fn default_mps() -> u32 {
    80
}
fn default_language() -> String {
    "pt_BR".into()
}
fn default_category() -> String {
    "UTILITY".into()
}
fn default_template_status() -> String {
    "APPROVED".into()
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("não foi possível ler {}: {e}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| format!("configuração inválida em {}: {e}", path.display()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.whatsapp.app_secret.trim().is_empty() {
            return Err("whatsapp.app_secret não pode ser vazio".into());
        }
        if self.whatsapp.verify_token.trim().is_empty() {
            return Err("whatsapp.verify_token não pode ser vazio".into());
        }
        if let Some(key) = &self.secret_key
            && (key.trim().len() != 64 || hex::decode(key.trim()).is_err())
        {
            return Err("secret_key deve ter 64 dígitos hexadecimais".into());
        }
        for ws in &self.workspaces {
            jiff::tz::TimeZone::get(&ws.time_zone).map_err(|_| {
                format!(
                    "fuso horário desconhecido no workspace {}: {}",
                    ws.slug, ws.time_zone
                )
            })?;
            for n in &ws.numbers {
                if n.throughput_mps == 0 {
                    return Err(format!(
                        "throughput_mps do número {} deve ser maior que zero",
                        n.phone_number_id
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_defaults() {
        let c: Config = toml::from_str(
            r#"
            [whatsapp]
            app_secret = "s"
            verify_token = "v"
            [[workspaces]]
            slug = "p"
            name = "Provedor"
            [[workspaces.numbers]]
            phone_number_id = "1"
            display_phone_number = "5511999990000"
            waba_id = "w"
            access_token = "t"
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.workspaces[0].time_zone, "America/Sao_Paulo");
        assert_eq!(c.workspaces[0].numbers[0].throughput_mps, 80);
        assert_eq!(c.whatsapp.graph_version, "v23.0");
    }

    #[test]
    fn the_readme_example_is_a_valid_configuration() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n")
            .expect("a toml block in the README")
            + 8;
        let end = start + readme[start..].find("```").expect("closed block");
        let config: Config = toml::from_str(&readme[start..end]).expect("README example parses");
        config.validate().expect("README example is valid");
        let ws = &config.workspaces[0];
        assert_eq!(ws.erp.as_ref().unwrap().system, "sgp");
        assert_eq!(ws.numbers[0].templates[0].name, "fatura_disponivel");
        assert!(config.bot.enabled);
    }

    #[test]
    fn unknown_keys_and_bad_zones_are_refused() {
        assert!(
            toml::from_str::<Config>("listn = 'x'\n[whatsapp]\napp_secret='s'\nverify_token='v'")
                .is_err()
        );
        let c: Config = toml::from_str(
            "[whatsapp]\napp_secret='s'\nverify_token='v'\n[[workspaces]]\nslug='p'\nname='P'\ntime_zone='Mars/Olympus'",
        )
        .unwrap();
        assert!(c.validate().unwrap_err().contains("fuso horário"));
    }
}
