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
                    <h3 id="grace-chart-title">"Grace periods ending, next 30 days"</h3>
                    // Each bar carries its count (no hover needed, phones have none); the axis
                    // names its ends; a table says the same to screen readers.
                    <div class="bars" aria-hidden="true">
                        {i.forced_per_day.iter().enumerate().map(|(d, n)| view! {
                            <span class="bar" class:bar-empty=*n == 0 title=format!("{}: {}", day_label(d), crate::logic::plural(*n, "user", "users")) style=format!("height:{}%", 4 + n * 96 / max)>
                                {(*n > 0).then(|| view! { <span class="bar-n">{*n}</span> })}
                            </span>
                        }).collect_view()}
                    </div>
                    <div class="bars-axis" aria-hidden="true">
                        <span>{day_label(0)}</span><span>"per day"</span><span>{day_label(i.forced_per_day.len().saturating_sub(1))}</span>
                    </div>
                    <table class="sr-only" aria-labelledby="grace-chart-title">
                        <thead><tr><th scope="col">"Day"</th><th scope="col">"Grace periods ending"</th></tr></thead>
                        <tbody>
                            {i.forced_per_day.iter().enumerate().filter(|(_, n)| **n > 0).map(|(d, n)| view! {
                                <tr><td>{day_label(d)}</td><td>{*n}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    {(i.forced_per_day.iter().all(|n| *n == 0)).then(|| view! { <p class="muted small">"No grace period ends in the next 30 days."</p> })}
                }
            })}
        </section>
    }
}

/// Day `d` of the chart (0 = today), as a date people read: `7 Dec`.
fn day_label(d: usize) -> String {
    let day = crate::logic::now() + time::Duration::days(d as i64);
    let local = day.to_offset(crate::logic::local_offset(day));
    format!("{} {}", local.day(), &local.month().to_string()[..3])
}
