//! The heap trim returns freed memory to the system (its own test binary: no other test
//! allocates meanwhile, so the process's RSS moves only with this test).
#![cfg(all(target_os = "linux", target_env = "gnu"))]
#![allow(clippy::unwrap_used)]

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 4
}

#[test]
fn freed_small_allocations_go_back_to_the_system() {
    // 64 MiB in 1 KiB blocks (below glibc's mmap threshold: they live in the heap), touched,
    // then freed while one later block keeps the heap's top in use: glibc keeps the freed
    // memory resident until trimmed.
    let blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![i as u8; 1024]).collect();
    let keep = vec![1u8; 1024];
    drop(blocks);
    let before = resident_kib();
    assert!(proofup::memory::trim(), "nothing was returned");
    let after = resident_kib();
    assert!(before.saturating_sub(after) > 32 * 1024, "RSS {before} KiB → {after} KiB");
    assert_eq!(keep[0], 1);
}
