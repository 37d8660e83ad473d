//! One user's page: details, profile (display name, email, emergency access), role,
//! enable/disable, reset sign-in, delete.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use proofup_shared::api::{Role, TemporaryAccessPass, UpdateUserRequest, UserView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::pass::PassPanel;
use crate::components::time::Time;
use crate::session::SessionCtx;

use super::profile::EditProfile;
use super::security::UserSecurity;
use super::{role_from, role_value, ROLES};

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let user = RwSignal::new(None::<UserView>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let pass = RwSignal::new(None::<TemporaryAccessPass>);
    let busy = RwSignal::new(false);
    // Kept here, not in the form: saving redraws the page, and the message must stay.
    let profile_notice = RwSignal::new(None::<String>);
    let role_notice = RwSignal::new(None::<String>);
    let role_error = RwSignal::new(None::<ApiError>);
    // One message at a time: a new answer clears the ones left by other controls.
    let clear = move || {
        notice.set(None);
        error.set(None);
        profile_notice.set(None);
        role_notice.set(None);
        role_error.set(None);
    };
    let navigate = use_navigate();
    let me = expect_context::<SessionCtx>().me.get_untracked();
    let my_role = me.as_ref().map(|m| m.role);
    let my_id = me.map(|m| m.id).unwrap_or_default();

    Effect::new(move |_| {
        let id = id();
        spawn_local(async move {
            match api::user(id).await {
                Ok(u) => user.set(Some(u)),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let can_manage = move |u: &UserView| match my_role {
        Some(Role::GlobalAdministrator) => true,
        Some(Role::SecurityAdministrator) => u.role == Role::User,
        _ => false,
    };
    // `at`: the message and error signals beside the control that asked.
    let update = move |req: UpdateUserRequest,
                       done: &'static str,
                       at: (RwSignal<Option<String>>, RwSignal<Option<ApiError>>)| {
        busy.set(true);
        clear();
        spawn_local(async move {
            match api::update_user(id(), req).await {
                Ok(u) => {
                    at.0.set(Some(format!("{} {done}.", u.display_name)));
                    user.set(Some(u));
                }
                Err(e) => at.1.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let toggle = move |_| {
        let Some(u) = user.get_untracked() else { return };
        let (question, done) = if u.enabled {
            (format!("Disable {}? Their sessions end at once and they cannot sign in.", u.display_name), "was disabled")
        } else {
            (format!("Enable {}?", u.display_name), "was enabled")
        };
        if confirm(&question) {
            update(UpdateUserRequest { enabled: Some(!u.enabled), ..Default::default() }, done, (notice, error));
        }
    };
    let reset = move |_| {
        let Some(u) = user.get_untracked() else { return };
        if !confirm(&format!("Reset sign-in for {}? Their password stops working, their sessions end, and a new temporary access pass is issued.", u.display_name)) {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::reset_sign_in(id()).await {
                Ok(p) => {
                    clear();
                    notice.set(Some("Sign-in was reset.".into()));
                    pass.set(Some(p));
                    if let Ok(u) = api::user(id()).await {
                        user.set(Some(u));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let remove = move |_| {
        let Some(u) = user.get_untracked() else { return };
        if !confirm(&format!(
            "Delete {} ({})? This cannot be undone. Their log entries stay.",
            u.display_name, u.username
        )) {
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::delete_user(id()).await {
                Ok(()) => navigate("/users", Default::default()),
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    // A role is a grant of power: the change asks first, naming the role and what it may do.
    let role_change = move |ev: leptos::ev::Event| {
        let Some(r) = role_from(&event_target_value(&ev)) else { return };
        let name = user.get_untracked().map(|u| u.display_name).unwrap_or_default();
        let question = format!("Make {name} a {}? {}", r.label(), crate::logic::role_powers(r));
        if confirm(&question) {
            update(
                UpdateUserRequest { role: Some(r), ..Default::default() },
                "has a new role",
                (role_notice, role_error),
            );
        } else {
            // Cancelled: draw the page again, so the dropdown shows the role the user still has.
            user.set(user.get_untracked());
        }
    };

    view! {
        <p><A href="/users">"← Users"</A></p>
        {move || user.get().is_none().then(|| view! { <ErrorAlert error=error/> })}
        {move || user.get().map(|u| {
            let manage = can_manage(&u) && u.id != my_id;
            let global = my_role == Some(Role::GlobalAdministrator);
            view! {
                <div class="page-head">
                    <h1>{u.display_name.clone()}</h1>
                    {u.emergency_access.then(|| view! { <span class="badge badge-warn">"Emergency access"</span> })}
                </div>
                // What an administrator comes to do first: role, account actions, profile.
                {manage.then(|| view! {
                    <section class="card">
                        <h2>"Manage"</h2>
                        {global.then(|| view! {
                            <div class="field inline-field">
                                <label for="role">"Role"</label>
                                <select id="role" on:change=role_change disabled=move || busy.get()>
                                    {ROLES.into_iter().map(|r| view! { <option value=role_value(r) selected=r == u.role>{r.label()}</option> }).collect_view()}
                                </select>
                            </div>
                            <ErrorAlert error=role_error/>
                            {move || role_notice.get().map(|n| view! { <Notice text=n/> })}
                        })}
                        <h3>"Account"</h3>
                        <div class="actions">
                            <button class="btn btn-secondary" on:click=toggle disabled=move || busy.get()>
                                {if u.enabled { "Disable user" } else { "Enable user" }}
                            </button>
                            <button class="btn btn-secondary" on:click=reset disabled=move || busy.get()>"Reset sign-in"</button>
                            <button class="btn btn-danger" on:click=remove.clone() disabled=move || busy.get()>"Delete user"</button>
                        </div>
                        // What these actions answer appears here, beside them.
                        <ErrorAlert error=error/>
                        {move || notice.get().map(|n| view! { <Notice text=n/> })}
                        {move || pass.get().zip(user.get()).map(|(p, u)| view! { <PassPanel pass=p username=u.username/> })}
                        <EditProfile user=u.clone() global=global notice=profile_notice on_saved=Callback::new(move |v| {
                            notice.set(None);
                            role_notice.set(None);
                            user.set(Some(v));
                        })/>
                    </section>
                })}
                <section class="card">
                    <h2>{if manage { "Sign-in" } else { "Profile" }}</h2>
                    <dl class="facts">
                        <dt>"Username"</dt><dd>{u.username.clone()}</dd>
                        // The editor above shows the email and the role to those who manage the user.
                        {(!manage).then(|| view! {
                            <dt>"Email"</dt><dd>{u.email.clone().unwrap_or_else(|| "—".into())}
                                {u.email.is_some().then(|| if u.email_verified {
                                    view! { " " <span class="badge badge-ok">"Confirmed"</span> }.into_any()
                                } else {
                                    view! { " " <span class="badge">"Not confirmed"</span> }.into_any()
                                })}</dd>
                        })}
                        {(!(manage && global)).then(|| view! {
                            <dt>"Role"</dt><dd>{u.role.label()}</dd>
                        })}
                        <dt>"Status"</dt><dd>{if u.enabled { "Enabled" } else { "Disabled" }}</dd>
                        <dt>"Password"</dt><dd>{if u.has_password { "Set" } else { "Not set yet (temporary access pass)" }}</dd>
                        <dt>"Created"</dt><dd><Time at=u.created_at/></dd>
                        <dt>"Last sign-in"</dt><dd data-testid="last-sign-in">{match u.last_sign_in_at {
                            Some(t) => view! { <Time at=t/> }.into_any(),
                            None => "Never".into_any(),
                        }}</dd>
                    </dl>
                </section>
                <UserSecurity id=u.id.clone() username=u.username.clone()/>
            }
        })}
    }
}
