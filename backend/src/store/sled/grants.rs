//! Flows, codes and access tokens of sign-ins through applications.

use super::*;

impl GrantStore for SledStore {
    fn put_flow(&self, flow: &Flow) -> StoreResult<()> {
        self.flows.insert(flow.id.as_bytes(), enc(flow)?).map_err(backend)?;
        Ok(())
    }

    fn flow(&self, id: &str) -> StoreResult<Option<Flow>> {
        self.flows.get(id.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn delete_flow(&self, id: &str) -> StoreResult<()> {
        self.flows.remove(id.as_bytes()).map_err(backend)?;
        Ok(())
    }

    fn put_code(&self, key: &[u8; 32], code: &CodeGrant) -> StoreResult<()> {
        self.codes.insert(key, enc(code)?).map_err(backend)?;
        Ok(())
    }

    fn code(&self, key: &[u8; 32]) -> StoreResult<Option<CodeGrant>> {
        self.codes.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn spend_code(&self, key: &[u8; 32], issued: &[u8; 32]) -> StoreResult<Option<CodeGrant>> {
        let mut failed = None;
        let before = self
            .codes
            .fetch_and_update(key, |old| {
                let old = old?;
                match serde_json::from_slice::<CodeGrant>(old) {
                    Ok(mut g) => {
                        g.spent = true;
                        g.issued.push(*issued);
                        serde_json::to_vec(&g).ok().or_else(|| Some(old.to_vec()))
                    }
                    Err(e) => {
                        failed = Some(e.to_string());
                        Some(old.to_vec())
                    }
                }
            })
            .map_err(backend)?;
        if let Some(e) = failed {
            return Err(StoreError::Backend(e));
        }
        before.map(|v| dec(&v)).transpose()
    }

    fn put_access_token(&self, key: &[u8; 32], grant: &AccessGrant) -> StoreResult<()> {
        self.access_tokens.insert(key, enc(grant)?).map_err(backend)?;
        Ok(())
    }

    fn access_token(&self, key: &[u8; 32]) -> StoreResult<Option<AccessGrant>> {
        self.access_tokens.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn revoke_access_tokens(&self, keys: &[[u8; 32]]) -> StoreResult<()> {
        let mut b = ::sled::Batch::default();
        for k in keys {
            b.remove(&k[..]);
        }
        self.access_tokens.apply_batch(b).map_err(backend)
    }

    fn sweep_grants(&self, now: OffsetDateTime) -> StoreResult<u64> {
        #[derive(serde::Deserialize)]
        struct Expiry {
            #[serde(with = "time::serde::rfc3339")]
            expires_at: OffsetDateTime,
        }
        let mut n = 0;
        for tree in [&self.flows, &self.codes, &self.access_tokens] {
            let mut b = ::sled::Batch::default();
            for kv in tree.iter() {
                let (k, v) = kv.map_err(backend)?;
                if serde_json::from_slice::<Expiry>(&v).is_ok_and(|e| e.expires_at <= now) {
                    b.remove(k);
                    n += 1;
                }
            }
            tree.apply_batch(b).map_err(backend)?;
        }
        Ok(n)
    }
}
