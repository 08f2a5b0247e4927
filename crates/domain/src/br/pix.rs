//! Pix BR Code ("Pix copia e cola"): EMV TLV fields, the Pix merchant account template, and the
//! CRC-16 that closes the code. [`PixCode::parse`] reads codes made by any bank or ERP (keeping
//! fields it does not know, such as the Pix Automático template 80) and `to_string` writes them back;
//! [`PixCode::new_static`] and [`PixCode::new_dynamic`] make new ones the way generators do.
//!
//! Regeneration writes fields in ascending id order with 63 last, the order the BCB manual uses, so
//! a code in that order comes back byte for byte; the Pix GUI is written lowercase.

use super::money::Brl;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Globally unique identifier of the Pix arrangement inside a merchant account template.
pub const PIX_GUI: &str = "br.gov.bcb.pix";
const MAX_NAME_CHARS: usize = 25;
const MAX_CITY_CHARS: usize = 15;
const MAX_TXID_CHARS: usize = 25;
const MAX_VALUE_CHARS: usize = 99;
const MAX_AMOUNT_CHARS: usize = 13;

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor), the checksum of
/// field 63. `crc16_ccitt_false(b"123456789") == 0x29B1`.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One TLV field kept as read: a 2-digit id and its value (a nested template stays raw text).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlvField {
    pub id: u8,
    pub value: String,
}

/// Field 01, point of initiation method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Initiation {
    /// "11": the code may be paid many times.
    Reusable,
    /// "12": the code is for one payment (dynamic codes).
    SingleUse,
}

impl Initiation {
    fn code(self) -> &'static str {
        match self {
            Initiation::Reusable => "11",
            Initiation::SingleUse => "12",
        }
    }
}

/// Where the payment goes: a Pix key (static code) or the payload URL of a dynamic code, stored
/// without "https://".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PixTarget {
    Key(String),
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixError {
    #[error("código Pix vazio")]
    Empty,
    #[error("código Pix inválido: estrutura corrompida perto da posição {0}")]
    Malformed(usize),
    #[error("código Pix inválido: falta o CRC no final (campo 63)")]
    MissingCrc,
    #[error("código Pix inválido: CRC não confere (calculado {expected}, no código {found})")]
    Crc { expected: String, found: String },
    #[error("código Pix inválido: deve começar com 000201")]
    FormatIndicator,
    #[error("código Pix inválido: campo {0:02} repetido")]
    Duplicate(u8),
    #[error("código Pix inválido: falta o campo {0:02}")]
    Missing(u8),
    #[error("código Pix inválido: campo {id:02} com valor {value:?} não permitido")]
    BadValue { id: u8, value: String },
    #[error("não é um código Pix (falta o identificador br.gov.bcb.pix)")]
    NotPix,
    #[error("código Pix inválido: sem chave Pix nem URL de cobrança")]
    NoTarget,
    #[error("código Pix inválido: tem chave Pix e URL de cobrança ao mesmo tempo")]
    KeyAndUrl,
    #[error("chave Pix inválida")]
    InvalidKey,
    #[error("URL de cobrança Pix inválida")]
    InvalidUrl,
    #[error("{field} vazio")]
    EmptyField { field: &'static str },
    #[error("{field} longo demais (máximo {max} caracteres)")]
    TooLong { field: &'static str, max: usize },
    #[error("código Pix dinâmico não leva descrição")]
    DescriptionOnDynamic,
    #[error("txid deve ter até 25 letras e números sem acento, ou ***")]
    InvalidTxid,
    #[error("valor do Pix deve ser positivo e ter no máximo 13 caracteres")]
    InvalidAmount,
}

/// A parsed or generated Pix BR Code. Fields are private so every value stays encodable (each TLV
/// value at most 99 characters); read them through the accessors and change them through the
/// `with_*` methods.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PixCode {
    initiation: Option<Initiation>,
    /// Id of the Pix merchant account template: 26 unless the code puts it in 27..=51.
    account_id: u8,
    target: PixTarget,
    description: Option<String>,
    fss: Option<String>,
    account_extra: Vec<TlvField>,
    merchant_category_code: String,
    amount: Option<Brl>,
    merchant_name: String,
    merchant_city: String,
    postal_code: Option<String>,
    txid: Option<String>,
    additional_extra: Vec<TlvField>,
    extra: Vec<TlvField>,
}

/// Splits `s` into TLV fields; lengths count characters. `offset` is only for error positions.
fn parse_tlv(s: &str, offset: usize) -> Result<Vec<TlvField>, PixError> {
    let mut fields = Vec::new();
    let mut rest = s;
    let mut position = offset;
    while !rest.is_empty() {
        let header = rest
            .get(..4)
            .filter(|h| h.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(PixError::Malformed(position))?;
        let id: u8 = header[..2].parse().expect("two ASCII digits");
        let len: usize = header[2..].parse().expect("two ASCII digits");
        let body = &rest[4..];
        let end = body
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(body.len()))
            .nth(len)
            .ok_or(PixError::Malformed(position))?;
        fields.push(TlvField {
            id,
            value: body[..end].to_owned(),
        });
        position += 4 + len;
        rest = &body[end..];
    }
    Ok(fields)
}

fn push_tlv(out: &mut String, id: u8, value: &str) {
    out.push_str(&format!("{id:02}{:02}{value}", value.chars().count()));
}

/// Encodes fields in ascending id order (stable, so equal ids keep their order).
fn encode_sorted(mut fields: Vec<(u8, &str)>) -> String {
    fields.sort_by_key(|(id, _)| *id);
    let mut out = String::new();
    for (id, value) in fields {
        push_tlv(&mut out, id, value);
    }
    out
}

fn take_unique(fields: Vec<TlvField>) -> Result<Vec<TlvField>, PixError> {
    let mut seen = [false; 100];
    for f in &fields {
        if std::mem::replace(&mut seen[usize::from(f.id)], true) {
            return Err(PixError::Duplicate(f.id));
        }
    }
    Ok(fields)
}

/// Uppercase ASCII without accents, as BR Code generators write names and cities: "São Miguel do Ó"
/// → "SAO MIGUEL DO O". Characters with no ASCII letter behind them are dropped.
fn strip_accents(input: &str) -> String {
    input
        .chars()
        .filter_map(|c| {
            let plain = match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'É' | 'È' | 'Ê' | 'Ë' => 'E',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
                'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
                'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
                'ú' | 'ù' | 'û' | 'ü' => 'u',
                'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
                'ç' => 'c',
                'Ç' => 'C',
                'ñ' => 'n',
                'Ñ' => 'N',
                'ý' | 'ÿ' => 'y',
                'Ý' => 'Y',
                c if c.is_whitespace() => ' ',
                c if c.is_ascii_graphic() => c,
                _ => return None,
            };
            Some(plain)
        })
        .collect()
}

