//! Registering, changing, rotating the secret of and deleting applications (OIDC clients).
//! Every change is audited in the same write.

use proofup_shared::apps::{
    validate_application, ApplicationRequest, ApplicationView, ClientKind, CreatedApplication, RotateSecretRequest,
    RotatedSecret,
};
use proofup_shared::directory::{DirectoryRef, MemberKind};
use proofup_shared::FieldError;
use time::Duration;

use super::super::{audit, change, new_token, Actor, Core, Manager, Reader, ServiceError};
use crate::domain::oidc::Application;
use crate::store::AuditDraft;

fn app_audit(
    actor: &Actor<'_>,
    now: time::OffsetDateTime,
    action: &str,
    app: &Application,
    changes: Vec<proofup_shared::api::FieldChange>,
) -> AuditDraft {
    let mut d = audit(now, Some(actor.user), action, None, changes, actor.client);
    d.0.target_id = Some(app.id.clone());
    d.0.target = format!("application {}", app.name);
    d
}

fn list(v: &[String]) -> String {
    v.join(" ")
}

/// What changed between two versions of an application, for the audit log (never a secret).
fn changes(before: &Application, after: &Application) -> Vec<proofup_shared::api::FieldChange> {
    let mut out = Vec::new();
    let mut diff = |field: &str, a: String, b: String| {
        if a != b {
            out.push(change(field, Some(&a), Some(&b)));
        }
    };
    diff("name", before.name.clone(), after.name.clone());
    diff("redirect_uris", list(&before.redirect_uris), list(&after.redirect_uris));
    diff("post_logout_redirect_uris", list(&before.post_logout_redirect_uris), list(&after.post_logout_redirect_uris));
    diff("scopes", list(&before.scopes), list(&after.scopes));
    diff("access_token_minutes", before.access_token_minutes.to_string(), after.access_token_minutes.to_string());
    diff("refresh_tokens", before.refresh_tokens.to_string(), after.refresh_tokens.to_string());
    diff("refresh_token_days", before.refresh_token_days.to_string(), after.refresh_token_days.to_string());
    diff("enabled", before.enabled.to_string(), after.enabled.to_string());
    diff("assignment_required", before.assignment_required.to_string(), after.assignment_required.to_string());
    diff("assigned_users", list(&before.assigned_users), list(&after.assigned_users));
    diff("assigned_groups", list(&before.assigned_groups), list(&after.assigned_groups));
    diff("require_mfa", before.require_mfa.to_string(), after.require_mfa.to_string());
    diff("service_access", before.service_access.to_string(), after.service_access.to_string());
    out
}

impl Core {
    /// Checks the request, and that every assigned user and group exists.
    fn check_application(&self, req: &ApplicationRequest) -> Result<(), ServiceError> {
        let mut fields = validate_application(req);
        for id in &req.assigned_users {
            if self.store.user(id)?.is_none() {
                fields.push(FieldError {
                    field: "assigned_users".into(),
                    message: format!("No user has the id {id:?}."),
                });
            }
        }
        for id in &req.assigned_groups {
            if self.store.group(id)?.is_none() {
                fields.push(FieldError {
                    field: "assigned_groups".into(),
                    message: format!("No group has the id {id:?}."),
                });
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(fields))
        }
    }

    /// The assigned users and groups by name (one that was deleted since is left out).
    fn assigned_refs(&self, app: &Application) -> Result<Vec<DirectoryRef>, ServiceError> {
        let mut out = Vec::new();
        for id in &app.assigned_groups {
            if let Some(g) = self.store.group(id)? {
                out.push(DirectoryRef { kind: MemberKind::Group, id: g.id, name: g.name, detail: g.description });
            }
        }
        for id in &app.assigned_users {
            if let Some(u) = self.store.user(id)? {
                out.push(DirectoryRef { kind: MemberKind::User, id: u.id, name: u.username, detail: u.display_name });
            }
        }
        Ok(out)
    }

    pub fn application_view(&self, app: &Application) -> Result<ApplicationView, ServiceError> {
        Ok(app.view(self.assigned_refs(app)?, self.clock.now()))
    }

