//! Adding a passkey: name it, then the browser asks for the device's screen lock or a security key.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::MethodAdded;
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::components::alert::ErrorAlert;

#[component]
pub fn PasskeySetupFlow(
    on_done: Callback<MethodAdded>,
    #[prop(optional)] on_cancel: Option<Callback<()>>,
    /// Called when the registration cannot start (e.g. re-authentication needed).
    #[prop(optional)]
    on_error: Option<Callback<ApiError>>,
) -> impl IntoView {
    let name = RwSignal::new("Passkey".to_owned());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let supported = api::passkey::supported();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let n = name.get_untracked();
        spawn_local(async move {
            match api::add_passkey(n).await {
                Ok(added) => on_done.run(added),
                Err(e) => {
                    busy.set(false);
                    match (e.error, on_error) {
                        (ErrorCode::ReauthenticationRequired, Some(cb)) => cb.run(e),
                        _ => error.set(Some(e)),
                    }
                }
            }
        });
    };
    view! {
        <form class="passkey-setup" on:submit=create novalidate=true>
            <p>"A passkey signs you in with your device's fingerprint, face or screen lock, or with a security key. Nothing to type, and it cannot be phished."</p>
            {(!supported).then(|| view! {
                <div class="alert alert-warn" role="status">"This browser cannot create passkeys. Use an up-to-date browser, or add an authenticator app instead."</div>
            })}
            <ErrorAlert error=error/>
            <div class="field">
                <label for="passkey-name">"Name it"</label>
                <input id="passkey-name" name="passkey-name" type="text" maxlength="64"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <p class="hint">"So you can tell your methods apart, e.g. \"Laptop\" or \"YubiKey\"."</p>
            </div>
            <div class="actions">
                <button type="submit" class="btn btn-primary" disabled=move || busy.get() || !supported>
                    {move || if busy.get() { "Waiting for your device…" } else { "Create passkey" }}
                </button>
                {on_cancel.map(|c| view! {
                    <button type="button" class="btn btn-secondary" on:click=move |_| c.run(())>"Cancel"</button>
                })}
            </div>
        </form>
    }
}
