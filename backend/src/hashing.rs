//! Argon2id password hashing on a bounded pool: at most one hash per core runs
//! at a time, on blocking threads, never on the HTTP workers.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// OWASP / RFC 9106 baseline: m = 19 MiB, t = 2, p = 1.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Prints Argon2id verifications per second: `threads` threads (default one per core) flat out.
pub fn hash_rate(threads: Option<usize>, seconds: u64) {
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let phc = hash_now("benchmark password, long enough").unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let start = std::time::Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let phc = phc.clone();
                s.spawn(move || {
                    let h = PasswordHash::new(&phc).ok();
                    let mut n = 0u64;
                    while std::time::Instant::now() < deadline {
                        if let Some(h) = &h {
                            let _ = argon2().verify_password(b"benchmark password, long enough", h);
                        }
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

#[derive(Clone)]
pub struct HashPool {
    permits: Arc<Semaphore>,
    /// Verified against when the username does not exist, so both cases cost the same.
    dummy: Arc<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl HashPool {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let dummy = hash_now("proofup dummy password for absent users").unwrap_or_default();
        Self { permits: Arc::new(Semaphore::new(cores)), dummy: Arc::new(dummy) }
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(|e| HashError::Failed(e.to_string()))?
    }

    /// `phc = None` verifies against the dummy hash and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else { return false };
        let real = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        ok && real
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
}
