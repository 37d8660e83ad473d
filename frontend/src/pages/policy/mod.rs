//! The MFA registration policy page, laid out like the product it follows:
//! Assignments, Controls, Grace period, Enforce policy, Save; with the impact
//! of the draft, "what if" for one user, and the version history.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::directory::DirectoryRef;
use proofup_shared::policy::{Enforcement, ImpactResponse, MfaRegistrationPolicy, PolicyVersion, WhatIf};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::logic::format_time;
use crate::session::SessionCtx;

mod assignments;
mod history;
mod impact;
mod settings;
mod what_if;

use assignments::Assignments;
use history::VersionHistory;
use impact::ImpactCard;
use settings::Settings;
use what_if::WhatIfCard;

/// The draft being edited, shared by the page's sections.
#[derive(Clone, Copy)]
pub(super) struct Draft {
    pub draft: RwSignal<Option<MfaRegistrationPolicy>>,
    /// Display names of the users and groups the draft names, by id.
    pub names: RwSignal<HashMap<String, String>>,
    /// Usernames of the emergency-access accounts.
    pub emergency: RwSignal<Vec<String>>,
    pub notice: RwSignal<Option<String>>,
    pub can_edit: bool,
}

impl Draft {
    /// Changes the draft (clearing the last "saved" notice).
    pub fn edit(&self, f: &dyn Fn(&mut MfaRegistrationPolicy)) {
        self.draft.update(|d| {
            if let Some(d) = d.as_mut() {
                f(d);
            }
        });
        self.notice.set(None);
    }
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let can_edit = SessionCtx::get().can_manage_security();
    let draft = RwSignal::new(None::<MfaRegistrationPolicy>);
    let saved = RwSignal::new(None::<PolicyVersion>);
    let names = RwSignal::new(HashMap::<String, String>::new());
    let emergency = RwSignal::new(Vec::<String>::new());
    let history = RwSignal::new(Vec::<PolicyVersion>::new());
    let impact = RwSignal::new(None::<ImpactResponse>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let warnings = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let what_if = RwSignal::new(None::<WhatIf>);
    let what_if_user = RwSignal::new(None::<DirectoryRef>);

    let load = move || {
        spawn_local(async move {
            match api::policy().await {
                Ok(v) => {
                    let p = v.policy.clone();
                    let mut map = HashMap::new();
                    for id in p.include_users.iter().chain(&p.exclude_users) {
                        if let Ok(u) = api::user(id.clone()).await {
                            map.insert(id.clone(), u.username);
                        }
                    }
                    for id in p.include_groups.iter().chain(&p.exclude_groups) {
                        if let Ok(g) = api::group(id.clone()).await {
                            map.insert(id.clone(), g.group.name);
                        }
                    }
                    names.update(|n| n.extend(map));
                    draft.set(Some(p));
                    saved.set(Some(v));
                }
                Err(e) => error.set(Some(e)),
            }
            if let Ok(h) = api::policy_versions().await {
                history.set(h);
            }
            if let Ok(page) = api::users(vec![("emergency_access", "true".into())]).await {
                emergency.set(page.items.into_iter().map(|u| u.username).collect());
            }
        });
    };
    load();

    // The impact of the draft, recomputed as the admin edits (latest answer wins).
    let seq = StoredValue::new(0u64);
    Effect::new(move |_| {
        let Some(p) = draft.get() else { return };
        seq.update_value(|n| *n += 1);
        let mine = seq.get_value();
        let who = what_if_user.get_untracked();
        let p2 = p.clone();
        spawn_local(async move {
            if let Ok(r) = api::impact(p).await {
                if seq.get_value() == mine {
                    impact.set(Some(r));
                }
            }
            if let Some(u) = who {
                if let Ok(w) = api::what_if(u.id, Some(p2)).await {
                    what_if.set(Some(w));
                }
            }
        });
    });

    let d = Draft { draft, names, emergency, notice, can_edit };
    let save = move |_| {
        let (Some(p), Some(v)) = (draft.get_untracked(), saved.get_untracked()) else { return };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::save_policy(p, v.version).await {
                Ok(r) => {
                    notice.set(Some(format!(
                        "Saved as version {}. Enforcement is {}.",
                        r.saved.version,
                        r.saved.policy.enforcement.label()
                    )));
                    warnings.set(r.warnings);
                    saved.set(Some(r.saved.clone()));
                    draft.set(Some(r.saved.policy));
                    if let Ok(h) = api::policy_versions().await {
                        history.set(h);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let pick_what_if = Callback::new(move |r: DirectoryRef| {
        what_if_user.set(Some(r.clone()));
        let p = draft.get_untracked();
        spawn_local(async move {
            match api::what_if(r.id, p).await {
                Ok(w) => what_if.set(Some(w)),
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let dirty = move || match (draft.get(), saved.get()) {
        (Some(d), Some(s)) => d != s.policy,
        _ => false,
    };

    view! {
        <div class="page-head">
            <h1>"MFA registration policy"</h1>
            {move || saved.get().map(|v| {
                let cls = match v.policy.enforcement { Enforcement::On => "badge badge-ok", Enforcement::ReportOnly => "badge badge-warn", Enforcement::Off => "badge" };
                view! { <span class=cls data-testid="policy-state">{v.policy.enforcement.label()}</span> }
            })}
        </div>
        <p class="muted">
            "Users in scope who have no sign-in method are asked to register one at their next interactive sign-in. "
            "They can skip during the grace period; after it, they must register before they can continue."
        </p>
        {move || saved.get().map(|v| match (v.saved_at, v.saved_by) {
            (Some(at), Some(by)) => view! { <p class="muted small">"Version " {v.version} ", saved by " {by} " on " {format_time(at)} "."</p> }.into_any(),
            _ => view! { <p class="muted small">"Never saved: the policy is Off."</p> }.into_any(),
        })}
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <Notice text=n/> })}
        {move || warnings.get().into_iter().map(|w| view! { <div class="alert alert-warn" role="status">{w}</div> }).collect_view()}
        <Show when=move || draft.get().is_some()>
            <div class="policy-grid">
                <div class="policy-form">
                    <Assignments d=d/>
                    <Settings d=d/>
                    {can_edit.then(|| view! {
                        // Sticky (over the page) only with unsaved changes; otherwise it sits at the end.
                        <div class="actions" class:sticky-actions=dirty>
                            <button class="btn btn-primary" on:click=save disabled=move || busy.get() || !dirty()>
                                {move || if busy.get() { "Saving…" } else { "Save" }}
                            </button>
                            <button class="btn btn-secondary" disabled=move || !dirty()
                                on:click=move |_| { draft.set(saved.get_untracked().map(|v| v.policy)); }>"Discard changes"</button>
                            {move || dirty().then(|| view! { <span class="muted">"Unsaved changes"</span> })}
                            // What saving would do to the administrator, beside the button that does it.
                            {move || impact.get().map(|r| r.warnings.into_iter().map(|w| view! {
                                <p class="warn-text save-warning" data-testid="save-warning">{w}</p>
                            }).collect_view())}
                        </div>
                    })}
                </div>
                <aside class="policy-side">
                    <ImpactCard impact=impact/>
                    <WhatIfCard what_if=what_if on_pick=pick_what_if/>
                </aside>
            </div>
        </Show>
        <VersionHistory history=history/>
        {can_edit.then(|| view! { <crate::components::webhook::WebhookCard/> })}
        {SessionCtx::get().can_manage_server().then(|| view! { <crate::components::mail::MailCard/> })}
    }
}
