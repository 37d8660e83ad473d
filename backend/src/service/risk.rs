//! Risk at sign-in: where it comes from (a local GeoIP database, the operator's anonymizer list),
//! what is detected (`domain::risk`), what is stored (detections; the profile a completed sign-in
//! teaches), and the state changes that close detections.
//!
//! The sources are ports ([`Locate`], [`Breached`]) the adapters implement; without them risk
//! still works on what it has (spray, the anonymizer list), and "location unavailable" is said.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use proofup_shared::risk::{DetectionKind, Evidence, Place, RiskLevel, RiskState};
use time::OffsetDateTime;

use super::{Core, ServiceError};
use crate::domain::login::SignInContext;
use crate::domain::model::{ClientInfo, User};
use crate::domain::records::DetectionRecord;
use crate::domain::risk::{self, Found, Observed, OrgFamiliar, Profile, SprayWatch, StateChange};
use crate::store::StoreError;

/// Where an address is (a GeoIP/ASN database).
pub trait Locate: Send + Sync {
    fn locate(&self, ip: IpAddr) -> Place;
    /// The databases in words (file, type, build date).
    fn describe(&self) -> String;
    /// The oldest database's build time.
    fn built(&self) -> Option<OffsetDateTime>;
}

/// The breached-password set.
pub trait Breached: Send + Sync {
    /// Whether the key (`domain::risk::breach_key`) is in the set.
    fn contains(&self, key: u64) -> bool;
    fn name(&self) -> &str;
    fn entries(&self) -> u64;
}

/// What risk reads, given by the operator (all optional).
#[derive(Clone, Default)]
pub struct RiskSources {
    pub geo: Option<Arc<dyn Locate>>,
    pub breached: Option<Arc<dyn Breached>>,
    /// The anonymizer list (Tor exits, VPN ranges).
    pub anonymizers: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for RiskSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskSources")
            .field("geo", &self.geo.as_ref().map(|g| g.describe()))
            .field("breached", &self.breached.as_ref().map(|b| b.name().to_owned()))
            .field("anonymizers", &self.anonymizers.len())
            .finish()
    }
}

/// Risk's runtime state in the server.
pub(super) struct RiskRuntime {
    pub(super) sources: RiskSources,
    anonymizers: RwLock<Vec<ipnet::IpNet>>,
    spray: Mutex<SprayWatch>,
    /// The organisation's familiar countries and networks, rebuilt by the maintenance job.
    org: RwLock<OrgFamiliar>,
    /// The last three wrong passwords per throttle key, as keyed hashes (memory only).
    recent_wrong: Mutex<std::collections::HashMap<String, std::collections::VecDeque<u64>>>,
    wrong_keys: std::collections::hash_map::RandomState,
}

impl RiskRuntime {
    pub(super) fn new(sources: RiskSources) -> Self {
        Self {
            anonymizers: RwLock::new(sources.anonymizers.clone()),
            sources,
            spray: Mutex::new(SprayWatch::default()),
            org: RwLock::new(OrgFamiliar::default()),
            recent_wrong: Mutex::new(Default::default()),
            wrong_keys: Default::default(),
        }
    }
}

/// Private, loopback, link-local and other addresses no database places.
fn unplaceable(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// A password sign-in as risk sees it: from where, which browser, the password typed (only when
/// it was the password) and the account's profile (read once, before the throttle).
pub(crate) struct Attempt<'a> {
    pub ip: IpAddr,
    pub place: Place,
    pub device: Option<&'a str>,
    pub password: Option<&'a str>,
    pub profile: Option<&'a Profile>,
}

/// What a sign-in's first factor found.
pub(crate) struct Assessed {
    pub context: SignInContext,
    pub found: Vec<Found>,
}

