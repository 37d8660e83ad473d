//! Argon2id password hashing on a fixed pool of worker threads, one per core: at most
//! one hash per core runs at a time, never on the HTTP workers. Each worker owns its
//! 19 MiB Argon2 memory and reuses it for every verification, so a sign-in neither
//! page-faults fresh memory nor leaves 19 MiB behind in some allocator arena; a worker idle for
//! [`RELEASE_AFTER`] gives it back.

use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// OWASP / RFC 9106 baseline: m = 19 MiB, t = 2, p = 1.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// One hashing thread's state: the Argon2 memory it reuses.
#[derive(Default)]
pub struct Worker {
    blocks: Vec<Block>,
}

/// How long a hashing thread waits for work before it gives its Argon2 memory back.
pub const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

impl Worker {
    /// Gives the Argon2 memory back; true if there was any.
    pub fn release(&mut self) -> bool {
        let had = !self.blocks.is_empty();
        self.blocks = Vec::new();
        had
    }

    /// Checks `password` against a PHC string (any Argon2 variant and parameters), in
    /// constant time over the output.
    pub fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let Ok(h) = PasswordHash::new(phc) else { return false };
        let (Ok(alg), Some(expected), Some(salt)) = (Algorithm::try_from(h.algorithm), h.hash, h.salt) else {
            return false;
        };
        let version = match h.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&h) else { return false };
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
        let blocks = params.block_count();
        if self.blocks.len() < blocks {
            self.blocks.resize(blocks, Block::default());
        }
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = &mut out[..expected.len()];
        let computed = Argon2::new(alg, version, params).hash_password_into_with_memory(
            password,
            salt,
            &mut *out,
            &mut self.blocks[..blocks],
        );
        // `Output`'s equality is constant-time.
        computed.is_ok() && Output::new(out).is_ok_and(|o| o == expected)
    }
}

