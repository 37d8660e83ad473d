#![allow(clippy::unwrap_used)]

use super::*;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-01 09:00 UTC);

fn place(country: &str, city: &str, lat: f64, lon: f64, asn: u32, accuracy: u32) -> Place {
    Place {
        country: Some(country.into()),
        city: Some(city.into()),
        lat_e1: tenths(lat),
        lon_e1: tenths(lon),
        accuracy_km: Some(accuracy),
        asn: Some(asn),
        as_org: Some(format!("Net {asn}")),
        anonymous: false,
    }
}

fn paris() -> Place {
    place("FR", "Paris", 48.8566, 2.3522, 64500, 20)
}
fn sydney() -> Place {
    place("AU", "Sydney", -33.8688, 151.2093, 64501, 20)
}
fn berlin() -> Place {
    place("DE", "Berlin", 52.52, 13.405, 64502, 20)
}
fn london() -> Place {
    place("GB", "London", 51.5074, -0.1278, 64503, 20)
}

/// Alice: ten sign-ins from Paris on her laptop over ten days, the last at `T0`.
fn mature_alice() -> Profile {
    let mut p = Profile::new("alice", T0 - Duration::days(10));
    let home = paris();
    for day in (0..10).rev() {
        p.learn(&Observed { at: T0 - Duration::days(day), place: &home, device: Some("laptop"), trusted: false });
    }
    p
}

fn at(p: &Place, when: OffsetDateTime, device: Option<&'static str>) -> (Place, OffsetDateTime, Option<&'static str>) {
    (p.clone(), when, device)
}

fn run(profile: Option<&Profile>, (place, when, device): (Place, OffsetDateTime, Option<&str>)) -> Vec<Found> {
    let o = Observed { at: when, place: &place, device, trusted: false };
    assess(profile, &o, false, &OrgFamiliar::default())
}

fn kinds(found: &[Found]) -> Vec<(DetectionKind, RiskLevel)> {
    found.iter().map(|f| (f.kind, f.level)).collect()
}

#[test]
fn distances_match_the_worked_examples() {
    let km = |a: (f64, f64), b: (f64, f64)| haversine_km(a, b).round();
    assert_eq!(km((48.8566, 2.3522), (-33.8688, 151.2093)), 16961.0);
    assert!((km((48.8566, 2.3522), (52.52, 13.405)) - 877.5).abs() < 1.0);
    assert!((km((48.8566, 2.3522), (51.5074, -0.1278)) - 343.6).abs() < 1.0);
    assert!((km((40.7128, -74.006), (34.0522, -118.2437)) - 3935.8).abs() < 1.0);
    assert_eq!(tenths(48.8566), Some(489));
    assert_eq!(tenths(f64::NAN), None);
}

#[test]
fn paris_then_sydney_two_hours_later_is_impossible_travel_with_its_evidence() {
    let alice = mature_alice();
    let found = run(Some(&alice), at(&sydney(), T0 + Duration::hours(2), Some("laptop")));
    let travel = found.iter().find(|f| f.kind == DetectionKind::AtypicalTravel).unwrap();
    // New country to her and (with no organisation history) to the organisation: high.
    assert_eq!(travel.level, RiskLevel::High);
    let Evidence::Travel { km, effective_km, minutes, kmh, from, .. } = &travel.evidence else { panic!() };
    assert!((16_900..17_000).contains(km), "{km}");
    assert_eq!(*effective_km, km - 40, "both 20 km radii come off");
    assert_eq!(*minutes, 120);
    assert!((8_400..8_500).contains(kmh), "{kmh}");
    assert_eq!(from.city.as_deref(), Some("Paris"));
    assert!(travel.evidence.describe().contains("km/h"));
}