impl Core {
    /// Where `ip` is, by the operator's database (nothing for a private address or no database).
    pub fn locate(&self, ip: &str) -> Place {
        let Ok(ip) = ip.parse::<IpAddr>() else { return Place::default() };
        let mut place = match &self.risk.sources.geo {
            Some(g) if !unplaceable(ip) => g.locate(ip),
            _ => Place::default(),
        };
        // The database's own anonymizer flag stays on the place; the operator's list is asked apart
        // (the evidence says which said so).
        place.as_org = place.as_org.take().filter(|o| !o.is_empty());
        place
    }

    fn listed_anonymous(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.risk.anonymizers.read().is_ok_and(|l| l.iter().any(|n| n.contains(&ip)))
    }

    /// Replaces the anonymizer list (the maintenance job reloads its file when it changes).
    pub fn set_anonymizers(&self, list: Vec<ipnet::IpNet>) {
        if let Ok(mut l) = self.risk.anonymizers.write() {
            *l = list;
        }
    }

    /// Whether `password` is one of the last three wrong ones typed for this throttle key
    /// (kept as keyed hashes in memory only).
    pub(crate) fn repeated_wrong_password(&self, key: &str, password: &str) -> bool {
        use std::hash::BuildHasher;
        let h = self.risk.wrong_keys.hash_one((key, password));
        self.risk.recent_wrong.lock().is_ok_and(|m| m.get(key).is_some_and(|l| l.contains(&h)))
    }

    /// Remembers a wrong password for [`Core::repeated_wrong_password`].
    pub(crate) fn remember_wrong_password(&self, key: &str, password: &str) {
        use std::hash::BuildHasher;
        let h = self.risk.wrong_keys.hash_one((key, password));
        if let Ok(mut m) = self.risk.recent_wrong.lock() {
            if m.len() >= 100_000 && !m.contains_key(key) {
                // Bounded: a flood of usernames forgets everything (each is then counted once more).
                m.clear();
            }
            let l = m.entry(key.to_owned()).or_default();
            if !l.contains(&h) {
                l.push_back(h);
                if l.len() > 3 {
                    l.pop_front();
                }
            }
        }
    }

    /// Whether `password` is in the operator's breached-password set (none: never).
    pub(crate) fn breached(&self, password: &str) -> bool {
        self.risk.sources.breached.as_ref().is_some_and(|b| b.contains(risk::breach_key(password)))
    }

    /// Closes a user's open detections as remediated (`detail` says how): only those a new
    /// password fixes, or all of them. Audited with the state change, in one transaction.
    pub(crate) fn remediate_user_risk(
        &self,
        user: &User,
        detail: &str,
        password_only: bool,
        client: &ClientInfo,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let open: Vec<String> = self
            .store
            .user_detections(&user.id)?
            .into_iter()
            .filter(|d| d.state.open() && (!password_only || d.kind.password_fixes()))
            .map(|d| d.id)
            .collect();
        if open.is_empty() {
            return Ok(0);
        }
        let change = StateChange {
            ids: Some(open),
            only_open: true,
            to: RiskState::Remediated,
            detail: detail.into(),
            by: None,
            at: now,
        };
        let entry = super::audit(
            now,
            Some(user),
            "risk.remediated",
            Some(user),
            vec![super::change("user_risk", Some("at risk"), Some(detail))],
            client,
        );
        let n = self.store.update_detections(&user.id, &change, Some(entry))?;
        self.enqueue_event(
            crate::domain::notify::EventKind::UserRiskChanged,
            serde_json::json!({"user": user.username, "user_id": user.id, "state": "remediated", "detail": detail}),
            now,
        )?;
        Ok(n)
    }

