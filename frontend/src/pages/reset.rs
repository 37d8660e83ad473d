//! "Forgot your password?": the username, the registered methods (one, or two different ones for
//! an administrator), a new password, then back to signing in — to the application the user came
//! from, when they came from one (`?flow=`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use proofup_shared::reset::ResetMethod as MethodKind;
use proofup_shared::reset::{ResetStatus, ResetStep};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::center_card::CenterCard;
use crate::components::field::Field;
use crate::logic::password_hint;

#[derive(Clone, PartialEq)]
enum Stage {
    Username,
    Status(ResetStatus),
    /// Changed: where to sign in.
    Done(String),
}

fn method_heading(k: MethodKind) -> &'static str {
    match k {
        MethodKind::AuthenticatorApp => "Enter a code from your authenticator app",
        MethodKind::Passkey => "Use your passkey",
        MethodKind::EmailCode => "Enter the code we mail you",
    }
}

#[component]
pub fn ResetPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let flow = crate::session::flow_param(query.get("flow").as_deref());
    let username = RwSignal::new(query.get("username").unwrap_or_default());
    let stage = RwSignal::new(Stage::Username);
    let chosen = RwSignal::new(None::<MethodKind>);
    let code = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let field_error = RwSignal::new(None::<(String, String)>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let back_to_sign_in = match &flow {
        Some(f) => format!("/sign-in?flow={}", api::enc(f)),
        None => "/sign-in".to_owned(),
    };
    let err_for =
        move |name: &'static str| Signal::derive(move || field_error.get().filter(|(f, _)| f == name).map(|(_, m)| m));
    let show = move |s: ResetStatus| {
        chosen.set(s.methods.first().copied());
        code.set(String::new());
        stage.set(Stage::Status(s));
        busy.set(false);
    };
    let fail = move |e: ApiError| {
        field_error.set(e.fields.first().map(|f| (f.field.clone(), f.message.clone())));
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
        field_error.set(None);
        true
    };

    let start = {
        let flow = flow.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let u = username.get_untracked().trim().to_owned();
            if u.is_empty() {
                field_error.set(Some(("username".into(), "Enter your username.".into())));
                return;
            }
            if !begin() {
                return;
            }
            let flow = flow.clone();
            spawn_local(async move {
                match api::reset_begin(u, flow).await {
                    Ok(s) => show(s),
                    Err(e) => fail(e),
                }
            });
        }
    };
    let mailed = RwSignal::new(false);
    let send_mail = move |_| {
        if !begin() {
            return;
        }
        spawn_local(async move {
            match api::reset_email_code().await {
                Ok(_) => {
                    mailed.set(true);
                    busy.set(false);
                }
                Err(e) => fail(e),
            }
        });
    };
    let verify_code = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !begin() {
            return;
        }
        let c = code.get_untracked();
        let by_mail = chosen.get_untracked() == Some(MethodKind::EmailCode);
        spawn_local(async move {
            let r = if by_mail { api::reset_email_verify(c).await } else { api::reset_code(c).await };
            match r {
                Ok(s) => show(s),
                Err(e) => fail(e),
            }
        });
    };
    let use_passkey = move |_| {
        if !begin() {
            return;
        }
        spawn_local(async move {
            match api::reset_passkey().await {
                Ok(s) => show(s),
                Err(e) => fail(e),
            }
        });
    };
    let set_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (p, c) = (password.get_untracked(), confirm.get_untracked());
        if let Err((field, m)) = crate::logic::check_new_password(&p, &c, &username.get_untracked()) {
            field_error.set(Some((field.into(), m)));
            return;
        }
        if !begin() {
            return;
        }
        spawn_local(async move {
            match api::reset_password(p).await {
                Ok(done) => {
                    busy.set(false);
                    stage.set(Stage::Done(done.sign_in));
                }
                Err(e) => fail(e),
            }
        });
    };
    let cancel = {
        let navigate = navigate.clone();
        let back = back_to_sign_in.clone();
        move |_| {
            let navigate = navigate.clone();
            let back = back.clone();
            spawn_local(async move {
                let _ = api::reset_cancel().await;
                navigate(&back, Default::default());
            });
        }
    };
    let sign_in_again = move |to: String| {
        let sep = if to.contains('?') { '&' } else { '?' };
        format!("{to}{sep}username={}", api::enc(&username.get_untracked()))
    };

    view! {
        <CenterCard>
            <div class="reset" data-testid="reset">
            {move || match stage.get() {
                Stage::Username => view! {
                    <form on:submit=start.clone() novalidate=true>
                        <h1>"Reset your password"</h1>
                        <p class="muted">"Prove it is you with the authenticator app or passkey you registered, then choose a new password."</p>
                        <ErrorAlert error=error/>
                        <Field id="username" label="Username" value=username autocomplete="username" autofocus=true error=err_for("username")/>
                        <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                            {move || if busy.get() { "Checking…" } else { "Next" }}
                        </button>
                    </form>
                }.into_any(),
                Stage::Status(s) if s.step == ResetStep::AskAdministrator => view! {
                    <h1>"Ask your administrator"</h1>
                    <p class="alert alert-warn" role="status" data-testid="reset-ask-admin">{s.message.clone()}</p>
                }.into_any(),
                Stage::Status(s) if s.step == ResetStep::SetPassword => view! {
                    <form on:submit=set_password novalidate=true>
                        <h1>"Choose a new password"</h1>
                        <p class="muted">"Every device signed in to your account will be signed out."</p>
                        <ErrorAlert error=error/>
                        <Field id="new_password" label="New password" value=password kind="password" autocomplete="new-password" autofocus=true
                            hint=Signal::derive(move || password_hint(&password.get())) error=err_for("new_password")/>
                        <Field id="confirm" label="Confirm password" value=confirm kind="password" autocomplete="new-password" error=err_for("confirm")/>
                        <button type="submit" class="btn btn-primary btn-block" disabled=move || busy.get()>
                            {move || if busy.get() { "Saving…" } else { "Set password" }}
                        </button>
                    </form>
                }.into_any(),
                Stage::Status(s) => {
                    let others = s.methods.clone();
                    let hint = s.email_hint.clone().unwrap_or_default();
                    view! {
                        <h1>{move || chosen.get().map_or("Verify it is you", method_heading)}</h1>
                        <p class="muted" data-testid="reset-step">{s.message.clone()}</p>
                        <ErrorAlert error=error/>
                        {move || match chosen.get() {
                            Some(MethodKind::Passkey) => view! {
                                <button type="button" class="btn btn-primary btn-block" on:click=use_passkey disabled=move || busy.get()>
                                    {move || if busy.get() { "Waiting for your passkey…" } else { "Use passkey" }}
                                </button>
                            }.into_any(),
                            Some(MethodKind::EmailCode) if !mailed.get() => view! {
                                <p class="muted">"We mail a 6-digit code to " <strong>{hint.clone()}</strong> "."</p>
                                <button type="button" class="btn btn-primary btn-block" on:click=send_mail disabled=move || busy.get()>
                                    {move || if busy.get() { "Sending…" } else { "Send the code" }}
                                </button>
                            }.into_any(),
                            _ => view! {
                                <form on:submit=verify_code novalidate=true>
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
                        }}
                        {move || {
                            let rest: Vec<MethodKind> = others.iter().copied().filter(|k| Some(*k) != chosen.get()).collect();
                            (!rest.is_empty()).then(|| view! {
                                <div class="other-methods">
                                    <p class="muted small">"Use another method:"</p>
                                    <ul>
                                        {rest.into_iter().map(|k| view! {
                                            <li><button type="button" class="link-button" on:click=move |_| {
                                                error.set(None);
                                                code.set(String::new());
                                                chosen.set(Some(k));
                                            }>{k.label()}</button></li>
                                        }).collect_view()}
                                    </ul>
                                </div>
                            })
                        }}
                    }.into_any()
                }
                Stage::Done(to) => view! {
                    <h1>"Your password is changed"</h1>
                    <p class="alert alert-info" role="status" data-testid="reset-done">
                        "Every device that was signed in to your account is signed out. Sign in with your new password."
                    </p>
                    <a class="btn btn-primary btn-block" href=sign_in_again(to) data-testid="reset-sign-in">"Sign in"</a>
                }.into_any(),
            }}
            {move || (!matches!(stage.get(), Stage::Done(_))).then(|| view! {
                <p class="reset-back small"><button type="button" class="link-button" on:click=cancel.clone()>"Back to sign in"</button></p>
            })}
            </div>
        </CenterCard>
    }
}
