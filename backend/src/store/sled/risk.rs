//! Risk profiles (one per user) and detections (by time, indexed by user).

use crate::domain::records::DetectionRecord;
use crate::domain::risk::Profile;
use ::sled::transaction::Transactional;
use proofup_shared::api::Page;
use time::OffsetDateTime;

use super::*;

fn index_key(user_id: &str, key: &[u8]) -> Vec<u8> {
    let mut k = user_prefix(user_id);
    k.extend_from_slice(key);
    k
}

impl RiskStore for SledStore {
    fn risk_profile(&self, user_id: &str) -> StoreResult<Option<Profile>> {
        self.risk_profiles.get(user_id.as_bytes()).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn put_risk_profile(&self, profile: &Profile) -> StoreResult<()> {
        self.risk_profiles.insert(profile.user_id.as_bytes(), enc(profile)?).map_err(backend)?;
        Ok(())
    }

    fn learn_risk_profile(&self, user_id: &str, seen: &crate::domain::risk::Seen) -> StoreResult<()> {
        self.risk_profiles
            .transaction(|t| {
                let mut p = match t.get(user_id.as_bytes())? {
                    Some(v) => tx_dec::<Profile>(&v).unwrap_or_else(|_| Profile::new(user_id, seen.at)),
                    None => Profile::new(user_id, seen.at),
                };
                p.remember(seen.clone());
                t.insert(user_id.as_bytes(), tx_enc(&p)?)?;
                Ok(())
            })
            .map_err(tx_err)
    }

    fn for_each_risk_profile(&self, f: &mut dyn FnMut(Profile)) -> StoreResult<()> {
        for v in self.risk_profiles.iter().values() {
            // A profile that does not decode is skipped: it only ever lowers what is familiar.
            if let Ok(p) = dec::<Profile>(&v.map_err(backend)?) {
                f(p);
            }
        }
        Ok(())
    }

    fn add_detections(&self, found: &[DetectionRecord]) -> StoreResult<()> {
        let mut rows = Vec::with_capacity(found.len());
        for d in found {
            let key = log_key(d.at, self.db.generate_id().map_err(backend)?);
            let mut d = d.clone();
            d.id = hex(&key);
            rows.push((key, enc(&d)?, index_key(&d.user_id, &key)));
        }
        (&self.detections, &self.user_detections)
            .transaction(|(detections, index)| {
                for (key, doc, ix) in &rows {
                    detections.insert(&key[..], doc.as_slice())?;
                    index.insert(ix.as_slice(), &[][..])?;
                }
                Ok(())
            })
            .map_err(tx_err)
    }

    fn user_detections(&self, user_id: &str) -> StoreResult<Vec<DetectionRecord>> {
        let prefix = user_prefix(user_id);
        let mut out = Vec::new();
        for k in self.user_detections.scan_prefix(&prefix).keys().rev() {
            let k = k.map_err(backend)?;
            if let Some(v) = self.detections.get(&k[prefix.len()..]).map_err(backend)? {
                out.push(dec(&v)?);
            }
        }
        Ok(out)
    }

    fn list_detections(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<DetectionRecord>> {
        Self::list_newest_first(&self.detections, (None, None), &|_: &DetectionRecord| true, after, limit)
    }

    fn update_detections(
        &self,
        user_id: &str,
        change: &crate::domain::risk::StateChange,
        audit: Option<AuditDraft>,
    ) -> StoreResult<u64> {
        let prefix = user_prefix(user_id);
        let keys: Vec<Vec<u8>> = self
            .user_detections
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| k[prefix.len()..].to_vec()).map_err(backend))
            .collect::<StoreResult<_>>()?;
        let changed = (&self.detections, &self.audit)
            .transaction(|(detections, log)| {
                let mut n = 0u64;
                for key in &keys {
                    let Some(v) = detections.get(key)? else { continue };
                    let mut d: DetectionRecord = tx_dec(&v)?;
                    if change.apply(&mut d) {
                        detections.insert(key.as_slice(), tx_enc(&d)?)?;
                        n += 1;
                    }
                }
                if n > 0 {
                    if let Some(a) = &audit {
                        Self::insert_audit_tx(log, a.clone())?;
                    }
                }
                Ok(n)
            })
            .map_err(tx_err)?;
        Ok(changed)
    }

    fn prune_detections(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut removed = 0;
        for kv in self.detections.range(..log_key(before, 0)) {
            let (k, v) = kv.map_err(backend)?;
            if let Ok(d) = dec::<DetectionRecord>(&v) {
                self.user_detections.remove(index_key(&d.user_id, &k)).map_err(backend)?;
            }
            self.detections.remove(k).map_err(backend)?;
            removed += 1;
        }
        Ok(removed)
    }
}
