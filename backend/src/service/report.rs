//! The registration report: every user's status under the saved policy, filtered by status,
//! sorted by username or by deadline, one page at a time (or whole, for the CSV export).
//!
//! A page still evaluates every user (the status is only known after evaluating), but keeps only
//! the `limit + 1` rows after the cursor, so an answer is one page however large the directory.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use proofup_shared::policy::{RegistrationReportPage, RegistrationRow};
use time::OffsetDateTime;

use super::{Core, Reader, ServiceError};
use crate::domain::model::User;
use crate::domain::policy::{self, Decision, RegistrationState};

/// Every status a row can have, in the order the report offers them.
pub const STATUSES: [&str; 6] = ["registered", "in_grace", "not_yet_prompted", "required", "excluded", "not_in_scope"];

/// Largest page.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSort {
    /// By username (the default).
    Username,
    /// Soonest deadline first (passed deadlines first of all); rows without one last, by username.
    Deadline,
}

impl ReportSort {
    pub fn parse(s: &str) -> Option<ReportSort> {
        match s {
            "username" => Some(ReportSort::Username),
            "deadline" => Some(ReportSort::Deadline),
            _ => None,
        }
    }
}

/// Where a row sorts: the deadline (for the deadline sort; `i128::MAX` when none) and the username.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key(i128, String);

impl Key {
    fn of(sort: ReportSort, deadline: Option<OffsetDateTime>, username: &str) -> Key {
        let first = match sort {
            ReportSort::Username => 0,
            ReportSort::Deadline => deadline.map_or(i128::MAX, |d| d.unix_timestamp_nanos()),
        };
        Key(first, username.to_owned())
    }

    /// The opaque cursor: `u.<username>` or `d.<nanos or ->.<username>`.
    fn cursor(&self, sort: ReportSort) -> String {
        match sort {
            ReportSort::Username => format!("u.{}", self.1),
            ReportSort::Deadline if self.0 == i128::MAX => format!("d.-.{}", self.1),
            ReportSort::Deadline => format!("d.{}.{}", self.0, self.1),
        }
    }

    fn parse(sort: ReportSort, cursor: &str) -> Option<Key> {
        match sort {
            ReportSort::Username => cursor.strip_prefix("u.").map(|u| Key(0, u.to_owned())),
            ReportSort::Deadline => {
                let (first, user) = cursor.strip_prefix("d.")?.split_once('.')?;
                let first = if first == "-" { i128::MAX } else { first.parse().ok()? };
                Some(Key(first, user.to_owned()))
            }
        }
    }
}

/// A row and its key, ordered by key alone (for the bounded heap).
struct Ranked(Key, RegistrationRow);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// When registration is (or became) required for a row: prompted users not yet registered.
fn deadline_of(d: &Decision) -> Option<OffsetDateTime> {
    match d {
        Decision::Prompt { deadline, starts_clock: false, .. } | Decision::Required { deadline, .. } => Some(*deadline),
        _ => None,
    }
}

fn row(u: &User, d: &Decision, st: &RegistrationState, methods: u32, now: OffsetDateTime) -> RegistrationRow {
    let deadline = deadline_of(d);
    RegistrationRow {
        user_id: u.id.clone(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        in_scope: !matches!(d, Decision::NotInScope(_)),
        registered: methods > 0,
        methods,
        status: d.status().into(),
        first_prompted_at: st.first_prompted_at,
        deadline,
        days_left: deadline.map(|dl| policy::days_left(dl, now)),
        skips: st.skips,
        last_sign_in_at: u.last_sign_in_at,
    }
}

fn check_status(status: Option<&str>) -> Result<(), ServiceError> {
    match status {
        Some(st) if !STATUSES.contains(&st) => {
            Err(ServiceError::BadQuery(format!("Unknown status {st:?}; use one of {}.", STATUSES.join(", "))))
        }
        _ => Ok(()),
    }
}

impl Core {
    /// One page of the report: the rows with `status` (all when `None`), in `sort` order, after
    /// the cursor `after` (from an earlier page's `next_after`), at most `limit` of them (1–500).
    pub fn report_page(
        &self,
        _: &Reader<'_>,
        status: Option<&str>,
        sort: ReportSort,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RegistrationReportPage, ServiceError> {
        check_status(status)?;
        let after = match after {
            Some(c) => Some(Key::parse(sort, c).ok_or(ServiceError::BadCursor)?),
            None => None,
        };
        let limit = limit.clamp(1, MAX_PAGE);
        let s = self.store.as_ref();
        let now = self.clock.now();
        let p = s.policy()?.policy;
        let mut total = 0u64;
        // The `limit + 1` smallest keys after the cursor: one more than the page says whether
        // another page follows.
        let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(limit + 2);
        self.each_decision(&p, now, |u, d, st, methods| {
            if status.is_some_and(|want| want != d.status()) {
                return;
            }
            total += 1;
            let key = Key::of(sort, deadline_of(d), &u.username);
            if after.as_ref().is_some_and(|a| key <= *a) {
                return;
            }
            if best.len() > limit && best.peek().is_some_and(|worst| key >= worst.0) {
                return;
            }
            best.push(Ranked(key, row(u, d, st, methods, now)));
            if best.len() > limit + 1 {
                best.pop();
            }
        })?;
        let mut ranked = best.into_sorted_vec();
        let next_after = if ranked.len() > limit {
            ranked.truncate(limit);
            ranked.last().map(|r| r.0.cursor(sort))
        } else {
            None
        };
        Ok(RegistrationReportPage { items: ranked.into_iter().map(|r| r.1).collect(), next_after, total })
    }

    /// The whole report (rows with `status`, if given), by username: for the CSV export.
    pub fn report(&self, _: &Reader<'_>, status: Option<&str>) -> Result<Vec<RegistrationRow>, ServiceError> {
        check_status(status)?;
        let s = self.store.as_ref();
        let now = self.clock.now();
        let p = s.policy()?.policy;
        let mut rows = Vec::new();
        self.each_decision(&p, now, |u, d, st, methods| {
            if status.is_none_or(|want| want == d.status()) {
                rows.push(row(u, d, st, methods, now));
            }
        })?;
        rows.sort_unstable_by(|a, b| a.username.cmp(&b.username));
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_with_dots_in_usernames() {
        for (sort, key) in [
            (ReportSort::Username, Key(0, "a.b.c".into())),
            (ReportSort::Deadline, Key(1_700_000_000_000_000_000, "x.y".into())),
            (ReportSort::Deadline, Key(i128::MAX, "z".into())),
        ] {
            assert_eq!(Key::parse(sort, &key.cursor(sort)), Some(key));
        }
        assert_eq!(Key::parse(ReportSort::Deadline, "u.bob"), None);
        assert_eq!(Key::parse(ReportSort::Deadline, "d.soon.bob"), None);
        assert_eq!(Key::parse(ReportSort::Username, "bob"), None);
    }
}