    /// A sign-in completed with `proved`: when the user risk policy asks a risky user to revoke
    /// and sign in afresh, and this sign-in proved strongly, every other session and grant ends
    /// and the user's risk is remediated. Returns whether it did.
    pub(crate) fn user_risk_revoked(
        &self,
        user: &User,
        proved: crate::domain::access::Factors,
        client: &ClientInfo,
    ) -> Result<bool, ServiceError> {
        use proofup_shared::policy::{Enforcement, UserRiskRemedy};
        let p = self.store.policy()?.user_risk;
        if p.enforcement != Enforcement::On || p.remedy != UserRiskRemedy::RevokeAndReauthenticate {
            return Ok(false);
        }
        let groups = self.membership.read().map_err(super::index_poisoned)?.groups_of(&user.id);
        if crate::domain::policy::risk_scope(p.assignments(), &user.id, user.emergency_access, &groups).is_err() {
            return Ok(false);
        }
        if self.user_risk_level(&user.id)?.is_none_or(|l| l < p.level)
            || !crate::domain::access::answers_risk(proved, false)
        {
            return Ok(false);
        }
        self.store.delete_user_sessions(&user.id)?;
        self.store.end_user_grants(&user.id, None)?;
        self.remediate_user_risk(user, "sessions_revoked_and_reauthenticated", false, client)?;
        Ok(true)
    }

    /// A wrong password (or an unknown account) from `ip`, for the spray watch.
    pub(crate) fn spray_failure(&self, ip: IpAddr, username: &str, password: &str, unknown: bool) {
        if let Ok(mut w) = self.risk.spray.lock() {
            w.failure(ip, username, password, unknown, self.clock.now());
        }
    }

    /// The real-time detections of a sign-in whose password (or pass) was right: one profile read.
    pub(crate) fn assess_sign_in(
        &self,
        a: Attempt<'_>,
        policies: &crate::domain::records::PolicyRecord,
    ) -> Result<Assessed, StoreError> {
        let now = self.clock.now();
        let Attempt { ip, place, device, password, profile } = a;
        let trusted = policies
            .policy
            .registration_networks
            .iter()
            .any(|n| proofup_shared::policy::parse_network(n).is_some_and(|net| net.contains(&ip.to_canonical())));
        let observed = Observed { at: now, place: &place, device, trusted };
        let org = self.risk.org.read().map(|o| o.clone()).unwrap_or_default();
        let mut found = risk::assess(profile, &observed, self.listed_anonymous(ip), &org);
        if let Some(evidence) = self.risk.spray.lock().ok().and_then(|w| w.verdict(ip, now)) {
            found.push(Found { kind: DetectionKind::PasswordSpray, level: RiskLevel::High, evidence });
        }
        if let (Some(set), Some(pw)) = (&self.risk.sources.breached, password) {
            if set.contains(risk::breach_key(pw)) {
                found.push(Found {
                    kind: DetectionKind::LeakedCredentials,
                    level: RiskLevel::High,
                    evidence: Evidence::Leaked { set: set.name().to_owned(), entries: set.entries() },
                });
            }
        }
        let level = risk::sign_in_level(found.iter().map(|f| &f.level));
        let new_device_and_place = profile.is_some_and(|p| p.notice_worthy(&observed));
        let already_known = profile.is_some_and(|p| !p.would_learn(&observed));
        let context = SignInContext {
            sign_in: uuid::Uuid::new_v4().to_string(),
            place,
            device: device.map(str::to_owned),
            level,
            trusted,
            new_device_and_place,
            already_known,
            ..SignInContext::default()
        };
        Ok(Assessed { context, found })
    }

