//! Applications that sign their users in through Proofup (OpenID Connect): the list with the
//! signing keys, registering one (its secret shown once), and one application's page.

mod detail;
mod form;

pub use detail::ApplicationDetailPage;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use proofup_shared::apps::{ApplicationView, ClientKind, CreatedApplication, SigningKeyView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::confirm::confirm;
use crate::components::time::Time;
use crate::logic::encode_component;
use crate::session::SessionCtx;
use form::{AppFields, AppForm};

fn kind_label(k: ClientKind) -> &'static str {
    match k {
        ClientKind::Confidential => "Web app (secret)",
        ClientKind::Public => "Public (PKCE)",
    }
}

/// The issuer relying parties are configured with: this portal's own origin.
fn issuer() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let apps = RwSignal::new(None::<Vec<ApplicationView>>);
    let error = RwSignal::new(None::<ApiError>);
    let manage = SessionCtx::get().can_manage_security();
    spawn_local(async move {
        match api::applications().await {
            Ok(a) => apps.set(Some(a)),
            Err(e) => error.set(Some(e)),
        }
    });
    view! {
        <div class="page-head">
            <h1>"Applications"</h1>
            {manage.then(|| view! { <A href="/applications/new" attr:class="btn btn-primary">"Register an application"</A> })}
        </div>
        <p class="muted">"Applications that sign their users in through Proofup with OpenID Connect. The MFA registration policy interrupts their sign-ins too."</p>
        <ErrorAlert error=error/>
        {move || apps.get().map(|list| if list.is_empty() {
            view! { <p class="empty card">"No applications yet. Register one to let its users sign in with Proofup."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap"><table class="stack-on-phone">
                    <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Client ID"</th><th>"Sign-in"</th></tr></thead>
                    <tbody>{list.into_iter().map(|a| view! {
                        <tr>
                            <td data-label="Name"><A href=format!("/applications/{}", encode_component(&a.id))>{a.name.clone()}</A></td>
                            <td data-label="Kind">{kind_label(a.kind)}</td>
                            <td data-label="Client ID"><code class="break">{a.id.clone()}</code></td>
                            <td data-label="Sign-in">
                                {if a.enabled { view! { <span class="badge badge-ok">"Enabled"</span> }.into_any() } else { view! { <span class="badge">"Disabled"</span> }.into_any() }}
                                {a.require_mfa.then(|| view! { " " <span class="badge badge-warn">"MFA required"</span> })}
                                {a.assignment_required.then(|| view! { " " <span class="badge">"Assigned only"</span> })}
                            </td>
                        </tr>
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any()
        })}
        <SigningKeys/>
    }
}

#[component]
fn SigningKeys() -> impl IntoView {
    let keys = RwSignal::new(Vec::<SigningKeyView>::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let manage = SessionCtx::get().can_manage_security();
    spawn_local(async move {
        match api::signing_keys().await {
            Ok(k) => keys.set(k),
            Err(e) => error.set(Some(e)),
        }
    });
    let rotate = move |_| {
        if !confirm("Rotate the signing keys? The next keys (already published) start signing, the active ones retire and stay published for a day, and new next keys are made. Applications notice nothing.") {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::rotate_signing_keys().await {
                Ok(k) => {
                    keys.set(k);
                    error.set(None);
                    notice.set(Some("Signing keys rotated.".into()));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="keys-title" data-testid="signing-keys">
            <h2 id="keys-title">"Signing keys"</h2>
            <p class="muted">"ID tokens are signed with RS256 (every application can check it) or ES256. Applications read the public keys from "
                <code class="break">{format!("{}/oauth2/jwks", issuer())}</code> "."</p>
            <div class="table-wrap"><table class="stack-on-phone">
                <thead><tr><th>"Key ID"</th><th>"Algorithm"</th><th>"State"</th><th>"Since"</th></tr></thead>
                <tbody>{move || keys.get().into_iter().map(|k| {
                    let since = k.retired_at.or(k.activated_at).unwrap_or(k.created_at);
                    let state = match k.state.as_str() {
                        "active" => view! { <span class="badge badge-ok">"Signing"</span> }.into_any(),
                        "next" => view! { <span class="badge">"Next (published)"</span> }.into_any(),
                        _ => view! { <span class="badge badge-warn">"Retired (published)"</span> }.into_any(),
                    };
                    view! {
                        <tr>
                            <td data-label="Key ID"><code>{k.kid.clone()}</code></td>
                            <td data-label="Algorithm">{k.alg.clone()}</td>
                            <td data-label="State">{state}</td>
                            <td data-label="Since"><Time at=since/></td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table></div>
            {move || notice.get().map(|n| view! { <p class="alert alert-info" role="status">{n}</p> })}
            <ErrorAlert error=error/>
            {manage.then(|| view! {
                <button class="btn btn-secondary" on:click=rotate disabled=move || busy.get()>"Rotate signing keys"</button>
            })}
        </section>
    }
}

/// The secret, shown once, with a copy button.
#[component]
pub fn SecretPanel(secret: String, title: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = secret.clone();
    let copy = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <section class="card pass-panel" aria-labelledby="secret-title" data-testid="client-secret">
            <h2 id="secret-title">{title}</h2>
            <p>"Copy it into the application's configuration now: Proofup keeps only a hash and cannot show it again."</p>
            <p class="pass-code secret-code" data-testid="secret-code">{secret}</p>
            <button type="button" class="btn btn-secondary" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy secret" }}
            </button>
        </section>
    }
}

/// What an application is configured with: issuer, client id, endpoints.
#[component]
pub fn ConnectionFacts(id: String) -> impl IntoView {
    let iss = issuer();
    view! {
        <dl class="facts connection" data-testid="connection">
            <dt>"Issuer"</dt><dd><code class="break">{iss.clone()}</code></dd>
            <dt>"Client ID"</dt><dd><code class="break">{id}</code></dd>
            <dt>"Keys (JWKS)"</dt><dd><code class="break">{format!("{iss}/oauth2/jwks")}</code></dd>
        </dl>
    }
}

#[component]
pub fn NewApplicationPage() -> impl IntoView {
    let form = AppForm::new();
    let error = RwSignal::new(None::<ApiError>);
    let created = RwSignal::new(None::<CreatedApplication>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let req = form.request();
        spawn_local(async move {
            match api::create_application(req).await {
                Ok(c) => {
                    created.set(Some(c));
                    error.set(None);
                }
                Err(e) => {
                    error.set(Some(e));
                    // The first field with a message gets the focus, once the page shows the messages.
                    request_animation_frame(|| {
                        let first = document().query_selector(".field-invalid input, .field-invalid textarea");
                        if let Some(el) = first.ok().flatten() {
                            use wasm_bindgen::JsCast as _;
                            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                                let _ = el.focus();
                            }
                        }
                    });
                }
            }
            busy.set(false);
        });
    };
    view! {
        <div class="page-head"><h1>"Register an application"</h1></div>
        {move || match created.get() {
            Some(c) => view! {
                <div class="alert alert-info" role="status">{format!("{} is registered.", c.application.name)}</div>
                {c.client_secret.clone().map(|s| view! { <SecretPanel secret=s title="Client secret"/> })}
                <section class="card">
                    <h2>"Configure the application with"</h2>
                    <ConnectionFacts id=c.application.id.clone()/>
                    <A href=format!("/applications/{}", encode_component(&c.application.id)) attr:class="btn btn-primary">"Go to the application"</A>
                </section>
            }.into_any(),
            None => view! {
                <form class="card form-card app-form" on:submit=submit novalidate=true>
                    <AppFields form=form error=error creating=true editable=true/>
                    {move || error.get().filter(|e| e.fields.is_empty()).map(|e| view! { <div class="alert alert-error" role="alert">{e.message}</div> })}
                    {move || error.get().filter(|e| !e.fields.is_empty()).map(|_| view! { <p class="field-error" role="alert">"Fix the fields marked above."</p> })}
                    <div class="actions">
                        <button type="submit" class="btn btn-primary" disabled=move || busy.get()>"Register"</button>
                        <A href="/applications" attr:class="btn btn-secondary">"Cancel"</A>
                    </div>
                </form>
            }.into_any(),
        }}
    }
}
