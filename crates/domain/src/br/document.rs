//! CPF (people) and CNPJ (companies, including the alphanumeric CNPJ issued from July 2026).
//!
//! Both are stored as their bare characters (11 digits; 14 uppercase characters), never as integers:
//! CPFs start with zeros and CNPJs may hold letters. `Debug` of a [`Cpf`] is redacted so that a CPF
//! never lands whole in a log line by accident; use [`Cpf::masked`] when the full number is meant.

use super::strip_separators;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Separators found in typed and ERP-stored documents ("529.982.247-25", "12.345.678/0001-95").
const SEPARATORS: &[char] = &['.', '-', '/'];

/// Mod-11 check digit shared by CPF and CNPJ: remainder below 2 gives 0, otherwise 11 − remainder.
fn mod11_check_digit(values: impl Iterator<Item = u32>, weights: &[u32]) -> u8 {
    let sum: u32 = values.zip(weights).map(|(v, w)| v * w).sum();
    let remainder = sum % 11;
    if remainder < 2 {
        0
    } else {
        (11 - remainder) as u8
    }
}

fn all_same(s: &str) -> bool {
    let first = s.as_bytes().first();
    s.bytes().all(|b| Some(&b) == first)
}

// ---------------------------------------------------------------------------------------------
// CPF
// ---------------------------------------------------------------------------------------------

/// A CPF whose check digits are right: 11 digits, not all the same.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpf(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpfError {
    #[error("CPF inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error("CPF inválido: deve ter 11 dígitos (tem {0})")]
    Length(usize),
    #[error("CPF inválido: todos os dígitos são iguais")]
    RepeatedDigits,
    #[error("CPF inválido: dígito verificador não confere")]
    CheckDigit,
    #[error("CPF inválido: {0} não é um dígito")]
    NotADigit(u8),
}

const CPF_WEIGHTS_1: [u32; 9] = [10, 9, 8, 7, 6, 5, 4, 3, 2];
const CPF_WEIGHTS_2: [u32; 10] = [11, 10, 9, 8, 7, 6, 5, 4, 3, 2];

fn cpf_check_digits(base: &[u8; 9]) -> (u8, u8) {
    let dv1 = mod11_check_digit(base.iter().map(|&d| u32::from(d)), &CPF_WEIGHTS_1);
    let dv2 = mod11_check_digit(
        base.iter()
            .chain(std::iter::once(&dv1))
            .map(|&d| u32::from(d)),
        &CPF_WEIGHTS_2,
    );
    (dv1, dv2)
}

impl Cpf {
    /// Parses a CPF written with or without the mask: "529.982.247-25", "52998224725", " 529 982 247 25 ".
    pub fn parse(input: &str) -> Result<Self, CpfError> {
        let digits = strip_separators(input, SEPARATORS).map_err(CpfError::InvalidChar)?;
        if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return Err(CpfError::InvalidChar(c));
        }
        if digits.len() != 11 {
            return Err(CpfError::Length(digits.len()));
        }
        if all_same(&digits) {
            return Err(CpfError::RepeatedDigits);
        }
        let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        let base: [u8; 9] = d[..9].try_into().expect("11 digits checked above");
        if cpf_check_digits(&base) != (d[9], d[10]) {
            return Err(CpfError::CheckDigit);
        }
        Ok(Cpf(digits))
    }

    /// Completes nine base digits with their check digits.
    pub fn from_base_digits(base: [u8; 9]) -> Result<Self, CpfError> {
        if let Some(&bad) = base.iter().find(|&&d| d > 9) {
            return Err(CpfError::NotADigit(bad));
        }
        let (dv1, dv2) = cpf_check_digits(&base);
        let s: String = base
            .iter()
            .chain([dv1, dv2].iter())
            .map(|&d| char::from(b'0' + d))
            .collect();
        if all_same(&s) {
            return Err(CpfError::RepeatedDigits);
        }
        Ok(Cpf(s))
    }

    /// A valid CPF made from a seed, for fakes and tests: the base is `seed` modulo 10⁹, zero-padded
    /// to nine digits. The nine bases whose digits are all the same (which would give a refused
    /// CPF) get their last digit bumped by one, so every seed yields a valid CPF.
    pub fn from_base(seed: u32) -> Self {
        let mut n = seed % 1_000_000_000;
        let mut base = [0u8; 9];
        for slot in base.iter_mut().rev() {
            *slot = (n % 10) as u8;
            n /= 10;
        }
        if base.iter().all(|&d| d == base[0]) {
            base[8] = (base[8] + 1) % 10;
        }
        Cpf::from_base_digits(base).expect("base digits are 0..=9 and not all the same")
    }

    /// The 11 digits, e.g. "52998224725".
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The usual mask: "529.982.247-25".
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!("{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
    }

    /// The form to show in chats and logs: "***.982.247-**". The first three digits and the two
    /// check digits are hidden, the pattern federal bodies use when publishing CPFs under the LGPD:
    /// enough for the subscriber to recognise their own number, not enough to reuse it.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        format!("***.{}.{}-**", &s[3..6], &s[6..9])
    }
}

