//! Adding an authenticator app: QR code, manual key, then a current code to confirm.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::{MethodAdded, TotpSetup};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;

#[component]
pub fn TotpSetupFlow(
    /// Called once the method is active.
    on_done: Callback<MethodAdded>,
    /// Called when the user gives up (optional "Cancel").
    #[prop(optional)]
    on_cancel: Option<Callback<()>>,
    /// Called when the registration cannot start (e.g. re-authentication needed).
    #[prop(optional)]
    on_error: Option<Callback<ApiError>>,
) -> impl IntoView {
    let setup = RwSignal::new(None::<TotpSetup>);
    let error = RwSignal::new(None::<ApiError>);
    // A failed confirmation is shown in the form, next to the code it is about.
    let confirm_error = RwSignal::new(None::<ApiError>);
    let code_input = NodeRef::<leptos::html::Input>::new();
    let name = RwSignal::new("Authenticator app".to_owned());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let show_key = RwSignal::new(false);

    let start = move || {
        error.set(None);
        spawn_local(async move {
            match api::start_totp().await {
                Ok(s) => setup.set(Some(s)),
                Err(e) => match on_error {
                    Some(cb) => cb.run(e),
                    None => error.set(Some(e)),
                },
            }
        });
    };
    start();

    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        confirm_error.set(None);
        let (n, c) = (name.get_untracked(), code.get_untracked());
        spawn_local(async move {
            match api::confirm_totp(n, c).await {
                Ok(added) => on_done.run(added),
                Err(e) => {
                    confirm_error.set(Some(e));
                    busy.set(false);
                    // The code stays, selected, so the next one replaces it as it is typed.
                    if let Some(input) = code_input.get_untracked() {
                        let _ = input.focus();
                        input.select();
                    }
                }
            }
        });
    };

    view! {
        <div class="totp-setup">
            <ErrorAlert error=error/>
            {move || setup.get().map(|s| {
                let svg = s.qr_svg.clone();
                let key = s.secret_grouped.clone();
                let uri = s.otpauth_uri.clone();
                view! {
                    <ol class="steps">
                        <li>
                            <strong>"Get an authenticator app."</strong>
                            " Any app that shows 6-digit codes works: Microsoft Authenticator, Google Authenticator, Aegis, 1Password…"
                        </li>
                        <li>
                            <strong>"Scan this QR code with the app."</strong>
                            // On a phone the link comes first (CSS order): a QR code cannot be
                            // scanned by the phone that shows it.
                            <div class="qr-step">
                                <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=svg></div>
                                <p class="muted open-in-app">
                                    "On the phone with the app? "
                                    <a href=uri.clone() data-testid="otpauth-link">"Open it in your authenticator app"</a>
                                </p>
                            </div>
                            <p class="muted">
                                "Can't scan it? "
                                <button type="button" class="link-button" on:click=move |_| show_key.update(|v| *v = !*v)
                                    aria-expanded=move || show_key.get().to_string()>
                                    "Enter the key by hand"
                                </button>
                            </p>
                            <Show when=move || show_key.get()>
                                <dl class="facts">
                                    <dt>"Account"</dt><dd>{uri.split("totp/").nth(1).and_then(|r| r.split('?').next()).unwrap_or("").replace("%3A", ":")}</dd>
                                    <dt>"Key"</dt><dd><code class="secret-key" data-testid="totp-key">{
                                        // Groups of four never break inside: "3HFQ" stays one piece.
                                        key.split(' ').enumerate().map(|(i, g)| view! {
                                            {(i > 0).then_some(" ")}<span class="key-group">{g.to_owned()}</span>
                                        }).collect_view()
                                    }</code></dd>
                                    <dt>"Type"</dt><dd>"Time-based, 6 digits, every 30 seconds"</dd>
                                </dl>
                            </Show>
                        </li>
                        <li>
                            <strong>"Enter the 6-digit code the app shows."</strong>
                            <form class="totp-confirm" on:submit=confirm novalidate=true>
                                <div class="field" class:field-invalid=move || confirm_error.get().is_some()>
                                    <label for="totp-code">"Code"</label>
                                    <input id="totp-code" name="totp-code" type="text" inputmode="numeric" pattern="[0-9 ]*"
                                        autocomplete="one-time-code" maxlength="7" class="code-input" node_ref=code_input
                                        aria-invalid=move || if confirm_error.get().is_some() { "true" } else { "false" }
                                        aria-describedby=move || if confirm_error.get().is_some() { "totp-code-error" } else { "" }
                                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                                    {move || confirm_error.get().map(|e| view! {
                                        <p class="field-error" id="totp-code-error" role="alert">{e.fields.first().map(|f| f.message.clone()).unwrap_or(e.message)}</p>
                                    })}
                                </div>
                                <div class="field">
                                    <label for="method-name">"Name it"</label>
                                    <input id="method-name" name="method-name" type="text" maxlength="64"
                                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                                    <p class="hint">"So you can tell your methods apart, e.g. \"Work phone\"."</p>
                                </div>
                                <div class="actions">
                                    <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                                        {move || if busy.get() { "Checking…" } else { "Verify and finish" }}
                                    </button>
                                    {on_cancel.map(|c| view! {
                                        <button type="button" class="btn btn-secondary" on:click=move |_| c.run(())>"Cancel"</button>
                                    })}
                                </div>
                            </form>
                        </li>
                    </ol>
                }
            })}
            {move || (setup.get().is_none() && error.get().is_none()).then(|| view! { <p class="loading" role="status">"Preparing…"</p> })}
        </div>
    }
}
