//! The one access decision: what a sign-in must do next, and whether it may enter the
//! application it is for. Pure: the service gathers the facts once ([`SignInFacts`]), calls
//! [`decide`], acts on the [`Next`] step and stores the [`PolicyOutcome`]s on the sign-in log.
//!
//! Every front door asks it at every step: the first factor, a password chosen after a
//! temporary access pass, the portal asking what is next, a skip, single sign-on to an
//! application with an existing session, and the code that finishes an application's
//! sign-in. A new policy (risk, issue 28) adds facts and rows to the table in the tests, not
//! branches to the callers.
//!
//! Rules, in order:
//! 1. A disabled account is denied.
//! 2. A sign-in begun with a temporary access pass chooses a password first.
//! 3. An existing session (single sign-on) is reused unless the request asks for a fresh sign-in,
//!    the application wants MFA this session did not use, or the registration policy requires
//!    registration now (grace over); inside the grace it goes through and the registration is
//!    deferred to the next interactive sign-in.
//! 4. While signing in: a user with a method proves one (a pass stands in for it); a user with
//!    none (a pass changes nothing here) is interrupted to register when the registration policy
//!    (enforcement On) says so, or when the application wants MFA — then with no skip.
//!    Registering needs a trusted network unless the sign-in proved more than a password.
//! 5. Entering an application: the user must be assigned, and an application that wants MFA gets
//!    it only from a second factor proved, or a method registered, in this sign-in.
//!
//! "The application wants MFA" is one fact: its own "Require MFA" setting **or** `acr_values`
//! naming `urn:proofup:acr:mfa`. Both make a user without a method register at that sign-in (no
//! skip), so an application that asks for MFA never ends in a refusal the user could not avoid.

use proofup_shared::api::{PolicyOutcome, RegistrationEffect};
use proofup_shared::common::{MethodKind, Role};
use proofup_shared::mfa::SecondFactorOption;
use time::OffsetDateTime;

use super::model::Session;

/// A factor a sign-in proved (or a step it took).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Factor {
    Password = 1,
    /// An administrator-issued one-time pass: strong enough to stand in for the second factor
    /// (like Entra's Temporary Access Pass); the user must choose a password first.
    TemporaryAccessPass = 2,
    /// The password chosen after a temporary access pass.
    PasswordChosen = 4,
    AuthenticatorApp = 8,
    Passkey = 16,
    RecoveryCode = 32,
    /// A method registered during this sign-in: it finishes the sign-in, but with only the
    /// password behind it, it is not MFA for the tokens.
    NewMethod = 64,
}

/// The factors proved so far, as a set (stored as the list of their names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors(u8);

const ALL_FACTORS: [Factor; 7] = [
    Factor::Password,
    Factor::TemporaryAccessPass,
    Factor::PasswordChosen,
    Factor::AuthenticatorApp,
    Factor::Passkey,
    Factor::RecoveryCode,
    Factor::NewMethod,
];

impl serde::Serialize for Factors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ALL_FACTORS.iter().filter(|f| self.has(**f)))
    }
}

impl<'de> serde::Deserialize<'de> for Factors {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Factor>::deserialize(d)?;
        Ok(list.into_iter().fold(Factors::default(), Factors::with))
    }
}

impl Factors {
    /// The factors in the set, in a fixed order.
    pub fn list(self) -> Vec<Factor> {
        ALL_FACTORS.into_iter().filter(|f| self.has(*f)).collect()
    }

    /// RFC 8176 `amr` values for the ID tokens a complete session leads to: `pwd` for a password
    /// (or a pass), the second factor's own, and `mfa` with any second factor. A method registered
    /// adds nothing (only the password stood behind it).
    pub fn amr(self) -> Vec<String> {
        let mut out = vec!["pwd"];
        if self.has(Factor::AuthenticatorApp) {
            out.push("otp");
        }
        if self.has(Factor::Passkey) {
            out.extend(["hwk", "user"]);
        }
        if self.second_factor() {
            out.push("mfa");
        }
        out.into_iter().map(str::to_owned).collect()
    }

