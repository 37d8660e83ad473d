//! Risk: risky users (with the administrators' verdicts), risky sign-ins (30 days) and the risk
//! detections (90 days), each with its evidence in words.

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::api::Role;
use proofup_shared::risk::{
    DetectionKind, DetectionView, Place, RiskAction, RiskLevel, RiskState, RiskySignIn, RiskyUser,
};
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::time::Time;
use crate::session::SessionCtx;

fn level_badge(l: RiskLevel) -> impl IntoView {
    let class = match l {
        RiskLevel::High => "badge badge-bad",
        RiskLevel::Medium => "badge badge-warn",
        RiskLevel::Low => "badge",
    };
    view! { <span class=class data-level=l.name()>{l.label()}</span> }
}

fn state_badge(s: RiskState) -> impl IntoView {
    let class = match s {
        RiskState::AtRisk | RiskState::ConfirmedCompromised => "badge badge-bad",
        RiskState::Remediated | RiskState::ConfirmedSafe => "badge badge-ok",
        RiskState::Dismissed => "badge",
    };
    view! { <span class=class>{s.label()}</span> }
}

/// Why a detection's state changed, in words (administrators' reasons are kept as written).
fn detail_words(d: &str) -> String {
    match d {
        "passed_mfa_by_risk_policy" => "Proved a second factor (or a temporary access pass) at that sign-in".into(),
        "secure_password_change" => "Changed the password after a second factor".into(),
        "secure_password_reset" => "Reset the password with their methods (Forgot your password?)".into(),
        "sessions_revoked_and_reauthenticated" => "Every session ended; signed in afresh".into(),
        other => other.to_owned(),
    }
}

fn place_text(p: &Place) -> String {
    p.describe()
}

/// A small distance line for travel: from → to, with the distance and speed.
fn travel_line(d: &DetectionView) -> Option<AnyView> {
    let proofup_shared::risk::Evidence::Travel { from, to, km, kmh, .. } = &d.evidence else { return None };
    let (a, b) = (from.describe(), to.describe());
    let label = format!("{km} km from {a} to {b}");
    Some(
        view! {
            <div class="travel" aria-label=label>
                <span class="travel-end">{a}</span>
                <span class="travel-line" aria-hidden="true"></span>
                <span class="travel-figure">{format!("{} km · {} km/h", crate::logic::thousands(u64::from(*km)), crate::logic::thousands(u64::from(*kmh)))}</span>
                <span class="travel-line" aria-hidden="true"></span>
                <span class="travel-end">{b}</span>
            </div>
        }
        .into_any(),
    )
}

/// A report's four filters, shown as one toolbar with its CSV download.
#[derive(Clone, Copy)]
struct Filters {
    user: RwSignal<String>,
    kind: RwSignal<String>,
    level: RwSignal<String>,
    state: RwSignal<String>,
}

impl Filters {
    fn new() -> Self {
        Self {
            user: RwSignal::new(String::new()),
            kind: RwSignal::new(String::new()),
            level: RwSignal::new(String::new()),
            state: RwSignal::new(String::new()),
        }
    }

    fn pairs(self) -> Vec<(&'static str, String)> {
        vec![
            ("user", self.user.get_untracked().trim().to_owned()),
            ("kind", self.kind.get_untracked()),
            ("level", self.level.get_untracked()),
            ("state", self.state.get_untracked()),
        ]
    }

    fn track(self) {
        let _ = (self.user.get(), self.kind.get(), self.level.get(), self.state.get());
    }

