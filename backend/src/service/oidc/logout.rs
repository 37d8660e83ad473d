//! RP-Initiated Logout 1.0: an application sends the browser to `end_session_endpoint` with the
//! ID token it holds (`id_token_hint`), Proofup ends the browser's session and what the
//! application held under it, and sends the browser back to a registered
//! `post_logout_redirect_uri` with `state`. Without a valid hint nothing is ended until the user
//! confirms on Proofup's own page (a cross-site request cannot sign anyone out).

use super::super::{Core, ServiceError};
use super::signin::SignedInBrowser;
use crate::domain::oidc::authorize;

/// What `id_token_hint` says, once its signature and issuer are checked (expiry is not: a hint
/// is usually an old token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Hint {
    pub sub: String,
    pub aud: String,
    #[serde(default)]
    pub sid: Option<String>,
}

/// What the end-session endpoint answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Logout {
    /// Signed out (or nothing to end): back to the application, or Proofup's signed-out page.
    Done { redirect: Option<String> },
    /// Ask first: "Sign out of Proofup?", the form posting `confirm` with these parameters.
    Confirm { application: Option<String> },
    /// The request cannot be honoured (a redirect URI not registered, a hint for another
    /// client): Proofup's own error page, never a redirect.
    Page(String),
}

impl Core {
    /// Checks an ID token Proofup issued: signed by one of its published keys (retired ones
    /// too), this issuer. `None` for anything else.
    pub fn verify_id_token_hint(&self, token: &str) -> Result<Option<Hint>, ServiceError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else { return Ok(None) };
        let keys = self.store.signing_keys()?;
        let Some(key) = keys.iter().find(|k| Some(&k.kid) == header.kid.as_ref()) else { return Ok(None) };
        let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(key.public_jwk.clone()) else {
            return Ok(None);
        };
        let Ok(decoding) = jsonwebtoken::DecodingKey::from_jwk(&jwk) else { return Ok(None) };
        // Only the algorithms Proofup signs with, and the one its key is for.
        if !matches!(header.alg, jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::ES256)
            || key.alg.as_str() != format!("{:?}", header.alg)
        {
            return Ok(None);
        }
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims = ["iss", "sub", "aud"].iter().map(|s| (*s).to_owned()).collect();
        v.set_issuer(&[self.issuer.as_str()]);
        match jsonwebtoken::decode::<Hint>(token, &decoding, &v) {
            Ok(d) => Ok(Some(d.claims)),
            Err(e) => {
                tracing::info!(error = %e, "id_token_hint refused");
                Ok(None)
            }
        }
    }

    /// `end_session_endpoint`. `confirmed`: the user pressed "Sign out" on Proofup's page (a
    /// same-site form post: the Lax cookie does not come with a cross-site POST).
    pub fn end_session(
        &self,
        params: &std::collections::HashMap<&str, &str>,
        browser: Option<SignedInBrowser<'_>>,
        confirmed: bool,
    ) -> Result<Logout, ServiceError> {
        let hint = match params.get("id_token_hint").filter(|h| !h.is_empty()) {
            Some(h) => match self.verify_id_token_hint(h)? {
                Some(hint) => Some(hint),
                None => return Ok(Logout::Page("The application sent an ID token Proofup did not issue.".into())),
            },
            None => None,
        };
        let client_id = match (params.get("client_id"), &hint) {
            (Some(c), Some(h)) if *c != h.aud => {
                return Ok(Logout::Page("The ID token was issued to another application.".into()))
            }
            (Some(c), _) => Some((*c).to_owned()),
            (None, Some(h)) => Some(h.aud.clone()),
            (None, None) => None,
        };
        let app = match &client_id {
            Some(id) => self.store.application(id)?,
            None => None,
        };
        let redirect = match params.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => match &app {
                Some(a) if a.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    let mut pairs = Vec::new();
                    if let Some(s) = params.get("state") {
                        pairs.push(("state", *s));
                    }
                    Some(authorize::with_query(uri, &pairs))
                }
                _ => {
                    return Ok(Logout::Page(
                        "The application asked to send you to an address it has not registered with Proofup for after signing out."
                            .into(),
                    ))
                }
            },
        };
        // Without a hint for this browser's user, only the user themself decides.
        let for_this_browser = match (&hint, &browser) {
            (Some(h), Some(b)) => h.sub == b.user.id,
            (Some(_), None) => true,
            (None, None) => true,
            (None, Some(_)) => false,
        };
        if !for_this_browser && !confirmed {
            return Ok(Logout::Confirm { application: app.map(|a| a.name) });
        }
        if let Some(h) = &hint {
            // What the application held under the session its token came from.
            if let Some(sid) = &h.sid {
                self.store.end_user_grants(&h.sub, Some(sid))?;
            }
        }
        if let Some(b) = browser.filter(|b| confirmed || hint.as_ref().is_some_and(|h| h.sub == b.user.id)) {
            self.store.end_user_grants(&b.user.id, Some(&super::signin::sid(&b.key)))?;
            self.store.delete_session(&b.key)?;
        }
        self.store.flush()?;
        Ok(Logout::Done { redirect })
    }
}
