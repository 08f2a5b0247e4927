//! The CLI dump: what a person (or a script) needs to try the fake by hand.

use crate::FakeSystem;
use crate::dataset::DataSet;
use serde_json::{Value, json};
use std::collections::BTreeMap;

impl DataSet {
    /// `{"system","base_url","auth":{…},"subscribers":[{"name","document","phones":[…],
    /// "contracts":[…],"invoices":[{"status","due_date","amount_cents","digitable_line",
    /// "pix_code",…}]}]}`; `auth` holds exactly the `connect` pairs of the system.
    pub fn dump_json(
        &self,
        system: FakeSystem,
        base_url: &str,
        auth: &BTreeMap<String, String>,
    ) -> Value {
        let subscribers: Vec<Value> = self
            .subscribers
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "name": s.name,
                    "document": s.document,
                    "person_type": s.person_type,
                    "phones": s.phones,
                    "email": s.email,
                    "city": s.city,
                    "contracts": s.contracts.iter().map(|c| json!({
                        "id": c.id,
                        "plan": c.plan,
                        "monthly_cents": c.monthly_cents,
                        "status": c.status,
                        "online": c.online,
                        "login": c.login,
                        "unlock_used_this_month": c.unlock_used_this_month,
                    })).collect::<Vec<_>>(),
                    "invoices": s.invoices.iter().map(|i| json!({
                        "id": i.id,
                        "contract_id": i.contract_id,
                        "status": i.status,
                        "due_date": i.due_date,
                        "amount_cents": i.amount_cents,
                        "digitable_line": i.digitable_line,
                        "pix_code": i.pix_code,
                        "pdf_url": i.pdf_url,
                        "paid_at": i.paid_at,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "system": system,
            "base_url": base_url,
            "auth": auth,
            "subscribers": subscribers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Date;

    #[test]
    fn dump_has_the_cli_shape() {
        let data = DataSet::generate(3, 1, Date::new(2026, 11, 16).unwrap());
        let auth = FakeSystem::Sgp.credentials();
        let dump = data.dump_json(FakeSystem::Sgp, "http://127.0.0.1:1", &auth);
        assert_eq!(dump["system"], "sgp");
        assert_eq!(dump["base_url"], "http://127.0.0.1:1");
        assert_eq!(dump["auth"]["app"], "balcao");
        assert_eq!(dump["auth"].as_object().unwrap().len(), 2);
        let first = &dump["subscribers"][0];
        assert_eq!(first["document"], data.subscribers[0].document);
        assert!(first["phones"].is_array() && first["contracts"].is_array());
        let invoice = &first["invoices"][0];
        for key in [
            "status",
            "due_date",
            "amount_cents",
            "digitable_line",
            "pix_code",
        ] {
            assert!(!invoice[key].is_null(), "{key} missing");
        }
        assert!(invoice["due_date"].as_str().unwrap().len() == 10);
        assert_eq!(first["contracts"][0]["status"], "active");
    }
}
