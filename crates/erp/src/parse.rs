//! Tolerant readers for ERP JSON: every system writes numbers as strings (or not), dates as
//! dd/mm/yyyy or YYYY-MM-DD (with or without a time), flags as S/N, sim/nao, 1/0 or booleans.
//! Adapters read `serde_json::Value`s through these helpers instead of strict structs, so one odd
//! field never loses a whole answer.

use crate::error::ErpError;
use crate::model::{ContractStatus, UnlockRefusal};
use balcao_domain::br::{BrPhone, Brl, Document};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde_json::Value;

/// Where Brazilian ERPs keep their naive dates and times.
pub(crate) fn brazil_tz() -> TimeZone {
    TimeZone::get("America/Sao_Paulo").unwrap_or(TimeZone::fixed(jiff::tz::offset(-3)))
}

/// Today in São Paulo, the reference for "overdue".
pub(crate) fn today_in_brazil() -> Date {
    Zoned::now().with_time_zone(brazil_tz()).date()
}

pub(crate) fn date_in_brazil(at: Timestamp) -> Date {
    at.to_zoned(brazil_tz()).date()
}

/// Decodes a JSON body, telling apart the ways an ERP answers with something else. The content
/// type is not trusted: PHP ERPs label JSON (and MK-Auth's `NULL`) as text/html.
pub(crate) fn decode_json(body: &[u8]) -> Result<Value, ErpError> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(ErpError::InvalidResponse("resposta vazia".into()));
    }
    if looks_like_html(trimmed) {
        return Err(ErpError::InvalidResponse(format!(
            "página HTML em vez de JSON: {}",
            html_summary(trimmed)
        )));
    }
    serde_json::from_str(trimmed).map_err(|e| {
        if e.is_eof() {
            ErpError::InvalidResponse(format!("JSON truncado ({} bytes)", body.len()))
        } else {
            ErpError::InvalidResponse(format!("JSON malformado: {e}"))
        }
    })
}

pub(crate) fn looks_like_html(trimmed_body: &str) -> bool {
    trimmed_body.starts_with('<') && !trimmed_body.starts_with("<?xml")
}

/// The page title or the first words of an HTML page, for the error message.
fn html_summary(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        .and_then(|start| {
            let from = start + "<title>".len();
            lower[from..]
                .find("</title>")
                .map(|len| &html[from..from + len])
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let text = title.map(str::to_owned).unwrap_or_else(|| strip_tags(html));
    text.chars().take(120).collect()
}

/// Text without HTML tags and with whitespace collapsed; IXC puts `<br />` inside messages.
pub(crate) fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first of `keys` present with a non-null value.
pub(crate) fn field<'a>(object: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .filter_map(|k| object.get(k))
        .find(|v| !v.is_null())
}

/// A string or number as trimmed text; empty strings and nulls are absent.
pub(crate) fn text(value: &Value) -> Option<String> {
    let s = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

pub(crate) fn text_at(object: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().filter_map(|k| object.get(k)).find_map(text)
}

/// An id, whatever its JSON type.
pub(crate) fn id_at(object: &Value, keys: &[&str]) -> Option<String> {
    text_at(object, keys)
}

pub(crate) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

pub(crate) fn int_at(object: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().filter_map(|k| object.get(k)).find_map(int)
}

/// Money as cents: "29.90", "29,90", "1.234,56", 29.9, 29 — never through a float when the text
/// is exact.
pub(crate) fn cents(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return i.checked_mul(100);
            }
            let text = n.to_string();
            Brl::parse_dot_decimal(&text)
                .map(Brl::cents)
                .ok()
                .or_else(|| n.as_f64().map(|f| (f * 100.0).round() as i64))
        }
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            Brl::parse_dot_decimal(s)
                .or_else(|_| Brl::parse(s))
                .map(Brl::cents)
                .ok()
        }
        _ => None,
    }
}

pub(crate) fn cents_at(object: &Value, keys: &[&str]) -> Option<i64> {
    keys.iter().filter_map(|k| object.get(k)).find_map(cents)
}

