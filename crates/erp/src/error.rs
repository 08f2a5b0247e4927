//! What can go wrong talking to an ERP. Display texts are pt-BR: they reach attendants and logs
//! read by the provider's staff.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The adapter operations, used in errors, cache keys and the read/write split of the resilience
/// layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    FindCustomerByDocument,
    FindCustomerByLogin,
    FindCustomersByPhone,
    Contracts,
    OpenInvoices,
    Invoice,
    InvoicePdf,
    TrustUnlock,
    ConnectionStatus,
    OpenTicket,
    Payments,
    Receivables,
    RestoreAfterPayment,
}

impl Operation {
    /// Reads are safe to repeat; only they are retried.
    pub fn is_read(self) -> bool {
        !matches!(
            self,
            Operation::TrustUnlock | Operation::OpenTicket | Operation::RestoreAfterPayment
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::FindCustomerByDocument => "find_customer_by_document",
            Operation::FindCustomerByLogin => "find_customer_by_login",
            Operation::FindCustomersByPhone => "find_customers_by_phone",
            Operation::Contracts => "contracts",
            Operation::OpenInvoices => "open_invoices",
            Operation::Invoice => "invoice",
            Operation::InvoicePdf => "invoice_pdf",
            Operation::TrustUnlock => "trust_unlock",
            Operation::ConnectionStatus => "connection_status",
            Operation::OpenTicket => "open_ticket",
            Operation::Payments => "payments",
            Operation::Receivables => "receivables",
            Operation::RestoreAfterPayment => "restore_after_payment",
        }
    }

    /// pt-BR description for people.
    pub fn label(self) -> &'static str {
        match self {
            Operation::FindCustomerByDocument => "busca de cliente por CPF/CNPJ",
            Operation::FindCustomerByLogin => "busca de cliente por login",
            Operation::FindCustomersByPhone => "busca de cliente por telefone",
            Operation::Contracts => "consulta de contratos",
            Operation::OpenInvoices => "consulta de faturas em aberto",
            Operation::Invoice => "consulta de fatura",
            Operation::InvoicePdf => "download do boleto em PDF",
            Operation::TrustUnlock => "liberação em confiança",
            Operation::ConnectionStatus => "consulta de conexão",
            Operation::OpenTicket => "abertura de chamado",
            Operation::Payments => "consulta de pagamentos",
            Operation::Receivables => "listagem de faturas a receber",
            Operation::RestoreAfterPayment => "religação após o pagamento",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    /// The system has no such operation; the product offers the human path instead.
    #[error("o sistema de gestão não oferece {operation}; encaminhe para um atendente")]
    NotSupported { operation: Operation },
    #[error("registro não encontrado no sistema de gestão")]
    NotFound,
    #[error("o sistema de gestão recusou as credenciais de integração")]
    Unauthorized,
    #[error("o sistema de gestão não respondeu a tempo")]
    Timeout,
    /// 5xx, connection refused or reset, or the circuit breaker is open.
    #[error("sistema de gestão indisponível: {0}")]
    Unavailable(String),
    /// HTML instead of JSON, garbage, truncated JSON, or a shape we cannot read.
    #[error("resposta inválida do sistema de gestão: {0}")]
    InvalidResponse(String),
    /// The ERP answered with its error envelope (usually with HTTP 200).
    #[error("o sistema de gestão recusou o pedido: {message}")]
    Business { message: String },
    #[error("limite de requisições do sistema de gestão atingido; tente novamente em instantes")]
    RateLimited,
    /// The connection settings lack a key or hold a malformed value (found before any request).
    #[error("configuração do sistema de gestão inválida: {0}")]
    Config(String),
}

impl ErpError {
    pub fn not_supported(operation: Operation) -> Self {
        ErpError::NotSupported { operation }
    }

    pub fn business(message: impl Into<String>) -> Self {
        ErpError::Business {
            message: message.into(),
        }
    }

    /// Whether the same call may succeed if made again shortly.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ErpError::Timeout | ErpError::Unavailable(_) | ErpError::RateLimited
        )
    }

    /// Whether this failure says the system is unhealthy (counts for the circuit breaker). A rate
    /// limit says the system is alive; a business refusal or a shape we cannot read is not the
    /// system being down.
    pub fn counts_as_outage(&self) -> bool {
        matches!(self, ErpError::Timeout | ErpError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_timeouts_outages_and_rate_limits_are_transient() {
        assert!(ErpError::Timeout.is_transient());
        assert!(ErpError::Unavailable("HTTP 500".into()).is_transient());
        assert!(ErpError::RateLimited.is_transient());
        assert!(!ErpError::InvalidResponse("html".into()).is_transient());
        assert!(!ErpError::business("não").is_transient());
        assert!(!ErpError::Unauthorized.is_transient());
        assert!(!ErpError::NotFound.is_transient());
        assert!(!ErpError::not_supported(Operation::OpenTicket).is_transient());
        assert!(!ErpError::RateLimited.counts_as_outage());
    }

    #[test]
    fn messages_are_portuguese_and_name_the_operation() {
        let text = ErpError::not_supported(Operation::FindCustomersByPhone).to_string();
        assert!(text.contains("busca de cliente por telefone"), "{text}");
        assert!(ErpError::Timeout.to_string().contains("não respondeu"));
    }

    #[test]
    fn only_unlock_ticket_and_restore_are_writes() {
        let writes: Vec<_> = [
            Operation::FindCustomerByDocument,
            Operation::FindCustomersByPhone,
            Operation::Contracts,
            Operation::OpenInvoices,
            Operation::Invoice,
            Operation::InvoicePdf,
            Operation::TrustUnlock,
            Operation::ConnectionStatus,
            Operation::OpenTicket,
            Operation::Payments,
            Operation::Receivables,
            Operation::RestoreAfterPayment,
        ]
        .into_iter()
        .filter(|op| !op.is_read())
        .collect();
        assert_eq!(
            writes,
            vec![
                Operation::TrustUnlock,
                Operation::OpenTicket,
                Operation::RestoreAfterPayment
            ]
        );
    }
}
