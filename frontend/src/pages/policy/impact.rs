//! The impact of the draft on every user, recomputed as the administrator edits.

use leptos::prelude::*;
use proofup_shared::policy::ImpactResponse;

#[component]
pub(super) fn ImpactCard(impact: RwSignal<Option<ImpactResponse>>) -> impl IntoView {
    view! {
        <section class="card" aria-live="polite">
            <h2>"Impact of these settings"</h2>
            {move || impact.get().map(|r| {
                let i = r.impact;
                let max = i.forced_per_day.iter().copied().max().unwrap_or(0).max(1);
                view! {
                    <dl class="impact">
                        <dt>"In scope"</dt><dd data-testid="impact-in-scope">{i.in_scope}</dd>
                        <dt>"Registered"</dt><dd>{i.registered}</dd>
                        <dt>"In grace period"</dt><dd>{i.in_grace}</dd>
                        <dt>"Not prompted yet"</dt><dd>{i.not_yet_prompted}</dd>
                        <dt>"Must register at next sign-in"</dt><dd data-testid="impact-forced">{i.forced}</dd>
                        <dt>"Excluded"</dt><dd>{i.excluded}</dd>
                        <dt>"Not included"</dt><dd>{i.not_included}</dd>
                    </dl>
                    <h3>"Grace periods ending, next 30 days"</h3>
                    <div class="bars" role="img" aria-label=format!("Grace periods ending in the next 30 days: {}", crate::logic::plural(i.forced_per_day.iter().sum::<u64>(), "user", "users"))>
                        {i.forced_per_day.iter().enumerate().map(|(d, n)| view! {
                            <span class="bar" title=format!("Day {}: {n}", d + 1) style=format!("height:{}%", 4 + n * 96 / max)></span>
                        }).collect_view()}
                    </div>
                    {r.warnings.into_iter().map(|w| view! { <p class="warn-text small">{w}</p> }).collect_view()}
                }
            })}
        </section>
    }
}