    /// The real-time risk of reusing an existing session (single sign-on to an application): an
    /// anonymizer, or a country and network both other than the ones the session signed in
    /// from (an anomalous token: a stolen cookie used elsewhere). Memory only — no store call.
    pub(crate) fn assess_session_use(&self, session_ip: &str, ip: &str) -> Option<Assessed> {
        let parsed = ip.parse::<IpAddr>().ok()?;
        let place = self.locate(ip);
        let mut found = Vec::new();
        let listed = self.listed_anonymous(parsed);
        if listed || place.anonymous {
            found.push(Found {
                kind: DetectionKind::AnonymousIp,
                level: RiskLevel::Medium,
                evidence: Evidence::Anonymous { listed, flagged_by_database: place.anonymous },
            });
        }
        if session_ip != ip {
            let first = self.locate(session_ip);
            let both = first.country.is_some() && place.country.is_some() && first.asn.is_some() && place.asn.is_some();
            if both && first.country != place.country && first.asn != place.asn {
                found.push(Found {
                    kind: DetectionKind::AnomalousToken,
                    level: RiskLevel::Medium,
                    evidence: Evidence::Token { first, now: place.clone(), grant: "The session".into() },
                });
            }
        }
        if found.is_empty() {
            return None;
        }
        let level = risk::sign_in_level(found.iter().map(|f| &f.level));
        let context =
            SignInContext { sign_in: uuid::Uuid::new_v4().to_string(), place, level, ..SignInContext::default() };
        Some(Assessed { context, found })
    }

    /// Country and network of an address (what a grant keeps of where it began).
    pub(crate) fn origin_of(&self, ip: &str) -> Option<Place> {
        let p = self.locate(ip);
        (p.country.is_some() && p.asn.is_some()).then(|| Place {
            country: p.country,
            asn: p.asn,
            as_org: p.as_org,
            ..Place::default()
        })
    }

    /// A refresh token used from a country and network both other than where its code was
    /// exchanged: an anomalous token, recorded once per grant (user risk medium).
    pub(crate) fn refresh_from_elsewhere(
        &self,
        user: &User,
        application: &str,
        grant: &crate::domain::oidc::grant::Grant,
        from: &ClientInfo,
    ) -> Result<(), StoreError> {
        let (Some(first), Some(now)) = (grant.origin.as_ref(), self.origin_of(&from.ip)) else { return Ok(()) };
        if first.country == now.country || first.asn == now.asn {
            return Ok(());
        }
        // One detection per grant: its id is not shown (it is a secret's key), a digest is.
        let tag: String = crate::domain::setup::sha256(&grant.id)[..6].iter().map(|b| format!("{b:02x}")).collect();
        let sign_in = format!("grant-{tag}");
        if self.store.user_detections(&user.id)?.iter().any(|d| d.sign_in.as_deref() == Some(sign_in.as_str())) {
            return Ok(());
        }
        let found = vec![Found {
            kind: DetectionKind::AnomalousToken,
            level: RiskLevel::Medium,
            evidence: Evidence::Token {
                first: first.clone(),
                now: now.clone(),
                grant: format!("A refresh token of {application}"),
            },
        }];
        let context = SignInContext { sign_in, place: now, level: Some(RiskLevel::Medium), ..SignInContext::default() };
        self.record_detections(user, &Assessed { context, found }, from, Some(application))
    }

    /// Stores a sign-in's detections (metrics and the webhook event with them).
    pub(crate) fn record_detections(
        &self,
        user: &User,
        a: &Assessed,
        client: &ClientInfo,
        application: Option<&str>,
    ) -> Result<(), StoreError> {
        if a.found.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let rows: Vec<DetectionRecord> = a
            .found
            .iter()
            .map(|f| DetectionRecord {
                id: String::new(),
                at: now,
                user_id: user.id.clone(),
                username: user.username.clone(),
                kind: f.kind,
                level: f.level,
                state: RiskState::AtRisk,
                detail: None,
                changed_at: None,
                changed_by: None,
                sign_in: Some(a.context.sign_in.clone()),
                ip: client.ip.clone(),
                place: a.context.place.clone(),
                application: application.map(str::to_owned),
                evidence: f.evidence.clone(),
            })
            .collect();
        self.store.add_detections(&rows)?;
        for f in &a.found {
            crate::metrics::risk_detection(f.kind, f.level);
            tracing::warn!(user = %user.username, kind = f.kind.name(), level = f.level.name(), "risk detected");
        }
        self.enqueue_event(
            crate::domain::notify::EventKind::RiskDetected,
            serde_json::json!({
                "user": user.username,
                "user_id": user.id,
                "ip": client.ip,
                "level": a.context.level,
                "detections": a.found.iter().map(|f| serde_json::json!({"kind": f.kind, "level": f.level, "evidence": f.evidence.describe()})).collect::<Vec<_>>(),
            }),
            now,
        )?;
        Ok(())
    }

