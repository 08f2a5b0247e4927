//! `balcao erp lookup`: everything the product would show about a subscriber, found by document or
//! phone, in the common model.
//!
//! JSON shape (stable; fields of the model types are documented in [`crate::model`]):
//! ```text
//! {
//!   "system": "ixc",
//!   "query": {"document": "52998224725"}            // or {"phone": "11987654321"}
//!   "customers": [
//!     {
//!       "customer": {"system", "erp_id", "document", "name", "phones", "emails"},
//!       "contracts": [{"erp_id", "customer_erp_id", "plan_name", "monthly_cents", "status",
//!                      "raw_status", "online", "login"}],
//!       "open_invoices": [{"erp_id", "contract_id", "due_date", "amount_cents", "amount_due_cents",
//!                          "fine_cents", "interest_cents", "paid_cents", "status", "paid_at",
//!                          "payment_methods": [{"kind": "boleto", "digitable_line", "barcode",
//!                          "pdf_url"} | {"kind": "pix", "copy_paste", "expires_at"} |
//!                          {"kind": "link", "url"}]}],
//!       "unsupported": ["contracts"]                 // operations the system lacks, if any
//!     }
//!   ]
//! }
//! ```
//! `customers` is empty when nobody matches; a document matches at most one customer.

use crate::adapter::ErpAdapter;
use crate::error::{ErpError, Operation};
use crate::model::{Contract, Customer, Invoice, System};
use balcao_domain::br::{BrPhone, Document};
use serde::{Deserialize, Serialize};

/// What to look a subscriber up by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKey {
    Document(Document),
    /// Serialised in national form ("11987654321").
    Phone(BrPhone),
}

impl LookupKey {
    /// A CPF/CNPJ if the text is one, otherwise a phone; the error names both attempts.
    pub fn parse(text: &str) -> Result<Self, String> {
        match Document::parse(text) {
            Ok(document) => Ok(LookupKey::Document(document)),
            Err(document_error) => match BrPhone::parse(text) {
                Ok(phone) => Ok(LookupKey::Phone(phone)),
                Err(phone_error) => Err(format!(
                    "não é CPF/CNPJ ({document_error}) nem telefone ({phone_error})"
                )),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSnapshot {
    pub customer: Customer,
    pub contracts: Vec<Contract>,
    pub open_invoices: Vec<Invoice>,
    /// Operations this system does not offer, so the lists above are empty for that reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<Operation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupResult {
    pub system: System,
    pub query: LookupKey,
    pub customers: Vec<CustomerSnapshot>,
}

/// Finds the customer(s) and reads their contracts and open invoices. A system that cannot look
/// up by phone fails with [`ErpError::NotSupported`]; one that lacks contracts or invoices gives
/// empty lists with the operation under `unsupported`.
pub async fn lookup(adapter: &dyn ErpAdapter, key: &LookupKey) -> Result<LookupResult, ErpError> {
    let customers = match key {
        LookupKey::Document(document) => adapter
            .find_customer_by_document(document)
            .await?
            .into_iter()
            .collect(),
        LookupKey::Phone(phone) => adapter.find_customers_by_phone(phone).await?,
    };
    let mut snapshots = Vec::with_capacity(customers.len());
    for customer in customers {
        let mut unsupported = Vec::new();
        let contracts = match adapter.contracts(&customer).await {
            Err(ErpError::NotSupported { operation }) => {
                unsupported.push(operation);
                Vec::new()
            }
            other => other?,
        };
        let open_invoices = match adapter.open_invoices(&customer).await {
            Err(ErpError::NotSupported { operation }) => {
                unsupported.push(operation);
                Vec::new()
            }
            other => other?,
        };
        snapshots.push(CustomerSnapshot {
            customer,
            contracts,
            open_invoices,
            unsupported,
        });
    }
    Ok(LookupResult {
        system: adapter.system(),
        query: key.clone(),
        customers: snapshots,
    })
}

/// [`lookup`] as JSON, the shape documented at the top of this module.
pub async fn lookup_json(
    adapter: &dyn ErpAdapter,
    key: &LookupKey,
) -> Result<serde_json::Value, ErpError> {
    let result = lookup(adapter, key).await?;
    serde_json::to_value(&result)
        .map_err(|e| ErpError::InvalidResponse(format!("falha ao montar o JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_document_first_then_phone() {
        assert!(matches!(
            LookupKey::parse("529.982.247-25"),
            Ok(LookupKey::Document(_))
        ));
        assert!(matches!(
            LookupKey::parse("(11) 98765-4321"),
            Ok(LookupKey::Phone(_))
        ));
        assert!(LookupKey::parse("abc").is_err());
    }

    #[test]
    fn query_serialises_as_a_one_key_object() {
        let key = LookupKey::parse("(11) 8765-4321").unwrap();
        assert_eq!(
            serde_json::to_value(&key).unwrap(),
            serde_json::json!({"phone": "11987654321"})
        );
        let key = LookupKey::parse("52998224725").unwrap();
        assert_eq!(
            serde_json::to_value(&key).unwrap(),
            serde_json::json!({"document": "52998224725"})
        );
    }
}
