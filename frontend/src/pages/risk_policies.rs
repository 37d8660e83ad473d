//! The sign-in risk and user risk policies: assignments, enforcement (Off / Report-only / On),
//! the level and what it asks; a backtest over 30 days of sign-ins before saving. Both are
//! versioned with the MFA registration policy (one history).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::policy::{
    Enforcement, PolicyVersion, RiskBacktest, SignInRiskPolicy, UserRiskPolicy, UserRiskRemedy,
};
use proofup_shared::risk::RiskLevel;
use proofup_shared::ApiError;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::components::picker::DirectoryPicker;
use crate::session::SessionCtx;

/// Who a risk policy applies to, as edited.
#[derive(Clone, Default, PartialEq)]
struct Assign {
    include_all: bool,
    include: Vec<(MemberKind, String)>,
    exclude: Vec<(MemberKind, String)>,
}

impl Assign {
    fn of(all: bool, iu: &[String], ig: &[String], eu: &[String], eg: &[String]) -> Self {
        let both = |u: &[String], g: &[String]| {
            g.iter()
                .map(|x| (MemberKind::Group, x.clone()))
                .chain(u.iter().map(|x| (MemberKind::User, x.clone())))
                .collect()
        };
        Self { include_all: all, include: both(iu, ig), exclude: both(eu, eg) }
    }

    fn ids(list: &[(MemberKind, String)], kind: MemberKind) -> Vec<String> {
        list.iter().filter(|(k, _)| *k == kind).map(|(_, id)| id.clone()).collect()
    }
}

fn level_options(selected: RiskLevel) -> impl IntoView {
    RiskLevel::ALL
        .iter()
        .map(|l| view! { <option value=l.name() selected=*l == selected>{format!("{} and above", l.label())}</option> })
        .collect_view()
}

fn parse_level(s: &str) -> Option<RiskLevel> {
    RiskLevel::ALL.into_iter().find(|l| l.name() == s)
}

fn enforcement_radios(name: &'static str, value: RwSignal<Enforcement>, disabled: bool) -> impl IntoView {
    [Enforcement::Off, Enforcement::ReportOnly, Enforcement::On]
        .into_iter()
        .map(|e| {
            view! {
                <label class="check">
                    <input type="radio" name=name disabled=disabled prop:checked=move || value.get() == e on:change=move |_| value.set(e)/>
                    " " {e.label()}
                </label>
            }
        })
        .collect_view()
}

#[component]
fn AssignmentsEditor(
    prefix: &'static str,
    value: RwSignal<Assign>,
    names: RwSignal<HashMap<String, String>>,
    can_edit: bool,
) -> impl IntoView {
    let add = move |include: bool| {
        Callback::new(move |r: DirectoryRef| {
            names.update(|n| {
                n.insert(r.id.clone(), r.name.clone());
            });
            value.update(|a| {
                let list = if include { &mut a.include } else { &mut a.exclude };
                if !list.iter().any(|(_, id)| *id == r.id) {
                    list.push((r.kind, r.id.clone()));
                }
            });
        })
    };
    let chips = move |include: bool| {
        move || {
            let a = value.get();
            let n = names.get();
            let list = if include { a.include } else { a.exclude };
            list.into_iter()
                .map(|(kind, id)| {
                    let label = n.get(&id).cloned().unwrap_or_else(|| id.clone());
                    let what = if kind == MemberKind::Group { "Group" } else { "User" };
                    let id2 = id.clone();
                    view! {
                        <li class="chip">
                            <span class="badge">{what}</span>" "{label.clone()}
                            {can_edit.then(|| view! {
                                <button type="button" class="chip-remove" aria-label=format!("Remove {label}")
                                    on:click=move |_| value.update(|a| {
                                        let list = if include { &mut a.include } else { &mut a.exclude };
                                        list.retain(|(_, x)| *x != id2);
                                    })>"×"</button>
                            })}
                        </li>
                    }
                })
                .collect_view()
        }
    };
    let (inc_id, exc_id) = if prefix == "sir" { ("sir-include", "sir-exclude") } else { ("ur-include", "ur-exclude") };
    view! {
        <fieldset disabled=!can_edit>
            <legend>"Users and groups"</legend>
            <label class="check">
                <input type="radio" name=format!("{prefix}-include") prop:checked=move || value.get().include_all
                    on:change=move |_| value.update(|a| a.include_all = true)/>
                " All users"
            </label>
            <label class="check">
                <input type="radio" name=format!("{prefix}-include") prop:checked=move || !value.get().include_all
                    on:change=move |_| value.update(|a| a.include_all = false)/>
                " Select individuals and groups"
            </label>
        </fieldset>
        <Show when=move || !value.get().include_all>
            <ul class="chips" aria-label="Included">{chips(true)}</ul>
            {can_edit.then(|| view! { <DirectoryPicker id=inc_id label="Add users or groups to include" on_pick=add(true)/> })}
        </Show>
        <p class="hint">"Excluded (exclusion wins; emergency-access accounts are always excluded):"</p>
        <ul class="chips" aria-label="Excluded">{chips(false)}</ul>
        {can_edit.then(|| view! { <DirectoryPicker id=exc_id label="Add users or groups to exclude" on_pick=add(false)/> })}
    }
}

