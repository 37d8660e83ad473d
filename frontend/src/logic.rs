//! Pure view helpers (no DOM, no network), tested with plain `cargo test`.

use proofup_shared::validation::{PASSWORD_MAX, PASSWORD_MIN};
use time::OffsetDateTime;

/// Where to go after sign-in: only same-site paths, never `//host` or a URL.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // A portal page; never the server's own addresses (an application's sign-in resumes
        // where the server says, `Me::continue_to`, not where a link says).
        Some(p) if is_local_path(p) && !p.starts_with("/sign-in") && !p.starts_with("/oauth2/") => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A path on this origin whatever a browser's URL parser makes of it (WHATWG URL): exactly one
/// leading `/`, and no backslash (read as `/` in http URLs), no control character (tab, LF and
/// CR are removed anywhere, so `/\t/evil.example` would become `//evil.example`) and no space
/// of any kind (leading and trailing ones are trimmed). `go_to` checks the origin again after
/// the browser's own parse.
pub fn is_local_path(p: &str) -> bool {
    let mut chars = p.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// The checks made before a new password is sent (the server checks again): the setup rules for
/// its shape, then the confirmation. `Err((field, message))` names the field to mark.
pub fn check_new_password(password: &str, confirm: &str, username: &str) -> Result<(), (&'static str, String)> {
    proofup_shared::validation::validate_password_shape(password, username).map_err(|m| ("new_password", m))?;
    if password != confirm {
        return Err(("confirm", "The passwords do not match.".into()));
    }
    Ok(())
}

/// Where a sign-in goes next: the step the server asks for, or `next` when done.
pub fn after_sign_in(step: &proofup_shared::mfa::NextStep, next: &str) -> String {
    use proofup_shared::mfa::NextStep;
    let q = if next == "/" { String::new() } else { format!("?next={}", encode_component(next)) };
    match step {
        NextStep::Done => next.to_owned(),
        NextStep::SetPassword => format!("/set-password{q}"),
        NextStep::SecondFactor { .. } => format!("/sign-in/verify{q}"),
        NextStep::RegisterMfa { .. } => format!("/sign-in/more-information{q}"),
    }
}

/// The coverage bar: (css class, width %) for registered, in grace, forced; widths sum to 100
/// (or nothing when no one is in scope).
pub fn coverage_segments(parts: &[(&'static str, u64)]) -> Vec<(&'static str, u64)> {
    let total: u64 = parts.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return Vec::new();
    }
    // Largest remainder, the widths adding up to 100: a part with nobody in it gets none, and a
    // part with anybody at least 1, taken from the widest.
    let mut widths: Vec<(usize, u64, u64)> =
        parts.iter().enumerate().map(|(i, (_, n))| (i, n * 100 / total, n * 100 % total)).collect();
    for w in widths.iter_mut().filter(|w| parts[w.0].1 > 0 && w.1 == 0) {
        w.1 = 1;
        w.2 = 0;
    }
    let sum: u64 = widths.iter().map(|(_, w, _)| w).sum();
    if sum > 100 {
        let mut over = sum - 100;
        while over > 0 {
            if let Some(widest) = widths.iter_mut().max_by_key(|w| w.1) {
                widest.1 -= 1;
            }
            over -= 1;
        }
    }
    let mut left = 100 - widths.iter().map(|(_, w, _)| w).sum::<u64>().min(100);
    let mut order: Vec<usize> = (0..widths.len()).filter(|&i| parts[i].1 > 0).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(widths[i].2));
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        widths[i].1 += 1;
        left -= 1;
    }
    widths.into_iter().filter(|(_, w, _)| *w > 0).map(|(i, w, _)| (parts[i].0, w)).collect()
}

/// The skip link of the registration interrupt. Without a deadline the policy no longer
/// requires registration of this user (it changed while they were on the page).
pub fn skip_label(days_left: u32, deadline: Option<OffsetDateTime>) -> String {
    match (deadline, days_left) {
        (None, _) => "Continue without registering".to_owned(),
        (Some(_), 0 | 1) => "Skip for now (1 day until this is required)".to_owned(),
        (Some(_), n) => format!("Skip for now ({n} days until this is required)"),
    }
}

