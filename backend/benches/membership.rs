//! Membership and policy decisions at organisation scale: 100,000 users, 5,000
//! groups, nesting 8 deep. Run: `cargo bench -p proofup --bench membership`.
//!
//! - one user's transitive groups;
//! - one sign-in decision of the MFA registration policy (transitive groups + evaluation);
//! - the decision for all 100,000 users, as the impact estimate and report compute it.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use proofup::domain::membership::MembershipIndex;
use proofup::domain::policy::{evaluate, BulkScope, RegistrationState, UserFacts};
use proofup_shared::policy::{Enforcement, MfaRegistrationPolicy};
use rand::{rngs::StdRng, Rng, SeedableRng};

const USERS: usize = 100_000;
const GROUPS: usize = 5_000;
const LEVELS: usize = 8;

fn build() -> MembershipIndex {
    let mut rng = StdRng::seed_from_u64(7);
    let mut m = MembershipIndex::default();
    let per_level = GROUPS / LEVELS;
    // Each group below the top level sits in one or two groups of the level above.
    for level in 1..LEVELS {
        for i in 0..per_level {
            let child = format!("g{}", level * per_level + i);
            for _ in 0..rng.gen_range(1..=2) {
                let parent = format!("g{}", (level - 1) * per_level + rng.gen_range(0..per_level));
                let _ = m.add_group(&parent, &child);
            }
        }
    }
    // Each user is directly in three groups, mostly deep ones.
    for u in 0..USERS {
        for _ in 0..3 {
            let level = rng.gen_range(LEVELS / 2..LEVELS);
            m.add_user(&format!("g{}", level * per_level + rng.gen_range(0..per_level)), &format!("u{u}"));
        }
    }
    m
}

fn bench(c: &mut Criterion) {
    let m = build();
    let mut rng = StdRng::seed_from_u64(11);
    let sample: Vec<String> = (0..1024).map(|_| format!("u{}", rng.gen_range(0..USERS))).collect();
    let groups: usize = sample.iter().map(|u| m.groups_of(u).len()).sum();
    eprintln!("average transitive groups per user: {:.1}", groups as f64 / sample.len() as f64);
    let mut i = 0;
    c.bench_function("groups_of (100k users, 5k groups, depth 8)", |b| {
        b.iter(|| {
            i = (i + 1) % sample.len();
            black_box(m.groups_of(black_box(&sample[i])))
        })
    });
    // A policy over 40 top-level groups (so almost everyone is in scope through up to 8
    // levels of nesting), excluding two mid-level groups.
    let policy = MfaRegistrationPolicy {
        enforcement: Enforcement::On,
        include_all: false,
        include_groups: (0..40).map(|g| format!("g{g}")).collect(),
        exclude_groups: vec!["g2000".into(), "g2500".into()],
        ..Default::default()
    };
    let now = time::macros::datetime!(2027-01-15 08:00 UTC);
    let state = RegistrationState::default();
    let mut j = 0;
    c.bench_function("policy decision for one sign-in (groups_of + evaluate)", |b| {
        b.iter(|| {
            j = (j + 1) % sample.len();
            let u = &sample[j];
            let groups = m.groups_of(u);
            let facts = UserFacts { user_id: u, emergency_access: false, groups: &groups, methods: 0, state: &state };
            black_box(evaluate(&policy, &facts, now))
        })
    });
    let ids: Vec<String> = (0..USERS).map(|u| format!("u{u}")).collect();
    let mut group = c.benchmark_group("policy over all users");
    group.sample_size(10);
    group.bench_function("decisions for 100k users (impact / report core)", |b| {
        b.iter(|| {
            let scope = BulkScope::new(&m, policy.assignments());
            let mut in_scope = 0u32;
            for u in &ids {
                let groups = scope.memberships(&m, u);
                let facts =
                    UserFacts { user_id: u, emergency_access: false, groups: &groups, methods: 0, state: &state };
                in_scope += u32::from(!matches!(
                    evaluate(&policy, &facts, now),
                    proofup::domain::policy::Decision::NotInScope(_)
                ));
            }
            black_box(in_scope)
        })
    });
    group.finish();
    c.bench_function("check_add_group (cycle check, depth 8)", |b| {
        b.iter(|| black_box(m.check_add_group(black_box("g4999"), black_box("g0"))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
