//! The sign-in risk and user risk policies: assignments, enforcement (Off / Report-only / On),
//! the level and what it asks; a backtest over 30 days of sign-ins before saving. Both are
//! versioned with the MFA registration policy (one history).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use proofup_shared::api::RiskEffect;
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::policy::{
    Enforcement, PolicyVersion, RiskBacktest, RiskImpactResponse, RiskWhatIf, SignInRiskPolicy,
    SignInRiskWhatIfRequest, UserRiskPolicy, UserRiskRemedy, UserRiskWhatIfRequest,
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

/// The impact of a draft on the directory now: scope, who could not answer, the warnings.
fn impact_view(prefix: &'static str, r: RiskImpactResponse, user_policy: bool) -> impl IntoView {
    let (i, n, p) = (r.impact, crate::logic::thousands, crate::logic::plural);
    let mut lines = vec![format!(
        "In scope now: {} of {} ({} excluded, {} not included).",
        n(i.in_scope),
        p(i.users, "enabled user", "enabled users"),
        n(i.excluded),
        n(i.not_included)
    )];
    if user_policy {
        lines.push(format!(
            "At the policy's level of risk now: {}; of them {} with no method (refused until given a temporary access pass).",
            p(i.must_remediate, "user", "users"),
            n(i.must_remediate_without_method)
        ));
    } else {
        lines.push(format!(
            "With no sign-in method: {} (a stepped-up sign-in of theirs is refused until given a temporary access pass).",
            p(i.without_method, "user", "users")
        ));
        if i.without_passkey > 0 {
            lines.push(format!(
                "With methods but no passkey: {} (refused at high risk).",
                p(i.without_passkey, "user", "users")
            ));
        }
    }
    view! {
        <div class="note" data-testid=format!("{prefix}-impact")>
            <strong>"Impact of these settings"</strong>
            <ul>{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
        </div>
        {r.warnings.into_iter().map(|w| view! { <div class="alert alert-warn" role="status">{w}</div> }).collect_view()}
    }
}

/// A what-if answer's verdict, in the reports' words.
fn verdict(w: &RiskWhatIf) -> (String, &'static str) {
    match w.effect {
        None if !w.in_scope => ("Not in scope".into(), "badge"),
        None | Some(RiskEffect::Noted) => ("Nothing asked".into(), "badge badge-ok"),
        Some(RiskEffect::SecondFactorRequired) => ("Second factor required".into(), "badge badge-warn"),
        Some(RiskEffect::PasskeyRequired) => ("Passkey required".into(), "badge badge-warn"),
        Some(RiskEffect::PasswordChangeRequired) => ("Secure password change".into(), "badge badge-warn"),
        Some(RiskEffect::ReauthenticationRequired) => ("Sessions revoked, fresh sign-in".into(), "badge badge-warn"),
        Some(RiskEffect::Blocked) => ("Blocked".into(), "badge badge-bad"),
        Some(RiskEffect::NoMethod) => ("Refused: no method to prove it".into(), "badge badge-bad"),
        Some(e) => (format!("Report-only: {}", e.words().trim_start_matches("report-only, ")), "badge"),
    }
}

#[component]
fn WhatIfAnswer(answer: RwSignal<Option<RiskWhatIf>>, testid: &'static str) -> impl IntoView {
    move || {
        answer.get().map(|w| {
            let (label, cls) = verdict(&w);
            view! {
                <div class="what-if" data-testid=testid>
                    <p><strong>{w.username.clone()}</strong> " " <span class=cls>{label}</span></p>
                    <ul>{w.explanation.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                </div>
            }
        })
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
    // Impact (recomputed as the draft changes; the latest answer wins) and what-if.
    let (s_impact, u_impact) = (RwSignal::new(None::<RiskImpactResponse>), RwSignal::new(None::<RiskImpactResponse>));
    let (s_who, u_who) = (RwSignal::new(None::<DirectoryRef>), RwSignal::new(None::<DirectoryRef>));
    let s_try = RwSignal::new(RiskLevel::High);
    let (s_answer, u_answer) = (RwSignal::new(None::<RiskWhatIf>), RwSignal::new(None::<RiskWhatIf>));
    let seq = StoredValue::new([0u64; 4]);
    let ticket = move |slot: usize| {
        seq.update_value(|s| s[slot] += 1);
        let mine = seq.get_value()[slot];
        move || seq.get_value()[slot] == mine
    };

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
    Effect::new(move |_| {
        let _ = (s_enf.get(), s_assign.get(), s_level.get(), s_passkey.get(), s_block.get(), s_who.get(), s_try.get());
        if current.get().is_none() {
            return;
        }
        let (p, who, level) = (sign_in_policy(), s_who.get_untracked(), s_try.get_untracked());
        let (fresh, fresh_too) = (ticket(0), ticket(1));
        spawn_local(async move {
            let r = api::sign_in_risk_impact(&p).await;
            if fresh() {
                match r {
                    Ok(r) => s_impact.set(Some(r)),
                    Err(e) => error.set(Some(e)),
                }
            }
            if let Some(who) = who {
                let req = SignInRiskWhatIfRequest { user_id: who.id, level, policy: Some(p) };
                if let (Ok(w), true) = (api::sign_in_risk_what_if(&req).await, fresh_too()) {
                    s_answer.set(Some(w));
                }
            }
        });
    });
    Effect::new(move |_| {
        let _ = (u_enf.get(), u_assign.get(), u_level.get(), u_remedy.get(), u_who.get());
        if current.get().is_none() {
            return;
        }
        let (p, who) = (user_policy(), u_who.get_untracked());
        let (fresh, fresh_too) = (ticket(2), ticket(3));
        spawn_local(async move {
            let r = api::user_risk_impact(&p).await;
            if fresh() {
                match r {
                    Ok(r) => u_impact.set(Some(r)),
                    Err(e) => error.set(Some(e)),
                }
            }
            if let Some(who) = who {
                let req = UserRiskWhatIfRequest { user_id: who.id, policy: Some(p) };
                if let (Ok(w), true) = (api::user_risk_what_if(&req).await, fresh_too()) {
                    u_answer.set(Some(w));
                }
            }
        });
    });
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
            {move || s_impact.get().map(|r| impact_view("sir", r, false))}
            <h3>"What if"</h3>
            <p class="hint">"How these settings treat one user's sign-in at a level of risk, from the decision a sign-in runs."</p>
            <div class="toolbar">
                <DirectoryPicker id="sir-what-if" label="User" only=MemberKind::User on_pick=Callback::new(move |r| s_who.set(Some(r)))/>
                <div class="field">
                    <label for="sir-try">"A sign-in at"</label>
                    <select id="sir-try" on:change=move |ev| if let Some(l) = parse_level(&event_target_value(&ev)) { s_try.set(l) }>
                        {RiskLevel::ALL.iter().rev().map(|l| view! { <option value=l.name()>{format!("{} risk", l.label())}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <WhatIfAnswer answer=s_answer testid="sir-what-if-answer"/>
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
            {move || u_impact.get().map(|r| impact_view("ur", r, true))}
            <h3>"What if"</h3>
            <p class="hint">"How these settings treat one user at their risk now."</p>
            <DirectoryPicker id="ur-what-if" label="User" only=MemberKind::User on_pick=Callback::new(move |r| u_who.set(Some(r)))/>
            <WhatIfAnswer answer=u_answer testid="ur-what-if-answer"/>
        </section>
    }
}
