//! The users list: search, filters, paging, and the directory CSV import/export.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use proofup_shared::api::{Role, UserView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::time::{MaybeTime, Time};
use crate::logic::{emergency_warning, plural};

use super::{my_role, role_value, ROLES};

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
                            <td class="nowrap"><MaybeTime at=u.last_sign_in_at none="Never"/></td>
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
                    {format!("Imported {}, {}, {}.",
                        plural(r.users_created, "user", "users"),
                        plural(r.groups_created, "group", "groups"),
                        plural(r.memberships_added, "membership", "memberships"))}
                </div>
                {(!r.passes.is_empty()).then(|| view! {
                    <p class="warn-text">"Temporary access passes — shown only now. Give each person theirs."</p>
                    <div class="table-wrap"><table>
                        <thead><tr><th>"Username"</th><th>"Pass"</th><th>"Expires"</th></tr></thead>
                        <tbody>{r.passes.iter().map(|p| view! {
                            <tr><td>{p.username.clone()}</td><td><code>{p.code.clone()}</code></td><td class="nowrap"><Time at=p.expires_at/></td></tr>
                        }).collect_view()}</tbody>
                    </table></div>
                })}
            })}
        </section>
    }
}
