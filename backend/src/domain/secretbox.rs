//! Authenticated encryption of secrets at rest (TOTP seeds). The key lives
//! outside the store: a 0600 key file in the data directory, created on first
//! run, or a file named by `PROOFUP_SECRET_KEY_FILE`.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// HMAC-SHA256 of [`KEY_CHECK_LABEL`] under the key: stored with the sealed data, so a node
    /// (or an embedded store) opened with another key is refused at start. It reveals nothing of
    /// the key.
    check: [u8; 32],
}

/// What the key check is a MAC of.
const KEY_CHECK_LABEL: &[u8] = b"proofup secret-key check v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BoxError {
    #[error("the secret could not be decrypted (wrong key or damaged record)")]
    Open,
    #[error("the secret could not be encrypted")]
    Seal,
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        use hmac::Mac as _;
        let check = match <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(KEY_CHECK_LABEL);
                mac.finalize().into_bytes().into()
            }
            // HMAC takes a key of any length: never reached.
            Err(_) => [0u8; 32],
        };
        Self { cipher: XChaCha20Poly1305::new(key.into()), check }
    }

    /// The key check, as stored (`v1:` and 64 hex digits).
    pub fn key_check(&self) -> String {
        let hex: String = self.check.iter().map(|b| format!("{b:02x}")).collect();
        format!("v1:{hex}")
    }

    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self::new(&k)
    }

    /// Encrypts `plain`, binding it to `context` (e.g. user id and method id): base64(nonce ‖ ciphertext).
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, BoxError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() })
            .map_err(|_| BoxError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, BoxError> {
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(sealed).map_err(|_| BoxError::Open)?;
        if raw.len() < 24 + 16 {
            return Err(BoxError::Open);
        }
        let (nonce, ct) = raw.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| BoxError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_wrong_key_and_wrong_context() {
        let a = SecretBox::new(&[7u8; 32]);
        let sealed = a.seal(b"seed-bytes", "u1/m1").unwrap();
        assert_eq!(a.open(&sealed, "u1/m1").unwrap(), b"seed-bytes");
        assert_eq!(a.open(&sealed, "u2/m1"), Err(BoxError::Open), "bound to its owner");
        assert_eq!(SecretBox::new(&[8u8; 32]).open(&sealed, "u1/m1"), Err(BoxError::Open));
        // The key check tells keys apart, is stable for one key, and is not the key.
        assert_eq!(a.key_check(), SecretBox::new(&[7u8; 32]).key_check());
        assert_ne!(a.key_check(), SecretBox::new(&[8u8; 32]).key_check());
        assert!(a.key_check().starts_with("v1:") && a.key_check().len() == 67);
        assert!(!a.key_check().contains(&"07".repeat(32)));
        assert_ne!(a.seal(b"seed-bytes", "u1/m1").unwrap(), sealed, "fresh nonce each time");
        assert_eq!(a.open("not base64!", "u1/m1"), Err(BoxError::Open));
    }
}
