//! Groups, their names and membership edges (both directions).

use crate::store::Conflict;
use ::sled::transaction::Transactional;
use proofup_shared::api::Page;
use proofup_shared::directory::MemberKind;

use super::*;

impl GroupStore for SledStore {
    fn group(&self, id: &str) -> StoreResult<Option<Group>> {
        self.groups.get(id).map_err(backend)?.map(|v| dec(&v)).transpose()
    }

    fn group_by_name(&self, name: &str) -> StoreResult<Option<Group>> {
        match self.groupnames.get(Group::name_key(name)).map_err(backend)? {
            Some(id) => self.group(std::str::from_utf8(&id).map_err(backend)?),
            None => Ok(None),
        }
    }

    fn count_groups(&self) -> StoreResult<u64> {
        Ok(self.groupnames.len() as u64)
    }

    fn create_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(group)?;
        let key = Group::name_key(&group.name);
        (&self.groups, &self.groupnames, &self.audit)
            .transaction(|(groups, names, log)| {
                if names.get(key.as_bytes())?.is_some() {
                    return abort(StoreError::Conflict(Conflict::GroupNameTaken(group.name.clone())));
                }
                names.insert(key.as_bytes(), group.id.as_bytes())?;
                groups.insert(group.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn update_group(&self, group: &Group, audit: AuditDraft) -> StoreResult<()> {
        let bytes = enc(group)?;
        let key = Group::name_key(&group.name);
        (&self.groups, &self.groupnames, &self.audit)
            .transaction(|(groups, names, log)| {
                let Some(old) = groups.get(group.id.as_bytes())? else { return abort(StoreError::NotFound) };
                let old: Group = tx_dec(&old)?;
                let old_key = Group::name_key(&old.name);
                if old_key != key {
                    if names.get(key.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::GroupNameTaken(group.name.clone())));
                    }
                    names.remove(old_key.as_bytes())?;
                    names.insert(key.as_bytes(), group.id.as_bytes())?;
                }
                groups.insert(group.id.as_bytes(), bytes.clone())?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn delete_group(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
        let members = self.members(id)?;
        let parents = self.direct_parents(MemberKind::Group, id)?;
        (&self.groups, &self.groupnames, &self.edges, &self.member_of, &self.audit)
            .transaction(|(groups, names, edges, member_of, log)| {
                let Some(old) = groups.remove(id.as_bytes())? else { return abort(StoreError::NotFound) };
                let old: Group = tx_dec(&old)?;
                names.remove(Group::name_key(&old.name).as_bytes())?;
                for (kind, m) in &members {
                    edges.remove(edge_key(id, *kind, m))?;
                    member_of.remove(member_of_key(*kind, m, id))?;
                }
                for p in &parents {
                    edges.remove(edge_key(p, MemberKind::Group, id))?;
                    member_of.remove(member_of_key(MemberKind::Group, id, p))?;
                }
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn list_groups(&self, prefix: &str, after: Option<&str>, limit: usize) -> StoreResult<Page<Group>> {
        let start: Vec<u8> = match after {
            Some(a) if a.as_bytes() >= prefix.as_bytes() => {
                let mut k = a.as_bytes().to_vec();
                k.push(0);
                k
            }
            _ => prefix.as_bytes().to_vec(),
        };
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        for kv in self.groupnames.range(start..) {
            let (name, id) = kv.map_err(backend)?;
            if !name.starts_with(prefix.as_bytes()) || items.len() == limit {
                break;
            }
            if let Some(g) = self.group(std::str::from_utf8(&id).map_err(backend)?)? {
                items.push(g);
                last = Some(String::from_utf8_lossy(&name).into_owned());
            }
        }
        let next_after = if items.len() == limit { last } else { None };
        Ok(Page { items, next_after })
    }

    fn add_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<bool> {
        let added = (&self.groups, &self.edges, &self.member_of, &self.audit)
            .transaction(|(groups, edges, member_of, log)| {
                if groups.get(group.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if edges.insert(edge_key(group, kind, member), &[][..])?.is_some() {
                    return Ok(false);
                }
                member_of.insert(member_of_key(kind, member, group), &[][..])?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(true)
            })
            .map_err(tx_err)?;
        self.flush()?;
        Ok(added)
    }

    fn remove_member(&self, group: &str, kind: MemberKind, member: &str, audit: AuditDraft) -> StoreResult<()> {
        (&self.edges, &self.member_of, &self.audit)
            .transaction(|(edges, member_of, log)| {
                if edges.remove(edge_key(group, kind, member))?.is_none() {
                    return abort(StoreError::NotFound);
                }
                member_of.remove(member_of_key(kind, member, group))?;
                Self::insert_audit_tx(log, audit.clone())?;
                Ok(())
            })
            .map_err(tx_err)?;
        self.flush()
    }

    fn members(&self, group: &str) -> StoreResult<Vec<(MemberKind, String)>> {
        let prefix = user_prefix(group);
        let mut out = Vec::new();
        for k in self.edges.scan_prefix(&prefix).keys() {
            let k = k.map_err(backend)?;
            let rest = &k[prefix.len()..];
            let kind = if rest.first() == Some(&b'g') { MemberKind::Group } else { MemberKind::User };
            out.push((kind, String::from_utf8_lossy(&rest[2..]).into_owned()));
        }
        Ok(out)
    }

    fn direct_parents(&self, kind: MemberKind, member: &str) -> StoreResult<Vec<String>> {
        let prefix = member_of_prefix(kind, member);
        self.member_of
            .scan_prefix(&prefix)
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[prefix.len()..]).into_owned()).map_err(backend))
            .collect()
    }

    fn for_each_edge(&self, f: &mut dyn FnMut(&str, MemberKind, &str)) -> StoreResult<()> {
        for k in self.edges.iter().keys() {
            let k = k.map_err(backend)?;
            let Some(split) = k.iter().position(|b| *b == 0) else { continue };
            let rest = &k[split + 1..];
            if rest.len() < 2 {
                continue;
            }
            let kind = if rest[0] == b'g' { MemberKind::Group } else { MemberKind::User };
            f(&String::from_utf8_lossy(&k[..split]), kind, &String::from_utf8_lossy(&rest[2..]));
        }
        Ok(())
    }
}
