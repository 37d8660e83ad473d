//! Second-factor methods: authenticator-app registration (pending state kept
//! server-side, bound to the session), verification with replay refusal and
//! the account throttle, removal under the binding rules, and the
//! administrator's "require re-registration".

use super::{Caller, Core};

use proofup_shared::mfa::{check_method_name, ConfirmTotpRequest, MethodKind, TotpSetup};
use proofup_shared::FieldError;
use time::{Duration, OffsetDateTime};

use super::{audit, change};
use super::{Operator, ServiceError};
use crate::domain::access::Factor;
use crate::domain::login::Progress;
use crate::domain::model::{ClientInfo, Method, User};
use crate::domain::throttle::ThrottleDecision;
use crate::domain::totp::{self, TotpCheck};
use crate::store::StoreError;

pub const PENDING_TTL: Duration = Duration::minutes(10);
/// A user who has a method must have proved one this recently to change methods.
pub const RECENT_MFA: Duration = Duration::minutes(10);

/// Ceremonies waiting for their second half (an authenticator app's first code, a passkey's
/// answer), kept in the store, sealed, and keyed by kind and session, so that the node that
/// finishes one need not be the node that began it.
pub struct PendingMap<T> {
    kind: &'static str,
    _value: std::marker::PhantomData<fn() -> T>,
}

/// Authenticator-app registrations waiting for their confirmation code.
pub type PendingTotp = PendingMap<Vec<u8>>;

#[derive(Debug, PartialEq, Eq)]
pub enum PendingLookup {
    Missing,
    Expired,
    OtherUser,
    /// The store could not answer, or the sealed state did not open.
    Unavailable(String),
}

