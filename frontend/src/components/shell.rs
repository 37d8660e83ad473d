//! The signed-in portal frame: header with the user and Sign out, navigation, content.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::{use_location, use_navigate};
use proofup_shared::ErrorCode;

use crate::api;
use crate::session::SessionCtx;

fn encode_path(p: &str) -> String {
    p.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// (path, label, for administrators only)
const NAV: &[(&str, &str, bool)] = &[
    ("/", "Overview", false),
    ("/security-info", "My security info", false),
    ("/users", "Users", true),
    ("/groups", "Groups", true),
    ("/applications", "Applications", true),
    ("/policy/mfa-registration", "MFA registration policy", true),
    ("/policy/risk", "Risk policies", true),
    ("/risk", "Risk", true),
    ("/reports/registration", "Registration report", true),
    ("/logs/sign-ins", "Sign-in logs", true),
    ("/logs/audit", "Audit logs", true),
];

#[component]
pub fn Shell() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let location = use_location();
    let navigate = use_navigate();
    let to_sign_in = {
        let navigate = navigate.clone();
        move || {
            let path = location.pathname.get_untracked();
            let next = if path == "/" { String::new() } else { format!("?next={}", encode_path(&path)) };
            navigate(&format!("/sign-in{next}"), Default::default());
        }
    };
    let navigate_to = {
        let navigate = navigate.clone();
        move |path: &str| navigate(path, Default::default())
    };
    // Ask the server who is signed in (the cookie is HttpOnly: only the server knows).
    if let Some(me) = session.me.get_untracked().filter(|m| m.next_step != proofup_shared::mfa::NextStep::Done) {
        // A session that has not finished signing in goes back to its step.
        navigate_to(&crate::logic::after_sign_in(&me.next_step, "/"));
    } else if session.me.get_untracked().is_none() {
        let to_sign_in = to_sign_in.clone();
        spawn_local(async move {
            match api::me().await {
                Ok(me) if me.next_step != proofup_shared::mfa::NextStep::Done => {
                    navigate_to(&crate::logic::after_sign_in(&me.next_step, "/"))
                }
                Ok(me) => session.me.set(Some(me)),
                Err(e) if e.error == ErrorCode::Unauthenticated => to_sign_in(),
                Err(e) => leptos::logging::error!("{e}"),
            }
        });
    }
    let signing_out = RwSignal::new(false);
    let sign_out = move |_| {
        signing_out.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            let _ = api::sign_out().await;
            session.me.set(None);
            navigate("/sign-in?signed_out=1", Default::default());
        });
    };
    let menu_open = RwSignal::new(false);
    view! {
        <Show
            when=move || session.me.get().is_some_and(|m| m.next_step == proofup_shared::mfa::NextStep::Done)
            fallback=|| view! { <div class="loading" role="status">"Loading Proofup…"</div> }
        >
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <button
                    class="btn btn-secondary menu-toggle"
                    aria-controls="sidenav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|o| *o = !*o)
                >
                    "Menu"
                </button>
                <A href="/" attr:class="brand">
                    <img src="/favicon.svg" alt="" width="24" height="24"/>
                    <span>"Proofup"</span>
                </A>
                <div class="topbar-user">
                    {move || session.me.get().map(|me| view! {
                        <span class="user-name">{me.display_name}</span>
                        <span class="user-role">{me.role.label()}</span>
                    })}
                    <A href="/security-info#password" attr:class="btn btn-secondary topbar-password">"Change password"</A>
                    <button class="btn btn-secondary" on:click=sign_out.clone() disabled=move || signing_out.get()>
                        "Sign out"
                    </button>
                </div>
            </header>
            <div class="layout">
                <nav id="sidenav" class="sidenav" class:open=move || menu_open.get() aria-label="Main">
                    <ul>
                        {NAV.iter().filter(|(_, _, admin)| !*admin || session.me.get_untracked().is_some_and(|m| m.role.can_read_admin())).map(|(href, label, _)| view! {
                            <li><A href=*href exact=true on:click=move |_| menu_open.set(false)>{*label}</A></li>
                        }).collect_view()}
                    </ul>
                </nav>
                <main id="main" class="content" tabindex="-1">
                    <Outlet/>
                </main>
            </div>
        </Show>
    }
}
