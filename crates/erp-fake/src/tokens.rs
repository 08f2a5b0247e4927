//! Tokens the fakes hand out: opaque bearer tokens (Hubsoft OAuth, Voalle client credentials)
//! and MK-Auth's short-lived HS256 JWT. Expiry uses the real clock; the fault knob
//! `expire_tokens` bumps an epoch that invalidates everything issued before.

use crate::FakeSystem;
use crate::codec::{base64url_decode, base64url_encode};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

struct Issued {
    kind: TokenKind,
    epoch: u64,
    expires_at: Timestamp,
}

pub(crate) struct TokenStore {
    system: FakeSystem,
    issued: HashMap<String, Issued>,
    counter: u64,
    jwt_key: [u8; 32],
}

impl TokenStore {
    pub(crate) fn new(system: FakeSystem) -> Self {
        let key = Sha256::digest(format!("balcao-erp-fake/{system}/jwt").as_bytes());
        TokenStore {
            system,
            issued: HashMap::new(),
            counter: 0,
            jwt_key: key.into(),
        }
    }

    /// A new opaque token valid for `ttl_seconds`.
    pub(crate) fn issue(
        &mut self,
        kind: TokenKind,
        epoch: u64,
        ttl_seconds: i64,
        now: Timestamp,
    ) -> String {
        self.counter += 1;
        let digest = Sha256::digest(
            format!(
                "{}/{:?}/{}/{}",
                self.system,
                kind,
                self.counter,
                now.as_nanosecond()
            )
            .as_bytes(),
        );
        let token = hex::encode(digest);
        self.issued.insert(
            token.clone(),
            Issued {
                kind,
                epoch,
                expires_at: now + jiff::SignedDuration::from_secs(ttl_seconds),
            },
        );
        token
    }

    pub(crate) fn check(
        &self,
        token: &str,
        kind: TokenKind,
        epoch: u64,
        now: Timestamp,
    ) -> TokenCheck {
        match self.issued.get(token) {
            Some(t) if t.kind != kind => TokenCheck::Unknown,
            // Refresh tokens outlive `expire_tokens`: that is how a client recovers cheaply.
            Some(t) if t.kind == TokenKind::Access && t.epoch != epoch => TokenCheck::Expired,
            Some(t) if t.expires_at <= now => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
            None => TokenCheck::Unknown,
        }
    }

    pub(crate) fn revoke(&mut self, token: &str) {
        self.issued.remove(token);
    }

    fn sign(&self, message: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.jwt_key).expect("HMAC takes any key");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// An HS256 JWT for `subject` expiring in `ttl_seconds`.
    pub(crate) fn jwt(
        &mut self,
        subject: &str,
        epoch: u64,
        ttl_seconds: i64,
        now: Timestamp,
    ) -> String {
        self.counter += 1;
        let header = base64url_encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let claims = serde_json::json!({
            "iss": "mk-auth",
            "sub": subject,
            "iat": now.as_second(),
            "exp": now.as_second() + ttl_seconds,
            "jti": self.counter,
            "ep": epoch,
        });
        let payload = base64url_encode(claims.to_string().as_bytes());
        let signing_input = format!("{header}.{payload}");
        let signature = base64url_encode(&self.sign(&signing_input));
        format!("{signing_input}.{signature}")
    }

    pub(crate) fn check_jwt(&self, token: &str, epoch: u64, now: Timestamp) -> TokenCheck {
        let mut parts = token.trim().rsplitn(2, '.');
        let (Some(signature), Some(signing_input)) = (parts.next(), parts.next()) else {
            return TokenCheck::Unknown;
        };
        let Some(signature) = base64url_decode(signature) else {
            return TokenCheck::Unknown;
        };
        let mut mac = HmacSha256::new_from_slice(&self.jwt_key).expect("HMAC takes any key");
        mac.update(signing_input.as_bytes());
        if mac.verify_slice(&signature).is_err() {
            return TokenCheck::Unknown;
        }
        let claims = signing_input
            .split('.')
            .nth(1)
            .and_then(base64url_decode)
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        let Some(claims) = claims else {
            return TokenCheck::Unknown;
        };
        let exp = claims["exp"].as_i64().unwrap_or(0);
        let token_epoch = claims["ep"].as_u64().unwrap_or(u64::MAX);
        if exp <= now.as_second() || token_epoch != epoch {
            TokenCheck::Expired
        } else {
            TokenCheck::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn opaque_tokens_expire_by_time_and_epoch() {
        let mut store = TokenStore::new(FakeSystem::Hubsoft);
        let token = store.issue(TokenKind::Access, 0, 60, at(1_000));
        assert_eq!(
            store.check(&token, TokenKind::Access, 0, at(1_059)),
            TokenCheck::Valid
        );
        assert_eq!(
            store.check(&token, TokenKind::Refresh, 0, at(1_059)),
            TokenCheck::Unknown
        );
        assert_eq!(
            store.check(&token, TokenKind::Access, 0, at(1_060)),
            TokenCheck::Expired
        );
        assert_eq!(
            store.check(&token, TokenKind::Access, 1, at(1_001)),
            TokenCheck::Expired
        );
        assert_eq!(
            store.check("nope", TokenKind::Access, 0, at(1_001)),
            TokenCheck::Unknown
        );
        store.revoke(&token);
        assert_eq!(
            store.check(&token, TokenKind::Access, 0, at(1_001)),
            TokenCheck::Unknown
        );
    }

    #[test]
    fn jwt_is_signed_and_expires() {
        let mut store = TokenStore::new(FakeSystem::MkAuth);
        let jwt = store.jwt("client", 0, 600, at(5_000));
        assert_eq!(jwt.split('.').count(), 3);
        assert_eq!(store.check_jwt(&jwt, 0, at(5_599)), TokenCheck::Valid);
        assert_eq!(store.check_jwt(&jwt, 0, at(5_600)), TokenCheck::Expired);
        assert_eq!(store.check_jwt(&jwt, 1, at(5_001)), TokenCheck::Expired);
        let dot = jwt.rfind('.').unwrap();
        let first = &jwt[dot + 1..dot + 2];
        let swapped = if first == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &jwt[..=dot], &jwt[dot + 2..]);
        assert_eq!(store.check_jwt(&forged, 0, at(5_001)), TokenCheck::Unknown);
        let other = TokenStore::new(FakeSystem::Sgp);
        assert_eq!(other.check_jwt(&jwt, 0, at(5_001)), TokenCheck::Unknown);
    }
}
