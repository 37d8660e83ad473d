//! The token endpoint (authorization code grant) and userinfo. Client secrets are compared in
//! constant time; codes are spent once (a second exchange revokes what the first issued);
//! access tokens are opaque, stored as SHA-256, short-lived.

use proofup_shared::apps::ClientKind;

use super::super::{new_token, session_key, Core, ServiceError};
use crate::domain::oidc::authorize::pkce_matches;
use crate::domain::oidc::grant::{acr, at_hash, AccessGrant, IdClaims, ID_TOKEN_LIFETIME};
use crate::domain::oidc::KeyAlg;

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
    pub id_token: String,
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
    /// `grant_type=authorization_code`: a code for an access token and an ID token.
    pub async fn exchange_code(
        &self,
        client: ClientAuth<'_>,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
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
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Err(TokenError::Request(oauth("invalid_request", "code is missing.")));
        };
        let code_key = session_key(code);
        // The access token is stored before the code is spent, and recorded in the code by the
        // spend itself: a second exchange, however close, finds it and revokes it.
        let token = new_token();
        let token_key = session_key(&token);
        let Some(grant) = self.store.code(&code_key)? else {
            return Err(TokenError::Request(oauth("invalid_grant", "The code is not valid.")));
        };
        let bad = |why: &str| Err(TokenError::Request(oauth("invalid_grant", why)));
        if grant.spent && grant.client_id == app.id {
            // A replay, whatever else it sends: what the first exchange issued is revoked.
            self.store.revoke_access_tokens(&grant.issued)?;
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
        let access = AccessGrant {
            client_id: app.id.clone(),
            user_id: user.id.clone(),
            scopes: grant.scopes.clone(),
            expires_at: now + time::Duration::minutes(app.access_token_minutes.into()),
        };
        self.store.put_access_token(&token_key, &access)?;
        let before = self.store.spend_code(&code_key, &token_key)?;
        if before.as_ref().is_none_or(|g| g.spent) {
            // Used before: everything issued for it is revoked, this token too (RFC 6749 §4.1.2).
            let mut revoke = before.map(|g| g.issued).unwrap_or_default();
            revoke.push(token_key);
            self.store.revoke_access_tokens(&revoke)?;
            self.store.durable().await?;
            return bad("The code was already used; the tokens issued for it are revoked.");
        }
        let mut profile = serde_json::Map::new();
        self.claims_for(&user, &grant.scopes, &mut profile)?;
        let claims = IdClaims {
            iss: self.issuer.clone(),
            sub: user.id.clone(),
            aud: app.id.clone(),
            exp: (now + ID_TOKEN_LIFETIME).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: grant.auth_time.unix_timestamp(),
            nonce: grant.nonce.clone(),
            sid: grant.sid.clone(),
            acr: acr(&grant.amr).to_owned(),
            amr: grant.amr.clone(),
            at_hash: at_hash(&token),
            profile,
        };
        let (kid, key) = super::keys::active(self, KeyAlg::RS256)?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid);
        let id_token = jsonwebtoken::encode(&header, &claims, &key)
            .map_err(|e| TokenError::Server(super::keys::KeyError::Jwt(e).into()))?;
        self.store.durable().await?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: (access.expires_at - now).whole_seconds(),
            id_token,
            scope: grant.scopes.join(" "),
        })
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
                // Proofup does not check addresses: an administrator typed it.
                out.insert("email_verified".into(), false.into());
            }
        }
        if has("groups") {
            let ids = self.membership.read().map_err(super::super::index_poisoned)?.groups_of(&user.id);
            let mut names: Vec<String> =
                ids.iter().map(|m| super::super::groups::group_name(self.store.as_ref(), &m.group)).collect();
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
        let user = self.store.user(&grant.user_id)?.filter(|u| u.enabled).ok_or_else(invalid)?;
        self.store.application(&grant.client_id)?.filter(|a| a.enabled).ok_or_else(invalid)?;
        let mut out = serde_json::Map::new();
        out.insert("sub".into(), user.id.clone().into());
        self.claims_for(&user, &grant.scopes, &mut out)?;
        Ok(serde_json::Value::Object(out))
    }
}
