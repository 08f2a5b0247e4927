//! `balcao fake-erp` and `balcao erp lookup`: operator tools for the management systems.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct FakeErpArgs {
    #[arg(long, value_parser = ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"])]
    pub system: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    #[arg(long, default_value_t = 200)]
    pub subscribers: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Writes the data set (and how to reach the fake) as JSON to this file.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Overrides the system's own request limit (Voalle: 30/min); 0 turns it off.
    #[arg(long)]
    pub rate_limit_per_minute: Option<u32>,
    /// Added to every answer, in milliseconds (a real system's response time).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

#[derive(clap::Subcommand, Debug)]
pub enum ErpCommand {
    /// Looks a subscriber up: customer, contracts and open invoices in the common model, as JSON.
    Lookup(LookupArgs),
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("key").required(true).args(["document", "phone"])))]
pub struct LookupArgs {
    #[arg(long, value_parser = ["sgp", "ixc", "hubsoft", "mkauth", "voalle", "radiusnet"])]
    pub system: String,
    #[arg(long)]
    pub base_url: String,
    /// Credentials as key=value pairs separated by commas. sgp: token,app · ixc: token (id:key) ·
    /// hubsoft: client_id,client_secret,username,password · mkauth: client_id,client_secret ·
    /// voalle: client_id,client_secret,syndata,token_url · radiusnet: token.
    #[arg(long)]
    pub auth: String,
    #[arg(long)]
    pub document: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
}

/// `key=value,key=value` → map; a value may itself contain `=` or `:` (IXC tokens do).
pub fn parse_auth(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("credencial sem '=': {pair:?} (use chave=valor)"))?;
        if key.trim().is_empty() {
            return Err(format!("credencial sem nome: {pair:?}"));
        }
        out.insert(key.trim().to_string(), value.trim().to_string());
    }
    if out.is_empty() {
        return Err("nenhuma credencial informada em --auth".into());
    }
    Ok(out)
}

pub async fn fake_erp(args: FakeErpArgs) -> Result<(), String> {
    let listen: std::net::SocketAddr = args
        .listen
        .parse()
        .map_err(|e| format!("--listen inválido: {e}"))?;
    let system: balcao_erp_fake::FakeSystem = args.system.parse().map_err(|e| format!("{e:?}"))?;
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("America/Sao_Paulo").map_err(|e| e.to_string())?)
        .date();
    let started = std::time::Instant::now();
    let data = balcao_erp_fake::DataSet::generate(args.subscribers, args.seed, today);
    let faults = balcao_erp_fake::Faults {
        rate_limit_per_minute: args.rate_limit_per_minute,
        latency_ms: args.latency_ms,
        ..Default::default()
    };
    let fake = balcao_erp_fake::try_start(system, data, faults, listen)
        .await
        .map_err(|e| format!("não foi possível escutar em {listen}: {e}"))?;
    if let Some(path) = &args.dump {
        let json = serde_json::to_string_pretty(&fake.dump_json()).map_err(|e| e.to_string())?;
        std::fs::write(path, json)
            .map_err(|e| format!("não foi possível escrever {}: {e}", path.display()))?;
    }
    let auth: Vec<String> = fake.auth.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("sistema de gestão simulado: {}", fake.system.as_str());
    println!("  base_url: {}", fake.base_url);
    println!("  auth:     {}", auth.join(","));
    println!(
        "  assinantes: {} (semente {}, gerados em {:.1} s)",
        args.subscribers,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.dump {
        println!("  dados:    {}", path.display());
    }
    println!(
        "  controle: {}/_fake/faults, {}/_fake/invoices/{{id}}/pay",
        fake.origin, fake.origin
    );
    println!("Ctrl+C para sair.");
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}

pub async fn lookup(args: LookupArgs) -> Result<(), String> {
    let system: balcao_erp::System = args
        .system
        .parse()
        .map_err(|_| format!("sistema desconhecido: {}", args.system))?;
    let auth = parse_auth(&args.auth)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let adapter = balcao_erp::connect(system, &args.base_url, &auth).map_err(|e| e.to_string())?;
    let key = match (&args.document, &args.phone) {
        (Some(document), _) => balcao_erp::LookupKey::Document(
            balcao_domain::br::document::Document::parse(document).map_err(|e| e.to_string())?,
        ),
        (None, Some(phone)) => balcao_erp::LookupKey::Phone(
            balcao_domain::br::phone::BrPhone::parse(phone).map_err(|e| e.to_string())?,
        ),
        (None, None) => return Err("informe --document ou --phone".into()),
    };
    let json = balcao_erp::lookup_json(adapter.as_ref(), &key)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_auth;

    #[test]
    fn auth_pairs_parse_and_keep_colons_and_equals() {
        let m = parse_auth("token=12:abc==, app=Balcao").unwrap();
        assert_eq!(m["token"], "12:abc==");
        assert_eq!(m["app"], "Balcao");
        assert!(parse_auth("token").unwrap_err().contains("chave=valor"));
        assert!(parse_auth("").is_err());
        assert!(parse_auth("=x").is_err());
    }
}
