//! Flows, codes, grants, refresh and access tokens of sign-ins through applications.

use super::*;
use crate::domain::oidc::grant::FLOW_KEPT_AFTER_EXPIRY;

impl GrantStore for SledStore {
    fn put_flow(&self, flow: &Flow) -> StoreResult<()> {
        self.expires(Kind::Flow, flow.id.as_bytes(), flow.expires_at + Kind::Flow.kept())?;
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
        self.expires(Kind::Code, key, code.expires_at)?;
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
        self.expires(Kind::AccessToken, key, grant.expires_at)?;
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
        let key = grant_key(&grant.user_id, &grant.id);
        self.expires(Kind::Grant, &key, grant.expires_at)?;
        self.grants.insert(key, enc(grant)?).map_err(backend)?;
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
        self.expires(Kind::RefreshToken, key, token.expires_at)?;
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
        // What expired, in expiry order from the index: the sweep reads what it removes, not
        // every record of the trees (a million live refresh tokens were read every minute).
        // Removed in batches of SWEEP_BATCH, never one batch for everything: a million expired
        // access tokens in one atomic batch held ~4 GiB while it was applied (issue 31).
        let mut n = 0;
        let mut batches: [(::sled::Batch, usize); 5] = Default::default();
        let mut done = ::sled::Batch::default();
        let mut in_done = 0;
        // Every entry of a second up to this one.
        let upto = expiry_prefix(now + time::Duration::seconds(1));
        for kv in self.expiries.range(..upto) {
            let (entry, _) = kv.map_err(backend)?;
            let Some((second, kind, key)) = Kind::of(&entry) else {
                done.remove(entry);
                in_done += 1;
                continue;
            };
            let tree = self.tree_of(kind);
            let record = tree.get(key).map_err(backend)?;
            let until = record.as_deref().map(|v| record_expiry(v).map(|at| at + kind.kept()));
            let expired = match until {
                // Removed before its time, or expired.
                None => false,
                Some(None) => true,
                Some(Some(at)) if at <= now => true,
                // Later in this second: the entry waits for the next sweep.
                Some(Some(at)) if expiry_prefix(at) == second => continue,
                // Written again with a later expiry: its newer entry removes it.
                Some(Some(_)) => false,
            };
            if expired {
                let (b, count) = &mut batches[kind as usize];
                b.remove(key);
                *count += 1;
                n += 1;
                if *count == SWEEP_BATCH {
                    tree.apply_batch(std::mem::take(b)).map_err(backend)?;
                    *count = 0;
                }
            }
            done.remove(entry);
            in_done += 1;
            if in_done == SWEEP_BATCH {
                self.expiries.apply_batch(std::mem::take(&mut done)).map_err(backend)?;
                in_done = 0;
            }
        }
        for (kind, (b, _)) in Kind::ALL.into_iter().zip(batches) {
            self.tree_of(kind).apply_batch(b).map_err(backend)?;
        }
        self.expiries.apply_batch(done).map_err(backend)?;
        Ok(n)
    }
}

/// The trees the expiry index covers (the tag byte of its entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flow = 0,
    Code = 1,
    AccessToken = 2,
    Grant = 3,
    RefreshToken = 4,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Flow, Kind::Code, Kind::AccessToken, Kind::Grant, Kind::RefreshToken];

    /// The second (as its prefix), kind and record key of an index entry.
    fn of(entry: &[u8]) -> Option<([u8; 8], Kind, &[u8])> {
        let second = entry.get(..8)?.try_into().ok()?;
        let tag = *entry.get(8)?;
        Some((second, *Self::ALL.get(usize::from(tag))?, &entry[9..]))
    }

    /// How long a record is kept after it expires (a flow: to answer its late browser).
    fn kept(self) -> time::Duration {
        if self == Kind::Flow {
            FLOW_KEPT_AFTER_EXPIRY
        } else {
            time::Duration::ZERO
        }
    }
}

/// The first 8 bytes of an index entry: the second a record expires in, ordered as bytes.
fn expiry_prefix(at: OffsetDateTime) -> [u8; 8] {
    ((at.unix_timestamp() as u64) ^ (1 << 63)).to_be_bytes()
}

/// An index entry: the second its record expires in, its kind and its key.
fn expiry_key(kind: Kind, key: &[u8], at: OffsetDateTime) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.extend_from_slice(&expiry_prefix(at));
    k.push(kind as u8);
    k.extend_from_slice(key);
    k
}

/// A record's `expires_at` (None if it has none readable: swept).
fn record_expiry(v: &[u8]) -> Option<OffsetDateTime> {
    #[derive(serde::Deserialize)]
    struct Expiry {
        #[serde(with = "time::serde::rfc3339")]
        expires_at: OffsetDateTime,
    }
    serde_json::from_slice::<Expiry>(v).ok().map(|e| e.expires_at)
}

impl SledStore {
    fn tree_of(&self, kind: Kind) -> &::sled::Tree {
        match kind {
            Kind::Flow => &self.flows,
            Kind::Code => &self.codes,
            Kind::AccessToken => &self.access_tokens,
            Kind::Grant => &self.grants,
            Kind::RefreshToken => &self.refresh_tokens,
        }
    }

    /// Indexes a record by the second it may be removed, before the record is written: sled
    /// recovers a prefix of its log, so a record is never without its entry (an entry without
    /// its record is passed over).
    fn expires(&self, kind: Kind, key: &[u8], at: OffsetDateTime) -> StoreResult<()> {
        self.expiries.insert(expiry_key(kind, key, at), &[][..]).map_err(backend)?;
        Ok(())
    }

    /// Builds the index for the records of a store written before it (once, at open).
    pub(super) fn index_expiries(&self) -> ::sled::Result<()> {
        for kind in Kind::ALL {
            let mut b = ::sled::Batch::default();
            for kv in self.tree_of(kind).iter() {
                let (k, v) = kv?;
                let at = record_expiry(&v).map_or(OffsetDateTime::UNIX_EPOCH, |at| at + kind.kept());
                b.insert(expiry_key(kind, &k, at), &[][..]);
            }
            self.expiries.apply_batch(b)?;
        }
        Ok(())
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
