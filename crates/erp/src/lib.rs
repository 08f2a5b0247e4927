//! Provider management systems ("ERPs"): SGP, IXC Soft, Hubsoft, MK-Auth, Voalle and RadiusNet
//! behind one trait ([`ErpAdapter`]) and one model ([`model`]).
//!
//! Each adapter speaks its system's real API (auth, pagination, date formats, string-typed
//! values, masked CPFs, HTTP-200 error envelopes; see `specs/isp-erp-apis.md`) and reads answers
//! tolerantly. [`connect`] builds the adapter for a system from `key=value` auth pairs and wraps it
//! in [`Resilient`] (timeouts, read retries, circuit breaker, read cache).

pub mod adapter;
pub mod adapters;
pub mod error;
pub mod http;
pub mod lookup;
pub mod model;
pub(crate) mod parse;
pub mod receivables;
pub mod resilience;

pub use adapter::ErpAdapter;
pub use error::{ErpError, Operation};
pub use http::RateLimit;
pub use lookup::{CustomerSnapshot, LookupKey, LookupResult, lookup, lookup_json};
pub use model::*;
pub use resilience::{
    BreakerPolicy, BreakerState, CircuitBreaker, ResiliencePolicy, Resilient, RetryPolicy, TtlCache,
};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How [`connect_with`] builds an adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectOptions {
    pub policy: ResiliencePolicy,
    /// Deadline of one HTTP request (the policy's `call_timeout` bounds the whole operation).
    pub request_timeout: Duration,
    /// Replaces the system's own request rate (Voalle: 30/min); `None` keeps it.
    pub rate_limit: Option<RateLimit>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            policy: ResiliencePolicy::default(),
            request_timeout: Duration::from_secs(10),
            rate_limit: None,
        }
    }
}

/// The auth keys each system needs (optional extras are listed in each adapter's docs).
pub fn required_auth_keys(system: System) -> &'static [&'static str] {
    match system {
        System::Sgp => &["token", "app"],
        System::Ixc => &["token"],
        System::Hubsoft => &["client_id", "client_secret", "username", "password"],
        System::MkAuth => &["client_id", "client_secret"],
        System::Voalle => &["client_id", "client_secret", "syndata", "token_url"],
        System::RadiusNet => &["token"],
    }
}

/// The adapter for `system` at `base_url`, behind the default resilience policy. Builds a reqwest
/// client: the process must have installed a rustls crypto provider (the binary installs ring).
///
/// `base_url` conventions: sgp "http://host:port"; ixc "http://host:port/webservice/v1"; hubsoft
/// "http://host:port"; mkauth "http://host:port"; voalle the API port "http://host:port" (the token
/// port goes in `auth["token_url"]`); radiusnet "http://host:port/radiusnet/index.php/api/v1".
pub fn connect(
    system: System,
    base_url: &str,
    auth: &BTreeMap<String, String>,
) -> Result<Arc<dyn ErpAdapter>, ErpError> {
    connect_with(system, base_url, auth, &ConnectOptions::default())
}

pub fn connect_with(
    system: System,
    base_url: &str,
    auth: &BTreeMap<String, String>,
    options: &ConnectOptions,
) -> Result<Arc<dyn ErpAdapter>, ErpError> {
    let raw = build_adapter(system, base_url, auth, options)?;
    Ok(Arc::new(Resilient::new(raw, options.policy)))
}

/// The bare adapter, without the resilience layer (for wrapping in something else first).
pub fn build_adapter(
    system: System,
    base_url: &str,
    auth: &BTreeMap<String, String>,
    options: &ConnectOptions,
) -> Result<Arc<dyn ErpAdapter>, ErpError> {
    for key in required_auth_keys(system) {
        if auth.get(*key).is_none_or(|v| v.trim().is_empty()) {
            return Err(ErpError::Config(format!(
                "falta a chave de autenticação \"{key}\" para {}",
                system.display_name()
            )));
        }
    }
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(ErpError::Config(format!(
            "endereço do sistema de gestão deve começar com http:// ou https:// ({base_url})"
        )));
    }
    let settings = adapters::Settings {
        base_url: base_url.trim_end_matches('/').to_owned(),
        auth: auth.clone(),
        request_timeout: options.request_timeout,
        rate_limit: options.rate_limit,
    };
    Ok(match system {
        System::Sgp => Arc::new(adapters::sgp::Sgp::new(settings)?),
        System::Ixc => Arc::new(adapters::ixc::Ixc::new(settings)?),
        System::Hubsoft => Arc::new(adapters::hubsoft::Hubsoft::new(settings)?),
        System::MkAuth => Arc::new(adapters::mkauth::MkAuth::new(settings)?),
        System::Voalle => Arc::new(adapters::voalle::Voalle::new(settings)?),
        System::RadiusNet => Arc::new(adapters::radiusnet::RadiusNet::new(settings)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_auth_keys_are_reported_by_name() {
        let mut auth = BTreeMap::new();
        auth.insert("token".to_owned(), "t".to_owned());
        match connect(System::Sgp, "http://127.0.0.1:1", &auth) {
            Err(ErpError::Config(m)) => assert!(m.contains("\"app\""), "{m}"),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("connected without app"),
        }
    }

    #[test]
    fn base_url_must_be_http() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut auth = BTreeMap::new();
        auth.insert("token".to_owned(), "1:abc".to_owned());
        assert!(matches!(
            connect(System::Ixc, "ftp://x", &auth),
            Err(ErpError::Config(_))
        ));
        let adapter = connect(System::Ixc, "http://127.0.0.1:1/webservice/v1", &auth).unwrap();
        assert_eq!(adapter.system(), System::Ixc);
    }
}