#[test]
fn the_detections_as_a_table() {
    let alice = mature_alice();
    let mut young = Profile::new("new", T0 - Duration::days(2));
    for h in 0..12 {
        young.learn(&Observed { at: T0 - Duration::hours(h), place: &paris(), device: Some("laptop"), trusted: false });
    }
    let mut org = OrgFamiliar::default();
    org.countries.insert("AU".into());
    use DetectionKind::*;
    use RiskLevel::*;
    type Row =
        (&'static str, Option<Profile>, (Place, OffsetDateTime, Option<&'static str>), Vec<(DetectionKind, RiskLevel)>);
    let rows: Vec<Row> = vec![
        ("home, same laptop", Some(alice.clone()), at(&paris(), T0 + Duration::hours(8), Some("laptop")), vec![]),
        (
            "home, a new browser: logged, no detection",
            Some(alice.clone()),
            at(&paris(), T0 + Duration::hours(8), Some("phone")),
            vec![],
        ),
        ("home, no device cookie", Some(alice.clone()), at(&paris(), T0 + Duration::hours(8), None), vec![]),
        (
            "Berlin an hour later: 877 km in an hour is travel, not atypical",
            Some(alice.clone()),
            at(&berlin(), T0 + Duration::hours(1), Some("laptop")),
            vec![(UnfamiliarFeatures, Low)],
        ),
        (
            "Berlin on a new device a day later",
            Some(alice.clone()),
            at(&berlin(), T0 + Duration::days(1), None),
            vec![(UnfamiliarFeatures, High)],
        ),
        (
            "London 30 minutes later: 344 km less radii over the one-hour floor",
            Some(alice.clone()),
            at(&london(), T0 + Duration::minutes(30), Some("laptop")),
            vec![(UnfamiliarFeatures, Low)],
        ),
        (
            "Sydney 2 h later, new device",
            Some(alice.clone()),
            at(&sydney(), T0 + Duration::hours(2), None),
            vec![(UnfamiliarFeatures, High), (AtypicalTravel, High)],
        ),
        (
            "Sydney a day later on the laptop: 707 km/h",
            Some(alice.clone()),
            at(&sydney(), T0 + Duration::days(1), Some("laptop")),
            vec![(UnfamiliarFeatures, Low)],
        ),
        ("a young profile learns (AT-4)", Some(young.clone()), at(&sydney(), T0 + Duration::hours(2), None), vec![]),
        ("no profile yet", None, at(&sydney(), T0 + Duration::hours(2), None), vec![]),
        (
            "unknown location never fails",
            Some(alice.clone()),
            at(&Place::default(), T0 + Duration::hours(2), None),
            vec![],
        ),
        (
            "anonymous, even for a new user",
            None,
            at(&Place { anonymous: true, ..Place::default() }, T0, None),
            vec![(AnonymousIp, Medium)],
        ),
        (
            "anonymous Sydney: no travel from an anonymizer",
            Some(alice.clone()),
            at(&Place { anonymous: true, ..sydney() }, T0 + Duration::hours(2), Some("laptop")),
            vec![(AnonymousIp, Medium), (UnfamiliarFeatures, Low)],
        ),
    ];
    for (name, profile, obs, want) in rows {
        assert_eq!(kinds(&run(profile.as_ref(), obs)), want, "{name}");
    }
    // The organisation knows Australia (three colleagues there): the new device makes it medium,
    // and travel too.
    let o = Observed { at: T0 + Duration::hours(2), place: &sydney(), device: None, trusted: false };
    assert_eq!(
        kinds(&assess(Some(&alice), &o, false, &org)),
        vec![(UnfamiliarFeatures, Medium), (AtypicalTravel, Medium)]
    );
    // A trusted network lowers everything to nothing; the operator's list is anonymous.
    let trusted = Observed { trusted: true, ..o.clone() };
    assert!(assess(Some(&alice), &trusted, true, &org).is_empty());
    assert_eq!(kinds(&assess(None, &o, true, &org)), vec![(AnonymousIp, Medium)]);
}

#[test]
fn a_dormant_profile_learns_again_and_a_clock_step_back_is_no_time() {
    let alice = mature_alice();
    assert!(alice.mature(T0 + Duration::days(1)));
    assert!(!alice.mature(T0 + Duration::days(91)));
    let mut back = alice.clone();
    back.learn(&Observed { at: T0 + Duration::days(200), place: &paris(), device: None, trusted: false });
    assert_eq!(back.sign_ins, 1);
    // A sign-in stamped before the last one (another node's clock): Δt is 0, under the floor.
    let found = run(Some(&alice), at(&berlin(), T0 - Duration::minutes(5), Some("laptop")));
    assert!(found.iter().all(|f| f.kind != DetectionKind::AtypicalTravel));
}

#[test]
fn a_profile_keeps_fifty_sign_ins() {
    let mut p = Profile::new("u", T0);
    for i in 0..120 {
        p.learn(&Observed { at: T0 + Duration::minutes(i), place: &paris(), device: None, trusted: false });
    }
    assert_eq!(p.recent.len(), PROFILE_SIGN_INS);
    assert_eq!(p.sign_ins, 120);
}

#[test]
fn organisation_familiarity_needs_three_users_within_thirty_days() {
    let mut ps = Vec::new();
    for (i, days_ago) in [1, 2, 40].into_iter().enumerate() {
        let mut p = Profile::new(&format!("u{i}"), T0 - Duration::days(60));
        p.learn(&Observed { at: T0 - Duration::days(days_ago), place: &sydney(), device: None, trusted: false });
        ps.push(p);
    }
    assert!(OrgFamiliar::from_profiles(&ps, T0).countries.is_empty(), "the third is too old");
    let mut p = Profile::new("u3", T0);
    p.learn(&Observed { at: T0, place: &sydney(), device: None, trusted: false });
    ps.push(p);
    let org = OrgFamiliar::from_profiles(&ps, T0);
    assert!(org.countries.contains("AU") && org.asns.contains(&64501));
}

#[test]
fn levels_add_up() {
    use RiskLevel::*;
    assert_eq!(sign_in_level(&[]), None);
    assert_eq!(sign_in_level(&[Low]), Some(Low));
    assert_eq!(sign_in_level(&[Low, Medium]), Some(Medium));
    assert_eq!(sign_in_level(&[Medium, Medium]), Some(High), "two mediums make high");
    assert_eq!(sign_in_level(&[High, Low]), Some(High));
    let old = T0 - Duration::days(200);
    assert_eq!(user_level([(&Low, old)], T0), None, "low ages out");
    assert_eq!(user_level([(&Low, T0)], T0), Some(Low));
    assert_eq!(user_level([(&Medium, old), (&Low, T0)], T0), Some(Medium), "medium does not");
}