    /// The toolbar; `prefix` keeps the controls' ids apart; `states` the states this report has.
    fn toolbar(
        self,
        prefix: &'static str,
        path: &'static str,
        file: &'static str,
        kind_label: &'static str,
        states: Vec<(&'static str, &'static str)>,
    ) -> impl IntoView {
        let select =
            |id: String, label: &'static str, value: RwSignal<String>, options: Vec<(&'static str, &'static str)>| {
                view! {
                    <div class="field">
                        <label for=id.clone()>{label}</label>
                        <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                            <option value="">"Any"</option>
                            {options.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                        </select>
                    </div>
                }
            };
        let kinds: Vec<(&'static str, &'static str)> =
            DetectionKind::ALL.iter().map(|k| (k.name(), k.label())).collect();
        let levels: Vec<(&'static str, &'static str)> = RiskLevel::ALL.iter().map(|l| (l.name(), l.label())).collect();
        let csv =
            move || format!("{path}{}", api::query(&[&self.pairs()[..], &[("format", "csv".to_owned())]].concat()));
        let user = self.user;
        view! {
            <div class="toolbar">
                <div class="field">
                    <label for=format!("{prefix}-user")>"Username"</label>
                    <input id=format!("{prefix}-user") type="search" on:change=move |ev| user.set(event_target_value(&ev))/>
                </div>
                {select(format!("{prefix}-kind"), kind_label, self.kind, kinds)}
                {select(format!("{prefix}-level"), "Risk", self.level, levels)}
                {select(format!("{prefix}-state"), "State", self.state, states)}
                <a class="btn btn-secondary" href=csv download=file>"Download CSV"</a>
            </div>
        }
    }
}

/// A report's rows, loaded a page at a time under its filters; answers to older filters are
/// dropped, and a change of filter starts again.
struct Paged<T: Send + Sync + 'static> {
    items: RwSignal<Vec<T>>,
    next: RwSignal<Option<String>>,
    loaded: RwSignal<bool>,
    error: RwSignal<Option<ApiError>>,
    seq: StoredValue<u64>,
    path: &'static str,
    filters: Filters,
}

impl<T: Send + Sync + 'static> Clone for Paged<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for Paged<T> {}

impl<T: Clone + serde::de::DeserializeOwned + Send + Sync + 'static> Paged<T> {
    fn new(path: &'static str, filters: Filters) -> Self {
        let me = Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loaded: RwSignal::new(false),
            error: RwSignal::new(None),
            seq: StoredValue::new(0),
            path,
            filters,
        };
        Effect::new(move |_| {
            filters.track();
            me.reload();
        });
        me
    }

    fn reload(self) {
        self.items.set(Vec::new());
        self.next.set(None);
        self.load(None);
    }

    fn load(self, after: Option<String>) {
        self.seq.update_value(|n| *n += 1);
        let mine = self.seq.get_value();
        let f = self.filters.pairs();
        spawn_local(async move {
            let answer = api::risk_page::<T>(self.path, f, after).await;
            if self.seq.get_value() != mine {
                return;
            }
            match answer {
                Ok(page) => {
                    self.items.update(|v| v.extend(page.items));
                    self.next.set(page.next_after);
                    self.error.set(None);
                }
                Err(e) => self.error.set(Some(e)),
            }
            self.loaded.set(true);
        });
    }

    fn empty(self) -> bool {
        self.loaded.get() && self.items.with(Vec::is_empty)
    }

    fn more(self) -> impl IntoView {
        view! {
            <Show when=move || self.next.get().is_some()>
                <button class="btn btn-secondary" on:click=move |_| self.load(self.next.get_untracked())>"Load more"</button>
            </Show>
        }
    }
}

const ALL_STATES: [(&str, &str); 5] = [
    ("at_risk", "At risk"),
    ("remediated", "Remediated"),
    ("dismissed", "Dismissed"),
    ("confirmed_safe", "Confirmed safe"),
    ("confirmed_compromised", "Confirmed compromised"),
];

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Users,
    SignIns,
    Detections,
}

