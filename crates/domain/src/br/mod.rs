//! Brazilian formats Balcão reads from ERPs and shows to subscribers: CPF/CNPJ, boleto barcodes and
//! lines, Pix BR Codes, money in reais and phone numbers. Every type parses instead of validating:
//! once a value exists it is well formed, and its error explains in Portuguese what was wrong.

pub mod boleto;
pub mod document;
pub mod holidays;
pub mod money;
pub mod phone;
pub mod pix;

pub use boleto::{
    BankBarcode, Boleto, BoletoError, CollectionBarcode, CollectionLine, DigitableLine,
};
pub use document::{Cnpj, CnpjError, Cpf, CpfError, Document, DocumentError, DocumentKind};
pub use holidays::{Holiday, HolidayCalendar, HolidayKind, easter_sunday, national_holidays};
pub use money::{Brl, MoneyError};
pub use phone::{BrPhone, Ddd, PhoneError, same_subscriber};
pub use pix::{Initiation, PixCode, PixError, PixTarget, TlvField, crc16_ccitt_false};

/// Drops the separator characters people and ERPs put between digits; the first other character
/// that is not alphanumeric is returned as the error.
pub(crate) fn strip_separators(input: &str, separators: &[char]) -> Result<String, char> {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !separators.contains(&c) && !c.is_whitespace() {
            return Err(c);
        }
    }
    Ok(out)
}
