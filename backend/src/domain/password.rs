//! Password rules beyond shape: the bundled common-password list.

use std::collections::HashSet;

use proofup_shared::validation::validate_password_shape;

/// 42k common passwords (lower-cased, 6+ characters) from the zxcvbn-ts common list (MIT).
const COMMON: &str = include_str!("../../data/common-passwords.txt");

pub struct PasswordRules {
    common: HashSet<&'static str>,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self { common: COMMON.lines().filter(|l| !l.is_empty()).collect() }
    }
}

impl PasswordRules {
    /// Checks a new password. `Err` carries a message for the person choosing it.
    pub fn check(&self, password: &str, username: &str) -> Result<(), String> {
        validate_password_shape(password, username)?;
        let lower = password.to_lowercase();
        if self.common.contains(lower.as_str()) {
            return Err("This password is on a list of commonly used passwords. Choose another.".into());
        }
        // "password1234567!" is a common word with padding: strip digits and symbols at both ends.
        let core = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ');
        if core.chars().count() >= 4 && self.common.contains(core) {
            return Err("This password is a common password with digits or symbols added. Choose another.".into());
        }
        if core.is_empty() || is_repetition(&lower) {
            return Err("This password is too predictable (a repeated pattern or only digits and symbols).".into());
        }
        Ok(())
    }
}

/// True when the text is one short unit (up to 4 characters) repeated: "aaaa…", "abcabc…".
fn is_repetition(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    (1..=4).any(|unit| {
        chars.len() >= unit * 2 && chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|c| c == &chars[..unit])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_padded_common_passwords_are_refused() {
        let r = PasswordRules::default();
        assert!(r.check("123456789987654321", "bob").is_err());
        assert!(r.check("1qaz2wsx3edc4rfv", "bob").is_err());
        assert!(r.check("Password12345678", "bob").is_err());
        assert!(r.check("!!qwerty123456789", "bob").is_err());
        assert!(r.check("aaaaaaaaaaaaaaaaaa", "bob").is_err());
        assert!(r.check("abcabcabcabcabcabc", "bob").is_err());
        assert!(r.check("1234567890123456", "bob").is_err());
    }

    #[test]
    fn ordinary_long_passwords_are_fine() {
        let r = PasswordRules::default();
        assert!(r.check("aaaaaaaaaaaaaaaa-not-in-list", "bob").is_ok());
        assert!(r.check("correct horse battery staple", "bob").is_ok());
        assert!(r.check("violet-otter-lamp-42", "bob").is_ok());
    }

    #[test]
    fn list_is_loaded() {
        assert!(PasswordRules::default().common.len() > 40_000);
    }
}
