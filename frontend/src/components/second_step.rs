//! Proving the second factor: a passkey, an authenticator-app code or a
//! recovery code, the most secure offered first, with "use another method".
//! Used by the sign-in's second step and to re-authenticate before changing methods.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::SecondFactorOption;
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::components::alert::ErrorAlert;

fn heading(o: SecondFactorOption) -> &'static str {
    match o {
        SecondFactorOption::Passkey => "Use your passkey",
        SecondFactorOption::AuthenticatorApp => "Enter code",
        SecondFactorOption::RecoveryCode => "Use a recovery code",
    }
}

#[component]
pub fn SecondStep(
    options: Vec<SecondFactorOption>,
    /// Re-authenticating a complete session (headings one level down; app codes go to `/auth/reverify`).
    #[prop(optional)]
    reauth: bool,
    /// Called when proved; `Some(n)` after a recovery code, with how many are left.
    on_done: Callback<Option<u32>>,
    /// Called when the session is gone.
    #[prop(optional)]
    on_unauthenticated: Option<Callback<()>>,
) -> impl IntoView {
    let chosen = RwSignal::new(options.first().copied().unwrap_or(SecondFactorOption::AuthenticatorApp));
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let fail = move |e: ApiError| {
        if e.error == ErrorCode::Unauthenticated {
            if let Some(cb) = on_unauthenticated {
                cb.run(());
            }
        }
        code.set(String::new());
        error.set(Some(e));
        busy.set(false);
    };
    let begin = move || {
        if busy.get_untracked() {
            return false;
        }
        busy.set(true);
        error.set(None);
        true
    };
    let use_passkey = move |_| {
        if !begin() {
            return;
        }
        spawn_local(async move {
            match api::sign_in_with_passkey().await {
                Ok(_) => on_done.run(None),
                Err(e) => fail(e),
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !begin() {
            return;
        }
        let c = code.get_untracked();
        let how = chosen.get_untracked();
        spawn_local(async move {
            let r = match how {
                SecondFactorOption::RecoveryCode => api::use_recovery_code(c).await.map(|u| Some(u.remaining)),
                _ if reauth => api::reverify(c).await.map(|_| None),
                _ => api::second_factor(c).await.map(|_| None),
            };
            match r {
                Ok(left) => on_done.run(left),
                Err(e) => fail(e),
            }
        });
    };
    let others = options.clone();
    view! {
        <div class="second-step">
            {move || {
                let h = heading(chosen.get());
                if reauth { view! { <h2>{h}</h2> }.into_any() } else { view! { <h1>{h}</h1> }.into_any() }
            }}
            <ErrorAlert error=error/>
            {move || match chosen.get() {
                SecondFactorOption::Passkey => view! {
                    <p class="muted">"Use the passkey on this device (fingerprint, face or screen lock) or your security key."</p>
                    <button type="button" class="btn btn-primary btn-block" on:click=use_passkey disabled=move || busy.get()>
                        {move || if busy.get() { "Waiting for your passkey…" } else { "Use passkey" }}
                    </button>
                }.into_any(),
                SecondFactorOption::AuthenticatorApp => view! {
                    <form on:submit=submit novalidate=true>
                        <p class="muted">"Enter the 6-digit code shown in your authenticator app."</p>
                        <div class="field">
                            <label for="code">"Code"</label>
                            <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" maxlength="7"
                                autocomplete="one-time-code" autofocus=true class="code-input"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                        </div>
                        <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                            {move || if busy.get() { "Verifying…" } else { "Verify" }}
                        </button>
                    </form>
                }.into_any(),
                SecondFactorOption::RecoveryCode => view! {
                    <form on:submit=submit novalidate=true>
                        <p class="muted">"Enter one of the recovery codes you saved. Each code works once."</p>
                        <div class="field">
                            <label for="recovery-code">"Recovery code"</label>
                            <input id="recovery-code" name="recovery-code" type="text" autocomplete="off" spellcheck="false"
                                maxlength="24" placeholder="xxxx-xxxx-xxxx-xxxx" class="recovery-input"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                        </div>
                        <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                            {move || if busy.get() { "Verifying…" } else { "Verify" }}
                        </button>
                    </form>
                }.into_any(),
            }}
            {move || {
                let rest: Vec<SecondFactorOption> = others.iter().copied().filter(|o| *o != chosen.get()).collect();
                (!rest.is_empty()).then(|| view! {
                    <div class="other-methods">
                        <p class="muted small">"Use another method:"</p>
                        <ul>
                            {rest.into_iter().map(|o| view! {
                                <li><button type="button" class="link-button" on:click=move |_| {
                                    error.set(None);
                                    code.set(String::new());
                                    chosen.set(o);
                                }>{o.label()}</button></li>
                            }).collect_view()}
                        </ul>
                    </div>
                })
            }}
        </div>
    }
}