    pub const fn of(list: &[Factor]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < list.len() {
            bits |= list[i] as u8;
            i += 1;
        }
        Factors(bits)
    }

    pub fn with(self, f: Factor) -> Self {
        Factors(self.0 | f as u8)
    }

    pub fn has(self, f: Factor) -> bool {
        self.0 & f as u8 != 0
    }

    /// A second factor proved: MFA, as the ID token's `amr` says.
    pub fn second_factor(self) -> bool {
        self.has(Factor::AuthenticatorApp) || self.has(Factor::Passkey) || self.has(Factor::RecoveryCode)
    }

    /// More than a password: a second factor, a temporary access pass, or a method registered.
    pub fn beyond_password(self) -> bool {
        self.second_factor() || self.has(Factor::TemporaryAccessPass) || self.has(Factor::NewMethod)
    }

    /// What a stored session proved. `registered_since`: a method registered at or after this
    /// instant counts as [`Factor::NewMethod`] (an application's sign-in passes when its flow
    /// began; single sign-on passes the present, so an older registration does not count).
    pub fn of_session(session: &Session, registered_since: OffsetDateTime) -> Self {
        let mut f = if session.via_pass {
            Factors::of(&[Factor::TemporaryAccessPass, Factor::PasswordChosen])
        } else {
            Factors::of(&[Factor::Password])
        };
        for m in &session.amr {
            f = match m.as_str() {
                "otp" => f.with(Factor::AuthenticatorApp),
                "hwk" => f.with(Factor::Passkey),
                _ => f,
            };
        }
        if session.amr.iter().any(|m| m == "mfa") && !f.second_factor() {
            f = f.with(Factor::RecoveryCode);
        }
        if !f.second_factor() && session.mfa_at.is_some_and(|t| t >= registered_since) {
            f = f.with(Factor::NewMethod);
        }
        f
    }
}

/// The account signing in.
#[derive(Debug, Clone)]
pub struct Account {
    pub enabled: bool,
    pub role: Role,
    pub emergency_access: bool,
    /// The kinds of the registered methods (recovery codes are not a method).
    pub methods: Vec<MethodKind>,
    pub recovery_codes_left: u32,
}

/// Where the sign-in happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// The portal itself.
    Portal,
    /// An application's sign-in (OpenID Connect today; any protocol that sends users).
    Application(AppFacts),
}

/// What the application, and the request it sent, require.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppFacts {
    pub name: String,
    /// The application's "Require MFA" setting.
    pub require_mfa: bool,
    /// The request asked for MFA (`acr_values=urn:proofup:acr:mfa`).
    pub mfa_requested: bool,
    /// Assigned directly or through a (nested) group, or the application needs no assignment.
    pub assigned: bool,
    /// The request asks for a fresh sign-in (`prompt=login`, or `max_age` passed).
    pub fresh_sign_in: bool,
}

impl AppFacts {
    pub fn wants_mfa(&self) -> bool {
        self.require_mfa || self.mfa_requested
    }
}

/// Where the request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The registration policy's trusted networks include this address (or it lists none).
    pub trusted_for_registration: bool,
}

/// The registration policy's decision for this user now, with its enforcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    Off,
    NotApplied {
        excluded: bool,
        reason: String,
    },
    Registered,
    /// In scope, no method, grace running until `deadline`.
    Prompt {
        deadline: OffsetDateTime,
        days_left: u32,
        mode: Mode,
    },
    /// In scope, no method, grace over.
    Required {
        deadline: OffsetDateTime,
        mode: Mode,
    },
}

/// How an in-scope decision of the registration policy is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Enforcement On with the control "Require MFA registration": it interrupts.
    Enforced,
    /// Evaluated and logged, never interrupts.
    ReportOnly,
    /// Enforcement On without the control: nothing.
    NoControl,
}