/// A date in any of the forms ERPs write: "2026-11-21", "2026-11-21 10:00:00",
/// "2026-11-21T10:00:00-03:00", "21/11/2026", "21/11/2026 10:00". Zero dates ("0000-00-00") are
/// absent.
pub(crate) fn date_text(s: &str) -> Option<Date> {
    let s = s.trim();
    let head: String = s.chars().take(10).collect();
    if head.len() != 10 || !head.is_ascii() {
        return None;
    }
    let bytes = head.as_bytes();
    let (year, month, day) = if bytes[4] == b'-' && bytes[7] == b'-' {
        (&head[0..4], &head[5..7], &head[8..10])
    } else if bytes[2] == b'/' && bytes[5] == b'/' {
        (&head[6..10], &head[3..5], &head[0..2])
    } else {
        return None;
    };
    Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

pub(crate) fn date(value: &Value) -> Option<Date> {
    value.as_str().and_then(date_text)
}

pub(crate) fn date_at(object: &Value, keys: &[&str]) -> Option<Date> {
    keys.iter().filter_map(|k| object.get(k)).find_map(date)
}

/// An instant: RFC 3339 text as it is; a naive date-time or a bare date is São Paulo time (a bare
/// date is its midnight).
pub(crate) fn timestamp_text(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    let date = date_text(s)?;
    let rest = s.get(10..).unwrap_or("").trim_start_matches(['T', ' ']);
    let time = if rest.is_empty() {
        jiff::civil::Time::midnight()
    } else {
        let hms: String = rest.chars().take(8).collect();
        let mut parts = hms.split(':');
        let hour: i8 = parts.next()?.trim().parse().ok()?;
        let minute: i8 = parts.next().unwrap_or("0").trim().parse().ok()?;
        let second: i8 = parts
            .next()
            .map(|p| p.chars().take(2).collect::<String>())
            .unwrap_or_else(|| "0".into())
            .parse()
            .ok()?;
        jiff::civil::Time::new(hour, minute, second, 0).ok()?
    };
    DateTime::from_parts(date, time)
        .to_zoned(brazil_tz())
        .ok()
        .map(|z| z.timestamp())
}

pub(crate) fn timestamp_at(object: &Value, keys: &[&str]) -> Option<Timestamp> {
    keys.iter()
        .filter_map(|k| object.get(k))
        .filter_map(Value::as_str)
        .find_map(timestamp_text)
}

/// Yes/no in the spellings ERPs use.
pub(crate) fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match fold(s).as_str() {
            "s" | "sim" | "y" | "yes" | "true" | "1" | "online" | "on" | "ativo" => Some(true),
            "n" | "nao" | "no" | "false" | "0" | "offline" | "off" | "inativo" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn flag_at(object: &Value, keys: &[&str]) -> Option<bool> {
    keys.iter().filter_map(|k| object.get(k)).find_map(flag)
}

/// The array under the first of `keys` (or the value itself when it is the array).
pub(crate) fn list<'a>(value: &'a Value, keys: &[&str]) -> &'a [Value] {
    if let Value::Array(items) = value {
        return items;
    }
    keys.iter()
        .filter_map(|k| value.get(k))
        .find_map(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Strings from an array of strings, or of objects holding the string under one of `keys`, or a
/// single string.
pub(crate) fn strings(value: Option<&Value>, keys: &[&str]) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| text(item).or_else(|| text_at(item, keys)))
            .collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Lowercase without accents, for matching ERP texts.
pub(crate) fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// A CPF/CNPJ as the ERP holds it (masked or bare); `None` when it does not validate.
pub(crate) fn document(raw: &str) -> Option<Document> {
    Document::parse(raw.trim()).ok()
}

/// The national form ("11987654321") of a phone written any way, or its bare digits when it does
/// not parse as Brazilian; `None` for empty text.
pub(crate) fn phone(raw: &str) -> Option<String> {
    if let Ok(parsed) = BrPhone::parse(raw) {
        return Some(parsed.national());
    }
    let d = digits(raw);
    (d.len() >= 8).then_some(d)
}

/// Phones from several fields, normalised and deduplicated, in order.
pub(crate) fn phones_from(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in values {
        for piece in raw.split([',', ';', '/']) {
            if let Some(p) = phone(piece)
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
    }
    out
}

/// The forms an ERP may have stored a phone in: national with the 9th digit and, for a mobile,
/// the legacy 8-digit form.
pub(crate) fn phone_search_forms(phone: &BrPhone) -> Vec<String> {
    let mut forms = vec![phone.national()];
    if phone.is_mobile() {
        forms.push(format!("{}{}", phone.ddd(), &phone.number()[1..]));
    }
    forms
}

/// Whether a stored phone (any format) is this subscriber's.
pub(crate) fn phone_matches(stored: &str, wanted: &BrPhone) -> bool {
    BrPhone::parse(stored)
        .map(|p| balcao_domain::br::same_subscriber(&p.to_wa_id(), &wanted.to_wa_id()))
        .unwrap_or(false)
}

/// A dd/mm/yyyy or YYYY-MM-DD date inside a message ("… até a data 24/11/2026").
pub(crate) fn date_in_message(message: &str) -> Option<Date> {
    let chars: Vec<char> = message.chars().collect();
    (0..chars.len().saturating_sub(9)).find_map(|start| {
        let window: String = chars[start..start + 10].iter().collect();
        let boundary_ok = start == 0 || !chars[start - 1].is_ascii_digit();
        if boundary_ok {
            date_text(&window)
        } else {
            None
        }
    })
}

/// Maps an ERP's status words (SGP display text, Hubsoft `status_prefixo`, Voalle status) onto the
/// common statuses. Order matters: "inativo" contains "ativo", "Ativo V. Reduzida" is reduced.
pub(crate) fn contract_status_from_text(raw: &str) -> ContractStatus {
    let t = fold(raw).replace(['_', '-', '.'], " ");
    let has = |needle: &str| t.contains(needle);
    if has("confianca") || has("promessa") {
        ContractStatus::TrustUnlocked
    } else if has("cancel") || has("inativ") || has("desativ") || has("encerrad") {
        ContractStatus::Cancelled
    } else if has("reduz") || has("parcial") || has("velocidade") || has("v reduzida") {
        ContractStatus::ReducedSpeed
    } else if has("pedido") || has("solicitacao") || has("a pedido") || has("request") {
        ContractStatus::SuspendedByRequest
    } else if has("manual") || has("administrativ") {
        ContractStatus::SuspendedManual
    } else if has("debito")
        || has("financeiro")
        || has("inadimpl")
        || has("atraso")
        || has("bloquead")
        || has("bloqueio")
        || has("suspens")
    {
        ContractStatus::SuspendedDebt
    } else if has("aguardando") || has("instala") || has("novo") || has("pendente") {
        ContractStatus::PendingInstall
    } else if has("ativo") || has("habilitado") || has("liberado") || has("normal") {
        ContractStatus::Active
    } else {
        ContractStatus::Other
    }
}

/// Reads the reason out of an ERP's refusal text.
pub(crate) fn refusal_from_message(message: &str) -> UnlockRefusal {
    let t = fold(message);
    let has = |needle: &str| t.contains(needle);
    if has("nao encontrad") || has("nao existe") || has("inexistente") {
        UnlockRefusal::NotFound
    } else if has("ja utiliz")
        || has("ja foi utiliz")
        || has("ja usad")
        || has("ja foi usad")
        || has("ja realiz")
        || has("ja possui")
        || has("ja liberad")
        || has("neste mes")
        || has("este mes")
        || has("nao pago")
        || has("em aberto")
    {
        UnlockRefusal::AlreadyUsedUnpaid
    } else if has("nao esta bloquead")
        || has("nao bloquead")
        || has("ja esta ativo")
        || has("ja ativo")
        || has("nao esta suspens")
        || has("desbloqueado")
    {
        UnlockRefusal::NotBlocked
    } else if has("inativo") || has("cancelad") || has("desativad") {
        UnlockRefusal::ContractInactive
    } else if has("maxim") || has("limite") || has("excede") || has("permitid") {
        UnlockRefusal::ExceedsPolicy
    } else {
        UnlockRefusal::Unknown
    }
}

/// Words that mark an authentication failure inside an HTTP-200 error envelope.
pub(crate) fn mentions_auth_failure(message: &str) -> bool {
    let t = fold(message);
    [
        "token",
        "autentic",
        "credenc",
        "nao autorizad",
        "unauthorized",
        "app invalid",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Words that mean "nothing found" inside an error envelope.
pub(crate) fn mentions_not_found(message: &str) -> bool {
    let t = fold(message);
    [
        "nao encontrad",
        "nenhum",
        "nao localizad",
        "nao existe",
        "not found",
        "inexistente",
        "nao possui",
    ]
    .iter()
    .any(|w| t.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn decode_tells_html_truncated_and_empty_apart() {
        let html =
            b"<!DOCTYPE html><html><head><title>Erro interno</title></head><body>x</body></html>";
        match decode_json(html) {
            Err(ErpError::InvalidResponse(m)) => {
                assert!(m.contains("HTML") && m.contains("Erro interno"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // HTML without the content type still is HTML.
        assert!(
            matches!(decode_json(b"  <html><body>Fatal error</body></html>"), Err(ErpError::InvalidResponse(m)) if m.contains("HTML"))
        );
        match decode_json(br#"{"registros":[{"id":"1","#) {
            Err(ErpError::InvalidResponse(m)) => assert!(m.contains("truncado"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(decode_json(b"   "), Err(ErpError::InvalidResponse(m)) if m.contains("vazia"))
        );
        assert!(
            matches!(decode_json(b"{nope}"), Err(ErpError::InvalidResponse(m)) if m.contains("malformado"))
        );
        assert_eq!(
            decode_json("\u{feff}{\"a\":1}".as_bytes()).unwrap(),
            json!({"a":1})
        );
    }

    #[test]
    fn money_in_every_erp_spelling() {
        assert_eq!(cents(&json!("29.90")), Some(2990));
        assert_eq!(cents(&json!("29,90")), Some(2990));
        assert_eq!(cents(&json!("1.234,56")), Some(123456));
        assert_eq!(cents(&json!(29.9)), Some(2990));
        assert_eq!(cents(&json!(99)), Some(9900));
        assert_eq!(cents(&json!("99.900")), Some(9990));
        assert_eq!(cents(&json!("")), None);
        assert_eq!(cents(&json!("abc")), None);
        assert_eq!(cents(&Value::Null), None);
    }

    #[test]
    fn dates_in_both_orders_with_or_without_time() {
        let d = Date::new(2026, 11, 21).unwrap();
        for s in [
            "2026-11-21",
            "2026-11-21 10:11:12",
            "2026-11-21T10:11:12-03:00",
            "21/11/2026",
            "21/11/2026 10:11",
        ] {
            assert_eq!(date_text(s), Some(d), "{s}");
        }
        assert_eq!(date_text("0000-00-00"), None);
        assert_eq!(date_text("31/02/2026"), None);
        assert_eq!(date_text("ontem"), None);
    }

    #[test]
    fn naive_times_are_sao_paulo_time() {
        let ts = timestamp_text("2026-11-21 10:00:00").unwrap();
        assert_eq!(ts.to_string(), "2026-11-21T13:00:00Z");
        assert_eq!(
            timestamp_text("21/11/2026").unwrap().to_string(),
            "2026-11-21T03:00:00Z"
        );
        assert_eq!(
            timestamp_text("2026-11-21T10:00:00Z").unwrap().to_string(),
            "2026-11-21T10:00:00Z"
        );
        assert_eq!(timestamp_text("nunca"), None);
    }

    #[test]
    fn flags_in_every_spelling() {
        for yes in [
            json!("S"),
            json!("sim"),
            json!(true),
            json!(1),
            json!("1"),
            json!("Online"),
        ] {
            assert_eq!(flag(&yes), Some(true), "{yes}");
        }
        for no in [
            json!("N"),
            json!("não"),
            json!(false),
            json!(0),
            json!("0"),
            json!("nao"),
        ] {
            assert_eq!(flag(&no), Some(false), "{no}");
        }
        assert_eq!(flag(&json!("talvez")), None);
    }

    #[test]
    fn phones_normalise_and_match_either_ninth_digit_form() {
        assert_eq!(phone("(11) 98765-4321").as_deref(), Some("11987654321"));
        assert_eq!(phone("(11) 8765-4321").as_deref(), Some("11987654321"));
        assert_eq!(phone("").as_deref(), None);
        let wanted = BrPhone::parse("11987654321").unwrap();
        assert!(phone_matches("(11) 8765-4321", &wanted));
        assert!(phone_matches("5511987654321", &wanted));
        assert!(!phone_matches("(11) 98765-4320", &wanted));
        assert_eq!(
            phone_search_forms(&wanted),
            vec!["11987654321", "1187654321"]
        );
        assert_eq!(
            phones_from([
                "(11) 98765-4321 / (11) 3265-4321".into(),
                "11987654321".into()
            ]),
            vec!["11987654321", "1132654321"]
        );
    }

    #[test]
    fn contract_status_words() {
        use ContractStatus::*;
        let cases = [
            ("Ativo", Active),
            ("servico_habilitado", Active),
            ("Inativo", Cancelled),
            ("Cancelado", Cancelled),
            ("Ativo V. Reduzida", ReducedSpeed),
            ("suspenso_parcialmente", ReducedSpeed),
            ("suspenso_pedido_cliente", SuspendedByRequest),
            ("Suspenso por débito", SuspendedDebt),
            ("suspenso_debito", SuspendedDebt),
            ("Bloqueado", SuspendedDebt),
            ("Bloqueio manual", SuspendedManual),
            ("Liberado por confiança", TrustUnlocked),
            ("aguardando_instalacao", PendingInstall),
            ("???", Other),
        ];
        for (text, expected) in cases {
            assert_eq!(contract_status_from_text(text), expected, "{text}");
        }
    }

    #[test]
    fn refusal_words() {
        use UnlockRefusal::*;
        assert_eq!(
            refusal_from_message("Liberação já utilizada neste mês"),
            AlreadyUsedUnpaid
        );
        assert_eq!(refusal_from_message("Contrato não encontrado"), NotFound);
        assert_eq!(
            refusal_from_message("Contrato não está bloqueado"),
            NotBlocked
        );
        assert_eq!(refusal_from_message("Contrato inativo"), ContractInactive);
        assert_eq!(
            refusal_from_message("Quantidade de dias maior que o máximo permitido"),
            ExceedsPolicy
        );
        assert_eq!(refusal_from_message("erro 42"), Unknown);
    }

    #[test]
    fn dates_inside_messages() {
        assert_eq!(
            date_in_message("Desbloqueio realizado até a data 24/11/2026."),
            Date::new(2026, 11, 24).ok()
        );
        assert_eq!(date_in_message("sem data"), None);
    }

    #[test]
    fn html_tags_are_stripped_from_messages() {
        assert_eq!(
            strip_tags("Erro:<br />contrato<b>106</b>"),
            "Erro: contrato 106"
        );
    }

    proptest! {
        #[test]
        fn both_date_orders_agree(y in 1990i16..2100, m in 1i8..=12, d in 1i8..=28) {
            let date = Date::new(y, m, d).unwrap();
            let iso = format!("{y:04}-{m:02}-{d:02}");
            let br = format!("{d:02}/{m:02}/{y:04}");
            prop_assert_eq!(date_text(&iso), Some(date));
            prop_assert_eq!(date_text(&br), Some(date));
        }

        #[test]
        fn cents_string_and_number_agree(c in 0i64..10_000_000) {
            let text = format!("{}.{:02}", c / 100, c % 100);
            prop_assert_eq!(cents(&json!(text)), Some(c));
            let comma = format!("{},{:02}", c / 100, c % 100);
            prop_assert_eq!(cents(&json!(comma)), Some(c));
        }

        #[test]
        fn date_text_never_panics(s in ".{0,30}") {
            let _ = date_text(&s);
            let _ = timestamp_text(&s);
            let _ = date_in_message(&s);
        }
    }
}
