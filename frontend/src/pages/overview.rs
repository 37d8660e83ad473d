use leptos::prelude::*;
use proofup_shared::api::Overview;

use leptos_router::components::A;

use crate::api;
use crate::components::alert::ErrorAlert;
use crate::logic::thousands;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let session = expect_context::<crate::session::SessionCtx>();
    let admin = session.me.get_untracked().is_some_and(|m| m.role.can_read_admin());
    if !admin {
        return view! { <UserHome/> }.into_any();
    }
    let data = LocalResource::new(api::overview);
    view! {
        <h1>"Overview"</h1>
        <RegistrationNudge/>
        <Suspense fallback=|| view! { <p class="muted" role="status">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Ok(o) => view! { <OverviewCards o=o/> }.into_any(),
                Err(e) => view! { <ErrorAlert error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}

/// For someone who skipped registering: until when they may still skip, and where to register.
#[component]
fn RegistrationNudge() -> impl IntoView {
    let reminder = LocalResource::new(api::my_registration);
    move || {
        reminder.get().and_then(|r| r.ok()).and_then(|r| r.required_from).map(|from| {
            let when = crate::logic::format_deadline(from, crate::logic::now());
            view! {
                <div class="alert alert-warn" role="status" data-testid="registration-nudge">
                    <strong title=crate::logic::utc_time(from)>"Register a sign-in method — required " {when}</strong>
                    <div class="small">"Your organization requires a second way to prove it's you. After that date you cannot finish signing in without one. "
                        <A href="/security-info">"Add a passkey or an authenticator app"</A></div>
                </div>
            }
        })
    }
}

/// What a signed-in user without an administrative role sees.
#[component]
fn UserHome() -> impl IntoView {
    let session = expect_context::<crate::session::SessionCtx>();
    view! {
        <h1>"Your account"</h1>
        <RegistrationNudge/>
        {move || session.me.get().map(|me| view! {
            <section class="card">
                <dl class="facts">
                    <dt>"Name"</dt><dd>{me.display_name}</dd>
                    <dt>"Username"</dt><dd>{me.username}</dd>
                </dl>
            </section>
        })}
    }
}

#[component]
fn OverviewCards(o: Overview) -> impl IntoView {
    let c = o.counts;
    let r = o.registration.clone();
    let alerts = RwSignal::new(o.alerts.clone());
    let error = RwSignal::new(None::<proofup_shared::ApiError>);
    let acked = RwSignal::new(false);
    // The server refuses an account's acknowledgement of its own sign-in: it is not offered.
    let my_id = expect_context::<crate::session::SessionCtx>().me.get_untracked().map(|m| m.id).unwrap_or_default();
    let acknowledge = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::acknowledge_alert(id.clone()).await {
                Ok(()) => {
                    alerts.update(|a| a.retain(|x| x.id != id));
                    acked.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let pct = |n: u64| (n * 100).checked_div(r.in_scope).unwrap_or(0);
    let coverage = crate::logic::coverage_segments(&[
        ("seg-ok", r.registered),
        ("seg-warn", r.in_grace),
        ("seg-idle", r.not_yet_prompted),
        ("seg-bad", r.forced),
    ]);
    view! {
        <ErrorAlert error=error/>
        {move || acked.get().then(|| view! { <div class="alert alert-info" role="status">"Alert acknowledged. The audit log records who acknowledged it."</div> })}
        {move || alerts.get().into_iter().map(|a| {
            let id = a.id.clone();
            let own = a.user_id == my_id;
            view! {
                <div class="alert alert-critical" role="alert" data-testid=match a.kind {
                    proofup_shared::overview::AlertKind::EmergencySignIn => "emergency-alert",
                    proofup_shared::overview::AlertKind::UserReported => "reported-alert",
                }>
                    {match a.kind {
                        proofup_shared::overview::AlertKind::EmergencySignIn => view! {
                            <div>
                                <strong>"Emergency-access account signed in: " {a.username.clone()}</strong>
                                <div class="small">{crate::logic::format_time(a.at)} " from " {a.ip.clone()}
                                    ". Break-glass accounts should only be used in an emergency: confirm this sign-in was expected."</div>
                            </div>
                        }.into_any(),
                        proofup_shared::overview::AlertKind::UserReported => view! {
                            <div>
                                <strong>{a.username.clone()} " reported a change they did not make: " {a.detail.clone().unwrap_or_default()}</strong>
                                <div class="small">{crate::logic::format_time(a.at)} " from " {a.ip.clone()}
                                    ". They are signed out everywhere and their password no longer works. Check the audit log, and their sign-in methods, before you acknowledge."</div>
                            </div>
                        }.into_any(),
                    }}
                    {if own {
                        view! { <p class="small" data-testid="ack-by-another">"This is your own sign-in: another administrator must acknowledge it."</p> }.into_any()
                    } else {
                        view! { <button class="btn btn-secondary" on:click=move |_| acknowledge(id.clone())>"Acknowledge"</button> }.into_any()
                    }}
                </div>
            }
        }).collect_view()}
        {(o.webhook.failing > 0 || o.webhook.given_up > 0).then(|| {
            let w = o.webhook.clone();
            view! {
                <div class="alert alert-warn" role="alert" data-testid="webhook-failing">
                    <strong>"Webhook deliveries are failing"</strong>
                    {w.destination.clone().map(|d| format!(" ({d})")).unwrap_or_default()}
                    ": " {format!("{} waiting to retry, {} given up", w.failing, w.given_up)}
                    {w.last_error.clone().map(|e| format!(". Last error: {e}"))}
                    {w.last_error_at.map(|t| format!(" at {}", crate::logic::format_time(t)))}
                    ". " <A href="/policy/mfa-registration#webhook">"Webhook settings"</A>
                </div>
            }
        })}
        {(o.mail.failing > 0 || o.mail.given_up > 0).then(|| {
            let m = o.mail.clone();
            view! {
                <div class="alert alert-warn" role="alert" data-testid="mail-failing">
                    <strong>"Mail is not going out"</strong>
                    {m.destination.clone().map(|d| format!(" ({d})")).unwrap_or_default()}
                    ": " {format!("{} waiting to retry, {} given up", m.failing, m.given_up)}
                    {m.last_error.clone().map(|e| format!(". Last error: {e}"))}
                    {m.last_error_at.map(|t| format!(" at {}", crate::logic::format_time(t)))}
                    ". " <A href="/policy/mfa-registration#mail">"Mail settings"</A>
                </div>
            }
        })}
        {(!o.registered_at_interrupt.is_empty()).then(|| {
            let list = o.registered_at_interrupt.clone();
            let n = list.len();
            view! {
                <div class="alert alert-warn" role="status" data-testid="registered-at-interrupt">
                    <strong>{if n == 1 { "1 sign-in method was".to_owned() } else { format!("{n} sign-in methods were") }}
                        " registered at the registration interrupt in the last 30 days"</strong>
                    <div class="small">"Check that it was the user where only a password stood behind the sign-in; after an administrator's temporary access pass it was the pass's holder: "
                        {list.iter().map(|e| {
                            let via_pass = e.changes.iter().any(|c| c.field == "signed_in_with" && c.after.as_deref() == Some("temporary access pass"));
                            let behind = if via_pass { "after a temporary access pass" } else { "password only" };
                            format!("{} ({}, from {}, {behind})", e.target, crate::logic::format_time(e.at), e.ip)
                        }).collect::<Vec<_>>().join("; ")}
                        ". "<A href="/logs/audit">"Audit log"</A>
                        " · To allow it only from your networks, set trusted networks in the "<A href="/policy/mfa-registration">"policy"</A>"."</div>
                </div>
            }
        })}
        {(o.emergency_accounts < 2).then(|| view! {
            <div class="alert alert-warn" role="status">
                {if o.emergency_accounts == 0 { "No emergency-access account exists." } else { "Only one emergency-access account exists." }}
                " Keep two, excluded from MFA policies, so you cannot be locked out."
            </div>
        })}
        <section class="card" aria-labelledby="coverage">
            <div class="page-head">
                <h2 id="coverage">"MFA registration"</h2>
                <A href="/policy/mfa-registration" attr:class="badge">"Policy: " {o.enforcement.label()}</A>
            </div>
            <div class="coverage-bar" role="img" aria-label=format!(
                "{} of {} users in scope are registered, {} in their grace period, {} not prompted yet, {} must register at next sign-in",
                r.registered, r.in_scope, r.in_grace, r.not_yet_prompted, r.forced)>
                {coverage.into_iter().map(|(cls, w)| view! { <span class=cls style=format!("width:{w}%")></span> }).collect_view()}
            </div>
            <ul class="legend">
                <li><span class="swatch seg-ok"></span>"Registered " {thousands(r.registered)} " (" {pct(r.registered)} "%)"</li>
                <li><span class="swatch seg-warn"></span>"In grace period " {thousands(r.in_grace)}</li>
                <li><span class="swatch seg-idle"></span>"Not prompted yet " {thousands(r.not_yet_prompted)}</li>
                <li><span class="swatch seg-bad"></span>"Must register at next sign-in " {thousands(r.forced)}</li>
            </ul>
            <div class="stats">
                <Stat label="In scope" value=r.in_scope/>
                <Stat label="Registered" value=r.registered/>
                <Stat label="In grace period" value=r.in_grace/>
                <Stat label="Not prompted yet" value=r.not_yet_prompted/>
                <Stat label="Forced at next sign-in" value=r.forced/>
                <Stat label="Excluded" value=r.excluded/>
            </div>
            <p><A href="/reports/registration">"Open the registration report"</A></p>
        </section>
        <section class="card" aria-labelledby="risk-card" data-testid="risk-card">
            <div class="page-head">
                <h2 id="risk-card">"Risk"</h2>
                <A href="/policy/risk" attr:class="badge">
                    "Sign-in risk: " {o.risk.sign_in_policy.label()} " · User risk: " {o.risk.user_policy.label()}
                </A>
            </div>
            {(o.risk.users_high > 0).then(|| view! {
                <div class="alert alert-warn" role="status">
                    {crate::logic::plural(o.risk.users_high, "user is", "users are")} " at high risk. "
                    <A href="/risk">"Review them"</A>
                </div>
            })}
            <div class="stats">
                <Stat label="At high risk" value=o.risk.users_high/>
                <Stat label="At medium risk" value=o.risk.users_medium/>
                <Stat label="At low risk" value=o.risk.users_low/>
                <Stat label="Detections, 24 h" value=o.risk.detections_24h/>
            </div>
            <p class="small muted">
                {match o.risk.geoip.clone() {
                    Some(g) => format!("Locations from {g}."),
                    None => "Location unavailable: no GeoIP database is configured (--geoip-db), so travel and unfamiliar-place detections are off.".to_owned(),
                }}
                {o.risk.geoip_stale.then_some(" A database is more than 60 days old: update it.")}
                " "
                {match o.risk.breached_set.clone() {
                    Some(b) => format!("Passwords checked against {b}."),
                    None => "No breached-password set (--breached-set): leaked passwords are not checked.".to_owned(),
                }}
            </p>
            <p><A href="/risk">"Risky users, sign-ins and detections"</A></p>
        </section>
        <section class="card" aria-labelledby="you">
            <h2 id="you">"Signed in as"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd>{o.me.display_name}</dd>
                <dt>"Username"</dt><dd>{o.me.username}</dd>
                <dt>"Role"</dt><dd>{o.me.role.label()}</dd>
            </dl>
        </section>
        <section aria-labelledby="store">
            <h2 id="store">"Directory and logs"</h2>
            <div class="stats">
                <Stat label="Users" value=c.users/>
                <Stat label="Active sessions" value=c.active_sessions/>
                <Stat label="Sign-in events" value=c.sign_in_entries/>
                <Stat label="Audit entries" value=c.audit_entries/>
            </div>
        </section>
        <p class="muted version">"Proofup " {o.version}</p>
    }
}

#[component]
fn Stat(label: &'static str, value: u64) -> impl IntoView {
    view! {
        <div class="stat">
            <span class="stat-value">{thousands(value)}</span>
            <span class="stat-label">{label}</span>
        </div>
    }
}
