//! Policy versions and each user's registration state.

use crate::store::Conflict;
use ::sled::transaction::Transactional;

use super::*;

impl PolicyStore for SledStore {
    fn policy(&self) -> StoreResult<PolicyRecord> {
        match self.policy_versions.last().map_err(backend)? {
            Some((_, v)) => dec(&v),
            None => Ok(PolicyRecord::never_saved()),
        }
    }

    fn save_policy(&self, next: &PolicyRecord, based_on: u64, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(next)?;
        (&self.policy_versions, &self.audit)
            .transaction(|(versions, log)| {
                let latest = versions.get((based_on + 1).to_be_bytes())?;
                let base_ok = based_on == 0 || versions.get(based_on.to_be_bytes())?.is_some();
                if latest.is_some() || !base_ok || next.version != based_on + 1 {
                    return abort(StoreError::Conflict(Conflict::StalePolicy));
                }
                versions.insert(&next.version.to_be_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn policy_versions(&self, limit: usize) -> StoreResult<Vec<PolicyRecord>> {
        self.policy_versions.iter().values().rev().take(limit).map(|v| dec(&v.map_err(backend)?)).collect()
    }

    fn registration_state(&self, user_id: &str) -> StoreResult<RegistrationState> {
        Ok(self.regstate.get(user_id).map_err(backend)?.map(|v| dec(&v)).transpose()?.unwrap_or_default())
    }

    fn all_registration_states(&self) -> StoreResult<std::collections::HashMap<String, RegistrationState>> {
        let mut out = std::collections::HashMap::new();
        for kv in self.regstate.iter() {
            let (k, v) = kv.map_err(backend)?;
            out.insert(String::from_utf8_lossy(&k).into_owned(), dec(&v)?);
        }
        Ok(out)
    }

    fn put_registration_state(
        &self,
        user_id: &str,
        state: &RegistrationState,
        audit: Option<AuditDraft>,
    ) -> StoreResult<()> {
        let bytes = enc(state)?;
        (&self.users, &self.regstate, &self.audit)
            .transaction(|(users, regstate, log)| {
                if users.get(user_id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                regstate.insert(user_id.as_bytes(), bytes.clone())?;
                if let Some(a) = &audit {
                    Self::insert_audit_tx(log, a.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}
