//! Nested group membership: who is in which group, directly or through nesting,
//! and by which path. Pure and in memory; the store persists the direct edges and
//! the index is rebuilt from them at start and kept in step on every change.
//!
//! Lookups go upward: a user's direct groups, then each group's parents, breadth
//! first, so every group is reached by a shortest path and visited once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

#[derive(Debug, Default, Clone)]
pub struct MembershipIndex {
    /// user → groups that list the user directly, as interned group numbers. Users far
    /// outnumber groups, so this map is kept small: at 100k users it was ~40 MB as
    /// `String → HashSet<String>`, ~10 MB like this.
    user_groups: HashMap<Box<str>, Vec<u32>>,
    /// Group id ↔ number. A deleted group's number is not reused (its name stays, a few bytes).
    group_numbers: HashMap<Arc<str>, u32>,
    group_ids: Vec<Arc<str>>,
    /// group → groups that list it as a member (its parents)
    parents: HashMap<String, HashSet<String>>,
    /// group → groups it lists as members (its children)
    children: HashMap<String, HashSet<String>>,
}

/// A group a user belongs to, and the path from the user's direct group up to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group: String,
    /// `[direct group, …, group]`; length 1 for a direct membership.
    pub path: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("a group cannot contain itself")]
    SelfMember,
    #[error("adding this group would make a cycle: {0}")]
    Cycle(String),
}

impl MembershipIndex {
    fn group_number(&mut self, group: &str) -> u32 {
        if let Some(n) = self.group_numbers.get(group) {
            return *n;
        }
        let n = u32::try_from(self.group_ids.len()).unwrap_or(u32::MAX);
        let id: Arc<str> = group.into();
        self.group_ids.push(id.clone());
        self.group_numbers.insert(id, n);
        n
    }

    pub fn add_user(&mut self, group: &str, user: &str) {
        let n = self.group_number(group);
        let groups = self.user_groups.entry(user.into()).or_default();
        if !groups.contains(&n) {
            groups.push(n);
        }
    }

    pub fn remove_user(&mut self, group: &str, user: &str) {
        let Some(&n) = self.group_numbers.get(group) else { return };
        if let Some(g) = self.user_groups.get_mut(user) {
            g.retain(|x| *x != n);
            if g.is_empty() {
                self.user_groups.remove(user);
            }
        }
    }

    /// The user's direct groups, unsorted (bulk evaluation: no allocation).
    pub fn direct_groups_unsorted(&self, user: &str) -> impl Iterator<Item = &str> {
        self.user_groups.get(user).into_iter().flatten().map(|n| &*self.group_ids[*n as usize])
    }

    /// Checks that `child` may become a member of `parent` without a cycle.
    pub fn check_add_group(&self, parent: &str, child: &str) -> Result<(), MembershipError> {
        if parent == child {
            return Err(MembershipError::SelfMember);
        }
        // A cycle appears iff `child` is already `parent` or one of its ancestors.
        if let Some(path) = self.path_up(parent, child) {
            return Err(MembershipError::Cycle(path.join(" → ")));
        }
        Ok(())
    }

    pub fn add_group(&mut self, parent: &str, child: &str) -> Result<(), MembershipError> {
        self.check_add_group(parent, child)?;
        self.parents.entry(child.to_owned()).or_default().insert(parent.to_owned());
        self.children.entry(parent.to_owned()).or_default().insert(child.to_owned());
        Ok(())
    }

    pub fn remove_group_member(&mut self, parent: &str, child: &str) {
        if let Some(p) = self.parents.get_mut(child) {
            p.remove(parent);
        }
        if let Some(c) = self.children.get_mut(parent) {
            c.remove(child);
        }
    }

    /// Forgets a deleted group everywhere (it leaves its parents; its members leave it).
    pub fn remove_group(&mut self, group: &str) {
        for p in self.parents.remove(group).unwrap_or_default() {
            if let Some(c) = self.children.get_mut(&p) {
                c.remove(group);
            }
        }
        for c in self.children.remove(group).unwrap_or_default() {
            if let Some(p) = self.parents.get_mut(&c) {
                p.remove(group);
            }
        }
        if let Some(&n) = self.group_numbers.get(group) {
            self.user_groups.retain(|_, gs| {
                gs.retain(|x| *x != n);
                !gs.is_empty()
            });
        }
    }

    /// Forgets a deleted user.
    pub fn remove_user_everywhere(&mut self, user: &str) {
        self.user_groups.remove(user);
    }

    /// Shortest upward path from `from` to `to` (both groups), if `to` is `from` or an ancestor.
    fn path_up(&self, from: &str, to: &str) -> Option<Vec<String>> {
        let mut prev: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(g) = queue.pop_front() {
            if g == to {
                let mut path = vec![g.to_owned()];
                let mut cur = g;
                while let Some(p) = prev.get(cur) {
                    path.push((*p).to_owned());
                    cur = p;
                }
                path.reverse();
                return Some(path);
            }
            for p in self.parents.get(g).into_iter().flatten() {
                if seen.insert(p) {
                    prev.insert(p, g);
                    queue.push_back(p);
                }
            }
        }
        None
    }

