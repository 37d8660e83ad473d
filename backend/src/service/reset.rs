//! "Forgot your password?": the user names their account, proves the methods they registered
//! (`domain::reset`: one, or two different ones for an administrator), and chooses a new
//! password; every session, sign-in in progress and grant of theirs ends, and they sign in with
//! it — back into the application they came from, through whatever the access decision asks next.
//!
//! The reset in progress is kept server-side, sealed, under the SHA-256 of a token only its
//! browser holds (a cookie of its own). Every verifier counts in the account's throttle and the
//! per-address limit, like sign-in. A reset that cannot begin answers in the same words whether
//! or not the account exists, after the same store reads.

use std::net::IpAddr;

use proofup_shared::api::SignInResult;
use proofup_shared::mfa::{MethodKind, PasskeyChallenge};
use proofup_shared::reset::{ResetDone, ResetMethod, ResetStatus, ResetStep, ASK_AN_ADMINISTRATOR};
use proofup_shared::validation::normalize_username;

use super::mfa::{PendingLookup, PendingMap};
use super::{new_token, session_key, Core, ServiceError};
use crate::domain::model::{ClientInfo, User};
use crate::domain::reset::ResetFlow;
use crate::store::StoreError;

/// Resets in progress, in the store's ceremonies (so any node continues one).
static RESETS: PendingMap<ResetFlow> = PendingMap::new("reset");

/// Longest username looked up.
const MAX_USERNAME: usize = 256;

fn status(flow: &ResetFlow, user: Option<&User>, now: time::OffsetDateTime) -> ResetStatus {
    if flow.may_set_password(now) {
        return ResetStatus {
            step: ResetStep::SetPassword,
            methods: Vec::new(),
            email_hint: None,
            still_needed: 0,
            message: "Choose your new password.".into(),
        };
    }
    let n = flow.still_needed();
    let message = match (flow.needed, n) {
        (2, 2) => "Your role needs two different methods: prove the first.".to_owned(),
        (2, _) => "Now prove a second, different method.".to_owned(),
        _ => "Prove it is you with a method you registered.".to_owned(),
    };
    let methods = flow.remaining_kinds();
    let email_hint = methods
        .contains(&ResetMethod::EmailCode)
        .then(|| user.and_then(|u| u.email.as_deref()).map(crate::domain::reset::hint))
        .flatten();
    ResetStatus { step: ResetStep::Verify, methods, email_hint, still_needed: n, message }
}

fn ask_administrator() -> ResetStatus {
    ResetStatus {
        step: ResetStep::AskAdministrator,
        methods: Vec::new(),
        email_hint: None,
        still_needed: 0,
        message: ASK_AN_ADMINISTRATOR.into(),
    }
}

fn gone() -> ServiceError {
    ServiceError::WrongStage("This password reset has ended. Start again from the sign-in page.")
}

