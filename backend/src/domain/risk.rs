//! Risk detections: pure functions of what a sign-in looks like, the user's profile, the
//! organisation's familiar places and the time. No I/O: the GeoIP lookup, the breached-password
//! set and the stores are the service's and the adapters'.
//!
//! Rules (docs/security.md, "Risk"; research brief `risk.md` §3):
//! - **Learning.** A profile detects nothing until it has 10 sign-ins over at least 5 days, and
//!   returns to learning after 90 days without one. Behaviour never denies on its own: it steps up.
//! - **Unfamiliar sign-in properties.** Device, network (ASN) and country compared with the user's
//!   last 50 sign-ins: a new network and country on a new device is medium; with a country new to
//!   the organisation (used by fewer than 3 users in 30 days), high; on a known device, low.
//! - **Atypical travel.** From the last located sign-in: the distance less both accuracy radii
//!   (50 km when unknown), over the time (at least one hour), above 1,000 km/h is medium; high when
//!   the country is new to the user and to the organisation. Anonymizers and trusted networks are
//!   skipped, and so is anything without coordinates.
//! - **Anonymous IP**: medium. **Password spray** (the right password from a flagged source),
//!   **leaked credentials**, **admin confirmed** and **user reported**: high.
//! - A sign-in's level is the highest of its detections; two at medium make high.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::net::IpAddr;

use proofup_shared::risk::{DetectionKind, Evidence, Place, RiskLevel};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Sign-ins a profile remembers.
pub const PROFILE_SIGN_INS: usize = 50;
/// A profile learns until it has this many sign-ins…
pub const LEARNING_SIGN_INS: u32 = 10;
/// …over at least this long.
pub const LEARNING_PERIOD: Duration = Duration::days(5);
/// Without a sign-in for this long, a profile learns again.
pub const DORMANT_AFTER: Duration = Duration::days(90);
/// A sign-in the same as the profile's latest (browser, place, network) within this teaches
/// nothing new and is not remembered: a user signing in again and again from their desk costs no
/// profile write, and ten sign-ins in a minute do not make ten days of history. Far under the
/// travel rule's one-hour floor, so travel loses nothing.
pub const RELEARN_AFTER: Duration = Duration::minutes(10);
/// Faster than this between two sign-ins is atypical travel.
pub const MAX_KMH: f64 = 1000.0;
/// The accuracy radius assumed when the database gives none.
pub const UNKNOWN_RADIUS_KM: f64 = 50.0;
/// A country or network is the organisation's when this many users used it…
pub const ORG_FAMILIAR_USERS: usize = 3;
/// …within this window.
pub const ORG_WINDOW: Duration = Duration::days(30);
/// Low detections stop counting toward the user's risk after this long.
pub const LOW_AGES_OUT: Duration = Duration::days(180);

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km between two (latitude, longitude) points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Rounds degrees to the stored tenths.
pub fn tenths(deg: f64) -> Option<i32> {
    let t = (deg * 10.0).round();
    (t.is_finite() && t.abs() <= 1800.0).then_some(t as i32)
}

/// What one sign-in looks like.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub at: OffsetDateTime,
    pub place: &'a Place,
    /// The device cookie's hash, when the browser sent one.
    pub device: Option<&'a str>,
    /// From the organisation's trusted networks: lowers risk like a trusted named location.
    pub trusted: bool,
}

/// One remembered sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_e1: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon_e1: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_km: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// From an anonymizer or a trusted network: never a travel origin.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreliable: bool,
}

impl Seen {
    pub fn of(o: &Observed<'_>) -> Self {
        Seen {
            at: o.at,
            country: o.place.country.clone(),
            asn: o.place.asn,
            lat_e1: o.place.lat_e1,
            lon_e1: o.place.lon_e1,
            accuracy_km: o.place.accuracy_km,
            city: o.place.city.clone(),
            device: o.device.map(str::to_owned),
            unreliable: o.place.anonymous || o.trusted,
        }
    }

    fn place(&self) -> Place {
        Place {
            country: self.country.clone(),
            city: self.city.clone(),
            lat_e1: self.lat_e1,
            lon_e1: self.lon_e1,
            accuracy_km: self.accuracy_km,
            asn: self.asn,
            ..Place::default()
        }
    }
}

