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
