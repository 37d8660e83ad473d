//! The steps between the password and a complete session: the second factor,
//! and the MFA registration interrupt ("More information required").

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::mfa::{MethodKind, NextStep, SecondFactorOption};
use proofup_shared::{ApiError, ErrorCode};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Registering {
    No,
    Choosing,
    With(MethodKind),
}

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::center_card::CenterCard;
use crate::components::passkey_setup::PasskeySetupFlow;
use crate::components::second_step::SecondStep;
use crate::components::totp_setup::TotpSetupFlow;
use crate::logic::{safe_next, skip_label};
use crate::session::SessionCtx;

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
    // After a recovery code: how many are left, before going on.
    let recovery_left = RwSignal::new(None::<u32>);
    let go_on = {
        let navigate = navigate.clone();
        let next = next.clone();
        move || {
            let navigate = navigate.clone();
            let next = next.clone();
            spawn_local(async move {
                match api::me().await {
                    Ok(me) => {
                        session.me.set(Some(me.clone()));
                        crate::session::continue_after(&navigate, &me, &next);
                    }
                    Err(_) => navigate("/sign-in", Default::default()),
                }
            });
        }
    };
    let done = {
        let go_on = go_on.clone();
        Callback::new(move |left: Option<u32>| match left {
            Some(n) => recovery_left.set(Some(n)),
            None => go_on(),
        })
    };
    let gone = {
        let navigate = navigate.clone();
        Callback::new(move |_| navigate("/sign-in", Default::default()))
    };
    let options = move || match session.me.get().map(|m| m.next_step) {
        Some(NextStep::SecondFactor { options }) if !options.is_empty() => Some(options),
        Some(NextStep::SecondFactor { .. }) => Some(vec![SecondFactorOption::AuthenticatorApp]),
        _ => None,
    };
    view! {
        <CenterCard>
                <p class="eyebrow">{move || session.me.get().map(|m| m.username).unwrap_or_default()}</p>
                {move || match recovery_left.get() {
                    Some(n) => {
                        let go_on = go_on.clone();
                        view! {
                            <h1>"Signed in with a recovery code"</h1>
                            <div class={if n <= 3 { "alert alert-warn" } else { "alert alert-info" }} role="status" data-testid="recovery-left">
                                {match n {
                                    0 => "That was your last recovery code. Make new ones in My security info.".to_owned(),
                                    1 => "You have 1 recovery code left.".to_owned(),
                                    n => format!("You have {n} recovery codes left."),
                                }}
                            </div>
                            <p class="muted">"If you lost your device, remove it from My security info and add a new method."</p>
                            <div class="actions"><button class="btn btn-primary" on:click=move |_| go_on()>"Continue"</button></div>
                        }.into_any()
                    }
                    None => match options() {
                        Some(options) => view! {
                            <SecondStep options=options on_done=done on_unauthenticated=gone/>
                            <p class="muted small">"Lost all your methods and codes? Ask your administrator to require re-registration for your account."</p>
                        }.into_any(),
                        None => view! { <p class="loading" role="status">"Loading…"</p> }.into_any(),
                    },
                }}
        </CenterCard>
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
    // Inside an application's sign-in: the server says which application waits, and where
    // Cancel goes.
    let app_name = move || session.me.get().and_then(|m| m.application);
    // Every step names the application that waits, not only the first.
    let app_line = move || {
        app_name().map(|n| {
            view! { <p class="muted" data-testid="signing-in-to">"before you continue to " <strong>{n}</strong></p> }
        })
    };
    // Cancel: back to the application, which is told the user declined (`access_denied`).
    let cancel = {
        let navigate = navigate.clone();
        Callback::new(move |_: ()| {
            if let Some(to) = session.me.get_untracked().and_then(|m| m.cancel_to) {
                crate::session::go_to(&navigate, &to);
            }
        })
    };
    let registering = RwSignal::new(Registering::No);
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
                        session.me.set(Some(me.clone()));
                        crate::session::continue_after(&navigate, &me, &next);
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
    let finished = RwSignal::new(None::<MethodKind>);
    // Registering completed the sign-in: where an application waiting continues (the server's).
    let continue_to = StoredValue::new(None::<String>);
    let done = Callback::new(move |a: proofup_shared::mfa::MethodAdded| {
        continue_to.set_value(a.continue_to.clone());
        finished.set(Some(a.method.kind));
        spawn_local(async move {
            if let Ok(me) = api::me().await {
                session.me.set(Some(me));
            }
        });
    });
    let go_on = {
        let navigate = navigate.clone();
        let next = next.clone();
        move |_| crate::session::go_to(&navigate, &continue_to.get_value().unwrap_or_else(|| next.clone()))
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
        <CenterCard class="interrupt">
                <p class="eyebrow">{move || session.me.get().map(|m| m.username).unwrap_or_default()}</p>
                {move || finished.get().map(|kind| view! {
                    <h1>"You're all set"</h1>
                    {app_line}
                    <div class="alert alert-info" role="status">{match kind {
                        MethodKind::Passkey => "Your passkey is registered. From now on you'll use it when you sign in.",
                        MethodKind::AuthenticatorApp => "Your authenticator app is registered. From now on you'll enter a code from it when you sign in.",
                    }}</div>
                    <p class="muted">"Tip: make recovery codes in My security info, in case you lose this device."</p>
                    <div class="actions">
                        <button class="btn btn-primary" on:click=go_on.clone()>"Continue"</button>
                    </div>
                })}
                <Show when=move || finished.get().is_none() && registering.get() == Registering::Choosing>
                    <h1>"Choose a sign-in method"</h1>
                    {app_line}
                    <p class="muted">"You'll use it with your password each time you sign in."</p>
                    <div class="method-choices">
                        <button type="button" class="method-choice" on:click=move |_| registering.set(Registering::With(MethodKind::Passkey))>
                            <strong>"Passkey"</strong><span class="badge">"Recommended"</span>
                            <span class="muted">"Your device's fingerprint, face or screen lock, or a security key."</span>
                        </button>
                        <button type="button" class="method-choice" on:click=move |_| registering.set(Registering::With(MethodKind::AuthenticatorApp))>
                            <strong>"Authenticator app"</strong>
                            <span class="muted">"A 6-digit code from an app on your phone."</span>
                        </button>
                    </div>
                    <div class="actions"><button type="button" class="btn btn-secondary" on:click=move |_| registering.set(Registering::No)>"Back"</button></div>
                </Show>
                <Show when=move || finished.get().is_none() && registering.get() == Registering::With(MethodKind::AuthenticatorApp)>
                    <h1>"Set up your authenticator app"</h1>
                    {app_line}
                    <TotpSetupFlow on_done=done on_cancel=Callback::new(move |_| registering.set(Registering::Choosing))/>
                </Show>
                <Show when=move || finished.get().is_none() && registering.get() == Registering::With(MethodKind::Passkey)>
                    <h1>"Create a passkey"</h1>
                    {app_line}
                    <PasskeySetupFlow on_done=done on_cancel=Callback::new(move |_| registering.set(Registering::Choosing))/>
                </Show>
                <Show when=move || finished.get().is_none() && registering.get() == Registering::No>
                    <h1>"More information required"</h1>
                    {app_line}
                    <p>"Your organization needs more information to keep your account secure."</p>
                    {move || match step() {
                        Some(NextStep::RegisterMfa { can_skip: false, .. }) => Some(view! {
                            <p class="muted">"Registration is now required before you can continue."</p>
                        }.into_any()),
                        Some(NextStep::RegisterMfa { deadline: Some(d), .. }) => Some(view! {
                            <p class="muted" title=crate::logic::utc_time(d)>"You can skip this for now. Registration is required " {crate::logic::format_deadline(d, crate::logic::now())} "."</p>
                        }.into_any()),
                        _ => None,
                    }}
                    <ErrorAlert error=error/>
                    {move || if matches!(step(), Some(NextStep::RegisterMfa { network_blocked: true, .. })) {
                        view! {
                            <div class="alert alert-warn" role="status" data-testid="network-blocked">
                                "Your organization lets you add a sign-in method only from its own network. "
                                "Sign in from there, or ask your administrator for a temporary access pass, "
                                "which lets you register from anywhere."
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <div class="actions">
                                <button class="btn btn-primary" on:click=move |_| registering.set(Registering::Choosing) autofocus=true>"Next"</button>
                                {app_name().map(|n| view! {
                                    <button class="btn btn-secondary" on:click=move |_| cancel.run(()) title=format!("Back to {n}, without signing in")>"Cancel"</button>
                                })}
                            </div>
                        }.into_any()
                    }}
                    {move || match step() {
                        Some(NextStep::RegisterMfa { can_skip: true, days_left, deadline, .. }) => Some(view! {
                            <p><a href="#" class="skip-link-inline" on:click=move |ev: leptos::ev::MouseEvent| { ev.prevent_default(); skip.run(()) }>{skip_label(days_left, deadline)}</a></p>
                        }),
                        _ => None,
                    }}
                    <p class="muted small">
                        <button type="button" class="link-button" on:click=sign_out.clone()>"Use a different account"</button>
                    </p>
                </Show>
        </CenterCard>
    }
}