/// What the server knows of a user's usual sign-ins: the last 50 (country, network, coordinates
/// to 0.1°, a hashed device id), no address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    pub sign_ins: u32,
    pub recent: VecDeque<Seen>,
}

impl Profile {
    pub fn new(user_id: &str, at: OffsetDateTime) -> Self {
        Self { user_id: user_id.into(), first_seen: at, sign_ins: 0, recent: VecDeque::new() }
    }

    /// Past learning: enough sign-ins over enough time, and not dormant.
    pub fn mature(&self, now: OffsetDateTime) -> bool {
        let recent = self.recent.back().is_some_and(|s| now - s.at < DORMANT_AFTER);
        self.sign_ins >= LEARNING_SIGN_INS && now - self.first_seen >= LEARNING_PERIOD && recent
    }

    /// Whether remembering `o` would teach anything (see [`RELEARN_AFTER`]).
    pub fn would_learn(&self, o: &Observed<'_>) -> bool {
        let seen = Seen::of(o);
        match self.recent.back() {
            Some(last) => seen.at - last.at >= RELEARN_AFTER || Seen { at: last.at, ..seen } != *last,
            None => true,
        }
    }

    /// Remembers a sign-in that completed without open risk (or passed the step the risk asked).
    pub fn learn(&mut self, o: &Observed<'_>) {
        self.remember(Seen::of(o));
    }

    /// Remembers `seen` (the engines call this inside their transaction).
    pub fn remember(&mut self, seen: Seen) {
        let dormant = self.recent.back().is_some_and(|s| seen.at - s.at >= DORMANT_AFTER);
        if dormant {
            // Back to learning, from what it knows now.
            self.first_seen = seen.at;
            self.sign_ins = 0;
        }
        self.recent.push_back(seen);
        while self.recent.len() > PROFILE_SIGN_INS {
            self.recent.pop_front();
        }
        self.sign_ins = self.sign_ins.saturating_add(1);
    }

    /// Whether a sign-in from this browser (`device`) or network is the user's usual: the
    /// throttle counts its failures apart. A network counts when its ASN and country are ones
    /// the user signed in from; the browser, when its device id is.
    pub fn familiar(&self, device: Option<&str>, place: &Place) -> bool {
        device.is_some_and(|d| self.knows_device(d)) || self.knows_network(place)
    }

    /// Whether the user signed in from this network (its ASN, in this country) before.
    pub fn knows_network(&self, place: &Place) -> bool {
        match (place.asn, place.country.as_deref()) {
            (Some(a), Some(c)) => self.recent.iter().any(|s| s.asn == Some(a) && s.country.as_deref() == Some(c)),
            _ => false,
        }
    }

    /// Whether a sign-in deserves a "new sign-in" notice to the user: a browser *and* a network
    /// this profile does not know — only the combination, as notices nobody reads are worse than
    /// none. None while the profile still learns (or learns again after a dormant spell), none for
    /// a place the database cannot place, none from the organisation's trusted networks.
    pub fn notice_worthy(&self, o: &Observed<'_>) -> bool {
        self.mature(o.at)
            && !o.trusted
            && o.place.asn.is_some()
            && o.place.country.is_some()
            && o.device.is_none_or(|d| !self.knows_device(d))
            && !self.knows_network(o.place)
    }

    pub fn knows_device(&self, d: &str) -> bool {
        self.recent.iter().any(|s| s.device.as_deref() == Some(d))
    }

    pub fn knows_asn(&self, asn: u32) -> bool {
        self.recent.iter().any(|s| s.asn == Some(asn))
    }

    pub fn knows_country(&self, c: &str) -> bool {
        self.recent.iter().any(|s| s.country.as_deref() == Some(c))
    }

    /// The latest sign-in with coordinates that can start a journey, by server time.
    fn last_located(&self, before: OffsetDateTime) -> Option<&Seen> {
        self.recent
            .iter()
            .filter(|s| !s.unreliable && s.lat_e1.is_some() && s.lon_e1.is_some() && s.at <= before)
            .max_by_key(|s| s.at)
    }

