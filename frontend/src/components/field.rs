use leptos::prelude::*;
use proofup_shared::ApiError;

/// The server's message for one field of a refused form (`None` when it has none).
pub fn field_error(error: RwSignal<Option<ApiError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.with(|e| e.as_ref().and_then(|e| e.fields.iter().find(|f| f.field == field)).map(|f| f.message.clone()))
    })
}

/// A labelled input with an optional hint and error, wired for screen readers.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional, into)] hint: Option<Signal<String>>,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let has_error = move || error.is_some_and(|e| e.get().is_some());
    let described = {
        let (h, e) = (hint_id.clone(), err_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(h.clone());
            }
            if has_error() {
                ids.push(e.clone());
            }
            ids.join(" ")
        }
    };
    view! {
        <div class="field" class:field-invalid=has_error>
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                autofocus=autofocus
                aria-invalid=move || if has_error() { "true" } else { "false" }
                aria-describedby=described
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{move || h.get()}</p> })}
            {move || error.and_then(|e| e.get()).map(|m| view! { <p class="field-error" id=err_id.clone()>{m}</p> })}
        </div>
    }
}
