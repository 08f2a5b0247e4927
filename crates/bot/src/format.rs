//! pt-BR presentation of dates, money, names and invoices.

use balcao_domain::br::Brl;
use balcao_erp::{Invoice, InvoiceStatus};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// "21/11/2026".
pub fn date(date: Date) -> String {
    date.strftime("%d/%m/%Y").to_string()
}

/// ("21/11/2026", "09:14") in the provider's time zone.
pub fn date_and_time(at: Timestamp, time_zone: &TimeZone) -> (String, String) {
    let zoned = at.to_zoned(time_zone.clone());
    (
        zoned.strftime("%d/%m/%Y").to_string(),
        zoned.strftime("%H:%M").to_string(),
    )
}

pub fn today(now: Timestamp, time_zone: &TimeZone) -> Date {
    now.to_zoned(time_zone.clone()).date()
}

/// "R$ 1.234,56".
pub fn brl(cents: i64) -> String {
    Brl::from_cents(cents).format()
}

/// The first word of a name with only its first letter capitalised ("MARIA DA SILVA" → "Maria").
pub fn first_name(name: &str) -> Option<String> {
    let word = name.split_whitespace().next()?;
    let mut chars = word.chars();
    let first = chars.next()?;
    let mut out: String = first.to_uppercase().collect();
    out.extend(chars.flat_map(char::to_lowercase));
    Some(out)
}

/// What is owed on the invoice today: the ERP's updated amount when it gives one, otherwise the
/// face value minus what was already received.
pub fn owed_cents(invoice: &Invoice) -> i64 {
    invoice
        .amount_due_cents
        .unwrap_or_else(|| {
            invoice
                .amount_cents
                .saturating_sub(invoice.paid_cents.unwrap_or(0))
        })
        .max(0)
}

pub fn is_overdue(invoice: &Invoice, today: Date) -> bool {
    invoice.status == InvoiceStatus::Overdue || invoice.due_date < today
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_time_is_shown_in_the_provider_zone() {
        let at: Timestamp = "2026-11-21T12:14:00Z".parse().unwrap();
        let zone = TimeZone::get("America/Sao_Paulo").unwrap();
        assert_eq!(
            date_and_time(at, &zone),
            ("21/11/2026".to_owned(), "09:14".to_owned())
        );
    }

    #[test]
    fn first_names_are_capitalised() {
        assert_eq!(first_name("MARIA DA SILVA").as_deref(), Some("Maria"));
        assert_eq!(first_name("  élida souza").as_deref(), Some("Élida"));
        assert_eq!(first_name("   "), None);
    }
}
