//! The signature primitive alone: the primitives filter's configuration (one token of every
//! algorithm, the algorithm listeners' keys) and the same verifications timed natively, by
//! the thread's CPU time, on the same inputs through the same crate (`bench/primitives`).

use std::time::Duration;

use primitives::{Primitives, Verifier};
use serde_json::Value;

use crate::algorithm::{Algorithm, Keys};
use crate::procstat;

/// CPU time each native timing runs for, after as long again of warm-up.
const NATIVE_BUDGET: Duration = Duration::from_millis(300);

/// The primitives filter's configuration: both key sets and one token per algorithm.
pub fn configuration(keys: &Keys, claims: &Value) -> String {
    let tokens: Vec<String> = Algorithm::ALL
        .into_iter()
        .map(|algorithm| keys.mint(algorithm, claims, "primitive"))
        .collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    Primitives::configuration(&[&keys.asymmetric_jwks(), &keys.hmac_jwks()], &tokens)
}

/// Whether `verifier` implements `algorithm` (jsonwebtoken has no ES512).
pub fn implements(verifier: Verifier, algorithm: Algorithm) -> bool {
    verifier == Verifier::JwtAuthz || algorithm.in_card_stack()
}

/// Microseconds of this thread's CPU per verification of `algorithm` by `verifier`, natively;
/// `Err` if a verification fails.
pub fn time_natively(
    primitives: &Primitives,
    verifier: Verifier,
    algorithm: Algorithm,
) -> Result<f64, String> {
    let name = algorithm.name();
    let run = |budget: Duration| -> Result<(Duration, u64), String> {
        let start = procstat::thread_cpu_time()?;
        let mut count = 0u64;
        loop {
            // Ten at a time, so reading the clock costs next to nothing.
            for _ in 0..10 {
                if !primitives.verify(verifier, name) {
                    return Err(format!(
                        "{} does not verify {name} natively",
                        verifier.name()
                    ));
                }
            }
            count += 10;
            let used = procstat::thread_cpu_time()? - start;
            if used >= budget {
                return Ok((used, count));
            }
        }
    };
    run(NATIVE_BUDGET)?;
    let (used, count) = run(NATIVE_BUDGET)?;
    Ok(used.as_secs_f64() * 1e6 / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every algorithm's token verifies natively with each verifier that implements it.
    #[test]
    fn both_verifiers_verify_every_algorithm_they_implement() {
        let keys = Keys::generate().unwrap();
        let config = configuration(&keys, &json!({"iss": "i", "aud": "a"}));
        let primitives = Primitives::from_json(config.as_bytes()).unwrap();
        assert_eq!(primitives.algorithms().len(), Algorithm::ALL.len());
        for algorithm in Algorithm::ALL {
            for verifier in Verifier::ALL {
                let name = algorithm.name();
                assert_eq!(
                    primitives.supports(verifier, name),
                    implements(verifier, algorithm),
                    "{verifier:?} {name}"
                );
                if implements(verifier, algorithm) {
                    assert!(primitives.verify(verifier, name), "{verifier:?} {name}");
                }
            }
        }
        assert!(!primitives.supports(Verifier::Jsonwebtoken, "ES512"));
    }
}
