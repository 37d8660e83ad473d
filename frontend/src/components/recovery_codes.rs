//! Recovery codes on "My security info": how many are left, and new ones shown once (copy, download).

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::{RecoveryCodes, RecoveryStatus};
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::logic::{encode_component, format_time};

#[component]
pub fn RecoveryCodesCard(
    /// Whether the user has a method to back up (codes need one).
    #[prop(into)]
    has_method: Signal<bool>,
    /// Called when the server wants a recent second factor first.
    on_reauth: Callback<ApiError>,
) -> impl IntoView {
    let status = RwSignal::new(None::<RecoveryStatus>);
    let fresh = RwSignal::new(None::<RecoveryCodes>);
    let error = RwSignal::new(None::<ApiError>);
    let copied = RwSignal::new(false);
    let load = move || {
        spawn_local(async move {
            if let Ok(s) = api::recovery_status().await {
                status.set(Some(s));
            }
        });
    };
    // Loads now, and again when methods change (removing the last one removes the codes).
    Effect::new(move |_| {
        has_method.track();
        load();
    });
    let generate = move |_| {
        let existing = status.get_untracked().map(|s| s.remaining).unwrap_or(0);
        if existing > 0
            && !web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message("Make new recovery codes? Your current codes will stop working.").ok()
                })
                .unwrap_or(false)
        {
            return;
        }
        error.set(None);
        copied.set(false);
        spawn_local(async move {
            match api::generate_recovery_codes().await {
                Ok(c) => {
                    fresh.set(Some(c));
                    load();
                }
                Err(e) if e.error == ErrorCode::ReauthenticationRequired => on_reauth.run(e),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let copy = move |_| {
        if let (Some(w), Some(c)) = (web_sys::window(), fresh.get_untracked()) {
            let _ = w.navigator().clipboard().write_text(&c.codes.join("\n"));
            copied.set(true);
        }
    };
    view! {
        <section class="card" data-testid="recovery-codes">
            <h2>"Recovery codes"</h2>
            <p class="muted">"If you lose your phone or security key, a recovery code lets you sign in once. Keep them somewhere safe, away from your devices."</p>
            <ErrorAlert error=error/>
            {move || status.get().map(|s| match (s.remaining, s.created_at) {
                (0, _) => view! { <p data-testid="recovery-status">"You have no unused recovery codes."</p> }.into_any(),
                (n, Some(at)) => view! {
                    <p data-testid="recovery-status">{format!("{n} of 10 codes unused")}<span class="muted">{format!(" · made {}", format_time(at))}</span></p>
                }.into_any(),
                (n, None) => view! { <p data-testid="recovery-status">{format!("{n} of 10 codes unused")}</p> }.into_any(),
            })}
            {move || fresh.get().map(|c| {
                let text = c.codes.join("\r\n") + "\r\n";
                let href = format!("data:text/plain;charset=utf-8,{}", encode_component(&text));
                view! {
                    <div class="recovery-fresh">
                        <div class="alert alert-warn" role="status">"Save these codes now. They will not be shown again."</div>
                        <ol class="recovery-list" data-testid="recovery-list">
                            {c.codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                        </ol>
                        <div class="actions">
                            <button type="button" class="btn btn-secondary" on:click=copy>
                                {move || if copied.get() { "Copied" } else { "Copy all" }}
                            </button>
                            <a class="btn btn-secondary" href=href download="proofup-recovery-codes.txt">"Download"</a>
                            <button type="button" class="btn btn-primary" on:click=move |_| fresh.set(None)>"I have saved them"</button>
                        </div>
                    </div>
                }
            })}
            <Show when=move || fresh.get().is_none()>
                {move || if has_method.get() {
                    let label = if status.get().is_some_and(|s| s.created_at.is_some()) { "Make new codes" } else { "Make recovery codes" };
                    view! { <div class="actions"><button class="btn btn-secondary" on:click=generate>{label}</button></div> }.into_any()
                } else {
                    view! { <p class="muted small">"Add an authenticator app or a passkey first; recovery codes back them up."</p> }.into_any()
                }}
            </Show>
        </section>
    }
}
