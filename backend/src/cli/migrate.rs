//! `proofup migrate`: an embedded store into an empty PostgreSQL database.

use super::{open_store, CliResult};
use crate::config::MigrateArgs;
use crate::store::postgres::{redact, PgOptions, PgStore};

pub fn migrate(args: &MigrateArgs) -> CliResult<String> {
    let from = open_store(&args.from_data_dir, 64)?;
    let mut records = Vec::new();
    from.export(&mut |r| {
        records.push(r);
        Ok(())
    })?;
    drop(from);
    let to = PgStore::open(&args.to, PgOptions { pool_size: 1, statement_timeout_ms: 600_000 })?;
    let c = to.import(records)?;
    Ok(format!(
        "copied into {}: {} users, {} groups, {} memberships, {} methods, {} policy versions, {} audit and {} sign-in log entries, {} applications, {} sessions, {} other records (applications sign their users in again)",
        redact(&args.to),
        c.users,
        c.groups,
        c.memberships,
        c.methods,
        c.policy_versions,
        c.audit,
        c.sign_ins,
        c.applications,
        c.sessions,
        c.other
    ))
}
