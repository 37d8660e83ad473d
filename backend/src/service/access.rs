//! The access decision's front door: every step of every way in (the portal's sign-in and its
//! steps, an application's sign-in, single sign-on, the code) gathers its facts here, once, and
//! asks [`access::decide`]. Also the protocol-neutral checks for entering an application
//! (assignment), which the OpenID Connect provider uses and a second protocol would reuse.

use proofup_shared::mfa::NextStep;
use proofup_shared::policy::{Enforcement, MfaRegistrationPolicy};
use time::OffsetDateTime;

use super::{Core, ServiceError};
use crate::domain::access::{
    self, AccessDecision, Account, AppFacts, Channel, Factors, Mode, Moment, Network, Next, Registration, SignInFacts,
};
use crate::domain::login::Progress;
use crate::domain::login::{LoginFlow, Waiting};
use crate::domain::model::{Continuation, Session, User};
use crate::domain::oidc::authorize::AuthRequest;
use crate::domain::oidc::grant::Flow;
use crate::domain::oidc::Application;
use crate::domain::policy::{self, Decision, OutOfScope, RegistrationState};
use crate::store::StoreError;

/// The `acr` value that asks for MFA (`acr_values`).
pub const MFA_ACR: &str = "urn:proofup:acr:mfa";

/// A decision with what it was made from that the caller acts on.
pub struct Decided {
    pub decision: AccessDecision,
    pub registration: Registration,
    state: RegistrationState,
}

/// What a decision is asked about: who, what they proved, when, for what, from where, and the
/// sign-in's real-time risk.
pub(crate) struct AccessAsk<'a> {
    pub user: &'a User,
    pub proved: Factors,
    pub moment: Moment,
    pub channel: Channel,
    pub ip: &'a str,
    pub risk_level: Option<crate::domain::access::RiskLevel>,
    /// What the decision reads about the user, when the caller read it already.
    pub known: Option<Known<'a>>,
}

/// The user's methods, recovery codes and registration state, read by the caller (a password
/// step reads them with the account, in one store call).
pub(crate) struct Known<'a> {
    pub methods: &'a [crate::domain::model::Method],
    pub codes: Option<&'a crate::domain::model::RecoveryCodeSet>,
    pub registration: &'a RegistrationState,
}

/// Whether a sign-in after `next` is over (a session), or goes on as a login flow. Entering the
/// application (or being refused) happens where the application's flow resumes.
pub fn signed_in_after(next: &Next) -> bool {
    matches!(next, Next::Allow | Next::Deny(_) | Next::SignInAgain(_))
}

impl Core {
    /// The registration policy's decision for `user` now, as a fact, with the user's stored state.
    fn registration(
        &self,
        p: &MfaRegistrationPolicy,
        user: &User,
        now: OffsetDateTime,
        known: Option<&Known<'_>>,
    ) -> Result<(Registration, RegistrationState), StoreError> {
        if p.enforcement == Enforcement::Off {
            return Ok((Registration::Off, RegistrationState::default()));
        }
        let (decision, _, state) = match known {
            Some(k) => self.decide_known(p, user, k.methods.len() as u32, k.registration.clone(), now)?,
            None => self.decide_with(p, user, now)?,
        };
        let mode = match p.enforcement {
            Enforcement::ReportOnly => Mode::ReportOnly,
            _ if policy::interrupts(p, &decision) => Mode::Enforced,
            _ => Mode::NoControl,
        };
        let name = |id: &str| self.group_name(id);
        let fact = match decision {
            Decision::NotInScope(why) => Registration::NotApplied {
                excluded: !matches!(why, OutOfScope::NotIncluded),
                reason: policy::describe_out(&why, &name),
            },
            Decision::Registered { .. } => Registration::Registered,
            Decision::Prompt { deadline, .. } => {
                Registration::Prompt { deadline, days_left: policy::days_left(deadline, now), mode }
            }
            Decision::Required { deadline, .. } => Registration::Required { deadline, mode },
        };
        Ok((fact, state))
    }

    /// What `app`, and the request that sent `user`, require of this sign-in.
    pub(crate) fn app_facts(
        &self,
        app: &Application,
        req: &AuthRequest,
        user: &User,
        fresh_sign_in: bool,
    ) -> Result<AppFacts, ServiceError> {
        Ok(AppFacts {
            name: app.name.clone(),
            require_mfa: app.require_mfa,
            mfa_requested: req.acr_values.iter().any(|a| a == MFA_ACR),
            assigned: self.is_assigned(app, user)?,
            fresh_sign_in,
        })
    }

    /// The application flow `id` signs in to, while the flow waits and the application is enabled.
    /// Only the browser that began a flow may resume it; this only makes a sign-in stricter.
    pub(crate) fn live_flow(&self, id: &str) -> Result<Option<(Flow, Application)>, StoreError> {
        let s = self.store.as_ref();
        let Some(f) = s.flow(id)?.filter(|f| self.clock.now() < f.expires_at) else { return Ok(None) };
        Ok(s.application(&f.request.client_id)?.filter(|a| a.enabled).map(|a| (f, a)))
    }