impl fmt::Debug for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cpf({})", self.redacted())
    }
}

impl fmt::Display for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::str::FromStr for Cpf {
    type Err = CpfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cpf::parse(s)
    }
}

impl TryFrom<String> for Cpf {
    type Error = CpfError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Cpf::parse(&value)
    }
}

impl From<Cpf> for String {
    fn from(value: Cpf) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------------------------
// CNPJ
// ---------------------------------------------------------------------------------------------

/// A CNPJ whose check digits are right: 12 characters that are digits or A–Z, then two digits.
/// Stored uppercase; the numeric CNPJ is the special case without letters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cnpj(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CnpjError {
    #[error("CNPJ inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error("CNPJ inválido: deve ter 14 caracteres (tem {0})")]
    Length(usize),
    #[error("CNPJ inválido: os dois dígitos verificadores devem ser números")]
    CheckDigitNotNumeric,
    #[error("CNPJ inválido: todos os dígitos são iguais")]
    RepeatedDigits,
    #[error("CNPJ inválido: dígito verificador não confere")]
    CheckDigit,
}

const CNPJ_WEIGHTS_1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const CNPJ_WEIGHTS_2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

/// Check digits of a 12-character base of digits and/or uppercase letters, each worth its ASCII
/// code minus 48 ('0' = 0 … '9' = 9, 'A' = 17 … 'Z' = 42).
fn cnpj_check_digits(base: &[u8]) -> (u8, u8) {
    let value = |b: &u8| u32::from(*b) - 48;
    let dv1 = mod11_check_digit(base.iter().map(value), &CNPJ_WEIGHTS_1);
    let dv2 = mod11_check_digit(
        base.iter()
            .map(value)
            .chain(std::iter::once(u32::from(dv1))),
        &CNPJ_WEIGHTS_2,
    );
    (dv1, dv2)
}

fn is_cnpj_base_char(c: char) -> bool {
    c.is_ascii_digit() || c.is_ascii_uppercase()
}

impl Cnpj {
    /// Parses a CNPJ with or without the mask, numeric or alphanumeric, any letter case:
    /// "11.222.333/0001-81", "11222333000181", "12.abc.345/01de-35".
    pub fn parse(input: &str) -> Result<Self, CnpjError> {
        let cleaned = strip_separators(input, SEPARATORS)
            .map_err(CnpjError::InvalidChar)?
            .to_ascii_uppercase();
        if let Some(c) = cleaned.chars().find(|&c| !is_cnpj_base_char(c)) {
            return Err(CnpjError::InvalidChar(c));
        }
        if cleaned.len() != 14 {
            return Err(CnpjError::Length(cleaned.len()));
        }
        let bytes = cleaned.as_bytes();
        if !bytes[12..].iter().all(u8::is_ascii_digit) {
            return Err(CnpjError::CheckDigitNotNumeric);
        }
        if all_same(&cleaned) {
            return Err(CnpjError::RepeatedDigits);
        }
        if cnpj_check_digits(&bytes[..12]) != (bytes[12] - b'0', bytes[13] - b'0') {
            return Err(CnpjError::CheckDigit);
        }
        Ok(Cnpj(cleaned))
    }

