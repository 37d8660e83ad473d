//! "Change password" on My security info: the current password, the new one twice, the same rules
//! and hints as setup. The server counts a wrong current password in the account's sign-in
//! throttle and signs out every other session; the card says both in sentences.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::field::Field;
use crate::logic::password_hint;
use crate::session::SessionCtx;

#[component]
pub fn ChangePasswordCard() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let field_error = RwSignal::new(None::<(String, String)>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let err_for =
        move |name: &'static str| Signal::derive(move || field_error.get().filter(|(f, _)| f == name).map(|(_, m)| m));
    let username = move || session.me.get_untracked().map(|m| m.username).unwrap_or_default();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (cur, p, c) = (current.get_untracked(), password.get_untracked(), confirm.get_untracked());
        error.set(None);
        notice.set(None);
        if cur.is_empty() {
            field_error.set(Some(("current_password".into(), "Enter your current password.".into())));
            return;
        }
        if let Err((field, m)) = crate::logic::check_new_password(&p, &c, &username()) {
            field_error.set(Some((field.into(), m)));
            return;
        }
        field_error.set(None);
        busy.set(true);
        spawn_local(async move {
            match api::set_password(Some(cur), p).await {
                Ok(me) => {
                    for f in [current, password, confirm] {
                        f.set(String::new());
                    }
                    session.me.set(Some(me));
                    notice.set(Some(
                        "Your password was changed. Every other session of yours was signed out; this one continues."
                            .into(),
                    ));
                }
                Err(e) => {
                    // A wrong current password or a refused new one is said under its field; the
                    // throttle's answers ("Try again in 2 minutes", locked) above the form.
                    current.set(String::new());
                    match e.fields.first() {
                        Some(f) => field_error.set(Some((f.field.clone(), f.message.clone()))),
                        None => error.set(Some(e)),
                    }
                }
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card narrow" id="password" data-testid="change-password">
            <h2>"Password"</h2>
            <p class="muted">"Changing your password signs you out everywhere else: anyone who knew the old one loses access."</p>
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            <form on:submit=submit novalidate=true>
                <Field id="current_password" label="Current password" value=current kind="password"
                    autocomplete="current-password" error=err_for("current_password")/>
                <Field id="new_password" label="New password" value=password kind="password" autocomplete="new-password"
                    hint=Signal::derive(move || password_hint(&password.get())) error=err_for("new_password")/>
                <Field id="confirm_password" label="Confirm new password" value=confirm kind="password"
                    autocomplete="new-password" error=err_for("confirm")/>
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Changing…" } else { "Change password" }}
                    </button>
                </div>
            </form>
        </section>
    }
}
