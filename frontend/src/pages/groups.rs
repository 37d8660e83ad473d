//! Groups: list with search and create; detail with members (users and nested groups).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use proofup_shared::directory::{DirectoryRef, GroupDetail, GroupView, MemberKind};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::field::Field;
use crate::components::picker::DirectoryPicker;
use crate::logic::encode_component;
use crate::session::SessionCtx;

fn can_manage() -> bool {
    SessionCtx::get().can_manage_security()
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let items = RwSignal::new(Vec::<GroupView>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let field_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let manage = can_manage();

    let load = move |after: Option<String>| {
        let text = q.get_untracked();
        spawn_local(async move {
            match api::groups(text, after.clone()).await {
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
        });
    };
    Effect::new(move |_| {
        let _ = q.get();
        load(None);
    });
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let (n, d) = (name.get_untracked(), description.get_untracked());
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_group(n, d).await {
                Ok(g) => navigate(&format!("/groups/{}?created=1", encode_component(&g.id)), Default::default()),
                Err(e) => {
                    field_error.set(e.fields.first().map(|f| f.message.clone()).or_else(|| Some(e.message.clone())));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <div class="page-head"><h1>"Groups"</h1></div>
        <p class="muted">"Groups hold users and other groups. Membership through nested groups counts everywhere, including the MFA registration policy."</p>
        <ErrorAlert error=error/>
        {manage.then(|| view! {
            <form class="card form-card" on:submit=create novalidate=true>
                <h2>"New group"</h2>
                <Field id="group-name" label="Name" value=name error=Signal::derive(move || field_error.get())/>
                <Field id="group-description" label="Description (optional)" value=description/>
                <button type="submit" class="btn btn-primary" disabled=move || busy.get()>"Create group"</button>
            </form>
        })}
        <div class="toolbar">
            <div class="field">
                <label for="group-search">"Search by name"</label>
                <input id="group-search" type="search" prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            </div>
        </div>
        <div class="table-wrap"><table>
            <thead><tr><th>"Name"</th><th>"Description"</th><th>"Direct members"</th></tr></thead>
            <tbody>
                {move || items.get().into_iter().map(|g| view! {
                    <tr>
                        <td><A href=format!("/groups/{}", encode_component(&g.id))>{g.name.clone()}</A></td>
                        <td>{g.description.clone()}</td>
                        <td>{g.member_count}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
        {move || items.get().is_empty().then(|| view! { <p class="empty">"No groups yet."</p> })}
        {move || next.get().map(|n| view! {
            <button class="btn btn-secondary" on:click=move |_| load(Some(n.clone()))>"Load more"</button>
        })}
    }
}

#[component]
pub fn GroupDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let detail = RwSignal::new(None::<GroupDetail>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    // Each card shows the messages of its own controls.
    let delete_error = RwSignal::new(None::<ApiError>);
    let navigate = use_navigate();
    let manage = can_manage();

    let load = move || {
        let id = id();
        spawn_local(async move {
            match api::group(id).await {
                Ok(d) => detail.set(Some(d)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        let _ = id();
        load();
    });
    let add = Callback::new(move |r: DirectoryRef| {
        spawn_local(async move {
            match api::add_member(id(), r.kind, r.id.clone()).await {
                Ok(()) => {
                    notice.set(Some(format!("{} was added.", r.name)));
                    error.set(None);
                    load();
                }
                Err(e) => {
                    notice.set(None);
                    error.set(Some(e));
                }
            }
        });
    });
    let remove = move |r: DirectoryRef| {
        let group = detail.get_untracked().map(|d| d.group.name).unwrap_or_default();
        if !confirm(&format!("Remove {} from {group}?", r.name)) {
            return;
        }
        spawn_local(async move {
            match api::remove_member(id(), r.kind, r.id.clone()).await {
                Ok(()) => {
                    notice.set(Some(format!("{} was removed.", r.name)));
                    error.set(None);
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |_| {
        let Some(d) = detail.get_untracked() else { return };
        if !confirm(&format!(
            "Delete the group {}? It leaves every group it is in; its members are not deleted.",
            d.group.name
        )) {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::delete_group(id()).await {
                Ok(()) => navigate("/groups", Default::default()),
                Err(e) => delete_error.set(Some(e)),
            }
        });
    };
    view! {
        <p><A href="/groups">"← Groups"</A></p>
        {move || detail.get().is_none().then(|| view! { <ErrorAlert error=error/> })}
        {move || detail.get().map(|d| {
            let members = d.members.clone();
            view! {
                <div class="page-head"><h1>{d.group.name.clone()}</h1></div>
                {(!d.group.description.is_empty()).then(|| view! { <p class="muted">{d.group.description.clone()}</p> })}
                {(!d.member_of.is_empty()).then(|| view! {
                    <p>"Member of: " {d.member_of.clone().into_iter().map(|p| view! {
                        <A href=format!("/groups/{}", encode_component(&p.id)) attr:class="chip">{p.name.clone()}</A>
                    }).collect_view()}</p>
                })}
                <section class="card">
                    <h2>"Members"</h2>
                    {manage.then(|| view! { <DirectoryPicker id="add-member" label="Add a user or group" on_pick=add/> })}
                    <ErrorAlert error=error/>
                    {move || notice.get().map(|n| view! { <Notice text=n/> })}
                    {if members.is_empty() {
                        view! { <p class="empty">"No members yet."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap"><table>
                                <thead><tr><th>"Type"</th><th>"Name"</th><th>"Details"</th>{manage.then(|| view! { <th><span class="sr-only">"Actions"</span></th> })}</tr></thead>
                                <tbody>
                                    {members.into_iter().map(|m| {
                                        let href = if m.kind == MemberKind::Group { format!("/groups/{}", encode_component(&m.id)) } else { format!("/users/{}", encode_component(&m.id)) };
                                        let m2 = m.clone();
                                        view! {
                                            <tr>
                                                <td><span class="badge">{if m.kind == MemberKind::Group { "Group" } else { "User" }}</span></td>
                                                <td><A href=href>{m.name.clone()}</A></td>
                                                <td>{m.detail.clone()}</td>
                                                {manage.then(|| view! { <td><button class="btn btn-secondary" on:click=move |_| remove(m2.clone())>"Remove"</button></td> })}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }}
                </section>
                {manage.then(|| view! {
                    <section class="card">
                        <h2>"Delete group"</h2>
                        {if d.named_by_policy {
                            view! {
                                <p class="warn-text" id="delete-unavailable">
                                    "The MFA registration policy names this group, so it cannot be deleted. Remove it from the "
                                    <A href="/policy/mfa-registration">"MFA registration policy"</A> " first."
                                </p>
                                <button class="btn btn-danger" disabled=true aria-describedby="delete-unavailable">"Delete group"</button>
                            }.into_any()
                        } else {
                            view! {
                                <p class="muted">"Members are not deleted."</p>
                                <button class="btn btn-danger" on:click=delete.clone()>"Delete group"</button>
                            }.into_any()
                        }}
                        <ErrorAlert error=delete_error/>
                    </section>
                })}
            }
        })}
    }
}
