//! Passkeys (WebAuthn, through webauthn-rs): registration and sign-in
//! ceremonies whose state stays server-side, bound to the session, single use,
//! for 5 minutes. Credential ids are unique across all users.

use super::Core;
use base64::Engine as _;
use proofup_shared::mfa::{check_method_name, FinishPasskeyRegistration, MethodKind, PasskeyChallenge};
use proofup_shared::FieldError;
use time::{Duration, OffsetDateTime};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

use super::mfa::{PendingLookup, PendingMap};
use super::ServiceError;
use crate::domain::model::{ClientInfo, Method, User};
use crate::store::StoreError;

pub const CEREMONY_TTL: Duration = Duration::minutes(5);

/// The relying party and the ceremonies in flight.
pub struct Passkeys {
    webauthn: Result<Webauthn, String>,
    registrations: PendingMap<PasskeyRegistration>,
    authentications: PendingMap<PasskeyAuthentication>,
}

impl Passkeys {
    /// The relying party id is the host of the public URL; the origin is the URL itself.
    pub fn new(public_url: &str) -> Self {
        let webauthn = (|| {
            let origin =
                Url::parse(public_url).map_err(|e| format!("the public URL {public_url} is not a URL: {e}"))?;
            let host = match origin.domain() {
                Some(d) => d.to_owned(),
                None => {
                    return Err(format!(
                        "passkeys need Proofup on a domain name (browsers refuse them on an IP address); \
                         set --public-url (now {public_url})"
                    ))
                }
            };
            WebauthnBuilder::new(&host, &origin)
                .and_then(|b| b.rp_name("Proofup").timeout(std::time::Duration::from_secs(300)).build())
                .map_err(|e| format!("passkeys are off: {e}"))
        })();
        if let Err(e) = &webauthn {
            tracing::warn!("{e}");
        }
        Self {
            webauthn,
            registrations: PendingMap::new("passkey-registration"),
            authentications: PendingMap::new("passkey-sign-in"),
        }
    }

    fn relying_party(&self) -> Result<&Webauthn, ServiceError> {
        self.webauthn.as_ref().map_err(|e| ServiceError::Conflict(format!("Passkeys are not available here: {e}.")))
    }
}

fn user_handle(user: &User) -> Uuid {
    Uuid::parse_str(&user.id).unwrap_or_else(|_| {
        use sha2::Digest;
        let d = sha2::Sha256::digest(user.id.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        Uuid::from_bytes(b)
    })
}

fn credential_id(p: &Passkey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(AsRef::<[u8]>::as_ref(p.cred_id()))
}

fn stored(m: &Method) -> Option<Passkey> {
    let json = m.passkey.as_deref()?;
    match serde_json::from_str(json) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(method = %m.id, error = %e, "stored passkey unreadable");
            None
        }
    }
}

/// Browsers turn `null` into an error for enum members: leave absent values out.
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect(),
        ),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(without_nulls).collect()),
        v => v,
    }
}

fn challenge<T: serde::Serialize>(options: &T, expires_at: OffsetDateTime) -> Result<PasskeyChallenge, ServiceError> {
    let v = serde_json::to_value(options).map_err(|e| ServiceError::Store(StoreError::Backend(e.to_string())))?;
    let public_key = v.get("publicKey").cloned().unwrap_or(serde_json::Value::Null);
    Ok(PasskeyChallenge { public_key: without_nulls(public_key), expires_at })
}

fn lookup_error(e: PendingLookup, what: &str) -> ServiceError {
    match e {
        PendingLookup::Missing => ServiceError::NotFound("The passkey ceremony waiting in this session"),
        PendingLookup::OtherUser => ServiceError::Forbidden(format!("This {what} belongs to another session.")),
        PendingLookup::Expired => {
            ServiceError::InvalidCode(format!("This {what} expired after 5 minutes. Start again."))
        }
        PendingLookup::Unavailable(e) => ServiceError::Store(StoreError::Backend(e)),
    }
}

fn invalid(field: &str, message: &str) -> ServiceError {
    ServiceError::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
}

