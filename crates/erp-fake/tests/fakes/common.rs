use balcao_domain::br::{DigitableLine, PixCode};
use balcao_erp_fake::{DataSet, FakeSystem, Faults, RunningFake, start};
use jiff::civil::Date;
use serde_json::Value;
use std::time::Duration;

pub fn today() -> Date {
    Date::new(2026, 11, 16).unwrap()
}

/// Small but past the showcase: every status, phone form and document kind is present.
pub fn dataset() -> DataSet {
    DataSet::generate(30, 11, today())
}

pub async fn fake(system: FakeSystem) -> (RunningFake, DataSet) {
    let data = dataset();
    let fake = start(
        system,
        data.clone(),
        Faults::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    (fake, data)
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn http_with_timeout(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// Percent-encodes everything but the unreserved characters.
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}) with status {status}: {text}"));
    (status, value)
}

/// A valid bank line, optionally with the expected amount.
pub fn assert_line(line: &str, amount_cents: Option<i64>) {
    let parsed = DigitableLine::parse(line).unwrap_or_else(|e| panic!("bad line {line}: {e}"));
    if let Some(cents) = amount_cents {
        assert_eq!(parsed.to_barcode().amount_cents(), Some(cents), "{line}");
    }
}

pub fn assert_pix(code: &str) {
    PixCode::parse(code).unwrap_or_else(|e| panic!("bad Pix code {code}: {e}"));
}

/// "5585999991234" → "85999991234".
pub fn national(phone: &str) -> String {
    phone[2..].to_owned()
}

/// The same number in the other 9th-digit form (national digits).
pub fn other_form(phone: &str) -> String {
    let n = national(phone);
    if n.len() == 11 {
        format!("{}{}", &n[..2], &n[3..])
    } else {
        format!("{}9{}", &n[..2], &n[2..])
    }
}

/// Fetches a PDF link and checks it is one.
pub async fn assert_pdf(url: &str) {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    assert!(response.bytes().await.unwrap().starts_with(b"%PDF"));
}

/// Yesterday-ish instant for `mark_paid`, inside the business day.
pub fn paid_moment() -> jiff::Timestamp {
    "2026-11-16T13:30:00Z".parse().unwrap()
}

/// Whether `value` is the number `n` written as a string (the way IXC, MK-Auth and RadiusNet
/// send ids).
pub fn is_text_of(value: &Value, n: u64) -> bool {
    value.as_str().and_then(|s| s.parse::<u64>().ok()) == Some(n)
}
