//! The keys that sign ID tokens: RS256 (every relying party can check it) and ES256, each with
//! an active key and a next one already published; private parts sealed with the data
//! directory's secret key. Generated with aws-lc-rs (constant-time RSA), signed through
//! jsonwebtoken on the same backend.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use proofup_shared::apps::SigningKeyView;

use super::super::{audit, change, Core, Manager, ServiceError};
use crate::domain::oidc::{self, KeyAlg, KeyState, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a signing key")]
    Generate,
    #[error("a stored signing key could not be opened (wrong secret key file, or a damaged record)")]
    Open,
    #[error("could not sign a token")]
    Sign,
    #[error("{0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl From<KeyError> for ServiceError {
    fn from(e: KeyError) -> Self {
        ServiceError::Store(crate::store::StoreError::Backend(e.to_string()))
    }
}

fn seal_context(kid: &str) -> String {
    format!("signing-key/{kid}")
}

fn pem(pkcs8: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

/// The jsonwebtoken key of a PKCS#8 private key.
fn encoding_key(alg: KeyAlg, pkcs8: &[u8]) -> Result<EncodingKey, KeyError> {
    Ok(match alg {
        // jsonwebtoken's aws-lc backend wants PKCS#1 for RSA; its PEM reader unwraps PKCS#8.
        KeyAlg::RS256 => EncodingKey::from_rsa_pem(pem(pkcs8).as_bytes())?,
        KeyAlg::ES256 => EncodingKey::from_ec_der(pkcs8),
    })
}

fn jwt_alg(alg: KeyAlg) -> Algorithm {
    match alg {
        KeyAlg::RS256 => Algorithm::RS256,
        KeyAlg::ES256 => Algorithm::ES256,
    }
}

impl Core {
    /// A fresh key pair for `alg`, sealed, with its public JWK.
    fn generate_signing_key(&self, alg: KeyAlg) -> Result<SigningKey, KeyError> {
        use aws_lc_rs::encoding::AsDer as _;
        let pkcs8: Vec<u8> = match alg {
            KeyAlg::RS256 => {
                let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generate)?;
                kp.as_der().map_err(|_| KeyError::Generate)?.as_ref().to_vec()
            }
            KeyAlg::ES256 => {
                let kp = aws_lc_rs::signature::EcdsaKeyPair::generate(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                )
                .map_err(|_| KeyError::Generate)?;
                kp.to_pkcs8v1().map_err(|_| KeyError::Generate)?.as_ref().to_vec()
            }
        };
        let kid = super::super::new_token()[..22].to_owned();
        let mut jwk = Jwk::from_encoding_key(&encoding_key(alg, &pkcs8)?, jwt_alg(alg))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let public_jwk = serde_json::to_value(&jwk).map_err(|_| KeyError::Generate)?;
        let private_sealed = self.secrets.seal(&pkcs8, &seal_context(&kid)).map_err(|_| KeyError::Generate)?;
        Ok(SigningKey {
            kid,
            alg,
            state: KeyState::Next,
            private_sealed,
            public_jwk,
            created_at: self.clock.now(),
            activated_at: None,
            retired_at: None,
        })
    }
}

impl Core {
    /// The active key for `alg`, opened: (kid, key) for signing.
    pub fn active_signing_key(&self, alg: KeyAlg) -> Result<(String, EncodingKey), ServiceError> {
        let keys = self.store.signing_keys()?;
        let k = keys.iter().find(|k| k.alg == alg && k.state == KeyState::Active).ok_or_else(|| {
            ServiceError::Store(crate::store::StoreError::Backend(format!("no active {} key", alg.as_str())))
        })?;
        let pkcs8 = self.secrets.open(&k.private_sealed, &seal_context(&k.kid)).map_err(|_| KeyError::Open)?;
        Ok((k.kid.clone(), encoding_key(alg, &pkcs8)?))
    }
}

/// How long a node signs with the RS256 key it opened before it reads the key set again: another
/// node's rotation reaches this one within it. Safe because a rotated-out key stays published
/// (retired), so a token it signed in that window still verifies; a rotation on this node is seen
/// at once.
pub const SIGNER_RECHECK: time::Duration = time::Duration::seconds(1);

/// The active RS256 key, parsed once. aws-lc's RSA set-up (parsing the key, checking it,
/// preparing blinding) costs more than a signature, so signing reuses the parsed key; it is
/// dropped when this node rotates and replaced when the store's active key changes.
#[derive(Default)]
pub struct Signer {
    current: std::sync::RwLock<Option<(std::sync::Arc<OpenedKey>, time::OffsetDateTime)>>,
}

pub struct OpenedKey {
    pub kid: String,
    /// The JWS header (`alg`, `typ`, `kid`), base64url: the same for every token this key signs.
    header: String,
    pair: aws_lc_rs::signature::RsaKeyPair,
}

