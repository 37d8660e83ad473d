//! Search users and groups by name and pick one.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::directory::{DirectoryRef, MemberKind};

use crate::api;

#[component]
pub fn DirectoryPicker(
    id: &'static str,
    label: &'static str,
    on_pick: Callback<DirectoryRef>,
    /// Only offer users (Some(User)), only groups (Some(Group)), or both.
    #[prop(optional)]
    only: Option<MemberKind>,
) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let results = RwSignal::new(Vec::<DirectoryRef>::new());
    let searched = RwSignal::new(false);
    let seq = StoredValue::new(0u64);
    Effect::new(move |_| {
        let text = q.get();
        if text.trim().is_empty() {
            results.set(Vec::new());
            searched.set(false);
            return;
        }
        seq.update_value(|n| *n += 1);
        let mine = seq.get_value();
        spawn_local(async move {
            if let Ok(mut r) = api::search_directory(text).await {
                if let Some(k) = only {
                    r.retain(|x| x.kind == k);
                }
                // Ignore answers to older keystrokes.
                if seq.get_value() == mine {
                    results.set(r);
                    searched.set(true);
                }
            }
        });
    });
    let list_id = format!("{id}-results");
    view! {
        <div class="picker">
            <label for=id>{label}</label>
            <input id=id type="search" autocomplete="off" placeholder="Type a name…" aria-controls=list_id.clone()
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            <ul class="picker-results" id=list_id>
                {move || results.get().into_iter().map(|r| {
                    let pick = r.clone();
                    let kind = if r.kind == MemberKind::Group { "Group" } else { "User" };
                    view! {
                        <li>
                            <button type="button" class="picker-item" on:click=move |_| {
                                on_pick.run(pick.clone());
                                q.set(String::new());
                            }>
                                <span class="badge">{kind}</span>
                                " " <strong>{r.name.clone()}</strong>
                                {(!r.detail.is_empty()).then(|| view! { <span class="muted">" — " {r.detail.clone()}</span> })}
                            </button>
                        </li>
                    }
                }).collect_view()}
                {move || (searched.get() && results.get().is_empty()).then(|| view! { <li class="muted">"No match."</li> })}
            </ul>
        </div>
    }
}
