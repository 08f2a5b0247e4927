//! Brazilian phone numbers as people and ERPs write them, turned into one canonical form
//! (DDD + 8-digit landline or 9-digit mobile) and into WhatsApp ids.
//!
//! Accepted: "(11) 98765-4321", "11987654321", "+55 11 9 8765-4321", "55 11 98765-4321",
//! "0xx11 98765-4321", "011 98765-4321", carrier-selection dialling "0 21 11 98765-4321", and
//! legacy 8-digit mobiles "(11) 8765-4321", which are stored with the 9 every mobile has had since
//! 2016 ("(11) 98765-4321"). A WhatsApp account may still use the 8-digit form as its wa_id, so
//! compare with [`same_subscriber`] rather than by equality.

use super::strip_separators;
use crate::wa_id::WaId;
use serde::{Deserialize, Serialize};
use std::fmt;

const SEPARATORS: &[char] = &['-', '.', '(', ')', '/'];

/// Every DDD in use, with its state.
#[rustfmt::skip]
const DDDS: [(u8, &str); 67] = [
    (11, "SP"),
    (12, "SP"),
    (13, "SP"),
    (14, "SP"),
    (15, "SP"),
    (16, "SP"),
    (17, "SP"),
    (18, "SP"),
    (19, "SP"),
    (21, "RJ"),
    (22, "RJ"),
    (24, "RJ"),
    (27, "ES"),
    (28, "ES"),
    (31, "MG"),
    (32, "MG"),
    (33, "MG"),
    (34, "MG"),
    (35, "MG"),
    (37, "MG"),
    (38, "MG"),
    (41, "PR"),
    (42, "PR"),
    (43, "PR"),
    (44, "PR"),
    (45, "PR"),
    (46, "PR"),
    (47, "SC"),
    (48, "SC"),
    (49, "SC"),
    (51, "RS"),
    (53, "RS"),
    (54, "RS"),
    (55, "RS"),
    (61, "DF"),
    (62, "GO"),
    (63, "TO"),
    (64, "GO"),
    (65, "MT"),
    (66, "MT"),
    (67, "MS"),
    (68, "AC"),
    (69, "RO"),
    (71, "BA"),
    (73, "BA"),
    (74, "BA"),
    (75, "BA"),
    (77, "BA"),
    (79, "SE"),
    (81, "PE"),
    (82, "AL"),
    (83, "PB"),
    (84, "RN"),
    (85, "CE"),
    (86, "PI"),
    (87, "PE"),
    (88, "CE"),
    (89, "PI"),
    (91, "PA"),
    (92, "AM"),
    (93, "PA"),
    (94, "PA"),
    (95, "RR"),
    (96, "AP"),
    (97, "AM"),
    (98, "MA"),
    (99, "MA"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("telefone vazio")]
    Empty,
    #[error("telefone inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error("telefone inválido: {0} dígitos")]
    Length(usize),
    #[error("telefone não é do Brasil (+55)")]
    NotBrazilian,
    #[error("informe o telefone com DDD")]
    MissingDdd,
    #[error("DDD {0:02} não existe")]
    InvalidDdd(u8),
    #[error("telefone inválido: não é um número de celular nem de fixo")]
    InvalidNumber,
}

/// A Brazilian area code (DDD) in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Ddd(u8);

impl Ddd {
    pub fn new(code: u8) -> Result<Self, PhoneError> {
        if DDDS.iter().any(|&(d, _)| d == code) {
            Ok(Ddd(code))
        } else {
            Err(PhoneError::InvalidDdd(code))
        }
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The state's two-letter abbreviation ("SP", "CE"…).
    pub fn state(self) -> &'static str {
        DDDS.iter()
            .find(|&&(d, _)| d == self.0)
            .map(|&(_, uf)| uf)
            .expect("only valid DDDs exist")
    }

    /// All valid DDDs, ascending.
    pub fn all() -> impl Iterator<Item = Ddd> {
        DDDS.iter().map(|&(d, _)| Ddd(d))
    }
}

impl TryFrom<u8> for Ddd {
    type Error = PhoneError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ddd::new(value)
    }
}

impl From<Ddd> for u8 {
    fn from(value: Ddd) -> Self {
        value.0
    }
}

impl fmt::Display for Ddd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// A Brazilian phone number: a valid DDD and either a 9-digit mobile (starting with 9) or an
/// 8-digit landline (starting with 2 to 5). Serialised as the national digits, "11987654321".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrPhone {
    ddd: Ddd,
    number: String,
}