    /// Whether this profile signed in from `country` or network `asn` within the window.
    fn used_since(&self, since: OffsetDateTime) -> impl Iterator<Item = &Seen> {
        self.recent.iter().filter(move |s| s.at >= since)
    }
}

/// The organisation's familiar countries and networks: those at least 3 users signed in from
/// within 30 days. A shared VPN egress or a branch office is then no surprise to anyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgFamiliar {
    pub countries: HashSet<String>,
    pub asns: HashSet<u32>,
}

impl OrgFamiliar {
    pub fn from_profiles<'a>(profiles: impl IntoIterator<Item = &'a Profile>, now: OffsetDateTime) -> Self {
        let since = now - ORG_WINDOW;
        let mut countries: HashMap<&str, usize> = HashMap::new();
        let mut asns: HashMap<u32, usize> = HashMap::new();
        for p in profiles {
            let mut cs: HashSet<&str> = HashSet::new();
            let mut ns: HashSet<u32> = HashSet::new();
            for s in p.used_since(since) {
                cs.extend(s.country.as_deref());
                ns.extend(s.asn);
            }
            for c in cs {
                *countries.entry(c).or_default() += 1;
            }
            for n in ns {
                *asns.entry(n).or_default() += 1;
            }
        }
        Self {
            countries: countries.into_iter().filter(|(_, n)| *n >= ORG_FAMILIAR_USERS).map(|(c, _)| c.into()).collect(),
            asns: asns.into_iter().filter(|(_, n)| *n >= ORG_FAMILIAR_USERS).map(|(a, _)| a).collect(),
        }
    }
}

/// A detection as found, before the store gives it an id and a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: DetectionKind,
    pub level: RiskLevel,
    pub evidence: Evidence,
}

/// The real-time detections of one sign-in that proved the password (or a pass). `profile`: the
/// user's, if any; `listed_anonymous`: on the operator's anonymizer list.
pub fn assess(profile: Option<&Profile>, o: &Observed<'_>, listed_anonymous: bool, org: &OrgFamiliar) -> Vec<Found> {
    let mut out = Vec::new();
    if o.trusted {
        return out;
    }
    if listed_anonymous || o.place.anonymous {
        out.push(Found {
            kind: DetectionKind::AnonymousIp,
            level: RiskLevel::Medium,
            evidence: Evidence::Anonymous { listed: listed_anonymous, flagged_by_database: o.place.anonymous },
        });
    }
    let Some(p) = profile.filter(|p| p.mature(o.at)) else { return out };
    if !o.place.known() {
        // Private, unknown, or no database: nothing to compare, and never a failure.
        return out;
    }
    let new_device = o.device.is_none_or(|d| !p.knows_device(d));
    let new_asn = o.place.asn.is_some_and(|a| !p.knows_asn(a));
    let new_country = o.place.country.as_deref().is_some_and(|c| !p.knows_country(c));
    let new_to_org = new_country && o.place.country.as_deref().is_some_and(|c| !org.countries.contains(c));
    let level = match (new_asn && new_country, new_device, new_to_org) {
        (true, true, true) => Some(RiskLevel::High),
        (true, true, false) => Some(RiskLevel::Medium),
        (true, false, _) => Some(RiskLevel::Low),
        _ => None,
    };
    if let Some(level) = level {
        let mut new = Vec::new();
        if new_device {
            new.push("device".to_owned());
        }
        new.extend(["network".to_owned(), "country".to_owned()]);
        out.push(Found {
            kind: DetectionKind::UnfamiliarFeatures,
            level,
            evidence: Evidence::Unfamiliar { new, new_to_organisation: new_to_org, place: o.place.clone() },
        });
    }
    if let Some(t) = travel(p, o, new_country && new_to_org) {
        out.push(t);
    }
    out
}