/// A live hint under the new-password field.
pub fn password_hint(password: &str) -> String {
    let n = password.chars().count();
    if n == 0 {
        format!("At least {PASSWORD_MIN} characters. Long passphrases are best; no other rules.")
    } else if n < PASSWORD_MIN {
        format!("{n} of at least {PASSWORD_MIN} characters.")
    } else if n > PASSWORD_MAX {
        format!("{n} characters: at most {PASSWORD_MAX}.")
    } else {
        format!("{n} characters. Long enough.")
    }
}

/// The browser's offset from UTC at `t` (its time zone, daylight saving included); UTC outside
/// a browser (unit tests).
pub fn local_offset(t: OffsetDateTime) -> time::UtcOffset {
    #[cfg(target_arch = "wasm32")]
    {
        let ms = (t.unix_timestamp_nanos() / 1_000_000) as f64;
        let minutes = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms)).get_timezone_offset();
        // getTimezoneOffset is UTC minus local time, in minutes.
        time::UtcOffset::from_whole_seconds(-(minutes as i32) * 60).unwrap_or(time::UtcOffset::UTC)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = t;
        time::UtcOffset::UTC
    }
}

/// A time as people read it, in the browser's time zone, to the minute: `28 Nov 2026, 15:05`.
pub fn format_time(t: OffsetDateTime) -> String {
    format_time_in(t, local_offset(t))
}

/// [`format_time`] at a given offset.
pub fn format_time_in(t: OffsetDateTime, offset: time::UtcOffset) -> String {
    let t = t.to_offset(offset);
    let month = &t.month().to_string()[..3];
    format!("{} {month} {}, {:02}:{:02}", t.day(), t.year(), t.hour(), t.minute())
}

/// Now, by the browser's clock (the system clock outside a browser).
pub fn now() -> OffsetDateTime {
    #[cfg(target_arch = "wasm32")]
    {
        let ns = (js_sys::Date::now() * 1_000_000.0) as i128;
        OffsetDateTime::from_unix_timestamp_nanos(ns).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        OffsetDateTime::now_utc()
    }
}

/// A time the server wrote into an audit change (`2026-12-20 21:51:40 UTC`), if the text is one.
pub fn parse_utc_text(s: &str) -> Option<OffsetDateTime> {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::PrimitiveDateTime::parse(s, f).ok().map(time::PrimitiveDateTime::assume_utc)
}

/// The exact time in UTC, for tooltips and exports: `2026-11-28 14:05:09 UTC`.
pub fn utc_time(t: OffsetDateTime) -> String {
    proofup_shared::validation::utc_text(t)
}

/// A deadline with how far off it is: `in 14 days, on 20 Dec 2026 at 22:51` (`tomorrow`, `today`,
/// `in 3 hours`…), in the browser's time zone.
pub fn format_deadline(t: OffsetDateTime, now: OffsetDateTime) -> String {
    format_deadline_in(t, now, local_offset(t))
}

pub fn format_deadline_in(t: OffsetDateTime, now: OffsetDateTime, offset: time::UtcOffset) -> String {
    let local = t.to_offset(offset);
    let at = format!(
        "{} {} {} at {:02}:{:02}",
        local.day(),
        &local.month().to_string()[..3],
        local.year(),
        local.hour(),
        local.minute()
    );
    let left = t - now;
    let days = (local.date() - now.to_offset(offset).date()).whole_days();
    let when = if left.is_negative() {
        return format!("since {at}");
    } else if left < time::Duration::hours(1) {
        plural(left.whole_minutes().max(1) as u64, "minute", "minutes")
    } else if days == 0 {
        plural(left.whole_hours() as u64, "hour", "hours")
    } else if days == 1 {
        return format!("tomorrow, on {at}");
    } else {
        plural(days as u64, "day", "days")
    };
    format!("in {when}, on {at}")
}

/// "1,234"
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The warning the Users page shows about break-glass accounts, if any.
pub fn emergency_warning(count: usize) -> Option<String> {
    match count {
        0 => Some("No emergency-access account exists. Create two, and exclude them from MFA policies, so you cannot be locked out.".into()),
        1 => Some("Only one emergency-access account exists. Keep at least two.".into()),
        _ => None,
    }
}

