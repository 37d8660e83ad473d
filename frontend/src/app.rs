//! Routes, under the signed-in user context.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::components::shell::Shell;
use crate::pages;
use crate::session::SessionCtx;

#[component]
pub fn App() -> impl IntoView {
    let session = SessionCtx::new();
    provide_context(session);
    // Ask once who is signed in before any page is built, so pages read the
    // role they are shown to (the cookie is HttpOnly: only the server knows).
    let ready = RwSignal::new(false);
    leptos::task::spawn_local(async move {
        if let Ok(me) = crate::api::me().await {
            session.me.set(Some(me));
        }
        ready.set(true);
    });
    view! {
        <Show when=move || ready.get() fallback=|| view! { <div class="loading" role="status">"Loading Proofup…"</div> }>
        <Router>
            <Routes fallback=|| view! { <pages::not_found::NotFound/> }>
                <Route path=path!("/setup") view=pages::setup::SetupPage/>
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage/>
                <Route path=path!("/set-password") view=pages::set_password::SetPasswordPage/>
                <Route path=path!("/reset") view=pages::reset::ResetPage/>
                <Route path=path!("/report") view=pages::not_me::NotMePage/>
                <Route path=path!("/sign-in/verify") view=pages::sign_in_steps::VerifyPage/>
                <Route path=path!("/sign-in/more-information") view=pages::sign_in_steps::MoreInformationPage/>
                <ShellRoutes/>
            </Routes>
        </Router>
        </Show>
    }
}

/// The pages inside the shell in the everyday bundle.
#[cfg(not(feature = "admin"))]
#[component(transparent)]
fn ShellRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=Shell>
            <Route path=path!("") view=pages::overview::OverviewPage/>
            <Route path=path!("security-info") view=pages::security_info::SecurityInfoPage/>
        </ParentRoute>
    }
    .into_inner()
}

/// The pages inside the shell in the administrators' bundle: the everyday ones and the rest.
#[cfg(feature = "admin")]
#[component(transparent)]
fn ShellRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=Shell>
            <Route path=path!("") view=pages::overview::OverviewPage/>
            <Route path=path!("users") view=pages::users::UsersPage/>
            <Route path=path!("users/new") view=pages::users::NewUserPage/>
            <Route path=path!("users/:id") view=pages::users::UserDetailPage/>
            <Route path=path!("groups") view=pages::groups::GroupsPage/>
            <Route path=path!("groups/:id") view=pages::groups::GroupDetailPage/>
            <Route path=path!("policy/mfa-registration") view=pages::policy::PolicyPage/>
            <Route path=path!("policy/risk") view=pages::risk_policies::RiskPoliciesPage/>
            <Route path=path!("risk") view=pages::risk::RiskPage/>
            <Route path=path!("applications") view=pages::applications::ApplicationsPage/>
            <Route path=path!("applications/new") view=pages::applications::NewApplicationPage/>
            <Route path=path!("applications/:id") view=pages::applications::ApplicationDetailPage/>
            <Route path=path!("reports/registration") view=pages::report::ReportPage/>
            <Route path=path!("security-info") view=pages::security_info::SecurityInfoPage/>
            <Route path=path!("logs/sign-ins") view=pages::logs::SignInLogPage/>
            <Route path=path!("logs/audit") view=pages::logs::AuditLogPage/>
        </ParentRoute>
    }
    .into_inner()
}
