//! Money in reais as integer cents. Never a float: ERP amounts arrive as strings or decimals and are
//! parsed exactly, refusing anything that would need rounding or guessing.
//!
//! Parsing rules for [`Brl::parse`] (strings as people and ERPs write them):
//! - optional sign `-` and optional `R$` (any case), with or without spaces: "-R$ 1,00", "R$ -1,00";
//! - no separator: whole reais ("1234" is R$ 1.234,00);
//! - both `.` and `,`: the last one is the decimal separator and the other groups thousands
//!   ("1.234,56" and "1,234.56" are both R$ 1.234,56); groups must have three digits;
//! - only `,`: one comma is the decimal separator ("1234,5" is R$ 1.234,50); several are refused;
//! - only `.`, several times: thousands ("1.234.567" is R$ 1.234.567,00);
//! - only `.`, once: with 1 or 2 digits after it, the decimal separator ("1234.56");
//! - a single separator followed by exactly 3 digits ("1.234", "1,234") is ambiguous (a thousand
//!   reais in Brazil, one real and a fraction in machine formats) and refused, unless the text starts
//!   with `R$`, which marks the Brazilian display form: "R$ 1.234" is R$ 1.234,00;
//! - more than two decimals are refused.
//!
//! For fields known to be machine-formatted (ERP JSON, Pix amounts) use [`Brl::parse_dot_decimal`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in reais, held as integer cents. Serialised as the integer number of cents.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Brl(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("valor vazio")]
    Empty,
    #[error("valor inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error("valor inválido: formato não reconhecido")]
    Malformed,
    #[error("valor inválido: separador de milhar fora do lugar")]
    Grouping,
    #[error("valor inválido: mais de duas casas decimais")]
    TooManyDecimals,
    #[error(
        "valor ambíguo: não dá para saber se o separador é de milhar ou de centavos (escreva, por exemplo, 1.234,00)"
    )]
    Ambiguous,
    #[error("valor grande demais")]
    Overflow,
}

impl Brl {
    pub const ZERO: Brl = Brl(0);

