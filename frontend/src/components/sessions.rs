//! "Where you're signed in": the user's own live sessions, each with "Sign out", and
//! "Sign out everywhere else". Messages appear in the card, next to the buttons that caused them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::api::SessionView;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::{ErrorAlert, Notice};
use crate::components::confirm::confirm;
use crate::logic::{describe_user_agent, format_time};

#[component]
pub fn MySessionsCard() -> impl IntoView {
    let sessions = RwSignal::new(None::<Vec<SessionView>>);
    let error = RwSignal::new(None::<ApiError>);
    let notice = RwSignal::new(None::<String>);
    let load = move || {
        spawn_local(async move {
            match api::my_sessions().await {
                Ok(s) => sessions.set(Some(s)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let end_one = move |s: SessionView| {
        let device = describe_user_agent(&s.user_agent);
        if !confirm(&format!("Sign out {device} ({})? It will have to sign in again.", s.ip)) {
            return;
        }
        spawn_local(async move {
            match api::end_my_session(s.id.clone()).await {
                Ok(()) => {
                    error.set(None);
                    notice.set(Some(format!("{device} ({}) is signed out.", s.ip)));
                    load();
                }
                Err(e) => {
                    notice.set(None);
                    error.set(Some(e));
                }
            }
        });
    };
    let end_others = move |_| {
        if !confirm("Sign out every other device and browser? They will have to sign in again.") {
            return;
        }
        spawn_local(async move {
            match api::end_my_other_sessions().await {
                Ok(r) => {
                    error.set(None);
                    notice.set(Some(match r.ended {
                        1 => "1 other session is signed out.".to_owned(),
                        n => format!("{n} other sessions are signed out."),
                    }));
                    load();
                }
                Err(e) => {
                    notice.set(None);
                    error.set(Some(e));
                }
            }
        });
    };
    let others = Signal::derive(move || sessions.get().map_or(0, |s| s.iter().filter(|s| !s.current).count()));
    view! {
        <section class="card" data-testid="my-sessions">
            <h2>"Where you're signed in"</h2>
            <p class="muted">"Sign out any session you don't recognise, then change your password. Changing your password signs out every other session."</p>
            {move || sessions.get().map(|list| view! {
                <ul class="session-list">
                    {list.into_iter().map(|s| {
                        let device = describe_user_agent(&s.user_agent);
                        let s2 = s.clone();
                        view! {
                            <li class="session-item">
                                <div class="session-text">
                                    <strong title=s.user_agent.clone()>{device}</strong>
                                    <span class="muted small">
                                        {format!("{} · signed in {} · last active {}", s.ip, format_time(s.created_at), format_time(s.last_seen_at))}
                                    </span>
                                </div>
                                {if s.current {
                                    view! { <span class="badge badge-ok">"This browser"</span> }.into_any()
                                } else {
                                    view! { <button class="btn btn-secondary btn-small" on:click=move |_| end_one(s2.clone())>"Sign out"</button> }.into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            <ErrorAlert error=error/>
            {move || notice.get().map(|n| view! { <Notice text=n/> })}
            <div class="actions">
                <button class="btn btn-danger" disabled=move || others.get() == 0 on:click=end_others>
                    "Sign out everywhere else"
                </button>
                <Show when=move || others.get() == 0>
                    <span class="muted small">"No other session is signed in."</span>
                </Show>
            </div>
        </section>
    }
}
