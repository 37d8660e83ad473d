//! The breached-password set: a compact filter of SHA-1 prefixes (BinaryFuse16: ~18 bits an entry,
//! about 1 false match in 65,536), sharded by the first byte so that building it never holds more
//! than one shard's keys. Built offline by `proofup breached build` from a Pwned Passwords file
//! (`SHA1HEX:COUNT` lines) or a list of passwords; Proofup never downloads anything itself.
//!
//! File: `PROOFUP-BREACHED-1\n`, a JSON header line (name, entries, shards), then per shard its
//! seed, three lengths and fingerprints (little-endian), and a SHA-256 of everything before it.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use sha2::Digest;
use xorf::{BinaryFuse16, Filter};

use crate::domain::risk::{breach_key, breach_key_of_hex};
use crate::service::risk::Breached;

const MAGIC: &[u8] = b"PROOFUP-BREACHED-1\n";

#[derive(Debug, thiserror::Error)]
pub enum BreachedError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a breached-password set, or damaged: {0}")]
    Format(&'static str),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    name: String,
    entries: u64,
    shards: usize,
}

pub struct BreachedSet {
    name: String,
    entries: u64,
    shards: Vec<Option<BinaryFuse16>>,
}

impl Breached for BreachedSet {
    fn contains(&self, key: u64) -> bool {
        match self.shards.get((key >> 56) as usize) {
            Some(Some(f)) => f.contains(&key),
            _ => false,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn entries(&self) -> u64 {
        self.entries
    }
}

/// The key of one input line: a SHA-1 in hex (with an optional `:count`, kept when at least
/// `min_count`), or else a password itself.
fn line_key(line: &str, min_count: u64) -> Option<u64> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return None;
    }
    match breach_key_of_hex(line) {
        Some(k) => {
            let count = line.get(41..).and_then(|c| c.trim().parse::<u64>().ok()).unwrap_or(u64::MAX);
            (count >= min_count).then_some(k)
        }
        None => Some(breach_key(line)),
    }
}

