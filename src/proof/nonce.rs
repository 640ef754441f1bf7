//! Server nonces (RFC 9449 §8, §9) that every worker can check without per-nonce state: a
//! nonce is a time step and the HMAC of it under a secret the workers of one Envoy process
//! share. A nonce is current during its step and the next, so nonces rotate every `period`
//! and each lives between one and two periods.

use crate::crypto::hmac;
use crate::jose::jwt::decode_base64url;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Bytes of the step at the start of a nonce.
const STEP_BYTES: usize = 8;

/// A fresh nonce at `now` (seconds) for steps of `period` seconds.
pub fn issue(key: &hmac::Key, now: u64, period: u64) -> String {
    let step = (now / period.max(1)).to_be_bytes();
    let mut nonce = step.to_vec();
    nonce.extend_from_slice(&key.tag(&step));
    URL_SAFE_NO_PAD.encode(nonce)
}

/// Whether `nonce` was issued with `key` in the current step or the one before.
pub fn is_current(key: &hmac::Key, nonce: &str, now: u64, period: u64) -> bool {
    let Some(bytes) = decode_base64url(nonce) else {
        return false;
    };
    let Some((step, tag)) = bytes.split_first_chunk::<STEP_BYTES>() else {
        return false;
    };
    let current = now / period.max(1);
    let issued = u64::from_be_bytes(*step);
    (issued == current || issued.saturating_add(1) == current) && key.verify(step, tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Hash;

    fn key(byte: u8) -> hmac::Key {
        hmac::Key::new(Hash::Sha256, &[byte; 32]).unwrap()
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
