//! How Meta puts bytes on the wire: JSON with every non-ASCII character and every `/` escaped,
//! signed with HMAC-SHA256 over exactly those bytes; plus the look of Meta's ids.

use hmac::{Hmac, Mac};
use rand::Rng;
use serde_json::Value;
use sha2::Sha256;
use std::fmt::Write as _;

/// Serialises like Meta's webhook sender: `"Jo\u00e3o"`, `"https:\/\/…"`, surrogate pairs above the
/// BMP. Re-serialising the parsed value gives different bytes, which is the point: an app that
/// checks the signature over anything but the raw body fails.
pub fn to_meta_json(value: &Value) -> String {
    escape_json_text(&value.to_string())
}

/// Escapes non-ASCII and `/` in already valid JSON text. Outside strings JSON is pure ASCII without
/// `/`, so escaping character by character only ever touches string contents.
pub fn escape_json_text(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 8);
    for ch in json.chars() {
        if ch == '/' {
            out.push_str("\\/");
        } else if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// `sha256=<lowercase hex>` as in `X-Hub-Signature-256`.
pub fn signature_header(app_secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `wamid.` id shaped like Meta's: base64 of a small binary record naming the recipient and a
/// random message key (so ids may contain `+`, `/` and `=`).
pub fn new_wamid(wa_id: &str) -> String {
    let mut rng = rand::rng();
    let key: String = (0..20)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.random_range(0..16)]))
        .collect();
    let mut record = vec![0x1c, 0x18, wa_id.len() as u8];
    record.extend_from_slice(wa_id.as_bytes());
    record.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, key.len() as u8]);
    record.extend_from_slice(key.as_bytes());
    record.push(0x00);
    format!("wamid.{}", base64(&record))
}

/// Numeric object ids like Graph media ids.
pub fn new_numeric_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{}",
        rng.random_range(1_000_000_000_000_000u64..9_999_999_999_999_999)
    )
}

/// Random URL-safe token (fbtrace ids, download hashes).
pub fn new_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn escapes_like_meta() {
        let value = json!({"name": "João", "emoji": "👍", "url": "https://a/b"});
        let text = to_meta_json(&value);
        assert!(text.contains(r#""Jo\u00e3o""#), "{text}");
        assert!(text.contains(r#""\ud83d\udc4d""#), "{text}");
        assert!(text.contains(r#""https:\/\/a\/b""#), "{text}");
        assert!(text.is_ascii());
    }

    #[test]
    fn signs_with_lowercase_hex() {
        // RFC 4231 test case 2.
        let header = signature_header("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            header,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn wamids_are_unique_and_prefixed() {
        let a = new_wamid("5511987650001");
        let b = new_wamid("5511987650001");
        assert!(a.starts_with("wamid.HBg"), "{a}");
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn escaped_json_is_ascii_and_parses_back(text in any::<String>(), key in "\\PC{0,8}") {
            let value = json!({ key: text, "n": 1 });
            let escaped = to_meta_json(&value);
            prop_assert!(escaped.is_ascii());
            let parsed: Value = serde_json::from_str(&escaped).unwrap();
            prop_assert_eq!(parsed, value);
        }
    }
}
