//! Recovery codes: 10 single-use codes of 80 random bits each, shown once,
//! stored as SHA-256 hashes; a backup for a method, never a method by itself.

use super::{Caller, Core};
use proofup_shared::mfa::{RecoveryCodes, RecoveryStatus, RECOVERY_CODE_COUNT};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::ServiceError;
use super::{audit, change};
use crate::domain::model::{ClientInfo, RecoveryCodeSet, User};

/// Crockford's base32: no i, l, o, u; typed codes are forgiving about them.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// 16 characters × 5 bits = 80 bits.
const CODE_CHARS: usize = 16;

fn new_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let chars: String = (0..CODE_CHARS).map(|i| ALPHABET[((bits >> (5 * i)) & 31) as usize] as char).collect();
    format!("{}-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12], &chars[12..16])
}

/// What the user typed, as stored: no spaces or dashes, lower case, Crockford's look-alikes mapped.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in input.chars() {
        match c.to_ascii_lowercase() {
            ' ' | '-' | '\t' => {}
            'o' => out.push('0'),
            'i' | 'l' => out.push('1'),
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => out.push(c),
            _ => return None,
        }
        if out.len() > CODE_CHARS {
            return None;
        }
    }
    (out.len() == CODE_CHARS).then_some(out)
}

fn hash(user_id: &str, normalized: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"proofup recovery code\0");
    h.update(user_id.as_bytes());
    h.update([0]);
    h.update(normalized.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Core {
    pub fn recovery_status(&self, user: &User) -> Result<RecoveryStatus, ServiceError> {
        let s = self.store.as_ref();
        Ok(match s.recovery_codes(&user.id)? {
            Some(set) => RecoveryStatus { remaining: set.remaining(), created_at: Some(set.created_at) },
            None => RecoveryStatus { remaining: 0, created_at: None },
        })
    }

    /// Makes 10 new codes (the old ones stop working). Needs a method and a recent second factor.
    pub fn generate_recovery_codes(&self, caller: &Caller) -> Result<RecoveryCodes, ServiceError> {
        let (user, client) = (&caller.user, &caller.client);
        let progress = crate::domain::login::Progress::Complete(caller.session.clone());
        let s = self.store.as_ref();
        let now = self.clock.now();
        if s.methods(&user.id)?.is_empty() {
            return Err(ServiceError::Conflict(
                "Recovery codes back up a sign-in method. Add an authenticator app or a passkey first.".into(),
            ));
        }
        self.check_binding(user, &progress, now)?;
        let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| new_code()).collect();
        let set = RecoveryCodeSet {
            hashes: codes.iter().map(|c| normalize(c).map(|n| hash(&user.id, &n))).collect(),
            created_at: now,
        };
        let before = s.recovery_codes(&user.id)?.map(|r| r.remaining().to_string());
        let entry = audit(
            now,
            Some(user),
            "mfa.recovery_codes_generated",
            Some(user),
            vec![change("recovery codes left", before.as_deref(), Some(&RECOVERY_CODE_COUNT.to_string()))],
            client,
        );
        s.set_recovery_codes(&user.id, &set, entry)?;
        Ok(RecoveryCodes { codes, created_at: now })
    }

    /// Uses one code (single use, in the account throttle). Returns how many are left.
    pub(crate) fn redeem_recovery_code(
        &self,
        user: &User,
        client: &ClientInfo,
        code: &str,
    ) -> Result<u32, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        // Reserved (counted as a failure) before the check; a right code clears it.
        self.reserve_attempt(user, now)?;
        let wrong = || ServiceError::InvalidCode("That recovery code is not right, or it was already used.".into());
        let Some(n) = normalize(code) else {
            return Err(wrong());
        };
        if s.methods(&user.id)?.is_empty() {
            return Err(wrong());
        }
        let entry = audit(now, Some(user), "mfa.recovery_code_used", Some(user), Vec::new(), client);
        match s.use_recovery_code(&user.id, &hash(&user.id, &n), entry)? {
            Some(left) => {
                self.attempt_succeeded(user)?;
                Ok(left)
            }
            None => Err(wrong()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_80_bits_and_normalize() {
        let c = new_code();
        assert_eq!(c.len(), 19);
        let n = normalize(&c).expect("own codes normalize");
        assert_eq!(n.len(), 16);
        assert_eq!(normalize(&c.to_uppercase().replace('-', " ")), Some(n.clone()));
        assert_eq!(normalize("oooo-iiii-llll-0000"), Some("0000111111110000".into()));
        assert_eq!(normalize("abc"), None);
        assert_eq!(normalize("abcd-efgh-jkmn-pqrs-t"), None);
        assert_eq!(normalize("abcd-efgh-jkmn-pqr€"), None);
        assert_ne!(new_code(), new_code());
        assert_ne!(hash("a", &n), hash("b", &n), "the hash is bound to the user");
    }
}
