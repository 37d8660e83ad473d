//! Everything an embedded store holds, as engine-neutral records (`proofup migrate` reads them
//! to fill a PostgreSQL database), sessions and sign-ins in progress included. Left out: throttles, ceremonies in
//! progress, and application sign-ins (flows, codes, grants, tokens: applications sign their
//! users in again).

use super::*;
use crate::store::migrate::Record;

impl SledStore {
    /// Calls `out` with every record, aggregate by aggregate.
    pub fn export(&self, out: &mut dyn FnMut(Record) -> StoreResult<()>) -> StoreResult<()> {
        for v in self.users.iter().values() {
            out(Record::User(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.groups.iter().values() {
            out(Record::Group(dec(&v.map_err(backend)?)?))?;
        }
        let mut edges = Vec::new();
        self.for_each_edge(&mut |g, k, m| edges.push((g.to_owned(), k, m.to_owned())))?;
        for (g, k, m) in edges {
            out(Record::Member { group: g, kind: k, member: m })?;
        }
        for kv in self.sessions.iter() {
            let (k, v) = kv.map_err(backend)?;
            let key: [u8; 32] = k.as_ref().try_into().map_err(backend)?;
            out(Record::Session { key, session: dec(&v)? })?;
        }
        for kv in self.logins.iter() {
            let (k, v) = kv.map_err(backend)?;
            let key: [u8; 32] = k.as_ref().try_into().map_err(backend)?;
            out(Record::Login { key, flow: dec(&v)? })?;
        }
        for kv in self.passes.iter() {
            let (k, v) = kv.map_err(backend)?;
            out(Record::Pass { user_id: String::from_utf8_lossy(&k).into_owned(), pass: dec(&v)? })?;
        }
        for v in self.methods.iter().values() {
            out(Record::Method(dec(&v.map_err(backend)?)?))?;
        }
        for kv in self.recovery.iter() {
            let (k, v) = kv.map_err(backend)?;
            out(Record::Recovery { user_id: String::from_utf8_lossy(&k).into_owned(), codes: dec(&v)? })?;
        }
        for kv in self.regstate.iter() {
            let (k, v) = kv.map_err(backend)?;
            out(Record::Registration { user_id: String::from_utf8_lossy(&k).into_owned(), state: dec(&v)? })?;
        }
        for v in self.policy_versions.iter().values() {
            out(Record::Policy(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.audit.iter().values() {
            out(Record::Audit(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.signins.iter().values() {
            out(Record::SignIn(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.alerts.iter().values() {
            out(Record::Alert(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.risk_profiles.iter().values() {
            out(Record::RiskProfile(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.detections.iter().values() {
            out(Record::Detection(dec(&v.map_err(backend)?)?))?;
        }
        if let Some(url) = self.webhook.get(b"url").map_err(backend)? {
            out(Record::WebhookUrl(String::from_utf8_lossy(&url).into_owned()))?;
        }
        for v in self.outbox.iter().values() {
            out(Record::Message(dec(&v.map_err(backend)?)?))?;
        }
        for v in self.applications.iter().values() {
            out(Record::Application(dec(&v.map_err(backend)?)?))?;
        }
        let keys = self.signing_keys()?;
        if !keys.is_empty() {
            out(Record::SigningKeys(keys))?;
        }
        if self.setup_done()? {
            out(Record::SetupDone)?;
        }
        if let Some(check) = self.secret_key_check()? {
            out(Record::SecretKeyCheck(check))?;
        }
        Ok(())
    }
}
