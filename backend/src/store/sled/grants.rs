//! Flows, codes, grants, refresh and access tokens of sign-ins through applications.

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
        update_json(&self.codes, key, |g: &mut CodeGrant| {
            g.spent = true;
            g.issued.push(*issued);
        })
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

    fn put_grant(&self, grant: &Grant) -> StoreResult<()> {
        self.grants.insert(grant_key(&grant.user_id, &grant.id), enc(grant)?).map_err(backend)?;
        Ok(())
    }

    fn grant(&self, user_id: &str, id: &str) -> StoreResult<Option<Grant>> {
        self.grants.get(grant_key(user_id, id)).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn end_grant(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        Ok(self.grants.remove(grant_key(user_id, id)).map_err(backend)?.is_some())
    }

    fn end_user_grants(&self, user_id: &str, sid: Option<&str>) -> StoreResult<u64> {
        let mut b = ::sled::Batch::default();
        let mut n = 0;
        for kv in self.grants.scan_prefix(grant_key(user_id, "")) {
            let (k, v) = kv.map_err(backend)?;
            // The rule is the domain's (`Grant::ends_with_sign_out_of`).
            let ends = match sid {
                None => true,
                Some(sid) => dec::<Grant>(&v).is_ok_and(|g| g.ends_with_sign_out_of(sid)),
            };
            if ends {
                b.remove(k);
                n += 1;
            }
        }
        self.grants.apply_batch(b).map_err(backend)?;
        Ok(n)
    }

    fn put_refresh_token(&self, key: &[u8; 32], token: &RefreshGrant) -> StoreResult<()> {
        self.refresh_tokens.insert(key, enc(token)?).map_err(backend)?;
        Ok(())
    }

    fn refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>> {
        self.refresh_tokens.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn spend_refresh_token(&self, key: &[u8; 32]) -> StoreResult<Option<RefreshGrant>> {
        update_json(&self.refresh_tokens, key, |t: &mut RefreshGrant| t.spent = true)
    }

    fn sweep_grants(&self, now: OffsetDateTime) -> StoreResult<u64> {
        #[derive(serde::Deserialize)]
        struct Expiry {
            #[serde(with = "time::serde::rfc3339")]
            expires_at: OffsetDateTime,
        }
        let mut n = 0;
        let kept = crate::domain::oidc::grant::FLOW_KEPT_AFTER_EXPIRY;
        for (tree, after) in [
            (&self.flows, kept),
            (&self.codes, time::Duration::ZERO),
            (&self.access_tokens, time::Duration::ZERO),
            (&self.grants, time::Duration::ZERO),
            (&self.refresh_tokens, time::Duration::ZERO),
        ] {
            // Removed in batches of SWEEP_BATCH, not one batch for the tree: an expired record
            // needs no company, and a million expired access tokens in one atomic batch held
            // ~4 GiB while it was applied (issue 31).
            let (mut b, mut in_batch) = (::sled::Batch::default(), 0);
            for kv in tree.iter() {
                let (k, v) = kv.map_err(backend)?;
                if serde_json::from_slice::<Expiry>(&v).is_ok_and(|e| e.expires_at + after <= now) {
                    b.remove(k);
                    n += 1;
                    in_batch += 1;
                    if in_batch == SWEEP_BATCH {
                        tree.apply_batch(std::mem::take(&mut b)).map_err(backend)?;
                        in_batch = 0;
                    }
                }
            }
            tree.apply_batch(b).map_err(backend)?;
        }
        Ok(n)
    }
}

/// Expired records removed per batch by the sweep.
const SWEEP_BATCH: usize = 1024;

/// A grant's key: user id, 0, grant id (every grant of a user under one prefix).
fn grant_key(user_id: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(user_id.len() + 1 + id.len());
    k.extend_from_slice(user_id.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Changes one JSON value in place, atomically (sled's compare-and-swap loop); returns it as it
/// was before, or `None` when the key is absent.
fn update_json<T: Serialize + DeserializeOwned>(
    tree: &::sled::Tree,
    key: &[u8; 32],
    change: impl Fn(&mut T),
) -> StoreResult<Option<T>> {
    let mut failed = None;
    let before = tree
        .fetch_and_update(key, |old| {
            let old = old?;
            match serde_json::from_slice::<T>(old) {
                Ok(mut v) => {
                    change(&mut v);
                    serde_json::to_vec(&v).ok().or_else(|| Some(old.to_vec()))
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
