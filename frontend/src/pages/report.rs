//! Registration report: every user's status under the saved policy, with filters and CSV export.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use proofup_shared::policy::RegistrationRow;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::time::MaybeTime;
use crate::logic::{encode_component, thousands};

pub fn status_label(s: &str) -> &'static str {
    match s {
        "registered" => "Registered",
        "in_grace" => "In grace period",
        "not_yet_prompted" => "Not prompted yet",
        "required" => "Must register",
        "excluded" => "Excluded",
        _ => "Not included",
    }
}

fn status_class(s: &str) -> &'static str {
    match s {
        "registered" => "badge badge-ok",
        "in_grace" => "badge badge-warn",
        "required" => "badge badge-bad",
        _ => "badge",
    }
}

#[component]
pub fn ReportPage() -> impl IntoView {
    let status = RwSignal::new(String::new());
    let sort = RwSignal::new(String::from("username"));
    let rows = RwSignal::new(None::<Vec<RegistrationRow>>);
    let total = RwSignal::new(0u64);
    let next = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    // Answers to an older status or sort are dropped.
    let seq = StoredValue::new(0u64);
    let load = move |after: Option<String>| {
        let (st, so) = (status.get_untracked(), sort.get_untracked());
        let more = after.is_some();
        seq.update_value(|n| *n += 1);
        let mine = seq.get_value();
        loading.set(true);
        spawn_local(async move {
            let answer = api::registration_report(st, so, after.unwrap_or_default()).await;
            if seq.get_value() != mine {
                return;
            }
            loading.set(false);
            match answer {
                Ok(page) => {
                    total.set(page.total);
                    next.set(page.next_after);
                    if more {
                        rows.update(|r| r.get_or_insert_with(Vec::new).extend(page.items));
                    } else {
                        rows.set(Some(page.items));
                    }
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        status.track();
        sort.track();
        load(None);
    });
    let csv_href = move || {
        let st = status.get();
        if st.is_empty() {
            "/api/reports/registration?format=csv".to_owned()
        } else {
            format!("/api/reports/registration?format=csv&status={}", encode_component(&st))
        }
    };
    view! {
        <div class="page-head"><h1>"Registration report"</h1></div>
        <p class="muted">"Who must register a sign-in method under the saved MFA registration policy, and how far they are."</p>
        <ErrorAlert error=error/>
        <div class="toolbar">
            <div class="field">
                <label for="report-status">"Status"</label>
                <select id="report-status" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All users"</option>
                    {["registered", "in_grace", "not_yet_prompted", "required", "excluded", "not_in_scope"].into_iter().map(|s| view! {
                        <option value=s>{status_label(s)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="report-sort">"Sort by"</label>
                <select id="report-sort" on:change=move |ev| sort.set(event_target_value(&ev))>
                    <option value="username">"Username"</option>
                    <option value="deadline">"Deadline, soonest first"</option>
                </select>
            </div>
            <a class="btn btn-secondary" href=csv_href download="mfa-registration-report.csv">"Download CSV"</a>
        </div>
        {move || rows.get().map(|rs| {
            let shown = rs.len() as u64;
            let t = total.get();
            let count = if shown < t {
                format!("Showing {} of {} users", thousands(shown), thousands(t))
            } else if t == 1 {
                "1 user".to_owned()
            } else {
                format!("{} users", thousands(t))
            };
            view! {
                <p class="muted small" id="report-count">{count}</p>
                <div class="table-wrap"><table class="report-table">
                    <thead><tr>
                        <th>"User"</th><th>"Status"</th><th>"Methods"</th><th>"First prompted"</th>
                        <th>"Deadline"</th><th>"Days left"</th><th>"Skips"</th><th>"Last sign-in"</th>
                    </tr></thead>
                    <tbody>{rs.into_iter().map(|r| view! {
                        <tr>
                            <td><A href=format!("/users/{}", encode_component(&r.user_id))>{r.username.clone()}</A>
                                <div class="muted small">{r.display_name.clone()}</div></td>
                            <td><span class=status_class(&r.status)>{status_label(&r.status)}</span></td>
                            <td>{r.methods}</td>
                            <td><MaybeTime at=r.first_prompted_at none="—"/></td>
                            <td><MaybeTime at=r.deadline none="—"/></td>
                            <td>{r.days_left.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td>
                            <td>{r.skips}</td>
                            <td><MaybeTime at=r.last_sign_in_at none="Never"/></td>
                        </tr>
                    }).collect_view()}</tbody>
                </table></div>
            }
        })}
        {move || next.get().map(|after| view! {
            <button class="btn btn-secondary" id="report-more" disabled=move || loading.get()
                on:click=move |_| load(Some(after.clone()))>"Load more"</button>
        })}
    }
}
