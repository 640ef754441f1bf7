//! Whether the sender of a verified token is the one it was issued to: how the token was
//! sent (`Bearer` or `DPoP`), what it is bound to (`cnf`) and the proof, under the provider's
//! settings. Fail closed whatever the settings: a bound token is never accepted without its
//! proof (RFC 9449 §7.2, RFC 8705 §3).

use crate::error::ProofFault;
use crate::error::{AuthError, BindingFault};
use crate::proof::binding::{self, Binding};
use crate::proof::dpop::Proof;
use crate::proof::settings::{DpopMode, DpopSettings};
use serde_json::{Map, Value};

/// Accepts or refuses a token with `claims`, sent with the DPoP scheme or not, whose proof
/// is checked by `check_proof` (only when the token was sent with the DPoP scheme). The proof
/// that passed, to be recorded against replay, if any.
pub fn confirm(
    settings: &DpopSettings,
    sent_as_dpop: bool,
    claims: &Map<String, Value>,
    check_proof: impl FnOnce() -> Result<Proof, ProofFault>,
) -> Result<Option<Proof>, AuthError> {
    let binding = binding::of(claims).map_err(AuthError::Binding)?;
    let refuse = |fault| Err(AuthError::Binding(fault));
    match (settings.mode, sent_as_dpop, binding) {
        (_, _, Binding::Certificate) => refuse(BindingFault::CertificateBound),
        (DpopMode::Off, _, Binding::Key(_)) => refuse(BindingFault::DpopOff),
        // A provider with DPoP off does not look for `Authorization: DPoP`.
        (DpopMode::Off, _, Binding::Unbound) => Ok(None),
        (_, false, Binding::Key(_)) => refuse(BindingFault::BoundTokenAsBearer),
        (DpopMode::Required, false, Binding::Unbound) => refuse(BindingFault::DpopRequired),
        (DpopMode::Allowed, false, Binding::Unbound) => Ok(None),
        (_, true, binding) => {
            let proof = check_proof().map_err(AuthError::InvalidProof)?;
            match binding {
                Binding::Key(jkt) if jkt == proof.thumbprint => Ok(Some(proof)),
                Binding::Key(_) => refuse(BindingFault::KeyMismatch),
                _ => refuse(BindingFault::NotBound),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::algorithm::Algorithm;
    use crate::proof::replay::ProofId;
    use serde_json::json;

    fn settings(mode: DpopMode) -> DpopSettings {
        DpopSettings::new(mode, vec![Algorithm::ES256], 60, None)
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn proof_of(thumbprint: &str) -> Result<Proof, ProofFault> {
        Ok(Proof {
            thumbprint: thumbprint.into(),
            id: ProofId::new(thumbprint, "j", 1),
        })
    }

    fn never() -> Result<Proof, ProofFault> {
        panic!("the proof must not be checked")
    }

    use DpopMode::{Allowed, Off, Required};

    #[test]
    fn unbound_bearer_tokens_pass_where_bearer_is_taken() {
        let unbound = claims(json!({"sub": "a"}));
        assert_eq!(confirm(&settings(Off), false, &unbound, never), Ok(None));
        assert_eq!(
            confirm(&settings(Allowed), false, &unbound, never),
            Ok(None)
        );
        assert_eq!(
            confirm(&settings(Required), false, &unbound, never),
            Err(AuthError::Binding(BindingFault::DpopRequired))
        );
    }

    #[test]
    fn a_bound_token_never_passes_without_its_proof() {
        let bound = claims(json!({"cnf": {"jkt": "thumb"}}));
        assert_eq!(
            confirm(&settings(Off), false, &bound, never),
            Err(AuthError::Binding(BindingFault::DpopOff))
        );
        for mode in [Allowed, Required] {
            assert_eq!(
                confirm(&settings(mode), false, &bound, never),
                Err(AuthError::Binding(BindingFault::BoundTokenAsBearer)),
                "{mode:?}"
            );
        }
        let certificate = claims(json!({"cnf": {"x5t#S256": "hash"}}));
        for mode in [Off, Allowed, Required] {
            for dpop in [false, true] {
                assert_eq!(
                    confirm(&settings(mode), dpop, &certificate, never),
                    Err(AuthError::Binding(BindingFault::CertificateBound)),
                    "{mode:?}"
                );
            }
        }
        assert_eq!(
            confirm(&settings(Allowed), false, &claims(json!({"cnf": 1})), never),
            Err(AuthError::Binding(BindingFault::MalformedConfirmation))
        );
    }

    #[test]
    fn a_dpop_token_needs_its_proof_by_its_key() {
        let bound = claims(json!({"cnf": {"jkt": "thumb"}}));
        for mode in [Allowed, Required] {
            let s = settings(mode);
            assert_eq!(
                confirm(&s, true, &bound, || proof_of("thumb")),
                Ok(Some(proof_of("thumb").unwrap()))
            );
            assert_eq!(
                confirm(&s, true, &bound, || proof_of("other")),
                Err(AuthError::Binding(BindingFault::KeyMismatch))
            );
            assert_eq!(
                confirm(&s, true, &bound, || Err(ProofFault::BadSignature)),
                Err(AuthError::InvalidProof(ProofFault::BadSignature))
            );
            assert_eq!(
                confirm(&s, true, &claims(json!({})), || proof_of("thumb")),
                Err(AuthError::Binding(BindingFault::NotBound))
            );
        }
    }
}
