//! Directory users: create (with a temporary access pass), update, disable, reset, delete, set password.

use super::Core;
use proofup_shared::api::{CreateUserRequest, Role, SetPasswordRequest, TemporaryAccessPass, UpdateUserRequest};
use proofup_shared::validation::{validate_display_name, validate_email, validate_username, Problems};
use proofup_shared::FieldError;
use time::Duration;

use super::{audit, change, Actor, Manager, ServiceError};
use crate::domain::login::Progress;
use crate::domain::model::{ClientInfo, User};
use crate::domain::roles::{may_assign_role, may_manage_user, may_set_emergency_access};
use crate::domain::tap::{self, TapRecord};
use crate::domain::throttle::ThrottleDecision;

fn forbid(m: &str) -> ServiceError {
    ServiceError::Forbidden(m.into())
}

/// A new temporary access pass for `target` and its audit entry; the caller stores both in the
/// same transaction as the change it belongs to.
fn new_pass(
    now: time::OffsetDateTime,
    actor: &Actor<'_>,
    target: &User,
    ttl: Duration,
) -> (TapRecord, crate::store::AuditDraft, TemporaryAccessPass) {
    let code = tap::generate();
    let rec = TapRecord::new(&code, now, ttl);
    let expires = rec.expires_at;
    let entry = audit(
        now,
        Some(actor.user),
        "user.temporary_access_pass_issued",
        Some(target),
        vec![change("temporary_access_pass_expires", None, Some(&proofup_shared::validation::utc_text(expires)))],
        actor.client,
    );
    (rec, entry, TemporaryAccessPass { code, mailed_to: None, expires_at: expires })
}

impl Core {
    /// Refuses a change that would leave no enabled Global administrator.
    pub(super) fn keep_a_global_admin(&self, before: &User, after: Option<&User>) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let was = before.enabled && before.role == Role::GlobalAdministrator;
        let is = after.is_some_and(|u| u.enabled && u.role == Role::GlobalAdministrator);
        if was && !is && s.count_enabled_global_admins()? <= 1 {
            return Err(ServiceError::Conflict(
                "This is the last enabled Global administrator: make another user Global administrator first.".into(),
            ));
        }
        Ok(())
    }
}

impl Core {
    /// Sets the signed-in user's own password. A session from a temporary access pass
    /// needs no current password; a full session does. Returns the new session.
    /// Sets the signed-in user's own password: in a complete session after checking the current
    /// one; in a sign-in begun with a temporary access pass, as its step. Every session and sign-in
    /// of the user ends (this one too); the caller writes what continues. Returns the user.
    pub(crate) async fn set_own_password(
        &self,
        user: &User,
        progress: &Progress,
        client: &ClientInfo,
        req: SetPasswordRequest,
    ) -> Result<User, ServiceError> {
        let (s, clock, hasher) = (self.store.as_ref(), self.clock.as_ref(), &self.hasher);
        match progress {
            Progress::Complete(_) => {
                // The current-password check is a verifier: it shares the account's sign-in throttle,
                // and the attempt is reserved before the hash so that concurrent guesses count one each.
                match s.reserve_attempt(&user.username, clock.now())? {
                    ThrottleDecision::Allow => {}
                    ThrottleDecision::Wait(wait) => return Err(ServiceError::Throttled(wait)),
                    ThrottleDecision::Locked => return Err(ServiceError::Locked),
                }
                let current = req.current_password.clone().unwrap_or_default();
                let phc = user.has_password().then(|| user.password_hash.clone());
                if !hasher.verify(current, phc).await {
                    return Err(ServiceError::Invalid(vec![FieldError {
                        field: "current_password".into(),
                        message: "Your current password is not right.".into(),
                    }]));
                }
                s.attempt_succeeded(&user.username)?;
            }
            // Signed in with a temporary access pass, or a risky user after a second factor:
            // choosing a password is this step's purpose (the access decision says so).
            Progress::Signing(f)
                if self.decide_for_flow(f, user)?.decision.next == crate::domain::access::Next::SetPassword => {}
            // Only the password is proven so far: whoever knows it must not be able to replace it.
            Progress::Signing(_) => return Err(ServiceError::FinishSignIn(self.waiting(progress, user)?)),
        }
        self.replace_password(user, req.new_password, client, "user.password_set").await
    }