/// Name or city as generators write it: no accents, uppercase, single spaces, cut to `max`.
fn normalize_label(input: &str, field: &'static str, max: usize) -> Result<String, PixError> {
    let plain = strip_accents(input).to_ascii_uppercase();
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = collapsed.chars().take(max).collect();
    let cut = cut.trim_end().to_owned();
    if cut.is_empty() {
        return Err(PixError::EmptyField { field });
    }
    Ok(cut)
}

fn is_valid_txid(txid: &str) -> bool {
    txid == "***"
        || (!txid.is_empty()
            && txid.len() <= MAX_TXID_CHARS
            && txid.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl PixCode {
    /// Parses and validates a BR Code: TLV structure, CRC, format indicator, Pix template with a key
    /// or URL, currency 986, country BR, name and city present. Surrounding whitespace is ignored.
    /// The CRC's hex digits are compared without regard to case.
    pub fn parse(input: &str) -> Result<Self, PixError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PixError::Empty);
        }
        let fields = take_unique(parse_tlv(s, 0)?)?;
        let last = fields.last().expect("non-empty input yields a field");
        if last.id != 63
            || last.value.len() != 4
            || !last.value.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(PixError::MissingCrc);
        }
        let expected = format!("{:04X}", crc16_ccitt_false(&s.as_bytes()[..s.len() - 4]));
        if !expected.eq_ignore_ascii_case(&last.value) {
            return Err(PixError::Crc {
                expected,
                found: last.value.clone(),
            });
        }
        if fields[0].id != 0 || fields[0].value != "01" {
            return Err(PixError::FormatIndicator);
        }

        let mut initiation = None;
        let mut account: Option<(u8, Vec<TlvField>)> = None;
        let mut merchant_category_code = None;
        let mut currency = None;
        let mut amount = None;
        let mut country = None;
        let mut merchant_name = None;
        let mut merchant_city = None;
        let mut postal_code = None;
        let mut additional = None;
        let mut extra = Vec::new();
        for field in fields {
            let bad_value = |f: &TlvField| PixError::BadValue {
                id: f.id,
                value: f.value.clone(),
            };
            match field.id {
                0 | 63 => {}
                1 => {
                    initiation = Some(match field.value.as_str() {
                        "11" => Initiation::Reusable,
                        "12" => Initiation::SingleUse,
                        _ => return Err(bad_value(&field)),
                    })
                }
                26..=51 if account.is_none() => {
                    let subfields = take_unique(parse_tlv(&field.value, 0)?)?;
                    let is_pix = subfields
                        .first()
                        .is_some_and(|f| f.id == 0 && f.value.eq_ignore_ascii_case(PIX_GUI));
                    if is_pix {
                        account = Some((field.id, subfields));
                    } else {
                        extra.push(field);
                    }
                }
                52 => merchant_category_code = Some(field.value),
                53 => currency = Some(field.value),
                54 => {
                    let value = Brl::parse_dot_decimal(&field.value)
                        .ok()
                        .filter(|a| !a.is_negative())
                        .ok_or_else(|| bad_value(&field))?;
                    amount = Some(value);
                }
                58 => country = Some(field.value),
                59 => merchant_name = Some(field.value),
                60 => merchant_city = Some(field.value),
                61 => postal_code = Some(field.value),
                62 => additional = Some(take_unique(parse_tlv(&field.value, 0)?)?),
                _ => extra.push(field),
            }
        }

        let (account_id, subfields) = account.ok_or(PixError::NotPix)?;
        let mut key = None;
        let mut url = None;
        let mut description = None;
        let mut fss = None;
        let mut account_extra = Vec::new();
        for sub in subfields.into_iter().skip(1) {
            match sub.id {
                1 => key = Some(sub.value),
                2 => description = Some(sub.value),
                3 => fss = Some(sub.value),
                25 => url = Some(sub.value),
                _ => account_extra.push(sub),
            }
        }
        let target = match (key, url) {
            (Some(k), None) => PixTarget::Key(k),
            (None, Some(u)) => PixTarget::Url(u),
            (Some(_), Some(_)) => return Err(PixError::KeyAndUrl),
            (None, None) => return Err(PixError::NoTarget),
        };

        let merchant_category_code = merchant_category_code.ok_or(PixError::Missing(52))?;
        match currency.as_deref() {
            Some("986") => {}
            Some(other) => {
                return Err(PixError::BadValue {
                    id: 53,
                    value: other.to_owned(),
                });
            }
            None => return Err(PixError::Missing(53)),
        }
        match country.as_deref() {
            Some("BR") => {}
            Some(other) => {
                return Err(PixError::BadValue {
                    id: 58,
                    value: other.to_owned(),
                });
            }
            None => return Err(PixError::Missing(58)),
        }
        let merchant_name = merchant_name
            .filter(|n| !n.is_empty())
            .ok_or(PixError::Missing(59))?;
        let merchant_city = merchant_city
            .filter(|c| !c.is_empty())
            .ok_or(PixError::Missing(60))?;

        let mut txid = None;
        let mut additional_extra = Vec::new();
        for sub in additional.unwrap_or_default() {
            if sub.id == 5 {
                txid = Some(sub.value);
            } else {
                additional_extra.push(sub);
            }
        }

        Ok(PixCode {
            initiation,
            account_id,
            target,
            description,
            fss,
            account_extra,
            merchant_category_code,
            amount,
            merchant_name,
            merchant_city,
            postal_code,
            txid,
            additional_extra,
            extra,
        })
    }

    fn new(target: PixTarget, merchant_name: &str, merchant_city: &str) -> Result<Self, PixError> {
        Ok(PixCode {
            initiation: None,
            account_id: 26,
            target,
            description: None,
            fss: None,
            account_extra: Vec::new(),
            merchant_category_code: "0000".to_owned(),
            amount: None,
            merchant_name: normalize_label(merchant_name, "nome do recebedor", MAX_NAME_CHARS)?,
            merchant_city: normalize_label(merchant_city, "cidade do recebedor", MAX_CITY_CHARS)?,
            postal_code: None,
            txid: Some("***".to_owned()),
            additional_extra: Vec::new(),
            extra: Vec::new(),
        })
    }

    /// A static code paying `key` (CPF/CNPJ digits, e-mail, +55 phone or random key, as given),
    /// with an open amount and txid "***". Name and city are written without accents, uppercase,
    /// cut to 25 and 15 characters.
    pub fn new_static(
        key: &str,
        merchant_name: &str,
        merchant_city: &str,
    ) -> Result<Self, PixError> {
        let key = key.trim();
        // 99 minus the GUI sub-field (18) and this sub-field's header (4).
        if key.is_empty() || key.len() > 77 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PixError::InvalidKey);
        }
        Self::new(PixTarget::Key(key.to_owned()), merchant_name, merchant_city)
    }

    /// A dynamic code pointing at the PSP's payload `url` ("https://" is dropped if present),
    /// single use (01 = 12), txid "***".
    pub fn new_dynamic(
        url: &str,
        merchant_name: &str,
        merchant_city: &str,
    ) -> Result<Self, PixError> {
        let url = url.trim();
        let url = match url.get(..8) {
            Some(scheme) if scheme.eq_ignore_ascii_case("https://") => &url[8..],
            _ => url,
        };
        if url.is_empty() || url.len() > 77 || !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PixError::InvalidUrl);
        }
        let mut code = Self::new(PixTarget::Url(url.to_owned()), merchant_name, merchant_city)?;
        code.initiation = Some(Initiation::SingleUse);
        Ok(code)
    }

    /// Sets a fixed amount (field 54); it must be positive.
    pub fn with_amount(mut self, amount: Brl) -> Result<Self, PixError> {
        if !amount.is_positive() || amount.to_pix_amount().len() > MAX_AMOUNT_CHARS {
            return Err(PixError::InvalidAmount);
        }
        self.amount = Some(amount);
        Ok(self)
    }

    /// Sets the free text shown to the payer (26-02) of a static code, accents removed.
    pub fn with_description(mut self, text: &str) -> Result<Self, PixError> {
        let text = strip_accents(text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() {
            return Err(PixError::EmptyField {
                field: "descrição"
            });
        }
        let PixTarget::Key(key) = &self.target else {
            return Err(PixError::DescriptionOnDynamic);
        };
        let room = MAX_VALUE_CHARS - (4 + PIX_GUI.len()) - (4 + key.chars().count()) - 4;
        if text.chars().count() > room {
            return Err(PixError::TooLong {
                field: "descrição",
                max: room,
            });
        }
        self.description = Some(text);
        Ok(self)
    }

    /// Sets the txid (62-05): up to 25 ASCII letters and digits, or "***". Dynamic codes only take "***".
    pub fn with_txid(mut self, txid: &str) -> Result<Self, PixError> {
        if !is_valid_txid(txid) || (self.is_dynamic() && txid != "***") {
            return Err(PixError::InvalidTxid);
        }
        self.txid = Some(txid.to_owned());
        Ok(self)
    }

    pub fn initiation(&self) -> Option<Initiation> {
        self.initiation
    }

    pub fn target(&self) -> &PixTarget {
        &self.target
    }

    /// The Pix key of a static code.
    pub fn key(&self) -> Option<&str> {
        match &self.target {
            PixTarget::Key(k) => Some(k),
            PixTarget::Url(_) => None,
        }
    }

    /// The payload URL of a dynamic code, without "https://".
    pub fn url(&self) -> Option<&str> {
        match &self.target {
            PixTarget::Url(u) => Some(u),
            PixTarget::Key(_) => None,
        }
    }

    pub fn is_dynamic(&self) -> bool {
        matches!(self.target, PixTarget::Url(_))
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn fss(&self) -> Option<&str> {
        self.fss.as_deref()
    }

    pub fn merchant_category_code(&self) -> &str {
        &self.merchant_category_code
    }

    /// The fixed amount; `None` lets the payer type it.
    pub fn amount(&self) -> Option<Brl> {
        self.amount
    }

    pub fn amount_cents(&self) -> Option<i64> {
        self.amount.map(Brl::cents)
    }

    pub fn merchant_name(&self) -> &str {
        &self.merchant_name
    }

    pub fn merchant_city(&self) -> &str {
        &self.merchant_city
    }

    pub fn postal_code(&self) -> Option<&str> {
        self.postal_code.as_deref()
    }

    pub fn txid(&self) -> Option<&str> {
        self.txid.as_deref()
    }

    /// Sub-fields of the Pix template other than 00, 01, 02, 03 and 25, in the order read.
    pub fn account_extra(&self) -> &[TlvField] {
        &self.account_extra
    }

    /// Sub-fields of template 62 other than the txid.
    pub fn additional_extra(&self) -> &[TlvField] {
        &self.additional_extra
    }

    /// Top-level fields this type does not interpret (other account templates, 64, 80–99 such as
    /// the Pix Automático template 80), kept raw and written back.
    pub fn extra_fields(&self) -> &[TlvField] {
        &self.extra
    }

    fn account_template(&self) -> String {
        let mut subfields: Vec<(u8, &str)> = vec![(0, PIX_GUI)];
        match &self.target {
            PixTarget::Key(k) => subfields.push((1, k)),
            PixTarget::Url(u) => subfields.push((25, u)),
        }
        if let Some(d) = &self.description {
            subfields.push((2, d));
        }
        if let Some(f) = &self.fss {
            subfields.push((3, f));
        }
        subfields.extend(self.account_extra.iter().map(|f| (f.id, f.value.as_str())));
        encode_sorted(subfields)
    }

    fn additional_template(&self) -> Option<String> {
        let mut subfields: Vec<(u8, &str)> = Vec::new();
        if let Some(t) = &self.txid {
            subfields.push((5, t));
        }
        subfields.extend(
            self.additional_extra
                .iter()
                .map(|f| (f.id, f.value.as_str())),
        );
        (!subfields.is_empty()).then(|| encode_sorted(subfields))
    }

    /// The code without field 63, ending in "6304" ready for the CRC.
    fn payload_before_crc(&self) -> String {
        let account = self.account_template();
        let additional = self.additional_template();
        let amount = self.amount.map(Brl::to_pix_amount);
        let mut fields: Vec<(u8, &str)> = vec![(0, "01")];
        if let Some(i) = self.initiation {
            fields.push((1, i.code()));
        }
        fields.push((self.account_id, &account));
        fields.push((52, &self.merchant_category_code));
        fields.push((53, "986"));
        if let Some(a) = &amount {
            fields.push((54, a));
        }
        fields.push((58, "BR"));
        fields.push((59, &self.merchant_name));
        fields.push((60, &self.merchant_city));
        if let Some(p) = &self.postal_code {
            fields.push((61, p));
        }
        if let Some(a) = &additional {
            fields.push((62, a));
        }
        fields.extend(self.extra.iter().map(|f| (f.id, f.value.as_str())));
        let mut out = encode_sorted(fields);
        out.push_str("6304");
        out
    }
}

impl fmt::Display for PixCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let payload = self.payload_before_crc();
        write!(f, "{payload}{:04X}", crc16_ccitt_false(payload.as_bytes()))
    }
}

