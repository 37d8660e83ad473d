//! The steps between the password and a complete session: the second factor,
//! and the MFA registration interrupt ("More information required").

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::mfa::NextStep;
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::app::SessionCtx;
use crate::components::alert::ErrorAlert;
use crate::components::totp_setup::TotpSetupFlow;
use crate::logic::{after_sign_in, safe_next, skip_label};

fn brand() -> impl IntoView {
    view! {
        <div class="brand-row">
            <img src="/favicon.svg" alt="" width="32" height="32"/>
            <span class="brand-name">"Proofup"</span>
        </div>
    }
}

/// Loads who is signing in (and their step) when the page is opened directly.
fn load_me(session: SessionCtx, on_missing: impl Fn() + 'static) {
    if session.me.get_untracked().is_some() {
        return;
    }
    spawn_local(async move {
        match api::me().await {
            Ok(me) => session.me.set(Some(me)),
            Err(e) if e.error == ErrorCode::Unauthenticated => on_missing(),
            Err(e) => leptos::logging::error!("{e}"),
        }
    });
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let next = safe_next(use_query_map().get_untracked().get("next").as_deref());
    let navigate = use_navigate();
    {
        let navigate = navigate.clone();
        load_me(session, move || navigate("/sign-in", Default::default()));
    }
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let c = code.get_untracked();
        let navigate = navigate.clone();
        let next = next.clone();
        spawn_local(async move {
            match api::second_factor(c).await {
                Ok(me) => {
                    let to = after_sign_in(&me.next_step, &next);
                    session.me.set(Some(me));
                    navigate(&to, Default::default());
                }
                Err(e) => {
                    if e.error == ErrorCode::Unauthenticated {
                        navigate("/sign-in", Default::default());
                    }
                    code.set(String::new());
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <div class="center-page">
            <form class="card narrow" on:submit=submit novalidate=true>
                {brand()}
                <p class="eyebrow">{move || session.me.get().map(|m| m.username).unwrap_or_default()}</p>
                <h1>"Enter code"</h1>
                <p class="muted">"Enter the 6-digit code shown in your authenticator app."</p>
                <ErrorAlert error=error/>
                <div class="field">
                    <label for="code">"Code"</label>
                    <input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9 ]*" maxlength="7"
                        autocomplete="one-time-code" autofocus=true class="code-input"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                    {move || if busy.get() { "Verifying…" } else { "Verify" }}
                </button>
                <p class="muted small">"Lost your phone? Ask your administrator to require re-registration for your account."</p>
            </form>
        </div>
    }
}

#[component]
pub fn MoreInformationPage() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let next = safe_next(use_query_map().get_untracked().get("next").as_deref());
    let navigate = use_navigate();
    {
        let navigate = navigate.clone();
        load_me(session, move || navigate("/sign-in", Default::default()));
    }
    let registering = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let step = move || session.me.get().map(|m| m.next_step);
    let skip = {
        let navigate = navigate.clone();
        let next = next.clone();
        Callback::new(move |_: ()| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            let navigate = navigate.clone();
            let next = next.clone();
            spawn_local(async move {
                match api::skip_registration().await {
                    Ok(me) => {
                        session.me.set(Some(me));
                        navigate(&next, Default::default());
                    }
                    Err(e) => {
                        error.set(Some(e));
                        busy.set(false);
                        if let Ok(me) = api::me().await {
                            session.me.set(Some(me));
                        }
                    }
                }
            });
        })
    };
    let finished = RwSignal::new(false);
    let done = Callback::new(move |_| {
        finished.set(true);
        spawn_local(async move {
            if let Ok(me) = api::me().await {
                session.me.set(Some(me));
            }
        });
    });
    let go_on = {
        let navigate = navigate.clone();
        let next = next.clone();
        move |_| navigate(&next, Default::default())
    };
    let sign_out = {
        let navigate = navigate.clone();
        move |_| {
            let navigate = navigate.clone();
            spawn_local(async move {
                let _ = api::sign_out().await;
                session.me.set(None);
                navigate("/sign-in?signed_out=1", Default::default());
            });
        }
    };
    view! {
        <div class="center-page">
            <div class="card narrow interrupt">
                {brand()}
                <p class="eyebrow">{move || session.me.get().map(|m| m.username).unwrap_or_default()}</p>
                <Show when=move || finished.get()>
                    <h1>"You're all set"</h1>
                    <div class="alert alert-info" role="status">"Your authenticator app is registered. From now on you'll enter a code from it when you sign in."</div>
                    <div class="actions">
                        <button class="btn btn-primary" on:click=go_on.clone()>"Continue"</button>
                    </div>
                </Show>
                <Show when=move || !finished.get() && registering.get()>
                    <h1>"Set up your authenticator app"</h1>
                    <TotpSetupFlow on_done=done on_cancel=Callback::new(move |_| registering.set(false))/>
                </Show>
                <Show when=move || !finished.get() && !registering.get()>
                    <h1>"More information required"</h1>
                    <p>"Your organization needs more information to keep your account secure."</p>
                    {move || match step() {
                        Some(NextStep::RegisterMfa { can_skip: false, .. }) => Some(view! {
                            <p class="muted">"Registration is now required before you can continue."</p>
                        }.into_any()),
                        Some(NextStep::RegisterMfa { deadline: Some(d), .. }) => Some(view! {
                            <p class="muted">"You can skip until " {crate::logic::format_time(d)} "."</p>
                        }.into_any()),
                        _ => None,
                    }}
                    <ErrorAlert error=error/>
                    <div class="actions">
                        <button class="btn btn-primary" on:click=move |_| registering.set(true) autofocus=true>"Next"</button>
                    </div>
                    {move || match step() {
                        Some(NextStep::RegisterMfa { can_skip: true, days_left, deadline }) => Some(view! {
                            <p><a href="#" class="skip-link-inline" on:click=move |ev: leptos::ev::MouseEvent| { ev.prevent_default(); skip.run(()) }>{skip_label(days_left, deadline)}</a></p>
                        }),
                        _ => None,
                    }}
                    <p class="muted small">
                        <button type="button" class="link-button" on:click=sign_out.clone()>"Use a different account"</button>
                    </p>
                </Show>
            </div>
        </div>
    }
}
