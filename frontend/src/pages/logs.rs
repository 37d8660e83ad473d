//! Sign-in and audit logs, newest first, with "Load more" paging.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::api::{AuditEntry, Page, SignInLogEntry, SignInResult};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::time::Time;

/// Loads pages into a growing list.
struct Pager<T: Send + Sync + 'static> {
    items: RwSignal<Vec<T>>,
    next: RwSignal<Option<String>>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
}

impl<T: Send + Sync + 'static> Clone for Pager<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for Pager<T> {}

impl<T: Clone + Send + Sync + 'static> Pager<T> {
    fn new() -> Self {
        Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// Starts over (a filter changed).
    fn restart<F, Fut>(self, fetch: F)
    where
        F: FnOnce(Option<String>) -> Fut + 'static,
        Fut: Future<Output = Result<Page<T>, ApiError>> + 'static,
    {
        self.items.set(Vec::new());
        self.next.set(None);
        self.load(fetch, None);
    }

    fn load<F, Fut>(self, fetch: F, after: Option<String>)
    where
        F: FnOnce(Option<String>) -> Fut + 'static,
        Fut: Future<Output = Result<Page<T>, ApiError>> + 'static,
    {
        self.loading.set(true);
        spawn_local(async move {
            match fetch(after).await {
                Ok(page) => {
                    self.items.update(|v| v.extend(page.items));
                    self.next.set(page.next_after);
                    self.error.set(None);
                }
                Err(e) => self.error.set(Some(e)),
            }
            self.loading.set(false);
        });
    }
}

#[component]
fn LoadMore(next: RwSignal<Option<String>>, loading: RwSignal<bool>, on_more: Callback<()>) -> impl IntoView {
    view! {
        <Show when=move || next.get().is_some()>
            <button class="btn btn-secondary" disabled=move || loading.get() on:click=move |_| on_more.run(())>
                {move || if loading.get() { "Loading…" } else { "Load more" }}
            </button>
        </Show>
    }
}

fn result_badge(r: SignInResult) -> impl IntoView {
    let (class, text) = match r {
        SignInResult::Success => ("badge badge-ok", "Success"),
        SignInResult::Failure => ("badge badge-bad", "Failure"),
        SignInResult::Throttled => ("badge badge-warn", "Throttled"),
        SignInResult::Blocked => ("badge badge-bad", "Blocked"),
    };
    view! { <span class=class>{text}</span> }
}

