//! Mail settings (Global administrators): the settings the server was started with, how
//! deliveries go, and a test message.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mail::MailSettings;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::webhook::DeliveryFacts;

#[component]
pub fn MailCard() -> impl IntoView {
    let settings = RwSignal::new(None::<MailSettings>);
    let to = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            match api::mail_settings().await {
                Ok(s) => settings.set(Some(s)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let test = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        notice.set(None);
        let t = to.get_untracked().trim().to_owned();
        spawn_local(async move {
            match api::test_mail((!t.is_empty()).then_some(t)).await {
                Ok(q) => {
                    notice.set(Some(format!("A test message to {} is queued; it is sent within a few seconds.", q.to)));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" id="mail" data-testid="mail-settings">
            <h2>"Mail"</h2>
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            {move || settings.get().map(|s| if s.enabled {
                let st = s.status.clone();
                view! {
                    <p class="muted">"Proofup sends its messages through this server. The settings come from the server's "
                        "command line (" <code>"--smtp-url"</code> ", " <code>"--mail-from"</code> "); change them there."</p>
                    <dl class="facts" data-testid="mail-status">
                        <dt>"Server"</dt><dd>{s.server.clone().unwrap_or_default()}</dd>
                        <dt>"Security"</dt><dd>{s.security.clone().unwrap_or_default()}</dd>
                        <dt>"Signs in as"</dt><dd>{s.username.clone().unwrap_or_else(|| "No sign-in".into())}</dd>
                        <dt>"From"</dt><dd>{s.from.clone().unwrap_or_default()}</dd>
                        <dt>"Organisation"</dt><dd>{s.organisation.clone()}</dd>
                        <DeliveryFacts status=st sent="Last sent"/>
                    </dl>
                    <form on:submit=test novalidate=true>
                        <div class="field">
                            <label for="mail-test-to">"Send a test message to"</label>
                            <input id="mail-test-to" type="email" placeholder="Your own address" maxlength="254"
                                prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/>
                            <p class="hint">"Leave empty to send it to your own address."</p>
                        </div>
                        <div class="actions">
                            <button type="submit" class="btn btn-secondary">"Send test message"</button>
                        </div>
                    </form>
                }.into_any()
            } else {
                view! {
                    <p data-testid="mail-off">"Mail is off: Proofup sends no message. Start the server with "
                        <code>"--smtp-url"</code> " and " <code>"--mail-from"</code> " to turn it on (see the README's Mail section)."</p>
                }.into_any()
            })}
        </section>
    }
}