    /// Every group the user is in, directly or through nesting, each with a shortest path.
    pub fn groups_of(&self, user: &str) -> Vec<Membership> {
        let mut paths: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut queue: VecDeque<&str> = VecDeque::new();
        let mut direct: Vec<&str> = self.direct_groups_unsorted(user).collect();
        direct.sort_unstable(); // deterministic paths
        for g in direct {
            paths.insert(g, vec![g]);
            queue.push_back(g);
        }
        while let Some(g) = queue.pop_front() {
            let mut ps: Vec<&str> = self.parents.get(g).into_iter().flatten().map(String::as_str).collect();
            ps.sort_unstable();
            for p in ps {
                if !paths.contains_key(p) {
                    let mut path = paths[g].clone();
                    path.push(p);
                    paths.insert(p, path);
                    queue.push_back(p);
                }
            }
        }
        let mut out: Vec<Membership> = paths
            .into_iter()
            .map(|(g, path)| Membership { group: g.to_owned(), path: path.into_iter().map(str::to_owned).collect() })
            .collect();
        out.sort_by(|a, b| a.group.cmp(&b.group));
        out
    }

    /// The groups that list the user directly.
    pub fn direct_groups(&self, user: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self.direct_groups_unsorted(user).collect();
        v.sort_unstable();
        v
    }

    /// For a set of groups `roots`: every group inside one of them (itself, or nested
    /// below at any depth) → the roots that contain it. Lets a report decide
    /// "is this user in any of the roots" from the user's direct groups alone.
    pub fn contained_in(&self, roots: &[String]) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for root in roots {
            let mut seen = HashSet::from([root.as_str()]);
            let mut queue = VecDeque::from([root.as_str()]);
            while let Some(g) = queue.pop_front() {
                out.entry(g.to_owned()).or_default().push(root.clone());
                for c in self.children.get(g).into_iter().flatten() {
                    if seen.insert(c) {
                        queue.push_back(c);
                    }
                }
            }
        }
        out
    }

    /// Whether the user is in `group`, directly or through nesting.
    pub fn is_member(&self, user: &str, group: &str) -> bool {
        self.groups_of(user).iter().any(|m| m.group == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nested_paths_and_cycles() {
        let mut m = MembershipIndex::default();
        m.add_user("engineering", "alice");
        m.add_group("staff", "engineering").unwrap();
        m.add_group("everyone", "staff").unwrap();
        let got = m.groups_of("alice");
        assert_eq!(got.len(), 3);
        let everyone = got.iter().find(|g| g.group == "everyone").unwrap();
        assert_eq!(everyone.path, ["engineering", "staff", "everyone"]);
        assert_eq!(m.add_group("engineering", "engineering"), Err(MembershipError::SelfMember));
        assert_eq!(
            m.add_group("engineering", "everyone"),
            Err(MembershipError::Cycle("engineering → staff → everyone".into()))
        );
        m.remove_group("staff");
        assert_eq!(m.groups_of("alice").len(), 1);
        assert!(m.add_group("engineering", "everyone").is_ok(), "no cycle once staff is gone");
        assert!(m.groups_of("nobody").is_empty());
    }

    /// The naive model: a user is in G if G lists them, or lists a group they are in (recursively).
    fn naive(edges_u: &[(usize, usize)], edges_g: &[(usize, usize)], user: usize, group: usize, depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        edges_u.iter().any(|&(g, u)| g == group && u == user)
            || edges_g.iter().any(|&(p, c)| p == group && naive(edges_u, edges_g, user, c, depth + 1))
    }

    proptest! {
        #[test]
        fn index_agrees_with_naive_recursion(
            users in proptest::collection::vec((0..12usize, 0..8usize), 0..40),
            groups in proptest::collection::vec((0..12usize, 0..12usize), 0..40),
            removals in proptest::collection::vec((0..12usize, 0..12usize), 0..10),
        ) {
            let mut m = MembershipIndex::default();
            let mut eu = Vec::new();
            let mut eg: Vec<(usize, usize)> = Vec::new();
            for (g, u) in users {
                m.add_user(&format!("g{g}"), &format!("u{u}"));
                eu.push((g, u));
            }
            for (p, c) in groups {
                let cycle = p == c || naive_group_reach(&eg, c, p);
                let r = m.add_group(&format!("g{p}"), &format!("g{c}"));
                prop_assert_eq!(r.is_err(), cycle, "cycle check for g{} ⊃ g{}", p, c);
                if r.is_ok() { eg.push((p, c)); }
            }
            for (p, c) in removals {
                m.remove_group_member(&format!("g{p}"), &format!("g{c}"));
                eg.retain(|&e| e != (p, c));
            }
            for u in 0..8 {
                let got = m.groups_of(&format!("u{u}"));
                for g in 0..12 {
                    let expect = naive(&eu, &eg, u, g, 0);
                    let found = got.iter().find(|x| x.group == format!("g{g}"));
                    prop_assert_eq!(found.is_some(), expect, "u{} in g{}", u, g);
                    if let Some(f) = found {
                        // The path is real: starts at a direct group, each step is a "member of" edge.
                        let ids: Vec<usize> = f.path.iter().map(|s| s[1..].parse().unwrap()).collect();
                        prop_assert!(eu.contains(&(ids[0], u)));
                        for w in ids.windows(2) { prop_assert!(eg.contains(&(w[1], w[0]))); }
                        prop_assert_eq!(*ids.last().unwrap(), g);
                    }
                }
            }
        }
    }

    /// Is `to` reachable from `from` going down (from contains … contains to)?
    fn naive_group_reach(eg: &[(usize, usize)], from: usize, to: usize) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(g) = stack.pop() {
            if g == to {
                return true;
            }
            if seen.insert(g) {
                stack.extend(eg.iter().filter(|e| e.0 == g).map(|e| e.1));
            }
        }
        false
    }
}
