//! JSON bytes as WhatsApp writes them: compact, with every non-ASCII character escaped as
//! `\uXXXX` (a surrogate pair above the Basic Multilingual Plane). The simulator signs bodies in
//! this form so a receiver that re-serialises before checking the signature fails its tests, as it
//! would fail against the real platform.

use serde_json::Value;
use std::fmt::Write;

/// Compact JSON of `value`, pure ASCII: `"João"` becomes `"Jo\u00e3o"`, `"👍"` becomes
/// `"\ud83d\udc4d"`. Hex digits are lower-case, as WhatsApp sends them.
pub fn to_ascii_json(value: &Value) -> String {
    // Non-ASCII characters can only occur inside JSON strings (keys or values), where a `\u`
    // escape means the same character, so escaping them after serialisation is exact.
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len() + compact.len() / 8);
    for c in compact.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn escapes_like_whatsapp() {
        let v = json!({"name": "João", "emoji": "👍", "plain": "a\"b\\c\n", "n": 1});
        assert_eq!(
            to_ascii_json(&v),
            r#"{"emoji":"\ud83d\udc4d","n":1,"name":"Jo\u00e3o","plain":"a\"b\\c\n"}"#
        );
        assert_eq!(
            to_ascii_json(&json!({"ação": ["ç"]})),
            r#"{"a\u00e7\u00e3o":["\u00e7"]}"#
        );
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            // Dyadic fractions: exact in binary, so the comparison does not depend on float
            // parsing being correctly rounded.
            (-4_000_000i64..4_000_000).prop_map(|n| Value::from(n as f64 / 1024.0)),
            "\\PC{0,12}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parses_back_to_the_same_value_and_is_ascii(v in arb_json()) {
            let text = to_ascii_json(&v);
            prop_assert!(text.is_ascii());
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
