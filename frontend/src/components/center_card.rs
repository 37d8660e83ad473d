//! The one centred card of the pages outside the portal's shell: setup, sign-in, choosing a
//! password, the sign-in steps, "page not found".

use leptos::prelude::*;

use super::brand::Brand;

/// A card in the middle of the page, with the brand row on top unless `brand` is false.
/// `width` is `narrow` (sign-in) or `wide` (setup); `class` adds a modifier (`interrupt`).
#[component]
pub fn CenterCard(
    #[prop(default = "narrow")] width: &'static str,
    #[prop(default = "")] class: &'static str,
    #[prop(default = true)] brand: bool,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() { format!("card {width}") } else { format!("card {width} {class}") };
    view! {
        <div class="center-page">
            <div class=class>
                {brand.then(|| view! { <Brand/> })}
                {children()}
            </div>
        </div>
    }
}