#[component]
pub fn RiskPoliciesPage() -> impl IntoView {
    let can_edit = SessionCtx::get().can_manage_security();
    let current = RwSignal::new(None::<PolicyVersion>);
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(None::<String>);
    let names = RwSignal::new(HashMap::<String, String>::new());
    // The sign-in risk policy, as edited.
    let s_enf = RwSignal::new(Enforcement::Off);
    let s_assign = RwSignal::new(Assign { include_all: true, ..Default::default() });
    let s_level = RwSignal::new(RiskLevel::Medium);
    let s_passkey = RwSignal::new(false);
    let s_block = RwSignal::new(None::<RiskLevel>);
    // The user risk policy.
    let u_enf = RwSignal::new(Enforcement::Off);
    let u_assign = RwSignal::new(Assign { include_all: true, ..Default::default() });
    let u_level = RwSignal::new(RiskLevel::High);
    let u_remedy = RwSignal::new(UserRiskRemedy::SecurePasswordChange);
    let backtest = RwSignal::new(None::<RiskBacktest>);
    let testing = RwSignal::new(false);

    let load = move || {
        spawn_local(async move {
            match api::policy().await {
                Ok(v) => {
                    let p = &v.sign_in_risk;
                    s_enf.set(p.enforcement);
                    s_assign.set(Assign::of(
                        p.include_all,
                        &p.include_users,
                        &p.include_groups,
                        &p.exclude_users,
                        &p.exclude_groups,
                    ));
                    s_level.set(p.level);
                    s_passkey.set(p.passkey_only_at_high);
                    s_block.set(p.block_at);
                    let u = &v.user_risk;
                    u_enf.set(u.enforcement);
                    u_assign.set(Assign::of(
                        u.include_all,
                        &u.include_users,
                        &u.include_groups,
                        &u.exclude_users,
                        &u.exclude_groups,
                    ));
                    u_level.set(u.level);
                    u_remedy.set(u.remedy);
                    current.set(Some(v));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let sign_in_policy = move || {
        let a = s_assign.get_untracked();
        SignInRiskPolicy {
            enforcement: s_enf.get_untracked(),
            include_all: a.include_all,
            include_users: Assign::ids(&a.include, MemberKind::User),
            include_groups: Assign::ids(&a.include, MemberKind::Group),
            exclude_users: Assign::ids(&a.exclude, MemberKind::User),
            exclude_groups: Assign::ids(&a.exclude, MemberKind::Group),
            level: s_level.get_untracked(),
            passkey_only_at_high: s_passkey.get_untracked(),
            block_at: s_block.get_untracked(),
        }
    };
    let user_policy = move || {
        let a = u_assign.get_untracked();
        UserRiskPolicy {
            enforcement: u_enf.get_untracked(),
            include_all: a.include_all,
            include_users: Assign::ids(&a.include, MemberKind::User),
            include_groups: Assign::ids(&a.include, MemberKind::Group),
            exclude_users: Assign::ids(&a.exclude, MemberKind::User),
            exclude_groups: Assign::ids(&a.exclude, MemberKind::Group),
            level: u_level.get_untracked(),
            remedy: u_remedy.get_untracked(),
        }
    };
    let version = move || current.get_untracked().map_or(0, |v| v.version);
    let after_save = move |r: Result<PolicyVersion, ApiError>, what: &'static str| match r {
        Ok(v) => {
            saved.set(Some(format!("{what} saved as version {}.", v.version)));
            error.set(None);
            current.set(Some(v));
        }
        Err(e) => {
            saved.set(None);
            error.set(Some(e));
        }
    };
    let save_sign_in = move |_| {
        let (p, v) = (sign_in_policy(), version());
        spawn_local(async move { after_save(api::save_sign_in_risk_policy(p, v).await, "Sign-in risk policy") });
    };
    let save_user = move |_| {
        let (p, v) = (user_policy(), version());
        spawn_local(async move { after_save(api::save_user_risk_policy(p, v).await, "User risk policy") });
    };
    let run_backtest = move |_| {
        testing.set(true);
        let p = sign_in_policy();
        spawn_local(async move {
            match api::backtest_sign_in_risk(p).await {
                Ok(b) => backtest.set(Some(b)),
                Err(e) => error.set(Some(e)),
            }
            testing.set(false);
        });
    };
    let n = crate::logic::thousands;

    view! {
        <h1>"Risk policies"</h1>
        <p class="muted">
            "Every user with a method already proves it at each sign-in. These policies act when a sign-in or a user looks risky: "
            "no skip and no registration during a risky sign-in, a passkey only at high risk, a secure password change for a risky user. "
            "Start in Report-only, run the backtest, then turn them On."
        </p>
        <ErrorAlert error=error/>
        {move || saved.get().map(|s| view! { <div class="alert alert-ok" role="status">{s}</div> })}
        <section class="card" aria-labelledby="sir-title">
            <h2 id="sir-title">"Sign-in risk policy"</h2>
            <AssignmentsEditor prefix="sir" value=s_assign names=names can_edit=can_edit/>
            <fieldset disabled=!can_edit>
                <legend>"Enforcement"</legend>
                {enforcement_radios("sir-enforcement", s_enf, !can_edit)}
            </fieldset>
            <div class="field">
                <label for="sir-level">"Require a fresh second factor at sign-in risk"</label>
                <select id="sir-level" disabled=!can_edit on:change=move |ev| if let Some(l) = parse_level(&event_target_value(&ev)) { s_level.set(l) }>
                    {move || level_options(s_level.get())}
                </select>
            </div>
            <label class="check">
                <input type="checkbox" disabled=!can_edit prop:checked=move || s_passkey.get() on:change=move |ev| s_passkey.set(event_target_checked(&ev))/>
                " At high risk, accept a passkey only (phishing-resistant: no app code, no recovery code)"
            </label>
            <div class="field">
                <label for="sir-block">"Block sign-ins at"</label>
                <select id="sir-block" disabled=!can_edit on:change=move |ev| s_block.set(parse_level(&event_target_value(&ev)))>
                    <option value="" selected=move || s_block.get().is_none()>"Never (recommended: step up instead)"</option>
                    <option value="high" selected=move || s_block.get() == Some(RiskLevel::High)>"High"</option>
                    <option value="medium" selected=move || s_block.get() == Some(RiskLevel::Medium)>"Medium and above"</option>
                </select>
            </div>
            <div class="actions">
                <button class="btn btn-secondary" disabled=move || testing.get() on:click=run_backtest>
                    {move || if testing.get() { "Running…" } else { "Backtest over the last 30 days" }}
                </button>
                {can_edit.then(|| view! { <button class="btn btn-primary" on:click=save_sign_in>"Save sign-in risk policy"</button> })}
            </div>
            {move || backtest.get().map(|b| {
                let p = crate::logic::plural;
                view! {
                    <div class="note" data-testid="backtest">
                        <strong>{format!("Over the last {} days: {}, {} of them risky.", b.days, p(b.sign_ins, "password sign-in", "password sign-ins"), n(b.risky_sign_ins))}</strong>
                        <ul>
                            <li>{format!("Stepped up: {} by {}.", p(b.stepped_up, "sign-in", "sign-ins"), p(b.users_stepped_up, "user", "users"))}</li>
                            <li>{format!("Of those, {} by users with no method today: they would have been refused until an administrator issued a temporary access pass.", n(b.stepped_up_without_method))}</li>
                            <li>{format!("Blocked by the Block setting: {} by {}.", p(b.blocked, "sign-in", "sign-ins"), p(b.users_blocked, "user", "users"))}</li>
                        </ul>
                    </div>
                }
            })}
        </section>
        <section class="card" aria-labelledby="ur-title">
            <h2 id="ur-title">"User risk policy"</h2>
            <AssignmentsEditor prefix="ur" value=u_assign names=names can_edit=can_edit/>
            <fieldset disabled=!can_edit>
                <legend>"Enforcement"</legend>
                {enforcement_radios("ur-enforcement", u_enf, !can_edit)}
            </fieldset>
            <div class="field">
                <label for="ur-level">"Act at user risk"</label>
                <select id="ur-level" disabled=!can_edit on:change=move |ev| if let Some(l) = parse_level(&event_target_value(&ev)) { u_level.set(l) }>
                    {move || level_options(u_level.get())}
                </select>
            </div>
            <fieldset disabled=!can_edit>
                <legend>"What the risky user must do at their next sign-in, after a second factor"</legend>
                {[UserRiskRemedy::SecurePasswordChange, UserRiskRemedy::RevokeAndReauthenticate].into_iter().map(|r| view! {
                    <label class="check">
                        <input type="radio" name="ur-remedy" prop:checked=move || u_remedy.get() == r on:change=move |_| u_remedy.set(r)/>
                        " " {r.label()}
                    </label>
                }).collect_view()}
            </fieldset>
            <p class="hint">"A user with no method is blocked with a clear message and needs a temporary access pass: registering during a risky sign-in would let whoever holds the password bind their own authenticator."</p>
            {can_edit.then(|| view! { <div class="actions"><button class="btn btn-primary" on:click=save_user>"Save user risk policy"</button></div> })}
        </section>
    }
}
