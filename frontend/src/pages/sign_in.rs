use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::center_card::CenterCard;
use crate::components::field::Field;
use crate::logic::safe_next;
use crate::session::SessionCtx;

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let query = use_query_map().get_untracked();
    let next = safe_next(query.get("next").as_deref());
    let flow = crate::session::flow_param(query.get("flow").as_deref());
    let notice = if query.get("signed_out").is_some() {
        Some("You have signed out.")
    } else if query.get("created").is_some() {
        Some("Your administrator account is ready. Sign in with it.")
    } else {
        None
    };
    let username = RwSignal::new(query.get("username").unwrap_or_default());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    // Signing in to an application: say which (the server knows it by the flow, for this browser).
    let app_name = RwSignal::new(None::<Result<String, ()>>);
    if let Some(flow) = flow.clone() {
        spawn_local(async move {
            match api::flow_info(flow).await {
                Ok((name, hint)) => {
                    // The application said who is signing in (login_hint): the username to start from.
                    if let Some(h) = hint.filter(|_| username.get_untracked().is_empty()) {
                        username.set(h);
                    }
                    app_name.set(Some(Ok(name)));
                }
                Err(_) => app_name.set(Some(Err(()))),
            }
        });
    }

    // "Forgot your password?" keeps the application sign-in and the username typed so far.
    let reset_link = {
        let flow = flow.clone();
        move || {
            let mut q = Vec::new();
            if let Some(f) = &flow {
                q.push(format!("flow={}", api::enc(f)));
            }
            let u = username.get();
            if !u.trim().is_empty() {
                q.push(format!("username={}", api::enc(u.trim())));
            }
            if q.is_empty() {
                "/reset".to_owned()
            } else {
                format!("/reset?{}", q.join("&"))
            }
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (u, p) = (username.get_untracked(), password.get_untracked());
        let navigate = navigate.clone();
        let (next, flow) = (next.clone(), flow.clone());
        spawn_local(async move {
            match api::sign_in(u, p, flow).await {
                Ok(me) => {
                    session.me.set(Some(me.clone()));
                    crate::session::continue_after(&navigate, &me, &next);
                }
                Err(e) => {
                    password.set(String::new());
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <CenterCard>
            <form on:submit=submit novalidate=true>
                <h1>"Sign in"</h1>
                {move || app_name.get().map(|a| match a {
                    Ok(name) => view! { <p class="muted" data-testid="signing-in-to">"to continue to " <strong>{name}</strong></p> }.into_any(),
                    Err(()) => view! { <p class="alert alert-warn" role="status">"This sign-in to an application has expired or began in another browser. Go back to the application and sign in again, or sign in here to Proofup."</p> }.into_any(),
                })}
                {move || notice.filter(|_| error.get().is_none()).map(|n| view! { <Notice text=n/> })}
                <ErrorAlert error=error/>
                <Field id="username" label="Username" value=username autocomplete="username" autofocus=true/>
                <Field id="password" label="Password or temporary access pass" value=password kind="password" autocomplete="current-password"
                    hint=Signal::derive(|| "New here? Enter the temporary access pass your administrator gave you.".to_owned())/>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="reset-back small"><a href=reset_link data-testid="forgot-password">"Forgot your password?"</a></p>
            </form>
        </CenterCard>
    }
}
