//! One user's transitive groups at organisation scale: 100,000 users, 5,000 groups,
//! nesting 8 deep. Run: `cargo bench -p proofup --bench membership`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use proofup::domain::membership::MembershipIndex;
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
    c.bench_function("check_add_group (cycle check, depth 8)", |b| {
        b.iter(|| black_box(m.check_add_group(black_box("g4999"), black_box("g0"))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