impl BreachedSet {
    /// Builds a set from `input` (read twice per pass over shards when it is a file) into `out`.
    pub fn build(input: &Path, out: &Path, name: &str, min_count: u64) -> Result<u64, BreachedError> {
        // One pass sorts keys into 16 groups of 16 shards on disk-free memory: for each group the
        // input is read again, so at most 1/16 of the keys are held at a time.
        let mut body = Vec::new();
        let mut entries = 0u64;
        let mut shards: Vec<Option<BinaryFuse16>> = Vec::with_capacity(256);
        for group in 0..16u64 {
            let mut keys: Vec<Vec<u64>> = vec![Vec::new(); 16];
            let f = std::io::BufReader::new(std::fs::File::open(input)?);
            for line in f.lines() {
                let line = line?;
                if let Some(k) = line_key(&line, min_count) {
                    if k >> 60 == group {
                        keys[((k >> 56) & 0xf) as usize].push(k);
                    }
                }
            }
            for mut ks in keys {
                ks.sort_unstable();
                ks.dedup();
                entries += ks.len() as u64;
                shards.push(if ks.is_empty() {
                    None
                } else {
                    Some(
                        BinaryFuse16::try_from(&ks)
                            .map_err(|_| BreachedError::Format("the filter could not be built"))?,
                    )
                });
            }
        }
        let header = Header { name: name.into(), entries, shards: 256 };
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&serde_json::to_vec(&header).map_err(|_| BreachedError::Format("header"))?);
        body.push(b'\n');
        for s in &shards {
            match s {
                None => body.extend_from_slice(&0u64.to_le_bytes()),
                Some(f) => {
                    body.extend_from_slice(&(f.fingerprints.len() as u64).to_le_bytes());
                    body.extend_from_slice(&f.descriptor.seed.to_le_bytes());
                    body.extend_from_slice(&f.descriptor.segment_length.to_le_bytes());
                    body.extend_from_slice(&f.descriptor.segment_length_mask.to_le_bytes());
                    body.extend_from_slice(&f.descriptor.segment_count_length.to_le_bytes());
                    for fp in f.fingerprints.iter() {
                        body.extend_from_slice(&fp.to_le_bytes());
                    }
                }
            }
        }
        let digest = sha2::Sha256::digest(&body);
        let tmp = out.with_extension("partial");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&body)?;
            f.write_all(&digest)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, out)?;
        Ok(entries)
    }

    /// Loads a set, checking its digest and every shard's shape (a damaged file is refused, never
    /// half-used).
    pub fn open(path: &Path) -> Result<Self, BreachedError> {
        let mut all = Vec::new();
        std::fs::File::open(path)?.read_to_end(&mut all)?;
        if all.len() < MAGIC.len() + 32 || !all.starts_with(MAGIC) {
            return Err(BreachedError::Format("no header"));
        }
        let (body, digest) = all.split_at(all.len() - 32);
        if sha2::Sha256::digest(body).as_slice() != digest {
            return Err(BreachedError::Format("the digest does not match"));
        }
        let rest = &body[MAGIC.len()..];
        let nl = rest.iter().position(|b| *b == b'\n').ok_or(BreachedError::Format("no header"))?;
        let header: Header = serde_json::from_slice(&rest[..nl]).map_err(|_| BreachedError::Format("header"))?;
        if header.shards != 256 {
            return Err(BreachedError::Format("shards"));
        }
        let mut cur = Cursor(&rest[nl + 1..]);
        let mut shards = Vec::with_capacity(256);
        for _ in 0..256 {
            let len = cur.u64()? as usize;
            if len == 0 {
                shards.push(None);
                continue;
            }
            let descriptor = xorf::Descriptor {
                seed: cur.u64()?,
                segment_length: cur.u32()?,
                segment_length_mask: cur.u32()?,
                segment_count_length: cur.u32()?,
            };
            let sl = descriptor.segment_length as usize;
            let shape_ok = sl.is_power_of_two()
                && descriptor.segment_length_mask as usize == sl - 1
                && len == descriptor.segment_count_length as usize + 2 * sl;
            if !shape_ok {
                return Err(BreachedError::Format("a shard's shape"));
            }
            let bytes = cur.take(len.checked_mul(2).ok_or(BreachedError::Format("length"))?)?;
            let fingerprints: Box<[u16]> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            shards.push(Some(BinaryFuse16 { descriptor, fingerprints }));
        }
        if !cur.0.is_empty() {
            return Err(BreachedError::Format("trailing bytes"));
        }
        Ok(Self { name: header.name, entries: header.entries, shards })
    }
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BreachedError> {
        if self.0.len() < n {
            return Err(BreachedError::Format("truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u64(&mut self) -> Result<u64, BreachedError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
    fn u32(&mut self) -> Result<u32, BreachedError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 1,000 generated passwords plus "correct horse battery staple": none is missed, and
    /// 1,000,000 other strings match rarely (BinaryFuse16: about 1 in 65,536).
    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("list.txt");
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("leaked-{i}-Summer!\n"));
        }
        text.push_str("correct horse battery staple\n");
        // A Pwned Passwords line: SHA-1("password") with its count, and one below --min-count.
        text.push_str("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\n");
        text.push_str("7C4A8D09CA3762AF61E59520943DC26494F8941B:1\n");
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("breached.set");
        let n = BreachedSet::build(&input, &out, "test set", 2).unwrap();
        assert_eq!(n, 1002);
        let set = BreachedSet::open(&out).unwrap();
        assert_eq!((set.name(), set.entries()), ("test set", 1002));
        for i in 0..1000 {
            assert!(set.contains(breach_key(&format!("leaked-{i}-Summer!"))));
        }
        assert!(set.contains(breach_key("correct horse battery staple")));
        assert!(set.contains(breach_key("password")));
        assert!(!set.contains(breach_key("123456")), "under --min-count");
        let hits = (0..1_000_000u32).filter(|i| set.contains(breach_key(&format!("clean {i}")))).count();
        assert!(hits < 100, "{hits} false positives in 10^6 (expected ~15)");
        // A damaged file is refused whole.
        let mut bytes = std::fs::read(&out).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        std::fs::write(&out, &bytes).unwrap();
        assert!(matches!(BreachedSet::open(&out), Err(BreachedError::Format(_))));
    }
}