impl BrPhone {
    /// Parses a number with DDD in any of the forms listed in the module docs.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_inner(input, None)
    }

    /// Like [`BrPhone::parse`], but a number written without DDD (8 or 9 digits, as some ERP
    /// records hold them) gets `default_ddd`, the provider's own area.
    pub fn parse_with_default_ddd(input: &str, default_ddd: Ddd) -> Result<Self, PhoneError> {
        Self::parse_inner(input, Some(default_ddd))
    }

    /// The phone behind a Brazilian wa_id (55 + DDD + 8 or 9 digits).
    pub fn from_wa_id(wa_id: &WaId) -> Result<Self, PhoneError> {
        let s = wa_id.as_str();
        match s.strip_prefix("55") {
            Some(national) if matches!(s.len(), 12 | 13) => Self::from_national(national),
            _ => Err(PhoneError::NotBrazilian),
        }
    }

    fn parse_inner(input: &str, default_ddd: Option<Ddd>) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let (international, rest) = match trimmed.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        let mut digits = strip_separators(rest, SEPARATORS).map_err(PhoneError::InvalidChar)?;
        // "0xx11…": the xx stood for the carrier code the caller would dial.
        if !international
            && digits
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case("0xx"))
        {
            digits.drain(..3);
        }
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::InvalidChar(c));
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        if international {
            return match digits.strip_prefix("55") {
                Some(national) if matches!(national.len(), 10 | 11) => {
                    Self::from_national(national)
                }
                Some(_) => Err(PhoneError::Length(digits.len())),
                None => Err(PhoneError::NotBrazilian),
            };
        }
        let national = match (digits.len(), digits.as_bytes()[0]) {
            (8 | 9, _) => {
                let ddd = default_ddd.ok_or(PhoneError::MissingDdd)?;
                return Self::with_ddd(ddd, &digits);
            }
            // Trunk prefix 0 before the DDD: "011 98765-4321".
            (11 | 12, b'0') => &digits[1..],
            (10 | 11, _) => &digits[..],
            // Country code without "+": "55 11 98765-4321".
            (12 | 13, b'5') if digits.starts_with("55") => &digits[2..],
            // Carrier selection: 0 + 2-digit carrier + DDD + number.
            (13 | 14, b'0') => &digits[3..],
            (n, _) => return Err(PhoneError::Length(n)),
        };
        Self::from_national(national)
    }

    /// DDD + number, 10 or 11 digits.
    fn from_national(national: &str) -> Result<Self, PhoneError> {
        if !matches!(national.len(), 10 | 11) {
            return Err(PhoneError::Length(national.len()));
        }
        let ddd = Ddd::new(national[..2].parse().expect("two digits"))?;
        Self::with_ddd(ddd, &national[2..])
    }

    fn with_ddd(ddd: Ddd, number: &str) -> Result<Self, PhoneError> {
        let number = match (number.len(), number.as_bytes()[0]) {
            (9, b'9') => number.to_owned(),
            (8, b'2'..=b'5') => number.to_owned(),
            // Legacy 8-digit mobile: every mobile gained a leading 9.
            (8, b'6'..=b'9') => format!("9{number}"),
            _ => return Err(PhoneError::InvalidNumber),
        };
        Ok(BrPhone { ddd, number })
    }

    pub fn ddd(&self) -> Ddd {
        self.ddd
    }

    /// The local number: 9 digits for a mobile, 8 for a landline.
    pub fn number(&self) -> &str {
        &self.number
    }

    pub fn is_mobile(&self) -> bool {
        self.number.len() == 9
    }

    /// DDD and number, "11987654321".
    pub fn national(&self) -> String {
        format!("{}{}", self.ddd, self.number)
    }

    /// "+5511987654321".
    pub fn e164(&self) -> String {
        format!("+55{}", self.national())
    }

    /// "(11) 98765-4321" or "(11) 3265-4321".
    pub fn formatted(&self) -> String {
        let split = self.number.len() - 4;
        format!(
            "({}) {}-{}",
            self.ddd,
            &self.number[..split],
            &self.number[split..]
        )
    }

    /// The wa_id in its current form (55 + DDD + number, 13 digits for a mobile). The account may
    /// be registered under the 8-digit form; see [`WaId::variants`].
    pub fn to_wa_id(&self) -> WaId {
        WaId::parse(&format!("55{}", self.national())).expect("12 or 13 digits form a valid wa_id")
    }

    /// Whether this phone and `wa_id` reach the same subscriber (either 9th-digit form).
    pub fn matches_wa_id(&self, wa_id: &WaId) -> bool {
        same_subscriber(&self.to_wa_id(), wa_id)
    }
}