    /// The channel of a sign-in that resumes `flow` (an application's), or the portal.
    pub(crate) fn channel_of(&self, flow: Option<&(Flow, Application)>, user: &User) -> Result<Channel, ServiceError> {
        Ok(match flow {
            Some((f, app)) => Channel::Application(self.app_facts(app, &f.request, user, false)?),
            None => Channel::Portal,
        })
    }

    /// The application flow a sign-in resumes, if it still waits.
    pub(crate) fn flow_of(
        &self,
        continuation: Option<&Continuation>,
    ) -> Result<Option<(Flow, Application)>, StoreError> {
        match continuation {
            Some(Continuation::Authorize { request }) => self.live_flow(request),
            None => Ok(None),
        }
    }

    /// Gathers the facts and decides.
    pub(crate) fn decide_access(&self, ask: AccessAsk<'_>) -> Result<Decided, ServiceError> {
        let record = self.store.policy()?;
        self.decide_access_with(&record, ask)
    }

    /// As [`Core::decide_access`], with the policies already read (the password step reads them
    /// once for risk and the decision).
    pub(crate) fn decide_access_with(
        &self,
        record: &crate::domain::records::PolicyRecord,
        ask: AccessAsk<'_>,
    ) -> Result<Decided, ServiceError> {
        let AccessAsk { user, proved, moment, channel, ip, risk_level, known } = ask;
        let s = self.store.as_ref();
        let now = self.clock.now();
        let user_policy = self.user_risk_policy(&record.user_risk, user)?;
        // The user's risk is read only when a user risk policy could act on it.
        let user_level = match user_policy {
            crate::domain::access::UserRiskPolicy::Off => None,
            _ => self.user_risk_level(&user.id)?,
        };
        let risk = crate::domain::access::Risk {
            level: risk_level,
            policy: self.risk_policy(&record.sign_in_risk, user)?,
            user_level,
            user_policy,
        };
        let policy = &record.policy;
        let (registration, state) = self.registration(policy, user, now, known.as_ref())?;
        let (methods, recovery_codes_left) = match &known {
            Some(k) => (k.methods.iter().map(|m| m.kind).collect(), k.codes.map_or(0, |r| r.remaining())),
            None => {
                let (methods, codes) = s.methods_and_codes(&user.id)?;
                (methods.into_iter().map(|m| m.kind).collect(), codes.map_or(0, |r| r.remaining()))
            }
        };
        let network = Network { trusted_for_registration: policy.registration_allowed_from(ip) };
        let facts = SignInFacts {
            account: Account {
                enabled: user.enabled,
                role: user.role,
                emergency_access: user.emergency_access,
                methods,
                recovery_codes_left,
            },
            proved,
            moment,
            channel,
            network,
            registration: registration.clone(),
            risk,
        };
        Ok(Decided { decision: access::decide(&facts), registration, state })
    }

    /// The decision for a sign-in in progress, from what it proved so far.
    pub(crate) fn decide_for_flow(&self, login: &LoginFlow, user: &User) -> Result<Decided, ServiceError> {
        let flow = self.flow_of(login.continuation.as_ref())?;
        let channel = self.channel_of(flow.as_ref(), user)?;
        let risk_level = login.context.as_ref().and_then(|c| c.level);
        self.decide_access(AccessAsk {
            user,
            proved: login.proved,
            moment: Moment::SigningIn,
            channel,
            ip: &login.ip,
            risk_level,
            known: None,
        })
    }

    /// The sign-in risk policy as it applies to `user`.
    fn risk_policy(
        &self,
        p: &proofup_shared::policy::SignInRiskPolicy,
        user: &User,
    ) -> Result<crate::domain::access::RiskPolicy, ServiceError> {
        use crate::domain::access::RiskPolicy;
        let mode = match p.enforcement {
            Enforcement::Off => return Ok(RiskPolicy::Off),
            Enforcement::ReportOnly => Mode::ReportOnly,
            Enforcement::On => Mode::Enforced,
        };
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        if policy::risk_scope(p.assignments(), &user.id, user.emergency_access, &groups).is_err() {
            return Ok(RiskPolicy::Off);
        }
        Ok(RiskPolicy::Applies {
            mode,
            level: p.level,
            passkey_only_at_high: p.passkey_only_at_high,
            block_at: p.block_at,
        })
    }
    /// The user risk policy as it applies to `user`.
    fn user_risk_policy(
        &self,
        p: &proofup_shared::policy::UserRiskPolicy,
        user: &User,
    ) -> Result<crate::domain::access::UserRiskPolicy, ServiceError> {
        use crate::domain::access::UserRiskPolicy;
        let mode = match p.enforcement {
            Enforcement::Off => return Ok(UserRiskPolicy::Off),
            Enforcement::ReportOnly => Mode::ReportOnly,
            Enforcement::On => Mode::Enforced,
        };
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        if policy::risk_scope(p.assignments(), &user.id, user.emergency_access, &groups).is_err() {
            return Ok(UserRiskPolicy::Off);
        }
        Ok(UserRiskPolicy::Applies { mode, level: p.level, remedy: p.remedy })
    }