impl Registration {
    fn interrupts(&self) -> bool {
        matches!(
            self,
            Registration::Prompt { mode: Mode::Enforced, .. } | Registration::Required { mode: Mode::Enforced, .. }
        )
    }

    fn effect(&self) -> RegistrationEffect {
        match self {
            Registration::Off => RegistrationEffect::Off,
            Registration::NotApplied { excluded, reason } => {
                RegistrationEffect::NotApplied { excluded: *excluded, reason: reason.clone() }
            }
            Registration::Registered => RegistrationEffect::Registered,
            Registration::Prompt { days_left, mode: Mode::Enforced, .. } => {
                RegistrationEffect::Prompted { days_left: *days_left }
            }
            Registration::Prompt { days_left, mode: Mode::ReportOnly, .. } => {
                RegistrationEffect::WouldPrompt { days_left: *days_left }
            }
            Registration::Required { mode: Mode::Enforced, .. } => RegistrationEffect::Required,
            Registration::Required { mode: Mode::ReportOnly, .. } => RegistrationEffect::WouldRequire,
            Registration::Prompt { mode: Mode::NoControl, .. }
            | Registration::Required { mode: Mode::NoControl, .. } => RegistrationEffect::NoControl,
        }
    }
}

pub use proofup_shared::risk::RiskLevel;

/// The sign-in risk policy for this user: off (or not in scope), or applied with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskPolicy {
    Off,
    Applies {
        /// Enforced, or report-only (logged, never interrupts).
        mode: Mode,
        /// Step up at or above.
        level: RiskLevel,
        passkey_only_at_high: bool,
        block_at: Option<RiskLevel>,
    },
}

/// The user risk policy for this user: off (or not in scope), or applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRiskPolicy {
    Off,
    Applies { mode: Mode, level: RiskLevel, remedy: proofup_shared::policy::UserRiskRemedy },
}

/// This sign-in's risk (the highest of its real-time detections; none: nothing detected), the
/// user's risk (their open detections), and the two risk policies' settings for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Risk {
    pub level: Option<RiskLevel>,
    pub policy: RiskPolicy,
    pub user_level: Option<RiskLevel>,
    pub user_policy: UserRiskPolicy,
}

impl Risk {
    pub const NONE: Risk =
        Risk { level: None, policy: RiskPolicy::Off, user_level: None, user_policy: UserRiskPolicy::Off };
}

/// What the user risk policy asks, and its outcome for the log.
fn user_risk_ask(risk: &Risk) -> (Option<proofup_shared::policy::UserRiskRemedy>, Option<PolicyOutcome>) {
    use proofup_shared::api::RiskEffect as E;
    use proofup_shared::policy::UserRiskRemedy as R;
    let Some(level) = risk.user_level else { return (None, None) };
    let outcome = |effect| Some(PolicyOutcome::UserRisk { level, effect });
    match risk.user_policy {
        UserRiskPolicy::Applies { mode: Mode::Enforced, level: at, remedy } if level >= at => {
            let effect = match remedy {
                R::SecurePasswordChange => E::PasswordChangeRequired,
                R::RevokeAndReauthenticate => E::ReauthenticationRequired,
            };
            (Some(remedy), outcome(effect))
        }
        UserRiskPolicy::Applies { mode: Mode::ReportOnly, level: at, .. } if level >= at => {
            (None, outcome(E::WouldRequireRemediation))
        }
        _ => (None, outcome(E::Noted)),
    }
}

/// What the risk policy asks of this sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RiskAsk {
    Nothing,
    Block,
    /// A fresh second factor; `true`: a passkey only.
    StepUp(bool),
}

