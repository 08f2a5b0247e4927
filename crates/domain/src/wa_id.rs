//! WhatsApp ids (`wa_id`): the digits of a phone number in international form, and the Brazilian
//! 9th-digit rule. Older Brazilian WhatsApp accounts kept the 8-digit mobile form (`55 DD XXXXXXXX`,
//! 12 digits) while the number itself now has a 9 in front (`55 DD 9XXXXXXXX`, 13 digits). Both forms
//! name the same person, so contacts are matched on [`WaId::match_key`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// Digits only, 8 to 15 of them (E.164 without the `+`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WaId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaIdError {
    #[error("número de WhatsApp vazio")]
    Empty,
    #[error("número de WhatsApp com caractere inválido: {0:?}")]
    InvalidChar(char),
    #[error("número de WhatsApp deve ter de 8 a 15 dígitos (tem {0})")]
    Length(usize),
}

impl WaId {
    /// Parses a wa_id or a phone number typed by a person: `+55 (11) 98765-0001`, `5511987650001`.
    /// Spaces, `+`, `-`, `.`, `(` and `)` are ignored; anything else is refused.
    pub fn parse(input: &str) -> Result<Self, WaIdError> {
        let mut digits = String::with_capacity(input.len());
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '+' | '-' | '.' | '(' | ')' => {}
                other => return Err(WaIdError::InvalidChar(other)),
            }
        }
        if digits.is_empty() {
            return Err(WaIdError::Empty);
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(WaIdError::Length(digits.len()));
        }
        Ok(WaId(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For a Brazilian mobile number, `(ddd, last 8 digits)`; `None` otherwise.
    fn br_mobile_parts(&self) -> Option<(&str, &str)> {
        let s = self.0.as_str();
        if !s.starts_with("55") {
            return None;
        }
        let ddd = &s[2..4.min(s.len())];
        if ddd.len() != 2 || ddd.starts_with('0') {
            return None;
        }
        match s.len() {
            // 55 DD 9 XXXXXXXX
            13 if s.as_bytes()[4] == b'9' => Some((ddd, &s[5..])),
            // 55 DD XXXXXXXX, a mobile if it starts with 6..9 (landlines start with 2..5)
            12 if matches!(s.as_bytes()[4], b'6'..=b'9') => Some((ddd, &s[4..])),
            _ => None,
        }
    }

    /// The key two wa_ids of the same person share: for a Brazilian mobile `55` + DDD + the last 8
    /// digits, for anything else the wa_id itself.
    pub fn match_key(&self) -> String {
        match self.br_mobile_parts() {
            Some((ddd, last8)) => format!("55{ddd}{last8}"),
            None => self.0.clone(),
        }
    }

    /// Every form this number can take on WhatsApp: both 9th-digit forms for a Brazilian mobile,
    /// only itself otherwise. The first entry is always `self`.
    pub fn variants(&self) -> Vec<WaId> {
        let mut out = vec![self.clone()];
        if let Some((ddd, last8)) = self.br_mobile_parts() {
            let other = if self.0.len() == 13 {
                format!("55{ddd}{last8}")
            } else {
                format!("55{ddd}9{last8}")
            };
            out.push(WaId(other));
        }
        out
    }
}

impl fmt::Display for WaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WaId {
    type Error = WaIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        WaId::parse(&value)
    }
}

impl From<WaId> for String {
    fn from(value: WaId) -> Self {
        value.0
    }
}

impl std::str::FromStr for WaId {
    type Err = WaIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WaId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_typed_numbers() {
        assert_eq!(
            WaId::parse("+55 (11) 98765-0001").unwrap().as_str(),
            "5511987650001"
        );
        assert_eq!(WaId::parse("").unwrap_err(), WaIdError::Empty);
        assert_eq!(
            WaId::parse("55a1").unwrap_err(),
            WaIdError::InvalidChar('a')
        );
        assert_eq!(WaId::parse("1234567").unwrap_err(), WaIdError::Length(7));
    }

    #[test]
    fn ninth_digit_forms_share_a_key() {
        let new = WaId::parse("5516992318222").unwrap();
        let old = WaId::parse("551692318222").unwrap();
        assert_eq!(new.match_key(), old.match_key());
        assert_eq!(new.variants(), vec![new.clone(), old.clone()]);
        assert_eq!(old.variants(), vec![old.clone(), new.clone()]);
    }

    #[test]
    fn landlines_and_foreign_numbers_have_one_form() {
        let landline = WaId::parse("551132654321").unwrap();
        assert_eq!(landline.variants().len(), 1);
        assert_eq!(landline.match_key(), "551132654321");
        let us = WaId::parse("16505551234").unwrap();
        assert_eq!(us.variants(), vec![us.clone()]);
    }

    proptest! {
        #[test]
        fn variants_are_symmetric(ddd in 11u32..=99, rest in 60_000_000u32..=99_999_999) {
            let new = WaId::parse(&format!("55{ddd}9{rest}")).unwrap();
            let old = WaId::parse(&format!("55{ddd}{rest}")).unwrap();
            prop_assert_eq!(new.match_key(), old.match_key());
            prop_assert!(new.variants().contains(&old));
            prop_assert!(old.variants().contains(&new));
        }

        #[test]
        fn parse_never_panics_and_keeps_only_digits(s in "\\PC{0,30}") {
            if let Ok(id) = WaId::parse(&s) {
                prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((8..=15).contains(&id.as_str().len()));
            }
        }
    }
}
