//! Users: list with search and filters, create (shows the pass once), detail with actions.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use proofup_shared::api::{CreateUserRequest, Role, TemporaryAccessPass, UpdateUserRequest, UserView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::field::Field;
use crate::components::pass::PassPanel;
use crate::logic::{emergency_warning, format_time};
use crate::session::SessionCtx;

const ROLES: [Role; 5] =
    [Role::User, Role::SecurityReader, Role::SecurityOperator, Role::SecurityAdministrator, Role::GlobalAdministrator];

fn role_value(r: Role) -> String {
    serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn role_from(v: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| role_value(*r) == v)
}

fn my_role() -> Option<Role> {
    SessionCtx::get().role()
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let emergency = RwSignal::new(false);
    let items = RwSignal::new(Vec::<UserView>::new());
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let warning = RwSignal::new(None::<String>);
    let can_create = my_role().is_some_and(Role::can_manage_security);

    let load = move |after: Option<String>| {
        let mut pairs =
            vec![("q", q.get_untracked()), ("role", role.get_untracked()), ("enabled", status.get_untracked())];
        if emergency.get_untracked() {
            pairs.push(("emergency_access", "true".into()));
        }
        if let Some(a) = after.clone() {
            pairs.push(("after", a));
        }
        loading.set(true);
        spawn_local(async move {
            match api::users(pairs).await {
                Ok(page) => {
                    if after.is_some() {
                        items.update(|v| v.extend(page.items));
                    } else {
                        items.set(page.items);
                    }
                    next.set(page.next_after);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    // Reload whenever a filter changes.
    Effect::new(move |_| {
        let _ = (q.get(), role.get(), status.get(), emergency.get());
        load(None);
    });
    spawn_local(async move {
        if let Ok(p) = api::users(vec![("emergency_access", "true".into()), ("limit", "2".into())]).await {
            warning.set(emergency_warning(p.items.len()));
        }
    });

    view! {
        <div class="page-head">
            <h1>"Users"</h1>
            {can_create.then(|| view! { <A href="/users/new" attr:class="btn btn-primary">"New user"</A> })}
        </div>
        {move || warning.get().map(|w| view! { <div class="alert alert-warn" role="status">{w}</div> })}
        <div class="toolbar" role="search">
            <div class="field">
                <label for="user-search">"Search by username"</label>
                <input id="user-search" type="search" placeholder="Starts with…" prop:value=move || q.get()
                    on:input=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="role-filter">"Role"</label>
                <select id="role-filter" on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="">"Any role"</option>
                    {ROLES.into_iter().map(|r| view! { <option value=role_value(r)>{r.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="status-filter">"Status"</label>
                <select id="status-filter" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"Any"</option>
                    <option value="true">"Enabled"</option>
                    <option value="false">"Disabled"</option>
                </select>
            </div>
            <label class="check">
                <input type="checkbox" prop:checked=move || emergency.get() on:change=move |ev| emergency.set(event_target_checked(&ev))/>
                " Emergency access only"
            </label>
        </div>
        <ErrorAlert error=error/>
        <div class="table-wrap">
            <table>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Username"</th><th scope="col">"Role"</th>
                    <th scope="col">"Status"</th><th scope="col">"MFA"</th><th scope="col">"Last sign-in"</th>
                </tr></thead>
                <tbody>
                    <For each=move || items.get() key=|u| (u.id.clone(), u.updated_at) let:u>
                        <tr>
                            <td>
                                <A href=format!("/users/{}", u.id)>{u.display_name.clone()}</A>
                                {u.emergency_access.then(|| view! { " " <span class="badge badge-warn">"Emergency access"</span> })}
                            </td>
                            <td>{u.username.clone()}</td>
                            <td>{u.role.label()}</td>
                            <td>{if u.enabled { view! { <span class="badge badge-ok">"Enabled"</span> } } else { view! { <span class="badge badge-bad">"Disabled"</span> } }}</td>
                            <td>{if u.methods > 0 { view! { <span class="badge badge-ok">{format!("Registered ({})", u.methods)}</span> }.into_any() } else { view! { <span class="muted">"Not registered"</span> }.into_any() }}</td>
                            <td class="nowrap">{u.last_sign_in_at.map(format_time).unwrap_or_else(|| "Never".into())}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || !loading.get() && items.with(Vec::is_empty) && error.get().is_none()>
                <p class="empty">"No users match."</p>
            </Show>
        </div>
        <Show when=move || next.get().is_some()>
            <button class="btn btn-secondary" disabled=move || loading.get() on:click=move |_| load(next.get_untracked())>
                "Load more"
            </button>
        </Show>
        <ImportExport can_import=can_create/>
    }
}

/// CSV export of users and groups, and an all-or-nothing import.
#[component]
fn ImportExport(can_import: bool) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let result = RwSignal::new(None::<proofup_shared::directory::ImportResult>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        result.set(None);
        let csv = text.get_untracked();
        spawn_local(async move {
            match api::import_directory(csv).await {
                Ok(r) => {
                    result.set(Some(r));
                    text.set(String::new());
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card import-export">
            <h2>"Import and export"</h2>
            <p><a class="btn btn-secondary" href="/api/directory/export" download="proofup-directory.csv">"Download users and groups (CSV)"</a></p>
            {can_import.then(|| view! {
                <form on:submit=submit>
                    <div class="field">
                        <label for="import-csv">"Import CSV"</label>
                        <textarea id="import-csv" rows="6" spellcheck="false" placeholder=proofup_shared::directory::CSV_HEADER
                            prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                        <p class="hint">"Columns: " <code>{proofup_shared::directory::CSV_HEADER}</code>
                            ". kind is user or group; member_of lists groups separated by ;. Every line is checked first: if any is wrong, nothing is imported."</p>
                    </div>
                    <button type="submit" class="btn btn-primary" disabled=move || busy.get() || text.get().trim().is_empty()>"Import"</button>
                </form>
            })}
            {move || error.get().map(|e| view! {
                <div class="alert alert-error" role="alert">
                    {e.message.clone()}
                    <ul>{e.fields.iter().map(|f| view! { <li><strong>{f.field.clone()}</strong> ": " {f.message.clone()}</li> }).collect_view()}</ul>
                </div>
            })}
            {move || result.get().map(|r| view! {
                <div class="alert alert-info" role="status">
                    {format!("Imported {} users, {} groups, {} memberships.", r.users_created, r.groups_created, r.memberships_added)}
                </div>
                {(!r.passes.is_empty()).then(|| view! {
                    <p class="warn-text">"Temporary access passes — shown only now. Give each person theirs."</p>
                    <div class="table-wrap"><table>
                        <thead><tr><th>"Username"</th><th>"Pass"</th><th>"Expires"</th></tr></thead>
                        <tbody>{r.passes.iter().map(|p| view! {
                            <tr><td>{p.username.clone()}</td><td><code>{p.code.clone()}</code></td><td class="nowrap">{format_time(p.expires_at)}</td></tr>
                        }).collect_view()}</tbody>
                    </table></div>
                })}
            })}
        </section>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let me = my_role();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::User);
    let emergency = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let fields = RwSignal::new(Vec::<(String, String)>::new());
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<(UserView, TemporaryAccessPass)>);
    let err_for =
        move |n: &'static str| Signal::derive(move || fields.get().into_iter().find(|(f, _)| f == n).map(|(_, m)| m));
    let assignable: Vec<Role> =
        ROLES.into_iter().filter(|r| me == Some(Role::GlobalAdministrator) || *r == Role::User).collect();
    let global = me == Some(Role::GlobalAdministrator);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = CreateUserRequest {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            email: Some(email.get_untracked()),
            role: role.get_untracked(),
            emergency_access: emergency.get_untracked(),
        };
        spawn_local(async move {
            match api::create_user(req).await {
                Ok(r) => {
                    fields.set(Vec::new());
                    created.set(Some((r.user, r.temporary_access_pass)));
                }
                Err(e) => {
                    fields.set(e.fields.iter().map(|f| (f.field.clone(), f.message.clone())).collect());
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <p><A href="/users">"← Users"</A></p>
        <h1>"New user"</h1>
        <Show
            when=move || created.get().is_none()
            fallback=move || created.get().map(|(u, pass)| view! {
                <Notice text=format!("{} was created.", u.display_name)/>
                <PassPanel pass=pass username=u.username.clone()/>
                <p class="actions">
                    <A href=format!("/users/{}", u.id) attr:class="btn btn-primary">"Open the user"</A>
                    <A href="/users" attr:class="btn btn-secondary">"Back to users"</A>
                </p>
            })
        >
            <form class="card form-card" on:submit=submit novalidate=true>
                <p class="muted">"You never choose a user's password: Proofup issues a one-time temporary access pass, and the user chooses their password at first sign-in."</p>
                <ErrorAlert error=error/>
                <Field id="username" label="Username" value=username autofocus=true error=err_for("username")
                    hint=Signal::derive(|| "Letters, digits and . _ - @ (not case-sensitive).".to_owned())/>
                <Field id="display_name" label="Display name" value=display_name error=err_for("display_name")/>
                <Field id="email" label="Email (optional)" value=email kind="email" error=err_for("email")/>
                <div class="field">
                    <label for="role">"Role"</label>
                    <select id="role" on:change=move |ev| if let Some(r) = role_from(&event_target_value(&ev)) { role.set(r) }>
                        {assignable.iter().map(|r| view! { <option value=role_value(*r) selected=*r == Role::User>{r.label()}</option> }).collect_view()}
                    </select>
                </div>
                {global.then(|| view! {
                    <label class="check">
                        <input type="checkbox" on:change=move |ev| emergency.set(event_target_checked(&ev))/>
                        " Emergency-access (break-glass) account"
                    </label>
                })}
                <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create user" }}
                </button>
            </form>
        </Show>
    }
}

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let user = RwSignal::new(None::<UserView>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let pass = RwSignal::new(None::<TemporaryAccessPass>);
    let busy = RwSignal::new(false);
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
    let update = move |req: UpdateUserRequest, done: &'static str| {
        busy.set(true);
        spawn_local(async move {
            match api::update_user(id(), req).await {
                Ok(u) => {
                    notice.set(Some(format!("{} {done}.", u.display_name)));
                    error.set(None);
                    user.set(Some(u));
                }
                Err(e) => error.set(Some(e)),
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
            update(UpdateUserRequest { enabled: Some(!u.enabled), ..Default::default() }, done);
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
                    notice.set(Some("Sign-in was reset.".into()));
                    error.set(None);
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
            update(UpdateUserRequest { role: Some(r), ..Default::default() }, "has a new role");
        } else {
            // Cancelled: draw the page again, so the dropdown shows the role the user still has.
            user.set(user.get_untracked());
        }
    };

    view! {
        <p><A href="/users">"← Users"</A></p>
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <Notice text=n/> })}
        {move || pass.get().zip(user.get()).map(|(p, u)| view! { <PassPanel pass=p username=u.username/> })}
        {move || user.get().map(|u| {
            let manage = can_manage(&u) && u.id != my_id;
            let global = my_role == Some(Role::GlobalAdministrator);
            view! {
                <div class="page-head">
                    <h1>{u.display_name.clone()}</h1>
                    {u.emergency_access.then(|| view! { <span class="badge badge-warn">"Emergency access"</span> })}
                </div>
                <section class="card">
                    <h2>"Profile"</h2>
                    <dl class="facts">
                        <dt>"Username"</dt><dd>{u.username.clone()}</dd>
                        <dt>"Email"</dt><dd>{u.email.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Role"</dt><dd>{u.role.label()}</dd>
                        <dt>"Status"</dt><dd>{if u.enabled { "Enabled" } else { "Disabled" }}</dd>
                        <dt>"Password"</dt><dd>{if u.has_password { "Set" } else { "Not set yet (temporary access pass)" }}</dd>
                        <dt>"Created"</dt><dd>{format_time(u.created_at)}</dd>
                        <dt>"Last sign-in"</dt><dd data-testid="last-sign-in">{u.last_sign_in_at.map(format_time).unwrap_or_else(|| "Never".into())}</dd>
                    </dl>
                </section>
                <UserSecurity id=u.id.clone() username=u.username.clone()/>
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
                        })}
                        <div class="actions">
                            <button class="btn btn-secondary" on:click=toggle disabled=move || busy.get()>
                                {if u.enabled { "Disable user" } else { "Enable user" }}
                            </button>
                            <button class="btn btn-secondary" on:click=reset disabled=move || busy.get()>"Reset sign-in"</button>
                            <button class="btn btn-danger" on:click=remove.clone() disabled=move || busy.get()>"Delete user"</button>
                        </div>
                    </section>
                })}
            }
        })}
    }
}

/// Groups (with the nesting path), sign-in methods and MFA registration status of one user.
#[component]
fn UserSecurity(id: String, username: String) -> impl IntoView {
    use proofup_shared::directory::UserGroup;
    use proofup_shared::mfa::MethodView;
    use proofup_shared::policy::{GraceRequest, WhatIf};
    let groups = RwSignal::new(None::<Vec<UserGroup>>);
    let sessions = RwSignal::new(None::<Vec<proofup_shared::api::SessionView>>);
    let sign_ins = RwSignal::new(None::<Vec<proofup_shared::api::SignInLogEntry>>);
    let methods = RwSignal::new(None::<Vec<MethodView>>);
    let decision = RwSignal::new(None::<WhatIf>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let days = RwSignal::new("7".to_owned());
    let reason = RwSignal::new(String::new());
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
        spawn_local(async move {
            match api::set_grace(id.get_value(), req).await {
                Ok(()) => {
                    notice.set(Some(done.into()));
                    error.set(None);
                    reason.set(String::new());
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let extend = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = days.get_untracked().trim().parse::<u32>().unwrap_or(0);
        grace(
            GraceRequest { extend_days: Some(d), end_now: false, reason: reason.get_untracked() },
            "The grace period was extended.",
        );
    };
    let end_now = move |_| {
        if confirm("End this user's grace period now? They must register at their next sign-in.") {
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
                    notice.set(Some("Methods removed; the user must register again at their next sign-in.".into()));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <Notice text=n/> })}
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
                                <td class="nowrap">{format_time(s.created_at)}</td>
                                <td class="nowrap">{format_time(s.last_seen_at)}</td>
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
                                <td class="nowrap">{format_time(e.at)}</td>
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
            {operate.then(|| view! {
                <form class="grace-form" on:submit=extend novalidate=true>
                    <div class="field inline-field">
                        <label for="grace-extend">"Extend grace by (days)"</label>
                        <input id="grace-extend" type="number" min="1" max="90" prop:value=move || days.get()
                            on:input=move |ev| days.set(event_target_value(&ev))/>
                    </div>
                    <Field id="grace-reason" label="Reason (kept in the audit log)" value=reason/>
                    <div class="actions">
                        <button type="submit" class="btn btn-secondary">"Extend grace period"</button>
                        <button type="button" class="btn btn-secondary" on:click=end_now>"End grace period now"</button>
                    </div>
                </form>
            })}
        </section>
    }
}
