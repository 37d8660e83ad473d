//! The policy's saved versions: who saved what, and when.

use leptos::prelude::*;
use proofup_shared::policy::PolicyVersion;

use crate::components::time::MaybeTime;

#[component]
pub(super) fn VersionHistory(history: RwSignal<Vec<PolicyVersion>>) -> impl IntoView {
    view! {
    <section class="card">
        <h2>"Version history"</h2>
        {move || {
            let h = history.get();
            if h.is_empty() {
                view! { <p class="empty">"Not saved yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="stack-on-phone">
                        <thead><tr><th>"Version"</th><th>"Saved"</th><th>"By"</th><th>"Changes"</th></tr></thead>
                        <tbody>{h.into_iter().map(|v| view! {
                            <tr>
                                <td data-label="Version">{v.version}</td>
                                <td class="nowrap" data-label="Saved"><MaybeTime at=v.saved_at none=""/></td>
                                <td data-label="By">{v.saved_by.unwrap_or_default()}</td>
                                <td data-label="Changes"><ul class="changes">{v.changes.into_iter().map(|c| view! {
                                    <li><span class="change-field">{crate::logic::field_label(&c.field)}</span> ": " {c.before.unwrap_or_else(|| "—".into())} " → " {c.after.unwrap_or_else(|| "—".into())}</li>
                                }).collect_view()}</ul></td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            }
        }}
    </section>
    }
}
