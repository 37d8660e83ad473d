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
    // The highlighted option (arrow keys), as in the ARIA combobox pattern: focus stays in the
    // input, `aria-activedescendant` names the option, Enter picks it, Escape closes the list.
    let active = RwSignal::new(None::<usize>);
    Effect::new(move |_| {
        results.track();
        active.set(None);
    });
    let list_id = format!("{id}-results");
    let option_id = move |i: usize| format!("{id}-option-{i}");
    let pick = move |r: DirectoryRef| {
        on_pick.run(r);
        q.set(String::new());
        active.set(None);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = results.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" => {
                if let Some(r) = active.get_untracked().and_then(|i| results.with_untracked(|rs| rs.get(i).cloned())) {
                    ev.prevent_default();
                    pick(r);
                }
            }
            "Escape" if n > 0 || !q.get_untracked().is_empty() => {
                ev.prevent_default();
                q.set(String::new());
            }
            _ => {}
        }
    };
    // Keep the highlighted option in view.
    Effect::new(move |_| {
        if let Some(i) = active.get() {
            if let Some(el) = leptos::prelude::document().get_element_by_id(&option_id(i)) {
                el.scroll_into_view_with_bool(false);
            }
        }
    });
    let expanded = move || (!results.get().is_empty()).to_string();
    view! {
        <div class="picker">
            <label for=id>{label}</label>
            <input id=id type="search" autocomplete="off" placeholder="Type a name…"
                role="combobox" aria-autocomplete="list" aria-controls=list_id.clone() aria-expanded=expanded
                aria-activedescendant=move || active.get().map(option_id)
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev)) on:keydown=on_key/>
            <p class="hint small">{match only {
                Some(MemberKind::User) => "Usernames or display names (the start of each word: \"dave g\"). Arrow keys to choose, Enter to pick.",
                Some(MemberKind::Group) => "Group names. Arrow keys to choose, Enter to add.",
                None => "Usernames, display names (the start of each word) or group names. Arrow keys to choose, Enter to add.",
            }}</p>
            <ul class="picker-results" id=list_id role="listbox" aria-label=label>
                {move || results.get().into_iter().enumerate().map(|(i, r)| {
                    let chosen = r.clone();
                    let kind = if r.kind == MemberKind::Group { "Group" } else { "User" };
                    let is_active = move || active.get() == Some(i);
                    view! {
                        <li role="option" id=option_id(i) aria-selected=move || is_active().to_string()
                            class="picker-item" class:active=is_active
                            on:mousedown=|ev| ev.prevent_default()
                            on:click=move |_| pick(chosen.clone())>
                            <span class="badge">{kind}</span>
                            " " <strong>{r.name.clone()}</strong>
                            {(!r.detail.is_empty()).then(|| view! { <span class="muted">" — " {r.detail.clone()}</span> })}
                        </li>
                    }
                }).collect_view()}
                {move || (searched.get() && results.get().is_empty()).then(|| view! { <li class="muted">"No match."</li> })}
            </ul>
        </div>
    }
}
