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
    if remainder < 2 { 0 } else { (11 - remainder) as u8 }
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
        base.iter().chain(std::iter::once(&dv1)).map(|&d| u32::from(d)),
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
        base.iter().map(value).chain(std::iter::once(u32::from(dv1))),
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
        format!("{}.{}.{}/{}-{}", &s[0..2], &s[2..5], &s[5..8], &s[8..12], &s[12..14])
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
    #[error("CPF/CNPJ inválido: informe os 11 dígitos do CPF ou os 14 caracteres do CNPJ (recebido {0})")]
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
