//! The audit log, the sign-in log and emergency-access alerts: keys sort by time.

use crate::domain::records::{AuditRecord, SignInRecord};
use ::sled::transaction::{ConflictableTransactionError, Transactional};
use proofup_shared::api::Page;
use time::OffsetDateTime;

use super::*;

impl SledStore {
    pub(super) fn list_newest_first<T: DeserializeOwned>(
        tree: &::sled::Tree,
        window: (Option<OffsetDateTime>, Option<OffsetDateTime>),
        keep: &dyn Fn(&T) -> bool,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<T>> {
        let (from, to) = window;
        // Keys start with the time in milliseconds: the window is a key range.
        let lower = log_key(from.unwrap_or(OffsetDateTime::UNIX_EPOCH), 0).to_vec();
        let mut upper = match to {
            Some(t) => log_key(t, u64::MAX).to_vec(),
            None => vec![0xff; 17],
        };
        if let Some(a) = after {
            let key = unhex(a).filter(|k| k.len() == 16).ok_or(StoreError::BadCursor)?;
            // The cursor itself was the last entry of the previous page: the range excludes it.
            if key < upper {
                upper = key;
            }
        }
        let mut items = Vec::with_capacity(limit.min(256));
        let mut last = None;
        let mut scanned = 0;
        for kv in tree.range(lower..upper).rev() {
            let (k, v) = kv.map_err(backend)?;
            scanned += 1;
            last = Some(hex(&k));
            let item: T = dec(&v)?;
            if keep(&item) {
                items.push(item);
                if items.len() == limit {
                    break;
                }
            }
            if scanned >= SCAN_BUDGET {
                break;
            }
        }
        let next_after = if items.len() == limit || scanned >= SCAN_BUDGET { last } else { None };
        Ok(Page { items, next_after })
    }

    /// Removes a log's entries older than `before` (a key range: keys start with the time), then
    /// its oldest entries beyond `max_rows`.
    fn prune_log(tree: &::sled::Tree, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        let mut removed = 0u64;
        let cutoff = log_key(before, 0);
        for k in tree.range(..cutoff).keys() {
            tree.remove(k.map_err(backend)?).map_err(backend)?;
            removed += 1;
        }
        let len = tree.len() as u64;
        if len > max_rows {
            for k in tree.iter().keys().take((len - max_rows) as usize) {
                tree.remove(k.map_err(backend)?).map_err(backend)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl AuditLog for SledStore {
    fn append_audit(&self, entry: AuditDraft) -> StoreResult<()> {
        self.audit.transaction(|log| Self::insert_audit_tx(log, entry.clone())).map_err(tx_err)
    }

    fn search_audit(&self, filter: &AuditFilter, after: Option<&str>, limit: usize) -> StoreResult<Page<AuditRecord>> {
        Self::list_newest_first(&self.audit, (filter.from, filter.to), &|e| filter.matches(e), after, limit)
    }

    fn count_audit(&self) -> StoreResult<u64> {
        Ok(self.audit.len() as u64)
    }

    fn prune_audit(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        Self::prune_log(&self.audit, before, max_rows)
    }
}

impl SignInLog for SledStore {
    fn for_each_sign_in(&self, from: OffsetDateTime, f: &mut dyn FnMut(SignInRecord)) -> StoreResult<u64> {
        let mut n = 0;
        for v in self.signins.range(log_key(from, 0)..).values() {
            if let Ok(e) = dec::<SignInRecord>(&v.map_err(backend)?) {
                f(e);
                n += 1;
            }
        }
        Ok(n)
    }

    fn append_sign_in(&self, mut entry: SignInRecord) -> StoreResult<()> {
        let key = log_key(entry.at, self.db.generate_id().map_err(backend)?);
        entry.id = hex(&key);
        self.signins.insert(key, enc(&entry)?).map_err(backend)?;
        Ok(())
    }

    fn count_sign_in(&self, key: &str, entry: SignInRecord) -> StoreResult<()> {
        // This minute's row exists: add one to it in place, a compare-and-swap on that one row and
        // no transaction (the requests of one client in one minute all meet here: as transactions
        // over two trees they conflicted and retried, and client credentials ran at half speed).
        if let Some(at) = self.signin_counts.get(key.as_bytes()).map_err(backend)? {
            let mut counted = false;
            self.signins
                .fetch_and_update(&at, |old| {
                    let old = old?;
                    let next = counted_once_more(old, &entry.username);
                    counted = next.is_some();
                    Some(next.unwrap_or_else(|| old.to_vec()))
                })
                .map_err(backend)?;
            if counted {
                return Ok(());
            }
        }
        let fresh = log_key(entry.at, self.db.generate_id().map_err(backend)?);
        let created = (&self.signins, &self.signin_counts)
            .transaction(|(log, counts)| {
                if let Some(at) = counts.get(key.as_bytes())? {
                    if let Some(v) = log.get(&at)? {
                        let row = counted_once_more(&v, &entry.username).ok_or_else(|| {
                            ConflictableTransactionError::Abort(StoreError::Backend("unreadable sign-in row".into()))
                        })?;
                        log.insert(&at, row)?;
                        return Ok(false);
                    }
                }
                let row = SignInRecord { id: hex(&fresh), count: 1, ..entry.clone() };
                log.insert(&fresh, tx_enc(&row)?)?;
                counts.insert(key.as_bytes(), &fresh)?;
                Ok(true)
            })
            .map_err(tx_err)?;
        if created {
            // Keys begin with their minute: those two minutes old will not be counted in again.
            let cut = key.split('|').next().and_then(|m| m.parse::<i64>().ok()).map(|m| format!("{:012}", m - 2));
            if let Some(cut) = cut {
                for k in self.signin_counts.range(..cut.as_bytes()).keys() {
                    self.signin_counts.remove(k.map_err(backend)?).map_err(backend)?;
                }
            }
        }
        Ok(())
    }

    fn search_sign_ins(
        &self,
        filter: &SignInFilter,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<SignInRecord>> {
        Self::list_newest_first(&self.signins, (filter.from, filter.to), &|e| filter.matches(e), after, limit)
    }

    fn count_sign_ins(&self) -> StoreResult<u64> {
        Ok(self.signins.len() as u64)
    }

    fn prune_sign_ins(&self, before: OffsetDateTime, max_rows: u64) -> StoreResult<u64> {
        Self::prune_log(&self.signins, before, max_rows)
    }
}

impl AlertStore for SledStore {
    fn add_alert(&self, mut alert: crate::domain::records::AlertRecord) -> StoreResult<()> {
        let key = log_key(alert.at, self.db.generate_id().map_err(backend)?);
        alert.id = hex(&key);
        self.alerts.insert(key, enc(&alert)?).map_err(backend)?;
        Ok(())
    }

    fn alert(&self, id: &str) -> StoreResult<Option<crate::domain::records::AlertRecord>> {
        let Some(key) = unhex(id) else { return Ok(None) };
        self.alerts.get(key).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn open_alerts(&self, limit: usize) -> StoreResult<Vec<crate::domain::records::AlertRecord>> {
        let mut out = Vec::new();
        for v in self.alerts.iter().values().rev() {
            let a: crate::domain::records::AlertRecord = dec(&v.map_err(backend)?)?;
            if a.acknowledged_at.is_none() {
                out.push(a);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn acknowledge_alert(&self, id: &str, by: &str, at: OffsetDateTime, audit: AuditDraft) -> StoreResult<()> {
        let key = unhex(id).ok_or(StoreError::NotFound)?;
        (&self.alerts, &self.audit)
            .transaction(|(alerts, log)| {
                let Some(v) = alerts.get(&key)? else { return abort(StoreError::NotFound) };
                let mut a: crate::domain::records::AlertRecord = tx_dec(&v)?;
                if a.acknowledged_at.is_none() {
                    a.acknowledged_by = Some(by.to_owned());
                    a.acknowledged_at = Some(at);
                    alerts.insert(key.as_slice(), tx_enc(&a)?)?;
                    Self::insert_audit_tx(log, audit.clone())?;
                }
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }
}

/// A counted sign-in row with one more attempt, named after the latest username; `None` when the
/// stored row cannot be read.
fn counted_once_more(row: &[u8], username: &str) -> Option<Vec<u8>> {
    let mut row: SignInRecord = serde_json::from_slice(row).ok()?;
    row.count = row.count.saturating_add(1);
    username.clone_into(&mut row.username);
    serde_json::to_vec(&row).ok()
}
