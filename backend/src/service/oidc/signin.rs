//! Signing in to an application: the authorization request becomes a flow bound to the
//! browser; the user signs in with the portal's own steps (password, second factor, the MFA
//! registration interrupt, exactly as for the portal); then the flow resumes and the
//! application gets a one-use code by redirect.

use super::super::{new_token, session_key, Core, ServiceError};
use crate::domain::access::{Again, Channel, Denied, Factors, Moment, Next};
use crate::domain::model::{ClientInfo, Session, User};
use crate::domain::oidc::authorize::{self, AuthRequest, AuthorizeError};
use crate::domain::oidc::grant::{CodeGrant, Flow, CODE_LIFETIME, FLOW_LIFETIME};
use proofup_shared::api::PolicyOutcome;

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
    /// This browser's sign-in waited too long: offer to start the same request over.
    Expired { restart: String },
}

/// What the sign-in page learns about a flow.
#[derive(Debug, PartialEq, Eq)]
pub enum FlowView {
    /// Waiting: the application's name and the username it suggested.
    Live { application: String, login_hint: Option<String> },
    /// This browser's, but it waited too long: the request to start over with.
    Expired { application: String, restart: String },
    /// Not this browser's, or long gone.
    Gone,
}

/// A flow as this browser sees it.
enum MyFlow {
    Live(Flow),
    Expired(Flow),
    Gone,
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

/// The portal's sign-in for `flow`. Only the flow's id travels: where to go afterwards is the
/// server's (`Me::continue_to`), never a URL the browser carries.
pub fn sign_in_path(flow: &str) -> String {
    format!("/sign-in?flow={}", authorize::encode(flow))
}

/// A session's `sid` claim: stable for the session, not its cookie.
pub(crate) fn sid(key: &[u8; 32]) -> String {
    use base64::Engine as _;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let h = crate::domain::setup::sha256(&format!("sid:{hex}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..16])
}

impl Core {
    /// Checks an authorization request (query or form pairs). With a complete session in this
    /// browser (the SSO cookie) that the request may reuse, the code goes back at once; else a
    /// flow starts and the user signs in (never for `prompt=none`, which answers
    /// `login_required` or `interaction_required` instead).
    pub async fn authorize(
        &self,
        pairs: &[(String, String)],
        browser: Option<&str>,
        sso: Option<SignedInBrowser<'_>>,
        client: &ClientInfo,
    ) -> Result<Authorize, ServiceError> {
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
        let Some(app) = app else { return Ok(Authorize::Page("This application is not registered.".into())) };
        let now = self.clock.now();
        let back = |error: &str, description: &str| {
            Ok(Authorize::Redirect(redirect_error(
                &self.issuer,
                &req.redirect_uri,
                req.state.as_deref(),
                error,
                description,
            )))
        };
        // An id_token_hint naming someone else: this browser's session is not the one asked for.
        let hinted = match params.get("id_token_hint").filter(|h| !h.is_empty()) {
            Some(h) => self.verify_id_token_hint(h)?.map(|h| h.sub),
            None => None,
        };
        let sso = sso.filter(|b| hinted.as_ref().is_none_or(|sub| *sub == b.user.id));
        if let Some(b) = sso.filter(|b| b.user.enabled) {
            let recent = req.max_age.is_none_or(|m| (now - b.session.created_at).whole_seconds() <= m as i64);
            let channel = Channel::Application(self.app_facts(&app, &req, b.user, req.force_login || !recent)?);
            // Only a second factor this session proved counts here (a method registered in it long ago does not).
            let proved = Factors::of_session(b.session, now);
            // Reusing the session from an anonymizer, or from elsewhere than where it signed in.
            let assessed = self.assess_session_use(&b.session.ip, &client.ip);
            let decided = self.decide_access(super::super::access::AccessAsk {
                user: b.user,
                proved,
                moment: Moment::ExistingSession,
                channel,
                ip: &client.ip,
                risk_level: assessed.as_ref().and_then(|a| a.context.level),
                known: None,
            })?;
            // Detections are kept when the risk policy sent the user to sign in again (a session
            // that proved a second factor answers them, and each single sign-on is not a detection).
            if let (Some(a), Next::SignInAgain(Again::Risky)) = (&assessed, &decided.decision.next) {
                self.record_detections(b.user, a, client, Some(&app.name))?;
            }
            let outcomes = decided.decision.outcomes;
            match decided.decision.next {
                Next::Allow => {
                    let how = "Single sign-on with the existing session";
                    return self.issue_code(&app, &req, b, Ok(outcomes), how, client).await;
                }
                Next::Deny(why) => return self.issue_code(&app, &req, b, Err(why), "", client).await,
                // prompt=login or max_age: a new sign-in (never for prompt=none: login_required below).
                Next::SignInAgain(Again::Requested) => {}
                Next::SignInAgain(why) if req.no_prompt => {
                    let why = why.describe();
                    self.log_app(b.user, &app, false, &format!("prompt=none: {why}"), client, true)?;
                    self.store.durable().await?;
                    return back("interaction_required", &why);
                }
                // A new sign-in, where the interrupt (or the second factor) runs.
                _ => {}
            }
        }
        if req.no_prompt {
            // No UI may be shown, and there is no session this request may reuse.
            return back("login_required", "Sign in to Proofup first.");
        }
        let (cookie, fresh) = match browser.filter(|b| b.len() >= 32) {
            Some(b) => (b.to_owned(), None),
            None => {
                let b = new_token();
                (b.clone(), Some(b))
            }
        };
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

    /// The application a flow signs in to, for the sign-in page ("Sign in to Grafana"), and the
    /// username the application suggested (`login_hint`); for an expired one of this browser,
    /// the request to start over with.
    pub fn flow_application(&self, flow: &str, browser: Option<&str>) -> Result<FlowView, ServiceError> {
        let (f, live) = match self.my_flow(flow, browser)? {
            MyFlow::Live(f) => (f, true),
            MyFlow::Expired(f) => (f, false),
            MyFlow::Gone => return Ok(FlowView::Gone),
        };
        let Some(app) = self.store.application(&f.request.client_id)?.filter(|a| a.enabled) else {
            return Ok(FlowView::Gone);
        };
        Ok(if live {
            FlowView::Live {
                application: app.name,
                login_hint: f.request.login_hint.clone().filter(|h| h.len() <= 128),
            }
        } else {
            FlowView::Expired { application: app.name, restart: f.request.restart_path() }
        })
    }

    fn my_flow(&self, flow: &str, browser: Option<&str>) -> Result<MyFlow, ServiceError> {
        let Some(f) = self.store.flow(flow)? else { return Ok(MyFlow::Gone) };
        if browser.is_none_or(|b| session_key(b) != f.browser) {
            return Ok(MyFlow::Gone);
        }
        Ok(if self.clock.now() < f.expires_at { MyFlow::Live(f) } else { MyFlow::Expired(f) })
    }

    /// After the portal's sign-in: the flow's code, by redirect to the application. The
    /// session must have finished signing in after the flow began (so the registration
    /// interrupt ran inside this sign-in); otherwise the user signs in again.
    pub async fn resume(
        &self,
        flow: &str,
        browser: Option<&str>,
        session: Option<SignedInBrowser<'_>>,
        client: &ClientInfo,
    ) -> Result<Authorize, ServiceError> {
        let f = match self.my_flow(flow, browser)? {
            MyFlow::Live(f) => f,
            MyFlow::Expired(f) => return Ok(Authorize::Expired { restart: f.request.restart_path() }),
            MyFlow::Gone => {
                return Ok(Authorize::Page(
                    "This sign-in is no longer waiting (it was started in another browser, or long ago). Go back to the application and sign in again.".into(),
                ))
            }
        };
        let Some(b) = session.filter(|b| b.session.created_at >= f.created_at) else {
            return Ok(Authorize::SignIn { flow: f.id, browser: None });
        };
        let app = self.store.application(&f.request.client_id)?;
        let Some(app) = app.filter(|a| a.enabled) else {
            return Ok(Authorize::Page("This application is no longer available in Proofup.".into()));
        };
        // The steps ran inside this sign-in: what is left is entering the application. A method
        // registered since the flow began counts for an application that wants MFA.
        let channel = Channel::Application(self.app_facts(&app, &f.request, b.user, false)?);
        let proved = Factors::of_session(b.session, f.created_at);
        let decided = self.decide_access(super::super::access::AccessAsk {
            user: b.user,
            proved,
            moment: Moment::Completed,
            channel,
            ip: &client.ip,
            risk_level: None,
            known: None,
        })?;
        let verdict = match decided.decision.next {
            Next::Allow => Ok(decided.decision.outcomes),
            Next::Deny(why) => Err(why),
            // Something changed since the steps ran (the policy, the user's methods): sign in again.
            _ => return Ok(Authorize::SignIn { flow: f.id, browser: None }),
        };
        let out = self.issue_code(&app, &f.request, b, verdict, "Signed in", client).await?;
        self.store.delete_flow(&f.id)?;
        Ok(out)
    }

    /// The user declined (Cancel at the registration interrupt): the flow ends, and the
    /// application hears `access_denied` with its `state`, as from any refusal.
    pub async fn cancel(
        &self,
        flow: &str,
        browser: Option<&str>,
        user: Option<&User>,
        client: &ClientInfo,
    ) -> Result<Authorize, ServiceError> {
        let f = match self.my_flow(flow, browser)? {
            MyFlow::Live(f) | MyFlow::Expired(f) => f,
            MyFlow::Gone => {
                return Ok(Authorize::Page(
                    "This sign-in is no longer waiting. Go back to the application if you want to sign in.".into(),
                ))
            }
        };
        self.store.delete_flow(&f.id)?;
        if let (Some(u), Some(app)) = (user, self.store.application(&f.request.client_id)?) {
            self.log_app(u, &app, false, "Cancelled by the user at the registration interrupt", client, true)?;
        }
        self.store.durable().await?;
        Ok(Authorize::Redirect(redirect_error(
            &self.issuer,
            &f.request.redirect_uri,
            f.request.state.as_deref(),
            "access_denied",
            "The user cancelled the sign-in.",
        )))
    }

    /// The way to a code, once the access decision is made: a refusal goes back as
    /// `access_denied`, an allowance gets the code, by redirect; each in the sign-in log under
    /// the application, with the decision's outcomes.
    async fn issue_code(
        &self,
        app: &crate::domain::oidc::Application,
        req: &AuthRequest,
        b: SignedInBrowser<'_>,
        verdict: Result<Vec<PolicyOutcome>, Denied>,
        how: &str,
        client: &ClientInfo,
    ) -> Result<Authorize, ServiceError> {
        let (session, user) = (b.session, b.user);
        let outcomes = match verdict {
            Ok(outcomes) => outcomes,
            Err(why) => {
                let why = why.describe();
                self.log_app(user, app, false, &format!("Access denied: {why}"), client, true)?;
                self.store.durable().await?;
                return Ok(Authorize::Redirect(redirect_error(
                    &self.issuer,
                    &req.redirect_uri,
                    req.state.as_deref(),
                    "access_denied",
                    why,
                )));
            }
        };
        let amr = if session.amr.is_empty() { vec!["pwd".to_owned()] } else { session.amr.clone() };
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
            sid: sid(&b.key),
            expires_at: self.clock.now() + CODE_LIFETIME,
            spent: false,
            issued: Vec::new(),
        };
        self.store.put_code(&session_key(&code), &grant)?;
        self.log_app_with(user, app, client, AppLogLine { ok: true, how, outcomes, interactive: true })?;
        self.store.durable().await?;
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = req.state.as_deref() {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer.as_str()));
        Ok(Authorize::Redirect(authorize::with_query(&req.redirect_uri, &pairs)))
    }

    /// A sign-in log entry under the application's name.
    pub(crate) fn log_app(
        &self,
        user: &User,
        app: &crate::domain::oidc::Application,
        ok: bool,
        reason: &str,
        client: &ClientInfo,
        interactive: bool,
    ) -> Result<(), ServiceError> {
        self.log_app_with(user, app, client, AppLogLine { ok, how: reason, outcomes: Vec::new(), interactive })
    }

    /// A sign-in log entry under the application's name, with the access decision's outcomes
    /// (the reason is `how` followed by them in words).
    fn log_app_with(
        &self,
        user: &User,
        app: &crate::domain::oidc::Application,
        client: &ClientInfo,
        AppLogLine { ok, how, outcomes, interactive }: AppLogLine<'_>,
    ) -> Result<(), ServiceError> {
        use proofup_shared::api::{describe_outcomes, SignInResult};
        self.record_sign_in(crate::domain::records::SignInRecord {
            id: String::new(),
            at: self.clock.now(),
            username: user.username.clone(),
            user_id: Some(user.id.clone()),
            result: if ok { SignInResult::Success } else { SignInResult::Failure },
            reason: describe_outcomes(how, &outcomes),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            interactive,
            application: Some(app.name.clone()),
            count: 1,
            outcomes,
            place: None,
        })?;
        Ok(())
    }
}

/// What an application's sign-in log entry says.
struct AppLogLine<'a> {
    ok: bool,
    how: &'a str,
    outcomes: Vec<PolicyOutcome>,
    interactive: bool,
}

/// A browser's complete (or signing-in) session: the record, its user, its store key.
#[derive(Clone, Copy)]
pub struct SignedInBrowser<'a> {
    pub session: &'a Session,
    pub user: &'a User,
    pub key: [u8; 32],
}