/// Prints Argon2id verifications per second: `threads` threads (default one per core) flat out,
/// each verifying exactly as a pool worker does. The bound for sign-in throughput.
pub fn hash_rate(threads: Option<usize>, seconds: u64) {
    let threads = threads.unwrap_or_else(cores);
    let phc = hash_now("benchmark password, long enough").unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let start = std::time::Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let phc = phc.clone();
                s.spawn(move || {
                    let mut worker = Worker::default();
                    let mut n = 0u64;
                    while std::time::Instant::now() < deadline {
                        let _ = worker.verify(b"benchmark password, long enough", &phc);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let secs = start.elapsed().as_secs_f64();
    println!("{:.1} verifications/s ({total} in {secs:.2} s on {threads} threads)", total as f64 / secs);
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// How much nicer the hashing threads are than the rest of the process (the HTTP workers), so
/// that a request that hashes nothing (a TOTP step, an admin page) never queues behind a
/// password spray for a core.
pub const HASH_NICE: i32 = 10;

/// Hashing threads: one per core on one or two cores (where the scheduler priority alone keeps
/// the other requests moving), one core fewer beyond that, left for the request workers.
pub fn pool_threads(cores: usize) -> usize {
    if cores > 2 {
        cores - 1
    } else {
        cores.max(1)
    }
}

/// Lowers the calling thread's priority by [`HASH_NICE`] (on Linux a thread has its own nice value).
fn lower_priority() {
    let current = rustix::process::getpriority_process(None).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(None, (current + HASH_NICE).min(19)) {
        tracing::warn!(error = %e, "could not lower the password-hashing thread's priority");
    }
}

enum Job {
    Hash(String, oneshot::Sender<Result<String, HashError>>),
    Verify(String, String, oneshot::Sender<bool>),
}

/// The hashing workers. Cloning shares them; they stop when the last clone is dropped.
#[derive(Clone)]
pub struct HashPool {
    /// Each job with when it was queued (the wait goes to the metrics).
    jobs: mpsc::Sender<(Job, std::time::Instant)>,
    /// Verified against when the username does not exist, so both cases cost the same.
    dummy: Arc<String>,
    /// Its threads are named `argon2-<pool>-<i>` (read by the priority test).
    #[cfg_attr(not(test), allow(dead_code))]
    pool: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl HashPool {
    pub fn new() -> Self {
        Self::releasing_after(RELEASE_AFTER)
    }

    /// A pool whose threads give their Argon2 memory back after `idle` without work.
    pub fn releasing_after(idle: std::time::Duration) -> Self {
        let (jobs, rx) = mpsc::channel::<(Job, std::time::Instant)>();
        let rx = Arc::new(Mutex::new(rx));
        let (ready_tx, ready) = mpsc::channel::<()>();
        static POOLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let pool = POOLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut started = 0;
        for i in 0..pool_threads(cores()) {
            let rx = Arc::clone(&rx);
            let ready_tx = ready_tx.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{pool}-{i}")).spawn(move || {
                lower_priority();
                let _ = ready_tx.send(());
                let mut worker = Worker::default();
                loop {
                    // The lock is held only while waiting for the next job. A worker that waited
                    // `idle` for one gives its Argon2 memory back (the next hash pays a
                    // few milliseconds of page faults): a server at rest does not keep 19 MiB
                    // per core for the next sign-in.
                    let job = match rx.lock() {
                        Ok(rx) => match rx.recv_timeout(idle) {
                            Ok(job) => Ok(job),
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                drop(rx);
                                if worker.release() {
                                    crate::memory::release_soon();
                                }
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => Err(mpsc::RecvError),
                        },
                        Err(_) => return,
                    };
                    let job = job.map(|(job, queued)| {
                        crate::metrics::hash_started(queued.elapsed().as_secs_f64());
                        job
                    });
                    match job {
                        // A caller that has gone (client disconnected) costs nothing.
                        Ok(Job::Verify(_, _, reply)) if reply.is_closed() => {}
                        Ok(Job::Verify(password, phc, reply)) => {
                            let _ = reply.send(worker.verify(password.as_bytes(), &phc));
                        }
                        Ok(Job::Hash(password, reply)) => {
                            let _ = reply.send(hash_now(&password));
                        }
                        Err(_) => return, // every HashPool clone is gone
                    }
                }
            });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a password-hashing thread"),
            }
        }
        // Every thread runs at its lower priority before the first job can reach it.
        for _ in 0..started {
            let _ = ready.recv();
        }
        let dummy = hash_now("proofup dummy password for absent users").unwrap_or_default();
        Self { jobs, dummy: Arc::new(dummy), pool }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Hash(password, tx)).map_err(|_| HashError::Failed("hashing pool stopped".into()))?;
        rx.await.map_err(|_| HashError::Failed("hashing pool stopped".into()))?
    }

    /// `phc = None` verifies against the dummy hash and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.as_ref().clone());
        let (tx, rx) = oneshot::channel();
        if self.send(Job::Verify(password, phc, tx)).is_err() {
            return false;
        }
        rx.await.unwrap_or(false) && real
    }

    /// Queues a job, counted in the queue gauge until a thread takes it.
    fn send(&self, job: Job) -> Result<(), ()> {
        crate::metrics::hash_queued();
        self.jobs.send((job, std::time::Instant::now())).map_err(|_| crate::metrics::hash_started(0.0))
    }
}

impl Default for HashPool {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let pool = HashPool::new();
        let a = pool.hash("correct horse battery staple".into()).await.unwrap();
        let b = pool.hash("correct horse battery staple".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(pool.verify("correct horse battery staple".into(), Some(a.clone())).await);
        assert!(!pool.verify("correct horse battery stapl".into(), Some(a.clone())).await);
        assert!(!pool.verify("CORRECT HORSE BATTERY STAPLE".into(), Some(a)).await);
        assert!(!pool.verify("proofup dummy password for absent users".into(), None).await);
    }