impl Core {
    /// Begins a reset for `username`. Returns the reset's token (for its cookie) when it began,
    /// and where it stands. Limited per address like sign-in.
    pub fn begin_reset(
        &self,
        ip: IpAddr,
        client: &ClientInfo,
        username: &str,
        flow: Option<String>,
    ) -> Result<(Option<String>, ResetStatus), ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        if let Err(wait) = self.ip_limiter.hit(ip, now) {
            return Err(ServiceError::Throttled(wait));
        }
        let name = normalize_username(username);
        let user = if name.len() > MAX_USERNAME { None } else { s.user_by_username(&name)? };
        // The same reads whether or not the account exists.
        let kinds: Vec<MethodKind> =
            s.methods(user.as_ref().map_or("-", |u| u.id.as_str()))?.iter().map(|m| m.kind).collect();
        let flow = flow.filter(|f| !f.is_empty() && f.len() <= 128);
        let begun = user.as_ref().ok_or(crate::domain::reset::Refusal::NoSuchUser).and_then(|u| {
            let mailable = u.email.is_some() && u.email_verified && self.mail.is_some();
            ResetFlow::begin(&u.id, u.role, u.enabled, &kinds, mailable, flow, now)
        });
        let Ok(reset) = begun else {
            if let (Some(u), Err(why)) = (&user, &begun) {
                tracing::info!(user = %u.username, reason = ?why, "password reset refused");
                self.log_attempt_to(
                    now,
                    (&u.username, Some(u)),
                    SignInResult::Blocked,
                    "Password reset refused: ask an administrator",
                    client,
                    None,
                )?;
            }
            return Ok((None, ask_administrator()));
        };
        let token = new_token();
        RESETS.put(self, session_key(&token), &reset.user_id, &reset, reset.expires)?;
        Ok((Some(token), status(&reset, user.as_ref(), now)))
    }

    /// The reset behind `token`, with its user, while it lives.
    fn reset_of(&self, token: &str) -> Result<(ResetFlow, User), ServiceError> {
        let now = self.clock.now();
        let (owner, flow) = RESETS.peek_owned(self, &session_key(token), now).map_err(|e| match e {
            PendingLookup::Unavailable(m) => ServiceError::Store(StoreError::Backend(m)),
            _ => gone(),
        })?;
        if owner != flow.user_id || !flow.live(now) {
            return Err(gone());
        }
        let user = self.store.user(&flow.user_id)?.filter(|u| u.enabled).ok_or_else(gone)?;
        Ok((flow, user))
    }

    /// Where the reset stands (the page asks after a reload).
    pub fn reset_status(&self, token: &str) -> Result<ResetStatus, ServiceError> {
        let (flow, user) = self.reset_of(token)?;
        Ok(status(&flow, Some(&user), self.clock.now()))
    }

    fn reset_proved(
        &self,
        token: &str,
        mut flow: ResetFlow,
        user: &User,
        kind: ResetMethod,
        client: &ClientInfo,
    ) -> Result<ResetStatus, ServiceError> {
        let now = self.clock.now();
        if !flow.prove(kind) {
            return Err(ServiceError::Conflict("This method cannot reset your password.".into()));
        }
        RESETS.put(self, session_key(token), &user.id, &flow, flow.expires)?;
        self.log_attempt_to(
            now,
            (&user.username, Some(user)),
            SignInResult::Success,
            &format!("Password reset: {} verified", kind.label().to_lowercase()),
            client,
            None,
        )?;
        Ok(status(&flow, Some(user), now))
    }

    fn reset_failed(&self, user: &User, client: &ClientInfo, e: &ServiceError) -> Result<(), ServiceError> {
        if matches!(e, ServiceError::InvalidCode(_)) {
            let reason = "Password reset: method not verified";
            self.log_attempt_to(
                self.clock.now(),
                (&user.username, Some(user)),
                SignInResult::Failure,
                reason,
                client,
                None,
            )?;
        }
        Ok(())
    }

    /// One verifier step of a reset: the per-address limit, the method still to prove, the check
    /// (which counts in the account throttle), then the reset moves on or the failure is logged.
    async fn reset_verify(
        &self,
        ip: IpAddr,
        token: &str,
        client: &ClientInfo,
        method: ResetMethod,
        check: impl FnOnce(&User) -> Result<(), ServiceError>,
    ) -> Result<ResetStatus, ServiceError> {
        let (flow, user) = self.reset_of(token)?;
        if let Err(wait) = self.ip_limiter.check(ip, self.clock.now()) {
            return Err(ServiceError::Throttled(wait));
        }
        if !flow.remaining_kinds().contains(&method) {
            return Err(ServiceError::Conflict("Use another method.".into()));
        }
        let result = match check(&user) {
            Ok(()) => self.reset_proved(token, flow, &user, method, client),
            Err(e) => {
                let _ = self.ip_limiter.hit(ip, self.clock.now());
                self.reset_failed(&user, client, &e)?;
                Err(e)
            }
        };
        self.store.durable().await?;
        result
    }

    /// Proves an authenticator app's code (the account throttle counts it; a replay is refused).
    pub async fn reset_prove_code(
        &self,
        ip: IpAddr,
        token: &str,
        client: &ClientInfo,
        code: &str,
    ) -> Result<ResetStatus, ServiceError> {
        self.reset_verify(ip, token, client, ResetMethod::AuthenticatorApp, |user| {
            self.verify_code(user, client, code).map(drop)
        })
        .await
    }

    /// The options for `navigator.credentials.get()` with the user's passkeys.
    pub fn reset_passkey_challenge(&self, token: &str) -> Result<PasskeyChallenge, ServiceError> {
        let (flow, user) = self.reset_of(token)?;
        if !flow.remaining_kinds().contains(&ResetMethod::Passkey) {
            return Err(ServiceError::Conflict("Use another method.".into()));
        }
        self.start_passkey_sign_in(session_key(token), &user)
    }

    /// Proves a passkey (the answer to [`Core::reset_passkey_challenge`]).
    pub async fn reset_prove_passkey(
        &self,
        ip: IpAddr,
        token: &str,
        client: &ClientInfo,
        credential: serde_json::Value,
    ) -> Result<ResetStatus, ServiceError> {
        self.reset_verify(ip, token, client, ResetMethod::Passkey, |user| {
            self.finish_passkey_sign_in(session_key(token), user, credential).map(drop)
        })
        .await
    }

    /// Sets the new password once enough methods are proved: audited, every session, sign-in in
    /// progress and grant of the user ends, the reset is spent. Answers where to sign in.
    pub async fn finish_reset(
        &self,
        token: &str,
        client: &ClientInfo,
        new_password: String,
    ) -> Result<ResetDone, ServiceError> {
        let (flow, user) = self.reset_of(token)?;
        let now = self.clock.now();
        if !flow.may_set_password(now) {
            return Err(ServiceError::WrongStage("Prove your methods first."));
        }
        self.replace_password(&user, new_password, client, "user.password_reset").await?;
        RESETS.discard(self, &session_key(token))?;
        // The throttle's failures are forgotten: the user proved who they are (both counts).
        self.attempt_succeeded(&user)?;
        self.store.attempt_succeeded(&crate::domain::throttle::familiar_key(&user.username))?;
        // Methods proved, then a new password (not in the breached set): a secure password
        // change, which closes what a new password fixes (a reported, sprayed or leaked password).
        self.remediate_user_risk(&user, "secure_password_reset", true, client)?;
        self.log_attempt_to(
            now,
            (&user.username, Some(&user)),
            SignInResult::Success,
            "Password reset by the user with their methods",
            client,
            None,
        )?;
        self.store.durable().await?;
        let sign_in = match &flow.flow {
            Some(f) => super::oidc::signin::sign_in_path(f),
            None => "/sign-in".to_owned(),
        };
        Ok(ResetDone { sign_in })
    }

    /// Mails a code to the user's confirmed address (an administrator's second method): one a
    /// minute, 15 minutes, five tries.
    pub fn reset_send_email_code(&self, token: &str) -> Result<ResetStatus, ServiceError> {
        let (mut flow, user) = self.reset_of(token)?;
        let now = self.clock.now();
        let Some(address) = user.email.clone().filter(|_| flow.remaining_kinds().contains(&ResetMethod::EmailCode))
        else {
            return Err(ServiceError::Conflict("Use another method.".into()));
        };
        if let Some(last) = &flow.email_code {
            if now < last.resend_at() {
                return Err(ServiceError::Throttled(last.resend_at() - now));
            }
        }
        let code = format!("{:06}", rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..1_000_000u32));
        flow.email_code = Some(crate::domain::mail::AddressCheck::new(&user.id, &address, &code, now));
        RESETS.put(self, session_key(token), &user.id, &flow, flow.expires)?;
        let minutes = crate::domain::mail::ADDRESS_CODE_LIFETIME.whole_minutes();
        self.enqueue_mail(&address, &crate::domain::mail::Notice::ResetCode { code, minutes }, now)?;
        Ok(status(&flow, Some(&user), now))
    }

    /// Proves the mailed code (the account throttle counts wrong ones).
    pub async fn reset_prove_email_code(
        &self,
        ip: IpAddr,
        token: &str,
        client: &ClientInfo,
        code: &str,
    ) -> Result<ResetStatus, ServiceError> {
        let (mut flow, user) = self.reset_of(token)?;
        let now = self.clock.now();
        if let Err(wait) = self.ip_limiter.check(ip, now) {
            return Err(ServiceError::Throttled(wait));
        }
        let Some(mut check) = flow.email_code.take().filter(|c| now < c.expires()) else {
            return Err(ServiceError::Conflict("No code is waiting: send a new one.".into()));
        };
        self.reserve_attempt(&user, now)?;
        let result = if code.len() <= 16 && check.matches(&user.id, code) && user.email.as_ref() == Some(&check.address)
        {
            self.attempt_succeeded(&user)?;
            self.reset_proved(token, flow, &user, ResetMethod::EmailCode, client)
        } else {
            let _ = self.ip_limiter.hit(ip, now);
            check.tries_left = check.tries_left.saturating_sub(1);
            if check.tries_left > 0 {
                flow.email_code = Some(check);
            }
            RESETS.put(self, session_key(token), &user.id, &flow, flow.expires)?;
            let e = ServiceError::InvalidCode(if flow.email_code.is_some() {
                "That code is not right.".into()
            } else {
                "That code is not right, and it no longer works: send a new one.".into()
            });
            self.reset_failed(&user, client, &e)?;
            Err(e)
        };
        self.store.durable().await?;
        result
    }

    /// Abandons the reset (the page's Cancel).
    pub fn cancel_reset(&self, token: &str) -> Result<(), ServiceError> {
        RESETS.discard(self, &session_key(token))?;
        Ok(())
    }
}
