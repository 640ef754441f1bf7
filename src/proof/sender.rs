//! Whether the sender of a verified token is the one it was issued to: how the token was
//! sent (`Bearer` or `DPoP`), what it is bound to (`cnf`) and the proof, under the provider's
//! settings. Fail closed whatever the settings: a bound token is never accepted without its
//! proof (RFC 9449 §7.2, RFC 8705 §3).

use crate::error::ProofFault;
use crate::error::{AuthError, BindingFault};
use crate::proof::binding;
use crate::proof::certificate::{self, Digest};
use crate::proof::dpop::Proof;
use crate::proof::settings::{CertificateMode, CertificateSettings, DpopMode, DpopSettings};
use serde_json::{Map, Value};

/// Accepts or refuses a token with `claims`, sent with the DPoP scheme or not. The client
/// certificate comes from `presented_certificate`, asked only for a certificate-bound token;
/// the DPoP proof is checked by `check_proof` (only when the token was sent with the DPoP
/// scheme), after the certificate, which costs less. The proof that passed, to be recorded
/// against replay, if any.
pub fn confirm(
    dpop: &DpopSettings,
    certificates: &CertificateSettings,
    sent_as_dpop: bool,
    claims: &Map<String, Value>,
    presented_certificate: impl FnOnce() -> Option<Digest>,
    check_proof: impl FnOnce() -> Result<Proof, ProofFault>,
) -> Result<Option<Proof>, AuthError> {
    let binding = binding::of(claims).map_err(AuthError::Binding)?;
    let refuse = |fault| Err(AuthError::Binding(fault));
    match (certificates.mode, binding.certificate) {
        (CertificateMode::Off, Some(_)) => return refuse(BindingFault::CertificateOff),
        (_, Some(x5t)) => {
            let Some(digest) = presented_certificate() else {
                return refuse(BindingFault::CertificateMissing);
            };
            match certificate::names(x5t, &digest) {
                Some(true) => {}
                Some(false) => return refuse(BindingFault::CertificateMismatch),
                None => return refuse(BindingFault::MalformedConfirmation),
            }
        }
        (CertificateMode::Required, None) => return refuse(BindingFault::CertificateRequired),
        (CertificateMode::Off | CertificateMode::Enforced, None) => {}
    }
    match (dpop.mode, sent_as_dpop, binding.key) {
        (DpopMode::Off, _, Some(_)) => refuse(BindingFault::DpopOff),
        // A provider with DPoP off does not look for `Authorization: DPoP`.
        (DpopMode::Off, _, None) => Ok(None),
        (_, false, Some(_)) => refuse(BindingFault::BoundTokenAsBearer),
        (DpopMode::Required, false, None) => refuse(BindingFault::DpopRequired),
        (DpopMode::Allowed, false, None) => Ok(None),
        (_, true, key) => {
            let proof = check_proof().map_err(AuthError::InvalidProof)?;
            match key {
                Some(jkt) if jkt == proof.thumbprint => Ok(Some(proof)),
                Some(_) => refuse(BindingFault::KeyMismatch),
                None => refuse(BindingFault::NotBound),
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

    /// [`confirm`] with certificate binding off.
    fn confirm_dpop(
        dpop: &DpopSettings,
        sent_as_dpop: bool,
        claims: &Map<String, Value>,
        check_proof: impl FnOnce() -> Result<Proof, ProofFault>,
    ) -> Result<Option<Proof>, AuthError> {
        let off = CertificateSettings::default();
        confirm(dpop, &off, sent_as_dpop, claims, || None, check_proof)
    }

    use DpopMode::{Allowed, Off, Required};

    #[test]
    fn unbound_bearer_tokens_pass_where_bearer_is_taken() {
        let unbound = claims(json!({"sub": "a"}));
        assert_eq!(
            confirm_dpop(&settings(Off), false, &unbound, never),
            Ok(None)
        );
        assert_eq!(
            confirm_dpop(&settings(Allowed), false, &unbound, never),
            Ok(None)
        );
        assert_eq!(
            confirm_dpop(&settings(Required), false, &unbound, never),
            Err(AuthError::Binding(BindingFault::DpopRequired))
        );
    }

    #[test]
    fn a_bound_token_never_passes_without_its_proof() {
        let bound = claims(json!({"cnf": {"jkt": "thumb"}}));
        assert_eq!(
            confirm_dpop(&settings(Off), false, &bound, never),
            Err(AuthError::Binding(BindingFault::DpopOff))
        );
        for mode in [Allowed, Required] {
            assert_eq!(
                confirm_dpop(&settings(mode), false, &bound, never),
                Err(AuthError::Binding(BindingFault::BoundTokenAsBearer)),
                "{mode:?}"
            );
        }
        let certificate = claims(json!({"cnf": {"x5t#S256": "hash"}}));
        for mode in [Off, Allowed, Required] {
            for dpop in [false, true] {
                assert_eq!(
                    confirm_dpop(&settings(mode), dpop, &certificate, never),
                    Err(AuthError::Binding(BindingFault::CertificateOff)),
                    "{mode:?}"
                );
            }
        }
        assert_eq!(
            confirm_dpop(&settings(Allowed), false, &claims(json!({"cnf": 1})), never),
            Err(AuthError::Binding(BindingFault::MalformedConfirmation))
        );
    }

    #[test]
    fn a_dpop_token_needs_its_proof_by_its_key() {
        let bound = claims(json!({"cnf": {"jkt": "thumb"}}));
        for mode in [Allowed, Required] {
            let s = settings(mode);
            assert_eq!(
                confirm_dpop(&s, true, &bound, || proof_of("thumb")),
                Ok(Some(proof_of("thumb").unwrap()))
            );
            assert_eq!(
                confirm_dpop(&s, true, &bound, || proof_of("other")),
                Err(AuthError::Binding(BindingFault::KeyMismatch))
            );
            assert_eq!(
                confirm_dpop(&s, true, &bound, || Err(ProofFault::BadSignature)),
                Err(AuthError::InvalidProof(ProofFault::BadSignature))
            );
            assert_eq!(
                confirm_dpop(&s, true, &claims(json!({})), || proof_of("thumb")),
                Err(AuthError::Binding(BindingFault::NotBound))
            );
        }
    }

    const CLIENT: Digest = [7; 32];

    fn x5t(digest: &Digest) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }

    fn certificates(mode: CertificateMode) -> CertificateSettings {
        CertificateSettings {
            mode,
            ..CertificateSettings::default()
        }
    }

    fn no_proof() -> Result<Proof, ProofFault> {
        Err(ProofFault::Missing)
    }

    #[test]
    fn a_certificate_bound_token_passes_only_with_its_certificate() {
        let bound = claims(json!({"cnf": {"x5t#S256": x5t(&CLIENT)}}));
        let off = settings(Off);
        for mode in [CertificateMode::Enforced, CertificateMode::Required] {
            let c = certificates(mode);
            assert_eq!(
                confirm(&off, &c, false, &bound, || Some(CLIENT), never),
                Ok(None)
            );
            let refusals = [
                (None, BindingFault::CertificateMissing),
                (Some([8; 32]), BindingFault::CertificateMismatch),
            ];
            for (presented, fault) in refusals {
                assert_eq!(
                    confirm(&off, &c, false, &bound, || presented, never),
                    Err(AuthError::Binding(fault)),
                    "{mode:?} {presented:?}"
                );
            }
            let malformed = claims(json!({"cnf": {"x5t#S256": "not a thumbprint"}}));
            assert_eq!(
                confirm(&off, &c, false, &malformed, || Some(CLIENT), never),
                Err(AuthError::Binding(BindingFault::MalformedConfirmation))
            );
        }
        let off_certificates = certificates(CertificateMode::Off);
        assert_eq!(
            confirm(
                &off,
                &off_certificates,
                false,
                &bound,
                || Some(CLIENT),
                never
            ),
            Err(AuthError::Binding(BindingFault::CertificateOff))
        );
    }

    #[test]
    fn unbound_tokens_pass_unless_a_certificate_binding_is_required() {
        let unbound = claims(json!({"sub": "a"}));
        let off = settings(Off);
        let unasked = || -> Option<Digest> { panic!("no certificate is needed") };
        assert_eq!(
            confirm(
                &off,
                &certificates(CertificateMode::Enforced),
                false,
                &unbound,
                unasked,
                never
            ),
            Ok(None)
        );
        assert_eq!(
            confirm(
                &off,
                &certificates(CertificateMode::Required),
                false,
                &unbound,
                unasked,
                never
            ),
            Err(AuthError::Binding(BindingFault::CertificateRequired))
        );
    }

    #[test]
    fn a_token_bound_to_both_needs_both_and_the_certificate_is_checked_first() {
        let both = claims(json!({"cnf": {"jkt": "thumb", "x5t#S256": x5t(&CLIENT)}}));
        let c = certificates(CertificateMode::Enforced);
        let s = settings(Allowed);
        assert_eq!(
            confirm(&s, &c, true, &both, || Some(CLIENT), || proof_of("thumb")),
            Ok(Some(proof_of("thumb").unwrap()))
        );
        assert_eq!(
            confirm(&s, &c, true, &both, || None, never),
            Err(AuthError::Binding(BindingFault::CertificateMissing))
        );
        assert_eq!(
            confirm(&s, &c, false, &both, || Some(CLIENT), never),
            Err(AuthError::Binding(BindingFault::BoundTokenAsBearer))
        );
        assert_eq!(
            confirm(&s, &c, true, &both, || Some(CLIENT), no_proof),
            Err(AuthError::InvalidProof(ProofFault::Missing))
        );
    }
}
