//! The logo and name at the top of the centred cards (setup, sign-in, password, the sign-in steps).

use leptos::prelude::*;

#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <div class="brand-row">
            <img src="/favicon.svg" alt="" width="32" height="32"/>
            <span class="brand-name">"Proofup"</span>
        </div>
    }
}
