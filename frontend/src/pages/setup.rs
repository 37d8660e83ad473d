//! First run: create the first Global administrator with the one-time link.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::api::SetupRequest;
use proofup_shared::validation::{validate_display_name, validate_password_shape, validate_username};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::center_card::CenterCard;
use crate::components::field::Field;
use crate::logic::password_hint;

#[component]
pub fn SetupPage() -> impl IntoView {
    // Read the token once, then take it out of the address bar and history.
    let token = use_query_map().get_untracked().get("token").unwrap_or_default();
    if !token.is_empty() {
        if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/setup"));
        }
    }
    let status = LocalResource::new(api::setup_status);
    let token = StoredValue::new(token);
    view! {
        <CenterCard width="wide">
                <Suspense fallback=|| view! { <p role="status">"Checking…"</p> }>
                    {move || status.get().map(|s| match s {
                        Ok(s) if !s.needs_setup => view! {
                            <h1>"Proofup is set up"</h1>
                            <p>"The first administrator already exists."</p>
                            <A href="/sign-in" attr:class="btn btn-primary">"Sign in"</A>
                        }.into_any(),
                        Ok(_) if token.get_value().is_empty() => view! {
                            <h1>"Set up Proofup"</h1>
                            <p>"Open the one-time setup link that Proofup printed in its log when it started. To print it again, run this on the server:"</p>
                            <pre>"proofup setup-url"</pre>
                        }.into_any(),
                        Ok(_) => view! { <SetupForm token=token.get_value()/> }.into_any(),
                        Err(e) => view! { <ErrorAlert error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    })}
                </Suspense>
        </CenterCard>
    }
}

#[component]
fn SetupForm(token: String) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let field_errors = RwSignal::new(Vec::<(String, String)>::new());
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let err_for = move |name: &'static str| {
        Signal::derive(move || field_errors.get().into_iter().find(|(f, _)| f == name).map(|(_, m)| m))
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (u, d, p, c) =
            (username.get_untracked(), display_name.get_untracked(), password.get_untracked(), confirm.get_untracked());
        let mut problems = Vec::new();
        if let Err(m) = validate_username(&u) {
            problems.push(("username".to_owned(), m));
        }
        if let Err(m) = validate_display_name(&d) {
            problems.push(("display_name".to_owned(), m));
        }
        if let Err(m) = validate_password_shape(&p, &u) {
            problems.push(("password".to_owned(), m));
        } else if p != c {
            problems.push(("confirm".to_owned(), "The passwords do not match.".to_owned()));
        }
        error.set(None);
        field_errors.set(problems.clone());
        if !problems.is_empty() {
            return;
        }
        busy.set(true);
        let req = SetupRequest { token: token.clone(), username: u, display_name: d, password: p };
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::complete_setup(&req).await {
                Ok(me) => navigate(&format!("/sign-in?created=1&username={}", me.username), Default::default()),
                Err(e) => {
                    field_errors.set(e.fields.iter().map(|f| (f.field.clone(), f.message.clone())).collect());
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <form on:submit=submit novalidate=true>
            <h1>"Create the first administrator"</h1>
            <p class="muted">
                "This account becomes the Global administrator. Keep its password safe; you can add more administrators and emergency-access accounts later."
            </p>
            <ErrorAlert error=error/>
            <Field id="username" label="Username" value=username autocomplete="username" autofocus=true
                hint=Signal::derive(|| "Letters, digits and . _ - @ (not case-sensitive).".to_owned())
                error=err_for("username")/>
            <Field id="display_name" label="Display name" value=display_name autocomplete="name" error=err_for("display_name")/>
            <Field id="password" label="Password" value=password kind="password" autocomplete="new-password"
                hint=Signal::derive(move || password_hint(&password.get())) error=err_for("password")/>
            <Field id="confirm" label="Confirm password" value=confirm kind="password" autocomplete="new-password" error=err_for("confirm")/>
            <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                {move || if busy.get() { "Creating…" } else { "Create administrator" }}
            </button>
        </form>
    }
}