impl std::str::FromStr for PixCode {
    type Err = PixError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PixCode::parse(s)
    }
}

impl TryFrom<String> for PixCode {
    type Error = PixError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PixCode::parse(&value)
    }
}

impl From<PixCode> for String {
    fn from(value: PixCode) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATIC: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";
    const DYNAMIC: &str = "00020101021226700014br.gov.bcb.pix2548pix.example.com/8b3da2f39a4140d1a91abd93113bd4415204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***630464E4";
    const AUTOMATICO: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865406100.505802BR5913Fulano de Tal6008BRASILIA62070503***80740014br.gov.bcb.pix2552pix.example.com/rec/2353c790eefb11eaadc10242ac12000263042875";
    const WITH_TEXT: &str = "00020126510014br.gov.bcb.pix0115thalesog@me.com0210Pedido 123520400005303986540510.005802BR5914THALES OGLIARI6015SAO MIGUEL DO O62070503***63040DC6";

    /// Closes a payload ending in "6304" with its CRC.
    fn with_crc(payload: &str) -> String {
        format!("{payload}{:04X}", crc16_ccitt_false(payload.as_bytes()))
    }

    #[test]
    fn crc_check_values() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
        assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
        // Padding: a CRC below 0x1000 still takes four hex digits.
        let payload = &STATIC[..STATIC.len() - 4];
        assert_eq!(with_crc(payload), STATIC);
    }

    #[test]
    fn spec_vectors_parse_and_regenerate_byte_for_byte() {
        for code in [STATIC, DYNAMIC, AUTOMATICO, WITH_TEXT] {
            let parsed = PixCode::parse(code).unwrap();
            assert_eq!(parsed.to_string(), code);
            assert_eq!(code.parse::<PixCode>().unwrap(), parsed);
        }
    }

    #[test]
    fn static_vector_fields() {
        let code = PixCode::parse(STATIC).unwrap();
        assert_eq!(code.key(), Some("123e4567-e12b-12d1-a456-426655440000"));
        assert_eq!(code.url(), None);
        assert!(!code.is_dynamic());
        assert_eq!(code.initiation(), None);
        assert_eq!(code.amount(), None);
        assert_eq!(code.merchant_name(), "Fulano de Tal");
        assert_eq!(code.merchant_city(), "BRASILIA");
        assert_eq!(code.txid(), Some("***"));
        assert_eq!(code.merchant_category_code(), "0000");
        assert!(code.extra_fields().is_empty());
    }

    #[test]
    fn dynamic_vector_fields() {
        let code = PixCode::parse(DYNAMIC).unwrap();
        assert_eq!(
            code.url(),
            Some("pix.example.com/8b3da2f39a4140d1a91abd93113bd441")
        );
        assert_eq!(code.key(), None);
        assert!(code.is_dynamic());
        assert_eq!(code.initiation(), Some(Initiation::SingleUse));
        assert_eq!(code.txid(), Some("***"));
    }

    #[test]
    fn pix_automatico_keeps_template_80() {
        let code = PixCode::parse(AUTOMATICO).unwrap();
        assert_eq!(code.amount_cents(), Some(10050));
        assert_eq!(code.key(), Some("123e4567-e12b-12d1-a456-426655440000"));
        assert_eq!(
            code.extra_fields(),
            [TlvField {
                id: 80,
                value: "0014br.gov.bcb.pix2552pix.example.com/rec/2353c790eefb11eaadc10242ac120002"
                    .to_owned()
            }]
        );
    }

    #[test]
    fn text_vector_fields_and_builder_reproduce_it() {
        let code = PixCode::parse(WITH_TEXT).unwrap();
        assert_eq!(code.key(), Some("thalesog@me.com"));
        assert_eq!(code.description(), Some("Pedido 123"));
        assert_eq!(code.amount(), Some(Brl::from_cents(1000)));
        assert_eq!(code.merchant_city(), "SAO MIGUEL DO O");

        let built = PixCode::new_static("thalesog@me.com", "Thales Ogliari", "São Miguel do Ó")
            .unwrap()
            .with_amount(Brl::from_cents(1000))
            .unwrap()
            .with_description("Pedido 123")
            .unwrap();
        assert_eq!(built.to_string(), WITH_TEXT);
        assert_eq!(built, code);
    }

    #[test]
    fn builders_normalise_like_generators() {
        let built = PixCode::new_static(
            "123e4567-e12b-12d1-a456-426655440000",
            "Fulano de Tal",
            "Brasília",
        )
        .unwrap();
        assert_eq!(built.merchant_name(), "FULANO DE TAL");
        assert_eq!(built.merchant_city(), "BRASILIA");
        assert_eq!(built.txid(), Some("***"));
        let reference = PixCode::parse(STATIC).unwrap();
        assert_eq!(built.key(), reference.key());

        let dynamic = PixCode::new_dynamic(
            "https://pix.example.com/8b3da2f39a4140d1a91abd93113bd441",
            "Fulano de Tal",
            "BRASILIA",
        )
        .unwrap();
        let reference = PixCode::parse(DYNAMIC).unwrap();
        assert_eq!(dynamic.url(), reference.url());
        assert_eq!(dynamic.initiation(), Some(Initiation::SingleUse));
        assert_eq!(
            dynamic.to_string(),
            with_crc(&DYNAMIC[..DYNAMIC.len() - 4].replace("Fulano de Tal", "FULANO DE TAL"))
        );

        let long = PixCode::new_static(
            "a@b.com",
            "Provedor de Internet Conexão Rápida Ltda",
            "São José dos Campos",
        )
        .unwrap();
        assert_eq!(long.merchant_name(), "PROVEDOR DE INTERNET CONE");
        assert_eq!(long.merchant_city(), "SAO JOSE DOS CA");
        let txid = long.clone().with_txid("FATURA20261101").unwrap();
        assert_eq!(
            PixCode::parse(&txid.to_string()).unwrap().txid(),
            Some("FATURA20261101")
        );
    }

    #[test]
    fn builders_refuse_bad_input() {
        let code = PixCode::new_static("a@b.com", "Fulano", "Brasilia").unwrap();
        assert_eq!(
            code.clone().with_txid("com-hifen"),
            Err(PixError::InvalidTxid)
        );
        assert_eq!(
            code.clone().with_txid(&"A".repeat(26)),
            Err(PixError::InvalidTxid)
        );
        assert_eq!(
            code.clone().with_amount(Brl::ZERO),
            Err(PixError::InvalidAmount)
        );
        assert_eq!(
            code.clone().with_amount(Brl::from_cents(-100)),
            Err(PixError::InvalidAmount)
        );
        assert_eq!(
            code.clone()
                .with_amount(Brl::from_cents(10_000_000_000_000)),
            Err(PixError::InvalidAmount)
        );
        assert_eq!(
            code.with_description(&"x".repeat(80)),
            Err(PixError::TooLong {
                field: "descrição",
                max: 66
            })
        );
        assert_eq!(
            PixCode::new_static("", "Fulano", "Brasilia"),
            Err(PixError::InvalidKey)
        );
        assert_eq!(
            PixCode::new_static("a b", "Fulano", "Brasilia"),
            Err(PixError::InvalidKey)
        );
        assert_eq!(
            PixCode::new_static("a@b.com", " ", "Brasilia"),
            Err(PixError::EmptyField {
                field: "nome do recebedor"
            })
        );
        assert_eq!(
            PixCode::new_dynamic("https://", "Fulano", "Brasilia"),
            Err(PixError::InvalidUrl)
        );
        let dynamic = PixCode::new_dynamic("psp.example.com/x", "Fulano", "Brasilia").unwrap();
        assert_eq!(dynamic.clone().with_txid("ABC"), Err(PixError::InvalidTxid));
        assert_eq!(
            dynamic.with_description("texto"),
            Err(PixError::DescriptionOnDynamic)
        );
    }

    #[test]
    fn parse_refuses_broken_codes() {
        let wrong_crc = STATIC.replace("63041D3D", "63041D3E");
        assert_eq!(
            PixCode::parse(&wrong_crc),
            Err(PixError::Crc {
                expected: "1D3D".to_owned(),
                found: "1D3E".to_owned()
            })
        );
        assert_eq!(
            PixCode::parse(&wrong_crc).unwrap_err().to_string(),
            "código Pix inválido: CRC não confere (calculado 1D3D, no código 1D3E)"
        );
        let lower = STATIC.replace("63041D3D", "63041d3d");
        assert_eq!(PixCode::parse(&lower).unwrap().to_string(), STATIC);
        assert_eq!(
            PixCode::parse(&format!("  {STATIC}\n"))
                .unwrap()
                .to_string(),
            STATIC
        );
        assert_eq!(PixCode::parse(""), Err(PixError::Empty));
        assert_eq!(
            PixCode::parse(&STATIC[..STATIC.len() - 8]),
            Err(PixError::MissingCrc)
        );
        assert_eq!(
            PixCode::parse(&STATIC[..STATIC.len() - 2]),
            Err(PixError::Malformed(STATIC.len() - 8))
        );
        // Same fields with the format indicator 02 and a fresh CRC.
        let payload = STATIC[..STATIC.len() - 4].replacen("000201", "000202", 1);
        assert_eq!(
            PixCode::parse(&with_crc(&payload)),
            Err(PixError::FormatIndicator)
        );
        let dollars = STATIC[..STATIC.len() - 4].replace("5303986", "5303840");
        assert_eq!(
            PixCode::parse(&with_crc(&dollars)),
            Err(PixError::BadValue {
                id: 53,
                value: "840".to_owned()
            })
        );
        let other_gui = STATIC[..STATIC.len() - 4].replace("br.gov.bcb.pix", "br.gov.bcb.xyz");
        assert_eq!(PixCode::parse(&with_crc(&other_gui)), Err(PixError::NotPix));
        let no_name = STATIC[..STATIC.len() - 4].replace("5913Fulano de Tal", "");
        assert_eq!(
            PixCode::parse(&with_crc(&no_name)),
            Err(PixError::Missing(59))
        );
        let twice = STATIC[..STATIC.len() - 4].replace("5802BR", "5802BR5802BR");
        assert_eq!(
            PixCode::parse(&with_crc(&twice)),
            Err(PixError::Duplicate(58))
        );
        let key_and_url = "0014br.gov.bcb.pix0103abc2503x.y";
        let both = with_crc(&format!(
            "00020126{}{key_and_url}5204000053039865802BR5901A6001B6304",
            key_and_url.len()
        ));
        assert_eq!(PixCode::parse(&both), Err(PixError::KeyAndUrl));
        let bad_amount = STATIC[..STATIC.len() - 4].replace("5802BR", "54041,005802BR");
        assert_eq!(
            PixCode::parse(&with_crc(&bad_amount)),
            Err(PixError::BadValue {
                id: 54,
                value: "1,00".to_owned()
            })
        );
    }

    #[test]
    fn uppercase_gui_and_loose_amount_are_read() {
        let loose = STATIC[..STATIC.len() - 4]
            .replace("br.gov.bcb.pix", "BR.GOV.BCB.PIX")
            .replace("5802BR", "540410.55802BR");
        let code = PixCode::parse(&with_crc(&loose)).unwrap();
        assert_eq!(code.amount_cents(), Some(1050));
        assert!(code.to_string().contains("br.gov.bcb.pix"));
        assert!(code.to_string().contains("540510.50"));
        assert_eq!(PixCode::parse(&code.to_string()).unwrap(), code);
    }

    #[test]
    fn serde_is_the_copy_paste_string() {
        let code = PixCode::parse(WITH_TEXT).unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{WITH_TEXT}\""));
        assert_eq!(serde_json::from_str::<PixCode>(&json).unwrap(), code);
    }

    fn arb_static() -> impl Strategy<Value = PixCode> {
        (
            prop_oneof![
                "[a-z0-9._]{1,20}@[a-z]{2,12}\\.com\\.br",
                "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "\\+55[1-9]{2}9[0-9]{8}",
                "[0-9]{11}",
            ],
            "[a-zA-ZáéíóúãõçÁÉÍÓÚÃÕÇ][a-zA-ZáéíóúãõçÁÉÍÓÚÃÕÇ ]{0,39}",
            "[a-zA-ZáéíóúãõçÁÉÍÓÚÃÕÇ][a-zA-ZáéíóúãõçÁÉÍÓÚÃÕÇ ]{0,24}",
            prop::option::of(1i64..=999_999_999_999),
            prop::option::of("[A-Za-z0-9][A-Za-z0-9 ]{0,29}"),
            prop::option::of("[A-Za-z0-9]{1,25}"),
        )
            .prop_map(|(key, name, city, amount, description, txid)| {
                let mut code = PixCode::new_static(&key, &name, &city).unwrap();
                if let Some(a) = amount {
                    code = code.with_amount(Brl::from_cents(a)).unwrap();
                }
                if let Some(d) = description {
                    code = code.with_description(&d).unwrap();
                }
                if let Some(t) = txid {
                    code = code.with_txid(&t).unwrap();
                }
                code
            })
    }

    fn arb_dynamic() -> impl Strategy<Value = PixCode> {
        (
            "(https://)?[a-z]{3,10}\\.[a-z]{2,3}/[a-z0-9/]{1,40}",
            "[A-Za-z ]{1,30}",
            prop::option::of(1i64..=99_999_999),
        )
            .prop_filter("name needs a letter", |(_, name, _)| {
                !name.trim().is_empty()
            })
            .prop_map(|(url, name, amount)| {
                let code = PixCode::new_dynamic(&url, &name, "Fortaleza").unwrap();
                match amount {
                    Some(a) => code.with_amount(Brl::from_cents(a)).unwrap(),
                    None => code,
                }
            })
    }

    proptest! {
        #[test]
        fn generated_codes_round_trip(code in prop_oneof![arb_static(), arb_dynamic()]) {
            let text = code.to_string();
            prop_assert!(text.is_ascii());
            prop_assert!(text.starts_with("000201"));
            let crc_start = text.len() - 8;
            prop_assert_eq!(&text[crc_start..crc_start + 4], "6304");
            let parsed = PixCode::parse(&text).unwrap();
            prop_assert_eq!(&parsed, &code);
            prop_assert_eq!(parsed.to_string(), text);
            prop_assert!(code.merchant_name().len() <= 25);
            prop_assert!(code.merchant_city().len() <= 15);
            prop_assert!(!code.merchant_name().bytes().any(|b| b.is_ascii_lowercase()));
        }

        #[test]
        fn any_single_character_change_is_caught(
            code in arb_static(), position in any::<prop::sample::Index>(), replacement in "[0-9A-Za-z.*@ ]",
        ) {
            let text = code.to_string();
            let index = position.index(text.len());
            let replacement = replacement.as_bytes()[0];
            prop_assume!(text.as_bytes()[index] != replacement);
            // Changing a CRC letter's case is not a change of value.
            prop_assume!(!(index >= text.len() - 4 && text.as_bytes()[index].eq_ignore_ascii_case(&replacement)));
            let mut bytes = text.into_bytes();
            bytes[index] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(PixCode::parse(&changed).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = PixCode::parse(&s);
        }

        #[test]
        fn tlv_shaped_input_never_panics(s in "(0[0-9][0-9]{2}[a-zA-Z0-9. ]{0,12}){0,12}(6304[0-9A-F]{4})?") {
            if let Ok(code) = PixCode::parse(&s) {
                prop_assert!(PixCode::parse(&code.to_string()).is_ok());
            }
        }
    }
}
