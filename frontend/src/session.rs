//! Who is signed in, shared by every page, and the role checks pages make with it.

use leptos::prelude::*;
use proofup_shared::api::{Me, Role};

/// Who is signed in. `None` until `/api/auth/me` answers, and when nobody is.
#[derive(Clone, Copy)]
pub struct SessionCtx {
    pub me: RwSignal<Option<Me>>,
}

impl SessionCtx {
    pub fn new() -> Self {
        Self { me: RwSignal::new(None) }
    }

    /// The context the app provides (every page is built under it).
    pub fn get() -> Self {
        expect_context::<Self>()
    }

    /// The signed-in user's role, read without subscribing.
    pub fn role(self) -> Option<Role> {
        self.me.get_untracked().map(|m| m.role)
    }

    /// May change the policy, grace periods and security settings.
    pub fn can_manage_security(self) -> bool {
        self.role().is_some_and(Role::can_manage_security)
    }
}

/// Goes to `to` after signing in: inside the portal by the router, and to the server itself
/// for `/oauth2/` (an application's sign-in resumes there and sends the browser back to it).
pub fn go_to(navigate: &impl Fn(&str, leptos_router::NavigateOptions), to: &str) {
    // Wherever `to` came from, the browser's own reading of it must stay on this origin.
    let to = if same_origin(to) { to } else { "/" };
    if to.starts_with("/oauth2/") {
        if let Some(w) = web_sys::window() {
            let _ = w.location().assign(to);
        }
    } else {
        navigate(to, Default::default());
    }
}

/// Whether the browser, resolving `to` against this page, stays on this page's origin (and `to`
/// is a plain local path: see [`crate::logic::is_local_path`]).
fn same_origin(to: &str) -> bool {
    let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) else { return false };
    crate::logic::is_local_path(to) && web_sys::Url::new_with_base(to, &origin).is_ok_and(|u| u.origin() == origin)
}

/// The flow id in a `next` that resumes an application's sign-in.
pub fn flow_of(next: &str) -> Option<String> {
    next.strip_prefix("/oauth2/authorize/resume?flow=").map(|f| f.chars().take(64).collect())
}
