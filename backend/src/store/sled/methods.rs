//! Sign-in methods (secrets sealed), passkey credential ids, recovery codes.

use crate::store::Conflict;
use ::sled::transaction::Transactional;
use time::OffsetDateTime;

use super::*;

impl MethodStore for SledStore {
    fn methods(&self, user_id: &str) -> StoreResult<Vec<Method>> {
        let mut out: Vec<Method> = self
            .methods
            .scan_prefix(user_prefix(user_id))
            .values()
            .map(|v| dec(&v.map_err(backend)?))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|m| m.created_at);
        Ok(out)
    }

    fn method(&self, user_id: &str, id: &str) -> StoreResult<Option<Method>> {
        self.methods.get(method_key(user_id, id)).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn add_method(&self, method: &Method, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(method)?;
        let key = method_key(&method.user_id, &method.id);
        (&self.users, &self.methods, &self.method_keys, &self.credentials, &self.audit)
            .transaction(|(users, methods, method_keys, credentials, log)| {
                if users.get(method.user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if let Some(cred) = &method.credential_id {
                    if credentials.get(cred.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::PasskeyRegistered));
                    }
                    credentials.insert(cred.as_bytes(), key.as_slice())?;
                }
                methods.insert(key.as_slice(), bytes.clone())?;
                method_keys.insert(key.as_slice(), &[][..])?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn record_totp_use(&self, user_id: &str, id: &str, step: u64, at: OffsetDateTime) -> StoreResult<bool> {
        // Compare-and-swap on the one record, not a sled transaction (which would take the
        // store-wide write lock): of concurrent uses of the same step exactly one swaps.
        let key = method_key(user_id, id);
        loop {
            let Some(old) = self.methods.get(&key).map_err(backend)? else { return Ok(false) };
            let mut m: Method = dec(&old)?;
            if m.last_step.is_some_and(|l| step <= l) {
                return Ok(false);
            }
            m.last_step = Some(step);
            m.last_used_at = Some(at);
            match self.methods.compare_and_swap(&key, Some(old), Some(enc(&m)?)).map_err(backend)? {
                Ok(()) => return Ok(true),
                Err(_) => continue, // changed meanwhile (another use, a rename): look again
            }
        }
    }

    fn rename_method(&self, user_id: &str, id: &str, name: &str, audit: AuditDraft) -> StoreResult<()> {
        let key = method_key(user_id, id);
        (&self.methods, &self.audit)
            .transaction(|(methods, log)| {
                let Some(v) = methods.get(&key)? else { return abort(StoreError::NotFound) };
                let mut m: Method = tx_dec(&v)?;
                m.name = name.to_owned();
                methods.insert(key.as_slice(), tx_enc(&m)?)?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_method(&self, user_id: &str, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let key = method_key(user_id, id);
        // Recovery codes go with the last method (they are a backup for a method, not one).
        let last = self.method_keys.scan_prefix(user_prefix(user_id)).keys().take(2).count() == 1;
        (&self.methods, &self.method_keys, &self.credentials, &self.recovery, &self.audit)
            .transaction(|(methods, method_keys, credentials, recovery, log)| {
                let Some(old) = methods.remove(key.as_slice())? else {
                    return abort(StoreError::NotFound);
                };
                method_keys.remove(key.as_slice())?;
                let old: Method = tx_dec(&old)?;
                if let Some(cred) = &old.credential_id {
                    credentials.remove(cred.as_bytes())?;
                }
                if last {
                    recovery.remove(user_id.as_bytes())?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_all_methods(&self, user_id: &str, audit: AuditDraft) -> StoreResult<u64> {
        let found: Vec<(::sled::IVec, ::sled::IVec)> =
            self.methods.scan_prefix(user_prefix(user_id)).collect::<Result<_, _>>().map_err(backend)?;
        let creds: Vec<String> =
            found.iter().filter_map(|(_, v)| dec::<Method>(v).ok().and_then(|m| m.credential_id)).collect();
        let keys: Vec<::sled::IVec> = found.into_iter().map(|(k, _)| k).collect();
        (&self.methods, &self.method_keys, &self.credentials, &self.recovery, &self.audit)
            .transaction(|(methods, method_keys, credentials, recovery, log)| {
                for k in &keys {
                    methods.remove(k)?;
                    method_keys.remove(k)?;
                }
                for c in &creds {
                    credentials.remove(c.as_bytes())?;
                }
                recovery.remove(user_id.as_bytes())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.delete_user_sessions(user_id)?;
        self.flush()?;
        Ok(keys.len() as u64)
    }

    fn method_counts(&self) -> StoreResult<std::collections::HashMap<String, u32>> {
        let mut out = std::collections::HashMap::new();
        for k in self.method_keys.iter().keys() {
            let k = k.map_err(backend)?;
            let Some(split) = k.iter().position(|b| *b == 0) else { continue };
            *out.entry(String::from_utf8_lossy(&k[..split]).into_owned()).or_insert(0) += 1;
        }
        Ok(out)
    }

    fn methods_and_codes(
        &self,
        user_id: &str,
    ) -> StoreResult<(Vec<Method>, Option<crate::domain::model::RecoveryCodeSet>)> {
        use crate::store::RecoveryStore as _;
        Ok((self.methods(user_id)?, self.recovery_codes(user_id)?))
    }

    fn passkey_users(&self) -> StoreResult<std::collections::HashSet<String>> {
        // The credential index names each passkey's method key (user, NUL, method id).
        let mut out = std::collections::HashSet::new();
        for v in self.credentials.iter().values() {
            let v = v.map_err(backend)?;
            let Some(split) = v.iter().position(|b| *b == 0) else { continue };
            out.insert(String::from_utf8_lossy(&v[..split]).into_owned());
        }
        Ok(out)
    }

    fn record_passkey_use(
        &self,
        user_id: &str,
        id: &str,
        passkey: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let key = method_key(user_id, id);
        self.methods
            .transaction(|methods| {
                let Some(v) = methods.get(&key)? else { return abort(StoreError::NotFound) };
                let mut m: Method = tx_dec(&v)?;
                if let Some(p) = passkey {
                    m.passkey = Some(p.to_owned());
                }
                m.last_used_at = Some(at);
                methods.insert(key.as_slice(), tx_enc(&m)?)?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn credential_taken(&self, credential_id: &str) -> StoreResult<bool> {
        self.credentials.contains_key(credential_id.as_bytes()).map_err(backend)
    }
}

impl RecoveryStore for SledStore {
    fn recovery_codes(&self, user_id: &str) -> StoreResult<Option<crate::domain::model::RecoveryCodeSet>> {
        self.recovery.get(user_id.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn set_recovery_codes(
        &self,
        user_id: &str,
        codes: &crate::domain::model::RecoveryCodeSet,
        audit: AuditDraft,
    ) -> StoreResult<()> {
        let bytes = enc(codes)?;
        (&self.users, &self.recovery, &self.audit)
            .transaction(|(users, recovery, log)| {
                if users.get(user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                recovery.insert(user_id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn use_recovery_code(&self, user_id: &str, hash: &str, audit: AuditDraft) -> StoreResult<Option<u32>> {
        let out = (&self.recovery, &self.audit)
            .transaction(|(recovery, log)| {
                let Some(v) = recovery.get(user_id.as_bytes())? else { return Ok(None) };
                let mut set: crate::domain::model::RecoveryCodeSet = tx_dec(&v)?;
                if !set.spend(hash) {
                    return Ok(None);
                }
                recovery.insert(user_id.as_bytes(), tx_enc(&set)?)?;
                let mut entry = audit.clone();
                entry.0.changes.push(set.spent_change());
                Self::insert_audit_tx(log, entry)?;
                Ok(Some(set.remaining()))
            })
            .map_err(tx_err)?;
        self.flush()?;
        Ok(out)
    }
}
