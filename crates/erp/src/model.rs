//! The common model every adapter translates its system's answers into (spec §7). Money is integer
//! cents, dates are civil dates (ERPs write days, not instants), documents are parsed CPF/CNPJ.
//! Every type serialises to a stable snake_case JSON shape, the one `balcao erp lookup` prints.

use balcao_domain::br::Document;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The provider management systems Balcão talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Sgp,
    Ixc,
    Hubsoft,
    MkAuth,
    Voalle,
    RadiusNet,
}

impl System {
    pub const ALL: [System; 6] = [
        System::Sgp,
        System::Ixc,
        System::Hubsoft,
        System::MkAuth,
        System::Voalle,
        System::RadiusNet,
    ];

    /// The lowercase name used in configuration and JSON: "sgp", "ixc", "hubsoft", "mkauth",
    /// "voalle", "radiusnet".
    pub fn as_str(self) -> &'static str {
        match self {
            System::Sgp => "sgp",
            System::Ixc => "ixc",
            System::Hubsoft => "hubsoft",
            System::MkAuth => "mkauth",
            System::Voalle => "voalle",
            System::RadiusNet => "radiusnet",
        }
    }

    /// The product name people know.
    pub fn display_name(self) -> &'static str {
        match self {
            System::Sgp => "SGP",
            System::Ixc => "IXC Soft",
            System::Hubsoft => "Hubsoft",
            System::MkAuth => "MK-Auth",
            System::Voalle => "Voalle",
            System::RadiusNet => "RadiusNet",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "sistema de gestão desconhecido: {0:?} (use sgp, ixc, hubsoft, mkauth, voalle ou radiusnet)"
)]
pub struct UnknownSystem(pub String);

impl FromStr for System {
    type Err = UnknownSystem;

    /// The lowercase names, case-insensitive, plus the spellings people write ("mk-auth", "ixcsoft").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let folded: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "sgp" => Ok(System::Sgp),
            "ixc" | "ixcsoft" | "ixcprovedor" => Ok(System::Ixc),
            "hubsoft" => Ok(System::Hubsoft),
            "mkauth" => Ok(System::MkAuth),
            "voalle" => Ok(System::Voalle),
            "radiusnet" => Ok(System::RadiusNet),
            _ => Err(UnknownSystem(s.to_owned())),
        }
    }
}

/// A subscriber as the ERP knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub system: System,
    /// The id the system's own lookups and actions take for this customer.
    pub erp_id: String,
    /// `None` only when the ERP holds a malformed CPF/CNPJ (legacy records) or none at all.
    pub document: Option<Document>,
    pub name: String,
    /// National form ("11987654321") when the ERP's text parses as a Brazilian phone, otherwise
    /// the ERP's digits as they are.
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    Active,
    ReducedSpeed,
    SuspendedDebt,
    SuspendedManual,
    SuspendedByRequest,
    TrustUnlocked,
    PendingInstall,
    Cancelled,
    Other,
}

impl ContractStatus {
    /// Whether the subscriber's connection is cut or limited for a reason a payment or an unlock
    /// can lift.
    pub fn is_blocked_for_debt(self) -> bool {
        matches!(
            self,
            ContractStatus::SuspendedDebt | ContractStatus::ReducedSpeed
        )
    }

    /// pt-BR label for people.
    pub fn label(self) -> &'static str {
        match self {
            ContractStatus::Active => "Ativo",
            ContractStatus::ReducedSpeed => "Velocidade reduzida",
            ContractStatus::SuspendedDebt => "Suspenso por débito",
            ContractStatus::SuspendedManual => "Suspenso manualmente",
            ContractStatus::SuspendedByRequest => "Suspenso a pedido",
            ContractStatus::TrustUnlocked => "Liberado em confiança",
            ContractStatus::PendingInstall => "Aguardando instalação",
            ContractStatus::Cancelled => "Cancelado",
            ContractStatus::Other => "Outro",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub erp_id: String,
    pub customer_erp_id: String,
    pub plan_name: Option<String>,
    pub monthly_cents: Option<i64>,
    pub status: ContractStatus,
    /// The ERP's own status text or code(s), for people and for debugging the mapping.
    pub raw_status: String,
    /// Known only where the contract answer carries it; see `connection_status`.
    pub online: Option<bool>,
    pub login: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Overdue,
    Partial,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    /// Open, overdue or partially paid: money is still owed.
    pub fn is_payable(self) -> bool {
        matches!(
            self,
            InvoiceStatus::Open | InvoiceStatus::Overdue | InvoiceStatus::Partial
        )
    }
}

/// How a subscriber can pay an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentMethod {
    Boleto {
        /// Digits only (47 for a bank boleto, 48 for a collection one).
        digitable_line: String,
        barcode: Option<String>,
        pdf_url: Option<String>,
    },
    Pix {
        copy_paste: String,
        expires_at: Option<Timestamp>,
    },
    /// A payment page (gateway link, "link de cobrança").
    Link { url: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub erp_id: String,
    pub contract_id: Option<String>,
    pub due_date: Date,
    /// Face value.
    pub amount_cents: i64,
    /// What is owed today with fine and interest, when the ERP says.
    pub amount_due_cents: Option<i64>,
    pub fine_cents: Option<i64>,
    pub interest_cents: Option<i64>,
    /// What has been received (partial or full payment), when the ERP says.
    pub paid_cents: Option<i64>,
    pub status: InvoiceStatus,
    pub paid_at: Option<Timestamp>,
    pub payment_methods: Vec<PaymentMethod>,
}

impl Invoice {
    pub fn digitable_line(&self) -> Option<&str> {
        self.payment_methods.iter().find_map(|m| match m {
            PaymentMethod::Boleto { digitable_line, .. } => Some(digitable_line.as_str()),
            _ => None,
        })
    }