/// Whether two wa_ids belong to the same subscriber: equal once the Brazilian 9th digit is set aside
/// (DDD + last 8 digits), per [`WaId::match_key`].
pub fn same_subscriber(a: &WaId, b: &WaId) -> bool {
    a.match_key() == b.match_key()
}

impl fmt::Display for BrPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

impl std::str::FromStr for BrPhone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BrPhone::parse(s)
    }
}

impl TryFrom<String> for BrPhone {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        BrPhone::parse(&value)
    }
}

impl From<BrPhone> for String {
    fn from(value: BrPhone) -> Self {
        value.national()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn written_forms_of_one_mobile() {
        let expected = BrPhone::parse("(11) 98765-4321").unwrap();
        assert_eq!(expected.ddd().code(), 11);
        assert_eq!(expected.number(), "987654321");
        assert!(expected.is_mobile());
        assert_eq!(expected.formatted(), "(11) 98765-4321");
        assert_eq!(expected.national(), "11987654321");
        assert_eq!(expected.e164(), "+5511987654321");
        for input in [
            "11987654321",
            "11 98765 4321",
            "+55 11 9 8765-4321",
            "+55 (11) 98765-4321",
            "+5511987654321",
            "55 11 98765-4321",
            "5511987654321",
            "0xx11 98765-4321",
            "0XX11987654321",
            "(0xx11) 98765-4321",
            "011 98765-4321",
            "011987654321",
            "0 21 11 98765-4321",
            "(11) 8765-4321",
            "1187654321",
            "551187654321",
            "11.98765.4321",
        ] {
            assert_eq!(BrPhone::parse(input), Ok(expected.clone()), "{input}");
        }
    }

    #[test]
    fn landlines_stay_eight_digits() {
        let landline = BrPhone::parse("(11) 3265-4321").unwrap();
        assert!(!landline.is_mobile());
        assert_eq!(landline.formatted(), "(11) 3265-4321");
        assert_eq!(landline.to_wa_id().as_str(), "551132654321");
        assert_eq!(
            BrPhone::parse("0xx85 3255-1000").unwrap().formatted(),
            "(85) 3255-1000"
        );
        assert_eq!(
            BrPhone::parse("+55 85 3255 1000").unwrap().national(),
            "8532551000"
        );
    }

    #[test]
    fn ddd_fifty_five_is_not_the_country_code() {
        let phone = BrPhone::parse("55999998888").unwrap();
        assert_eq!(phone.ddd().code(), 55);
        assert_eq!(phone.ddd().state(), "RS");
        assert_eq!(BrPhone::parse("5555999998888").unwrap(), phone);
    }

    #[test]
    fn bad_numbers_are_refused_in_portuguese() {
        assert_eq!(
            BrPhone::parse("(20) 98765-4321"),
            Err(PhoneError::InvalidDdd(20))
        );
        assert_eq!(PhoneError::InvalidDdd(20).to_string(), "DDD 20 não existe");
        assert_eq!(
            BrPhone::parse("(11) 1234-5678"),
            Err(PhoneError::InvalidNumber)
        );
        assert_eq!(
            BrPhone::parse("(11) 88765-4321"),
            Err(PhoneError::InvalidNumber)
        );
        assert_eq!(BrPhone::parse("98765-4321"), Err(PhoneError::MissingDdd));
        assert_eq!(
            PhoneError::MissingDdd.to_string(),
            "informe o telefone com DDD"
        );
        assert_eq!(
            BrPhone::parse("+1 650 555 1234"),
            Err(PhoneError::NotBrazilian)
        );
        assert_eq!(BrPhone::parse("+55 11 98765"), Err(PhoneError::Length(9)));
        assert_eq!(BrPhone::parse("123456"), Err(PhoneError::Length(6)));
        assert_eq!(
            BrPhone::parse("11 98765-432a"),
            Err(PhoneError::InvalidChar('a'))
        );
        assert_eq!(
            BrPhone::parse("11 98765_4321"),
            Err(PhoneError::InvalidChar('_'))
        );
        assert_eq!(BrPhone::parse(""), Err(PhoneError::Empty));
        assert_eq!(BrPhone::parse("+"), Err(PhoneError::Empty));
    }

    #[test]
    fn default_ddd_completes_short_numbers() {
        let ceara = Ddd::new(85).unwrap();
        assert_eq!(ceara.state(), "CE");
        let phone = BrPhone::parse_with_default_ddd("98765-4321", ceara).unwrap();
        assert_eq!(phone.formatted(), "(85) 98765-4321");
        assert_eq!(
            BrPhone::parse_with_default_ddd("3255-1000", ceara)
                .unwrap()
                .formatted(),
            "(85) 3255-1000"
        );
        let explicit = BrPhone::parse_with_default_ddd("(11) 98765-4321", ceara).unwrap();
        assert_eq!(explicit.ddd().code(), 11);
    }

    #[test]
    fn ddd_table() {
        assert_eq!(Ddd::all().count(), 67);
        assert!(Ddd::all().all(|d| (11..=99).contains(&d.code()) && d.code() % 10 != 0));
        assert_eq!(Ddd::new(61).unwrap().state(), "DF");
        assert_eq!(Ddd::new(23), Err(PhoneError::InvalidDdd(23)));
        assert_eq!(Ddd::new(10), Err(PhoneError::InvalidDdd(10)));
    }

    #[test]
    fn wa_ids_and_the_ninth_digit() {
        let phone = BrPhone::parse("(16) 99231-8222").unwrap();
        let current = WaId::parse("5516992318222").unwrap();
        let legacy = WaId::parse("551692318222").unwrap();
        assert_eq!(phone.to_wa_id(), current);
        assert_eq!(BrPhone::from_wa_id(&legacy).unwrap(), phone);
        assert_eq!(BrPhone::from_wa_id(&current).unwrap(), phone);
        assert!(phone.matches_wa_id(&legacy));
        assert!(same_subscriber(&current, &legacy));
        assert!(!same_subscriber(
            &current,
            &WaId::parse("5516992318223").unwrap()
        ));
        assert!(!same_subscriber(
            &current,
            &WaId::parse("5517992318222").unwrap()
        ));
        assert_eq!(
            BrPhone::from_wa_id(&WaId::parse("16505551234").unwrap()),
            Err(PhoneError::NotBrazilian)
        );
    }

    #[test]
    fn serde_is_the_national_number() {
        let phone = BrPhone::parse("(11) 98765-4321").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"11987654321\"");
        assert_eq!(
            serde_json::from_str::<BrPhone>("\"+55 11 98765-4321\"").unwrap(),
            phone
        );
        assert!(serde_json::from_str::<BrPhone>("\"(20) 98765-4321\"").is_err());
    }

