use leptos::prelude::*;
use proofup_shared::api::Overview;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::logic::thousands;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let session = expect_context::<crate::app::SessionCtx>();
    let admin = session.me.get_untracked().is_some_and(|m| m.role.can_read_admin());
    if !admin {
        return view! { <UserHome/> }.into_any();
    }
    let data = LocalResource::new(api::overview);
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Ok(o) => view! { <OverviewCards o=o/> }.into_any(),
                Err(e) => view! { <ErrorAlert error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}

/// What a signed-in user without an administrative role sees.
#[component]
fn UserHome() -> impl IntoView {
    let session = expect_context::<crate::app::SessionCtx>();
    view! {
        <h1>"Your account"</h1>
        {move || session.me.get().map(|me| view! {
            <section class="card">
                <dl class="facts">
                    <dt>"Name"</dt><dd>{me.display_name}</dd>
                    <dt>"Username"</dt><dd>{me.username}</dd>
                </dl>
            </section>
        })}
    }
}

#[component]
fn OverviewCards(o: Overview) -> impl IntoView {
    let c = o.counts;
    view! {
        <section class="card" aria-labelledby="you">
            <h2 id="you">"Signed in as"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd>{o.me.display_name}</dd>
                <dt>"Username"</dt><dd>{o.me.username}</dd>
                <dt>"Role"</dt><dd>{o.me.role.label()}</dd>
            </dl>
        </section>
        <section aria-labelledby="store">
            <h2 id="store">"Directory and logs"</h2>
            <div class="stats">
                <Stat label="Users" value=c.users/>
                <Stat label="Active sessions" value=c.active_sessions/>
                <Stat label="Sign-in events" value=c.sign_in_entries/>
                <Stat label="Audit entries" value=c.audit_entries/>
            </div>
        </section>
        <p class="muted version">"Proofup " {o.version}</p>
    }
}

#[component]
fn Stat(label: &'static str, value: u64) -> impl IntoView {
    view! {
        <div class="stat">
            <span class="stat-value">{thousands(value)}</span>
            <span class="stat-label">{label}</span>
        </div>
    }
}
