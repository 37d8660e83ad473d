//! The webhook setting: where emergency-access sign-ins and policy changes are POSTed, and how deliveries go.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::webhook::{check_webhook_url, ChannelStatus, WebhookSettings};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::time::MaybeTime;
use crate::logic::format_time;

#[component]
pub fn WebhookCard() -> impl IntoView {
    let settings = RwSignal::new(None::<WebhookSettings>);
    let url = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let field_error = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            match api::webhook_settings().await {
                Ok(s) => {
                    url.set(s.url.clone().unwrap_or_default());
                    settings.set(Some(s));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let u = url.get_untracked().trim().to_owned();
        if !u.is_empty() {
            if let Err(m) = check_webhook_url(&u) {
                field_error.set(Some(m));
                return;
            }
        }
        field_error.set(None);
        error.set(None);
        spawn_local(async move {
            let off = u.is_empty();
            match api::save_webhook(if off { None } else { Some(u) }).await {
                Ok(s) => {
                    settings.set(Some(s));
                    notice.set(Some(if off { "Webhook turned off.".into() } else { "Webhook saved.".into() }));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let test = move |_| {
        spawn_local(async move {
            match api::test_webhook().await {
                Ok(()) => {
                    notice.set(Some("A test event is queued; it is sent within a few seconds.".into()));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" id="webhook">
            <h2>"Webhook"</h2>
            <p class="muted">"Proofup POSTs a JSON event here for every emergency-access sign-in and every policy change, with an "
                <code>"X-Proofup-Event-Id"</code>" header. Failed deliveries are retried with backoff for about 4 hours."</p>
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            <form on:submit=save novalidate=true>
                <div class="field">
                    <label for="webhook-url">"Webhook URL"</label>
                    <input id="webhook-url" type="url" placeholder="https://hooks.example.com/…" maxlength="2048"
                        aria-invalid=move || field_error.get().is_some().to_string()
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                    {move || field_error.get().map(|m| view! { <p class="field-error">{m}</p> })}
                    <p class="hint">"Leave empty to turn it off."</p>
                </div>
                <div class="actions">
                    <button type="submit" class="btn btn-primary">"Save webhook"</button>
                    <button type="button" class="btn btn-secondary" on:click=test
                        disabled=move || !settings.get().is_some_and(|s| s.status.configured)>"Send test event"</button>
                </div>
            </form>
            {move || settings.get().filter(|s| s.status.configured).map(|s| view! {
                <dl class="facts" data-testid="webhook-status">
                    <DeliveryFacts status=s.status sent="Last delivered"/>
                </dl>
            })}
        </section>
    }
}

/// How a notification channel's deliveries go (the webhook's, mail's): last sent, waiting, last
/// error — rows of a `<dl class="facts">`.
#[component]
pub fn DeliveryFacts(status: ChannelStatus, sent: &'static str) -> impl IntoView {
    let st = status;
    view! {
        <dt>{sent}</dt><dd><MaybeTime at=st.last_delivered_at none="Never"/></dd>
        <dt>"Waiting"</dt><dd>{format!("{} ({} failing, {} given up)", st.pending, st.failing, st.given_up)}</dd>
        <dt>"Last error"</dt><dd>{match (st.last_error, st.last_error_at) {
            (Some(e), Some(t)) => format!("{e} at {}", format_time(t)),
            (Some(e), None) => e,
            _ => "None".into(),
        }}</dd>
    }
}
