//! Faithful fakes of six Brazilian ISP management systems ("ERPs"): SGP, IXC Soft, Hubsoft,
//! MK-Auth, Voalle and RadiusNet, each an axum server speaking the vendor's API with its quirks
//! (HTTP-200 error envelopes, string-typed values, masked CPFs, misspelled keys, odd pagination,
//! token flows), over a generated [`DataSet`]. Used by the adapters' behavioural tests and by the
//! demo.
//!
//! ```no_run
//! # async fn demo() {
//! use balcao_erp_fake::{DataSet, FakeSystem, Faults, start};
//! let today = jiff::civil::Date::new(2026, 11, 16).unwrap();
//! let fake = start(FakeSystem::Ixc, DataSet::generate(100, 42, today), Faults::default(),
//!     "127.0.0.1:0".parse().unwrap()).await;
//! println!("{} {:?}", fake.base_url, fake.auth);
//! # }
//! ```
//!
//! Every fake also serves `GET /boleto/{invoice}.pdf` (a small real PDF) and a control API:
//! `POST|GET /_fake/faults`, `POST /_fake/invoices/{id}/pay`, `GET /_fake/dataset`,
//! `GET /_fake/requests`.
//!
//! Deliberately independent of `balcao-erp`: the fakes implement the vendors' APIs from the spec
//! so the adapters' bugs show up instead of being mirrored.

mod codec;
mod dataset;
mod db;
mod dump;
mod faults;
mod names;
mod pdf;
mod rng;
mod servers;
mod tokens;

pub use dataset::{
    Address, DataSet, FIRST_CONTRACT_ID, FIRST_INVOICE_ID, FIRST_SUBSCRIBER_ID, FakeContract,
    FakeContractStatus, FakeInvoice, FakeInvoiceStatus, FakeTicket, PersonType, Provider,
    SHARED_PHONE_EVERY, SHOWCASE_SUBSCRIBERS, Subscriber,
};
pub use faults::{FaultAction, Faults, HANG};

use db::Db;
use faults::FaultState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokens::TokenStore;

/// The systems faked, with the same lowercase names as the adapters' `System`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FakeSystem {
    Sgp,
    Ixc,
    Hubsoft,
    MkAuth,
    Voalle,
    RadiusNet,
}

impl FakeSystem {
    pub const ALL: [FakeSystem; 6] = [
        FakeSystem::Sgp,
        FakeSystem::Ixc,
        FakeSystem::Hubsoft,
        FakeSystem::MkAuth,
        FakeSystem::Voalle,
        FakeSystem::RadiusNet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FakeSystem::Sgp => "sgp",
            FakeSystem::Ixc => "ixc",
            FakeSystem::Hubsoft => "hubsoft",
            FakeSystem::MkAuth => "mkauth",
            FakeSystem::Voalle => "voalle",
            FakeSystem::RadiusNet => "radiusnet",
        }
    }

    /// The requests-per-minute limit the real system enforces, if any.
    pub fn default_rate_limit(self) -> Option<u32> {
        match self {
            FakeSystem::Voalle => Some(30),
            _ => None,
        }
    }

    /// The credentials the fake accepts, as the adapters' `connect` takes them (Voalle's
    /// `token_url` is added by [`start`], since it depends on the port).
    pub fn credentials(self) -> BTreeMap<String, String> {
        let pairs: &[(&str, &str)] = match self {
            FakeSystem::Sgp => &[
                ("token", "8c1f4a6e-2b7d-4e59-9a3c-5d0e7f1b2a64"),
                ("app", "balcao"),
            ],
            FakeSystem::Ixc => &[(
                "token",
                "27:4e2f9c8b1a7d3e6f5c0b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f",
            )],
            FakeSystem::Hubsoft => &[
                ("client_id", "12"),
                ("client_secret", "xT9vQ2mL8pR4sK7wZ1nB6cF3hJ5gD0aE"),
                ("username", "integracao@provedor.com.br"),
                ("password", "S3nh@Forte-2026"),
            ],
            FakeSystem::MkAuth => &[
                ("client_id", "Client_Id_3f9a1c7e5b2d"),
                ("client_secret", "Client_Secret_8e4b6d2f0a9c1e7b5d3f"),
            ],
            FakeSystem::Voalle => &[
                ("client_id", "balcao_integracao"),
                ("client_secret", "b4f1e9c2-7a3d-4c8e-9f06-2d5a1b7c3e90"),
                ("syndata", "TWpNeU1qVTFNVFl4T1RBd01EQT0="),
            ],
            FakeSystem::RadiusNet => &[("token", "rn_5a8f2c9e1b7d4f3a6c0e8b2d9f1a7c5e")],
        };
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The path the adapters' `base_url` adds to the server origin.
    pub fn base_path(self) -> &'static str {
        match self {
            FakeSystem::Ixc => "/webservice/v1",
            FakeSystem::RadiusNet => "/radiusnet/index.php/api/v1",
            _ => "",
        }
    }
}

