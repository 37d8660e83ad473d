//! Applications (OIDC clients) and the signing-key set.

use crate::store::Conflict;
use ::sled::transaction::Transactional;

use super::*;

const KEY_SET: &[u8] = b"set";

impl ApplicationStore for SledStore {
    fn applications(&self) -> StoreResult<Vec<Application>> {
        self.applications.iter().values().map(|v| dec(&v.map_err(backend)?)).collect()
    }

    fn application(&self, id: &str) -> StoreResult<Option<Application>> {
        self.applications.get(id.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn create_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(app)?;
        (&self.applications, &self.audit)
            .transaction(|(apps, log)| {
                if apps.get(app.id.as_bytes())?.is_some() {
                    return abort(StoreError::Conflict(Conflict::ApplicationExists));
                }
                apps.insert(app.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn update_application(&self, app: &Application, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(app)?;
        (&self.applications, &self.audit)
            .transaction(|(apps, log)| {
                if apps.get(app.id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                apps.insert(app.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_application(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.applications, &self.audit)
            .transaction(|(apps, log)| {
                if apps.remove(id.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                Self::insert_audit_tx(log, audit.clone())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        Ok(self.signing_keys.get(KEY_SET).map_err(backend)?.map(|v| dec(&v)).transpose()?.unwrap_or_default())
    }

    fn replace_signing_keys(
        &self,
        before: &[SigningKey],
        after: &[SigningKey],
        audit: Option<AuditDraft>,
    ) -> StoreResult<()> {
        let bytes = enc(&after)?;
        (&self.signing_keys, &self.audit)
            .transaction(|(keys, log)| {
                let current: Vec<SigningKey> = match keys.get(KEY_SET)? {
                    Some(v) => tx_dec(&v)?,
                    None => Vec::new(),
                };
                if current != before {
                    return abort(StoreError::Conflict(Conflict::SigningKeysChanged));
                }
                keys.insert(KEY_SET, bytes.clone())?;
                if let Some(a) = &audit {
                    Self::insert_audit_tx(log, a.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}
