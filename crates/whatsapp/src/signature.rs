//! Webhook authenticity: the `X-Hub-Signature-256` HMAC over the raw body and the GET verification
//! handshake. Both compare in constant time so a caller cannot learn the secret byte by byte.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The header WhatsApp signs its webhook deliveries with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";

/// Why a delivery's signature was refused. Each case is logged differently: a missing header is
/// usually a misconfigured proxy, a mismatch a wrong app secret or a forged request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("cabeçalho X-Hub-Signature-256 ausente")]
    MissingHeader,
    #[error(
        "cabeçalho X-Hub-Signature-256 mal formado (esperado sha256=<64 dígitos hexadecimais>)"
    )]
    BadFormat,
    #[error("assinatura do webhook não confere")]
    Mismatch,
}

fn mac_of(app_secret: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The full header value (`sha256=<lowercase hex>`) WhatsApp would send for `body`.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!("{PREFIX}{}", hex::encode(mac_of(app_secret, body)))
}

/// Checks `header` (the value of `X-Hub-Signature-256`) against the HMAC-SHA256 of the raw body
/// bytes exactly as received. Never pass re-serialised JSON: WhatsApp escapes non-ASCII as `\uXXXX`
/// and any other serialisation changes the bytes. Upper-case hex digits are accepted too.
pub fn verify(
    app_secret: &[u8],
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?.trim();
    let hex_part = header
        .get(..PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
        .map(|_| &header[PREFIX.len()..])
        .ok_or(SignatureError::BadFormat)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::BadFormat);
    }
    let mut received = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut received).map_err(|_| SignatureError::BadFormat)?;
    let expected = mac_of(app_secret, raw_body);
    if bool::from(expected.ct_eq(&received)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The GET verification handshake: `hub.mode`, `hub.verify_token`, `hub.challenge` as received
/// (pass `""` for a missing parameter). Returns the challenge to echo (answer 200 with it as the
/// plain body) or `None` (answer 403). The challenge is opaque and returned untouched. An empty
/// configured token never matches, so a missing configuration cannot be satisfied by an empty
/// query parameter.
pub fn verify_handshake(
    mode: &str,
    verify_token: &str,
    challenge: &str,
    expected_token: &str,
) -> Option<String> {
    if mode != "subscribe" || expected_token.is_empty() {
        return None;
    }
    // Hashing both sides first makes the comparison constant-time in the length too.
    let matches: bool = Sha256::digest(verify_token.as_bytes())
        .ct_eq(&Sha256::digest(expected_token.as_bytes()))
        .into();
    matches.then(|| challenge.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Independently computed with `openssl dgst -sha256 -hmac`.
    const KNOWN_BODY: &[u8] = br#"{"object":"whatsapp_business_account","name":"Jo\u00e3o"}"#;
    const KNOWN_SECRET: &[u8] = b"segredo-do-app";

    #[test]
    fn sign_matches_an_independent_hmac() {
        assert_eq!(
            sign(KNOWN_SECRET, KNOWN_BODY),
            "sha256=5db1049e2973f048a6bf2bb08987679877ee1a049292ec12fc6d960792f317d7"
        );
    }

    #[test]
    fn verify_accepts_own_signature_in_both_cases() {
        let header = sign(KNOWN_SECRET, KNOWN_BODY);
        assert_eq!(verify(KNOWN_SECRET, KNOWN_BODY, Some(&header)), Ok(()));
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify(KNOWN_SECRET, KNOWN_BODY, Some(&upper)), Ok(()));
        assert_eq!(
            verify(KNOWN_SECRET, KNOWN_BODY, Some(&format!(" {header} "))),
            Ok(())
        );
    }

    #[test]
    fn verify_distinguishes_the_failures() {
        let header = sign(KNOWN_SECRET, KNOWN_BODY);
        assert_eq!(
            verify(KNOWN_SECRET, KNOWN_BODY, None),
            Err(SignatureError::MissingHeader)
        );
        for bad in [
            "",
            "sha256=",
            "sha1=abcd",
            &header["sha256=".len()..],
            &header[..header.len() - 1],
            &format!("{header}0"),
            &format!("sha256={}", "zz".repeat(32)),
            "sha256=é",
        ] {
            assert_eq!(
                verify(KNOWN_SECRET, KNOWN_BODY, Some(bad)),
                Err(SignatureError::BadFormat),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify(b"outro-segredo", KNOWN_BODY, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        // The same JSON re-serialised with the raw character is different bytes: refused.
        let reserialised = r#"{"object":"whatsapp_business_account","name":"João"}"#;
        assert_eq!(
            verify(KNOWN_SECRET, reserialised.as_bytes(), Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn handshake_echoes_the_challenge_only_on_a_match() {
        let ok = verify_handshake("subscribe", "tok", "1158201444", "tok");
        assert_eq!(ok.as_deref(), Some("1158201444"));
        let opaque = verify_handshake("subscribe", "tok", "a b/ç?", "tok");
        assert_eq!(opaque.as_deref(), Some("a b/ç?"));
        assert_eq!(verify_handshake("subscribe", "tok2", "1", "tok"), None);
        assert_eq!(verify_handshake("subscribe", "to", "1", "tok"), None);
        assert_eq!(verify_handshake("subscribe", "", "1", "tok"), None);
        assert_eq!(verify_handshake("unsubscribe", "tok", "1", "tok"), None);
        assert_eq!(verify_handshake("", "tok", "1", "tok"), None);
        // Nothing configured: nothing matches, not even an empty token.
        assert_eq!(verify_handshake("subscribe", "", "1", ""), None);
    }

    proptest! {
        #[test]
        fn any_body_verifies_with_its_signature_and_not_when_altered(
            secret in proptest::collection::vec(any::<u8>(), 0..80),
            body in proptest::collection::vec(any::<u8>(), 0..400),
            flip in any::<proptest::sample::Index>(),
        ) {
            let header = sign(&secret, &body);
            prop_assert_eq!(verify(&secret, &body, Some(&header)), Ok(()));
            if !body.is_empty() {
                let mut altered = body.clone();
                let i = flip.index(altered.len());
                altered[i] ^= 0x01;
                prop_assert_eq!(verify(&secret, &altered, Some(&header)), Err(SignatureError::Mismatch));
            }
        }

        #[test]
        fn verify_never_panics_on_any_header(header in "\\PC{0,80}") {
            let _ = verify(b"s", b"{}", Some(&header));
        }
    }
}