    pub const fn from_cents(cents: i64) -> Self {
        Brl(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, other: Brl) -> Option<Brl> {
        self.0.checked_add(other.0).map(Brl)
    }

    pub fn checked_sub(self, other: Brl) -> Option<Brl> {
        self.0.checked_sub(other.0).map(Brl)
    }

    pub fn checked_mul(self, factor: i64) -> Option<Brl> {
        self.0.checked_mul(factor).map(Brl)
    }

    pub fn checked_neg(self) -> Option<Brl> {
        self.0.checked_neg().map(Brl)
    }

    /// Brazilian display form: "R$ 1.234,56", "R$ 0,05", "-R$ 1,00". Same as `Display`.
    pub fn format(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let reais = (abs / 100).to_string();
        let mut grouped = String::with_capacity(reais.len() + reais.len() / 3);
        for (i, c) in reais.chars().enumerate() {
            if i > 0 && (reais.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        format!("{sign}R$ {grouped},{:02}", abs % 100)
    }

    /// The amount as Pix field 54 and most ERP APIs write it: "1234.56" (dot, two decimals, no
    /// grouping). A negative amount keeps its sign, though Pix only takes positive amounts.
    pub fn to_pix_amount(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Parses an amount written by a person or an ERP; see the module docs for the rules.
    pub fn parse(input: &str) -> Result<Self, MoneyError> {
        let mut rest = input.trim();
        let mut negative = false;
        if let Some(r) = rest.strip_prefix('-') {
            negative = true;
            rest = r.trim_start();
        }
        let has_symbol = rest.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("r$"));
        if has_symbol {
            rest = rest[2..].trim_start();
        }
        if let Some(r) = rest.strip_prefix('-') {
            if negative {
                return Err(MoneyError::Malformed);
            }
            negative = true;
            rest = r.trim_start();
        }
        if rest.is_empty() {
            return Err(MoneyError::Empty);
        }
        if let Some(c) = rest.chars().find(|c| !matches!(c, '0'..='9' | '.' | ',')) {
            return Err(MoneyError::InvalidChar(c));
        }

        let dots = rest.matches('.').count();
        let commas = rest.matches(',').count();
        let (integer, fraction, grouping) = match (dots, commas) {
            (0, 0) => (rest, "", None),
            (_, 0) if dots > 1 => (rest, "", Some('.')),
            (0, 1) | (1, 0) => {
                let sep = if commas == 1 { ',' } else { '.' };
                let (int, frac) = rest.split_once(sep).expect("one separator counted");
                match frac.len() {
                    1 | 2 => (int, frac, None),
                    3 if has_symbol && sep == '.' => (rest, "", Some('.')),
                    3 if !has_symbol => return Err(MoneyError::Ambiguous),
                    0 => return Err(MoneyError::Malformed),
                    _ => return Err(MoneyError::TooManyDecimals),
                }
            }
            (0, _) => return Err(MoneyError::Malformed),
            _ => {
                let last_dot = rest.rfind('.').expect("dots counted");
                let last_comma = rest.rfind(',').expect("commas counted");
                let (decimal, group) = if last_comma > last_dot {
                    (',', '.')
                } else {
                    ('.', ',')
                };
                let (int, frac) = rest.rsplit_once(decimal).expect("separator present");
                if int.contains(decimal) || frac.contains(group) {
                    return Err(MoneyError::Grouping);
                }
                if frac.is_empty() {
                    return Err(MoneyError::Malformed);
                }
                if frac.len() > 2 {
                    return Err(MoneyError::TooManyDecimals);
                }
                (int, frac, Some(group))
            }
        };

        let integer_digits = match grouping {
            Some(sep) => {
                let groups: Vec<&str> = integer.split(sep).collect();
                let first_ok = (1..=3).contains(&groups[0].len());
                if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
                    return Err(MoneyError::Grouping);
                }
                groups.concat()
            }
            None => integer.to_owned(),
        };
        if integer_digits.is_empty() {
            return Err(MoneyError::Malformed);
        }
        let cents = to_cents(&integer_digits, fraction)?;
        Ok(Brl(if negative { -cents } else { cents }))
    }

    /// Parses the machine form: optional `-`, digits, optionally `.` and decimals ("1234.56",
    /// "99.9", "100", "29.900"). Decimals past the second must be zeros, so nothing is rounded.
    pub fn parse_dot_decimal(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if let Some(c) = s.chars().find(|c| !matches!(c, '0'..='9' | '.')) {
            return Err(MoneyError::InvalidChar(c));
        }
        let (integer, fraction) = match s.split_once('.') {
            Some((_, f)) if f.is_empty() || f.contains('.') => return Err(MoneyError::Malformed),
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if integer.is_empty() {
            return Err(MoneyError::Malformed);
        }
        let significant = if fraction.len() > 2 {
            if fraction[2..].bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooManyDecimals);
            }
            &fraction[..2]
        } else {
            fraction
        };
        let cents = to_cents(integer, significant)?;
        Ok(Brl(if negative { -cents } else { cents }))
    }
}

/// Whole reais digits and up to two decimal digits to cents, checking overflow.
fn to_cents(integer: &str, fraction: &str) -> Result<i64, MoneyError> {
    let mut reais: i64 = 0;
    for b in integer.bytes() {
        reais = reais
            .checked_mul(10)
            .and_then(|r| r.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    let fraction_cents = match fraction.as_bytes() {
        [] => 0,
        [d] => i64::from(d - b'0') * 10,
        [d1, d2] => i64::from(d1 - b'0') * 10 + i64::from(d2 - b'0'),
        _ => return Err(MoneyError::TooManyDecimals),
    };
    reais
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction_cents))
        .ok_or(MoneyError::Overflow)
}

impl fmt::Display for Brl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

impl std::str::FromStr for Brl {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Brl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_in_portuguese() {
        assert_eq!(Brl::from_cents(123_456).to_string(), "R$ 1.234,56");
        assert_eq!(Brl::from_cents(-100).format(), "-R$ 1,00");
        assert_eq!(Brl::from_cents(5).format(), "R$ 0,05");
        assert_eq!(Brl::ZERO.format(), "R$ 0,00");
        assert_eq!(Brl::from_cents(99_900).format(), "R$ 999,00");
        assert_eq!(Brl::from_cents(100_000_000).format(), "R$ 1.000.000,00");
        assert_eq!(
            Brl::from_cents(i64::MIN).format(),
            "-R$ 92.233.720.368.547.758,08"
        );
    }

    #[test]
    fn pix_amount_form() {
        assert_eq!(Brl::from_cents(123_456).to_pix_amount(), "1234.56");
        assert_eq!(Brl::from_cents(5).to_pix_amount(), "0.05");
        assert_eq!(Brl::from_cents(1000).to_pix_amount(), "10.00");
        assert_eq!(Brl::from_cents(-100).to_pix_amount(), "-1.00");
    }

    #[test]
    fn parses_what_people_and_erps_write() {
        let cases = [
            ("1.234,56", 123_456),
            ("1234.56", 123_456),
            ("R$ 1.234,56", 123_456),
            ("R$1.234,56", 123_456),
            ("r$ 10,00", 1000),
            ("1234", 123_400),
            ("1,234.56", 123_456),
            ("1234,5", 123_450),
            ("99.9", 9990),
            ("0,05", 5),
            ("1.234.567", 123_456_700),
            ("1.234.567,89", 123_456_789),
            ("1,234,567.89", 123_456_789),
            ("R$ 1.234", 123_400),
            ("-R$ 1,00", -100),
            ("R$ -1,00", -100),
            ("- 15,90", -1590),
            ("  29,90  ", 2990),
        ];
        for (input, cents) in cases {
            assert_eq!(Brl::parse(input), Ok(Brl::from_cents(cents)), "{input}");
        }
    }