    pub fn pix_code(&self) -> Option<&str> {
        self.payment_methods.iter().find_map(|m| match m {
            PaymentMethod::Pix { copy_paste, .. } => Some(copy_paste.as_str()),
            _ => None,
        })
    }

    pub fn pdf_url(&self) -> Option<&str> {
        self.payment_methods.iter().find_map(|m| match m {
            PaymentMethod::Boleto { pdf_url, .. } => pdf_url.as_deref(),
            _ => None,
        })
    }
}

/// Why the ERP refused a trust unlock ("liberação em confiança").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockRefusal {
    /// Already used in this period and the debt is still unpaid.
    AlreadyUsedUnpaid,
    /// The contract is not blocked: nothing to unlock.
    NotBlocked,
    /// Cancelled or inactive contract.
    ContractInactive,
    NotFound,
    /// The provider's policy does not allow it: more days than allowed, or a block (manual, by
    /// request) that trust unlocks do not lift.
    ExceedsPolicy,
    NotSupported,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockResult {
    pub granted: bool,
    /// Last day of the unlock, when known.
    pub until: Option<Date>,
    pub days: Option<u32>,
    pub protocol: Option<String>,
    /// Set exactly when `granted` is false.
    pub refusal: Option<UnlockRefusal>,
    /// The ERP's own words, to show an attendant.
    pub erp_message: Option<String>,
}

impl UnlockResult {
    /// The contract is no longer blocked (a restore after payment that the system had already
    /// done, or that it reports without details).
    pub fn released(erp_message: Option<String>) -> Self {
        UnlockResult {
            granted: true,
            until: None,
            days: None,
            protocol: None,
            refusal: None,
            erp_message,
        }
    }

    pub fn refused(refusal: UnlockRefusal, erp_message: Option<String>) -> Self {
        UnlockResult {
            granted: false,
            until: None,
            days: None,
            protocol: None,
            refusal: Some(refusal),
            erp_message,
        }
    }
}

/// What to open a ticket ("chamado", "atendimento") with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    pub customer_erp_id: String,
    pub contract_erp_id: Option<String>,
    /// Short subject ("Sem conexão").
    pub subject: String,
    pub description: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub erp_id: Option<String>,
    /// The number the subscriber is told.
    pub protocol: String,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub opened_at: Timestamp,
    pub description: String,
}

/// How a payment was noticed; every system is polled since none calls back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedBy {
    /// A query by payment date.
    PaymentDateWindow,
    /// The invoice's status read per customer.
    StatusPoll,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub invoice_id: String,
    pub contract_id: Option<String>,
    pub paid_at: Timestamp,
    pub amount_cents: i64,
    pub detected_by: DetectedBy,
}

/// An invoice still owed, with who owes it and what the listing says about their contract: one
/// row of the provider's receivables, what the billing ladder plans over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receivable {
    pub customer: Customer,
    /// The contract the invoice bills, when the system says.
    pub contract_id: Option<String>,
    /// Open, overdue or partially paid. Payment methods that cost one request per invoice (IXC's
    /// Pix, RadiusNet's boleto link and Pix) are not filled in: read the invoice with
    /// [`crate::ErpAdapter::invoice`] right before a message about it goes out.
    pub invoice: Invoice,
    /// The contract's status, when the system's answers carry it.
    pub contract_status: Option<ContractStatus>,
    /// The contract is cut or slowed for debt ([`ContractStatus::is_blocked_for_debt`]); `false`
    /// when the system does not say.
    pub suspended: bool,
    /// The subscriber's city as the system writes it, when it gives one.
    pub city: Option<String>,
    /// The contract's monthly value, when the system gives it.
    pub plan_value_cents: Option<i64>,
}

impl Receivable {
    /// Assembles a row from an invoice and, when found, its contract.
    pub fn new(
        customer: Customer,
        invoice: Invoice,
        contract: Option<&Contract>,
        city: Option<String>,
    ) -> Receivable {
        let contract_status = contract.map(|c| c.status);
        Receivable {
            customer,
            contract_id: invoice
                .contract_id
                .clone()
                .or_else(|| contract.map(|c| c.erp_id.clone())),
            contract_status,
            suspended: contract_status.is_some_and(ContractStatus::is_blocked_for_debt),
            plan_value_cents: contract.and_then(|c| c.monthly_cents),
            city: city.filter(|c| !c.trim().is_empty()),
            invoice,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// `None` where the system only knows whether access is blocked (MK-Auth).
    pub online: Option<bool>,
    pub blocked: Option<bool>,
    pub contract_status: Option<ContractStatus>,
    pub erp_message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_names_round_trip_through_serde_and_from_str() {
        for system in System::ALL {
            let json = serde_json::to_string(&system).unwrap();
            assert_eq!(json, format!("\"{}\"", system.as_str()));
            assert_eq!(serde_json::from_str::<System>(&json).unwrap(), system);
            assert_eq!(system.as_str().parse::<System>().unwrap(), system);
        }
        assert_eq!("MK-Auth".parse::<System>().unwrap(), System::MkAuth);
        assert_eq!("IXCSoft".parse::<System>().unwrap(), System::Ixc);
        assert!("sap".parse::<System>().is_err());
    }

    #[test]
    fn payment_methods_are_tagged_by_kind() {
        let pix = PaymentMethod::Pix {
            copy_paste: "000201".into(),
            expires_at: None,
        };
        let json = serde_json::to_value(&pix).unwrap();
        assert_eq!(json["kind"], "pix");
        assert_eq!(json["copy_paste"], "000201");
    }
}
