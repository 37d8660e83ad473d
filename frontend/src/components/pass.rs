use leptos::prelude::*;
use proofup_shared::api::TemporaryAccessPass;

use crate::logic::format_time;

/// Shows a temporary access pass once, with a copy button.
#[component]
pub fn PassPanel(pass: TemporaryAccessPass, username: String) -> impl IntoView {
    let code = pass.code.clone();
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&code);
            copied.set(true);
        }
    };
    if let Some(to) = pass.mailed_to.clone() {
        return view! {
            <section class="card pass-panel" aria-labelledby="pass-title" data-testid="pass-mailed">
                <h2 id="pass-title">"Temporary access pass for " {username}</h2>
                <p>"The pass is on its way to " <strong>{to}</strong> ", with the sign-in link. Nobody else sees it. It works once, until " {format_time(pass.expires_at)} "."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card pass-panel" aria-labelledby="pass-title">
            <h2 id="pass-title">"Temporary access pass for " {username}</h2>
            <p>"Give this one-time code to the user. They sign in with it once and then choose their own password. It is shown only now."</p>
            <p class="pass-code" data-testid="pass-code">{pass.code.clone()}</p>
            <p class="muted">"Valid until " {format_time(pass.expires_at)} "."</p>
            <button type="button" class="btn btn-secondary" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy code" }}
            </button>
        </section>
    }
    .into_any()
}
