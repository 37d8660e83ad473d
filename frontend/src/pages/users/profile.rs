//! Editing an existing user's profile: display name, email and (Global administrators only)
//! whether the account is an emergency-access account. Messages appear in the form itself.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::api::{UpdateUserRequest, UserView};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::components::field::{field_error, Field};
use crate::logic::emergency_question;

#[component]
pub(super) fn EditProfile(
    user: UserView,
    global: bool,
    /// Where "saved" is said (owned by the page: saving redraws this form).
    notice: RwSignal<Option<String>>,
    on_saved: Callback<UserView>,
) -> impl IntoView {
    let display_name = RwSignal::new(user.display_name.clone());
    let email = RwSignal::new(user.email.clone().unwrap_or_default());
    let emergency = RwSignal::new(user.emergency_access);
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let before = StoredValue::new(user);
    let err_for = move |n: &'static str| field_error(error, n);
    let changed = move || {
        let b = before.get_value();
        display_name.get() != b.display_name
            || email.get() != b.email.unwrap_or_default()
            || emergency.get() != b.emergency_access
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || !changed() {
            return;
        }
        let b = before.get_value();
        let (name, mail, flag) = (display_name.get_untracked(), email.get_untracked(), emergency.get_untracked());
        if let Some(q) = emergency_question(&b.display_name, b.emergency_access, flag) {
            if !confirm(&q) {
                return;
            }
        }
        let req = UpdateUserRequest {
            display_name: (name != b.display_name).then_some(name),
            email: (mail != b.email.clone().unwrap_or_default()).then_some(mail),
            emergency_access: (flag != b.emergency_access).then_some(flag),
            ..Default::default()
        };
        busy.set(true);
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            match api::update_user(b.id.clone(), req).await {
                Ok(u) => {
                    notice.set(Some(format!("Saved the profile of {}.", u.display_name)));
                    before.set_value(u.clone());
                    on_saved.run(u);
                }
                Err(e) => {
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    view! {
        <form class="profile-form" on:submit=submit novalidate=true aria-label="Edit profile">
            <h3>"Edit profile"</h3>
            <Field id="edit-display-name" label="Display name" value=display_name error=err_for("display_name")/>
            <Field id="edit-email" label="Email (optional)" value=email kind="email" error=err_for("email")/>
            {global.then(|| view! {
                <label class="check">
                    <input type="checkbox" id="edit-emergency" prop:checked=move || emergency.get()
                        on:change=move |ev| emergency.set(event_target_checked(&ev))/>
                    " Emergency-access (break-glass) account"
                </label>
                <p class="hint">"Always excluded from the MFA registration policy; each sign-in raises an alert."</p>
            })}
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            <div class="actions">
                <button type="submit" class="btn btn-primary" disabled=move || busy.get() || !changed()>
                    {move || if busy.get() { "Saving…" } else { "Save profile" }}
                </button>
            </div>
        </form>
    }
}
