//! "My security info": the signed-in user's sign-in methods.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::mfa::MethodView;
use proofup_shared::{ApiError, ErrorCode};

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::totp_setup::TotpSetupFlow;
use crate::logic::format_time;

fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    let methods = RwSignal::new(None::<Vec<MethodView>>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let adding = RwSignal::new(false);
    let reverify = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let load = move || {
        spawn_local(async move {
            match api::my_methods().await {
                Ok(m) => methods.set(Some(m)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let handle = move |e: ApiError| {
        if e.error == ErrorCode::ReauthenticationRequired {
            reverify.set(true);
        }
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
    let start_add = move |_| {
        error.set(None);
        notice.set(None);
        adding.set(true);
    };
    let added = Callback::new(move |a: proofup_shared::mfa::MethodAdded| {
        adding.set(false);
        notice.set(Some(format!("\"{}\" is registered.", a.method.name)));
        load();
    });
    let submit_reverify = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let c = code.get_untracked();
        spawn_local(async move {
            match api::reverify(c).await {
                Ok(()) => {
                    reverify.set(false);
                    code.set(String::new());
                    error.set(None);
                    notice.set(Some("Confirmed. You can change your methods for the next 10 minutes.".into()));
                }
                Err(e) => {
                    code.set(String::new());
                    error.set(Some(e));
                }
            }
        });
    };
    view! {
        <div class="page-head"><h1>"My security info"</h1></div>
        <p class="muted">"These are the methods you use to prove it's you when you sign in."</p>
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <Notice text=n/> })}
        <Show when=move || reverify.get()>
            <form class="card narrow" on:submit=submit_reverify novalidate=true>
                <h2>"Confirm it's you"</h2>
                <p class="muted">"Enter a current code from your authenticator app to change your methods."</p>
                <div class="field">
                    <label for="reverify-code">"Code"</label>
                    <input id="reverify-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" class="code-input"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="btn btn-primary">"Confirm"</button>
            </form>
        </Show>
        <section class="card">
            <h2>"Sign-in methods"</h2>
            {move || methods.get().map(|ms| if ms.is_empty() {
                view! { <p class="empty">"No sign-in method yet. Add an authenticator app so your account is protected by more than a password."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table>
                        <thead><tr><th>"Method"</th><th>"Name"</th><th>"Added"</th><th>"Last used"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                        <tbody>
                            {ms.into_iter().map(|m| {
                                let m2 = m.clone();
                                view! {
                                    <tr>
                                        <td>{m.kind.label()}</td>
                                        <td>{m.name.clone()}</td>
                                        <td class="nowrap">{format_time(m.created_at)}</td>
                                        <td class="nowrap">{m.last_used_at.map(format_time).unwrap_or_else(|| "Never".into())}</td>
                                        <td><button class="btn btn-secondary" on:click=move |_| remove(m2.clone())>"Remove"</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            })}
            <Show when=move || !adding.get()>
                <div class="actions"><button class="btn btn-primary" on:click=start_add>"Add authenticator app"</button></div>
            </Show>
        </section>
        <Show when=move || adding.get()>
            <section class="card">
                <h2>"Add an authenticator app"</h2>
                <TotpSetupFlow on_done=added on_cancel=Callback::new(move |_| adding.set(false))
                    on_error=Callback::new(move |e| { adding.set(false); handle(e); })/>
            </section>
        </Show>
    }
}
