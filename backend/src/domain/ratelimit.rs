//! Per-IP limit on verifier endpoints (credential stuffing), in memory.
//!
//! A fixed window per IP address. It is a second layer: the per-account
//! throttle in the store is what NIST requires.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

pub struct IpRateLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (OffsetDateTime, u32)>>,
}

/// Entries kept before expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl IpRateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window, seen: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` when the address is over its limit, without counting (for limits on failures:
    /// check first, `hit` only when the attempt failed).
    pub fn check(&self, ip: IpAddr, now: OffsetDateTime) -> Result<(), Duration> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match seen.get(&ip) {
            Some((start, n)) if now < *start + self.window && *n >= self.max => Err(*start + self.window - now),
            _ => Ok(()),
        }
    }

    /// Counts one attempt; `Err(wait)` when the address is over its limit.
    pub fn hit(&self, ip: IpAddr, now: OffsetDateTime) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= SWEEP_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| now < *start + window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            return Err(entry.0 + self.window - now);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn limits_per_address_and_window() {
        let l = IpRateLimiter::new(3, Duration::minutes(1));
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.hit(a, t0).is_ok());
        }
        assert_eq!(l.hit(a, t0 + Duration::seconds(15)), Err(Duration::seconds(45)));
        assert!(l.hit(b, t0).is_ok());
        assert_eq!(l.check(a, t0 + Duration::seconds(30)), Err(Duration::seconds(30)));
        assert_eq!(l.check(b, t0), Ok(()));
        assert_eq!(l.check(a, t0 + Duration::minutes(1)), Ok(()), "a new window");
        assert!(l.hit(a, t0 + Duration::minutes(1)).is_ok());
    }
}