#[test]
fn spray_is_many_accounts_few_passwords_from_one_source() {
    let mut w = SprayWatch::default();
    let ip: IpAddr = "198.51.100.7".parse().unwrap();
    let other: IpAddr = "198.51.100.8".parse().unwrap();
    for i in 0..50 {
        for pw in ["Winter2026!", "Spring2026!"] {
            w.failure(ip, &format!("user{i}"), pw, false, T0 + Duration::seconds(i));
        }
    }
    let Some(Evidence::Spray { accounts, passwords, .. }) = w.verdict(ip, T0 + Duration::minutes(5)) else {
        panic!("spray not seen")
    };
    assert_eq!((accounts, passwords), (50, 2));
    assert_eq!(w.verdict(other, T0), None, "another address stays clean");
    assert_eq!(w.verdict(ip, T0 + Duration::hours(2)), None, "the hour passes");
    // One user mistyping many passwords is not a spray.
    let mut w = SprayWatch::default();
    for i in 0..30 {
        w.failure(other, "alice", &format!("guess{i}"), false, T0);
    }
    assert_eq!(w.verdict(other, T0), None);
    // Stuffing: many accounts, one password each, most of them unknown.
    for i in 0..12 {
        w.failure(ip, &format!("leaked{i}"), &format!("pw{i}"), i % 2 == 0, T0);
    }
    assert!(matches!(w.verdict(ip, T0), Some(Evidence::Spray { unknown_accounts: 6, .. })));
    // IPv6 addresses in one /64 are one source.
    let mut w = SprayWatch::default();
    for i in 0..10u32 {
        let a: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
        w.failure(a, &format!("user{i}"), "pw", false, T0);
    }
    assert!(w.verdict("2001:db8:1:2::ffff".parse().unwrap(), T0).is_some());
    assert_eq!(w.sources(), 1);
}

#[test]
fn breach_keys_are_the_sha1_prefix() {
    // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
    assert_eq!(breach_key("password"), 0x5BAA61E4C9B93F3F);
    assert_eq!(breach_key_of_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493"), Some(0x5BAA61E4C9B93F3F));
    assert_eq!(breach_key_of_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"), Some(0x5BAA61E4C9B93F3F));
    assert_eq!(breach_key_of_hex("correct horse battery staple"), None);
    assert_eq!(breach_key_of_hex("5BAA"), None);
}

/// A case: name, profile, place, device, from a trusted network, a notice expected.
type NoticeCase<'a> = (&'a str, &'a Profile, &'a Place, Option<&'a str>, bool, bool);

#[test]
fn only_a_new_browser_on_a_new_network_after_learning_is_worth_a_notice() {
    let alice = mature_alice();
    let later = T0 + Duration::days(1);
    let unplaced = Place::default();
    let mut learning = Profile::new("bob", T0 - Duration::days(1));
    learning.learn(&Observed { at: T0, place: &paris(), device: Some("laptop"), trusted: false });
    let (home, away) = (paris(), berlin());
    #[rustfmt::skip]
    let table: [NoticeCase<'_>; 7] = [
        ("new browser, new network",                 &alice,    &away,     None,           false, true),
        ("a browser she never used, new network",    &alice,    &away,     Some("kiosk"),  false, true),
        ("her laptop abroad",                        &alice,    &away,     Some("laptop"), false, false),
        ("a new browser at home",                    &alice,    &home,     None,           false, false),
        ("unplaced address",                         &alice,    &unplaced, None,           false, false),
        ("a trusted network",                        &alice,    &away,     None,           true,  false),
        ("still learning",                           &learning, &away,     None,           false, false),
    ];
    for (case, profile, place, device, trusted, expected) in table {
        let o = Observed { at: later, place, device, trusted };
        assert_eq!(profile.notice_worthy(&o), expected, "{case}");
    }
    // After 90 idle days the profile learns again: no notice.
    let o = Observed { at: T0 + Duration::days(91), place: &away, device: None, trusted: false };
    assert!(!alice.notice_worthy(&o));
}

#[test]
fn the_same_sign_in_minutes_later_teaches_nothing_and_is_not_remembered() {
    let alice = mature_alice();
    let home = paris();
    let again = |minutes: i64, place: &Place, device: Option<&str>| {
        alice.would_learn(&Observed { at: T0 + Duration::minutes(minutes), place, device, trusted: false })
    };
    assert!(!again(1, &home, Some("laptop")), "her laptop at home a minute later");
    assert!(!again(9, &home, Some("laptop")));
    assert!(again(10, &home, Some("laptop")), "ten minutes on: its time is worth remembering");
    assert!(again(1, &home, Some("phone")), "another browser");
    assert!(again(1, &home, None), "no device cookie");
    assert!(again(1, &berlin(), Some("laptop")), "another place");
    assert!(Profile::new("new", T0).would_learn(&Observed { at: T0, place: &home, device: None, trusted: false }));
}
