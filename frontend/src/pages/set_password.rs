//! After a temporary access pass: the user chooses their own password before anything else.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::center_card::CenterCard;
use crate::components::field::Field;
use crate::logic::{password_hint, safe_next};
use crate::session::SessionCtx;

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let next = safe_next(use_query_map().get_untracked().get("next").as_deref());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let field_error = RwSignal::new(None::<(String, String)>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let err_for =
        move |name: &'static str| Signal::derive(move || field_error.get().filter(|(f, _)| f == name).map(|(_, m)| m));
    let username = move || session.me.get().map(|m| m.username).unwrap_or_default();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (p, c) = (password.get_untracked(), confirm.get_untracked());
        error.set(None);
        if let Err((field, m)) = crate::logic::check_new_password(&p, &c, &username()) {
            field_error.set(Some((field.into(), m)));
            return;
        }
        field_error.set(None);
        busy.set(true);
        let navigate = navigate.clone();
        let next = next.clone();
        spawn_local(async move {
            match api::set_password(None, p).await {
                Ok(me) => {
                    session.me.set(Some(me.clone()));
                    crate::session::continue_after(&navigate, &me, &next);
                }
                Err(e) => {
                    field_error.set(e.fields.first().map(|f| (f.field.clone(), f.message.clone())));
                    if e.error == proofup_shared::ErrorCode::Unauthenticated {
                        navigate("/sign-in", Default::default());
                    }
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <CenterCard>
            <form on:submit=submit novalidate=true>
                <h1>"Choose your password"</h1>
                {move || if session.me.get().is_some_and(|m| m.risk_password_change) {
                    view! {
                        <div class="alert alert-warn" role="status" data-testid="risk-password-change">
                            "Your account may be at risk: someone else may know your password. You proved your second factor; now choose a new password. It must not be one that appeared in a breach, and every other session of yours ends."
                        </div>
                    }.into_any()
                } else {
                    view! { <p class="muted">"You signed in with a temporary access pass. Choose the password you will use from now on."</p> }.into_any()
                }}
                <ErrorAlert error=error/>
                <Field id="new_password" label="New password" value=password kind="password" autocomplete="new-password" autofocus=true
                    hint=Signal::derive(move || password_hint(&password.get())) error=err_for("new_password")/>
                <Field id="confirm" label="Confirm password" value=confirm kind="password" autocomplete="new-password" error=err_for("confirm")/>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                    {move || if busy.get() { "Saving…" } else { "Set password" }}
                </button>
            </form>
        </CenterCard>
    }
}