impl fmt::Display for FakeSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Unknown system name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSystem(pub String);

impl fmt::Display for UnknownSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sistema desconhecido: {:?} (use sgp, ixc, hubsoft, mkauth, voalle ou radiusnet)",
            self.0
        )
    }
}

impl std::error::Error for UnknownSystem {}

impl std::str::FromStr for FakeSystem {
    type Err = UnknownSystem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        FakeSystem::ALL
            .into_iter()
            .find(|system| system.as_str() == key)
            .ok_or_else(|| UnknownSystem(s.to_owned()))
    }
}

/// State shared by a fake's handlers.
pub(crate) struct Shared {
    pub(crate) system: FakeSystem,
    pub(crate) db: RwLock<Db>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) tokens: Mutex<TokenStore>,
    pub(crate) auth: BTreeMap<String, String>,
    /// "http://127.0.0.1:port": where PDFs and the control API live.
    pub(crate) origin: String,
    pub(crate) requests: AtomicU64,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Shared {
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, Db> {
        self.db
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Db> {
        self.db
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn fault_state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn token_store(&self) -> std::sync::MutexGuard<'_, TokenStore> {
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn credential(&self, key: &str) -> &str {
        self.auth.get(key).map(String::as_str).unwrap_or_default()
    }
}

/// A handle to change a running fake from a test (the same operations as the `/_fake` API).
#[derive(Clone)]
pub struct FakeControl {
    shared: Arc<Shared>,
}

impl fmt::Debug for FakeControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeControl")
            .field("system", &self.shared.system)
            .field("origin", &self.shared.origin)
            .finish()
    }
}

impl FakeControl {
    pub fn set_faults(&self, faults: Faults) {
        self.shared.fault_state().set(faults);
    }

    pub fn faults(&self) -> Faults {
        self.shared.fault_state().faults()
    }

    /// Marks invoice `invoice_id` paid at `at` (payment polling sees it; a contract with nothing
    /// left overdue is released). `false` when there is no such invoice.
    pub fn mark_paid(&self, invoice_id: impl fmt::Display, at: jiff::Timestamp) -> bool {
        match invoice_id.to_string().trim().parse::<u64>() {
            Ok(id) => self.shared.write().mark_paid(id, at).is_some(),
            Err(_) => false,
        }
    }

    /// A copy of the current data (with every mutation made through the APIs).
    pub fn dataset(&self) -> DataSet {
        self.shared.read().data.clone()
    }

    pub fn subscriber_by_document(&self, document: &str) -> Option<Subscriber> {
        let db = self.shared.read();
        db.find_document(document).map(|i| db.subscriber(i).clone())
    }

    pub fn contract(&self, id: u64) -> Option<FakeContract> {
        let db = self.shared.read();
        db.find_contract(id).map(|slot| db.contract(slot).clone())
    }

    pub fn invoice(&self, id: u64) -> Option<FakeInvoice> {
        let db = self.shared.read();
        db.find_invoice(id).map(|slot| db.invoice(slot).clone())
    }

    pub fn tickets(&self) -> Vec<FakeTicket> {
        self.shared.read().data.tickets.clone()
    }

    /// API requests received so far (control requests excluded); lets tests see caching work.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Stops the listeners. Dropping the handles does not: the fake lives as long as the runtime.
    pub fn shutdown(&self) {
        let tasks = self.shared.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for task in tasks.iter() {
            task.abort();
        }
    }
}

/// A fake listening on its port(s).
#[derive(Clone, Debug)]
pub struct RunningFake {
    pub system: FakeSystem,
    /// What the adapters' `connect` takes as `base_url` (see the crate README).
    pub base_url: String,
    /// What the adapters' `connect` takes as `auth`.
    pub auth: BTreeMap<String, String>,
    pub control: FakeControl,
    /// Scheme, host and port of the API listener: PDFs and `/_fake/…` live here.
    pub origin: String,
    pub addr: SocketAddr,
    /// Voalle's separate token listener.
    pub token_addr: Option<SocketAddr>,
}