    /// Every application, by name.
    pub fn list_applications(&self, _: &Reader<'_>) -> Result<Vec<ApplicationView>, ServiceError> {
        let mut apps = self.store.applications()?;
        apps.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
        apps.iter().map(|a| self.application_view(a)).collect()
    }

    pub fn get_application(&self, _: &Reader<'_>, id: &str) -> Result<ApplicationView, ServiceError> {
        let app = self.store.application(id)?.ok_or(ServiceError::NotFound("The application"))?;
        self.application_view(&app)
    }

    /// Registers an application; a confidential one gets a secret, returned this once.
    pub fn create_application(
        &self,
        by: &Manager<'_>,
        req: ApplicationRequest,
    ) -> Result<CreatedApplication, ServiceError> {
        self.check_application(&req)?;
        let now = self.clock.now();
        let secret = (req.kind == ClientKind::Confidential).then(new_token);
        let app = Application::new(uuid::Uuid::new_v4().to_string(), &req, secret.as_deref(), now);
        let mut fields =
            vec![change("name", None, Some(&app.name)), change("redirect_uris", None, Some(&list(&app.redirect_uris)))];
        fields.push(change("kind", None, Some(if app.kind == ClientKind::Public { "public" } else { "confidential" })));
        let entry = app_audit(by.actor(), now, "application.created", &app, fields);
        self.store.create_application(&app, entry)?;
        Ok(CreatedApplication { application: self.application_view(&app)?, client_secret: secret })
    }

    /// Replaces an application's settings (not its kind, not its secret).
    pub fn update_application(
        &self,
        by: &Manager<'_>,
        id: &str,
        req: ApplicationRequest,
    ) -> Result<ApplicationView, ServiceError> {
        let before = self.store.application(id)?.ok_or(ServiceError::NotFound("The application"))?;
        if req.kind != before.kind {
            return Err(ServiceError::Invalid(vec![FieldError {
                field: "kind".into(),
                message: "An application cannot change between public and confidential; register a new one.".into(),
            }]));
        }
        self.check_application(&req)?;
        let now = self.clock.now();
        let mut app = before.clone();
        app.apply(&req, now);
        let diff = changes(&before, &app);
        if !diff.is_empty() {
            let entry = app_audit(by.actor(), now, "application.updated", &app, diff);
            self.store.update_application(&app, entry)?;
        }
        self.application_view(&app)
    }

    /// A new secret for a confidential application; the old one keeps working for the overlap.
    pub fn rotate_application_secret(
        &self,
        by: &Manager<'_>,
        id: &str,
        req: RotateSecretRequest,
    ) -> Result<RotatedSecret, ServiceError> {
        if req.overlap_hours > 168 {
            return Err(ServiceError::Invalid(vec![FieldError {
                field: "overlap_hours".into(),
                message: "The old secret may keep working 0 to 168 hours (a week).".into(),
            }]));
        }
        let mut app = self.store.application(id)?.ok_or(ServiceError::NotFound("The application"))?;
        if app.kind == ClientKind::Public {
            return Err(ServiceError::Conflict("A public application has no secret to rotate.".into()));
        }
        let now = self.clock.now();
        let secret = new_token();
        app.rotate_secret(&secret, Duration::hours(req.overlap_hours.into()), now);
        let until = app.previous_valid_until.map(proofup_shared::validation::utc_text);
        let entry = app_audit(
            by.actor(),
            now,
            "application.secret_rotated",
            &app,
            vec![change("previous_secret_valid_until", None, until.as_deref())],
        );
        self.store.update_application(&app, entry)?;
        Ok(RotatedSecret { client_secret: secret, previous_valid_until: app.previous_valid_until })
    }

    pub fn delete_application(&self, by: &Manager<'_>, id: &str) -> Result<(), ServiceError> {
        let app = self.store.application(id)?.ok_or(ServiceError::NotFound("The application"))?;
        let entry = app_audit(
            by.actor(),
            self.clock.now(),
            "application.deleted",
            &app,
            vec![change("name", Some(&app.name), None)],
        );
        self.store.delete_application(id, entry)?;
        Ok(())
    }
}