/// "1 user", "2 users".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A changed field's name as the portal shows it (history and audit log).
pub fn field_label(field: &str) -> String {
    match field {
        "enforcement" => "Enforcement",
        "include" => "Applies to",
        "include_users" => "Included users",
        "include_groups" => "Included groups",
        "exclude_users" => "Excluded users",
        "exclude_groups" => "Excluded groups",
        "control" => "Require MFA registration",
        "grace_days" => "Grace period (days)",
        "display_name" => "Display name",
        "emergency_access" => "Emergency access",
        "failed_sign_ins" => "Failed sign-ins",
        "has_password" => "Password set",
        other => {
            return other
                .replace('_', " ")
                .chars()
                .enumerate()
                .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
                .collect()
        }
    }
    .to_owned()
}

/// What a role may do, in one sentence (asked before a role is given).
pub fn role_powers(r: proofup_shared::api::Role) -> &'static str {
    use proofup_shared::api::Role;
    match r {
        Role::GlobalAdministrator => "A Global administrator can do everything, including managing other administrators and the emergency-access accounts.",
        Role::SecurityAdministrator => "A Security administrator manages users' security, groups and the MFA registration policy.",
        Role::SecurityOperator => "A Security operator reads everything and can extend or end grace periods, require re-registration and acknowledge alerts.",
        Role::SecurityReader => "A Security reader can read every administrative page but change nothing.",
        Role::User => "A User manages only their own account.",
    }
}

pub use proofup_shared::agent::describe_user_agent;

