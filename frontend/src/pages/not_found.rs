use leptos::prelude::*;

use crate::components::center_card::CenterCard;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked() + &location.search.get_untracked() + &location.hash.get_untracked();
    if crate::session::load_admin_bundle(&location.pathname.get_untracked(), &path) {
        return view! { <div class="loading" role="status">"Loading Proofup…"</div> }.into_any();
    }
    view! {
        <CenterCard brand=false>
                <p class="eyebrow">"Error 404"</p>
                <h1>"Page not found"</h1>
                <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
                <A href="/" attr:class="btn btn-primary">"Go to the overview"</A>
        </CenterCard>
    }
    .into_any()
}