    /// Where a browser's sign-in waits.
    pub fn waiting(&self, progress: &Progress, user: &User) -> Result<Waiting, ServiceError> {
        match progress {
            Progress::Complete(_) => Ok(Waiting::Complete),
            Progress::Signing(f) => Ok(Waiting::after(&self.decide_for_flow(f, user)?.decision.next)),
        }
    }

    /// At a step the sign-in log records (the first factor, a password chosen after a pass): the
    /// policy's first interrupt starts the user's grace clock, and the interrupt metrics count it.
    pub(crate) fn registration_evaluated(&self, user: &User, decided: Decided) -> Result<(), StoreError> {
        use crate::metrics::{interrupt, Interrupt};
        match &decided.registration {
            Registration::Prompt { mode: Mode::Enforced, .. } | Registration::Required { mode: Mode::Enforced, .. } => {
                interrupt(Interrupt::Shown);
                if decided.state.first_prompted_at.is_none() {
                    let state = RegistrationState { first_prompted_at: Some(self.clock.now()), ..decided.state };
                    self.store.put_registration_state(&user.id, &state, None)?;
                }
            }
            Registration::Prompt { mode: Mode::ReportOnly, .. }
            | Registration::Required { mode: Mode::ReportOnly, .. } => interrupt(Interrupt::ReportOnly),
            _ => {}
        }
        Ok(())
    }

    /// What a browser's sign-in must do next, as the portal is told.
    pub fn next_step(&self, progress: &Progress, user: &User) -> Result<NextStep, ServiceError> {
        let Progress::Signing(flow) = progress else { return Ok(NextStep::Done) };
        let decided = self.decide_for_flow(flow, user)?;
        self.step_for(flow, decided.decision.next)
    }

    /// The portal's next step for a sign-in in progress that the decision says `next` for.
    pub(crate) fn step_for(&self, flow: &LoginFlow, next: Next) -> Result<NextStep, ServiceError> {
        Ok(match next {
            Next::SetPassword => NextStep::SetPassword,
            Next::ProveFactor { options } => NextStep::SecondFactor { options },
            Next::Register { skip, deadline, network_blocked } => NextStep::RegisterMfa {
                can_skip: skip.is_some(),
                days_left: skip.map_or(0, |(_, days)| days),
                deadline,
                network_blocked,
            },
            // No longer interrupted (the policy changed, the user was excluded): registering or
            // skipping both finish.
            _ => NextStep::RegisterMfa {
                can_skip: true,
                days_left: 0,
                deadline: None,
                network_blocked: !access::may_register(flow.proved, self.registration_network(&flow.ip)?),
            },
        })
    }

    /// The server-owned links of a sign-in for an application, on `me`: while steps remain, the
    /// application's name and where Cancel goes; once done, where the browser continues. Only
    /// while the application's flow still waits (resuming or cancelling ends it).
    pub fn with_flow_links(
        &self,
        continuation: Option<&Continuation>,
        me: &mut proofup_shared::api::Me,
    ) -> Result<(), ServiceError> {
        let Some(c) = continuation else { return Ok(()) };
        let Some((_, app)) = self.flow_of(Some(c))? else { return Ok(()) };
        if me.next_step == NextStep::Done {
            me.continue_to = Some(c.resume_path());
        } else {
            me.application = Some(app.name);
            me.cancel_to = Some(c.cancel_path());
        }
        Ok(())
    }

    /// Whether `session` may register a method from `ip` (at the interrupt, or from My security
    /// info): always once it proved more than a password; otherwise from the trusted networks.
    pub(crate) fn may_register_from(&self, session: &Session, ip: &str) -> Result<bool, StoreError> {
        let proved = Factors::of_session(session, OffsetDateTime::UNIX_EPOCH);
        Ok(access::may_register(proved, self.registration_network(ip)?))
    }

    /// Whether the registration policy's trusted networks include `ip` (or it lists none).
    pub(crate) fn registration_network(&self, ip: &str) -> Result<Network, StoreError> {
        Ok(Network { trusted_for_registration: self.store.policy()?.policy.registration_allowed_from(ip) })
    }

    /// Whether `user` may sign in to `app`: always, unless assignment is required; then when
    /// assigned directly or through a group (nested groups count).
    pub fn is_assigned(&self, app: &Application, user: &User) -> Result<bool, ServiceError> {
        if !app.assignment_required || app.assigned_users.contains(&user.id) {
            return Ok(true);
        }
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        Ok(groups.iter().any(|m| app.assigned_groups.contains(&m.group)))
    }
}