impl RunningFake {
    /// The CLI dump of the current data for this fake (see [`DataSet::dump_json`]).
    pub fn dump_json(&self) -> serde_json::Value {
        self.control
            .shared
            .read()
            .data
            .dump_json(self.system, &self.base_url, &self.auth)
    }

    pub fn shutdown(&self) {
        self.control.shutdown();
    }
}

fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Starts the fake of `system` on `listen` (port 0 picks a free one) serving `data`, and for Voalle
/// a second listener for the token endpoint on the same address. Panics if it cannot bind; see
/// [`try_start`].
pub async fn start(
    system: FakeSystem,
    data: DataSet,
    faults: Faults,
    listen: SocketAddr,
) -> RunningFake {
    try_start(system, data, faults, listen)
        .await
        .unwrap_or_else(|e| panic!("não foi possível abrir o ERP falso {system} em {listen}: {e}"))
}

/// [`start`] returning the bind error instead of panicking.
pub async fn try_start(
    system: FakeSystem,
    mut data: DataSet,
    faults: Faults,
    listen: SocketAddr,
) -> std::io::Result<RunningFake> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = reachable(listener.local_addr()?);
    let origin = format!("http://{addr}");
    let token_listener = match system {
        FakeSystem::Voalle => {
            Some(tokio::net::TcpListener::bind(SocketAddr::new(listen.ip(), 0)).await?)
        }
        _ => None,
    };
    let token_addr = match &token_listener {
        Some(l) => Some(reachable(l.local_addr()?)),
        None => None,
    };
    let mut auth = system.credentials();
    if let Some(token_addr) = token_addr {
        auth.insert("token_url".to_owned(), format!("http://{token_addr}"));
    }
    for subscriber in &mut data.subscribers {
        for invoice in &mut subscriber.invoices {
            if invoice.pdf_url.starts_with('/') {
                invoice.pdf_url = format!("{origin}{}", invoice.pdf_url);
            }
        }
    }
    let shared = Arc::new(Shared {
        system,
        db: RwLock::new(Db::new(data)),
        faults: Mutex::new(FaultState::new(faults, system.default_rate_limit())),
        tokens: Mutex::new(TokenStore::new(system)),
        auth: auth.clone(),
        origin: origin.clone(),
        requests: AtomicU64::new(0),
        tasks: Mutex::new(Vec::new()),
    });
    let mut tasks = Vec::new();
    let app = servers::router(Arc::clone(&shared));
    tasks.push(
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
        .abort_handle(),
    );
    if let Some(token_listener) = token_listener {
        let token_app = servers::voalle::token_router(Arc::clone(&shared));
        tasks.push(
            tokio::spawn(async move {
                let _ = axum::serve(token_listener, token_app).await;
            })
            .abort_handle(),
        );
    }
    *shared.tasks.lock().unwrap_or_else(|p| p.into_inner()) = tasks;
    Ok(RunningFake {
        system,
        base_url: format!("{origin}{}", system.base_path()),
        auth,
        control: FakeControl { shared },
        origin,
        addr,
        token_addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_round_trip() {
        for system in FakeSystem::ALL {
            assert_eq!(system.as_str().parse::<FakeSystem>().unwrap(), system);
            assert_eq!(
                serde_json::to_value(system).unwrap(),
                serde_json::Value::String(system.as_str().to_owned())
            );
        }
        assert_eq!("MK-Auth".parse::<FakeSystem>().unwrap(), FakeSystem::MkAuth);
        assert!("sap".parse::<FakeSystem>().is_err());
    }

    #[test]
    fn credentials_have_the_fixed_keys() {
        let keys = |s: FakeSystem| s.credentials().into_keys().collect::<Vec<_>>();
        assert_eq!(keys(FakeSystem::Sgp), ["app", "token"]);
        assert_eq!(keys(FakeSystem::Ixc), ["token"]);
        assert!(FakeSystem::credentials(FakeSystem::Ixc)["token"].contains(':'));
        assert_eq!(
            keys(FakeSystem::Hubsoft),
            ["client_id", "client_secret", "password", "username"]
        );
        assert_eq!(keys(FakeSystem::MkAuth), ["client_id", "client_secret"]);
        assert_eq!(
            keys(FakeSystem::Voalle),
            ["client_id", "client_secret", "syndata"]
        );
        assert_eq!(keys(FakeSystem::RadiusNet), ["token"]);
    }
}
