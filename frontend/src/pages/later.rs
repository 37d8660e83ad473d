use leptos::prelude::*;

/// A navigation target whose page is not part of this version yet.
#[component]
pub fn Later(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <h1>{title}</h1>
        <div class="card">
            <p><strong>"Not available in this version yet."</strong></p>
            <p class="muted">{what}</p>
        </div>
    }
}