fn risk_ask(risk: &Risk) -> (RiskAsk, Option<PolicyOutcome>) {
    use proofup_shared::api::RiskEffect as E;
    let Some(level) = risk.level else { return (RiskAsk::Nothing, None) };
    let noted = |effect| Some(PolicyOutcome::SignInRisk { level, effect });
    let RiskPolicy::Applies { mode, level: at, passkey_only_at_high, block_at } = risk.policy else {
        return (RiskAsk::Nothing, noted(E::Noted));
    };
    let block = block_at.is_some_and(|b| level >= b);
    let step_up = level >= at;
    let passkey = passkey_only_at_high && level == RiskLevel::High;
    match mode {
        Mode::Enforced if block => (RiskAsk::Block, noted(E::Blocked)),
        Mode::Enforced if step_up && passkey => (RiskAsk::StepUp(true), noted(E::PasskeyRequired)),
        Mode::Enforced if step_up => (RiskAsk::StepUp(false), noted(E::SecondFactorRequired)),
        Mode::ReportOnly if block => (RiskAsk::Nothing, noted(E::WouldBlock)),
        Mode::ReportOnly if step_up && passkey => (RiskAsk::Nothing, noted(E::WouldRequirePasskey)),
        Mode::ReportOnly if step_up => (RiskAsk::Nothing, noted(E::WouldRequireSecondFactor)),
        _ => (RiskAsk::Nothing, noted(E::Noted)),
    }
}

/// Whether what a sign-in proved answers a risk step-up: a passkey when only a passkey counts;
/// otherwise any second factor, or a temporary access pass (an administrator's strong proof).
pub fn answers_risk(proved: Factors, passkey_only: bool) -> bool {
    if passkey_only {
        proved.has(Factor::Passkey)
    } else {
        proved.second_factor() || proved.has(Factor::TemporaryAccessPass)
    }
}

/// Which moment of a sign-in asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Part-way through signing in (after the first factor, a password chosen, a step asked).
    SigningIn,
    /// This sign-in finished its steps and now enters the application it is for.
    Completed,
    /// An existing complete session, offered for single sign-on without showing anything.
    ExistingSession,
}

/// Everything the decision reads, gathered once by the service.
#[derive(Debug, Clone)]
pub struct SignInFacts {
    pub account: Account,
    pub proved: Factors,
    pub moment: Moment,
    pub channel: Channel,
    pub network: Network,
    pub registration: Registration,
    pub risk: Risk,
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Nothing more: the sign-in completes, the application gets its code.
    Allow,
    SetPassword,
    /// Prove one of these (most secure first).
    ProveFactor {
        options: Vec<SecondFactorOption>,
    },
    /// "More information required": register a method. `skip`: the grace lasts (deadline, whole
    /// days left); `deadline`: when registration is (or became) required, when the policy says.
    Register {
        skip: Option<(OffsetDateTime, u32)>,
        deadline: Option<OffsetDateTime>,
        network_blocked: bool,
    },
    /// The existing session is not enough: a new interactive sign-in (`prompt=none` cannot have one).
    SignInAgain(Again),
    Deny(Denied),
}

/// Why an existing session cannot be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Again {
    /// `prompt=login` or `max_age`.
    Requested,
    /// The application wants MFA and the session did not use it.
    MfaRequired { application: String },
    /// The registration policy requires registration now.
    RegistrationRequired,
    /// The sign-in risk policy asks for a fresh second factor.
    Risky,
}

/// Why access is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Disabled,
    NotAssigned,
    /// The application wants MFA and this sign-in neither proved a second factor nor registered
    /// a method (a temporary access pass for a user who already has methods).
    MfaRequired,
    /// The sign-in risk policy blocks sign-ins this risky.
    Risky,
    /// The sign-in risk policy asks for a second factor (or a passkey) the user does not have.
    /// Registering is no way out (whoever holds only the password would bind their own
    /// authenticator): an administrator's temporary access pass is.
    RiskNoMethod {
        passkey: bool,
    },
}

