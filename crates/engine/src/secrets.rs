//! Credentials at rest (management-system passwords and tokens): sealed with ChaCha20-Poly1305
//! under the installation's master key, with a random nonce per value and the workspace id as
//! associated data, so a sealed value copied to another workspace does not open. The master key
//! comes from the configuration (`secret_key`, 64 hex digits; every node of a cluster needs the
//! same) or, on a single machine, from `secret.key` in the data folder, created on first start.
//! Secrets never appear in logs: [`Secret`] prints as `***`.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::path::Path;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("chave mestra inválida: use 64 dígitos hexadecimais")]
    BadKey,
    #[error("credencial cifrada corrompida ou de outra chave mestra")]
    CannotOpen,
    #[error("não foi possível ler ou criar a chave mestra: {0}")]
    KeyFile(String),
}

/// A string that must not be logged.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

pub struct MasterKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn from_hex(hex_key: &str) -> Result<Self, SecretError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| SecretError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| SecretError::BadKey)?;
        Ok(MasterKey {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// Reads `secret.key` from `dir`, creating it (mode 0600) with a random key when missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, SecretError> {
        let path = dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| SecretError::KeyFile("sem fonte de aleatoriedade".into()))?;
                let text = hex::encode(bytes);
                std::fs::create_dir_all(dir).map_err(|e| SecretError::KeyFile(e.to_string()))?;
                write_private(&path, &text).map_err(|e| SecretError::KeyFile(e.to_string()))?;
                Self::from_hex(&text)
            }
            Err(e) => Err(SecretError::KeyFile(format!("{}: {e}", path.display()))),
        }
    }

    /// `nonce || ciphertext || tag`, hex encoded (fits a TEXT column on both databases).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).expect("system random");
        let mut data = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut data,
            )
            .expect("sealing never fails for in-memory sizes");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        hex::encode(out)
    }

    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, SecretError> {
        let bytes = hex::decode(sealed).map_err(|_| SecretError::CannotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretError::CannotOpen);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::CannotOpen)?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut data)
            .map_err(|_| SecretError::CannotOpen)?;
        Ok(plain.to_vec())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn seals_and_opens_with_the_same_context_only() {
        let key = MasterKey::from_hex(KEY).unwrap();
        let sealed = key.seal(b"token=abc;app=Balcao", b"workspace:1");
        assert!(
            !sealed.contains(&hex::encode(b"token=abc")),
            "plaintext not visible"
        );
        assert_eq!(
            key.open(&sealed, b"workspace:1").unwrap(),
            b"token=abc;app=Balcao"
        );
        assert_eq!(
            key.open(&sealed, b"workspace:2"),
            Err(SecretError::CannotOpen)
        );
        let other = MasterKey::from_hex(&KEY.replace("00", "ff")).unwrap();
        assert_eq!(
            other.open(&sealed, b"workspace:1"),
            Err(SecretError::CannotOpen)
        );
        assert_ne!(
            key.seal(b"x", b"c"),
            key.seal(b"x", b"c"),
            "random nonce per value"
        );
    }

    #[test]
    fn tampering_and_bad_keys_are_refused() {
        let key = MasterKey::from_hex(KEY).unwrap();
        let mut sealed = key.seal(b"segredo", b"c").into_bytes();
        let last = sealed.len() - 1;
        sealed[last] = if sealed[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            key.open(std::str::from_utf8(&sealed).unwrap(), b"c"),
            Err(SecretError::CannotOpen)
        );
        assert_eq!(key.open("zz", b"c"), Err(SecretError::CannotOpen));
        assert_eq!(
            MasterKey::from_hex("abcd").unwrap_err(),
            SecretError::BadKey
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("senha-super-secreta");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "senha-super-secreta");
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("balcao-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = MasterKey::load_or_create(&dir).unwrap();
        let sealed = a.seal(b"x", b"c");
        let b = MasterKey::load_or_create(&dir).unwrap();
        assert_eq!(b.open(&sealed, b"c").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
