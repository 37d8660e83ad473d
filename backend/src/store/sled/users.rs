//! Users, their temporary access passes, and first-run setup.

use crate::store::Conflict;
use ::sled::transaction::{ConflictableTransactionError, Transactional};
use proofup_shared::api::Page;
use proofup_shared::directory::MemberKind;
use time::OffsetDateTime;

use super::*;

impl SledStore {
    /// A new user, their pass if any, and the audit entries: one transaction, then one flush.
    fn insert_user(&self, user: &User, pass: Option<&TapRecord>, audit: &[AuditDraft]) -> StoreResult<()> {
        let (bytes, pass_bytes) = (enc(user)?, pass.map(enc).transpose()?);
        (&self.users, &self.usernames, &self.passes, &self.audit)
            .transaction(|(users, usernames, passes, log)| {
                if usernames.get(user.username.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict(Conflict::UsernameTaken(
                        user.username.clone(),
                    ))));
                }
                usernames.insert(user.username.as_bytes(), user.id.as_bytes())?;
                users.insert(user.id.as_bytes(), bytes.clone())?;
                if let Some(p) = &pass_bytes {
                    passes.insert(user.id.as_bytes(), p.clone())?;
                }
                for a in audit {
                    Self::insert_audit_tx(log, a.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl UserStore for SledStore {
    fn user(&self, id: &str) -> StoreResult<Option<User>> {
        self.users.get(id).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        match self.usernames.get(username).map_err(backend)? {
            Some(id) => self.user(std::str::from_utf8(&id).map_err(backend)?),
            None => Ok(None),
        }
    }

    fn count_users(&self) -> StoreResult<u64> {
        Ok(self.usernames.len() as u64)
    }

    fn create_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        self.insert_user(user, None, &[audit])
    }

    fn update_user(&self, user: &User, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(user)?;
        (&self.users, &self.audit)
            .transaction(|(users, log)| {
                if users.get(user.id.as_bytes())?.is_none() {
                    return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                }
                users.insert(user.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_user(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        // Callers serialise directory changes, so these lists stay true until the transaction.
        let parents = self.direct_parents(MemberKind::User, id)?;
        let found: Vec<(::sled::IVec, ::sled::IVec)> =
            self.methods.scan_prefix(user_prefix(id)).collect::<Result<_, _>>().map_err(backend)?;
        let creds: Vec<String> =
            found.iter().filter_map(|(_, v)| dec::<Method>(v).ok().and_then(|m| m.credential_id)).collect();
        let found_keys: Vec<::sled::IVec> = found.into_iter().map(|(k, _)| k).collect();
        // Risk: the user's profile and detections go with them.
        let detection_index: Vec<::sled::IVec> =
            self.user_detections.scan_prefix(user_prefix(id)).keys().collect::<Result<_, _>>().map_err(backend)?;
        let prefix_len = user_prefix(id).len();
        (
            &self.users,
            &self.usernames,
            &self.passes,
            &self.audit,
            &self.edges,
            &self.member_of,
            &self.methods,
            &self.method_keys,
            &self.regstate,
            &self.credentials,
            &self.recovery,
            &self.risk_profiles,
            &self.detections,
            &self.user_detections,
        )
            .transaction(
                |(
                    users,
                    usernames,
                    passes,
                    log,
                    edges,
                    member_of,
                    methods,
                    method_keys,
                    regstate,
                    credentials,
                    recovery,
                    risk_profiles,
                    detections,
                    user_detections,
                )| {
                    risk_profiles.remove(id.as_bytes())?;
                    for k in &detection_index {
                        detections.remove(&k[prefix_len..])?;
                        user_detections.remove(k)?;
                    }
                    for c in &creds {
                        credentials.remove(c.as_bytes())?;
                    }
                    recovery.remove(id.as_bytes())?;
                    for g in &parents {
                        edges.remove(edge_key(g, MemberKind::User, id))?;
                        member_of.remove(member_of_key(MemberKind::User, id, g))?;
                    }
                    for k in &found_keys {
                        methods.remove(k)?;
                        method_keys.remove(k)?;
                    }
                    regstate.remove(id.as_bytes())?;
                    let Some(v) = users.remove(id.as_bytes())? else {
                        return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                    };
                    let u: User =
                        serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                    usernames.remove(u.username.as_bytes())?;
                    passes.remove(id.as_bytes())?;
                    Self::insert_audit_tx(log, audit.clone())?;
                    Ok(())
                },
            )
            .map_err(tx_err)?;
        self.delete_user_sessions(id)?;
        self.flush()
    }

    fn list_users(&self, filter: &UserFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<User>> {
        let prefix = filter.prefix.as_str();
        let start: Vec<u8> = match after {
            Some(a) if a.as_bytes() >= prefix.as_bytes() => {
                let mut k = a.as_bytes().to_vec();
                k.push(0); // strictly after
                k
            }
            _ => prefix.as_bytes().to_vec(),
        };
        let mut items = Vec::with_capacity(limit);
        for kv in self.usernames.range(start..) {
            let (name, id) = kv.map_err(backend)?;
            if !name.starts_with(prefix.as_bytes()) || items.len() == limit {
                break;
            }
            if let Some(u) = self.user(std::str::from_utf8(&id).map_err(backend)?)? {
                if filter.matches(&u) {
                    items.push(u);
                }
            }
        }
        let next_after = if items.len() == limit { items.last().map(|u: &User| u.username.clone()) } else { None };
        Ok(Page { items, next_after })
    }

    fn count_enabled_global_admins(&self) -> StoreResult<u64> {
        let mut n = 0;
        for v in self.users.iter().values() {
            let u: User = dec(&v.map_err(backend)?)?;
            if u.enabled && u.role == proofup_shared::api::Role::GlobalAdministrator {
                n += 1;
            }
        }
        Ok(n)
    }

    fn for_each_user(&self, f: &mut dyn FnMut(User)) -> StoreResult<()> {
        for v in self.users.iter().values() {
            f(dec(&v.map_err(backend)?)?);
        }
        Ok(())
    }

    fn create_user_with_pass(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<()> {
        self.insert_user(user, Some(pass), &audit)
    }

    fn reset_sign_in(&self, user: &User, pass: &TapRecord, audit: [AuditDraft; 2]) -> StoreResult<u64> {
        if self.users.get(user.id.as_bytes()).map_err(backend)?.is_none() {
            return Err(StoreError::NotFound);
        }
        // Sessions and grants first (sled keeps them in trees of their own, indexed in memory),
        // then the rest in one transaction, then one flush. sled recovers a prefix of its log, so
        // after a crash either nothing happened, or only sessions ended (safe: the reset can be
        // repeated), or all of it: never a cleared password without its pass, or the reverse.
        let ended = self.delete_user_sessions(&user.id)?;
        let (bytes, pass_bytes) = (enc(user)?, enc(pass)?);
        (&self.users, &self.passes, &self.audit)
            .transaction(|(users, passes, log)| {
                if users.get(user.id.as_bytes())?.is_none() {
                    return Err(ConflictableTransactionError::Abort(StoreError::NotFound));
                }
                users.insert(user.id.as_bytes(), bytes.clone())?;
                passes.insert(user.id.as_bytes(), pass_bytes.clone())?;
                for a in &audit {
                    Self::insert_audit_tx(log, a.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()?;
        Ok(ended)
    }

    fn set_last_sign_in(&self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        let users = &self.users;
        users
            .transaction(|t| {
                let Some(v) = t.get(id)? else { return Ok(()) };
                let mut u: User =
                    serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                u.last_sign_in_at = Some(at);
                t.insert(id.as_bytes(), tx_enc(&u)?)?;
                Ok(())
            })
            .map_err(tx_err)
    }
}

/// Where the embedded store keeps the secret key check (meta tree).
const KEY_CHECK_KEY: &[u8] = b"secret_key_check";

impl SetupStore for SledStore {
    fn secret_key_check(&self) -> StoreResult<Option<String>> {
        self.meta
            .get(KEY_CHECK_KEY)
            .map_err(backend)?
            .map(|v| String::from_utf8(v.to_vec()).map_err(backend))
            .transpose()
    }

    fn record_secret_key_check(&self, check: &str) -> StoreResult<String> {
        let recorded =
            match self.meta.compare_and_swap(KEY_CHECK_KEY, None::<&[u8]>, Some(check.as_bytes())).map_err(backend)? {
                Ok(()) => check.to_owned(),
                Err(e) => String::from_utf8(e.current.map(|v| v.to_vec()).unwrap_or_default()).map_err(backend)?,
            };
        self.flush()?;
        Ok(recorded)
    }

    fn setup_token(&self) -> StoreResult<Option<SetupTokenRecord>> {
        self.meta.get(SETUP_KEY).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn setup_done(&self) -> StoreResult<bool> {
        Ok(self.meta.get(SETUP_DONE_KEY).map_err(backend)?.is_some())
    }

    fn put_setup_token(&self, record: &SetupTokenRecord) -> StoreResult<()> {
        self.meta.insert(SETUP_KEY, enc(record)?).map_err(backend)?;
        self.flush()
    }

    fn complete_setup(&self, token: &SetupTokenRecord, admin: &User, audit: AuditDraft) -> StoreResult<()> {
        let token_bytes = enc(token)?;
        let user_bytes = enc(admin)?;
        (&self.meta, &self.users, &self.usernames, &self.audit)
            .transaction(|(meta, users, usernames, log)| {
                let abort = |c: Conflict| ConflictableTransactionError::Abort(StoreError::Conflict(c));
                if meta.get(SETUP_KEY)?.as_deref() != Some(&token_bytes[..]) {
                    return Err(abort(Conflict::SetupTokenUsed));
                }
                if meta.get(SETUP_DONE_KEY)?.is_some() {
                    return Err(abort(Conflict::SetupDone));
                }
                meta.remove(SETUP_KEY)?;
                meta.insert(SETUP_DONE_KEY, &b"1"[..])?;
                if usernames.get(admin.username.as_bytes())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(StoreError::Conflict(Conflict::UsernameTaken(
                        admin.username.clone(),
                    ))));
                }
                usernames.insert(admin.username.as_bytes(), admin.id.as_bytes())?;
                users.insert(admin.id.as_bytes(), user_bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

impl PassStore for SledStore {
    fn put_pass(&self, user_id: &str, pass: &TapRecord, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(pass)?;
        (&self.passes, &self.audit)
            .transaction(|(passes, log)| {
                passes.insert(user_id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn take_pass(&self, user_id: &str, check: &dyn Fn(&TapRecord) -> bool) -> StoreResult<bool> {
        let taken = self
            .passes
            .transaction(|passes| {
                let Some(v) = passes.get(user_id.as_bytes())? else { return Ok(false) };
                let rec: TapRecord =
                    serde_json::from_slice(&v).map_err(|e| ConflictableTransactionError::Abort(backend(e)))?;
                if !check(&rec) {
                    return Ok(false);
                }
                passes.remove(user_id.as_bytes())?;
                Ok(true)
            })
            .map_err(tx_err)?;
        Ok(taken)
    }
}
