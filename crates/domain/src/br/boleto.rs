//! Boletos: the bank boleto (44-digit barcode, 47-digit *linha digitável*) and the
//! arrecadação/concessionária slip (barcode starting with 8, 48-digit line) that utilities and
//! telecoms use. ERPs hand out either form; [`Boleto::parse`] takes any of them, checks every check
//! digit and converts between barcode and line.

use super::money::Brl;
use super::strip_separators;
use jiff::ToSpan;
use jiff::civil::{Date, date};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Separators seen in lines copied from PDFs and ERPs: "10492.00650 61000.100042 …", "…-0 …".
const SEPARATORS: &[char] = &['.', '-'];

/// Day zero of the due-date factor.
const FACTOR_BASE: Date = date(1997, 10, 7);
/// The factor runs 1000..=9999 and then restarts at 1000 (first on 2025-02-22): one cycle is 9000 days.
const FACTOR_CYCLE_DAYS: i64 = 9000;
const MAX_BANK_AMOUNT_CENTS: i64 = 9_999_999_999;
const MAX_COLLECTION_AMOUNT_CENTS: i64 = 99_999_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoletoError {
    #[error("boleto inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error(
        "boleto inválido: {0} dígitos (o código de barras tem 44, a linha digitável 47 ou 48 na conta de consumo)"
    )]
    Length(usize),
    #[error("linha digitável inválida: dígito verificador do campo {0} não confere")]
    FieldCheckDigit(u8),
    #[error("linha digitável inválida: dígito verificador do bloco {0} não confere")]
    BlockCheckDigit(u8),
    #[error("boleto inválido: dígito verificador geral não confere")]
    GeneralCheckDigit,
    #[error("é uma conta de consumo/arrecadação (começa com 8), não um boleto bancário")]
    NotBank,
    #[error("não é uma conta de consumo/arrecadação (deveria começar com 8)")]
    NotCollection,
    #[error("boleto inválido: código de moeda {0} não é real (9)")]
    Currency(char),
    #[error("conta de consumo inválida: identificador de valor {0} (esperado 6, 7, 8 ou 9)")]
    ValueId(char),
    #[error("código do banco deve ter 3 dígitos e não começar com 8")]
    BankCode,
    #[error("campo livre deve ter {expected} dígitos (tem {found})")]
    FreeField { expected: usize, found: usize },
    #[error("valor fora do intervalo aceito no código de barras")]
    Amount,
    #[error("segmento de arrecadação deve ser um dígito")]
    Segment,
    #[error("vencimento anterior a 03/07/2000 não cabe no fator de vencimento")]
    DueDate,
}

/// Which check digit module an arrecadação barcode uses (its third digit: 6/7 → mod 10, 8/9 → mod 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckModulus {
    Mod10,
    Mod11,
}

fn digits_only(input: &str) -> Result<String, BoletoError> {
    let cleaned = strip_separators(input, SEPARATORS).map_err(BoletoError::InvalidChar)?;
    match cleaned.chars().find(|c| !c.is_ascii_digit()) {
        Some(c) => Err(BoletoError::InvalidChar(c)),
        None => Ok(cleaned),
    }
}

fn digit_values(s: &str) -> impl DoubleEndedIterator<Item = u32> + '_ {
    s.bytes().map(|b| u32::from(b - b'0'))
}

