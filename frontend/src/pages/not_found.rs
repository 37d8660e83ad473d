use leptos::prelude::*;

use crate::components::center_card::CenterCard;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <CenterCard brand=false>
                <p class="eyebrow">"Error 404"</p>
                <h1>"Page not found"</h1>
                <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
                <A href="/" attr:class="btn btn-primary">"Go to the overview"</A>
        </CenterCard>
    }
}