impl From<StoreError> for PendingLookup {
    fn from(e: StoreError) -> Self {
        PendingLookup::Unavailable(e.to_string())
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> PendingMap<T> {
    pub const fn new(kind: &'static str) -> Self {
        Self { kind, _value: std::marker::PhantomData }
    }

    fn key(&self, session: &[u8; 32]) -> String {
        let hex: String = session.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:{hex}", self.kind)
    }

    pub fn put(
        &self,
        core: &Core,
        session: [u8; 32],
        user_id: &str,
        value: &T,
        expires_at: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let key = self.key(&session);
        let plain = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
        let sealed =
            core.secrets.seal(&plain, &format!("ceremony/{key}")).map_err(|e| StoreError::Backend(e.to_string()))?;
        let c = crate::domain::model::Ceremony { user_id: user_id.to_owned(), sealed, expires_at };
        Ok(core.store.put_ceremony(&key, &c)?)
    }

    fn open(
        &self,
        core: &Core,
        key: &str,
        c: crate::domain::model::Ceremony,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<T, PendingLookup> {
        if c.user_id != user_id {
            return Err(PendingLookup::OtherUser);
        }
        if c.expires_at <= now {
            return Err(PendingLookup::Expired);
        }
        let plain = core
            .secrets
            .open(&c.sealed, &format!("ceremony/{key}"))
            .map_err(|e| PendingLookup::Unavailable(e.to_string()))?;
        serde_json::from_slice(&plain).map_err(|e| PendingLookup::Unavailable(e.to_string()))
    }

    /// The entry under `session` whoever it belongs to (the key is the proof: a reset's token
    /// names its user). `(user id, value)`.
    pub fn peek_owned(
        &self,
        core: &Core,
        session: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<(String, T), PendingLookup> {
        let key = self.key(session);
        let c = core.store.ceremony(&key)?.ok_or(PendingLookup::Missing)?;
        let owner = c.user_id.clone();
        self.open(core, &key, c, &owner, now).map(|v| (owner, v))
    }

    /// Takes the entry under `session` whoever it belongs to, atomically: of two callers at once,
    /// one gets it (single use across requests and nodes). `(user id, value)`.
    pub fn take_owned(
        &self,
        core: &Core,
        session: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<(String, T), PendingLookup> {
        let key = self.key(session);
        let c = core.store.take_ceremony(&key)?.ok_or(PendingLookup::Missing)?;
        let owner = c.user_id.clone();
        self.open(core, &key, c, &owner, now).map(|v| (owner, v))
    }

    /// Removes the entry under `session`.
    pub fn discard(&self, core: &Core, session: &[u8; 32]) -> Result<(), StoreError> {
        core.store.take_ceremony(&self.key(session)).map(|_| ())
    }

    pub fn peek(
        &self,
        core: &Core,
        session: &[u8; 32],
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<T, PendingLookup> {
        let key = self.key(session);
        let c = core.store.ceremony(&key)?.ok_or(PendingLookup::Missing)?;
        self.open(core, &key, c, user_id, now)
    }

    /// Single use: the entry is gone after this, whatever the answer.
    pub fn take(
        &self,
        core: &Core,
        session: &[u8; 32],
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<T, PendingLookup> {
        let key = self.key(session);
        let c = core.store.take_ceremony(&key)?.ok_or(PendingLookup::Missing)?;
        self.open(core, &key, c, user_id, now)
    }

    pub fn remove(&self, core: &Core, session: &[u8; 32]) -> Result<(), ServiceError> {
        core.store.take_ceremony(&self.key(session))?;
        Ok(())
    }
}

impl Core {
    /// NIST SP 800-63B 6.1.2: the first method may be bound with the password
    /// alone; later changes need a second factor proved recently in this session.
    pub(crate) fn check_binding(
        &self,
        user: &User,
        progress: &Progress,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        if s.methods(&user.id)?.is_empty() {
            return Ok(());
        }
        match progress {
            Progress::Complete(session) => match session.mfa_at {
                Some(at) if now - at <= RECENT_MFA => Ok(()),
                _ => Err(ServiceError::ReauthenticationRequired),
            },
            // Signing in: a second factor (or the administrator's pass) proved in this sign-in.
            Progress::Signing(f) if f.proved.second_factor() || f.proved.has(Factor::TemporaryAccessPass) => Ok(()),
            Progress::Signing(_) => Err(ServiceError::ReauthenticationRequired),
        }
    }
}

pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

impl Core {
    /// Stores a new method with its audit entry: "mfa.method_added", or
    /// "mfa.method_added_at_interrupt" when a session with only a password behind it registered it
    /// at the registration interrupt (the Overview lists those for review).
    pub(crate) fn store_method(
        &self,
        user: &User,
        client: &ClientInfo,
        method: &Method,
        progress: &Progress,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let action = if progress.signing() { AT_INTERRUPT } else { "mfa.method_added" };
        let described = format!("{} \"{}\"", method.kind.label(), method.name);
        let mut changes = vec![change("method", None, Some(&described))];
        if action == AT_INTERRUPT {
            // What stood behind that sign-in: a password only, or an administrator's pass (the
            // Overview tells them apart).
            changes.push(change(
                SIGNED_IN_WITH,
                None,
                Some(if progress.via_pass() { VIA_PASS } else { PASSWORD_ONLY }),
            ));
        }
        let entry = audit(now, Some(user), action, Some(user), changes, client);
        s.add_method(method, entry)?;
        self.notify_security(user, crate::domain::mail::SecurityChange::MethodAdded { method: described }, client, now)
    }
}

/// The audit action of a method registered at the registration interrupt.
pub const AT_INTERRUPT: &str = "mfa.method_added_at_interrupt";
/// The field of that entry saying what the sign-in began with, and its two values.
pub const SIGNED_IN_WITH: &str = "signed_in_with";
pub const PASSWORD_ONLY: &str = "password only";
pub const VIA_PASS: &str = "temporary access pass";

impl Core {
    pub(crate) fn check_throttle(&self, user: &User, now: OffsetDateTime) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        match s.throttle(&user.username)?.check(now) {
            ThrottleDecision::Allow => Ok(()),
            ThrottleDecision::Wait(w) => Err(ServiceError::Throttled(w)),
            ThrottleDecision::Locked => Err(ServiceError::Locked),
        }
    }
}

impl Core {
    /// Reserves one attempt of a verifier in the account throttle, atomically: it counts as a
    /// failure from now on, unless [`Core::attempt_succeeded`] clears it. Concurrent guesses count one each.
    pub(crate) fn reserve_attempt(&self, user: &User, now: OffsetDateTime) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        match s.reserve_attempt(&user.username, now)? {
            ThrottleDecision::Allow => Ok(()),
            ThrottleDecision::Wait(w) => Err(ServiceError::Throttled(w)),
            ThrottleDecision::Locked => Err(ServiceError::Locked),
        }
    }
}

impl Core {
    /// The reserved attempt was right: the account's failures are forgotten.
    pub(crate) fn attempt_succeeded(&self, user: &User) -> Result<(), StoreError> {
        let s = self.store.as_ref();
        s.attempt_succeeded(&user.username)
    }
}

/// What a code says about a user's authenticator apps (see [`Core::check_code`]).
pub(crate) enum CodeCheck {
    /// Right for this method at this time step, which is later than its last.
    Accepted(Method, u64),
    /// Right, but its time step was used already.
    Replayed(Method),
    Wrong,
}

impl Core {
    /// Checks a code against the user's authenticator apps among `methods` (no store access;
    /// the attempt is reserved by the caller).
    pub(crate) fn check_code(&self, user: &User, methods: &[Method], code: &str, now: OffsetDateTime) -> CodeCheck {
        if code.len() > 64 {
            return CodeCheck::Wrong;
        }
        let mut replayed = None;
        for m in methods.iter().filter(|m| m.kind == MethodKind::AuthenticatorApp) {
            let secret = match self.secrets.open(&m.sealed_secret, &Method::seal_context(&user.id, &m.id)) {
                Ok(sec) => sec,
                Err(e) => {
                    tracing::error!(user = %user.username, method = %m.id, error = %e, "TOTP secret unreadable");
                    continue;
                }
            };
            match totp::verify(&secret, code, now, m.last_step) {
                TotpCheck::Accepted { step } => return CodeCheck::Accepted(m.clone(), step),
                TotpCheck::Replayed => replayed = Some(m),
                TotpCheck::Wrong => {}
            }
        }
        match replayed {
            Some(m) => CodeCheck::Replayed(m.clone()),
            None => CodeCheck::Wrong,
        }
    }

    /// A code was right but its time step spent already: audited, and refused.
    pub(crate) fn code_replayed(
        &self,
        user: &User,
        m: &Method,
        client: &ClientInfo,
        now: OffsetDateTime,
    ) -> ServiceError {
        let audited = self.store.append_audit(audit(
            now,
            Some(user),
            "mfa.totp_replay",
            Some(user),
            vec![change("method", None, Some(&m.name))],
            client,
        ));
        if let Err(e) = audited {
            return e.into();
        }
        ServiceError::InvalidCode("That code was already used. Wait for the next code.".into())
    }

    /// Verifies a code from any of the user's authenticator apps. Failures count
    /// in the account throttle; a replayed code is refused and audited.
    pub(crate) fn verify_code(&self, user: &User, client: &ClientInfo, code: &str) -> Result<Method, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        self.reserve_attempt(user, now)?;
        let methods = if code.len() > 64 { Vec::new() } else { s.methods(&user.id)? };
        // A failure was counted when the attempt was reserved.
        match self.check_code(user, &methods, code, now) {
            CodeCheck::Accepted(m, step) if s.record_totp_use(&user.id, &m.id, step, now)? => {
                self.attempt_succeeded(user)?;
                Ok(m)
            }
            CodeCheck::Accepted(m, _) | CodeCheck::Replayed(m) => Err(self.code_replayed(user, &m, client, now)),
            CodeCheck::Wrong => Err(wrong_code()),
        }
    }
}

/// The refusal of a wrong code.
pub(crate) fn wrong_code() -> ServiceError {
    ServiceError::InvalidCode("That code is not right. Enter the current code from your authenticator app.".into())
}

impl Core {
    /// Starts an authenticator-app registration for this session.
    pub(crate) fn start_totp(
        &self,
        session_key: [u8; 32],
        progress: &crate::domain::login::Progress,
        user: &User,
    ) -> Result<TotpSetup, ServiceError> {
        let now = self.clock.now();
        self.check_binding(user, progress, now)?;
        let secret = totp::new_secret();
        let uri = totp::otpauth_uri("Proofup", &user.username, &secret);
        let b32 = totp::base32(&secret);
        let expires_at = now + PENDING_TTL;
        self.pending_totp.put(self, session_key, &user.id, &secret, expires_at)?;
        Ok(TotpSetup { qr_svg: qr_svg(&uri), otpauth_uri: uri, secret_grouped: totp::grouped(&b32), expires_at })
    }

    /// Activates the pending registration if the code is right.
    pub(crate) fn confirm_totp(
        &self,
        session_key: [u8; 32],
        progress: &crate::domain::login::Progress,
        user: &User,
        client: &ClientInfo,
        req: ConfirmTotpRequest,
    ) -> Result<Method, ServiceError> {
        let now = self.clock.now();
        self.check_binding(user, progress, now)?;
        if let Err(message) = check_method_name(&req.name) {
            return Err(ServiceError::Invalid(vec![FieldError { field: "name".into(), message }]));
        }
        let secret = self.pending_totp.peek(self, &session_key, &user.id, now).map_err(|e| match e {
            PendingLookup::Missing => ServiceError::NotFound("The set-up waiting in this session"),
            PendingLookup::OtherUser => ServiceError::Forbidden("This registration belongs to another session.".into()),
            PendingLookup::Expired => {
                ServiceError::InvalidCode("This registration expired after 10 minutes. Start again.".into())
            }
            PendingLookup::Unavailable(e) => ServiceError::Store(StoreError::Backend(e)),
        })?;
        self.reserve_attempt(user, now)?;
        let step = match totp::verify(&secret, &req.code, now, None) {
            TotpCheck::Accepted { step } => step,
            _ => {
                return Err(ServiceError::InvalidCode(
                    "That code is not right. Check the time on your phone and enter the current code.".into(),
                ));
            }
        };
        self.attempt_succeeded(user)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sealed = self
            .secrets
            .seal(&secret, &Method::seal_context(&user.id, &id))
            .map_err(|e| ServiceError::Store(StoreError::Backend(e.to_string())))?;
        let method = Method {
            id,
            user_id: user.id.clone(),
            kind: MethodKind::AuthenticatorApp,
            name: req.name.trim().to_owned(),
            sealed_secret: sealed,
            credential_id: None,
            passkey: None,
            last_step: Some(step),
            created_at: now,
            last_used_at: Some(now),
        };
        self.store_method(user, client, &method, progress, now)?;
        self.pending_totp.remove(self, &session_key)?;
        Ok(method)
    }

    /// Removes one of the user's own methods (binding rules; not the last one while the policy requires one).
    pub fn remove_own_method(&self, caller: &Caller, id: &str) -> Result<(), ServiceError> {
        let (user, client) = (&caller.user, &caller.client);
        let progress = crate::domain::login::Progress::Complete(caller.session.clone());
        let s = self.store.as_ref();
        let now = self.clock.now();
        self.check_binding(user, &progress, now)?;
        let methods = s.methods(&user.id)?;
        let m = methods.iter().find(|m| m.id == id).ok_or(ServiceError::NotFound("The method"))?;
        if methods.len() == 1 && self.requires_a_method(user, now)? {
            return Err(ServiceError::Conflict(
            "Your organization's MFA registration policy requires a sign-in method. Add another one before removing this one.".into(),
        ));
        }
        let entry = audit(
            now,
            Some(user),
            "mfa.method_removed",
            Some(user),
            vec![change("method", Some(&m.name), None)],
            client,
        );
        let method = format!("{} \"{}\"", m.kind.label(), m.name);
        s.delete_method(&user.id, id, entry)?;
        self.notify_security(user, crate::domain::mail::SecurityChange::MethodRemoved { method }, client, now)
    }

    /// Renames one of the user's own methods (binding rules).
    pub fn rename_own_method(&self, caller: &Caller, id: &str, name: &str) -> Result<Method, ServiceError> {
        let (user, client) = (&caller.user, &caller.client);
        let progress = crate::domain::login::Progress::Complete(caller.session.clone());
        let s = self.store.as_ref();
        let now = self.clock.now();
        if let Err(message) = check_method_name(name) {
            return Err(ServiceError::Invalid(vec![FieldError { field: "name".into(), message }]));
        }
        let mut m = s.method(&user.id, id)?.ok_or(ServiceError::NotFound("The method"))?;
        self.check_binding(user, &progress, now)?;
        let name = name.trim();
        let entry = audit(
            now,
            Some(user),
            "mfa.method_renamed",
            Some(user),
            vec![change("name", Some(&m.name), Some(name))],
            client,
        );
        s.rename_method(&user.id, id, name, entry)?;
        m.name = name.to_owned();
        Ok(m)
    }

    /// "Require re-registration": removes every method and ends the user's sessions.
    pub fn require_reregistration(&self, by: &Operator<'_>, user_id: &str) -> Result<u64, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let target = s.user(user_id)?.ok_or(ServiceError::NotFound("The user"))?;
        if !crate::domain::roles::may_act_on_security(by.actor().user.role, target.role) {
            return Err(ServiceError::Forbidden("Your role cannot change this user's methods.".into()));
        }
        let n = s.methods(user_id)?.len();
        let entry = audit(
            now,
            Some(by.actor().user),
            "mfa.reregistration_required",
            Some(&target),
            vec![change("methods", Some(&n.to_string()), Some("0"))],
            by.actor().client,
        );
        Ok(s.delete_all_methods(user_id, entry)?)
    }
}
