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

    /// May see and test the server-wide settings (mail).
    pub fn can_manage_server(self) -> bool {
        self.role().is_some_and(Role::can_manage_server)
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

/// After a sign-in step answered `me`: where the server says the browser continues (an
/// application waiting), else the next step's page, else `next` in the portal.
pub fn continue_after(navigate: &impl Fn(&str, leptos_router::NavigateOptions), me: &Me, next: &str) {
    match &me.continue_to {
        Some(to) => go_to(navigate, to),
        None => go_to(navigate, &crate::logic::after_sign_in(&me.next_step, next)),
    }
}

/// The application sign-in (flow id) the sign-in page was opened for: `?flow=`, as the server
/// sent it (an opaque token; anything else is ignored).
pub fn flow_param(raw: Option<&str>) -> Option<String> {
    raw.filter(|f| {
        !f.is_empty() && f.len() <= 64 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
    .map(str::to_owned)
}

/// Where the everyday bundle notes the address it sent to the server for the administrators'
/// bundle (sessionStorage), so that the same answer twice is not a loop.
const ADMIN_BUNDLE_ASKED: &str = "proofup.admin-bundle";

/// In the everyday bundle, a page only administrators use is not built in: load `address` (its
/// path, query and fragment) again from the server, which answers it with the administrators'
/// bundle (`proofup_shared::portal`).
/// Returns whether it is loading. Once per address: if the answer is the everyday bundle again
/// (an older server, `trunk serve`), the page says "not found" instead of loading forever.
pub fn load_admin_bundle(path: &str, address: &str) -> bool {
    thread_local!(static LOADING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if cfg!(feature = "admin") || !proofup_shared::portal::is_admin_path(path) {
        return false;
    }
    if LOADING.get() {
        return true; // the router may build the page again before the browser leaves it
    }
    let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) else { return false };
    if s.get_item(ADMIN_BUNDLE_ASKED).ok().flatten().as_deref() == Some(path) {
        let _ = s.remove_item(ADMIN_BUNDLE_ASKED);
        return false;
    }
    let _ = s.set_item(ADMIN_BUNDLE_ASKED, path);
    LOADING.set(true);
    // After the router has put `path` in the address bar: the loaded page replaces that entry.
    let address = address.to_owned();
    set_timeout(
        move || {
            if let Some(w) = web_sys::window() {
                let _ = w.location().replace(&address);
            }
        },
        std::time::Duration::ZERO,
    );
    true
}

/// The administrators' bundle has started: a later trip from the everyday bundle may load it again.
pub fn admin_bundle_started() {
    if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = s.remove_item(ADMIN_BUNDLE_ASKED);
    }
}
