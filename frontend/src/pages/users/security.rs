//! A user's security section: methods, sessions, grace period, reset sign-in, re-registration.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use proofup_shared::api::Role;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::field::Field;
use crate::components::time::Time;
use crate::logic::format_time;

use super::my_role;

#[component]
pub(super) fn UserSecurity(id: String, username: String) -> impl IntoView {
    use proofup_shared::directory::UserGroup;
    use proofup_shared::mfa::MethodView;
    use proofup_shared::policy::{DecisionView, GraceRequest, WhatIf};
    let groups = RwSignal::new(None::<Vec<UserGroup>>);
    let sessions = RwSignal::new(None::<Vec<proofup_shared::api::SessionView>>);
    let sign_ins = RwSignal::new(None::<Vec<proofup_shared::api::SignInLogEntry>>);
    let methods = RwSignal::new(None::<Vec<MethodView>>);
    let decision = RwSignal::new(None::<WhatIf>);
    let error = RwSignal::new(None::<ApiError>);
    let days = RwSignal::new("7".to_owned());
    let reason = RwSignal::new(String::new());
    // Each card shows the messages of its own actions, next to them.
    let grace_notice = RwSignal::new(None::<String>);
    let grace_error = RwSignal::new(None::<ApiError>);
    let reason_error = RwSignal::new(None::<String>);
    let reg_notice = RwSignal::new(None::<String>);
    let reg_error = RwSignal::new(None::<ApiError>);
    let operate = my_role().is_some_and(Role::can_operate);
    let id = StoredValue::new(id);
    let username = StoredValue::new(username);
    let load = move || {
        let id = id.get_value();
        spawn_local(async move {
            match api::user_groups(id.clone()).await {
                Ok(g) => groups.set(Some(g)),
                Err(e) => error.set(Some(e)),
            }
            if let Ok(m) = api::user_methods(id.clone()).await {
                methods.set(Some(m));
            }
            if let Ok(w) = api::what_if(id.clone(), None).await {
                decision.set(Some(w));
            }
            if let Ok(s) = api::user_sessions(id).await {
                sessions.set(Some(s));
            }
            if let Ok(p) = api::sign_ins(vec![("user", username.get_value())], None).await {
                sign_ins.set(Some(p.items.into_iter().take(10).collect()));
            }
        });
    };
    load();
    let grace = move |req: GraceRequest, done: &'static str| {
        grace_notice.set(None);
        grace_error.set(None);
        spawn_local(async move {
            match api::set_grace(id.get_value(), req).await {
                Ok(()) => {
                    grace_notice.set(Some(done.into()));
                    reason.set(String::new());
                    load();
                }
                Err(e) => {
                    reason_error.set(e.fields.iter().find(|f| f.field == "reason").map(|f| f.message.clone()));
                    grace_error.set(Some(e));
                }
            }
        });
    };
    // A grace change needs a reason: said at the field, before anything is asked or sent.
    let has_reason = move || {
        let ok = !reason.get_untracked().trim().is_empty();
        reason_error.set((!ok).then(|| "Give a reason: it is kept in the audit log.".to_owned()));
        if !ok {
            if let Some(el) = leptos::prelude::document().get_element_by_id("grace-reason") {
                use leptos::wasm_bindgen::JsCast as _;
                if let Ok(input) = el.dyn_into::<leptos::web_sys::HtmlElement>() {
                    let _ = input.focus();
                }
            }
        }
        ok
    };
    let extend = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !has_reason() {
            return;
        }
        let d = days.get_untracked().trim().parse::<u32>().unwrap_or(0);
        grace(
            GraceRequest { extend_days: Some(d), end_now: false, reason: reason.get_untracked() },
            "The grace period was extended.",
        );
    };
    let end_now = move |_| {
        if has_reason() && confirm("End this user's grace period now? They must register at their next sign-in.") {
            grace(
                GraceRequest { extend_days: None, end_now: true, reason: reason.get_untracked() },
                "The grace period was ended.",
            );
        }
    };
    let reregister = move |_| {
        if !confirm(&format!(
            "Require re-registration for {}? All their sign-in methods are removed and their sessions end.",
            username.get_value()
        )) {
            return;
        }
        spawn_local(async move {
            match api::require_reregistration(id.get_value()).await {
                Ok(()) => {
                    reg_error.set(None);
                    reg_notice.set(Some("Methods removed; the user must register again at their next sign-in.".into()));
                    load();
                }
                Err(e) => reg_error.set(Some(e)),
            }
        });
    };
    view! {
        <ErrorAlert error=error/>
        <section class="card">
            <h2>"Groups"</h2>
            {move || groups.get().map(|gs| if gs.is_empty() {
                view! { <p class="empty">"Not in any group."</p> }.into_any()
            } else {
                view! {
                    <ul class="group-paths" data-testid="user-groups">{gs.into_iter().map(|g| view! {
                        <li>
                            <A href=format!("/groups/{}", crate::logic::encode_component(&g.id))>{g.name.clone()}</A>
                            {(g.path.len() > 1).then(|| view! { <span class="muted">" via " {g.path.join(" → ")}</span> })}
                            {(g.path.len() == 1).then(|| view! { <span class="muted">" (direct)"</span> })}
                        </li>
                    }).collect_view()}</ul>
                }.into_any()
            })}
        </section>
        <section class="card">
            <h2>"Sign-in methods"</h2>
            {move || methods.get().map(|ms| if ms.is_empty() {
                view! { <p class="empty">"No method registered."</p> }.into_any()
            } else {
                view! {
                    <ul>{ms.into_iter().map(|m| view! {
                        <li>{m.kind.label()} " “" {m.name.clone()} "”, added " {format_time(m.created_at)}
                            ", last used " {m.last_used_at.map(format_time).unwrap_or_else(|| "never".into())}</li>
                    }).collect_view()}</ul>
                }.into_any()
            })}
            {operate.then(|| view! {
                <button class="btn btn-secondary" on:click=reregister disabled=move || methods.get().is_none_or(|m| m.is_empty())>"Require re-registration"</button>
            })}
            <ErrorAlert error=reg_error/>
            {move || reg_notice.get().map(|n| view! { <Notice text=n/> })}
        </section>
        <section class="card">
            <h2>"Sessions"</h2>
            {move || sessions.get().map(|ss| if ss.is_empty() {
                view! { <p class="empty">"No live session."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table>
                        <thead><tr><th>"Started"</th><th>"Last seen"</th><th>"IP address"</th><th>"Client"</th><th>"State"</th></tr></thead>
                        <tbody>{ss.into_iter().map(|s| view! {
                            <tr>
                                <td class="nowrap"><Time at=s.created_at/></td>
                                <td class="nowrap"><Time at=s.last_seen_at/></td>
                                <td class="nowrap">{s.ip.clone()}</td>
                                <td class="ua" title=s.user_agent.clone()>{s.user_agent.clone()}</td>
                                <td>{match s.stage.as_str() { "full" => "Signed in", "register_mfa" => "At the registration prompt", "second_factor" => "Waiting for a code", _ => "Choosing a password" }}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            })}
            <p class="hint">"Disable the user or reset their sign-in to end every session."</p>
        </section>
        <section class="card">
            <h2>"Recent sign-ins"</h2>
            {move || sign_ins.get().map(|es| if es.is_empty() {
                view! { <p class="empty">"No sign-in yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table data-testid="recent-sign-ins">
                        <thead><tr><th>"Time"</th><th>"Result"</th><th>"Detail"</th><th>"IP address"</th></tr></thead>
                        <tbody>{es.into_iter().map(|e| view! {
                            <tr>
                                <td class="nowrap"><Time at=e.at/></td>
                                <td>{format!("{:?}", e.result)}</td>
                                <td>{e.reason.clone()}</td>
                                <td class="nowrap">{e.ip.clone()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            })}
            <p><A href="/logs/sign-ins">"All sign-in logs"</A></p>
        </section>
        <section class="card">
            <h2>"MFA registration policy"</h2>
            {move || decision.get().map(|w| view! {
                <ul data-testid="user-decision">{w.explanation.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
            })}
            // Grace actions only for a user the policy prompts (not excluded, not registered).
            {move || (operate && decision.get().is_some_and(|w| matches!(w.decision, DecisionView::Prompt { .. } | DecisionView::Required { .. }))).then(|| view! {
                <form class="grace-form" on:submit=extend novalidate=true>
                    <div class="field inline-field">
                        <label for="grace-extend">"Extend grace by (days)"</label>
                        <input id="grace-extend" type="number" min="1" max="90" prop:value=move || days.get()
                            on:input=move |ev| days.set(event_target_value(&ev))/>
                    </div>
                    <Field id="grace-reason" label="Reason (kept in the audit log)" value=reason error=Signal::derive(move || reason_error.get())/>
                    <div class="actions">
                        <button type="submit" class="btn btn-secondary">"Extend grace period"</button>
                        <button type="button" class="btn btn-secondary" on:click=end_now>"End grace period now"</button>
                    </div>
                </form>
            })}
            {move || grace_error.get().filter(|e| e.fields.is_empty()).map(|e| view! { <ErrorAlert error=Signal::derive(move || Some(e.clone()))/> })}
            {move || grace_notice.get().map(|n| view! { <Notice text=n/> })}
        </section>
    }
}