fn travel(p: &Profile, o: &Observed<'_>, unfamiliar_everywhere: bool) -> Option<Found> {
    if o.place.anonymous {
        return None;
    }
    let here = o.place.coordinates()?;
    let last = p.last_located(o.at)?;
    let from = last.place();
    let there = from.coordinates()?;
    let km = haversine_km(there, here);
    let radius = |r: Option<u32>| r.map_or(UNKNOWN_RADIUS_KM, f64::from);
    let effective = (km - radius(last.accuracy_km) - radius(o.place.accuracy_km)).max(0.0);
    // Server time only; a clock step backwards counts as no time at all, under the one-hour floor.
    let elapsed = (o.at - last.at).max(Duration::ZERO);
    let hours = (elapsed.as_seconds_f64() / 3600.0).max(1.0);
    let kmh = effective / hours;
    if kmh <= MAX_KMH {
        return None;
    }
    let changed_country = last.country.is_some() && o.place.country.is_some() && last.country != o.place.country;
    let level = if changed_country && unfamiliar_everywhere { RiskLevel::High } else { RiskLevel::Medium };
    Some(Found {
        kind: DetectionKind::AtypicalTravel,
        level,
        evidence: Evidence::Travel {
            from,
            from_at: last.at,
            to: o.place.clone(),
            km: km.round() as u32,
            effective_km: effective.round() as u32,
            minutes: (elapsed.whole_minutes().max(0)).min(i64::from(u32::MAX)) as u32,
            kmh: kmh.round().min(f64::from(u32::MAX)) as u32,
        },
    })
}

/// A sign-in's real-time level: the highest of its detections; two or more at medium make high.
pub fn sign_in_level<'a>(levels: impl IntoIterator<Item = &'a RiskLevel>) -> Option<RiskLevel> {
    let levels: Vec<RiskLevel> = levels.into_iter().copied().collect();
    let top = levels.iter().copied().max()?;
    let mediums = levels.iter().filter(|l| **l == RiskLevel::Medium).count();
    Some(if top == RiskLevel::Medium && mediums >= 2 { RiskLevel::High } else { top })
}

/// A user's risk: the highest of their open detections; low ones age out after 180 days.
pub fn user_level<'a>(
    open: impl IntoIterator<Item = (&'a RiskLevel, OffsetDateTime)>,
    now: OffsetDateTime,
) -> Option<RiskLevel> {
    open.into_iter().filter(|(l, at)| **l > RiskLevel::Low || now - *at < LOW_AGES_OUT).map(|(l, _)| *l).max()
}

