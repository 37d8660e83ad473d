//! Use cases small enough to be one method of [`Core`] each (reads the API answers with, the
//! Overview, unlocking a sign-in), so handlers call the service and never the store port.

use proofup_shared::api::{AuditEntry, Me, Overview, Page, SignInLogEntry, StoreCounts, UserView};
use proofup_shared::mfa::MethodView;
use proofup_shared::policy::PolicyVersion;

use super::{Core, Manager, Reader, ServiceError, Subject};
use crate::domain::model::{Group, User};
use crate::domain::records::page;
use crate::store::{AuditFilter, SignInFilter, UserFilter};

impl Core {
    /// A user by id, or `NotFound("The user")`.
    pub fn user(&self, id: &str) -> Result<User, ServiceError> {
        self.store.user(id)?.ok_or(ServiceError::NotFound("The user"))
    }

    /// A user as the API shows them, with how many methods they have.
    pub fn user_view(&self, user: &User) -> Result<UserView, ServiceError> {
        let mut v = user.view();
        v.methods = self.store.methods(&user.id)?.len() as u32;
        Ok(v)
    }

    pub fn list_users(
        &self,
        _: &Reader<'_>,
        filter: &UserFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, ServiceError> {
        Ok(self.store.list_users(filter, after, limit)?)
    }

    pub fn list_groups(
        &self,
        _: &Reader<'_>,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Group>, ServiceError> {
        Ok(self.store.list_groups(prefix, after, limit)?)
    }

    /// A user's methods, never their secrets.
    pub fn methods_of(&self, subject: &Subject<'_>) -> Result<Vec<MethodView>, ServiceError> {
        self.user(subject.user_id())?;
        Ok(self.store.methods(subject.user_id())?.iter().map(|m| m.view()).collect())
    }

    pub fn search_audit(
        &self,
        _: &Reader<'_>,
        filter: &AuditFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AuditEntry>, ServiceError> {
        Ok(page(self.store.search_audit(filter, after, limit)?))
    }

    pub fn search_sign_ins(
        &self,
        _: &Reader<'_>,
        filter: &SignInFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<SignInLogEntry>, ServiceError> {
        Ok(page(self.store.search_sign_ins(filter, after, limit)?))
    }

    pub fn setup_done(&self) -> Result<bool, ServiceError> {
        Ok(self.store.setup_done()?)
    }

    pub fn policy(&self) -> Result<PolicyVersion, ServiceError> {
        Ok(self.store.policy()?.into())
    }

    pub fn policy_versions(&self, _: &Reader<'_>, limit: usize) -> Result<Vec<PolicyVersion>, ServiceError> {
        Ok(self.store.policy_versions(limit)?.into_iter().map(Into::into).collect())
    }

    /// The store answers (readiness).
    pub fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping()?)
    }

    /// The Overview: counts, the saved policy's reach, open alerts, the webhook's state.
    pub fn overview(&self, _: &Reader<'_>, me: Me) -> Result<Overview, ServiceError> {
        let s = self.store.as_ref();
        let record = s.policy()?;
        let policy = record.policy.clone();
        let registration = self.impact(&policy, self.clock.now())?;
        let risk = self.risk_overview(&record)?;
        Ok(Overview {
            risk,
            me,
            version: env!("CARGO_PKG_VERSION").into(),
            counts: StoreCounts {
                users: s.count_users()?,
                active_sessions: s.count_sessions()?,
                audit_entries: s.count_audit()?,
                sign_in_entries: s.count_sign_ins()?,
            },
            enforcement: policy.enforcement,
            emergency_accounts: registration.emergency_accounts,
            registration,
            alerts: s.open_alerts(50)?.into_iter().map(Into::into).collect(),
            webhook: self.webhook_backlog()?,
            mail: self.mail_backlog()?,
            registered_at_interrupt: s
                .search_audit(
                    &crate::store::AuditFilter {
                        from: Some(self.clock.now() - time::Duration::days(30)),
                        action: Some(super::mfa::AT_INTERRUPT.to_owned()),
                        ..Default::default()
                    },
                    None,
                    10,
                )?
                .items
                .into_iter()
                .map(Into::into)
                .collect(),
        })
    }

    /// Clears a user's failed sign-in count (the unlock path after 100 failures), audited.
    pub fn unlock_sign_in(&self, by: &Manager<'_>, id: &str) -> Result<(), ServiceError> {
        let s = self.store.as_ref();
        let target = self.user(id)?;
        if !crate::domain::roles::may_act_on_security(by.actor().user.role, target.role) {
            return Err(ServiceError::Forbidden("Your role cannot unlock this user's sign-in.".into()));
        }
        let before = s.throttle(&target.username)?.consecutive_failures;
        let entry = super::audit(
            self.clock.now(),
            Some(by.actor().user),
            "user.sign_in_unlocked",
            Some(&target),
            vec![super::change("failed_sign_ins", Some(&before.to_string()), Some("0"))],
            by.actor().client,
        );
        s.clear_throttle(&target.username, entry)?;
        // And the count of failures from the user's own browsers and networks.
        s.attempt_succeeded(&crate::domain::throttle::familiar_key(&target.username))?;
        Ok(())
    }

    /// Waits until every write so far is durable.
    pub async fn durable(&self) -> Result<(), ServiceError> {
        Ok(self.store.durable().await?)
    }
}