    /// A sign-in completed: with a second factor (or a pass) behind it, its detections are
    /// remediated; with nothing open, its place and device join the profile.
    pub(crate) fn sign_in_completed(
        &self,
        user: &User,
        context: &SignInContext,
        proved_strongly: bool,
        client: &ClientInfo,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let user_id = user.id.as_str();
        // A new browser on a new network: the user hears of it (once the sign-in is in).
        if context.new_device_and_place {
            let change = crate::domain::mail::SecurityChange::NewSignIn {
                device: proofup_shared::agent::describe_user_agent(&client.user_agent),
                place: context.place.describe(),
            };
            self.notify_security(user, change, client, now)?;
        }
        if context.level.is_some() {
            if !proved_strongly {
                return Ok(());
            }
            let change = StateChange {
                ids: None,
                only_open: true,
                to: RiskState::Remediated,
                detail: "passed_mfa_by_risk_policy".into(),
                by: None,
                at: now,
            };
            // Only this sign-in's detections.
            let mine = self.store.user_detections(user_id)?;
            let ids: Vec<String> = mine
                .into_iter()
                .filter(|d| {
                    d.sign_in.as_deref() == Some(context.sign_in.as_str())
                        && d.state == RiskState::AtRisk
                        && d.kind.mfa_remediates()
                })
                .map(|d| d.id)
                .collect();
            if !ids.is_empty() {
                self.store.update_detections(user_id, &StateChange { ids: Some(ids), ..change }, None)?;
            }
        }
        if context.already_known {
            return Ok(());
        }
        // One call: the engine reads, remembers and writes the profile in one transaction.
        let seen = risk::Seen::of(&Observed {
            at: now,
            place: &context.place,
            device: context.device.as_deref(),
            trusted: context.trusted,
        });
        Ok(self.store.learn_risk_profile(user_id, &seen)?)
    }

    /// Rebuilds the organisation's familiar countries and networks from every profile (the
    /// maintenance job, and at start).
    pub fn refresh_org_familiarity(&self) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut profiles = Vec::new();
        self.store.for_each_risk_profile(&mut |p| profiles.push(p))?;
        let org = OrgFamiliar::from_profiles(&profiles, now);
        if let Ok(mut o) = self.risk.org.write() {
            *o = org;
        }
        Ok(())
    }
}

impl Core {
    /// Risk detections, newest first (Security readers and above), filtered.
    pub fn detections(
        &self,
        _: &super::Reader<'_>,
        filter: &DetectionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<proofup_shared::api::Page<proofup_shared::risk::DetectionView>, ServiceError> {
        let limit = limit.clamp(1, 200);
        let mut items = Vec::new();
        let mut after = after.map(str::to_owned);
        // The store's pages, filtered here, until at least `limit` are kept or the 90 days run
        // out; the cursor is the store's own.
        loop {
            let page = self.store.list_detections(after.as_deref(), limit)?;
            items.extend(page.items.into_iter().filter(|d| filter.matches(d)).map(Into::into));
            match page.next_after {
                Some(a) if items.len() < limit => after = Some(a),
                next => return Ok(proofup_shared::api::Page { items, next_after: next }),
            }
        }
    }

    /// Every detection the filter keeps, newest first (the CSV export; at most the 90 days kept).
    pub fn all_detections(
        &self,
        r: &super::Reader<'_>,
        filter: &DetectionFilter,
    ) -> Result<Vec<proofup_shared::risk::DetectionView>, ServiceError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.detections(r, filter, after.as_deref(), 200)?;
            out.extend(page.items);
            match page.next_after {
                Some(a) => after = Some(a),
                None => return Ok(out),
            }
        }
    }

    /// A user's risk now: the highest of their open detections (low ones age out).
    pub(crate) fn user_risk_level(&self, user_id: &str) -> Result<Option<RiskLevel>, StoreError> {
        let now = self.clock.now();
        let open = self.store.user_detections(user_id)?;
        Ok(risk::user_level(open.iter().filter(|d| d.state.open()).map(|d| (&d.level, d.at)), now))
    }
}

