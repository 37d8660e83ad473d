//! Bulk writes for `proofup seed` and benchmarks: batches per tree, no audit entries.

use proofup_shared::directory::MemberKind;

use super::*;

impl SledStore {
    /// Benchmarks: methods for seeded users, in one batch (no audit entries).
    pub fn seed_methods(&self, methods: &[Method]) -> StoreResult<()> {
        let (mut b, mut keys) = (::sled::Batch::default(), ::sled::Batch::default());
        for m in methods {
            b.insert(method_key(&m.user_id, &m.id), enc(m)?);
            keys.insert(method_key(&m.user_id, &m.id), &[][..]);
        }
        self.method_keys.apply_batch(keys).map_err(backend)?;
        self.methods.apply_batch(b).map_err(backend)
    }

    /// Bulk-writes a synthetic directory (`proofup seed`): batches per tree, one flush.
    /// Existing records with the same ids or names are overwritten.
    pub fn seed_directory(
        &self,
        users: &[User],
        groups: &[Group],
        edges: &[(String, MemberKind, String)],
    ) -> StoreResult<()> {
        let (mut u, mut un, mut g, mut gn, mut e, mut mo) = (
            ::sled::Batch::default(),
            ::sled::Batch::default(),
            ::sled::Batch::default(),
            ::sled::Batch::default(),
            ::sled::Batch::default(),
            ::sled::Batch::default(),
        );
        for x in users {
            u.insert(x.id.as_bytes(), enc(x)?);
            un.insert(x.username.as_bytes(), x.id.as_bytes());
        }
        for x in groups {
            g.insert(x.id.as_bytes(), enc(x)?);
            gn.insert(Group::name_key(&x.name).as_bytes(), x.id.as_bytes());
        }
        for (group, kind, member) in edges {
            e.insert(edge_key(group, *kind, member), &[][..]);
            mo.insert(member_of_key(*kind, member, group), &[][..]);
        }
        self.users.apply_batch(u).map_err(backend)?;
        self.usernames.apply_batch(un).map_err(backend)?;
        self.groups.apply_batch(g).map_err(backend)?;
        self.groupnames.apply_batch(gn).map_err(backend)?;
        self.edges.apply_batch(e).map_err(backend)?;
        self.member_of.apply_batch(mo).map_err(backend)?;
        self.flush()
    }
}
