//! Input rules that the browser and the server both apply.
//!
//! The server is the authority (it also checks the bundled common-password
//! list, which is too large for the wasm bundle); the browser uses these to
//! explain a problem before the round trip.

use crate::error::FieldError;

pub const USERNAME_MIN: usize = 2;
pub const USERNAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 128;
/// NIST SP 800-63B rev 4: 15 characters when the password may be the only factor.
pub const PASSWORD_MIN: usize = 15;
pub const PASSWORD_MAX: usize = 128;

/// Usernames are stored and compared in lower case.
pub fn normalize_username(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Letters, digits and `. _ - @`; must start with a letter or digit.
pub fn validate_username(raw: &str) -> Result<String, String> {
    let name = normalize_username(raw);
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(format!("Use {USERNAME_MIN} to {USERNAME_MAX} characters."));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) {
        return Err("Use only letters, digits and . _ - @".into());
    }
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err("Start with a letter or a digit.".into());
    }
    Ok(name)
}

pub fn validate_display_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a display name.".into());
    }
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(format!("Use at most {DISPLAY_NAME_MAX} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("Control characters are not allowed.".into());
    }
    Ok(name.to_owned())
}

pub const EMAIL_MAX: usize = 254;

/// A plausible address: one `@`, something on each side, a dot in the domain, no spaces.
pub fn validate_email(raw: &str) -> Result<Option<String>, String> {
    let e = raw.trim();
    if e.is_empty() {
        return Ok(None);
    }
    let ok = e.len() <= EMAIL_MAX
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.') && !d.contains('@'));
    if ok {
        Ok(Some(e.to_owned()))
    } else {
        Err("Enter an email address like name@example.org, or leave it empty.".into())
    }
}

/// Length (in Unicode code points, exactly as typed) and "not your username".
/// No composition rules, by design (NIST SP 800-63B 3.1.1.2).
pub fn validate_password_shape(password: &str, username: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        return Err(format!("Use at least {PASSWORD_MIN} characters ({len} so far). A few unrelated words make a strong, memorable password."));
    }
    if len > PASSWORD_MAX {
        return Err(format!("Use at most {PASSWORD_MAX} characters."));
    }
    if !username.is_empty() && password.to_lowercase() == normalize_username(username) {
        return Err("Your password cannot be your username.".into());
    }
    Ok(())
}

/// Collects field errors for a form.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn check<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(FieldError { field: field.into(), message });
                None
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A time as the portal and the audit log show it: `2026-11-28 14:05:09 UTC`.
pub fn utc_text(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(validate_username("  Alice.Smith ").unwrap(), "alice.smith");
        assert!(validate_username("a").is_err());
        assert!(validate_username("-alice").is_err());
        assert!(validate_username("al ice").is_err());
        assert!(validate_username("älice").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert!(validate_username(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn password_length_counts_code_points() {
        assert!(validate_password_shape(&"a".repeat(14), "bob").is_err());
        assert!(validate_password_shape(&"a".repeat(15), "bob").is_ok());
        assert!(validate_password_shape(&"a".repeat(128), "bob").is_ok());
        assert!(validate_password_shape(&"a".repeat(129), "bob").is_err());
        // 15 four-byte emoji are 15 characters, not 60.
        assert!(validate_password_shape(&"🔑".repeat(15), "bob").is_ok());
        assert!(validate_password_shape(&"🔑".repeat(14), "bob").is_err());
        assert!(validate_password_shape(&"🔑".repeat(128), "bob").is_ok());
    }

    #[test]
    fn password_may_not_be_the_username() {
        assert!(validate_password_shape("Administrator12", "administrator12").is_err());
        assert!(validate_password_shape("aaaaaaaaaaaaaaaa-not-in-list", "admin").is_ok());
    }

    #[test]
    fn emails() {
        assert_eq!(validate_email(" a@b.org ").unwrap().as_deref(), Some("a@b.org"));
        assert_eq!(validate_email("").unwrap(), None);
        for bad in ["a", "a@b", "@b.org", "a@.org", "a b@c.org", "a@b@c.org", "a@b.org."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(validate_display_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name("a\u{7}b").is_err());
    }
}