    #[test]
    fn hashing_threads_run_below_the_request_workers() {
        assert_eq!(pool_threads(1), 1);
        assert_eq!(pool_threads(2), 2);
        assert_eq!(pool_threads(4), 3);
        assert_eq!(pool_threads(16), 15);
        let me = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let own: i32 = me.rsplit_once(')').unwrap().1.split_whitespace().nth(16).unwrap().parse().unwrap();
        let pool = HashPool::new();
        let prefix = format!("argon2-{}-", pool.pool);
        // Each thread's nice value is field 19 of /proc/self/task/TID/stat (after the name in parentheses).
        let mut seen = 0;
        for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if !comm.starts_with(&prefix) {
                continue;
            }
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap();
            let after_name = stat.rsplit_once(')').unwrap().1;
            let nice: i32 = after_name.split_whitespace().nth(16).unwrap().parse().unwrap();
            assert!(nice >= (own + HASH_NICE).min(19), "{} runs at nice {nice}, the test at {own}", comm.trim());
            seen += 1;
        }
        assert!(seen >= pool_threads(cores()), "{seen} hashing threads found");
        let after = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let still: i32 = after.rsplit_once(')').unwrap().1.split_whitespace().nth(16).unwrap().parse().unwrap();
        assert_eq!(still, own, "the calling thread keeps its priority");
    }

    #[test]
    fn a_worker_gives_its_memory_back_and_verifies_as_before() {
        let phc = hash_now("correct horse").unwrap();
        let mut w = Worker::default();
        assert!(!w.release(), "nothing to give back yet");
        assert!(w.verify(b"correct horse", &phc));
        assert!(w.release() && w.blocks.is_empty());
        assert!(w.verify(b"correct horse", &phc) && !w.verify(b"wrong horse", &phc));
    }

    #[tokio::test]
    async fn a_pool_idle_past_its_release_time_still_verifies() {
        let pool = HashPool::releasing_after(std::time::Duration::from_millis(20));
        let phc = pool.hash("correct horse".into()).await.unwrap();
        assert!(pool.verify("correct horse".into(), Some(phc.clone())).await);
        // Every thread times out and releases (each in turn holds the queue), then works on.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(pool.verify("correct horse".into(), Some(phc.clone())).await);
        assert!(!pool.verify("wrong horse".into(), Some(phc)).await);
    }

    #[test]
    fn the_reusing_worker_agrees_with_the_argon2_crate_on_any_parameters() {
        use argon2::password_hash::PasswordVerifier as _;
        let mut w = Worker::default();
        // Production parameters, then smaller and larger memory, other variants and output lengths:
        // the worker's buffer is reused, grown, and sliced.
        for (alg, m, t, p, len) in [
            (Algorithm::Argon2id, 19_456, 2, 1, 32),
            (Algorithm::Argon2id, 4_096, 3, 1, 16),
            (Algorithm::Argon2i, 8_192, 1, 2, 64),
            (Algorithm::Argon2d, 32_768, 1, 1, 32),
        ] {
            let a = Argon2::new(alg, Version::V0x13, Params::new(m, t, p, Some(len)).unwrap());
            let phc = a.hash_password(b"hunter2 but longer", &SaltString::generate(&mut OsRng)).unwrap().to_string();
            assert!(a.verify_password(b"hunter2 but longer", &PasswordHash::new(&phc).unwrap()).is_ok());
            assert!(w.verify(b"hunter2 but longer", &phc), "{phc}");
            assert!(!w.verify(b"hunter2 but longe", &phc), "{phc}");
            assert!(!w.verify(b"", &phc));
        }
        assert!(!w.verify(b"x", "not a phc string"));
        assert!(!w.verify(b"x", "$scrypt$ln=1,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
        // A tampered hash fails.
        let phc = hash_now("abc def ghi jkl").unwrap();
        let mut bad = phc.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == 'A' { 'B' } else { 'A' });
        assert!(w.verify(b"abc def ghi jkl", &phc));
        assert!(!w.verify(b"abc def ghi jkl", &bad));
    }
}