/// Which detections a report shows; every field set must hold.
#[derive(Debug, Clone, Default)]
pub struct DetectionFilter {
    /// Username, exact (case-insensitive).
    pub user: Option<String>,
    pub kind: Option<DetectionKind>,
    pub level: Option<RiskLevel>,
    pub state: Option<RiskState>,
}

impl DetectionFilter {
    pub fn matches(&self, d: &DetectionRecord) -> bool {
        self.keeps(&d.username, d.level, d.state, &[d.kind])
    }

    /// For the grouped reports (a risky user, a risky sign-in): the kind must be among theirs.
    pub fn keeps(&self, username: &str, level: RiskLevel, state: RiskState, kinds: &[DetectionKind]) -> bool {
        self.user.as_deref().is_none_or(|u| username.eq_ignore_ascii_case(u))
            && self.kind.is_none_or(|k| kinds.contains(&k))
            && self.level.is_none_or(|l| level == l)
            && self.state.is_none_or(|s| state == s)
    }
}

/// One page of a report computed whole (risky users, risky sign-ins): `after` is the number of
/// rows already shown, as the previous page's `next_after` said.
pub fn page_of<T>(
    mut rows: Vec<T>,
    after: Option<&str>,
    limit: usize,
) -> Result<proofup_shared::api::Page<T>, ServiceError> {
    let from = match after {
        None => 0,
        Some(a) => a.parse::<usize>().map_err(|_| {
            ServiceError::Invalid(vec![proofup_shared::FieldError {
                field: "after".into(),
                message: "Pass back the next_after of the previous page.".into(),
            }])
        })?,
    };
    let limit = limit.clamp(1, 500);
    let to = from.saturating_add(limit).min(rows.len());
    let next_after = (to < rows.len()).then(|| to.to_string());
    let items = if from >= rows.len() { Vec::new() } else { rows.drain(from..to).collect() };
    Ok(proofup_shared::api::Page { items, next_after })
}

impl Core {
    /// Every detection kept, newest first, page by page from the store, until `f` says stop.
    pub(super) fn for_each_detection(&self, f: &mut dyn FnMut(DetectionRecord) -> bool) -> Result<(), StoreError> {
        let mut after: Option<String> = None;
        loop {
            let page = self.store.list_detections(after.as_deref(), 500)?;
            for d in page.items {
                if !f(d) {
                    return Ok(());
                }
            }
            match page.next_after {
                Some(a) => after = Some(a),
                None => return Ok(()),
            }
        }
    }

