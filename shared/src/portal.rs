//! The portal is built twice: the everyday bundle (sign-in, its steps, the overview and the
//! user's own security info) and the administrators' bundle (everything). The server answers the
//! paths below with the administrators' page and every other page path with the everyday one, so
//! the people who only sign in never download the administration pages.

/// The first path segment of every page only administrators use.
pub const ADMIN_SECTIONS: [&str; 7] = ["users", "groups", "policy", "applications", "reports", "logs", "risk"];

/// Whether a page path (`/users/42`, `users`) belongs to the administrators' bundle.
pub fn is_admin_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split(['/', '?', '#']).next().unwrap_or("");
    ADMIN_SECTIONS.contains(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_sections_and_only_them() {
        for p in [
            "/users",
            "/users/new",
            "/users/abc",
            "groups/1",
            "/policy/mfa-registration",
            "/applications/x",
            "/reports/registration",
            "/logs/audit",
            "/logs/sign-ins?user=a",
            "/risk",
            "/policy/risk",
        ] {
            assert!(is_admin_path(p), "{p}");
        }
        for p in [
            "/",
            "",
            "/sign-in",
            "/sign-in/verify",
            "/security-info",
            "/setup",
            "/set-password",
            "/usersx",
            "/user",
            "/favicon.svg",
            "/api/users",
            "/risky",
        ] {
            assert!(!is_admin_path(p), "{p}");
        }
    }
}
