//! Phone-number forms. Brazilian mobiles gained a ninth digit, but older WhatsApp accounts are still
//! registered under the 12-digit form, so both forms must reach the same phone.

/// Keeps only the ASCII digits (Meta accepts `+55 (11) 98765-0001` and friends in `to`).
pub fn digits_only(input: &str) -> String {
    input.chars().filter(char::is_ascii_digit).collect()
}

/// The other 9th-digit form of a Brazilian mobile wa_id, if it has one.
/// `55 DD 9XXXXXXXX` (13 digits) ↔ `55 DD XXXXXXXX` (12 digits, subscriber part starting 6–9).
pub fn brazil_alternate(wa_id: &str) -> Option<String> {
    if !wa_id.starts_with("55") || !wa_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = wa_id.as_bytes();
    match wa_id.len() {
        13 if bytes[4] == b'9' && (b'6'..=b'9').contains(&bytes[5]) => {
            Some(format!("{}{}", &wa_id[..4], &wa_id[5..]))
        }
        12 if (b'6'..=b'9').contains(&bytes[4]) => Some(format!("{}9{}", &wa_id[..4], &wa_id[4..])),
        _ => None,
    }
}

/// A plausible E.164 number once formatting is removed.
pub fn is_plausible_number(digits: &str) -> bool {
    (8..=15).contains(&digits.len()) && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn adds_and_removes_the_ninth_digit() {
        assert_eq!(
            brazil_alternate("5511987650001").as_deref(),
            Some("551187650001")
        );
        assert_eq!(
            brazil_alternate("551187650001").as_deref(),
            Some("5511987650001")
        );
        assert_eq!(
            brazil_alternate("551132650001"),
            None,
            "landline has no mobile form"
        );
        assert_eq!(brazil_alternate("16505551234"), None);
        assert_eq!(
            brazil_alternate("5511912345678").as_deref(),
            None,
            "9 then 1: not an old mobile"
        );
    }

    #[test]
    fn strips_formatting() {
        assert_eq!(digits_only("+55 (11) 98765-0001"), "5511987650001");
        assert!(is_plausible_number("5511987650001"));
        assert!(!is_plausible_number("123"));
        assert!(!is_plausible_number(""));
    }

    proptest! {
        #[test]
        fn alternate_is_an_involution(ddd in 11u32..=99, first in 6u32..=9, rest in 0u32..10_000_000) {
            let old = format!("55{ddd}{first}{rest:07}");
            let new = brazil_alternate(&old).expect("old mobile has a new form");
            prop_assert_eq!(new.len(), 13);
            prop_assert_eq!(brazil_alternate(&new), Some(old));
        }
    }
}
