//! "My security info": the signed-in user's sign-in methods and recovery codes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::{MethodKind, MethodView, SecondFactorOption};
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::passkey_setup::PasskeySetupFlow;
use crate::components::password_change::ChangePasswordCard;
use crate::components::recovery_codes::RecoveryCodesCard;
use crate::components::second_step::SecondStep;
use crate::components::sessions::MySessionsCard;
use crate::components::time::{MaybeTime, Time};
use crate::components::totp_setup::TotpSetupFlow;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Adding {
    Nothing,
    App,
    Passkey,
}

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    let methods = RwSignal::new(None::<Vec<MethodView>>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let adding = RwSignal::new(Adding::Nothing);
    // Re-authentication: the ways this user can prove a second factor now.
    let reverify = RwSignal::new(None::<Vec<SecondFactorOption>>);
    let editing = RwSignal::new(None::<String>);
    let new_name = RwSignal::new(String::new());
    let load = move || {
        spawn_local(async move {
            match api::my_methods().await {
                Ok(m) => methods.set(Some(m)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    // "Change password" in the user menu links here: bring its card into view.
    request_animation_frame(|| {
        let doc = web_sys::window().and_then(|w| w.document().map(|d| (w, d)));
        if let Some((w, d)) = doc {
            if w.location().hash().is_ok_and(|h| h == "#password") {
                if let Some(el) = d.get_element_by_id("password") {
                    el.scroll_into_view();
                }
            }
        }
    });
    let handle = move |e: ApiError| {
        if e.error == ErrorCode::ReauthenticationRequired {
            let kinds: Vec<MethodKind> = methods.get_untracked().unwrap_or_default().iter().map(|m| m.kind).collect();
            spawn_local(async move {
                let left = api::recovery_status().await.map(|s| s.remaining).unwrap_or(0);
                let options = proofup_shared::mfa::second_factor_options(kinds, left);
                reverify.set(Some(options));
            });
        }
        notice.set(None);
        error.set(Some(e));
    };
    let remove = move |m: MethodView| {
        if !confirm(&format!("Remove \"{}\"? You will no longer be able to sign in with it.", m.name)) {
            return;
        }
        spawn_local(async move {
            match api::remove_my_method(m.id.clone()).await {
                Ok(()) => {
                    notice.set(Some(format!("\"{}\" was removed.", m.name)));
                    error.set(None);
                    load();
                }
                Err(e) => handle(e),
            }
        });
    };
    let save_name = move |id: String| {
        let n = new_name.get_untracked();
        spawn_local(async move {
            match api::rename_my_method(id, n).await {
                Ok(m) => {
                    editing.set(None);
                    error.set(None);
                    notice.set(Some(format!("Renamed to \"{}\".", m.name)));
                    load();
                }
                Err(e) => handle(e),
            }
        });
    };
    let start_add = move |what: Adding| {
        error.set(None);
        notice.set(None);
        adding.set(what);
    };
    let added = Callback::new(move |a: proofup_shared::mfa::MethodAdded| {
        adding.set(Adding::Nothing);
        notice.set(Some(format!("\"{}\" is registered.", a.method.name)));
        load();
    });
    let reverified = Callback::new(move |left: Option<u32>| {
        reverify.set(None);
        error.set(None);
        let mut text = "Confirmed. You can change your methods for the next 10 minutes.".to_owned();
        if let Some(n) = left {
            text.push_str(&format!(" You have {n} recovery codes left."));
        }
        notice.set(Some(text));
    });
    let has_method = Signal::derive(move || methods.get().is_some_and(|m| !m.is_empty()));
    view! {
        <div class="page-head"><h1>"My security info"</h1></div>
        <p class="muted">"These are the methods you use to prove it's you when you sign in."</p>
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <Notice text=n/> })}
        {move || reverify.get().map(|options| view! {
            <section class="card narrow" data-testid="reverify">
                <p class="eyebrow">"Confirm it's you"</p>
                <SecondStep options=options reauth=true on_done=reverified/>
                <div class="actions"><button type="button" class="btn btn-secondary" on:click=move |_| reverify.set(None)>"Cancel"</button></div>
            </section>
        })}
        <section class="card">
            <h2>"Sign-in methods"</h2>
            {move || methods.get().map(|ms| if ms.is_empty() {
                view! { <p class="empty">"No sign-in method yet. Add a passkey or an authenticator app so your account is protected by more than a password."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table>
                        <thead><tr><th>"Method"</th><th>"Name"</th><th>"Added"</th><th>"Last used"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                            {ms.into_iter().map(|m| {
                                let (m2, id, id2, id3, name) = (m.clone(), m.id.clone(), m.id.clone(), m.id.clone(), m.name.clone());
                                view! {
                                    <tr>
                                        <td>{m.kind.label()}</td>
                                        <td>
                                            {move || if editing.get().as_deref() == Some(id.as_str()) {
                                                let id = id.clone();
                                                view! {
                                                    <form class="inline-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); save_name(id.clone()) }>
                                                        <label class="sr-only" for="rename-method">"New name"</label>
                                                        <input id="rename-method" type="text" maxlength="64" autofocus=true
                                                            prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
                                                        <button type="submit" class="btn btn-primary btn-small">"Save"</button>
                                                        <button type="button" class="btn btn-secondary btn-small" on:click=move |_| editing.set(None)>"Cancel"</button>
                                                    </form>
                                                }.into_any()
                                            } else {
                                                view! { <span>{name.clone()}</span> }.into_any()
                                            }}
                                        </td>
                                        <td class="nowrap"><Time at=m.created_at/></td>
                                        <td class="nowrap"><MaybeTime at=m.last_used_at none="Never"/></td>
                                        <td><div class="row-actions">
                                            <Show when=move || editing.get().as_deref() != Some(id2.as_str())>
                                                <button class="btn btn-secondary btn-small" on:click={
                                                    let (id, n) = (id3.clone(), m.name.clone());
                                                    move |_| { new_name.set(n.clone()); editing.set(Some(id.clone())); }
                                                }>"Rename"</button>
                                            </Show>
                                            <button class="btn btn-secondary btn-small" on:click=move |_| remove(m2.clone())>"Remove"</button>
                                        </div></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            })}
            <Show when=move || adding.get() == Adding::Nothing>
                <div class="actions">
                    <button class="btn btn-primary" on:click=move |_| start_add(Adding::Passkey)>"Add passkey"</button>
                    <button class="btn btn-secondary" on:click=move |_| start_add(Adding::App)>"Add authenticator app"</button>
                </div>
            </Show>
        </section>
        <Show when=move || adding.get() == Adding::App>
            <section class="card">
                <h2>"Add an authenticator app"</h2>
                <TotpSetupFlow on_done=added on_cancel=Callback::new(move |_| adding.set(Adding::Nothing))
                    on_error=Callback::new(move |e| { adding.set(Adding::Nothing); handle(e); })/>
            </section>
        </Show>
        <Show when=move || adding.get() == Adding::Passkey>
            <section class="card">
                <h2>"Add a passkey"</h2>
                <PasskeySetupFlow on_done=added on_cancel=Callback::new(move |_| adding.set(Adding::Nothing))
                    on_error=Callback::new(move |e| { adding.set(Adding::Nothing); handle(e); })/>
            </section>
        </Show>
        <RecoveryCodesCard has_method=has_method on_reauth=Callback::new(handle)/>
        <crate::components::email::EmailCard/>
        <MySessionsCard/>
        <ChangePasswordCard/>
    }
}
