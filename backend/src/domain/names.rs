//! Names people tell apart by eye (group names; usernames are ASCII-only already): one that
//! mixes scripts, such as `Аdmins` with a Cyrillic А beside the Latin `Admins`, is refused, so a
//! look-alike of an existing name cannot be made (UTS #39 mixed-script detection, with its
//! augmented script sets, so Japanese Han + Kana or Korean Han + Hangul stay single-script).

use unicode_security::MixedScript as _;

/// The group-name rules of `proofup_shared::directory::check_group_name`, plus one script per name.
pub fn check_group_name(name: &str) -> Result<(), String> {
    proofup_shared::directory::check_group_name(name)?;
    check_single_script(name)
}

pub fn check_single_script(name: &str) -> Result<(), String> {
    if name.is_single_script() {
        Ok(())
    } else {
        Err("The name mixes letters of different scripts (such as Latin and Cyrillic), which makes it look like another name. Type it in one script.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_refused_and_real_names_pass() {
        assert!(check_group_name("Admins").is_ok());
        assert!(check_group_name("\u{0410}dmins").is_err(), "Cyrillic А in a Latin name");
        assert!(check_group_name("P\u{0430}yroll").is_err(), "Cyrillic а");
        assert!(check_group_name("Администраторы").is_ok(), "all Cyrillic");
        assert!(check_group_name("開発チーム").is_ok(), "Han + Katakana is Japanese");
        assert!(check_group_name("Staff – 2026 (EU)").is_ok(), "digits, spaces and punctuation are common to all");
        assert!(check_group_name("Ελληνικά ops").is_err(), "Greek + Latin");
    }
}
