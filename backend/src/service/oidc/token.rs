//! The token endpoint (authorization code and refresh token grants), revocation (RFC 7009),
//! introspection (RFC 7662) and userinfo. Client secrets are compared in constant time; codes
//! are spent once (a second exchange ends what the first issued); access and refresh tokens are
//! opaque, stored as SHA-256; a refresh token is rotated on every use and presenting a spent one
//! ends its whole grant. No grant here evaluates the registration policy: none is interactive.

use proofup_shared::apps::ClientKind;

use super::super::{new_token, session_key, Core, ServiceError};
use crate::domain::oidc::authorize::pkce_matches;
use crate::domain::oidc::grant::{
    acr, at_hash, narrowed_scopes, AccessGrant, Grant, IdClaims, RefreshGrant, ID_TOKEN_LIFETIME,
};
use crate::domain::oidc::Application;
/// An OAuth error for the token and userinfo endpoints (RFC 6749 §5.2, RFC 6750 §3).
#[derive(Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

fn oauth(error: &'static str, description: &str) -> OAuthError {
    OAuthError { error, description: description.to_owned() }
}

/// How the client authenticated.
pub struct ClientAuth<'a> {
    pub client_id: &'a str,
    /// `None` for a public client.
    pub secret: Option<&'a str>,
}

/// A successful token response.
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// None for client credentials (no user signed in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes; left out when none were (RFC 6749 §5.1 has no empty scope).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

pub enum TokenError {
    /// 401 (with `WWW-Authenticate` when the client used Basic).
    Client(OAuthError),
    /// 400.
    Request(OAuthError),
    Server(ServiceError),
}

impl From<ServiceError> for TokenError {
    fn from(e: ServiceError) -> Self {
        TokenError::Server(e)
    }
}
impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        TokenError::Server(e.into())
    }
}

impl Core {
    /// The application behind a token request, if it authenticated: confidential clients by
    /// their secret (constant time), public ones by sending none.
    pub fn authenticate_client(&self, client: &ClientAuth<'_>) -> Result<Application, TokenError> {
        let now = self.clock.now();
        let app = self.store.application(client.client_id)?.filter(|a| a.enabled);
        let Some(app) = app else {
            return Err(TokenError::Client(oauth("invalid_client", "Unknown or disabled client.")));
        };
        let authenticated = match (app.kind, client.secret) {
            (ClientKind::Confidential, Some(s)) => app.secret_matches(s, now),
            (ClientKind::Public, None) => true,
            _ => false,
        };
        if !authenticated {
            return Err(TokenError::Client(oauth("invalid_client", "The client could not be authenticated.")));
        }
        Ok(app)
    }