    /// Stores `new_password` (checked against the rules) as the user's, audited as `action`, and
    /// ends every session, sign-in in progress and grant of theirs. Returns the user as stored.
    pub(super) async fn replace_password(
        &self,
        user: &User,
        new_password: String,
        client: &ClientInfo,
        action: &str,
    ) -> Result<User, ServiceError> {
        let (s, clock, hasher, rules) = (self.store.as_ref(), self.clock.as_ref(), &self.hasher, &self.rules);
        if let Err(message) = rules.check(&new_password, &user.username) {
            return Err(ServiceError::Invalid(vec![FieldError { field: "new_password".into(), message }]));
        }
        if self.breached(&new_password) {
            return Err(ServiceError::Invalid(vec![FieldError {
                field: "new_password".into(),
                message: "This password appears in a list of breached passwords. Choose another one.".into(),
            }]));
        }
        let hash = hasher.hash(new_password).await.map_err(|e| ServiceError::Hash(e.to_string()))?;
        let now = clock.now();
        let mut updated = s.user(&user.id)?.ok_or(ServiceError::NotFound("The user"))?;
        updated.password_hash = hash;
        updated.updated_at = now;
        let entry =
            audit(now, Some(user), action, Some(user), vec![change("password", None, Some("(changed)"))], client);
        // Every session and sign-in of the user ends, this one included (the caller continues it
        // under a new id): whoever knew the old password is signed out everywhere (SES-08). They end before
        // the new password is stored: both engines keep writes in order, so a crash between the two
        // leaves the old password with everyone signed out (safe to repeat), never the new password
        // with the old sessions alive.
        s.delete_user_sessions(&user.id)?;
        s.update_user(&updated, entry)?;
        // A first password (after a temporary access pass) is no news; a changed one is.
        let change = match action {
            "user.password_reset" => Some(crate::domain::mail::SecurityChange::PasswordReset),
            _ if user.has_password() => Some(crate::domain::mail::SecurityChange::PasswordChanged),
            _ => None,
        };
        if let Some(c) = change {
            self.notify_security(&updated, c, client, now)?;
        }
        Ok(updated)
    }

