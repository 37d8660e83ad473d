//! Signing in to an application: the authorization request becomes a flow bound to the
//! browser; the user signs in with the portal's own steps (password, second factor, the MFA
//! registration interrupt, exactly as for the portal); then the flow resumes and the
//! application gets a one-use code by redirect.

use super::super::{new_token, session_key, Core, ServiceError};
use crate::domain::model::{Session, SessionStage, User};
use crate::domain::oidc::authorize::{self, AuthRequest, AuthorizeError};
use crate::domain::oidc::grant::{CodeGrant, Flow, CODE_LIFETIME, FLOW_LIFETIME};

/// What `/oauth2/authorize` answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorize {
    /// Sign in first: the portal's sign-in, which resumes the flow when done. `browser` is the
    /// flow cookie to set when the browser had none.
    SignIn { flow: String, browser: Option<String> },
    /// Back to the application (an error it may show, or a code).
    Redirect(String),
    /// Proofup's own error page: the request cannot be trusted enough to redirect.
    Page(String),
}

/// The `iss` every authorization response carries (RFC 9207).
fn redirect_error(issuer: &str, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> String {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", issuer));
    authorize::with_query(redirect_uri, &pairs)
}

/// The portal path that signs in and then resumes `flow`.
pub fn sign_in_path(flow: &str) -> String {
    let resume = format!("/oauth2/authorize/resume?flow={flow}");
    format!("/sign-in?next={}", authorize::encode(&resume))
}

/// A session's `sid` claim: stable for the session, not its cookie.
fn sid(key: &[u8; 32]) -> String {
    use base64::Engine as _;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let h = crate::domain::setup::sha256(&format!("sid:{hex}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..16])
}

impl Core {
    /// Whether `user` may sign in to `app`: always, unless assignment is required; then when
    /// assigned directly or through a group (nested groups count).
    pub fn is_assigned(&self, app: &crate::domain::oidc::Application, user: &User) -> Result<bool, ServiceError> {
        if !app.assignment_required || app.assigned_users.contains(&user.id) {
            return Ok(true);
        }
        let groups = self.membership.read().map_err(super::super::index_poisoned)?.groups_of(&user.id);
        Ok(groups.iter().any(|m| app.assigned_groups.contains(&m.group)))
    }

    /// Checks an authorization request (query or form pairs) and starts its flow.
    pub fn authorize(&self, pairs: &[(String, String)], browser: Option<&str>) -> Result<Authorize, ServiceError> {
        let params = match authorize::params(pairs) {
            Ok(p) => p,
            Err(m) => return Ok(Authorize::Page(m)),
        };
        let app = match params.get("client_id") {
            Some(id) => self.store.application(id)?,
            None => None,
        };
        let req = match authorize::check(&params, app.as_ref()) {
            Ok(r) => r,
            Err(AuthorizeError::Page(m)) => return Ok(Authorize::Page(m)),
            Err(AuthorizeError::Redirect { redirect_uri, state, error, description }) => {
                return Ok(Authorize::Redirect(redirect_error(
                    &self.issuer,
                    &redirect_uri,
                    state.as_deref(),
                    error,
                    &description,
                )))
            }
        };
        if req.no_prompt {
            // No UI may be shown, and this request carries no session Proofup may read.
            return Ok(Authorize::Redirect(redirect_error(
                &self.issuer,
                &req.redirect_uri,
                req.state.as_deref(),
                "login_required",
                "Sign in to Proofup first.",
            )));
        }
        let (cookie, fresh) = match browser.filter(|b| b.len() >= 32) {
            Some(b) => (b.to_owned(), None),
            None => {
                let b = new_token();
                (b.clone(), Some(b))
            }
        };
        let now = self.clock.now();
        let flow = Flow {
            id: new_token(),
            request: req,
            browser: session_key(&cookie),
            created_at: now,
            expires_at: now + FLOW_LIFETIME,
        };
        self.store.put_flow(&flow)?;
        Ok(Authorize::SignIn { flow: flow.id, browser: fresh })
    }

    /// The application a flow signs in to, for the sign-in page ("Sign in to Grafana").
    /// `None` when the flow is gone, expired, or belongs to another browser.
    pub fn flow_application(&self, flow: &str, browser: Option<&str>) -> Result<Option<String>, ServiceError> {
        let Some(f) = self.live_flow(flow, browser)? else { return Ok(None) };
        Ok(self.store.application(&f.request.client_id)?.map(|a| a.name))
    }

    fn live_flow(&self, flow: &str, browser: Option<&str>) -> Result<Option<Flow>, ServiceError> {
        let Some(f) = self.store.flow(flow)? else { return Ok(None) };
        let mine = browser.is_some_and(|b| session_key(b) == f.browser);
        Ok((mine && self.clock.now() < f.expires_at).then_some(f))
    }

    /// After the portal's sign-in: the flow's code, by redirect to the application. The
    /// session must have finished signing in after the flow began (so the registration
    /// interrupt ran inside this sign-in); otherwise the user signs in again.
    pub async fn resume(
        &self,
        flow: &str,
        browser: Option<&str>,
        session: Option<(&Session, &User, [u8; 32])>,
    ) -> Result<Authorize, ServiceError> {
        let Some(f) = self.live_flow(flow, browser)? else {
            return Ok(Authorize::Page(
                "This sign-in is no longer waiting (it took more than 15 minutes, or was started in another browser). Go back to the application and sign in again.".into(),
            ));
        };
        let Some((session, user, key)) =
            session.filter(|(s, _, _)| s.stage == SessionStage::Full && s.created_at >= f.created_at)
        else {
            return Ok(Authorize::SignIn { flow: f.id, browser: None });
        };
        let app = self.store.application(&f.request.client_id)?;
        let Some(app) = app.filter(|a| a.enabled) else {
            return Ok(Authorize::Page("This application is no longer available in Proofup.".into()));
        };
        let req: &AuthRequest = &f.request;
        let deny = |why: &str| {
            Ok(Authorize::Redirect(redirect_error(
                &self.issuer,
                &req.redirect_uri,
                req.state.as_deref(),
                "access_denied",
                why,
            )))
        };
        if !user.enabled {
            return deny("The account is disabled.");
        }
        if !self.is_assigned(&app, user)? {
            return deny("You are not assigned to this application. Ask your administrator for access.");
        }
        let amr = if session.amr.is_empty() { vec!["pwd".to_owned()] } else { session.amr.clone() };
        if app.require_mfa && !amr.iter().any(|m| m == "mfa") {
            // A user with a method proves it at every sign-in; one without must register first
            // (from My security info) before this application lets them in.
            return deny(
                "This application requires MFA. Register a sign-in method in My security info, then sign in again.",
            );
        }
        let code = new_token();
        let grant = CodeGrant {
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            user_id: user.id.clone(),
            scopes: req.scopes.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: session.created_at,
            amr,
            sid: sid(&key),
            expires_at: self.clock.now() + CODE_LIFETIME,
            spent: false,
            issued: Vec::new(),
        };
        self.store.put_code(&session_key(&code), &grant)?;
        self.store.delete_flow(&f.id)?;
        self.store.durable().await?;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = req.state.as_deref() {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer.as_str()));
        Ok(Authorize::Redirect(authorize::with_query(&req.redirect_uri, &pairs)))
    }
}
