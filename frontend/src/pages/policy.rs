//! The MFA registration policy page, laid out like the product it follows:
//! Assignments, Controls, Grace period, Enforce policy, Save; with the impact
//! of the draft, "what if" for one user, and the version history.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::policy::{
    DecisionView, Enforcement, ImpactResponse, MfaRegistrationPolicy, PolicyVersion, WhatIf, MAX_GRACE_DAYS,
};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::picker::DirectoryPicker;
use crate::logic::format_time;
use crate::session::SessionCtx;

#[derive(Clone, Copy, PartialEq)]
enum List {
    Include,
    Exclude,
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

    let edit = move |f: &dyn Fn(&mut MfaRegistrationPolicy)| {
        draft.update(|d| {
            if let Some(d) = d.as_mut() {
                f(d);
            }
        });
        notice.set(None);
    };
    let add_to = move |list: List| {
        Callback::new(move |r: DirectoryRef| {
            names.update(|n| {
                n.insert(r.id.clone(), r.name.clone());
            });
            edit(&|p| {
                let target = match (list, r.kind) {
                    (List::Include, MemberKind::User) => &mut p.include_users,
                    (List::Include, MemberKind::Group) => &mut p.include_groups,
                    (List::Exclude, MemberKind::User) => &mut p.exclude_users,
                    (List::Exclude, MemberKind::Group) => &mut p.exclude_groups,
                };
                if !target.contains(&r.id) {
                    target.push(r.id.clone());
                }
            });
        })
    };
    let remove_from = move |list: List, kind: MemberKind, id: String| {
        edit(&|p| {
            let target = match (list, kind) {
                (List::Include, MemberKind::User) => &mut p.include_users,
                (List::Include, MemberKind::Group) => &mut p.include_groups,
                (List::Exclude, MemberKind::User) => &mut p.exclude_users,
                (List::Exclude, MemberKind::Group) => &mut p.exclude_groups,
            };
            target.retain(|x| *x != id);
        });
    };
    let chips = move |list: List| {
        move || {
            let Some(p) = draft.get() else { return Vec::new() };
            let (users, groups) = match list {
                List::Include => (p.include_users, p.include_groups),
                List::Exclude => (p.exclude_users, p.exclude_groups),
            };
            let n = names.get();
            groups
                .into_iter()
                .map(|g| (MemberKind::Group, g))
                .chain(users.into_iter().map(|u| (MemberKind::User, u)))
                .map(|(kind, id)| {
                    let label = n.get(&id).cloned().unwrap_or_else(|| id.clone());
                    let what = if kind == MemberKind::Group { "Group" } else { "User" };
                    let id2 = id.clone();
                    view! {
                        <li class="chip">
                            <span class="badge">{what}</span> " " {label.clone()}
                            {can_edit.then(|| view! {
                                <button type="button" class="chip-remove" aria-label=format!("Remove {label}")
                                    on:click=move |_| remove_from(list, kind, id2.clone())>"×"</button>
                            })}
                        </li>
                    }
                })
                .collect_view()
                .into_iter()
                .collect::<Vec<_>>()
        }
    };

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
                    <section class="card">
                        <h2>"Assignments"</h2>
                        <fieldset disabled=!can_edit>
                            <legend>"Users and groups — Include"</legend>
                            <label class="check">
                                <input type="radio" name="include" prop:checked=move || draft.get().is_some_and(|d| d.include_all)
                                    on:change=move |_| edit(&|d| d.include_all = true)/>
                                " All users"
                            </label>
                            <label class="check">
                                <input type="radio" name="include" prop:checked=move || draft.get().is_some_and(|d| !d.include_all)
                                    on:change=move |_| edit(&|d| d.include_all = false)/>
                                " Select individuals and groups"
                            </label>
                        </fieldset>
                        <Show when=move || draft.get().is_some_and(|d| !d.include_all)>
                            <ul class="chips" aria-label="Included">{chips(List::Include)}</ul>
                            {can_edit.then(|| view! { <DirectoryPicker id="include-picker" label="Add users or groups to include" on_pick=add_to(List::Include)/> })}
                        </Show>
                        <h3>"Exclude"</h3>
                        <p class="hint">"Exclusion always wins. Nested group membership counts."</p>
                        <ul class="chips" aria-label="Excluded">{chips(List::Exclude)}</ul>
                        {can_edit.then(|| view! { <DirectoryPicker id="exclude-picker" label="Add users or groups to exclude" on_pick=add_to(List::Exclude)/> })}
                        <div class="note">
                            <strong>"Emergency-access accounts are always excluded"</strong>
                            {move || {
                                let e = emergency.get();
                                if e.is_empty() {
                                    view! { <p class="warn-text">"No emergency-access account exists yet. Mark one or two break-glass accounts on the Users page before you enforce this policy."</p> }.into_any()
                                } else {
                                    view! { <p>{e.join(", ")} " — excluded so that you can always get back in."</p> }.into_any()
                                }
                            }}
                        </div>
                    </section>
                    <section class="card">
                        <h2>"Controls"</h2>
                        <label class="check">
                            <input type="checkbox" id="require-registration" prop:checked=move || draft.get().is_some_and(|d| d.require_registration) disabled=!can_edit
                                on:change=move |ev| { let on = event_target_checked(&ev); edit(&|d| d.require_registration = on) }/>
                            " Require MFA registration"
                        </label>
                        <p class="hint">"Users register an authenticator app. A policy that is not Off needs this control."</p>
                    </section>
                    <section class="card">
                        <h2>"Grace period"</h2>
                        <div class="field inline-field">
                            <label for="grace-days">"Days users may skip"</label>
                            <input id="grace-days" type="number" min="0" max=MAX_GRACE_DAYS.to_string() step="1" disabled=!can_edit
                                prop:value=move || draft.get().map(|d| d.grace_days.to_string()).unwrap_or_default()
                                on:input=move |ev| {
                                    if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() { edit(&|d| d.grace_days = n) }
                                }/>
                        </div>
                        <p class="hint">"0 to 90. Counted per user from their first interactive sign-in while in scope and unregistered. 0 means no skip."</p>
                    </section>
                    <section class="card">
                        <h2>"Enforce policy"</h2>
                        <div class="segmented" role="radiogroup" aria-label="Enforce policy">
                            {[Enforcement::On, Enforcement::ReportOnly, Enforcement::Off].into_iter().map(|e| view! {
                                <label class="segment" class:selected=move || draft.get().is_some_and(|d| d.enforcement == e)>
                                    <input type="radio" name="enforcement" prop:checked=move || draft.get().is_some_and(|d| d.enforcement == e) disabled=!can_edit
                                        on:change=move |_| edit(&|d| d.enforcement = e)/>
                                    {e.label()}
                                </label>
                            }).collect_view()}
                        </div>
                        <p class="hint">"Report-only evaluates and logs each sign-in but never interrupts and starts no grace period."</p>
                    </section>
                    {can_edit.then(|| view! {
                        <div class="actions sticky-actions">
                            <button class="btn btn-primary" on:click=save disabled=move || busy.get() || !dirty()>
                                {move || if busy.get() { "Saving…" } else { "Save" }}
                            </button>
                            <button class="btn btn-secondary" disabled=move || !dirty()
                                on:click=move |_| { draft.set(saved.get_untracked().map(|v| v.policy)); }>"Discard changes"</button>
                            {move || dirty().then(|| view! { <span class="muted">"Unsaved changes"</span> })}
                        </div>
                    })}
                </div>
                <aside class="policy-side">
                    <section class="card" aria-live="polite">
                        <h2>"Impact of these settings"</h2>
                        {move || impact.get().map(|r| {
                            let i = r.impact;
                            let max = i.forced_per_day.iter().copied().max().unwrap_or(0).max(1);
                            view! {
                                <dl class="impact">
                                    <dt>"In scope"</dt><dd data-testid="impact-in-scope">{i.in_scope}</dd>
                                    <dt>"Registered"</dt><dd>{i.registered}</dd>
                                    <dt>"In grace period"</dt><dd>{i.in_grace}</dd>
                                    <dt>"Not prompted yet"</dt><dd>{i.not_yet_prompted}</dd>
                                    <dt>"Must register at next sign-in"</dt><dd data-testid="impact-forced">{i.forced}</dd>
                                    <dt>"Excluded"</dt><dd>{i.excluded}</dd>
                                    <dt>"Not included"</dt><dd>{i.not_included}</dd>
                                </dl>
                                <h3>"Grace periods ending, next 30 days"</h3>
                                <div class="bars" role="img" aria-label=format!("{} users' grace periods end in the next 30 days", i.forced_per_day.iter().sum::<u64>())>
                                    {i.forced_per_day.iter().enumerate().map(|(d, n)| view! {
                                        <span class="bar" title=format!("Day {}: {n}", d + 1) style=format!("height:{}%", 4 + n * 96 / max)></span>
                                    }).collect_view()}
                                </div>
                                {r.warnings.into_iter().map(|w| view! { <p class="warn-text small">{w}</p> }).collect_view()}
                            }
                        })}
                    </section>
                    <section class="card">
                        <h2>"What if"</h2>
                        <p class="hint">"See how these settings treat one user, and why."</p>
                        <DirectoryPicker id="what-if-picker" label="User" on_pick=pick_what_if only=MemberKind::User/>
                        {move || what_if.get().map(|w| {
                            // The verdict follows the enforcement: Off and Report-only never interrupt.
                            let (label, cls) = match &w.decision {
                                DecisionView::Prompt { .. } if !w.interrupts => ("Not interrupted (would be prompted if On)".to_owned(), "badge"),
                                DecisionView::Required { .. } if !w.interrupts => ("Not interrupted (would have to register if On)".to_owned(), "badge"),
                                DecisionView::NotInScope { .. } => ("Not in scope".to_owned(), "badge"),
                                DecisionView::Registered { .. } => ("Registered".to_owned(), "badge badge-ok"),
                                DecisionView::Prompt { days_left, not_yet_prompted: true, .. } => (format!("Will be prompted ({days_left} days to skip)"), "badge badge-warn"),
                                DecisionView::Prompt { days_left, .. } => (format!("Prompted, {days_left} days left"), "badge badge-warn"),
                                DecisionView::Required { .. } => ("Must register at next sign-in".to_owned(), "badge badge-bad"),
                            };
                            view! {
                                <div class="what-if" data-testid="what-if">
                                    <p><strong>{w.username.clone()}</strong> " " <span class=cls>{label}</span></p>
                                    <ul>{w.explanation.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                                </div>
                            }
                        })}
                    </section>
                </aside>
            </div>
        </Show>
        <section class="card">
            <h2>"Version history"</h2>
            {move || {
                let h = history.get();
                if h.is_empty() {
                    view! { <p class="empty">"Not saved yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap"><table>
                            <thead><tr><th>"Version"</th><th>"Saved"</th><th>"By"</th><th>"Changes"</th></tr></thead>
                            <tbody>{h.into_iter().map(|v| view! {
                                <tr>
                                    <td>{v.version}</td>
                                    <td class="nowrap">{v.saved_at.map(format_time).unwrap_or_default()}</td>
                                    <td>{v.saved_by.unwrap_or_default()}</td>
                                    <td><ul class="changes">{v.changes.into_iter().map(|c| view! {
                                        <li><span class="change-field">{crate::logic::field_label(&c.field)}</span> ": " {c.before.unwrap_or_else(|| "—".into())} " → " {c.after.unwrap_or_else(|| "—".into())}</li>
                                    }).collect_view()}</ul></td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any()
                }
            }}
        </section>
        {can_edit.then(|| view! { <crate::components::webhook::WebhookCard/> })}
    }
}