    fn any_ddd() -> impl Strategy<Value = Ddd> {
        prop::sample::select(Ddd::all().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn every_written_form_of_a_mobile_agrees(ddd in any_ddd(), rest in 0u32..100_000_000) {
            let expected = BrPhone::parse(&format!("{ddd}9{rest:08}")).unwrap();
            prop_assert!(expected.is_mobile());
            let (head, tail) = (format!("9{:04}", rest / 10_000), format!("{:04}", rest % 10_000));
            for written in [
                format!("({ddd}) {head}-{tail}"),
                format!("+55 {ddd} {head} {tail}"),
                format!("0xx{ddd} {head}-{tail}"),
                format!("0{ddd}{head}{tail}"),
                format!("55{ddd}{head}{tail}"),
                expected.formatted(),
                expected.e164(),
            ] {
                prop_assert_eq!(BrPhone::parse(&written), Ok(expected.clone()));
            }
            let wa_id = expected.to_wa_id();
            prop_assert_eq!(BrPhone::from_wa_id(&wa_id), Ok(expected.clone()));
            let legacy = WaId::parse(&format!("55{ddd}{rest:08}")).unwrap();
            if rest >= 60_000_000 {
                // An 8-digit form starting with 6..9 is a legacy mobile: same subscriber.
                prop_assert!(expected.matches_wa_id(&legacy));
                prop_assert_eq!(BrPhone::parse(&format!("({ddd}) {rest:08}")), Ok(expected.clone()));
            }
        }

        #[test]
        fn landlines_round_trip(ddd in any_ddd(), first in 2u32..=5, rest in 0u32..10_000_000) {
            let phone = BrPhone::parse(&format!("({ddd}) {first}{rest:07}")).unwrap();
            prop_assert!(!phone.is_mobile());
            prop_assert_eq!(BrPhone::parse(&phone.formatted()), Ok(phone.clone()));
            prop_assert_eq!(BrPhone::from_wa_id(&phone.to_wa_id()), Ok(phone.clone()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,25}") {
            if let Ok(phone) = BrPhone::parse(&s) {
                prop_assert_eq!(BrPhone::parse(&phone.formatted()), Ok(phone));
            }
        }

        #[test]
        fn digit_soup_never_panics(s in "[+]?(0xx)?[0-9 ()-]{0,20}") {
            if let Ok(phone) = BrPhone::parse(&s) {
                prop_assert!(matches!(phone.number().len(), 8 | 9));
                prop_assert_eq!(BrPhone::parse(&phone.national()), Ok(phone));
            }
        }
    }
}
