//! "E-mail" on My security info: the address an administrator gave the account, and confirming
//! it with a code mailed to it (Proofup mails security notices only to a confirmed address, and
//! applications see `email_verified` only then).

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mail::EmailStatus;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};

#[component]
pub fn EmailCard() -> impl IntoView {
    let status = RwSignal::new(None::<EmailStatus>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    spawn_local(async move {
        match api::email_status().await {
            Ok(s) => status.set(Some(s)),
            Err(e) => error.set(Some(e)),
        }
    });
    let send = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            match api::send_email_code().await {
                Ok(s) => {
                    notice.set(Some(format!(
                        "A code is on its way to {}. It works for 15 minutes.",
                        s.address.clone().unwrap_or_default()
                    )));
                    status.set(Some(s));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let verify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let c = code.get_untracked();
        spawn_local(async move {
            match api::verify_email(c).await {
                Ok(s) => {
                    notice.set(Some("Your address is confirmed.".into()));
                    status.set(Some(s));
                }
                Err(e) => {
                    code.set(String::new());
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" data-testid="email">
            <h2>"E-mail"</h2>
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            {move || status.get().map(|s| match (s.address.clone(), s.verified) {
                (None, _) => view! {
                    <p class="muted">"Your account has no e-mail address. Your administrator can add one."</p>
                }.into_any(),
                (Some(a), true) => {
                    let admin = s.admin_notices;
                    view! {
                        <p><strong>{a}</strong> " " <span class="badge badge-ok" data-testid="email-verified">"Confirmed"</span></p>
                        {admin.map(|on| view! {
                            <label class="check" data-testid="admin-notices">
                                <input type="checkbox" prop:checked=on on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    spawn_local(async move {
                                        match api::set_admin_notices(on).await {
                                            Ok(s) => {
                                                notice.set(Some(if on { "You will be mailed about emergency-access sign-ins, policy changes and users' reports.".into() } else { "Administrators' notices turned off.".into() }));
                                                status.set(Some(s));
                                            }
                                            Err(e) => error.set(Some(e)),
                                        }
                                    });
                                }/>
                                " Mail me about emergency-access sign-ins, policy changes and users' reports"
                            </label>
                        })}
                    }.into_any()
                }
                (Some(a), false) => view! {
                    <p><strong>{a}</strong> " " <span class="badge" data-testid="email-unverified">"Not confirmed"</span></p>
                    {if s.mail_enabled {
                        view! {
                            <p class="muted">"Confirm it so Proofup can tell you about changes to your sign-in methods and password."</p>
                            {s.code_expires_at.is_some().then(|| view! {
                                <form on:submit=verify novalidate=true>
                                    <div class="field">
                                        <label for="email-code">"Code from the message"</label>
                                        <input id="email-code" type="text" inputmode="numeric" maxlength="7" autocomplete="one-time-code"
                                            class="code-input" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                                    </div>
                                    <div class="actions">
                                        <button type="submit" class="btn btn-primary" disabled=move || busy.get()>"Confirm"</button>
                                    </div>
                                </form>
                            })}
                            <div class="actions">
                                <button type="button" class="btn btn-secondary" on:click=send disabled=move || busy.get()>
                                    {if s.code_expires_at.is_some() { "Send a new code" } else { "Send a code" }}
                                </button>
                            </div>
                        }.into_any()
                    } else {
                        view! { <p class="muted">"This server sends no mail, so the address cannot be confirmed yet."</p> }.into_any()
                    }}
                }.into_any(),
            })}
            <p class="muted small" data-testid="notices">"Security notices go to a confirmed address: a sign-in method added or removed, your password changed or reset. Each has a \"This wasn't me\" link. They cannot be turned off."</p>
        </section>
    }
}