impl Again {
    /// For `error_description` and the sign-in log.
    pub fn describe(&self) -> String {
        match self {
            Again::Requested => "The application asked for a fresh sign-in.".into(),
            Again::MfaRequired { application } => {
                format!("{application} requires MFA, and this session did not use it.")
            }
            Again::RegistrationRequired => "MFA registration is required now.".into(),
            Again::Risky => "This sign-in looks unusual: prove it is you with a second factor.".into(),
        }
    }
}

impl Denied {
    /// What the user and the application are told (`access_denied`).
    pub fn describe(&self) -> &'static str {
        match self {
            Denied::Risky => "This sign-in was blocked because it looks risky. Contact your administrator.",
            Denied::RiskNoMethod { passkey: false } => {
                "This sign-in looks unusual, and your account has no sign-in method to prove it is you. Contact your administrator for a temporary access pass."
            }
            Denied::RiskNoMethod { passkey: true } => {
                "This sign-in looks unusual, and only a passkey can prove it is you. You have none: contact your administrator for a temporary access pass."
            }
            Denied::Disabled => "The account is disabled.",
            Denied::NotAssigned => "You are not assigned to this application. Ask your administrator for access.",
            Denied::MfaRequired => {
                "This application requires MFA. Register a sign-in method in My security info, then sign in again."
            }
        }
    }
}

/// The decision and what each policy did, in the order the sign-in log lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    pub next: Next,
    pub outcomes: Vec<PolicyOutcome>,
}

/// Whether a sign-in that proved `proved` may register a method from `network`: always once it
/// proved more than a password; otherwise only from the registration policy's trusted networks.
pub fn may_register(proved: Factors, network: Network) -> bool {
    proved.beyond_password() || network.trusted_for_registration
}