/// Mod 10: weights 2, 1, 2, 1… from the right, two-digit products counted as the sum of their digits.
fn mod10(digits: &str) -> u8 {
    let sum: u32 = digit_values(digits)
        .rev()
        .zip([2u32, 1].into_iter().cycle())
        .map(|(d, w)| {
            let p = d * w;
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Sum with weights 2..=9 repeating from the right, modulo 11.
fn mod11_remainder(digits: &str) -> u32 {
    let sum: u32 = digit_values(digits)
        .rev()
        .zip((2u32..=9).cycle())
        .map(|(d, w)| d * w)
        .sum();
    sum % 11
}

/// General check digit of a bank barcode: 11 − remainder, with 0, 10 and 11 becoming 1.
fn bank_general_dv(digits: &str) -> u8 {
    match 11 - mod11_remainder(digits) {
        0 | 10 | 11 => 1,
        dv => dv as u8,
    }
}

/// Mod 11 of arrecadação: remainder 0 or 1 gives 0, otherwise 11 − remainder.
fn collection_mod11(digits: &str) -> u8 {
    match mod11_remainder(digits) {
        0 | 1 => 0,
        r => (11 - r) as u8,
    }
}

fn collection_dv(modulus: CheckModulus, digits: &str) -> u8 {
    match modulus {
        CheckModulus::Mod10 => mod10(digits),
        CheckModulus::Mod11 => collection_mod11(digits),
    }
}

fn dv_char(dv: u8) -> char {
    char::from(b'0' + dv)
}

fn days_since_base(day: Date) -> i64 {
    i64::from(
        FACTOR_BASE
            .until(day)
            .expect("a span in days between two dates always fits")
            .get_days(),
    )
}

/// The due date a factor stands for, in the 9000-day cycle nearest to `reference` (normally today):
/// factor 8981 is 2022-05-10 in the first cycle and 2046-12-30 in the next, so a boleto read in
/// 2026 is due 2022-05-10. `None` for factor 0 (no due date) or one past 9999.
pub fn due_date_for_factor(factor: u16, reference: Date) -> Option<Date> {
    if factor == 0 || factor > 9999 {
        return None;
    }
    let offset = i64::from(factor);
    let reference_days = days_since_base(reference);
    let k0 = (reference_days - offset)
        .div_euclid(FACTOR_CYCLE_DAYS)
        .max(0);
    let candidates = [k0, k0 + 1];
    let best = candidates
        .iter()
        .map(|k| offset + k * FACTOR_CYCLE_DAYS)
        // Later cycle wins a tie: an open invoice is more likely due ahead than 12 years back.
        .min_by_key(|days| ((days - reference_days).abs(), -days))?;
    FACTOR_BASE.checked_add(best.days()).ok()
}

/// The factor printed for a due date: days since 1997-10-07, restarting at 1000 after 9999
/// (2025-02-22 is 1000 again). Dates before 2000-07-03 (factor 1000 of the first cycle) are refused.
pub fn factor_for_due_date(due: Date) -> Result<u16, BoletoError> {
    let days = days_since_base(due);
    if days < 1000 {
        return Err(BoletoError::DueDate);
    }
    Ok(((days - 1000) % FACTOR_CYCLE_DAYS + 1000) as u16)
}

fn parse_amount(digits: &str) -> Option<i64> {
    let cents: i64 = digits.parse().expect("amount field is all digits");
    (cents > 0).then_some(cents)
}

// ---------------------------------------------------------------------------------------------
// Bank boleto
// ---------------------------------------------------------------------------------------------

/// The 44-digit barcode of a bank boleto, in reais, with a correct general check digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BankBarcode(String);

impl BankBarcode {
    /// Parses the 44 barcode digits (spaces, dots and dashes ignored).
    pub fn parse(input: &str) -> Result<Self, BoletoError> {
        let digits = digits_only(input)?;
        if digits.len() != 44 {
            return Err(BoletoError::Length(digits.len()));
        }
        Self::from_digits(digits)
    }

    fn from_digits(digits: String) -> Result<Self, BoletoError> {
        let bytes = digits.as_bytes();
        if bytes[0] == b'8' {
            return Err(BoletoError::NotBank);
        }
        if bytes[3] != b'9' {
            return Err(BoletoError::Currency(char::from(bytes[3])));
        }
        let without_dv = format!("{}{}", &digits[..4], &digits[5..]);
        if bank_general_dv(&without_dv) != bytes[4] - b'0' {
            return Err(BoletoError::GeneralCheckDigit);
        }
        Ok(BankBarcode(digits))
    }

    /// Builds a barcode and its general check digit, for fakes and tests. `bank` is the 3-digit
    /// bank code, `due` `None` prints factor 0000, `amount_cents` 0 leaves the amount open, and
    /// `free_field` is the bank's 25 digits (agreement, our number…).
    pub fn build(
        bank: &str,
        due: Option<Date>,
        amount_cents: i64,
        free_field: &str,
    ) -> Result<Self, BoletoError> {
        if bank.len() != 3 || !bank.bytes().all(|b| b.is_ascii_digit()) || bank.starts_with('8') {
            return Err(BoletoError::BankCode);
        }
        if free_field.len() != 25 || !free_field.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BoletoError::FreeField {
                expected: 25,
                found: free_field.len(),
            });
        }
        if !(0..=MAX_BANK_AMOUNT_CENTS).contains(&amount_cents) {
            return Err(BoletoError::Amount);
        }
        let factor = match due {
            Some(day) => factor_for_due_date(day)?,
            None => 0,
        };
        let without_dv = format!("{bank}9{factor:04}{amount_cents:010}{free_field}");
        let dv = bank_general_dv(&without_dv);
        Ok(BankBarcode(format!(
            "{}{}{}",
            &without_dv[..4],
            dv_char(dv),
            &without_dv[4..]
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The issuing bank's 3-digit code ("104" Caixa, "237" Bradesco…).
    pub fn bank_code(&self) -> &str {
        &self.0[..3]
    }

    /// The raw due-date factor; 0 means no due date.
    pub fn due_factor(&self) -> u16 {
        self.0[5..9].parse().expect("factor is four digits")
    }

    /// The due date, resolving the factor's cycle against `reference` (see [`due_date_for_factor`]).
    pub fn due_date(&self, reference: Date) -> Option<Date> {
        due_date_for_factor(self.due_factor(), reference)
    }

    /// The amount in cents; `None` when the barcode leaves it open (all zeros).
    pub fn amount_cents(&self) -> Option<i64> {
        parse_amount(&self.0[9..19])
    }

    pub fn amount(&self) -> Option<Brl> {
        self.amount_cents().map(Brl::from_cents)
    }

    /// The 25 digits the bank defines.
    pub fn free_field(&self) -> &str {
        &self.0[19..]
    }

    pub fn to_line(&self) -> DigitableLine {
        DigitableLine::from_barcode(self)
    }
}

/// The 47-digit *linha digitável* of a bank boleto, every check digit correct.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DigitableLine(String);

impl DigitableLine {
    /// Parses the 47 digits, formatted or not ("10492.00650 61000.100042 00997.263900 9 8981…").
    pub fn parse(input: &str) -> Result<Self, BoletoError> {
        let digits = digits_only(input)?;
        if digits.len() != 47 {
            return Err(BoletoError::Length(digits.len()));
        }
        Self::from_digits(digits)
    }

    fn from_digits(digits: String) -> Result<Self, BoletoError> {
        let bytes = digits.as_bytes();
        if bytes[0] == b'8' {
            return Err(BoletoError::NotBank);
        }
        for (field, (body, dv)) in [(0..9, 9), (10..20, 20), (21..31, 31)]
            .into_iter()
            .enumerate()
        {
            if mod10(&digits[body]) != bytes[dv] - b'0' {
                return Err(BoletoError::FieldCheckDigit(field as u8 + 1));
            }
        }
        // The general check digit, currency and the rest are checked on the barcode.
        BankBarcode::from_digits(line_to_barcode(&digits))?;
        Ok(DigitableLine(digits))
    }

    pub fn from_barcode(barcode: &BankBarcode) -> Self {
        let b = barcode.as_str();
        let field1 = format!("{}{}", &b[..4], &b[19..24]);
        let field2 = &b[24..34];
        let field3 = &b[34..44];
        DigitableLine(format!(
            "{field1}{}{field2}{}{field3}{}{}{}",
            dv_char(mod10(&field1)),
            dv_char(mod10(field2)),
            dv_char(mod10(field3)),
            &b[4..5],
            &b[5..19],
        ))
    }

    pub fn to_barcode(&self) -> BankBarcode {
        BankBarcode(line_to_barcode(&self.0))
    }

    /// The 47 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As printed on boletos: "10492.00650 61000.100042 00997.263900 9 89810000021403".
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!(
            "{}.{} {}.{} {}.{} {} {}",
            &s[0..5],
            &s[5..10],
            &s[10..15],
            &s[15..21],
            &s[21..26],
            &s[26..32],
            &s[32..33],
            &s[33..47]
        )
    }
}

fn line_to_barcode(line: &str) -> String {
    format!(
        "{}{}{}{}{}{}",
        &line[0..4],
        &line[32..33],
        &line[33..47],
        &line[4..9],
        &line[10..20],
        &line[21..31]
    )
}

// ---------------------------------------------------------------------------------------------
// Arrecadação / concessionária
// ---------------------------------------------------------------------------------------------

/// The 44-digit barcode of an arrecadação slip (utilities, telecom, taxes): starts with 8, a
/// correct general check digit in position 4.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CollectionBarcode(String);

fn modulus_for_value_id(value_id: u8) -> Result<CheckModulus, BoletoError> {
    match value_id {
        b'6' | b'7' => Ok(CheckModulus::Mod10),
        b'8' | b'9' => Ok(CheckModulus::Mod11),
        other => Err(BoletoError::ValueId(char::from(other))),
    }
}

impl CollectionBarcode {
    pub fn parse(input: &str) -> Result<Self, BoletoError> {
        let digits = digits_only(input)?;
        if digits.len() != 44 {
            return Err(BoletoError::Length(digits.len()));
        }
        Self::from_digits(digits)
    }

    fn from_digits(digits: String) -> Result<Self, BoletoError> {
        let bytes = digits.as_bytes();
        if bytes[0] != b'8' {
            return Err(BoletoError::NotCollection);
        }
        let modulus = modulus_for_value_id(bytes[2])?;
        let without_dv = format!("{}{}", &digits[..3], &digits[4..]);
        if collection_dv(modulus, &without_dv) != bytes[3] - b'0' {
            return Err(BoletoError::GeneralCheckDigit);
        }
        Ok(CollectionBarcode(digits))
    }

    /// Builds an arrecadação barcode carrying an effective amount (value id 6 for mod 10, 8 for
    /// mod 11), for fakes and tests. `rest` is the 29 digits after the amount (company id and the
    /// company's own data).
    pub fn build(
        segment: u8,
        modulus: CheckModulus,
        amount_cents: i64,
        rest: &str,
    ) -> Result<Self, BoletoError> {
        if segment > 9 {
            return Err(BoletoError::Segment);
        }
        if rest.len() != 29 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BoletoError::FreeField {
                expected: 29,
                found: rest.len(),
            });
        }
        if !(0..=MAX_COLLECTION_AMOUNT_CENTS).contains(&amount_cents) {
            return Err(BoletoError::Amount);
        }
        let value_id = match modulus {
            CheckModulus::Mod10 => '6',
            CheckModulus::Mod11 => '8',
        };
        let without_dv = format!("8{segment}{value_id}{amount_cents:011}{rest}");
        let dv = collection_dv(modulus, &without_dv);
        Ok(CollectionBarcode(format!(
            "{}{}{}",
            &without_dv[..3],
            dv_char(dv),
            &without_dv[3..]
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Segment digit: 1 prefeituras, 2 saneamento, 3 energia e gás, 4 telecomunicações,
    /// 5 órgãos governamentais, 6 carnês e demais empresas, 7 multas de trânsito, 9 uso bancário.
    pub fn segment(&self) -> u8 {
        self.0.as_bytes()[1] - b'0'
    }

    pub fn modulus(&self) -> CheckModulus {
        modulus_for_value_id(self.0.as_bytes()[2]).expect("checked when parsed")
    }

    /// Whether positions 5–15 hold the amount in reais (value id 6 or 8) rather than a reference value.
    pub fn has_effective_amount(&self) -> bool {
        matches!(self.0.as_bytes()[2], b'6' | b'8')
    }

    /// The amount in cents when the slip carries one (value id 6 or 8, not zero).
    pub fn amount_cents(&self) -> Option<i64> {
        if self.has_effective_amount() {
            parse_amount(&self.0[4..15])
        } else {
            None
        }
    }

    pub fn amount(&self) -> Option<Brl> {
        self.amount_cents().map(Brl::from_cents)
    }

    pub fn to_line(&self) -> CollectionLine {
        CollectionLine::from_barcode(self)
    }
}

/// The 48-digit line of an arrecadação slip: four blocks of 11 barcode digits, each followed by
/// its own check digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CollectionLine(String);

impl CollectionLine {
    pub fn parse(input: &str) -> Result<Self, BoletoError> {
        let digits = digits_only(input)?;
        if digits.len() != 48 {
            return Err(BoletoError::Length(digits.len()));
        }
        Self::from_digits(digits)
    }

    fn from_digits(digits: String) -> Result<Self, BoletoError> {
        let bytes = digits.as_bytes();
        if bytes[0] != b'8' {
            return Err(BoletoError::NotCollection);
        }
        let modulus = modulus_for_value_id(bytes[2])?;
        for block in 0..4 {
            let start = block * 12;
            if collection_dv(modulus, &digits[start..start + 11]) != bytes[start + 11] - b'0' {
                return Err(BoletoError::BlockCheckDigit(block as u8 + 1));
            }
        }
        CollectionBarcode::from_digits(collection_line_to_barcode(&digits))?;
        Ok(CollectionLine(digits))
    }

    pub fn from_barcode(barcode: &CollectionBarcode) -> Self {
        let modulus = barcode.modulus();
        let mut line = String::with_capacity(48);
        for block in barcode.as_str().as_bytes().chunks(11) {
            let block = std::str::from_utf8(block).expect("ASCII digits");
            line.push_str(block);
            line.push(dv_char(collection_dv(modulus, block)));
        }
        CollectionLine(line)
    }

    pub fn to_barcode(&self) -> CollectionBarcode {
        CollectionBarcode(collection_line_to_barcode(&self.0))
    }

    /// The 48 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As printed on bills: "83860000005-0 09600019000-9 00080178230-9 00034306271-2".
    pub fn formatted(&self) -> String {
        let s = &self.0;
        (0..4)
            .map(|b| {
                format!(
                    "{}-{}",
                    &s[b * 12..b * 12 + 11],
                    &s[b * 12 + 11..b * 12 + 12]
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn collection_line_to_barcode(line: &str) -> String {
    (0..4).map(|b| &line[b * 12..b * 12 + 11]).collect()
}

// ---------------------------------------------------------------------------------------------
// Either kind
// ---------------------------------------------------------------------------------------------

/// A boleto of either kind, read from whatever an ERP sent: 44 digits is a barcode (arrecadação if
/// it starts with 8), 47 a bank line, 48 an arrecadação line. Serialised as its line digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Boleto {
    Bank(BankBarcode),
    Collection(CollectionBarcode),
}

impl Boleto {
    pub fn parse(input: &str) -> Result<Self, BoletoError> {
        let digits = digits_only(input)?;
        match digits.len() {
            44 if digits.starts_with('8') => {
                Ok(Boleto::Collection(CollectionBarcode::from_digits(digits)?))
            }
            44 => Ok(Boleto::Bank(BankBarcode::from_digits(digits)?)),
            47 => Ok(Boleto::Bank(
                DigitableLine::from_digits(digits)?.to_barcode(),
            )),
            48 => Ok(Boleto::Collection(
                CollectionLine::from_digits(digits)?.to_barcode(),
            )),
            n => Err(BoletoError::Length(n)),
        }
    }

    /// The 44 barcode digits.
    pub fn barcode(&self) -> &str {
        match self {
            Boleto::Bank(b) => b.as_str(),
            Boleto::Collection(b) => b.as_str(),
        }
    }

    /// The line digits (47 for a bank boleto, 48 for arrecadação), what the payer types or pastes.
    pub fn digitable_line(&self) -> String {
        match self {
            Boleto::Bank(b) => b.to_line().0,
            Boleto::Collection(b) => b.to_line().0,
        }
    }

    /// The line as printed, with the usual dots, spaces and dashes.
    pub fn formatted(&self) -> String {
        match self {
            Boleto::Bank(b) => b.to_line().formatted(),
            Boleto::Collection(b) => b.to_line().formatted(),
        }
    }

    pub fn amount_cents(&self) -> Option<i64> {
        match self {
            Boleto::Bank(b) => b.amount_cents(),
            Boleto::Collection(b) => b.amount_cents(),
        }
    }

    pub fn amount(&self) -> Option<Brl> {
        self.amount_cents().map(Brl::from_cents)
    }

    /// The due date of a bank boleto (see [`due_date_for_factor`]); arrecadação barcodes have no
    /// standard due-date field, so always `None` for them.
    pub fn due_date(&self, reference: Date) -> Option<Date> {
        match self {
            Boleto::Bank(b) => b.due_date(reference),
            Boleto::Collection(_) => None,
        }
    }

    pub fn bank_code(&self) -> Option<&str> {
        match self {
            Boleto::Bank(b) => Some(b.bank_code()),
            Boleto::Collection(_) => None,
        }
    }
}

macro_rules! string_conversions {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $ty {
            type Err = BoletoError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = BoletoError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                <$ty>::parse(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
    )*};
}

string_conversions!(
    BankBarcode,
    DigitableLine,
    CollectionBarcode,
    CollectionLine
);

impl fmt::Display for Boleto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

impl std::str::FromStr for Boleto {
    type Err = BoletoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Boleto::parse(s)
    }
}

impl TryFrom<String> for Boleto {
    type Error = BoletoError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Boleto::parse(&value)
    }
}

impl From<Boleto> for String {
    fn from(value: Boleto) -> Self {
        value.digitable_line()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (barcode, line, amount in cents, due date)
    const BANK_VECTORS: [(&str, &str, Option<i64>, Option<Date>); 3] = [
        (
            "10499898100000214032006561000100040099726390",
            "10492006506100010004200997263900989810000021403",
            Some(21403),
            Some(date(2022, 5, 10)),
        ),
        (
            "23797000000000000004150090019801673500021140",
            "23794150099001980167035000211405700000000000000",
            None,
            None,
        ),
        (
            "75696903800002500001434301033723400014933001",
            "75691434360103372340200149330011690380000250000",
            Some(250000),
            Some(date(2022, 7, 6)),
        ),
    ];

    const COLLECTION_VECTORS: [(&str, &str, i64, u8, CheckModulus); 2] = [
        (
            "83860000005096000190000008017823000034306271",
            "838600000050096000190009000801782309000343062712",
            50960,
            3,
            CheckModulus::Mod11,
        ),
        (
            "84630000000299902962020041013600000200644114",
            "846300000003299902962024004101360008002006441147",
            2999,
            4,
            CheckModulus::Mod10,
        ),
    ];

    const TODAY: Date = date(2026, 11, 1);

    #[test]
    fn spec_bank_vectors_convert_both_ways() {
        for (barcode, line, amount, due) in BANK_VECTORS {
            let b = BankBarcode::parse(barcode).unwrap();
            let l = DigitableLine::parse(line).unwrap();
            assert_eq!(b.to_line(), l);
            assert_eq!(l.to_barcode(), b);
            assert_eq!(b.amount_cents(), amount);
            assert_eq!(b.due_date(TODAY), due);
            assert_eq!(b.bank_code(), &barcode[..3]);
            let boleto = Boleto::parse(line).unwrap();
            assert_eq!(boleto, Boleto::parse(barcode).unwrap());
            assert_eq!(boleto.barcode(), barcode);
            assert_eq!(boleto.digitable_line(), line);
            assert_eq!(boleto.amount_cents(), amount);
            assert_eq!(boleto.due_date(TODAY), due);
            assert_eq!(boleto.bank_code(), Some(&barcode[..3]));
            assert_eq!(Boleto::parse(&boleto.formatted()).unwrap(), boleto);
        }
        let first = DigitableLine::parse(BANK_VECTORS[0].1).unwrap();
        assert_eq!(
            first.formatted(),
            "10492.00650 61000.100042 00997.263900 9 89810000021403"
        );
        assert_eq!(
            Boleto::parse(BANK_VECTORS[2].0)
                .unwrap()
                .amount()
                .unwrap()
                .to_string(),
            "R$ 2.500,00"
        );
    }

    #[test]
    fn spec_barcode_only_vectors_validate() {
        let cases = [
            (
                "00191667900002434790000002656973019362470618",
                243479,
                date(2016, 1, 20),
            ),
            (
                "00195586200000773520000002464206011816073018",
                77352,
                date(2013, 10, 25),
            ),
            (
                "75592896700003787000003389850761252543475984",
                378700,
                date(2022, 4, 26),
            ),
            (
                "23791672000003249052028269705944177105205220",
                324905,
                date(2016, 3, 1),
            ),
        ];
        for (barcode, cents, due) in cases {
            let b = BankBarcode::parse(barcode).unwrap();
            assert_eq!(b.amount_cents(), Some(cents));
            assert_eq!(b.due_date(due), Some(due));
            let line = b.to_line();
            assert_eq!(
                DigitableLine::parse(&line.formatted())
                    .unwrap()
                    .to_barcode(),
                b
            );
        }
    }

    #[test]
    fn builder_reproduces_spec_barcodes() {
        let built = BankBarcode::build(
            "104",
            Some(date(2022, 5, 10)),
            21403,
            "2006561000100040099726390",
        );
        assert_eq!(built.unwrap().as_str(), BANK_VECTORS[0].0);
        let open = BankBarcode::build("237", None, 0, "4150090019801673500021140").unwrap();
        assert_eq!(open.as_str(), BANK_VECTORS[1].0);
        assert_eq!(open.due_factor(), 0);
        assert_eq!(
            BankBarcode::build("10", None, 0, "4150090019801673500021140"),
            Err(BoletoError::BankCode)
        );
        assert_eq!(
            BankBarcode::build("836", None, 0, "4150090019801673500021140"),
            Err(BoletoError::BankCode)
        );
        assert_eq!(
            BankBarcode::build("237", None, 0, "123"),
            Err(BoletoError::FreeField {
                expected: 25,
                found: 3
            })
        );
        assert_eq!(
            BankBarcode::build("237", None, 10_000_000_000, "4150090019801673500021140"),
            Err(BoletoError::Amount)
        );
        assert_eq!(
            BankBarcode::build("237", None, -1, "4150090019801673500021140"),
            Err(BoletoError::Amount)
        );
        assert_eq!(
            BankBarcode::build(
                "237",
                Some(date(2000, 7, 2)),
                1,
                "4150090019801673500021140"
            ),
            Err(BoletoError::DueDate)
        );
        for (barcode, _, cents, segment, modulus) in COLLECTION_VECTORS {
            let built = CollectionBarcode::build(segment, modulus, cents, &barcode[15..]).unwrap();
            assert_eq!(built.as_str(), barcode);
        }
    }

    #[test]
    fn due_date_factor_and_its_2025_reset() {
        assert_eq!(
            due_date_for_factor(1000, date(2000, 7, 1)),
            Some(date(2000, 7, 3))
        );
        assert_eq!(
            due_date_for_factor(9999, date(2025, 2, 1)),
            Some(date(2025, 2, 21))
        );
        assert_eq!(
            due_date_for_factor(1000, date(2025, 3, 1)),
            Some(date(2025, 2, 22))
        );
        assert_eq!(
            due_date_for_factor(1500, TODAY),
            date(2022, 5, 29).checked_add(1500.days()).ok()
        );
        assert_eq!(due_date_for_factor(1500, TODAY), Some(date(2026, 7, 7)));
        // The same factor read in 2003 is the first cycle's date.
        assert_eq!(
            due_date_for_factor(1500, date(2003, 1, 1)),
            Some(date(2001, 11, 15))
        );
        assert_eq!(
            due_date_for_factor(8981, date(2045, 1, 1)),
            Some(date(2046, 12, 30))
        );
        assert_eq!(due_date_for_factor(0, TODAY), None);
        assert_eq!(due_date_for_factor(10000, TODAY), None);
        assert_eq!(factor_for_due_date(date(2000, 7, 3)), Ok(1000));
        assert_eq!(factor_for_due_date(date(2025, 2, 21)), Ok(9999));
        assert_eq!(factor_for_due_date(date(2025, 2, 22)), Ok(1000));
        assert_eq!(factor_for_due_date(date(2022, 5, 10)), Ok(8981));
        assert_eq!(
            factor_for_due_date(date(2000, 7, 2)),
            Err(BoletoError::DueDate)
        );
    }

    #[test]
    fn spec_collection_vectors_convert_both_ways() {
        for (barcode, line, cents, segment, modulus) in COLLECTION_VECTORS {
            let b = CollectionBarcode::parse(barcode).unwrap();
            let l = CollectionLine::parse(line).unwrap();
            assert_eq!(b.to_line(), l);
            assert_eq!(l.to_barcode(), b);
            assert_eq!(b.amount_cents(), Some(cents));
            assert_eq!(b.segment(), segment);
            assert_eq!(b.modulus(), modulus);
            let boleto = Boleto::parse(line).unwrap();
            assert_eq!(boleto, Boleto::parse(barcode).unwrap());
            assert_eq!(boleto.barcode(), barcode);
            assert_eq!(boleto.digitable_line(), line);
            assert_eq!(boleto.amount_cents(), Some(cents));
            assert_eq!(boleto.due_date(TODAY), None);
            assert_eq!(boleto.bank_code(), None);
            assert_eq!(Boleto::parse(&boleto.formatted()).unwrap(), boleto);
        }
        assert_eq!(
            CollectionLine::parse(COLLECTION_VECTORS[0].1)
                .unwrap()
                .formatted(),
            "83860000005-0 09600019000-9 00080178230-9 00034306271-2"
        );
    }

    #[test]
    fn wrong_check_digits_are_named() {
        let line = BANK_VECTORS[0].1;
        let with = |i: usize, c: char| {
            let mut s = line.to_owned();
            s.replace_range(i..=i, &c.to_string());
            s
        };
        assert_eq!(
            DigitableLine::parse(&with(9, '3')),
            Err(BoletoError::FieldCheckDigit(1))
        );
        assert_eq!(
            DigitableLine::parse(&with(12, '9')),
            Err(BoletoError::FieldCheckDigit(2))
        );
        assert_eq!(
            DigitableLine::parse(&with(25, '1')),
            Err(BoletoError::FieldCheckDigit(3))
        );
        assert_eq!(
            DigitableLine::parse(&with(32, '8')),
            Err(BoletoError::GeneralCheckDigit)
        );
        assert_eq!(
            DigitableLine::parse(&with(46, '4')),
            Err(BoletoError::GeneralCheckDigit)
        );
        assert_eq!(
            BoletoError::FieldCheckDigit(2).to_string(),
            "linha digitável inválida: dígito verificador do campo 2 não confere"
        );
        assert_eq!(
            BankBarcode::parse("10498898100000214032006561000100040099726390"),
            Err(BoletoError::GeneralCheckDigit)
        );
        assert_eq!(
            BankBarcode::parse("10409898100000214032006561000100040099726390"),
            Err(BoletoError::Currency('0'))
        );
        assert_eq!(
            BankBarcode::parse(COLLECTION_VECTORS[0].0),
            Err(BoletoError::NotBank)
        );
        assert_eq!(
            CollectionBarcode::parse(BANK_VECTORS[0].0),
            Err(BoletoError::NotCollection)
        );
        assert_eq!(
            CollectionLine::parse("838600000051096000190009000801782309000343062712"),
            Err(BoletoError::BlockCheckDigit(1))
        );
        assert_eq!(
            CollectionLine::parse("846300000003299902962024004101360008002006441148"),
            Err(BoletoError::BlockCheckDigit(4))
        );
        assert_eq!(
            CollectionBarcode::parse("83870000005096000190000008017823000034306271"),
            Err(BoletoError::GeneralCheckDigit)
        );
        assert_eq!(
            CollectionBarcode::parse("83560000005096000190000008017823000034306271"),
            Err(BoletoError::ValueId('5'))
        );
        assert_eq!(Boleto::parse("1049"), Err(BoletoError::Length(4)));
        assert_eq!(
            Boleto::parse("10492.00650 61000.10004x"),
            Err(BoletoError::InvalidChar('x'))
        );
        assert_eq!(Boleto::parse(""), Err(BoletoError::Length(0)));
    }

    #[test]
    fn boleto_serde_is_the_line() {
        let boleto = Boleto::parse(BANK_VECTORS[0].0).unwrap();
        let json = serde_json::to_string(&boleto).unwrap();
        assert_eq!(json, format!("\"{}\"", BANK_VECTORS[0].1));
        assert_eq!(serde_json::from_str::<Boleto>(&json).unwrap(), boleto);
        assert!(serde_json::from_str::<Boleto>("\"123\"").is_err());
    }

    fn bank_remainder(barcode: &str) -> u32 {
        let without_dv = format!("{}{}", &barcode[..4], &barcode[5..]);
        let sum: u32 = without_dv
            .bytes()
            .rev()
            .zip((2u32..=9).cycle())
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        sum % 11
    }

    /// Remainders 0, 1 and 10 all give general check digit 1, so a change between them is unseen.
    fn bank_escapes(before: &str, after: &str) -> bool {
        let (a, b) = (bank_remainder(before), bank_remainder(after));
        a == b || ([0, 1, 10].contains(&a) && [0, 1, 10].contains(&b))
    }

    fn replace_digit(s: &str, index: usize, digit: u8) -> String {
        let mut out = s.as_bytes().to_vec();
        out[index] = b'0' + digit;
        String::from_utf8(out).unwrap()
    }

    fn arb_bank_barcode() -> impl Strategy<Value = (BankBarcode, Option<Date>, i64)> {
        (
            "[0-79][0-9]{2}",
            prop::option::of(1000i32..20_000),
            prop_oneof![Just(0i64), 1i64..=MAX_BANK_AMOUNT_CENTS],
            "[0-9]{25}",
        )
            .prop_map(|(bank, due_days, amount, free)| {
                let due = due_days.map(|d| FACTOR_BASE.checked_add(d.days()).unwrap());
                (
                    BankBarcode::build(&bank, due, amount, &free).unwrap(),
                    due,
                    amount,
                )
            })
    }

    proptest! {
        #[test]
        fn built_bank_boletos_round_trip((barcode, due, amount) in arb_bank_barcode()) {
            let line = barcode.to_line();
            prop_assert_eq!(DigitableLine::parse(line.as_str()).unwrap().to_barcode(), barcode.clone());
            prop_assert_eq!(DigitableLine::parse(&line.formatted()).unwrap(), line.clone());
            let boleto = Boleto::parse(&line.formatted()).unwrap();
            prop_assert_eq!(boleto.barcode(), barcode.as_str());
            prop_assert_eq!(boleto.amount_cents(), (amount > 0).then_some(amount));
            if let Some(day) = due {
                prop_assert_eq!(boleto.due_date(day), Some(day));
            } else {
                prop_assert_eq!(boleto.due_date(TODAY), None);
            }
        }

        #[test]
        fn changes_in_a_bank_line_are_caught(
            (barcode, _, _) in arb_bank_barcode(), index in 0usize..47, digit in 0u8..10,
        ) {
            let line = barcode.to_line();
            prop_assume!(line.as_str().as_bytes()[index] != b'0' + digit);
            let changed = replace_digit(line.as_str(), index, digit);
            let accepted = DigitableLine::parse(&changed).is_ok();
            if index < 33 {
                // Fields 1–3 carry their own mod-10 digit; field 4 is the general digit itself.
                prop_assert!(!accepted);
            } else {
                // Field 5 (factor and amount) relies on the general mod-11 digit alone.
                let changed_barcode = line_to_barcode(&changed);
                prop_assert_eq!(accepted, bank_escapes(barcode.as_str(), &changed_barcode));
            }
        }

        #[test]
        fn changes_in_a_bank_barcode_are_caught(
            (barcode, _, _) in arb_bank_barcode(), index in 0usize..44, digit in 0u8..10,
        ) {
            prop_assume!(barcode.as_str().as_bytes()[index] != b'0' + digit);
            let changed = replace_digit(barcode.as_str(), index, digit);
            let accepted = BankBarcode::parse(&changed).is_ok();
            let structural = index == 4 || index == 3 || (index == 0 && digit == 8);
            prop_assert_eq!(accepted, !structural && bank_escapes(barcode.as_str(), &changed));
        }

        #[test]
        fn built_collection_boletos_round_trip_and_mod10_catches_every_change(
            segment in 1u8..=9, amount in 0i64..=MAX_COLLECTION_AMOUNT_CENTS, rest in "[0-9]{29}",
            index in 0usize..48, digit in 0u8..10,
        ) {
            let barcode = CollectionBarcode::build(segment, CheckModulus::Mod10, amount, &rest).unwrap();
            let line = barcode.to_line();
            prop_assert_eq!(CollectionLine::parse(&line.formatted()).unwrap().to_barcode(), barcode.clone());
            let boleto = Boleto::parse(line.as_str()).unwrap();
            prop_assert_eq!(boleto.amount_cents(), (amount > 0).then_some(amount));
            prop_assert_eq!(boleto.barcode(), barcode.as_str());
            // Position 3 picks the modulus itself, so changing it changes the rule, not just a digit.
            prop_assume!(index != 2 && line.as_str().as_bytes()[index] != b'0' + digit);
            prop_assert!(CollectionLine::parse(&replace_digit(line.as_str(), index, digit)).is_err());
            if index < 44 && barcode.as_str().as_bytes()[index] != b'0' + digit {
                prop_assert!(CollectionBarcode::parse(&replace_digit(barcode.as_str(), index, digit)).is_err());
            }
        }

        #[test]
        fn built_mod11_collection_boletos_round_trip(
            segment in 1u8..=9, amount in 0i64..=MAX_COLLECTION_AMOUNT_CENTS, rest in "[0-9]{29}",
        ) {
            let barcode = CollectionBarcode::build(segment, CheckModulus::Mod11, amount, &rest).unwrap();
            prop_assert_eq!(barcode.modulus(), CheckModulus::Mod11);
            let line = barcode.to_line();
            prop_assert_eq!(Boleto::parse(&line.formatted()).unwrap(), Boleto::Collection(barcode));
        }

        #[test]
        fn boleto_parse_never_panics(s in "\\PC{0,60}") {
            let _ = Boleto::parse(&s);
        }

        #[test]
        fn digit_strings_of_boleto_lengths_never_panic(s in "[0-9]{44}|[0-9]{47}|[0-9]{48}|8[0-9]{43}") {
            if let Ok(boleto) = Boleto::parse(&s) {
                prop_assert_eq!(Boleto::parse(&boleto.digitable_line()).unwrap(), boleto.clone());
                prop_assert_eq!(Boleto::parse(boleto.barcode()).unwrap(), boleto.clone());
                let _ = boleto.due_date(TODAY);
            }
        }

        #[test]
        fn due_dates_round_trip_through_the_factor(days in 1000i64..40_000) {
            let due = FACTOR_BASE.checked_add(days.days()).unwrap();
            let factor = factor_for_due_date(due).unwrap();
            prop_assert!((1000..=9999).contains(&factor));
            prop_assert_eq!(due_date_for_factor(factor, due), Some(due));
        }
    }
}