    /// Completes a 12-character base (digits or letters, any case, separators allowed) with its
    /// check digits: "12ABC34501DE" → "12ABC34501DE35".
    pub fn from_base_str(base: &str) -> Result<Self, CnpjError> {
        let cleaned = strip_separators(base, SEPARATORS)
            .map_err(CnpjError::InvalidChar)?
            .to_ascii_uppercase();
        if let Some(c) = cleaned.chars().find(|&c| !is_cnpj_base_char(c)) {
            return Err(CnpjError::InvalidChar(c));
        }
        if cleaned.len() != 12 {
            return Err(CnpjError::Length(cleaned.len()));
        }
        let (dv1, dv2) = cnpj_check_digits(cleaned.as_bytes());
        let full = format!("{cleaned}{dv1}{dv2}");
        if all_same(&full) {
            return Err(CnpjError::RepeatedDigits);
        }
        Ok(Cnpj(full))
    }

    /// A valid numeric CNPJ made from a seed, for fakes and tests: the root (first 8 digits) is
    /// `seed` modulo 10⁸, zero-padded, and the branch is "0001" (the head office, the usual case).
    pub fn from_base(seed: u32) -> Self {
        Cnpj::from_base_str(&format!("{:08}0001", seed % 100_000_000))
            .expect("eight digits and 0001 are a valid base that is never all the same")
    }

    /// The 14 characters, uppercase, e.g. "12ABC34501DE35" or "11222333000181".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the CNPJ uses letters (the format issued from July 2026).
    pub fn is_alphanumeric(&self) -> bool {
        self.0.bytes().any(|b| b.is_ascii_uppercase())
    }

    /// The usual mask: "12.ABC.345/01DE-35".
    pub fn masked(&self) -> String {
        let s = &self.0;
        format!(
            "{}.{}.{}/{}-{}",
            &s[0..2],
            &s[2..5],
            &s[5..8],
            &s[8..12],
            &s[12..14]
        )
    }

    /// The form to show in chats and logs: "**.ABC.345/01DE-**", hiding the same parts as
    /// [`Cpf::redacted`] (leading characters and check digits). A company's CNPJ is public, but a
    /// sole trader's (MEI) is tied to a person, so it is masked the same way.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        format!("**.{}.{}/{}-**", &s[2..5], &s[5..8], &s[8..12])
    }
}

impl fmt::Display for Cnpj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::str::FromStr for Cnpj {
    type Err = CnpjError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cnpj::parse(s)
    }
}

impl TryFrom<String> for Cnpj {
    type Error = CnpjError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Cnpj::parse(&value)
    }
}

impl From<Cnpj> for String {
    fn from(value: Cnpj) -> Self {
        value.0
    }
}

// ---------------------------------------------------------------------------------------------
// Document
// ---------------------------------------------------------------------------------------------

/// A customer's tax id, either kind. Serialised as the bare string (digits, or uppercase
/// characters for a CNPJ), the form ERP queries are made with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Document {
    Cpf(Cpf),
    Cnpj(Cnpj),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentKind {
    Cpf,
    Cnpj,
}