    /// `grant_type=authorization_code`: a code for an access token and an ID token (and a
    /// refresh token when the application has them on).
    pub async fn exchange_code(
        &self,
        client: ClientAuth<'_>,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        from: &crate::domain::model::ClientInfo,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.now();
        let app = self.authenticate_client(&client)?;
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Err(TokenError::Request(oauth("invalid_request", "code is missing.")));
        };
        let code_key = session_key(code);
        // The access token is stored before the code is spent, and recorded in the code by the
        // spend itself: a second exchange, however close, finds it and ends its grant.
        let token = new_token();
        let token_key = session_key(&token);
        let Some(grant) = self.store.code(&code_key)? else {
            return Err(TokenError::Request(oauth("invalid_grant", "The code is not valid.")));
        };
        let bad = |why: &str| Err(TokenError::Request(oauth("invalid_grant", why)));
        if grant.spent && grant.client_id == app.id {
            // A replay, whatever else it sends: what the first exchange issued is revoked.
            self.end_issued(&grant.issued)?;
            self.store.durable().await?;
            return bad("The code was already used; the tokens issued for it are revoked.");
        }
        if grant.client_id != app.id {
            return bad("The code was issued to another client.");
        }
        if now >= grant.expires_at {
            return bad("The code has expired.");
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return bad("redirect_uri differs from the authorization request.");
        }
        match (&grant.code_challenge, verifier) {
            (Some(ch), Some(v)) if pkce_matches(v, ch) => {}
            (Some(_), _) => return bad("The code_verifier does not match the code_challenge."),
            (None, Some(_)) => return bad("code_verifier sent, but the authorization request had no code_challenge."),
            (None, None) => {}
        }
        let user = self.store.user(&grant.user_id)?.filter(|u| u.enabled);
        let Some(user) = user else { return bad("The account is disabled.") };
        let access_until = now + time::Duration::minutes(app.access_token_minutes.into());
        let issued = Grant {
            id: new_token(),
            client_id: app.id.clone(),
            user_id: user.id.clone(),
            sid: grant.sid.clone(),
            scopes: grant.scopes.clone(),
            auth_time: grant.auth_time,
            amr: grant.amr.clone(),
            expires_at: if app.refresh_tokens {
                now + time::Duration::days(app.refresh_token_days.into())
            } else {
                access_until
            },
            // Where the code was exchanged from (country and network only): a refresh from
            // elsewhere is an anomalous token.
            origin: self.origin_of(&from.ip),
        };
        self.store.put_grant(&issued)?;
        let access = AccessGrant {
            client_id: app.id.clone(),
            user_id: user.id.clone(),
            scopes: grant.scopes.clone(),
            expires_at: access_until,
            grant: issued.id.clone(),
        };
        self.store.put_access_token(&token_key, &access)?;
        let before = self.store.spend_code(&code_key, &token_key)?;
        if before.as_ref().is_none_or(|g| g.spent) {
            // Used before: everything issued for it is revoked, this token too (RFC 6749 §4.1.2).
            let mut revoke = before.map(|g| g.issued).unwrap_or_default();
            revoke.push(token_key);
            self.end_issued(&revoke)?;
            self.store.durable().await?;
            return bad("The code was already used; the tokens issued for it are revoked.");
        }
        let refresh_token = if app.refresh_tokens { Some(self.issue_refresh(&issued, &issued.scopes)?) } else { None };
        let id_token = self.id_token(&app, &user, &issued, grant.nonce.clone(), &token, now)?;
        self.store.durable().await?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: (access.expires_at - now).whole_seconds(),
            id_token: Some(id_token),
            refresh_token,
            scope: grant.scopes.join(" "),
        })
    }

    /// Ends the grants of the access tokens a replayed code had issued, and the tokens.
    fn end_issued(&self, access_keys: &[[u8; 32]]) -> Result<(), TokenError> {
        for k in access_keys {
            if let Some(a) = self.store.access_token(k)? {
                self.store.end_grant(&a.user_id, &a.grant)?;
            }
        }
        self.store.revoke_access_tokens(access_keys)?;
        Ok(())
    }

    fn issue_refresh(&self, grant: &Grant, scopes: &[String]) -> Result<String, TokenError> {
        let token = new_token();
        let record = RefreshGrant {
            grant: grant.id.clone(),
            client_id: grant.client_id.clone(),
            user_id: grant.user_id.clone(),
            scopes: scopes.to_vec(),
            expires_at: grant.expires_at,
            spent: false,
        };
        self.store.put_refresh_token(&session_key(&token), &record)?;
        Ok(token)
    }

    /// An ID token for this grant (Core §3.1.3.6; after a refresh §12.2: the same `auth_time`,
    /// `amr` and `acr` as the sign-in, a new `iat`, no `nonce`).
    fn id_token(
        &self,
        app: &Application,
        user: &crate::domain::model::User,
        grant: &Grant,
        nonce: Option<String>,
        access_token: &str,
        now: time::OffsetDateTime,
    ) -> Result<String, TokenError> {
        let mut profile = serde_json::Map::new();
        self.claims_for(user, &grant.scopes, &mut profile)?;
        let claims = IdClaims {
            iss: self.issuer.clone(),
            sub: user.id.clone(),
            aud: app.id.clone(),
            exp: (now + ID_TOKEN_LIFETIME).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: grant.auth_time.unix_timestamp(),
            nonce,
            sid: grant.sid.clone(),
            acr: acr(&grant.amr).to_owned(),
            amr: grant.amr.clone(),
            at_hash: at_hash(access_token),
            profile,
        };
        Ok(self.signer.sign(self, &claims)?)
    }

    /// `grant_type=refresh_token` (RFC 6749 §6): a new access token, ID token and refresh token;
    /// the presented one is spent. Never interactive, so the registration policy is not asked;
    /// what it re-checks is state: the grant not ended, the user enabled and still assigned, the
    /// application enabled with refresh tokens on.
    pub async fn refresh(
        &self,
        client: ClientAuth<'_>,
        refresh_token: Option<&str>,
        scope: Option<&str>,
        from: &crate::domain::model::ClientInfo,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.now();
        let app = self.authenticate_client(&client)?;
        let Some(presented) = refresh_token.filter(|t| !t.is_empty()) else {
            return Err(TokenError::Request(oauth("invalid_request", "refresh_token is missing.")));
        };
        let bad = |why: &str| Err(TokenError::Request(oauth("invalid_grant", why)));
        let key = session_key(presented);
        let Some(record) = self.store.refresh_token(&key)? else { return bad("The refresh token is not valid.") };
        if record.client_id != app.id {
            return bad("The refresh token was issued to another client.");
        }
        if record.spent {
            // Reuse of a rotated token: one of the two holders is not the application.
            self.store.end_grant(&record.user_id, &record.grant)?;
            if let Some(u) = self.store.user(&record.user_id)? {
                self.log_app(&u, &app, false, "A used refresh token came back: the grant is ended", from, false)?;
            }
            self.store.durable().await?;
            return bad("The refresh token was already used; its grant is ended. Sign in again.");
        }
        let Some(grant) = self.store.grant(&record.user_id, &record.grant)? else {
            return bad("The grant was ended (signed out, revoked, or the account was reset). Sign in again.");
        };
        if now >= record.expires_at || now >= grant.expires_at {
            return bad("The refresh token has expired. Sign in again.");
        }
        if !app.refresh_tokens {
            return bad("This application no longer uses refresh tokens. Sign in again.");
        }
        let user = self.store.user(&record.user_id)?.filter(|u| u.enabled);
        let Some(user) = user else { return bad("The account is disabled.") };
        if !self.is_assigned(&app, &user)? {
            return bad("The user is no longer assigned to this application.");
        }
        let scopes = match narrowed_scopes(&record.scopes, scope) {
            Ok(s) => s,
            Err(m) => return Err(TokenError::Request(OAuthError { error: "invalid_scope", description: m })),
        };
        // Used from another country and network than the code was exchanged from: an anomalous
        // token (the grant goes on; the user's risk says the rest).
        self.refresh_from_elsewhere(&user, &app.name, &grant, from)?;
        // Spent first, atomically: of two refreshes with the same token exactly one gets here.
        let before = self.store.spend_refresh_token(&key)?;
        if before.as_ref().is_none_or(|r| r.spent) {
            self.store.end_grant(&record.user_id, &record.grant)?;
            self.store.durable().await?;
            return bad("The refresh token was already used; its grant is ended. Sign in again.");
        }
        let token = new_token();
        let access = AccessGrant {
            client_id: app.id.clone(),
            user_id: user.id.clone(),
            scopes: scopes.clone(),
            expires_at: (now + time::Duration::minutes(app.access_token_minutes.into())).min(grant.expires_at),
            grant: grant.id.clone(),
        };
        self.store.put_access_token(&session_key(&token), &access)?;
        let next = self.issue_refresh(&grant, &scopes)?;
        let narrowed = Grant { scopes: scopes.clone(), ..grant.clone() };
        let id_token = self.id_token(&app, &user, &narrowed, None, &token, now)?;
        // Not interactive: the registration policy is not asked (nothing could be shown).
        self.log_app(&user, &app, true, "Token refreshed", from, false)?;
        self.store.durable().await?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: (access.expires_at - now).whole_seconds(),
            id_token: Some(id_token),
            refresh_token: Some(next),
            scope: scopes.join(" "),
        })
    }

    /// `grant_type=client_credentials` (RFC 6749 §4.4): an access token for the application
    /// itself, when it has service access. No user, so no ID token, no refresh token, no policy.
    pub async fn client_credentials(
        &self,
        client: ClientAuth<'_>,
        scope: Option<&str>,
        from: &crate::domain::model::ClientInfo,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.clock.now();
        let app = self.authenticate_client(&client)?;
        if !app.service_access || app.kind != ClientKind::Confidential {
            return Err(TokenError::Request(oauth(
                "unauthorized_client",
                "This application has no service access (client credentials); an administrator can turn it on.",
            )));
        }
        // Scopes about a user mean nothing here; any other the application may have.
        let mut scopes = Vec::new();
        for s in scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
            if s == "openid" || !app.scopes.iter().any(|a| a == s) {
                return Err(TokenError::Request(OAuthError {
                    error: "invalid_scope",
                    description: format!("The scope {s} cannot be granted to the application itself."),
                }));
            }
            if !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        let token = new_token();
        let access = AccessGrant {
            client_id: app.id.clone(),
            user_id: String::new(),
            scopes: scopes.clone(),
            expires_at: now + time::Duration::minutes(app.access_token_minutes.into()),
            grant: String::new(),
        };
        self.store.put_access_token(&session_key(&token), &access)?;
        self.record_sign_in(crate::domain::records::SignInRecord {
            id: String::new(),
            at: now,
            username: format!("app:{}", app.id),
            user_id: None,
            result: proofup_shared::api::SignInResult::Success,
            reason: "Client credentials: an access token for the application itself".into(),
            ip: from.ip.clone(),
            user_agent: from.user_agent.clone(),
            interactive: false,
            application: Some(app.name.clone()),
            count: 1,
            outcomes: Vec::new(),
            place: None,
        })?;
        self.store.durable().await?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: (access.expires_at - now).whole_seconds(),
            id_token: None,
            refresh_token: None,
            scope: scopes.join(" "),
        })
    }

    /// Revocation (RFC 7009): a refresh token ends its grant (and every access token of it); an
    /// access token ends itself. Unknown tokens and other clients' tokens change nothing, and
    /// the answer is the same (200) either way.
    pub async fn revoke(&self, client: ClientAuth<'_>, token: Option<&str>) -> Result<(), TokenError> {
        let app = self.authenticate_client(&client)?;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(TokenError::Request(oauth("invalid_request", "token is missing.")));
        };
        let key = session_key(token);
        if let Some(r) = self.store.refresh_token(&key)?.filter(|r| r.client_id == app.id) {
            self.store.end_grant(&r.user_id, &r.grant)?;
        } else if self.store.access_token(&key)?.is_some_and(|a| a.client_id == app.id) {
            self.store.revoke_access_tokens(&[key])?;
        }
        self.store.durable().await?;
        Ok(())
    }

    /// Introspection (RFC 7662) of the calling client's own tokens: `{"active": false}` for
    /// anything not live, or another client's.
    pub fn introspect(&self, client: ClientAuth<'_>, token: Option<&str>) -> Result<serde_json::Value, TokenError> {
        let now = self.clock.now();
        let app = self.authenticate_client(&client)?;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(TokenError::Request(oauth("invalid_request", "token is missing.")));
        };
        let inactive = serde_json::json!({ "active": false });
        let key = session_key(token);
        if let Some(a) = self.store.access_token(&key)?.filter(|a| a.user_id.is_empty()) {
            // The application's own token (client credentials): no user behind it.
            if a.client_id != app.id || now >= a.expires_at {
                return Ok(inactive);
            }
            let mut answer = serde_json::json!({
                "active": true,
                "token_type": "Bearer",
                "client_id": app.id,
                "sub": app.id,
                "aud": app.id,
                "iss": self.issuer,
                "exp": a.expires_at.unix_timestamp(),
            });
            with_scope(&mut answer, &a.scopes);
            return Ok(answer);
        }
        let (kind, user_id, grant_id, scopes, exp) = if let Some(a) = self.store.access_token(&key)? {
            (Some("Bearer"), a.user_id, a.grant, a.scopes, a.expires_at)
        } else if let Some(r) = self.store.refresh_token(&key)?.filter(|r| !r.spent) {
            // A refresh token has no RFC 6749 token type (it is never presented as a bearer).
            (None, r.user_id, r.grant, r.scopes, r.expires_at)
        } else {
            return Ok(inactive);
        };
        let Some(grant) = self.store.grant(&user_id, &grant_id)? else { return Ok(inactive) };
        let user = self.store.user(&user_id)?.filter(|u| u.enabled);
        let Some(user) = user.filter(|_| grant.client_id == app.id && now < exp) else { return Ok(inactive) };
        let mut answer = serde_json::json!({
            "active": true,
            "client_id": app.id,
            "sub": user.id,
            "username": user.username,
            "aud": app.id,
            "iss": self.issuer,
            "exp": exp.unix_timestamp(),
            "auth_time": grant.auth_time.unix_timestamp(),
            "acr": acr(&grant.amr),
            "amr": grant.amr,
        });
        if let Some(kind) = kind {
            answer["token_type"] = kind.into();
        }
        with_scope(&mut answer, &scopes);
        Ok(answer)
    }

    /// The user's claims the scopes allow (OIDC Core §5.4).
    fn claims_for(
        &self,
        user: &crate::domain::model::User,
        scopes: &[String],
        out: &mut serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), ServiceError> {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        if has("profile") {
            out.insert("name".into(), user.display_name.clone().into());
            out.insert("preferred_username".into(), user.username.clone().into());
            out.insert("updated_at".into(), user.updated_at.unix_timestamp().into());
        }
        if has("email") {
            if let Some(e) = &user.email {
                out.insert("email".into(), e.clone().into());
                // True only once the user proved it with a mailed code (My security info).
                out.insert("email_verified".into(), user.email_verified.into());
            }
        }
        if has("groups") {
            let ids = self.membership.read().map_err(super::super::index_poisoned)?.groups_of(&user.id);
            let mut names: Vec<String> = ids.iter().map(|m| self.group_name(&m.group)).collect();
            names.sort();
            out.insert("groups".into(), names.into());
        }
        Ok(())
    }

    /// The claims behind an access token (`/oauth2/userinfo`).
    pub fn userinfo(&self, access_token: &str) -> Result<serde_json::Value, TokenError> {
        let now = self.clock.now();
        let invalid = || TokenError::Client(oauth("invalid_token", "The access token is not valid."));
        let grant = self.store.access_token(&session_key(access_token))?.ok_or_else(invalid)?;
        if now >= grant.expires_at {
            return Err(invalid());
        }
        self.store.grant(&grant.user_id, &grant.grant)?.ok_or_else(invalid)?;
        let user = self.store.user(&grant.user_id)?.filter(|u| u.enabled).ok_or_else(invalid)?;
        self.store.application(&grant.client_id)?.filter(|a| a.enabled).ok_or_else(invalid)?;
        let mut out = serde_json::Map::new();
        out.insert("sub".into(), user.id.clone().into());
        self.claims_for(&user, &grant.scopes, &mut out)?;
        Ok(serde_json::Value::Object(out))
    }
}

/// Introspection's `scope` (RFC 7662 §2.2): the granted scopes, left out when there are none.
fn with_scope(answer: &mut serde_json::Value, scopes: &[String]) {
    if !scopes.is_empty() {
        answer["scope"] = scopes.join(" ").into();
    }
}
