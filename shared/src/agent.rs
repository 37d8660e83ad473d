//! What a user-agent string says, in a few words.

/// "Chrome on Windows" from a user-agent string: the portal's session lists (the full string goes
/// in a tooltip) and the "new sign-in" notice say it.
pub fn describe_user_agent(ua: &str) -> String {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else if has("curl/") {
        "curl"
    } else {
        ""
    };
    let os = if has("Windows") {
        "Windows"
    } else if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, os) {
        ("", "") if ua.trim().is_empty() => "Unknown device".into(),
        ("", "") => ua.chars().take(40).collect(),
        (b, "") => b.into(),
        ("", o) => format!("A browser on {o}"),
        (b, o) => format!("{b} on {o}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_os() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(describe_user_agent(edge), "Edge on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(safari), "Safari on iOS");
        assert_eq!(
            describe_user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:121.0) Gecko/20100101 Firefox/121.0"),
            "Firefox on macOS"
        );
        assert_eq!(describe_user_agent(""), "Unknown device");
        assert_eq!(describe_user_agent("curl/8.5.0"), "curl");
    }
}