impl DocumentKind {
    /// "CPF" or "CNPJ".
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Cpf => "CPF",
            DocumentKind::Cnpj => "CNPJ",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("CPF/CNPJ inválido: caractere não permitido {0:?}")]
    InvalidChar(char),
    #[error(
        "CPF/CNPJ inválido: informe os 11 dígitos do CPF ou os 14 caracteres do CNPJ (recebido {0})"
    )]
    Length(usize),
    #[error(transparent)]
    Cpf(#[from] CpfError),
    #[error(transparent)]
    Cnpj(#[from] CnpjError),
}

impl Document {
    /// Parses a CPF or a CNPJ, deciding by the number of characters once separators are removed:
    /// 11 → CPF, 14 → CNPJ (numeric or alphanumeric). Anything else is refused rather than padded,
    /// because a lost leading zero cannot tell a CPF from a CNPJ.
    pub fn parse(input: &str) -> Result<Self, DocumentError> {
        let cleaned = strip_separators(input, SEPARATORS).map_err(DocumentError::InvalidChar)?;
        match cleaned.len() {
            11 => Ok(Document::Cpf(Cpf::parse(&cleaned)?)),
            14 => Ok(Document::Cnpj(Cnpj::parse(&cleaned)?)),
            n => Err(DocumentError::Length(n)),
        }
    }

    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Cpf(_) => DocumentKind::Cpf,
            Document::Cnpj(_) => DocumentKind::Cnpj,
        }
    }

    /// The bare characters: 11 digits, or 14 uppercase characters.
    pub fn as_str(&self) -> &str {
        match self {
            Document::Cpf(cpf) => cpf.digits(),
            Document::Cnpj(cnpj) => cnpj.as_str(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Document::Cpf(cpf) => cpf.masked(),
            Document::Cnpj(cnpj) => cnpj.masked(),
        }
    }

    /// See [`Cpf::redacted`] and [`Cnpj::redacted`].
    pub fn redacted(&self) -> String {
        match self {
            Document::Cpf(cpf) => cpf.redacted(),
            Document::Cnpj(cnpj) => cnpj.redacted(),
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::str::FromStr for Document {
    type Err = DocumentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Document::parse(s)
    }
}

impl TryFrom<String> for Document {
    type Error = DocumentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Document::parse(&value)
    }
}

impl From<Document> for String {
    fn from(value: Document) -> Self {
        match value {
            Document::Cpf(cpf) => cpf.into(),
            Document::Cnpj(cnpj) => cnpj.into(),
        }
    }
}

impl From<Cpf> for Document {
    fn from(value: Cpf) -> Self {
        Document::Cpf(value)
    }
}

impl From<Cnpj> for Document {
    fn from(value: Cnpj) -> Self {
        Document::Cnpj(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID_CPFS: [&str; 4] = [
        "529.982.247-25",
        "111.444.777-35",
        "123.456.789-09",
        "390.533.447-05",
    ];
    const VALID_CNPJS: [&str; 4] = [
        "11.222.333/0001-81",
        "11.444.777/0001-61",
        "12.345.678/0001-95",
        "33.000.167/0001-01",
    ];

    #[test]
    fn spec_cpfs_parse_masked_and_bare() {
        for masked in VALID_CPFS {
            let cpf = Cpf::parse(masked).unwrap();
            assert_eq!(cpf.masked(), masked);
            let bare: String = masked.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(cpf.digits(), bare);
            assert_eq!(Cpf::parse(&bare).unwrap(), cpf);
        }
        assert_eq!(
            Cpf::parse(" 529 982 247 25 ").unwrap().digits(),
            "52998224725"
        );
    }

    #[test]
    fn spec_invalid_cpfs_are_refused_in_portuguese() {
        for bad in ["123.456.789-00", "529.982.247-24"] {
            let err = Cpf::parse(bad).unwrap_err();
            assert_eq!(err, CpfError::CheckDigit);
            assert_eq!(
                err.to_string(),
                "CPF inválido: dígito verificador não confere"
            );
        }
        assert_eq!(
            Cpf::parse("111.111.111-11").unwrap_err(),
            CpfError::RepeatedDigits
        );
        assert_eq!(
            Cpf::parse("00000000000").unwrap_err(),
            CpfError::RepeatedDigits
        );
        assert_eq!(Cpf::parse("5299822472").unwrap_err(), CpfError::Length(10));
        assert_eq!(Cpf::parse("").unwrap_err(), CpfError::Length(0));
        assert_eq!(
            Cpf::parse("529.982.247-2x").unwrap_err(),
            CpfError::InvalidChar('x')
        );
        assert_eq!(
            Cpf::parse("529,982,247-25").unwrap_err(),
            CpfError::InvalidChar(',')
        );
    }

    #[test]
    fn cpf_redaction_hides_leading_and_check_digits() {
        let cpf = Cpf::parse("529.982.247-25").unwrap();
        assert_eq!(cpf.redacted(), "***.982.247-**");
        assert_eq!(format!("{cpf:?}"), "Cpf(***.982.247-**)");
        assert_eq!(cpf.to_string(), "529.982.247-25");
    }

    #[test]
    fn cpf_generator_completes_base_and_avoids_repeated_digits() {
        assert_eq!(
            Cpf::from_base_digits([5, 2, 9, 9, 8, 2, 2, 4, 7])
                .unwrap()
                .digits(),
            "52998224725"
        );
        assert_eq!(Cpf::from_base(529_982_247).digits(), "52998224725");
        assert_eq!(Cpf::from_base(1_529_982_247).digits(), "52998224725");
        assert_eq!(
            Cpf::from_base_digits([1; 9]).unwrap_err(),
            CpfError::RepeatedDigits
        );
        assert_eq!(
            Cpf::from_base_digits([1, 2, 3, 4, 5, 6, 7, 8, 10]).unwrap_err(),
            CpfError::NotADigit(10)
        );
        assert_eq!(
            Cpf::from_base(111_111_111).digits(),
            Cpf::from_base(111_111_112).digits()
        );
        assert!(Cpf::parse(Cpf::from_base(0).digits()).is_ok());
    }

    #[test]
    fn check_digits_miss_some_changes_of_the_first_digit() {
        // Weight 11 ≡ 0 (mod 11) on the first digit for the second check digit, and remainders 0
        // and 1 both giving 0 for the first: 1→2 in front of a spec CPF yields another valid CPF.
        assert!(Cpf::parse("223.456.789-09").is_ok());
        assert!(Cpf::parse("490.533.447-05").is_ok());
    }

    #[test]
    fn spec_cnpjs_parse() {
        for masked in VALID_CNPJS {
            let cnpj = Cnpj::parse(masked).unwrap();
            assert_eq!(cnpj.masked(), masked);
            assert!(!cnpj.is_alphanumeric());
            assert_eq!(Cnpj::parse(cnpj.as_str()).unwrap(), cnpj);
        }
        assert_eq!(
            Cnpj::parse("11.222.333/0001-82").unwrap_err(),
            CnpjError::CheckDigit
        );
        assert_eq!(
            Cnpj::parse("11.222.333/0001-82").unwrap_err().to_string(),
            "CNPJ inválido: dígito verificador não confere"
        );
        assert_eq!(
            Cnpj::parse("00.000.000/0000-00").unwrap_err(),
            CnpjError::RepeatedDigits
        );
        assert_eq!(
            Cnpj::parse("11.222.333/0001-8").unwrap_err(),
            CnpjError::Length(13)
        );
        assert_eq!(
            Cnpj::parse("11.222.333/0001-8A").unwrap_err(),
            CnpjError::CheckDigitNotNumeric
        );
        assert_eq!(
            Cnpj::parse("11.222.333/0001_81").unwrap_err(),
            CnpjError::InvalidChar('_')
        );
    }

    #[test]
    fn alphanumeric_cnpj_from_2026() {
        let cnpj = Cnpj::parse("12.ABC.345/01DE-35").unwrap();
        assert_eq!(cnpj.as_str(), "12ABC34501DE35");
        assert_eq!(cnpj.masked(), "12.ABC.345/01DE-35");
        assert_eq!(cnpj.redacted(), "**.ABC.345/01DE-**");
        assert!(cnpj.is_alphanumeric());
        assert_eq!(Cnpj::parse("12.abc.345/01de-35").unwrap(), cnpj);
        assert_eq!(Cnpj::from_base_str("12ABC34501DE").unwrap(), cnpj);
        assert_eq!(
            Cnpj::parse("12.ABC.345/01DE-36").unwrap_err(),
            CnpjError::CheckDigit
        );
        assert_eq!(
            Cnpj::parse("12.ABD.345/01DE-35").unwrap_err(),
            CnpjError::CheckDigit
        );
        // Letters 11 apart (A = 17, L = 28) weigh the same modulo 11: the check digits cannot see it.
        assert!(Cnpj::parse("12.LBC.345/01DE-35").is_ok());
    }

    #[test]
    fn cnpj_generator() {
        assert_eq!(Cnpj::from_base(11_222_333).as_str(), "11222333000181");
        assert_eq!(Cnpj::from_base(0).as_str().len(), 14);
        assert!(Cnpj::parse(Cnpj::from_base(0).as_str()).is_ok());
        assert_eq!(
            Cnpj::from_base_str("12ABC34501D").unwrap_err(),
            CnpjError::Length(11)
        );
    }

    #[test]
    fn document_decides_by_length() {
        let cpf = Document::parse("529.982.247-25").unwrap();
        assert_eq!(cpf.kind(), DocumentKind::Cpf);
        assert_eq!(cpf.as_str(), "52998224725");
        assert_eq!(cpf.redacted(), "***.982.247-**");
        let cnpj = Document::parse("12.abc.345/01de-35").unwrap();
        assert_eq!(cnpj.kind(), DocumentKind::Cnpj);
        assert_eq!(cnpj.as_str(), "12ABC34501DE35");
        assert_eq!(cnpj.masked(), "12.ABC.345/01DE-35");
        assert_eq!(
            Document::parse("11222333000181").unwrap().kind().as_str(),
            "CNPJ"
        );
        assert_eq!(
            Document::parse("1234567890").unwrap_err(),
            DocumentError::Length(10)
        );
        assert_eq!(
            Document::parse("123.456.789-00").unwrap_err(),
            DocumentError::Cpf(CpfError::CheckDigit)
        );
        assert_eq!(
            Document::parse("123.456.789-00").unwrap_err().to_string(),
            "CPF inválido: dígito verificador não confere"
        );
        assert_eq!(
            Document::parse("529#982").unwrap_err(),
            DocumentError::InvalidChar('#')
        );
    }

    #[test]
    fn document_serde_is_the_plain_string() {
        let doc = Document::parse("529.982.247-25").unwrap();
        assert_eq!(serde_json::to_string(&doc).unwrap(), "\"52998224725\"");
        let back: Document = serde_json::from_str("\"529.982.247-25\"").unwrap();
        assert_eq!(back, doc);
        let cnpj: Document = serde_json::from_str("\"12ABC34501DE35\"").unwrap();
        assert_eq!(serde_json::to_string(&cnpj).unwrap(), "\"12ABC34501DE35\"");
        assert!(serde_json::from_str::<Document>("\"123.456.789-00\"").is_err());
        assert_eq!(
            serde_json::to_string(&DocumentKind::Cnpj).unwrap(),
            "\"CNPJ\""
        );
    }

    fn remainder(values: &[u32], weights: &[u32]) -> u32 {
        values.iter().zip(weights).map(|(v, w)| v * w).sum::<u32>() % 11
    }

    /// Remainders behind both check digits of a CPF-shaped string (its own first check digit used
    /// for the second sum).
    fn cpf_remainders(digits: &str) -> (u32, u32) {
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        (
            remainder(&d[..9], &CPF_WEIGHTS_1),
            remainder(&d[..10], &CPF_WEIGHTS_2),
        )
    }

    fn cnpj_remainders(chars: &str) -> (u32, u32) {
        let v: Vec<u32> = chars.bytes().map(|b| u32::from(b) - 48).collect();
        (
            remainder(&v[..12], &CNPJ_WEIGHTS_1),
            remainder(&v[..13], &CNPJ_WEIGHTS_2),
        )
    }

    /// A change escapes mod-11 check digits only when each remainder either stays put or moves
    /// between 0 and 1, which both give check digit 0.
    fn escapes(before: (u32, u32), after: (u32, u32)) -> bool {
        let same_digit = |a: u32, b: u32| a == b || (a < 2 && b < 2);
        same_digit(before.0, after.0) && same_digit(before.1, after.1)
    }

    fn replace_at(s: &str, index: usize, c: char) -> String {
        s.chars()
            .enumerate()
            .map(|(i, old)| if i == index { c } else { old })
            .collect()
    }

    proptest! {
        #[test]
        fn generated_cpfs_round_trip(seed in any::<u32>()) {
            let cpf = Cpf::from_base(seed);
            prop_assert_eq!(Cpf::parse(&cpf.masked()).unwrap(), cpf.clone());
            prop_assert_eq!(Cpf::parse(cpf.digits()).unwrap(), cpf.clone());
            let doc = Document::parse(&cpf.masked()).unwrap();
            prop_assert_eq!(doc.as_str(), cpf.digits());
            let json = serde_json::to_string(&doc).unwrap();
            prop_assert_eq!(serde_json::from_str::<Document>(&json).unwrap(), doc);
            let redacted = cpf.redacted();
            prop_assert!(redacted.starts_with("***.") && redacted.ends_with("-**"));
            prop_assert_eq!(&redacted[4..11], &cpf.masked()[4..11]);
        }

        #[test]
        fn single_digit_changes_in_a_cpf_are_caught(seed in any::<u32>(), index in 0usize..11, new in 0u8..10) {
            let cpf = Cpf::from_base(seed);
            let new = char::from(b'0' + new);
            prop_assume!(cpf.digits().as_bytes()[index] != new as u8);
            let changed = replace_at(cpf.digits(), index, new);
            let accepted = Cpf::parse(&changed).is_ok();
            // Changing a check digit itself is always caught; a base digit only slips through the
            // documented mod-11 blind spot.
            let blind_spot = index < 9 && escapes(cpf_remainders(cpf.digits()), cpf_remainders(&changed));
            prop_assert_eq!(accepted, blind_spot && changed.bytes().any(|b| b != changed.as_bytes()[0]));
        }

        #[test]
        fn generated_cnpjs_round_trip(base in "[0-9A-Z]{12}") {
            let completed = Cnpj::from_base_str(&base);
            // Only a base of twelve equal digits can fail (it completes to a repeated 14).
            prop_assume!(completed.is_ok());
            let cnpj = completed.unwrap();
            prop_assert_eq!(Cnpj::parse(&cnpj.masked()).unwrap(), cnpj.clone());
            prop_assert_eq!(Cnpj::parse(&cnpj.masked().to_lowercase()).unwrap(), cnpj.clone());
            prop_assert_eq!(Document::parse(cnpj.as_str()).unwrap(), Document::Cnpj(cnpj.clone()));
        }

        #[test]
        fn single_digit_changes_in_a_cnpj_are_caught(seed in any::<u32>(), index in 0usize..14, new in 0u8..10) {
            let cnpj = Cnpj::from_base(seed);
            let new = char::from(b'0' + new);
            prop_assume!(cnpj.as_str().as_bytes()[index] != new as u8);
            let changed = replace_at(cnpj.as_str(), index, new);
            let accepted = Cnpj::parse(&changed).is_ok();
            let blind_spot = index < 12 && escapes(cnpj_remainders(cnpj.as_str()), cnpj_remainders(&changed));
            prop_assert_eq!(accepted, blind_spot);
        }

        #[test]
        fn document_parsers_never_panic(s in "\\PC{0,20}") {
            let _ = Cpf::parse(&s);
            let _ = Cnpj::parse(&s);
            if let Ok(doc) = Document::parse(&s) {
                prop_assert_eq!(Document::parse(&doc.masked()).unwrap(), doc);
            }
        }

        #[test]
        fn digit_strings_never_panic(s in "[0-9A-Za-z./ -]{0,20}") {
            if let Ok(doc) = Document::parse(&s) {
                prop_assert!(matches!(doc.as_str().len(), 11 | 14));
            }
        }
    }
}
