//! Keys generated ahead of rotation, so that rotating is instant: an RSA-2048 key takes from
//! a tenth of a second to several seconds to find on a busy machine, which held up whoever
//! rotated (the soak's IdP driver fell behind its fault schedule).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crate::algorithm::SigningAlgorithm;
use crate::signing_key::SigningKey;

/// At most one spare key per algorithm, refilled in the background after each use.
#[derive(Default)]
pub(crate) struct SpareKeys {
    spares: Mutex<HashMap<SigningAlgorithm, SigningKey>>,
}

impl SpareKeys {
    /// Starts generating a spare for each of `algorithms`, one after the other on one thread.
    pub fn for_algorithms(algorithms: &[SigningAlgorithm]) -> Arc<SpareKeys> {
        let spares = Arc::new(SpareKeys::default());
        spares.refill(algorithms.to_vec());
        spares
    }

    /// The spare key of `algorithm` if one is ready, else a key generated now; either way a
    /// new spare is then generated in the background.
    pub fn take(self: &Arc<Self>, algorithm: SigningAlgorithm) -> Result<SigningKey, String> {
        let spare = self.lock().remove(&algorithm);
        let key = match spare {
            Some(key) => key,
            None => SigningKey::generate_with_thumbprint_kid(algorithm)?,
        };
        self.refill(vec![algorithm]);
        Ok(key)
    }

    /// Whether a spare of `algorithm` is ready.
    pub fn is_ready(&self, algorithm: SigningAlgorithm) -> bool {
        self.lock().contains_key(&algorithm)
    }

    fn refill(self: &Arc<Self>, algorithms: Vec<SigningAlgorithm>) {
        let spares = Arc::clone(self);
        // A failed generation (the OS random source failing) leaves the slot empty, and the
        // next rotation generates its key itself and reports the error.
        thread::spawn(move || {
            for algorithm in algorithms {
                if spares.is_ready(algorithm) {
                    continue;
                }
                if let Ok(key) = SigningKey::generate_with_thumbprint_kid(algorithm) {
                    spares.lock().entry(algorithm).or_insert(key);
                }
            }
        });
    }

    // A panic while holding the lock cannot leave the map half-written.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SigningAlgorithm, SigningKey>> {
        self.spares.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_until_ready(spares: &SpareKeys, algorithm: SigningAlgorithm) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !spares.is_ready(algorithm) {
            assert!(Instant::now() < deadline, "no spare {algorithm} key");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_taken_spare_is_replaced_by_a_different_key() {
        let algorithm = SigningAlgorithm::Es256;
        let spares = SpareKeys::for_algorithms(&[algorithm]);
        wait_until_ready(&spares, algorithm);
        let first = spares.take(algorithm).unwrap();
        wait_until_ready(&spares, algorithm);
        let second = spares.take(algorithm).unwrap();
        assert_eq!(first.algorithm(), algorithm);
        assert_ne!(first.kid(), second.kid());
    }

    #[test]
    fn without_a_spare_a_key_is_generated_on_the_spot() {
        let spares = Arc::new(SpareKeys::default());
        let key = spares.take(SigningAlgorithm::EdDsa).unwrap();
        assert_eq!(key.algorithm(), SigningAlgorithm::EdDsa);
        assert_eq!(key.kid().len(), 43);
        wait_until_ready(&spares, SigningAlgorithm::EdDsa);
    }

    #[test]
    fn a_ready_spare_is_what_rotation_gets() {
        let algorithm = SigningAlgorithm::Rs256;
        let spares = SpareKeys::for_algorithms(&[algorithm]);
        wait_until_ready(&spares, algorithm);
        let ready = spares.lock()[&algorithm].kid().to_owned();
        let key = spares.take(algorithm).unwrap();
        assert_eq!(key.kid(), ready, "no key generated while taking");
        assert!(key.key_pair().is_some());
    }
}