#[component]
pub fn SignInLogPage() -> impl IntoView {
    let pager = Pager::<SignInLogEntry>::new();
    let (user, result, from, to, application) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    // The applications to filter by (names, as the log keeps them).
    let apps = RwSignal::new(Vec::<String>::new());
    leptos::task::spawn_local(async move {
        if let Ok(list) = api::applications().await {
            let mut names: Vec<String> = list.into_iter().map(|a| a.name).collect();
            names.sort();
            apps.set(names);
        }
    });
    let filters = move || {
        vec![
            ("user", user.get_untracked()),
            ("result", result.get_untracked()),
            ("from", from.get_untracked()),
            ("to", to.get_untracked()),
            ("application", application.get_untracked()),
        ]
    };
    Effect::new(move |_| {
        let _ = (user.get(), result.get(), from.get(), to.get(), application.get());
        let f = filters();
        pager.restart(move |after| api::sign_ins(f, after));
    });
    view! {
        <h1>"Sign-in logs"</h1>
        <p class="muted">"Every sign-in attempt, newest first: successes, failures and why, and what the MFA registration policy did."</p>
        <div class="toolbar">
            <TextFilter id="f-user" label="Username" value=user/>
            <div class="field">
                <label for="f-result">"Result"</label>
                <select id="f-result" on:change=move |ev| result.set(event_target_value(&ev))>
                    <option value="">"Any"</option>
                    <option value="success">"Success"</option>
                    <option value="failure">"Failure"</option>
                    <option value="throttled">"Throttled"</option>
                    <option value="blocked">"Blocked"</option>
                </select>
            </div>
            <div class="field">
                <label for="f-application">"Application"</label>
                <select id="f-application" on:change=move |ev| application.set(event_target_value(&ev))>
                    <option value="">"Any"</option>
                    <For each=move || apps.get() key=|n| n.clone() let:n>
                        <option value=n.clone()>{n.clone()}</option>
                    </For>
                </select>
            </div>
            <DateFilter id="f-from" label="From" value=from/>
            <DateFilter id="f-to" label="To" value=to/>
        </div>
        <ErrorAlert error=pager.error/>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"Time"</th><th scope="col">"User"</th><th scope="col">"Application"</th><th scope="col">"Result"</th><th scope="col">"Detail"</th><th scope="col">"From"</th><th scope="col">"Client"</th></tr></thead>
                <tbody>
                    <For each=move || pager.items.get() key=|e| e.id.clone() let:e>
                        <tr>
                            <td class="nowrap"><Time at=e.at/></td>
                            <td data-user=e.username.clone()>{e.username.clone()}</td>
                            <td data-application=e.application.clone().unwrap_or_default()>
                                {e.application.clone().unwrap_or_else(|| "Proofup portal".to_owned())}
                                {(!e.interactive).then(|| view! { <span class="muted small">" · non-interactive"</span> })}
                            </td>
                            <td>{result_badge(e.result)}</td>
                            <td>
                                {e.reason.clone()}
                                {(e.count > 1).then(|| view! {
                                    <div class="muted small" data-testid="attempt-count">
                                        {format!("{} attempts from this address this minute, naming no known user (the last name tried is shown)", crate::logic::thousands(u64::from(e.count)))}
                                    </div>
                                })}
                            </td>
                            <td>
                                <span class="nowrap">{e.ip.clone()}</span>
                                {e.place.as_ref().map(|p| view! { <div class="muted small" data-testid="place">{p.describe()}</div> })}
                            </td>
                            <td class="ua" title=e.user_agent.clone()>{crate::logic::describe_user_agent(&e.user_agent)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || !pager.loading.get() && pager.items.with(Vec::is_empty) && pager.error.get().is_none()>
                <p class="empty">"No sign-in attempts match."</p>
            </Show>
        </div>
        <LoadMore next=pager.next loading=pager.loading on_more=Callback::new(move |()| { let f = filters(); pager.load(move |a| api::sign_ins(f, a), pager.next.get_untracked()) })/>
    }
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let pager = Pager::<AuditEntry>::new();
    let (actor, target, action, from, to) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let filters = move || {
        vec![
            ("actor", actor.get_untracked()),
            ("target", target.get_untracked()),
            ("action", action.get_untracked()),
            ("from", from.get_untracked()),
            ("to", to.get_untracked()),
        ]
    };
    Effect::new(move |_| {
        let _ = (actor.get(), target.get(), action.get(), from.get(), to.get());
        let f = filters();
        pager.restart(move |after| api::audit(f, after));
    });
    view! {
        <h1>"Audit logs"</h1>
        <p class="muted">"Every administrative change, newest first: who, what, when, and from where."</p>
        <div class="toolbar">
            <TextFilter id="f-actor" label="Actor (username)" value=actor/>
            <TextFilter id="f-target" label="Target contains" value=target/>
            <TextFilter id="f-action" label="Action starts with" value=action/>
            <DateFilter id="f-from" label="From" value=from/>
            <DateFilter id="f-to" label="To" value=to/>
        </div>
        <ErrorAlert error=pager.error/>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"Time"</th><th scope="col">"Actor"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Changes"</th><th scope="col">"IP address"</th></tr></thead>
                <tbody>
                    <For each=move || pager.items.get() key=|e| e.id.clone() let:e>
                        <tr>
                            <td class="nowrap"><Time at=e.at/></td>
                            <td>{e.actor.clone()}</td>
                            <td><code>{e.action.clone()}</code></td>
                            <td>{e.target.clone()}</td>
                            <td>
                                <ul class="changes">
                                    {e.changes.iter().map(|c| view! {
                                        <li>
                                            <span class="change-field">{crate::logic::field_label(&c.field)}</span>": "
                                            {change_value(c.before.clone())}" → "{change_value(c.after.clone())}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </td>
                            <td class="nowrap">{e.ip.clone()}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || !pager.loading.get() && pager.items.with(Vec::is_empty) && pager.error.get().is_none()>
                <p class="empty">"No audit entries match."</p>
            </Show>
        </div>
        <LoadMore next=pager.next loading=pager.loading on_more=Callback::new(move |()| { let f = filters(); pager.load(move |a| api::audit(f, a), pager.next.get_untracked()) })/>
    }
}

/// A text filter that applies as the user types (300 ms after the last key), or at once on Enter.
#[component]
fn TextFilter(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let cancel = move || {
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        pending.set_value(None);
    };
    let on_input = move |ev: leptos::ev::Event| {
        cancel();
        let text = event_target_value(&ev);
        let handle = set_timeout_with_handle(
            move || {
                if value.get_untracked() != text {
                    value.set(text);
                }
            },
            std::time::Duration::from_millis(300),
        );
        pending.set_value(handle.ok());
    };
    let on_change = move |ev: leptos::ev::Event| {
        cancel();
        let text = event_target_value(&ev);
        if value.get_untracked() != text {
            value.set(text);
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="search" prop:value=move || value.get() on:input=on_input on:change=on_change/>
        </div>
    }
}

#[component]
fn DateFilter(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id type="date" prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

/// A value in an audit change: a time the server wrote is shown like every other time.
fn change_value(v: Option<String>) -> AnyView {
    match v {
        None => "—".into_any(),
        Some(v) => match crate::logic::parse_utc_text(&v) {
            Some(at) => view! { <Time at=at/> }.into_any(),
            None => v.into_any(),
        },
    }
}