    /// Users with open risk, highest first then newest (from the last 90 days of detections).
    pub fn risky_users(
        &self,
        _: &super::Reader<'_>,
        filter: &DetectionFilter,
    ) -> Result<Vec<proofup_shared::risk::RiskyUser>, ServiceError> {
        use std::collections::HashMap;
        let now = self.clock.now();
        let mut by_user: HashMap<String, Vec<DetectionRecord>> = HashMap::new();
        self.for_each_detection(&mut |d| {
            if d.state.open() {
                by_user.entry(d.user_id.clone()).or_default().push(d);
            }
            true
        })?;
        let mut out: Vec<proofup_shared::risk::RiskyUser> = by_user
            .into_values()
            .filter_map(|ds| {
                let level = risk::user_level(ds.iter().map(|d| (&d.level, d.at)), now)?;
                let first = ds.first()?;
                let state = if ds.iter().any(|d| d.state == RiskState::ConfirmedCompromised) {
                    RiskState::ConfirmedCompromised
                } else {
                    RiskState::AtRisk
                };
                let mut detections: Vec<DetectionKind> = Vec::new();
                for d in &ds {
                    if !detections.contains(&d.kind) {
                        detections.push(d.kind);
                    }
                }
                Some(proofup_shared::risk::RiskyUser {
                    user_id: first.user_id.clone(),
                    username: first.username.clone(),
                    level,
                    state,
                    open_detections: ds.len() as u32,
                    last_detected_at: ds.iter().map(|d| d.at).max().unwrap_or(first.at),
                    detections,
                })
            })
            .filter(|u| filter.keeps(&u.username, u.level, u.state, &u.detections))
            .collect();
        out.sort_by(|a, b| b.level.cmp(&a.level).then(b.last_detected_at.cmp(&a.last_detected_at)));
        Ok(out)
    }

    /// An administrator's verdict on a user's risk (Security operators and above), audited with
    /// the reason: dismiss (irreversible), confirm safe (the places join the profile), confirm
    /// compromised (user risk high; every session and grant ends).
    pub fn act_on_risk(
        &self,
        by: &super::Operator<'_>,
        user_id: &str,
        req: proofup_shared::risk::RiskActionRequest,
    ) -> Result<u64, ServiceError> {
        use proofup_shared::risk::RiskAction;
        let reason = req.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ServiceError::Invalid(vec![proofup_shared::FieldError {
                field: "reason".into(),
                message: "Say why (up to 500 characters): the audit log keeps it.".into(),
            }]));
        }
        let s = self.store.as_ref();
        let user = s.user(user_id)?.ok_or(ServiceError::NotFound("The user"))?;
        let now = self.clock.now();
        let actor = by.actor();
        let (to, action, detail) = match req.action {
            RiskAction::Dismiss => (RiskState::Dismissed, "risk.dismissed", format!("dismissed: {reason}")),
            RiskAction::ConfirmSafe => {
                (RiskState::ConfirmedSafe, "risk.confirmed_safe", format!("confirmed safe: {reason}"))
            }
            RiskAction::ConfirmCompromised => (
                RiskState::ConfirmedCompromised,
                "risk.confirmed_compromised",
                format!("confirmed compromised: {reason}"),
            ),
        };
        let entry = super::audit(
            now,
            Some(actor.user),
            action,
            Some(&user),
            vec![super::change("reason", None, Some(reason))],
            actor.client,
        );
        let before = s.user_detections(user_id)?;
        if req.action == RiskAction::ConfirmCompromised {
            // The verdict is itself a detection (high), so the user's risk is high from now.
            s.add_detections(&[DetectionRecord {
                id: String::new(),
                at: now,
                user_id: user.id.clone(),
                username: user.username.clone(),
                kind: DetectionKind::AdminConfirmedCompromised,
                level: RiskLevel::High,
                state: RiskState::ConfirmedCompromised,
                detail: Some(detail.clone()),
                changed_at: Some(now),
                changed_by: Some(actor.user.username.clone()),
                sign_in: None,
                ip: actor.client.ip.clone(),
                place: Place::default(),
                application: None,
                evidence: Evidence::Admin { by: actor.user.username.clone(), reason: reason.to_owned() },
            }])?;
            crate::metrics::risk_detection(DetectionKind::AdminConfirmedCompromised, RiskLevel::High);
        }
        let change = StateChange {
            ids: None,
            only_open: true,
            to,
            detail: detail.clone(),
            by: Some(actor.user.username.clone()),
            at: now,
        };
        let n = s.update_detections(user_id, &change, Some(entry.clone()))?;
        if n == 0 && req.action == RiskAction::ConfirmCompromised {
            s.append_audit(entry)?;
        }
        match req.action {
            RiskAction::ConfirmCompromised => {
                s.delete_user_sessions(user_id)?;
                s.end_user_grants(user_id, None)?;
            }
            RiskAction::ConfirmSafe => {
                // "Confirm safe" teaches: the places of what was detected join the profile.
                let mut profile = s.risk_profile(user_id)?.unwrap_or_else(|| Profile::new(user_id, now));
                for d in before.iter().filter(|d| d.state.open() && d.place.known()) {
                    profile.learn(&Observed { at: d.at, place: &d.place, device: None, trusted: false });
                }
                s.put_risk_profile(&profile)?;
            }
            RiskAction::Dismiss => {}
        }
        self.enqueue_event(
            crate::domain::notify::EventKind::UserRiskChanged,
            serde_json::json!({"user": user.username, "user_id": user.id, "state": to, "by": actor.user.username, "reason": reason}),
            now,
        )?;
        s.flush()?;
        Ok(n)
    }
}

