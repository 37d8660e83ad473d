//! "What if": how the draft treats one user, and why.

use leptos::prelude::*;
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::policy::{DecisionView, WhatIf};

use crate::components::picker::DirectoryPicker;

#[component]
pub(super) fn WhatIfCard(what_if: RwSignal<Option<WhatIf>>, on_pick: Callback<DirectoryRef>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"What if"</h2>
            <p class="hint">"See how these settings treat one user, and why."</p>
            <DirectoryPicker id="what-if-picker" label="User" on_pick=on_pick only=MemberKind::User/>
            {move || what_if.get().map(|w| {
                // The verdict follows the enforcement: Off and Report-only never interrupt.
                let (label, cls) = match &w.decision {
                    DecisionView::Prompt { .. } if !w.interrupts => ("Not interrupted (would be prompted if On)".to_owned(), "badge"),
                    DecisionView::Required { .. } if !w.interrupts => ("Not interrupted (would have to register if On)".to_owned(), "badge"),
                    // The report's and the Overview's words.
                    DecisionView::NotInScope { excluded: true, .. } => ("Excluded".to_owned(), "badge"),
                    DecisionView::NotInScope { .. } => ("Not included".to_owned(), "badge"),
                    DecisionView::Registered { .. } => ("Registered".to_owned(), "badge badge-ok"),
                    DecisionView::Prompt { days_left, not_yet_prompted: true, .. } => (format!("Will be prompted ({} to skip)", crate::logic::plural((*days_left).into(), "day", "days")), "badge badge-warn"),
                    DecisionView::Prompt { days_left, .. } => (format!("Prompted, {} left", crate::logic::plural((*days_left).into(), "day", "days")), "badge badge-warn"),
                    DecisionView::Required { .. } => ("Must register at next sign-in".to_owned(), "badge badge-bad"),
                };
                view! {
                    <div class="what-if" data-testid="what-if">
                        <p><strong>{w.username.clone()}</strong> " " <span class=cls>{label}</span></p>
                        <ul>{w.explanation.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                    </div>
                }
            })}
        </section>
    }
}
