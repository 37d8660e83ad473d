//! Controls, grace period and enforcement: the policy's settings below its assignments.

use leptos::prelude::*;
use proofup_shared::policy::{Enforcement, MAX_GRACE_DAYS};

use super::Draft;

#[component]
pub(super) fn Settings(d: Draft) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Controls"</h2>
            <label class="check">
                <input type="checkbox" id="require-registration" prop:checked=move || d.draft.get().is_some_and(|d| d.require_registration) disabled=!d.can_edit
                    on:change=move |ev| { let on = event_target_checked(&ev); d.edit(&|d| d.require_registration = on) }/>
                " Require MFA registration"
            </label>
            <p class="hint">"Users register a passkey or an authenticator app. A policy that is not Off needs this control."</p>
        </section>
        <section class="card">
            <h2>"Where users may register"</h2>
            <div class="field">
                <label for="registration-networks">"Trusted networks"</label>
                <textarea id="registration-networks" rows="3" spellcheck="false" disabled=!d.can_edit
                    placeholder="Anywhere (no networks listed)"
                    aria-describedby="registration-networks-hint"
                    prop:value=move || d.draft.get().map(|d| d.registration_networks.join("\n")).unwrap_or_default()
                    on:input=move |ev| {
                        let lines: Vec<String> = event_target_value(&ev).split('\n').map(str::to_owned).collect();
                        d.edit(&|d| d.registration_networks = lines.clone())
                    }></textarea>
            </div>
            <p class="hint" id="registration-networks-hint">
                "One per line: 10.0.0.0/8, 2001:db8::/32 or a single address. When listed, a user without MFA can register "
                "a method only from these networks; elsewhere they need a temporary access pass from an administrator. "
                "This stops someone who has only a password from adding their own authenticator to the account."
            </p>
        </section>
        <section class="card">
            <h2>"Grace period"</h2>
            <div class="field inline-field">
                <label for="grace-days">"Days users may skip"</label>
                <input id="grace-days" type="number" min="0" max=MAX_GRACE_DAYS.to_string() step="1" disabled=!d.can_edit
                    prop:value=move || d.draft.get().map(|d| d.grace_days.to_string()).unwrap_or_default()
                    on:input=move |ev| {
                        if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() { d.edit(&|d| d.grace_days = n) }
                    }/>
            </div>
            <p class="hint">"0 to 90. Counted per user from their first interactive sign-in while in scope and unregistered. 0 means no skip."</p>
        </section>
        <section class="card">
            <h2>"Enforce policy"</h2>
            <div class="segmented" role="radiogroup" aria-label="Enforce policy">
                {[Enforcement::On, Enforcement::ReportOnly, Enforcement::Off].into_iter().map(|e| view! {
                    <label class="segment" class:selected=move || d.draft.get().is_some_and(|d| d.enforcement == e)>
                        <input type="radio" name="enforcement" prop:checked=move || d.draft.get().is_some_and(|d| d.enforcement == e) disabled=!d.can_edit
                            on:change=move |_| d.edit(&|d| d.enforcement = e)/>
                        {e.label()}
                    </label>
                }).collect_view()}
            </div>
            <p class="hint">"Report-only evaluates and logs each sign-in but never interrupts and starts no grace period."</p>
        </section>
    }
}