/// The breached-password set's key of a password: the first 8 bytes of its SHA-1 (the form the
/// Pwned Passwords corpus is published in), big-endian.
pub fn breach_key(password: &str) -> u64 {
    use sha1::Digest;
    let d = sha1::Sha1::digest(password.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The key of a SHA-1 written in hex (a Pwned Passwords line, `HEX` or `HEX:COUNT`).
pub fn breach_key_of_hex(hex: &str) -> Option<u64> {
    let h = hex.get(..16)?;
    (hex.len() >= 40 && hex.as_bytes()[..40].iter().all(u8::is_ascii_hexdigit))
        .then(|| u64::from_str_radix(h, 16).ok())
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// Password spray: seen by this server, per source, over a sliding hour.

/// The window spray is counted over.
pub const SPRAY_WINDOW: Duration = Duration::hours(1);
/// A source trying at least this many accounts…
pub const SPRAY_ACCOUNTS: usize = 10;
/// …with at most this many passwords is spraying.
pub const SPRAY_PASSWORDS: usize = 3;
/// Failures remembered per source, and sources remembered.
const SPRAY_EVENTS_PER_SOURCE: usize = 2_000;
const SPRAY_SOURCES: usize = 50_000;

/// A source: an IPv4 address, or an IPv6 /64 (one customer's network).
fn source(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => (u128::from(v6) >> 64) << 64 | 1,
    }
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    at: OffsetDateTime,
    account: u64,
    password: u64,
    unknown: bool,
}

/// Wrong-password sign-ins per source. Only keyed 64-bit hashes of the username and the wrong
/// password are kept (a random key per process), in memory, for an hour: never written anywhere.
pub struct SprayWatch {
    keys: std::collections::hash_map::RandomState,
    sources: HashMap<u128, VecDeque<Failure>>,
}

impl Default for SprayWatch {
    fn default() -> Self {
        Self::new(std::collections::hash_map::RandomState::new())
    }
}

impl SprayWatch {
    pub fn new(keys: std::collections::hash_map::RandomState) -> Self {
        Self { keys, sources: HashMap::new() }
    }

    /// A wrong password (or an unknown account) from `ip`.
    pub fn failure(&mut self, ip: IpAddr, account: &str, password: &str, unknown: bool, now: OffsetDateTime) {
        if self.sources.len() >= SPRAY_SOURCES {
            self.forget_before(now - SPRAY_WINDOW);
            if self.sources.len() >= SPRAY_SOURCES {
                return;
            }
        }
        let f = Failure {
            at: now,
            account: self.keys.hash_one(("account", account)),
            password: self.keys.hash_one(("password", password)),
            unknown,
        };
        let events = self.sources.entry(source(ip)).or_default();
        events.push_back(f);
        while events.len() > SPRAY_EVENTS_PER_SOURCE {
            events.pop_front();
        }
    }

    fn forget_before(&mut self, since: OffsetDateTime) {
        self.sources.retain(|_, e| {
            while e.front().is_some_and(|f| f.at < since) {
                e.pop_front();
            }
            !e.is_empty()
        });
    }

    /// Whether `ip` is spraying (many accounts, few passwords) or stuffing (many accounts, a third
    /// of them unknown) within the hour: the evidence if so.
    pub fn verdict(&self, ip: IpAddr, now: OffsetDateTime) -> Option<Evidence> {
        let since = now - SPRAY_WINDOW;
        let events: Vec<&Failure> = self.sources.get(&source(ip))?.iter().filter(|f| f.at >= since).collect();
        let accounts: HashSet<u64> = events.iter().map(|f| f.account).collect();
        let unknown: HashSet<u64> = events.iter().filter(|f| f.unknown).map(|f| f.account).collect();
        let passwords: HashSet<u64> = events.iter().map(|f| f.password).collect();
        if accounts.len() < SPRAY_ACCOUNTS {
            return None;
        }
        let spray = passwords.len() <= SPRAY_PASSWORDS;
        let stuffing = unknown.len() * 10 > accounts.len() * 3;
        (spray || stuffing).then(|| Evidence::Spray {
            accounts: accounts.len() as u32,
            passwords: passwords.len() as u32,
            unknown_accounts: unknown.len() as u32,
            window_minutes: SPRAY_WINDOW.whole_minutes() as u32,
        })
    }

    /// Sources remembered (for the metrics and the tests).
    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

/// What a sign-in risk policy would have done with one past sign-in at `level`, by the user's
/// scope: nothing, a step-up, or a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WouldHave {
    Nothing,
    SteppedUp,
    Blocked,
}

/// The policy's verdict on a past sign-in (the same thresholds the access decision applies).
pub fn would_have(p: &proofup_shared::policy::SignInRiskPolicy, in_scope: bool, level: RiskLevel) -> WouldHave {
    if !in_scope {
        WouldHave::Nothing
    } else if p.block_at.is_some_and(|b| level >= b) {
        WouldHave::Blocked
    } else if level >= p.level {
        WouldHave::SteppedUp
    } else {
        WouldHave::Nothing
    }
}

/// A change of state to some of a user's detections, as data (each engine applies it inside its
/// own transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// These detections (by id), or every one of the user's.
    pub ids: Option<Vec<String>>,
    /// Only those still open (at risk, or confirmed compromised).
    pub only_open: bool,
    pub to: proofup_shared::risk::RiskState,
    pub detail: String,
    pub by: Option<String>,
    pub at: OffsetDateTime,
}

impl StateChange {
    /// Applies the change to `d` if it is one of those meant; whether it changed.
    pub fn apply(&self, d: &mut crate::domain::records::DetectionRecord) -> bool {
        let meant = self.ids.as_ref().is_none_or(|ids| ids.contains(&d.id));
        if !meant || (self.only_open && !d.state.open()) || d.state == proofup_shared::risk::RiskState::Dismissed {
            // A dismissal is final.
            return false;
        }
        if d.state == self.to && d.detail.as_deref() == Some(self.detail.as_str()) {
            return false;
        }
        d.state = self.to;
        d.detail = Some(self.detail.clone());
        d.changed_at = Some(self.at);
        d.changed_by = self.by.clone();
        true
    }
}

#[cfg(test)]
mod tests;