    pub fn create_user(
        &self,
        by: &Manager<'_>,
        req: CreateUserRequest,
        pass_ttl: Duration,
    ) -> Result<(User, TemporaryAccessPass), ServiceError> {
        let s = self.store.as_ref();
        if !may_assign_role(by.actor().user.role, req.role) {
            return Err(forbid("Your role cannot create a user with this role."));
        }
        if req.emergency_access && !may_set_emergency_access(by.actor().user.role) {
            return Err(forbid("Only a Global administrator marks emergency-access accounts."));
        }
        let mut p = Problems::default();
        let username = p.check("username", validate_username(&req.username));
        let display_name = p.check("display_name", validate_display_name(&req.display_name));
        let email = p.check("email", validate_email(req.email.as_deref().unwrap_or("")));
        let (Some(username), Some(display_name), Some(email)) = (username, display_name, email) else {
            return Err(ServiceError::Invalid(p.0));
        };
        if req.send_pass_by_mail {
            if email.is_none() {
                return Err(ServiceError::Invalid(vec![FieldError {
                    field: "email".into(),
                    message: "Enter the address to mail the pass to.".into(),
                }]));
            }
            if !self.mail_enabled() {
                return Err(ServiceError::Conflict(
                    "This server sends no mail: give the user the pass yourself.".into(),
                ));
            }
        }
        let now = self.clock.now();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            display_name,
            email,
            email_verified: false,
            admin_notices: false,
            role: req.role,
            enabled: true,
            emergency_access: req.emergency_access,
            password_hash: String::new(),
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        };
        let entry = audit(
            now,
            Some(by.actor().user),
            "user.created",
            Some(&user),
            vec![
                change("username", None, Some(&user.username)),
                change("display_name", None, Some(&user.display_name)),
                change("email", None, user.email.as_deref()),
                change("role", None, Some(user.role.label())),
                change("emergency_access", None, Some(&user.emergency_access.to_string())),
            ],
            by.actor().client,
        );
        // One transaction: a user nobody can sign in as (no password, no pass) is never stored.
        let (rec, mut pass_entry, mut pass) = new_pass(now, by.actor(), &user, pass_ttl);
        let mail_to = user.email.clone().filter(|_| req.send_pass_by_mail);
        if let Some(to) = &mail_to {
            pass_entry.0.changes.push(change("sent_to", None, Some(to)));
        }
        s.create_user_with_pass(&user, &rec, [entry, pass_entry])?;
        if let Some(to) = mail_to {
            let expires = pass
                .expires_at
                .format(time::macros::format_description!(
                    "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
                ))
                .unwrap_or_default();
            let code = std::mem::take(&mut pass.code);
            self.enqueue_mail(
                &to,
                &crate::domain::mail::Notice::Invitation { username: user.username.clone(), code, expires },
                now,
            )?;
            pass.mailed_to = Some(to);
        }
        Ok((user, pass))
    }

    pub fn update_user(&self, by: &Manager<'_>, id: &str, req: UpdateUserRequest) -> Result<User, ServiceError> {
        let s = self.store.as_ref();
        let before = s.user(id)?.ok_or(ServiceError::NotFound("The user"))?;
        if !may_manage_user(by.actor().user.role, before.role) {
            return Err(forbid("Your role cannot change this user."));
        }
        let mut after = before.clone();
        let mut p = Problems::default();
        if let Some(d) = &req.display_name {
            if let Some(d) = p.check("display_name", validate_display_name(d)) {
                after.display_name = d;
            }
        }
        if let Some(e) = &req.email {
            if let Some(e) = p.check("email", validate_email(e)) {
                // A new address is unproved until its user confirms a code mailed to it.
                if e != after.email {
                    after.email_verified = false;
                }
                after.email = e;
            }
        }
        if !p.is_empty() {
            return Err(ServiceError::Invalid(p.0));
        }
        if let Some(role) = req.role {
            if role != before.role && !may_assign_role(by.actor().user.role, role) {
                return Err(forbid("Your role cannot give this role."));
            }
            after.role = role;
        }
        if let Some(flag) = req.emergency_access {
            if flag != before.emergency_access && !may_set_emergency_access(by.actor().user.role) {
                return Err(forbid("Only a Global administrator marks emergency-access accounts."));
            }
            after.emergency_access = flag;
        }
        if let Some(enabled) = req.enabled {
            if !enabled && before.id == by.actor().user.id {
                return Err(forbid("You cannot disable your own account."));
            }
            after.enabled = enabled;
        }
        self.keep_a_global_admin(&before, Some(&after))?;
        let mut changes = Vec::new();
        let mut diff = |f: &str, a: String, b: String| {
            if a != b {
                changes.push(change(f, Some(&a), Some(&b)));
            }
        };
        diff("display_name", before.display_name.clone(), after.display_name.clone());
        diff("email", before.email.clone().unwrap_or_default(), after.email.clone().unwrap_or_default());
        diff("role", before.role.label().into(), after.role.label().into());
        diff("enabled", before.enabled.to_string(), after.enabled.to_string());
        diff("emergency_access", before.emergency_access.to_string(), after.emergency_access.to_string());
        if changes.is_empty() {
            return Ok(before);
        }
        let now = self.clock.now();
        after.updated_at = now;
        let action = match (before.enabled, after.enabled) {
            (true, false) => "user.disabled",
            (false, true) => "user.enabled",
            _ => "user.updated",
        };
        // Disabling ends the sessions first (the same order as a new password: a crash between
        // the two leaves an enabled user signed out, never a disabled one still signed in).
        if !after.enabled {
            s.delete_user_sessions(&after.id)?;
        }
        s.update_user(&after, audit(now, Some(by.actor().user), action, Some(&after), changes, by.actor().client))?;
        Ok(after)
    }

    pub fn delete_user(&self, by: &Manager<'_>, id: &str) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let before = s.user(id)?.ok_or(ServiceError::NotFound("The user"))?;
        if !may_manage_user(by.actor().user.role, before.role) {
            return Err(forbid("Your role cannot delete this user."));
        }
        if before.id == by.actor().user.id {
            return Err(forbid("You cannot delete your own account."));
        }
        self.keep_a_global_admin(&before, None)?;
        let entry = audit(
            self.clock.now(),
            Some(by.actor().user),
            "user.deleted",
            Some(&before),
            vec![change("username", Some(&before.username), None), change("role", Some(before.role.label()), None)],
            by.actor().client,
        );
        // Under the membership lock, so the index forgets the user in step with the store.
        let mut index = self.membership.write().map_err(super::index_poisoned)?;
        s.delete_user(id, entry)?;
        index.remove_user_everywhere(id);
        Ok(())
    }

    /// "Reset sign-in": the old password stops working, sessions end, a new pass is issued.
    pub fn reset_sign_in(
        &self,
        by: &Manager<'_>,
        id: &str,
        pass_ttl: Duration,
    ) -> Result<TemporaryAccessPass, ServiceError> {
        let s = self.store.as_ref();
        let mut user = s.user(id)?.ok_or(ServiceError::NotFound("The user"))?;
        if !may_manage_user(by.actor().user.role, user.role) {
            return Err(forbid("Your role cannot reset this user."));
        }
        if user.id == by.actor().user.id {
            return Err(forbid("You cannot reset your own sign-in; change your password instead."));
        }
        let now = self.clock.now();
        let had_password = user.has_password();
        user.password_hash.clear();
        user.updated_at = now;
        let entry = audit(
            now,
            Some(by.actor().user),
            "user.sign_in_reset",
            Some(&user),
            vec![change("has_password", Some(&had_password.to_string()), Some("false"))],
            by.actor().client,
        );
        // One transaction: the password cleared, every session and grant ended and the new pass
        // issued together (never a cleared password with no pass, or sessions that outlive it).
        let (rec, pass_entry, pass) = new_pass(now, by.actor(), &user, pass_ttl);
        s.reset_sign_in(&user, &rec, [entry, pass_entry])?;
        Ok(pass)
    }
}