/// The decision. See the module's rules.
pub fn decide(f: &SignInFacts) -> AccessDecision {
    let mut outcomes = Vec::new();
    let done = |next, outcomes| AccessDecision { next, outcomes };
    if !f.account.enabled {
        return done(Next::Deny(Denied::Disabled), outcomes);
    }
    if f.proved.has(Factor::TemporaryAccessPass) && !f.proved.has(Factor::PasswordChosen) {
        return done(Next::SetPassword, outcomes);
    }
    let app = match &f.channel {
        Channel::Application(a) => Some(a),
        Channel::Portal => None,
    };
    let wants_mfa = app.is_some_and(AppFacts::wants_mfa);
    let no_method = f.account.methods.is_empty();
    let (ask, risk_outcome) = risk_ask(&f.risk);
    outcomes.extend(risk_outcome);
    if ask == RiskAsk::Block {
        return done(Next::Deny(Denied::Risky), outcomes);
    }
    let (remedy, user_outcome) = user_risk_ask(&f.risk);
    outcomes.extend(user_outcome);
    // A risky user is stepped up like a risky sign-in (a second factor first; a passkey when
    // they revoke and have one), then remedies.
    // Revoke-and-reauthenticate asks a passkey of a user who has one (phishing-resistant: what
    // a stolen session or token could not have replayed).
    let revoke_passkey = remedy == Some(proofup_shared::policy::UserRiskRemedy::RevokeAndReauthenticate)
        && f.account.methods.contains(&MethodKind::Passkey);
    let step_up = match ask {
        RiskAsk::StepUp(passkey) => Some(passkey || revoke_passkey),
        _ if remedy.is_some() => Some(revoke_passkey),
        _ => None,
    };
    match f.moment {
        Moment::ExistingSession => {
            if app.is_some_and(|a| a.fresh_sign_in) {
                return done(Next::SignInAgain(Again::Requested), outcomes);
            }
            if remedy.is_some() || step_up.is_some_and(|passkey| !answers_risk(f.proved, passkey)) {
                return done(Next::SignInAgain(Again::Risky), outcomes);
            }
            if let Some(a) = app.filter(|a| a.wants_mfa() && !f.proved.second_factor()) {
                return done(Next::SignInAgain(Again::MfaRequired { application: a.name.clone() }), outcomes);
            }
            match &f.registration {
                r @ Registration::Required { .. } if r.interrupts() => {
                    return done(Next::SignInAgain(Again::RegistrationRequired), outcomes);
                }
                r @ Registration::Prompt { days_left, .. } if r.interrupts() => {
                    outcomes.push(PolicyOutcome::RegistrationDeferred { days_left: *days_left });
                }
                _ => {}
            }
        }
        Moment::SigningIn => {
            if let Some(passkey) = step_up.filter(|p| !answers_risk(f.proved, *p)) {
                // No skip and no registration: a method the user has, or nothing.
                let options: Vec<SecondFactorOption> = proofup_shared::mfa::second_factor_options(
                    f.account.methods.iter().copied(),
                    f.account.recovery_codes_left,
                )
                .into_iter()
                .filter(|o| !passkey || *o == SecondFactorOption::Passkey)
                .collect();
                if options.is_empty() {
                    if let Some(PolicyOutcome::SignInRisk { effect, .. }) = outcomes.last_mut() {
                        *effect = proofup_shared::api::RiskEffect::NoMethod;
                    }
                    return done(Next::Deny(Denied::RiskNoMethod { passkey }), outcomes);
                }
                outcomes.push(PolicyOutcome::SecondFactorPending);
                return done(Next::ProveFactor { options }, outcomes);
            }
            if remedy == Some(proofup_shared::policy::UserRiskRemedy::SecurePasswordChange)
                && !f.proved.has(Factor::PasswordChosen)
            {
                return done(Next::SetPassword, outcomes);
            }
            let policy = PolicyOutcome::Registration { effect: f.registration.effect() };
            if !f.proved.beyond_password() && !no_method {
                outcomes.extend([PolicyOutcome::SecondFactorPending, policy]);
                let options = proofup_shared::mfa::second_factor_options(
                    f.account.methods.iter().copied(),
                    f.account.recovery_codes_left,
                );
                return done(Next::ProveFactor { options }, outcomes);
            }
            outcomes.push(policy);
            // No method to prove, and none registered yet in this sign-in: the registration policy
            // interrupts (a pass, too, leaves its user to register), and so does an application
            // that wants MFA.
            let unregistered = no_method && !f.proved.second_factor() && !f.proved.has(Factor::NewMethod);
            let app_needs = wants_mfa && unregistered;
            let policy_needs = unregistered && f.registration.interrupts();
            if app_needs || policy_needs {
                if let Some(a) = app.filter(|_| app_needs) {
                    outcomes.push(PolicyOutcome::ApplicationRequiresMfa { application: a.name.clone() });
                }
                let (skip, deadline) = match &f.registration {
                    // A risky sign-in never skips.
                    Registration::Prompt { deadline, days_left, mode: Mode::Enforced }
                        if !app_needs && step_up.is_none() =>
                    {
                        (Some((*deadline, *days_left)), Some(*deadline))
                    }
                    Registration::Prompt { deadline, mode: Mode::Enforced, .. } if !app_needs => {
                        (None, Some(*deadline))
                    }
                    Registration::Prompt { .. } => (None, None),
                    Registration::Required { deadline, mode: Mode::Enforced } => (None, Some(*deadline)),
                    _ => (None, None),
                };
                let network_blocked = !may_register(f.proved, f.network);
                return done(Next::Register { skip, deadline, network_blocked }, outcomes);
            }
        }
        Moment::Completed => {
            if step_up.is_some_and(|passkey| !answers_risk(f.proved, passkey)) {
                return done(Next::Deny(Denied::RiskNoMethod { passkey: step_up == Some(true) }), outcomes);
            }
        }
    }
    if let Some(a) = app {
        if !a.assigned {
            return done(Next::Deny(Denied::NotAssigned), outcomes);
        }
        if wants_mfa && !f.proved.second_factor() && !f.proved.has(Factor::NewMethod) {
            return done(Next::Deny(Denied::MfaRequired), outcomes);
        }
    }
    done(Next::Allow, outcomes)
}

#[cfg(test)]
mod tests;