    #[test]
    fn ambiguous_or_broken_amounts_are_refused() {
        let cases = [
            ("1.234", MoneyError::Ambiguous),
            ("1,234", MoneyError::Ambiguous),
            ("R$ 1,234", MoneyError::TooManyDecimals),
            ("1.2345", MoneyError::TooManyDecimals),
            ("1.234,567", MoneyError::TooManyDecimals),
            ("1,234,567", MoneyError::Malformed),
            ("1.23.4", MoneyError::Grouping),
            ("12,34.56", MoneyError::Grouping),
            ("1.234,56.7", MoneyError::Grouping),
            ("1,", MoneyError::Malformed),
            (",50", MoneyError::Malformed),
            ("--1", MoneyError::Malformed),
            ("", MoneyError::Empty),
            ("R$ ", MoneyError::Empty),
            ("dez reais", MoneyError::InvalidChar('d')),
            ("1 234", MoneyError::InvalidChar(' ')),
            ("99999999999999999999", MoneyError::Overflow),
        ];
        for (input, error) in cases {
            assert_eq!(Brl::parse(input), Err(error), "{input}");
        }
        assert!(
            MoneyError::Ambiguous
                .to_string()
                .starts_with("valor ambíguo")
        );
    }

    #[test]
    fn dot_decimal_machine_form() {
        assert_eq!(
            Brl::parse_dot_decimal("1234.56"),
            Ok(Brl::from_cents(123_456))
        );
        assert_eq!(Brl::parse_dot_decimal("99.9"), Ok(Brl::from_cents(9990)));
        assert_eq!(Brl::parse_dot_decimal("100"), Ok(Brl::from_cents(10_000)));
        assert_eq!(Brl::parse_dot_decimal("29.900"), Ok(Brl::from_cents(2990)));
        assert_eq!(
            Brl::parse_dot_decimal("1.234"),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(Brl::parse_dot_decimal("-3.00"), Ok(Brl::from_cents(-300)));
        assert_eq!(
            Brl::parse_dot_decimal("1,00"),
            Err(MoneyError::InvalidChar(','))
        );
        assert_eq!(Brl::parse_dot_decimal("1."), Err(MoneyError::Malformed));
        assert_eq!(Brl::parse_dot_decimal(".5"), Err(MoneyError::Malformed));
        assert_eq!(Brl::parse_dot_decimal("1.2.3"), Err(MoneyError::Malformed));
        assert_eq!(Brl::parse_dot_decimal(""), Err(MoneyError::Empty));
    }

    #[test]
    fn checked_arithmetic() {
        let a = Brl::from_cents(1000);
        assert_eq!(
            a.checked_add(Brl::from_cents(250)),
            Some(Brl::from_cents(1250))
        );
        assert_eq!(
            a.checked_sub(Brl::from_cents(1250)),
            Some(Brl::from_cents(-250))
        );
        assert_eq!(a.checked_mul(3), Some(Brl::from_cents(3000)));
        assert_eq!(
            Brl::from_cents(i64::MAX).checked_add(Brl::from_cents(1)),
            None
        );
        assert_eq!(
            Brl::from_cents(i64::MIN).checked_sub(Brl::from_cents(1)),
            None
        );
        assert_eq!(Brl::from_cents(i64::MAX).checked_mul(2), None);
        assert_eq!(Brl::from_cents(i64::MIN).checked_neg(), None);
        assert_eq!(serde_json::to_string(&a).unwrap(), "1000");
        assert_eq!(serde_json::from_str::<Brl>("1000").unwrap(), a);
    }

    proptest! {
        #[test]
        fn format_and_parse_round_trip(cents in (i64::MIN + 1)..=i64::MAX) {
            let money = Brl::from_cents(cents);
            prop_assert_eq!(Brl::parse(&money.format()), Ok(money));
            prop_assert_eq!(Brl::parse_dot_decimal(&money.to_pix_amount()), Ok(money));
            prop_assert_eq!(Brl::parse(&money.to_pix_amount()), Ok(money));
            let without_symbol = money.format().replacen("R$ ", "", 1);
            prop_assert_eq!(Brl::parse(&without_symbol), Ok(money));
        }

        #[test]
        fn checked_add_matches_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let wide = i128::from(a) + i128::from(b);
            let expected = i64::try_from(wide).ok().map(Brl::from_cents);
            prop_assert_eq!(Brl::from_cents(a).checked_add(Brl::from_cents(b)), expected);
        }

        #[test]
        fn parse_never_panics_and_is_stable(s in "\\PC{0,30}") {
            if let Ok(money) = Brl::parse(&s) {
                prop_assert_eq!(Brl::parse(&money.format()), Ok(money));
            }
            let _ = Brl::parse_dot_decimal(&s);
        }

        #[test]
        fn separator_soup_never_panics(s in "-?(R\\$)? ?[0-9.,]{0,20}") {
            if let Ok(money) = Brl::parse(&s) {
                prop_assert_eq!(Brl::parse(&money.format()), Ok(money));
            }
        }
    }
}
