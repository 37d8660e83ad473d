use leptos::prelude::*;
use proofup_shared::ApiError;

/// An error box that screen readers announce.
#[component]
pub fn ErrorAlert(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <div class="alert alert-error" role="alert">{e.message}</div> }
        })
    }
}

/// A success or information box.
#[component]
pub fn Notice(#[prop(into)] text: String) -> impl IntoView {
    view! { <div class="alert alert-info" role="status">{text}</div> }
}