impl Core {
    /// Risky sign-ins of the last 30 days (their detections grouped), newest first.
    pub fn risky_sign_ins(
        &self,
        _: &super::Reader<'_>,
        filter: &DetectionFilter,
    ) -> Result<Vec<proofup_shared::risk::RiskySignIn>, ServiceError> {
        let since = self.clock.now() - time::Duration::days(30);
        let mut out: Vec<proofup_shared::risk::RiskySignIn> = Vec::new();
        // Each sign-in's row, by its id (newest first, as the detections come).
        let mut row: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        self.for_each_detection(&mut |d| {
            if d.at < since {
                return false;
            }
            let Some(id) = d.sign_in.clone() else { return true };
            match row.get(&id) {
                Some(&n) => {
                    let r = &mut out[n];
                    r.detections.push(d.kind);
                    r.levels.push(d.level);
                    if !d.state.open() {
                        r.state = d.state;
                    }
                }
                None => {
                    row.insert(id.clone(), out.len());
                    out.push(proofup_shared::risk::RiskySignIn {
                        sign_in: id,
                        at: d.at,
                        user_id: d.user_id,
                        username: d.username,
                        ip: d.ip,
                        place: d.place,
                        application: d.application,
                        level: d.level,
                        levels: vec![d.level],
                        state: d.state,
                        detections: vec![d.kind],
                    });
                }
            }
            true
        })?;
        for r in &mut out {
            r.level = risk::sign_in_level(r.levels.iter()).unwrap_or(r.level);
        }
        out.retain(|r| filter.keeps(&r.username, r.level, r.state, &r.detections));
        Ok(out)
    }
}

impl Core {
    /// The Overview's risk card.
    pub(crate) fn risk_overview(
        &self,
        policies: &crate::domain::records::PolicyRecord,
    ) -> Result<proofup_shared::overview::RiskOverview, ServiceError> {
        let now = self.clock.now();
        let day = now - time::Duration::hours(24);
        let mut detections_24h = 0;
        let levels = self.user_risk_levels(&mut |d| detections_24h += u64::from(d.at >= day))?;
        let mut out = proofup_shared::overview::RiskOverview {
            detections_24h,
            sign_in_policy: policies.sign_in_risk.enforcement,
            user_policy: policies.user_risk.enforcement,
            geoip: self.risk.sources.geo.as_ref().map(|g| g.describe()),
            geoip_stale: self
                .risk
                .sources
                .geo
                .as_ref()
                .and_then(|g| g.built())
                .is_some_and(|b| now - b > time::Duration::days(60)),
            breached_set: self
                .risk
                .sources
                .breached
                .as_ref()
                .map(|b| format!("{} ({} entries)", b.name(), b.entries())),
            ..Default::default()
        };
        for level in levels.values() {
            match level {
                RiskLevel::High => out.users_high += 1,
                RiskLevel::Medium => out.users_medium += 1,
                RiskLevel::Low => out.users_low += 1,
            }
        }
        Ok(out)
    }
}