impl Core {
    /// Starts adding a passkey: the options for `navigator.credentials.create()`.
    pub(crate) fn start_passkey_registration(
        &self,
        session_key: [u8; 32],
        progress: &crate::domain::login::Progress,
        user: &User,
    ) -> Result<PasskeyChallenge, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let rp = self.passkeys.relying_party()?;
        self.check_binding(user, progress, now)?;
        let existing: Vec<_> = s.methods(&user.id)?.iter().filter_map(stored).map(|p| p.cred_id().clone()).collect();
        let display = if user.display_name.trim().is_empty() { &user.username } else { &user.display_name };
        let (options, state) = rp
            .start_passkey_registration(user_handle(user), &user.username, display, Some(existing))
            .map_err(|e| ServiceError::Store(StoreError::Backend(format!("passkey registration: {e}"))))?;
        let expires_at = now + CEREMONY_TTL;
        self.passkeys.registrations.put(self, session_key, &user.id, &state, expires_at)?;
        challenge(&options, expires_at)
    }

    /// Verifies the new credential and stores it as a method.
    pub(crate) fn finish_passkey_registration(
        &self,
        session_key: [u8; 32],
        progress: &crate::domain::login::Progress,
        user: &User,
        client: &ClientInfo,
        req: FinishPasskeyRegistration,
    ) -> Result<Method, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let rp = self.passkeys.relying_party()?;
        self.check_binding(user, progress, now)?;
        if let Err(message) = check_method_name(&req.name) {
            return Err(invalid("name", &message));
        }
        let credential: RegisterPublicKeyCredential = serde_json::from_value(req.credential)
            .map_err(|_| invalid("credential", "This is not a WebAuthn registration response."))?;
        let state = self
            .passkeys
            .registrations
            .take(self, &session_key, &user.id, now)
            .map_err(|e| lookup_error(e, "passkey registration"))?;
        let passkey = rp.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(user = %user.username, error = %e, "passkey registration refused");
            ServiceError::InvalidCode("The passkey could not be verified. Start again.".into())
        })?;
        let cred = credential_id(&passkey);
        if s.credential_taken(&cred)? {
            return Err(ServiceError::Conflict("This passkey is already registered.".into()));
        }
        let method = Method {
            id: uuid::Uuid::new_v4().simple().to_string(),
            user_id: user.id.clone(),
            kind: MethodKind::Passkey,
            name: req.name.trim().to_owned(),
            sealed_secret: String::new(),
            credential_id: Some(cred),
            passkey: Some(serde_json::to_string(&passkey).map_err(|e| StoreError::Backend(e.to_string()))?),
            last_step: None,
            created_at: now,
            last_used_at: Some(now),
        };
        self.store_method(user, client, &method, progress, now)?;
        Ok(method)
    }

    /// Starts a passkey sign-in (second step, or re-authentication): the options for `navigator.credentials.get()`.
    pub(crate) fn start_passkey_sign_in(
        &self,
        session_key: [u8; 32],
        user: &User,
    ) -> Result<PasskeyChallenge, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let rp = self.passkeys.relying_party()?;
        self.check_throttle(user, now)?;
        let passkeys: Vec<Passkey> = s.methods(&user.id)?.iter().filter_map(stored).collect();
        if passkeys.is_empty() {
            return Err(ServiceError::Conflict("You have no passkey. Use another method.".into()));
        }
        let (options, state) = rp
            .start_passkey_authentication(&passkeys)
            .map_err(|e| ServiceError::Store(StoreError::Backend(format!("passkey sign-in: {e}"))))?;
        let expires_at = now + CEREMONY_TTL;
        self.passkeys.authentications.put(self, session_key, &user.id, &state, expires_at)?;
        challenge(&options, expires_at)
    }

    /// Verifies the assertion (single use), updates the credential's counter, and returns the method used.
    pub(crate) fn finish_passkey_sign_in(
        &self,
        session_key: [u8; 32],
        user: &User,
        credential: serde_json::Value,
    ) -> Result<Method, ServiceError> {
        let s = self.store.as_ref();
        let now = self.clock.now();
        let rp = self.passkeys.relying_party()?;
        self.check_throttle(user, now)?;
        let state = self
            .passkeys
            .authentications
            .take(self, &session_key, &user.id, now)
            .map_err(|e| lookup_error(e, "passkey sign-in"))?;
        let credential: PublicKeyCredential = serde_json::from_value(credential)
            .map_err(|_| invalid("credential", "This is not a WebAuthn sign-in response."))?;
        // Reserved (counted as a failure) before the signature is checked; a verified one clears it.
        self.reserve_attempt(user, now)?;
        let result = match rp.finish_passkey_authentication(&credential, &state) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(user = %user.username, error = %e, "passkey sign-in refused");
                return Err(ServiceError::InvalidCode("The passkey could not be verified.".into()));
            }
        };
        let used = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(AsRef::<[u8]>::as_ref(result.cred_id()));
        let method = s
            .methods(&user.id)?
            .into_iter()
            .find(|m| m.credential_id.as_deref() == Some(used.as_str()))
            .ok_or(ServiceError::NotFound("The method"))?;
        let mut updated = None;
        if let Some(mut p) = stored(&method) {
            if p.update_credential(&result) == Some(true) {
                updated = Some(serde_json::to_string(&p).map_err(|e| StoreError::Backend(e.to_string()))?);
            }
        }
        s.record_passkey_use(&user.id, &method.id, updated.as_deref(), now)?;
        self.attempt_succeeded(user)?;
        Ok(method)
    }
}
