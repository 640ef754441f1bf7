//! Server nonces (RFC 9449 §8, §9) that every worker can check without per-nonce state: a
//! nonce is a time step and a keyed hash of it, SHA-256(secret || step), under a 32-byte
//! secret the workers of one Envoy process share. Both parts have fixed lengths, so the hash
//! serves as a MAC (no length extension applies), and it reuses the module's SHA-256 rather
//! than adding HMAC finalisation code. A nonce is current during its step and the next, so
//! nonces rotate every `period` and each lives between one and two periods.

use crate::crypto::Hash;
use crate::jose::jwt::decode_base64url;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of the step at the start of a nonce.
const STEP_BYTES: usize = 8;

/// The process's nonce secret.
#[derive(Clone)]
pub struct NonceKey([u8; 32]);

impl NonceKey {
    /// The key of `secret`: its first 32 bytes; `None` if it is shorter.
    pub fn new(secret: &[u8]) -> Option<NonceKey> {
        secret.first_chunk::<32>().map(|bytes| NonceKey(*bytes))
    }

    fn tag(&self, step: &[u8; STEP_BYTES]) -> [u8; 32] {
        let mut input = [0; 32 + STEP_BYTES];
        let (secret, rest) = input.split_at_mut(32);
        secret.copy_from_slice(&self.0);
        rest.copy_from_slice(step);
        let mut tag = [0; 32];
        tag.copy_from_slice(
            Hash::Sha256
                .digest(&input)
                .as_ref()
                .get(..32)
                .unwrap_or(&[0; 32]),
        );
        tag
    }
}

/// Names nothing: the secret stays out of logs.
impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey")
    }
}

/// A fresh nonce at `now` (seconds) for steps of `period` seconds.
pub fn issue(key: &NonceKey, now: u64, period: u64) -> String {
    let step = (now / period.max(1)).to_be_bytes();
    let mut nonce = step.to_vec();
    nonce.extend_from_slice(&key.tag(&step));
    URL_SAFE_NO_PAD.encode(nonce)
}

/// Whether `nonce` was issued with `key` in the current step or the one before.
pub fn is_current(key: &NonceKey, nonce: &str, now: u64, period: u64) -> bool {
    let Some(bytes) = decode_base64url(nonce) else {
        return false;
    };
    let Some((step, tag)) = bytes.split_first_chunk::<STEP_BYTES>() else {
        return false;
    };
    let current = now / period.max(1);
    let issued = u64::from_be_bytes(*step);
    // Compared whole, in time independent of where they differ.
    let expected = key.tag(step);
    let same = tag.len() == expected.len()
        && tag
            .iter()
            .zip(expected)
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0;
    (issued == current || issued.saturating_add(1) == current) && same
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> NonceKey {
        NonceKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_nonce_is_current_for_its_step_and_the_next() {
        let nonce = issue(&key(1), 1_000, 60);
        for now in [1_000, 1_019, 1_020, 1_079] {
            assert!(is_current(&key(1), &nonce, now, 60), "{now}");
        }
        for now in [1_080, 959, 5_000] {
            assert!(!is_current(&key(1), &nonce, now, 60), "{now}");
        }
        assert_ne!(nonce, issue(&key(1), 1_020, 60), "it rotates");
        assert_eq!(
            nonce,
            issue(&key(1), 1_019, 60),
            "and is stable within a step"
        );
    }

    #[test]
    fn another_secret_or_a_forged_step_is_not_current() {
        let nonce = issue(&key(1), 1_000, 60);
        assert!(!is_current(&key(2), &nonce, 1_000, 60));
        let mut bytes = decode_base64url(&nonce).unwrap();
        bytes[7] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert!(!is_current(&key(1), &forged, 1_000, 60));
        for junk in ["", "AAAA", "not base64!", &nonce[..20]] {
            assert!(!is_current(&key(1), junk, 1_000, 60), "{junk}");
        }
    }
}
