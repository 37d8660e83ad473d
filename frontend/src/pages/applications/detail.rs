//! One application: how to connect it, its settings, a new secret, deleting it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use proofup_shared::apps::{ApplicationView, ClientKind, RotatedSecret};
use proofup_shared::ApiError;

use super::form::{AppFields, AppForm};
use super::{ConnectionFacts, SecretPanel};
use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::confirm::confirm;
use crate::logic::format_time;
use crate::session::SessionCtx;

#[component]
pub fn ApplicationDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let app = RwSignal::new(None::<ApplicationView>);
    let error = RwSignal::new(None::<ApiError>);
    let form = AppForm::new();
    let manage = SessionCtx::get().can_manage_security();
    let loaded = Memo::new(move |_| app.with(Option::is_some));
    Effect::new(move |_| {
        let id = id();
        spawn_local(async move {
            match api::application(id).await {
                Ok(a) => {
                    form.fill(&a);
                    app.set(Some(a));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    view! {
        <p><A href="/applications">"← Applications"</A></p>
        <ErrorAlert error=error/>
        // Built once the application is loaded; the cards read it reactively, so saving in one
        // card does not rebuild the others (and their messages stay).
        <Show when=move || loaded.get()>
            {move || app.get_untracked().map(|a| {
                let confidential = a.kind == ClientKind::Confidential;
                view! {
                    <div class="page-head">
                        <h1>{move || app.with(|a| a.as_ref().map(|a| a.name.clone()).unwrap_or_default())}</h1>
                        {move || if app.with(|a| a.as_ref().is_some_and(|a| a.enabled)) {
                            view! { <span class="badge badge-ok">"Enabled"</span> }.into_any()
                        } else {
                            view! { <span class="badge">"Disabled"</span> }.into_any()
                        }}
                    </div>
                    <section class="card">
                        <h2>"Connect the application"</h2>
                        <ConnectionFacts id=a.id.clone()/>
                        <p class="muted small">{format!("Registered {}. ", format_time(a.created_at))}
                            {move || app.with(|a| a.as_ref().and_then(|a| a.secret_issued_at)).map(|t| format!("Secret issued {}.", format_time(t)))}</p>
                    </section>
                    <Settings app=app form=form editable=manage/>
                    {(manage && confidential).then(|| view! { <NewSecret app=app/> })}
                    {manage.then(|| view! { <DeleteApp app=app/> })}
                }
            })}
        </Show>
    }
}

#[component]
fn Settings(app: RwSignal<Option<ApplicationView>>, form: AppForm, editable: bool) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(id) = app.get_untracked().map(|a| a.id) else { return };
        busy.set(true);
        saved.set(None);
        let req = form.request();
        spawn_local(async move {
            match api::update_application(id, req).await {
                Ok(a) => {
                    form.fill(&a);
                    saved.set(Some(format!("Saved the settings of {}.", a.name)));
                    app.set(Some(a));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card app-form" on:submit=save novalidate=true aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <AppFields form=form error=error creating=false editable=editable/>
            {move || error.get().filter(|e| e.fields.is_empty()).map(|e| view! { <div class="alert alert-error" role="alert">{e.message}</div> })}
            {move || error.get().filter(|e| !e.fields.is_empty()).map(|_| view! { <p class="field-error" role="alert">"Fix the fields marked above."</p> })}
            {move || saved.get().map(|m| view! { <p class="alert alert-info" role="status">{m}</p> })}
            {editable.then(|| view! {
                <button type="submit" class="btn btn-primary" disabled=move || busy.get()>"Save settings"</button>
            })}
        </form>
    }
}

#[component]
fn NewSecret(app: RwSignal<Option<ApplicationView>>) -> impl IntoView {
    let overlap = RwSignal::new(String::from("24"));
    let error = RwSignal::new(None::<ApiError>);
    let rotated = RwSignal::new(None::<RotatedSecret>);
    let rotate = move |_| {
        let Some(a) = app.get_untracked() else { return };
        let hours: u32 = overlap.get_untracked().parse().unwrap_or(0);
        let when = if hours == 0 {
            "stops working at once".to_owned()
        } else {
            format!("keeps working for {}", crate::logic::plural(hours.into(), "hour", "hours"))
        };
        if !confirm(&format!(
            "Make a new client secret for {}? The current secret {when}; update the application before then.",
            a.name
        )) {
            return;
        }
        spawn_local(async move {
            match api::rotate_application_secret(a.id.clone(), hours).await {
                Ok(r) => {
                    rotated.set(Some(r));
                    error.set(None);
                    if let Ok(fresh) = api::application(a.id).await {
                        app.set(Some(fresh));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="secret-rotate-title">
            <h2 id="secret-rotate-title">"Client secret"</h2>
            {move || app.get().and_then(|a| a.previous_secret_valid_until).map(|t| view! {
                <p class="note">{format!("The previous secret still works until {}.", format_time(t))}</p>
            })}
            <div class="inline-form">
                <label for="secret-overlap">"Old secret keeps working"</label>
                <select id="secret-overlap" on:change=move |ev| overlap.set(event_target_value(&ev))>
                    <option value="0">"No (stops at once)"</option>
                    <option value="1">"1 hour"</option>
                    <option value="24" selected=true>"24 hours"</option>
                    <option value="168">"7 days"</option>
                </select>
                <button type="button" class="btn btn-secondary" on:click=rotate>"New secret"</button>
            </div>
            <ErrorAlert error=error/>
            {move || rotated.get().map(|r| view! { <SecretPanel secret=r.client_secret title="New client secret"/> })}
        </section>
    }
}

#[component]
fn DeleteApp(app: RwSignal<Option<ApplicationView>>) -> impl IntoView {
    let error = RwSignal::new(None::<ApiError>);
    let navigate = use_navigate();
    let delete = move |_| {
        let Some(a) = app.get_untracked() else { return };
        if !confirm(&format!(
            "Delete {}? Its users can no longer sign in to it through Proofup. This cannot be undone.",
            a.name
        )) {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::delete_application(a.id).await {
                Ok(()) => navigate("/applications", Default::default()),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card danger-zone" aria-labelledby="delete-app-title">
            <h2 id="delete-app-title">"Delete the application"</h2>
            <p class="muted">"To stop sign-ins for a while instead, turn Enabled off in the settings."</p>
            <ErrorAlert error=error/>
            <button type="button" class="btn btn-danger" on:click=delete>"Delete application"</button>
        </section>
    }
}