#[component]
pub fn RiskPage() -> impl IntoView {
    let tab = RwSignal::new(Tab::Users);
    let button = move |t: Tab, label: &'static str| {
        view! {
            <button type="button" role="tab" class="tab" aria-selected=move || (tab.get() == t).to_string()
                class:active=move || tab.get() == t on:click=move |_| tab.set(t)>{label}</button>
        }
    };
    view! {
        <h1>"Risk"</h1>
        <p class="muted">
            "What this server detected about sign-ins and users: unfamiliar places and devices, impossible travel, anonymizers, password spraying, leaked passwords and users' own reports. "
            "The sign-in and user risk policies decide what a risky sign-in must do."
        </p>
        <div class="tabs" role="tablist">
            {button(Tab::Users, "Risky users")}
            {button(Tab::SignIns, "Risky sign-ins (30 days)")}
            {button(Tab::Detections, "Risk detections (90 days)")}
        </div>
        {move || match tab.get() {
            Tab::Users => view! { <RiskyUsers/> }.into_any(),
            Tab::SignIns => view! { <RiskySignIns/> }.into_any(),
            Tab::Detections => view! { <Detections/> }.into_any(),
        }}
    }
}

#[component]
fn RiskyUsers() -> impl IntoView {
    let filters = Filters::new();
    let rows = Paged::<RiskyUser>::new("/api/risk/users", filters);
    let error = rows.error;
    let notice = RwSignal::new(None::<String>);
    let reload = move || rows.reload();
    let operate = SessionCtx::get().role().is_some_and(Role::can_operate);
    // The user being acted on, the action and the reason typed.
    let acting = RwSignal::new(None::<(RiskyUser, RiskAction)>);
    let reason = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let act = move |_| {
        let Some((u, action)) = acting.get_untracked() else { return };
        busy.set(true);
        let text = reason.get_untracked();
        spawn_local(async move {
            match api::act_on_risk(u.user_id.clone(), action, text).await {
                Ok(()) => {
                    let what = match action {
                        RiskAction::Dismiss => "dismissed",
                        RiskAction::ConfirmSafe => "confirmed safe",
                        RiskAction::ConfirmCompromised => "confirmed compromised: signed out everywhere",
                    };
                    notice.set(Some(format!("{}'s risk {what}.", u.username)));
                    acting.set(None);
                    reason.set(String::new());
                    error.set(None);
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        {filters.toolbar("u", "/api/risk/users", "risky-users.csv", "Has a detection", vec![ALL_STATES[0], ALL_STATES[4]])}
        <ErrorAlert error=error/>
        {move || notice.get().map(|n| view! { <div class="alert alert-ok" role="status">{n}</div> })}
        <Show when=move || acting.get().is_some()>
            <section class="card" aria-label="Act on this user's risk">
                {move || acting.get().map(|(u, a)| {
                    let (title, hint) = match a {
                        RiskAction::Dismiss => ("Dismiss", "Closes every open detection of this user. It cannot be undone, and it does not make the account safe: use it for a penetration test or a known benign cause."),
                        RiskAction::ConfirmSafe => ("Confirm safe", "The detections were this user after all: they close, and their places and networks become familiar."),
                        RiskAction::ConfirmCompromised => ("Confirm compromised", "User risk becomes high and every session and application grant of this user ends now. Then reset their sign-in."),
                    };
                    view! {
                        <h2>{format!("{title}: {}", u.username)}</h2>
                        <p class="hint">{hint}</p>
                    }
                })}
                <div class="field">
                    <label for="risk-reason">"Reason (kept in the audit log)"</label>
                    <input id="risk-reason" type="text" maxlength="500" prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))/>
                </div>
                <div class="actions">
                    <button class="btn btn-primary" disabled=move || busy.get() || reason.get().trim().is_empty() on:click=act>"Confirm"</button>
                    <button class="btn btn-secondary" on:click=move |_| acting.set(None)>"Cancel"</button>
                </div>
            </section>
        </Show>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"User"</th><th scope="col">"Risk"</th><th scope="col">"State"</th><th scope="col">"Open detections"</th><th scope="col">"Last detected"</th>{operate.then(|| view! { <th scope="col">"Action"</th> })}</tr></thead>
                <tbody>
                    <For each=move || rows.items.get() key=|u| (u.user_id.clone(), u.level, u.state, u.open_detections) let:u>
                        <tr data-user=u.username.clone()>
                            <td><a href=format!("/users/{}", u.user_id)>{u.username.clone()}</a></td>
                            <td>{level_badge(u.level)}</td>
                            <td>{state_badge(u.state)}</td>
                            <td>{u.open_detections}<div class="muted small">{u.detections.iter().map(|k| k.label()).collect::<Vec<_>>().join(", ")}</div></td>
                            <td class="nowrap"><Time at=u.last_detected_at/></td>
                            {operate.then(|| {
                                let (a, b, c) = (u.clone(), u.clone(), u.clone());
                                view! {
                                    <td>
                                        <div class="row-actions">
                                            <button class="btn btn-small btn-secondary" on:click=move |_| acting.set(Some((a.clone(), RiskAction::ConfirmSafe)))>"Confirm safe"</button>
                                            <button class="btn btn-small btn-danger" on:click=move |_| acting.set(Some((b.clone(), RiskAction::ConfirmCompromised)))>"Confirm compromised"</button>
                                            <button class="btn btn-small btn-secondary" on:click=move |_| acting.set(Some((c.clone(), RiskAction::Dismiss)))>"Dismiss"</button>
                                        </div>
                                    </td>
                                }
                            })}
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || rows.empty()>
                <p class="empty">"No user is at risk."</p>
            </Show>
        </div>
        {rows.more()}
    }
}

#[component]
fn RiskySignIns() -> impl IntoView {
    let filters = Filters::new();
    let rows = Paged::<RiskySignIn>::new("/api/risk/sign-ins", filters);
    view! {
        {filters.toolbar("s", "/api/risk/sign-ins", "risky-sign-ins.csv", "Has a detection", ALL_STATES.to_vec())}
        <ErrorAlert error=rows.error/>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"Time"</th><th scope="col">"User"</th><th scope="col">"Risk"</th><th scope="col">"State"</th><th scope="col">"Detected"</th><th scope="col">"From"</th><th scope="col">"Application"</th></tr></thead>
                <tbody>
                    <For each=move || rows.items.get() key=|r| r.sign_in.clone() let:r>
                        <tr>
                            <td class="nowrap"><Time at=r.at/></td>
                            <td>{r.username.clone()}</td>
                            <td>{level_badge(r.level)}</td>
                            <td>{state_badge(r.state)}</td>
                            <td>{r.detections.iter().map(|k: &DetectionKind| k.label()).collect::<Vec<_>>().join(", ")}</td>
                            <td>{place_text(&r.place)}<div class="muted small">{r.ip.clone()}</div></td>
                            <td>{r.application.clone().unwrap_or_else(|| "Proofup portal".into())}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || rows.empty()>
                <p class="empty">"No risky sign-ins in the last 30 days."</p>
            </Show>
        </div>
        {rows.more()}
    }
}

#[component]
fn Detections() -> impl IntoView {
    let filters = Filters::new();
    let rows = Paged::<DetectionView>::new("/api/risk/detections", filters);
    view! {
        {filters.toolbar("d", "/api/risk/detections", "risk-detections.csv", "Detection", ALL_STATES.to_vec())}
        <ErrorAlert error=rows.error/>
        <div class="table-wrap">
            <table>
                <thead><tr><th scope="col">"Time"</th><th scope="col">"User"</th><th scope="col">"Detection"</th><th scope="col">"Risk"</th><th scope="col">"State"</th><th scope="col">"Evidence"</th><th scope="col">"From"</th></tr></thead>
                <tbody>
                    <For each=move || rows.items.get() key=|d| d.id.clone() let:d>
                        <tr data-kind=d.kind.name()>
                            <td class="nowrap"><Time at=d.at/></td>
                            <td>{d.username.clone()}</td>
                            <td>{d.kind.label()}</td>
                            <td>{level_badge(d.level)}</td>
                            <td>{state_badge(d.state)}{d.detail.as_deref().map(|x| view! { <div class="muted small">{detail_words(x)}</div> })}</td>
                            <td class="evidence">{travel_line(&d)}<div>{d.explanation.clone()}</div></td>
                            <td>{place_text(&d.place)}<div class="muted small">{d.ip.clone()}</div></td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || rows.empty()>
                <p class="empty">"Nothing detected in the last 90 days."</p>
            </Show>
        </div>
        {rows.more()}
    }
}
