//! Assignments: who the policy includes and excludes (users and groups, nested membership
//! counts), and the emergency-access accounts it always excludes.

use leptos::prelude::*;
use proofup_shared::directory::{DirectoryRef, MemberKind};

use super::Draft;
use crate::components::picker::DirectoryPicker;

#[derive(Clone, Copy, PartialEq)]
enum List {
    Include,
    Exclude,
}

#[component]
pub(super) fn Assignments(d: Draft) -> impl IntoView {
    let add_to = move |list: List| {
        Callback::new(move |r: DirectoryRef| {
            d.names.update(|n| {
                n.insert(r.id.clone(), r.name.clone());
            });
            d.edit(&|p| {
                let target = match (list, r.kind) {
                    (List::Include, MemberKind::User) => &mut p.include_users,
                    (List::Include, MemberKind::Group) => &mut p.include_groups,
                    (List::Exclude, MemberKind::User) => &mut p.exclude_users,
                    (List::Exclude, MemberKind::Group) => &mut p.exclude_groups,
                };
                if !target.contains(&r.id) {
                    target.push(r.id.clone());
                }
            });
        })
    };
    let remove_from = move |list: List, kind: MemberKind, id: String| {
        d.edit(&|p| {
            let target = match (list, kind) {
                (List::Include, MemberKind::User) => &mut p.include_users,
                (List::Include, MemberKind::Group) => &mut p.include_groups,
                (List::Exclude, MemberKind::User) => &mut p.exclude_users,
                (List::Exclude, MemberKind::Group) => &mut p.exclude_groups,
            };
            target.retain(|x| *x != id);
        });
    };
    let chips = move |list: List| {
        move || {
            let Some(p) = d.draft.get() else { return Vec::new() };
            let (users, groups) = match list {
                List::Include => (p.include_users, p.include_groups),
                List::Exclude => (p.exclude_users, p.exclude_groups),
            };
            let n = d.names.get();
            groups
                .into_iter()
                .map(|g| (MemberKind::Group, g))
                .chain(users.into_iter().map(|u| (MemberKind::User, u)))
                .map(|(kind, id)| {
                    let label = n.get(&id).cloned().unwrap_or_else(|| id.clone());
                    let what = if kind == MemberKind::Group { "Group" } else { "User" };
                    let id2 = id.clone();
                    view! {
                        <li class="chip">
                            <span class="badge">{what}</span> " " {label.clone()}
                            {d.can_edit.then(|| view! {
                                <button type="button" class="chip-remove" aria-label=format!("Remove {label}")
                                    on:click=move |_| remove_from(list, kind, id2.clone())>"×"</button>
                            })}
                        </li>
                    }
                })
                .collect_view()
                .into_iter()
                .collect::<Vec<_>>()
        }
    };

    view! {
        <section class="card">
            <h2>"Assignments"</h2>
            <fieldset disabled=!d.can_edit>
                <legend>"Users and groups — Include"</legend>
                <label class="check">
                    <input type="radio" name="include" prop:checked=move || d.draft.get().is_some_and(|d| d.include_all)
                        on:change=move |_| d.edit(&|d| d.include_all = true)/>
                    " All users"
                </label>
                <label class="check">
                    <input type="radio" name="include" prop:checked=move || d.draft.get().is_some_and(|d| !d.include_all)
                        on:change=move |_| d.edit(&|d| d.include_all = false)/>
                    " Select individuals and groups"
                </label>
            </fieldset>
            <Show when=move || d.draft.get().is_some_and(|d| !d.include_all)>
                <ul class="chips" aria-label="Included">{chips(List::Include)}</ul>
                {d.can_edit.then(|| view! { <DirectoryPicker id="include-picker" label="Add users or groups to include" on_pick=add_to(List::Include)/> })}
            </Show>
            <h3>"Exclude"</h3>
            <p class="hint">"Exclusion always wins. Nested group membership counts."</p>
            <ul class="chips" aria-label="Excluded">{chips(List::Exclude)}</ul>
            {d.can_edit.then(|| view! { <DirectoryPicker id="exclude-picker" label="Add users or groups to exclude" on_pick=add_to(List::Exclude)/> })}
            <div class="note">
                <strong>"Emergency-access accounts are always excluded"</strong>
                {move || {
                    let e = d.emergency.get();
                    if e.is_empty() {
                        view! { <p class="warn-text">"No emergency-access account exists yet. Mark one or two break-glass accounts on the Users page before you enforce this policy."</p> }.into_any()
                    } else {
                        view! { <p>{e.join(", ")} " — excluded so that you can always get back in."</p> }.into_any()
                    }
                }}
            </div>
        </section>
    }
}