impl Signer {
    /// Forget the parsed key (this node rotated, or made the keys).
    pub fn forget(&self) {
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn key(&self, core: &Core) -> Result<std::sync::Arc<OpenedKey>, ServiceError> {
        let now = core.clock.now();
        if let Some((k, checked)) = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            if now - *checked < SIGNER_RECHECK && now >= *checked {
                return Ok(k.clone());
            }
        }
        let keys = core.store.signing_keys()?;
        let stored = keys
            .iter()
            .find(|k| k.alg == KeyAlg::RS256 && k.state == KeyState::Active)
            .ok_or_else(|| ServiceError::Store(crate::store::StoreError::Backend("no active RS256 key".into())))?;
        let mut current = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let opened = match current.as_ref() {
            Some((k, _)) if k.kid == stored.kid => k.clone(),
            _ => {
                let pkcs8 = core
                    .secrets
                    .open(&stored.private_sealed, &seal_context(&stored.kid))
                    .map_err(|_| KeyError::Open)?;
                let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| KeyError::Open)?;
                let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
                header.kid = Some(stored.kid.clone());
                let header = B64.encode(serde_json::to_vec(&header).map_err(|_| KeyError::Sign)?);
                std::sync::Arc::new(OpenedKey { kid: stored.kid.clone(), header, pair })
            }
        };
        *current = Some((opened.clone(), now));
        Ok(opened)
    }

    /// A compact JWS (RS256, `typ: JWT`, the active key's `kid`) over `claims`. Written here
    /// rather than through `jsonwebtoken::encode`, which takes only an unparsed key and so parses
    /// it again for every token; `tests/applications.rs` checks the result with jsonwebtoken and
    /// with the published JWK.
    pub fn sign<T: serde::Serialize>(&self, core: &Core, claims: &T) -> Result<String, ServiceError> {
        let key = self.key(core)?;
        let mut out = key.header.clone();
        out.push('.');
        out.push_str(&B64.encode(serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?));
        let mut sig = vec![0; key.pair.public_modulus_len()];
        key.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                out.as_bytes(),
                &mut sig,
            )
            .map_err(|_| KeyError::Sign)?;
        out.push('.');
        out.push_str(&B64.encode(sig));
        Ok(out)
    }
}

/// "RS256 <kid>, ES256 <kid>": the keys that sign now (for operators).
pub fn summary(keys: &[SigningKeyView]) -> String {
    let active: Vec<String> =
        keys.iter().filter(|k| k.state == "active").map(|k| format!("{} {}", k.alg, k.kid)).collect();
    active.join(", ")
}

impl Core {
    /// Signs `claims` as a JWS with the active RS256 key (an ID token), the key parsed once.
    pub fn sign_id_token<T: serde::Serialize>(&self, claims: &T) -> Result<String, ServiceError> {
        self.signer.sign(self, claims)
    }

    /// At start: makes every missing key (an active and a next one per algorithm). Two nodes
    /// starting together both try; the store takes one set and the other reads it back.
    pub fn ensure_signing_keys(&self) -> Result<(), ServiceError> {
        for _ in 0..3 {
            let before = self.store.signing_keys()?;
            let mut after = before.clone();
            let now = self.clock.now();
            for alg in [KeyAlg::RS256, KeyAlg::ES256] {
                for state in oidc::missing(&after, alg) {
                    oidc::add_key(&mut after, self.generate_signing_key(alg)?, state, now);
                }
            }
            if after == before {
                return Ok(());
            }
            match self.store.replace_signing_keys(&before, &after, None) {
                Ok(()) => {
                    self.signer.forget();
                    return Ok(());
                }
                Err(crate::store::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict("The signing keys kept changing while being created; try again.".into()))
    }

    /// The public keys relying parties verify with (`jwks_uri`).
    pub fn jwks(&self) -> Result<serde_json::Value, ServiceError> {
        let keys = self.store.signing_keys()?;
        Ok(serde_json::json!({ "keys": oidc::published(&keys) }))
    }

    pub fn signing_keys(&self) -> Result<Vec<SigningKeyView>, ServiceError> {
        Ok(self.store.signing_keys()?.iter().map(SigningKey::view).collect())
    }

    /// Rotates every algorithm's keys (next → active → retired), audited. Relying parties
    /// never meet an unknown `kid`: the new active key was published as next.
    /// Rotates the signing keys, by an administrator (`Some`) or at the server's own console
    /// (`None`: the CLI, on the host).
    pub fn rotate_signing_keys(&self, by: Option<&Manager<'_>>) -> Result<Vec<SigningKeyView>, ServiceError> {
        let before = self.store.signing_keys()?;
        let mut after = before.clone();
        let now = self.clock.now();
        for alg in [KeyAlg::RS256, KeyAlg::ES256] {
            oidc::rotate(&mut after, alg, self.generate_signing_key(alg)?, now);
        }
        let active: Vec<String> = after
            .iter()
            .filter(|k| k.state == KeyState::Active)
            .map(|k| format!("{} {}", k.alg.as_str(), k.kid))
            .collect();
        let system = crate::domain::model::ClientInfo::new("local".into(), "proofup keys rotate");
        let (user, client) = match by.map(Manager::actor) {
            Some(a) => (Some(a.user), a.client),
            None => (None, &system),
        };
        let mut entry = audit(
            now,
            user,
            "signing_keys.rotated",
            None,
            vec![change("active", None, Some(&active.join(", ")))],
            client,
        );
        entry.0.target = "signing keys".into();
        self.store.replace_signing_keys(&before, &after, Some(entry))?;
        self.signer.forget();
        Ok(after.iter().map(SigningKey::view).collect())
    }
}
