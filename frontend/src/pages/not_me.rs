//! "This wasn't me": the page a security notice's link opens. The link's token is in the URL's
//! fragment (never sent to the server by the browser); the page reads it, says what following it
//! does, and only a click reports. Then the fragment is dropped from the address bar.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mail::Reported;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::center_card::CenterCard;

/// The token in `#t=…`, if any.
fn token_in_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.strip_prefix("#t=").filter(|t| !t.is_empty() && t.len() <= 128).map(str::to_owned)
}

/// Removes the fragment from the address bar (and the history entry), so the token is not left
/// behind once used.
fn forget_fragment() {
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/report"));
        }
    }
}

#[component]
pub fn NotMePage() -> impl IntoView {
    let token = token_in_fragment();
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<Reported>);
    let busy = RwSignal::new(false);
    let has_token = token.is_some();
    let report = move |_| {
        let Some(t) = token.clone() else { return };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match api::report_not_me(t).await {
                Ok(r) => {
                    forget_fragment();
                    done.set(Some(r));
                }
                Err(e) => {
                    forget_fragment();
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };
    view! {
        <CenterCard>
            <div data-testid="report">
            {move || match done.get() {
                Some(r) => view! {
                    <h1>"Thank you: your account is locked down"</h1>
                    <p class="alert alert-info" role="status" data-testid="report-done">
                        "Every device signed in as " {r.username.clone()} " is signed out, your password no longer works, and your administrators are alerted."
                    </p>
                    <p>"Choose a new password with the sign-in methods you registered, or ask your administrator for a temporary access pass."</p>
                    <a class="btn btn-primary btn-block" href=format!("/reset?username={}", api::enc(&r.username))>"Choose a new password"</a>
                }.into_any(),
                None if !has_token => view! {
                    <h1>"This link is not complete"</h1>
                    <p class="alert alert-warn" role="status">"Open the \"This wasn't me\" link from the message again, in full."</p>
                }.into_any(),
                None => view! {
                    <h1>"This wasn't me"</h1>
                    <p>"If you did not make the change the message told you about, report it. Proofup will:"</p>
                    <ul>
                        <li>"sign you out on every device and application,"</li>
                        <li>"stop your current password from working,"</li>
                        <li>"alert your administrators."</li>
                    </ul>
                    <p class="muted">"Then you choose a new password with your sign-in methods."</p>
                    <ErrorAlert error=error/>
                    <button type="button" class="btn btn-danger btn-block" on:click=report.clone() disabled=move || busy.get()>
                        {move || if busy.get() { "Reporting…" } else { "Report: this wasn't me" }}
                    </button>
                }.into_any(),
            }}
            </div>
        </CenterCard>
    }
}