/// What to ask before changing the emergency-access mark, or `None` when it does not change.
pub fn emergency_question(name: &str, before: bool, after: bool) -> Option<String> {
    match (before, after) {
        (false, true) => Some(format!(
            "Mark {name} as an emergency-access account? The MFA registration policy will always exclude them, and every sign-in with it raises an alert."
        )),
        (true, false) => Some(format!(
            "Stop treating {name} as an emergency-access account? The MFA registration policy will no longer exclude them automatically."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_adds_up_and_empty_parts_get_no_sliver() {
        let parts = |r, g, n, f| [("seg-ok", r), ("seg-warn", g), ("seg-idle", n), ("seg-bad", f)];
        assert_eq!(coverage_segments(&parts(1, 1, 1, 0)), vec![("seg-ok", 34), ("seg-warn", 33), ("seg-idle", 33)]);
        assert_eq!(coverage_segments(&parts(2, 0, 1, 0)), vec![("seg-ok", 67), ("seg-idle", 33)]);
        assert_eq!(coverage_segments(&parts(0, 0, 0, 0)), vec![]);
        assert_eq!(coverage_segments(&parts(5, 0, 0, 0)), vec![("seg-ok", 100)]);
        assert_eq!(coverage_segments(&parts(999, 0, 0, 1)), vec![("seg-ok", 99), ("seg-bad", 1)]);
        for (r, g, n, f) in [(7, 3, 0, 0), (1, 2, 3, 4), (100_000, 3, 7, 0)] {
            let segs = coverage_segments(&parts(r, g, n, f));
            assert_eq!(segs.iter().map(|(_, w)| w).sum::<u64>(), 100);
            assert!(f > 0 || !segs.iter().any(|(c, _)| *c == "seg-bad"), "no red without anyone forced");
        }
    }

    #[test]
    fn changing_the_emergency_mark_asks_and_says_what_it_means() {
        let on = emergency_question("Jo", false, true).unwrap();
        assert!(on.starts_with("Mark Jo as an emergency-access account?") && on.contains("always exclude"), "{on}");
        let off = emergency_question("Jo", true, false).unwrap();
        assert!(off.contains("no longer exclude"), "{off}");
        assert_eq!(emergency_question("Jo", true, true), None, "no change, no question");
        assert_eq!(emergency_question("Jo", false, false), None);
    }

    #[test]
    fn counts_and_field_names_read_as_words() {
        assert_eq!(plural(1, "user", "users"), "1 user");
        assert_eq!(plural(0, "user", "users"), "0 users");
        assert_eq!(field_label("include_groups"), "Included groups");
        assert_eq!(field_label("exclude_users"), "Excluded users");
        assert_eq!(field_label("some_new_field"), "Some new field");
    }

    #[test]
    fn sign_in_steps_route_to_their_pages() {
        use proofup_shared::mfa::NextStep;
        assert_eq!(after_sign_in(&NextStep::Done, "/users"), "/users");
        assert_eq!(after_sign_in(&NextStep::SetPassword, "/"), "/set-password");
        assert_eq!(
            after_sign_in(&NextStep::SecondFactor { options: vec![] }, "/users/a b"),
            "/sign-in/verify?next=%2Fusers%2Fa%20b"
        );
        let interrupt = NextStep::RegisterMfa { can_skip: true, days_left: 3, deadline: None, network_blocked: false };
        assert_eq!(after_sign_in(&interrupt, "/"), "/sign-in/more-information");
        let d = Some(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(skip_label(14, d), "Skip for now (14 days until this is required)");
        assert_eq!(skip_label(1, d), "Skip for now (1 day until this is required)");
        assert_eq!(skip_label(0, None), "Continue without registering", "no longer required: no made-up deadline");
    }
    use time::macros::datetime;

    #[test]
    fn next_path_is_same_site_only() {
        assert_eq!(safe_next(Some("/logs/audit")), "/logs/audit");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/sign-in")), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers drop tab, LF and CR anywhere and trim spaces: each of these becomes `//evil`.
        for bad in ["/\t/evil.example/x", "/\n/evil.example/x", "/\r/evil.example/x", " //evil.example", "/\u{0}/evil"]
        {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        for bad in ["/\\evil.example", "\\\\evil.example", "/\u{a0}x", "http:evil.example", "javascript:alert(1)", ""] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        // Where an application's sign-in resumes is the server's to say, never a link's.
        assert_eq!(safe_next(Some("/oauth2/authorize/resume?flow=abc")), "/");
        assert_eq!(safe_next(Some("/users?q=a%20b")), "/users?q=a%20b");
    }

    #[test]
    fn password_hints_count_characters() {
        assert!(password_hint("").starts_with("At least 15"));
        assert_eq!(password_hint("abc"), "3 of at least 15 characters.");
        assert_eq!(password_hint(&"🔑".repeat(15)), "15 characters. Long enough.");
        assert!(password_hint(&"a".repeat(129)).contains("at most 128"));
    }

    #[test]
    fn encoding_and_warnings() {
        assert_eq!(encode_component("a b&c/d"), "a%20b%26c%2Fd");
        assert_eq!(encode_component("ann.lee-1_~"), "ann.lee-1_~");
        assert!(emergency_warning(0).unwrap().contains("No emergency-access"));
        assert!(emergency_warning(1).unwrap().contains("Only one"));
        assert_eq!(emergency_warning(2), None);
    }

    #[test]
    fn formats() {
        assert_eq!(format_time(datetime!(2026-11-28 14:05:09 UTC)), "28 Nov 2026, 14:05");
        let cet = time::UtcOffset::from_hms(1, 0, 0).unwrap();
        assert_eq!(format_time_in(datetime!(2026-12-20 21:51:40 UTC), cet), "20 Dec 2026, 22:51");
        assert_eq!(utc_time(datetime!(2026-12-20 21:51:40 UTC)), "2026-12-20 21:51:40 UTC");
        assert_eq!(parse_utc_text("2026-12-20 21:51:40 UTC"), Some(datetime!(2026-12-20 21:51:40 UTC)));
        assert_eq!(parse_utc_text("Staff"), None);
        let now = datetime!(2026-12-06 21:51:40 UTC);
        assert_eq!(
            format_deadline_in(datetime!(2026-12-20 21:51:40 UTC), now, cet),
            "in 14 days, on 20 Dec 2026 at 22:51"
        );
        assert_eq!(format_deadline_in(datetime!(2026-12-07 10:00 UTC), now, cet), "tomorrow, on 7 Dec 2026 at 11:00");
        assert_eq!(
            format_deadline_in(datetime!(2026-12-06 22:40 UTC), now, cet),
            "in 48 minutes, on 6 Dec 2026 at 23:40"
        );
        assert_eq!(format_deadline_in(datetime!(2026-12-06 20:00 UTC), now, cet), "since 6 Dec 2026 at 21:00");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
