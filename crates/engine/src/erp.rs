//! The workspaces' provider management systems. Credentials are sealed with the master key
//! before they reach the store ([`crate::secrets`]); adapters are built on demand from the stored
//! connection and cached until the connection changes.

use crate::SharedClock;
use crate::secrets::MasterKey;
use balcao_domain::WorkspaceId;
use balcao_erp::{ErpAdapter, ErpError, System};
use balcao_store::{ErpConnection, Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ErpSetupError {
    #[error("nenhum sistema de gestão configurado para este workspace")]
    NotConfigured,
    #[error(
        "sistema de gestão desconhecido: {0} (use sgp, ixc, hubsoft, mkauth, voalle ou radiusnet)"
    )]
    UnknownSystem(String),
    #[error("credencial ausente para {system}: {key}")]
    MissingKey { system: String, key: String },
    #[error("endereço do sistema de gestão inválido: {0}")]
    BadUrl(String),
    #[error("credenciais armazenadas ilegíveis: {0}")]
    Sealed(String),
    #[error(transparent)]
    Erp(#[from] ErpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What "test connection" found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ConnectionCheck {
    pub ok: bool,
    pub system: String,
    pub latency_ms: u64,
    /// The error in pt-BR when `ok` is false.
    pub error: Option<String>,
}

fn context(workspace: WorkspaceId) -> Vec<u8> {
    format!("erp-auth:workspace:{}", workspace.0).into_bytes()
}

/// Built adapters by workspace, with the `updated_at` of the connection they were built from.
type AdapterCache = Arc<RwLock<HashMap<WorkspaceId, (i64, Arc<dyn ErpAdapter>)>>>;

#[derive(Clone)]
pub struct ErpDirectory {
    store: Arc<dyn Store>,
    key: Arc<MasterKey>,
    clock: SharedClock,
    adapters: AdapterCache,
}

impl ErpDirectory {
    pub fn new(store: Arc<dyn Store>, key: Arc<MasterKey>, clock: SharedClock) -> Self {
        ErpDirectory {
            store,
            key,
            clock,
            adapters: Arc::default(),
        }
    }

    /// Checks the system name, the URL and the required keys, then stores the connection with
    /// the auth pairs sealed.
    pub async fn configure(
        &self,
        workspace: WorkspaceId,
        system: &str,
        base_url: &str,
        auth: &BTreeMap<String, String>,
    ) -> Result<ErpConnection, ErpSetupError> {
        let parsed: System = system
            .parse()
            .map_err(|_| ErpSetupError::UnknownSystem(system.to_string()))?;
        validate(parsed, base_url, auth)?;
        let plain = serde_json::to_vec(auth).expect("a string map serialises");
        let sealed = self.key.seal(&plain, &context(workspace));
        let connection = self
            .store
            .set_erp_connection(
                workspace,
                parsed.as_str(),
                base_url,
                &sealed,
                self.clock.now(),
            )
            .await?;
        self.adapters.write().expect("adapters").remove(&workspace);
        Ok(connection)
    }

    /// The auth pairs of the stored connection, opened.
    pub fn open_auth(
        &self,
        connection: &ErpConnection,
    ) -> Result<BTreeMap<String, String>, ErpSetupError> {
        let plain = self
            .key
            .open(&connection.sealed_auth, &context(connection.workspace_id))
            .map_err(|e| ErpSetupError::Sealed(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|e| ErpSetupError::Sealed(e.to_string()))
    }

    /// The workspace's adapter (cached while the connection is unchanged).
    pub async fn adapter(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Arc<dyn ErpAdapter>, ErpSetupError> {
        let connection = self
            .store
            .erp_connection(workspace)
            .await?
            .ok_or(ErpSetupError::NotConfigured)?;
        if let Some((version, adapter)) = self.adapters.read().expect("adapters").get(&workspace)
            && *version == connection.updated_at
        {
            return Ok(adapter.clone());
        }
        let adapter = self.build(&connection)?;
        self.adapters
            .write()
            .expect("adapters")
            .insert(workspace, (connection.updated_at, adapter.clone()));
        Ok(adapter)
    }

    fn build(&self, connection: &ErpConnection) -> Result<Arc<dyn ErpAdapter>, ErpSetupError> {
        let system: System = connection
            .system
            .parse()
            .map_err(|_| ErpSetupError::UnknownSystem(connection.system.clone()))?;
        let auth = self.open_auth(connection)?;
        Ok(balcao_erp::connect(system, &connection.base_url, &auth)?)
    }

    /// "Test connection": a fresh adapter (no cache) makes one authenticated read.
    pub async fn test(&self, workspace: WorkspaceId) -> Result<ConnectionCheck, ErpSetupError> {
        let connection = self
            .store
            .erp_connection(workspace)
            .await?
            .ok_or(ErpSetupError::NotConfigured)?;
        let adapter = self.build(&connection)?;
        Ok(check(adapter.as_ref(), &connection.system).await)
    }
}

/// One authenticated read with a valid CPF that no real person has: "not found" proves the
/// system answered and accepted the credentials.
pub async fn check(adapter: &dyn ErpAdapter, system: &str) -> ConnectionCheck {
    let probe = balcao_domain::br::document::Document::parse("00000000191").expect("valid CPF");
    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        adapter.find_customer_by_document(&probe),
    )
    .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let error = match result {
        Ok(Ok(_)) | Ok(Err(ErpError::NotFound)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("o sistema de gestão não respondeu em 30 s".to_string()),
    };
    ConnectionCheck {
        ok: error.is_none(),
        system: system.to_string(),
        latency_ms,
        error,
    }
}

fn validate(
    system: System,
    base_url: &str,
    auth: &BTreeMap<String, String>,
) -> Result<(), ErpSetupError> {
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) || base_url.len() < 10
    {
        return Err(ErpSetupError::BadUrl(base_url.to_string()));
    }
    for key in balcao_erp::required_auth_keys(system) {
        if auth.get(*key).is_none_or(|v| v.trim().is_empty()) {
            return Err(ErpSetupError::MissingKey {
                system: system.as_str().to_string(),
                key: (*key).to_string(),
            });
        }
    }
    Ok(())
}
