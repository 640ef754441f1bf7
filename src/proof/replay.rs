//! Proofs seen, so each is accepted once per Envoy process (RFC 9449 §11.1).
//!
//! A proof is known by a digest of its key's thumbprint and its `jti` (unique per key), kept
//! until its `iat` window has passed. The records are spread over [`SHARDS`] shared-data
//! values, each of at most [`SHARD_CAPACITY`] records, so one write copies a few kilobytes and
//! workers rarely contend for one value. A shard that is full of proofs still in their window
//! refuses new proofs (fail closed): freshness that cannot be recorded cannot be trusted.

use crate::crypto::Hash;

/// Shared-data values the records are spread over.
pub const SHARDS: usize = 256;
/// Records per shard: with [`SHARDS`], 65,536 proofs within their windows at once.
pub const SHARD_CAPACITY: usize = 256;
/// Bytes of one record: the digest, then the expiry (big-endian seconds).
const RECORD_BYTES: usize = DIGEST_BYTES + 8;
const DIGEST_BYTES: usize = 16;

/// One proof, as the store knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofId {
    digest: [u8; DIGEST_BYTES],
    /// Seconds since the epoch from which the proof is refused by its `iat` anyway.
    pub expires: u64,
}

impl ProofId {
    /// The proof with `jti` by the key of `thumbprint`, kept until `expires`.
    pub fn new(thumbprint: &str, jti: &str, expires: u64) -> ProofId {
        // A thumbprint is base64url, so the dot cannot be part of it: no two (key, jti) pairs
        // give the same input.
        let hashed = Hash::Sha256.digest(format!("{thumbprint}.{jti}").as_bytes());
        let mut digest = [0; DIGEST_BYTES];
        if let Some(head) = hashed.as_ref().get(..DIGEST_BYTES) {
            digest.copy_from_slice(head);
        }
        ProofId { digest, expires }
    }

    /// The shared-data key of the shard this proof is recorded in.
    pub fn shard_key(&self) -> String {
        let shard = usize::from(self.digest[0]) % SHARDS;
        format!("jwt_authz.dpop.seen.{shard}")
    }
}

/// What recording a proof in its shard comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Not seen before: the shard's new value, with the proof recorded and expired records
    /// dropped.
    Fresh(Vec<u8>),
    /// Seen before, within its window.
    Replayed,
    /// The shard holds `capacity` proofs still in their windows.
    Full,
}

/// Records `proof` in `shard` (its current value, if any) at `now`.
pub fn admit(shard: Option<&[u8]>, proof: &ProofId, now: u64, capacity: usize) -> Admission {
    let mut kept = Vec::with_capacity(shard.map_or(0, <[u8]>::len) + RECORD_BYTES);
    // A value that is not whole records (never written by this code) is dropped whole.
    let records = shard
        .filter(|s| s.len() % RECORD_BYTES == 0)
        .unwrap_or_default()
        .chunks_exact(RECORD_BYTES);
    for record in records {
        let (digest, expires) = record.split_at(DIGEST_BYTES);
        let expires = u64::from_be_bytes(expires.try_into().unwrap_or([0; 8]));
        if expires <= now {
            continue;
        }
        if digest == proof.digest {
            return Admission::Replayed;
        }
        kept.extend_from_slice(record);
    }
    if kept.len() / RECORD_BYTES >= capacity {
        return Admission::Full;
    }
    kept.extend_from_slice(&proof.digest);
    kept.extend_from_slice(&proof.expires.to_be_bytes());
    Admission::Fresh(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(shard: Option<&[u8]>, proof: &ProofId, now: u64) -> Vec<u8> {
        match admit(shard, proof, now, 4) {
            Admission::Fresh(value) => value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_proof_is_accepted_once_within_its_window() {
        let proof = ProofId::new("thumb", "jti-1", 200);
        let shard = record(None, &proof, 100);
        assert_eq!(admit(Some(&shard), &proof, 150, 4), Admission::Replayed);
        let other = ProofId::new("thumb", "jti-2", 200);
        let shard = record(Some(&shard), &other, 150);
        assert_eq!(shard.len(), 2 * RECORD_BYTES);
    }

    #[test]
    fn the_same_jti_of_another_key_is_another_proof() {
        let shard = record(None, &ProofId::new("key-a", "j", 200), 100);
        assert!(matches!(
            admit(Some(&shard), &ProofId::new("key-b", "j", 200), 100, 4),
            Admission::Fresh(_)
        ));
    }

    #[test]
    fn records_expire_and_make_room() {
        let mut shard = Vec::new();
        for i in 0..4 {
            shard = record(Some(&shard), &ProofId::new("k", &i.to_string(), 200), 100);
        }
        let late = ProofId::new("k", "late", 300);
        assert_eq!(admit(Some(&shard), &late, 199, 4), Admission::Full);
        // At 200 the four have expired: they are dropped and the new one fits.
        let shard = record(Some(&shard), &late, 200);
        assert_eq!(shard.len(), RECORD_BYTES);
        // An expired proof is no longer known (its iat refuses it anyway).
        assert!(matches!(
            admit(Some(&shard), &ProofId::new("k", "0", 400), 200, 4),
            Admission::Fresh(_)
        ));
    }

    #[test]
    fn a_full_shard_refuses_and_does_not_grow() {
        let mut shard = Vec::new();
        for i in 0..4 {
            shard = record(Some(&shard), &ProofId::new("k", &i.to_string(), 500), 100);
        }
        for i in 4..100 {
            let proof = ProofId::new("k", &i.to_string(), 500);
            assert_eq!(admit(Some(&shard), &proof, 100, 4), Admission::Full);
        }
        assert_eq!(shard.len(), 4 * RECORD_BYTES);
    }

    #[test]
    fn a_torn_value_is_dropped_not_misread() {
        let proof = ProofId::new("k", "j", 200);
        let shard = record(Some(&[1, 2, 3]), &proof, 100);
        assert_eq!(shard.len(), RECORD_BYTES);
    }

    #[test]
    fn shards_spread_proofs() {
        let keys: std::collections::BTreeSet<String> = (0..2000)
            .map(|i| ProofId::new("k", &i.to_string(), 1).shard_key())
            .collect();
        assert_eq!(keys.len(), SHARDS);
    }
}
