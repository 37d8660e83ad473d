//! Creating a user: the form, then their temporary access pass, shown once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use proofup_shared::api::{CreateUserRequest, Role, TemporaryAccessPass, UserView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::field::{field_error, Field};
use crate::components::pass::PassPanel;

use super::{my_role, role_from, role_value, ROLES};

#[component]
pub fn NewUserPage() -> impl IntoView {
    let me = my_role();
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::User);
    let emergency = RwSignal::new(false);
    let mail_pass = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<(UserView, TemporaryAccessPass)>);
    let err_for = move |n: &'static str| field_error(error, n);
    let assignable: Vec<Role> =
        ROLES.into_iter().filter(|r| me == Some(Role::GlobalAdministrator) || *r == Role::User).collect();
    let global = me == Some(Role::GlobalAdministrator);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = CreateUserRequest {
            username: username.get_untracked(),
            display_name: display_name.get_untracked(),
            email: Some(email.get_untracked()),
            role: role.get_untracked(),
            emergency_access: emergency.get_untracked(),
            send_pass_by_mail: mail_pass.get_untracked() && !email.get_untracked().trim().is_empty(),
        };
        spawn_local(async move {
            match api::create_user(req).await {
                Ok(r) => {
                    created.set(Some((r.user, r.temporary_access_pass)));
                }
                Err(e) => {
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <p><A href="/users">"← Users"</A></p>
        <h1>"New user"</h1>
        <Show
            when=move || created.get().is_none()
            fallback=move || created.get().map(|(u, pass)| view! {
                <Notice text=format!("{} was created.", u.display_name)/>
                <PassPanel pass=pass username=u.username.clone()/>
                <p class="actions">
                    <A href=format!("/users/{}", u.id) attr:class="btn btn-primary">"Open the user"</A>
                    <A href="/users" attr:class="btn btn-secondary">"Back to users"</A>
                </p>
            })
        >
            <form class="card form-card" on:submit=submit novalidate=true>
                <p class="muted">"You never choose a user's password: Proofup issues a one-time temporary access pass, and the user chooses their password at first sign-in."</p>
                <ErrorAlert error=error/>
                <Field id="username" label="Username" value=username autofocus=true error=err_for("username")
                    hint=Signal::derive(|| "Letters, digits and . _ - @ (not case-sensitive).".to_owned())/>
                <Field id="display_name" label="Display name" value=display_name error=err_for("display_name")/>
                <Field id="email" label="Email (optional)" value=email kind="email" error=err_for("email")/>
                {move || (!email.get().trim().is_empty()).then(|| view! {
                    <label class="check">
                        <input id="mail-pass" type="checkbox" prop:checked=move || mail_pass.get()
                            on:change=move |ev| mail_pass.set(event_target_checked(&ev))/>
                        " Mail the temporary access pass to this address, with the sign-in link, instead of showing it to me"
                    </label>
                })}
                <div class="field">
                    <label for="role">"Role"</label>
                    <select id="role" on:change=move |ev| if let Some(r) = role_from(&event_target_value(&ev)) { role.set(r) }>
                        {assignable.iter().map(|r| view! { <option value=role_value(*r) selected=*r == Role::User>{r.label()}</option> }).collect_view()}
                    </select>
                </div>
                {global.then(|| view! {
                    <label class="check">
                        <input type="checkbox" on:change=move |ev| emergency.set(event_target_checked(&ev))/>
                        " Emergency-access (break-glass) account"
                    </label>
                })}
                <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create user" }}
                </button>
            </form>
        </Show>
    }
}
