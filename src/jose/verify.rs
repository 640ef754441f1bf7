//! Signature verification: the only place a key meets a signature.

use crate::error::AuthError;
use crate::jose::algorithm::Algorithm;
use crate::jose::jwks::{Key, KeyMaterial};
use crate::jose::jwt::Jws;

/// Verifies `jws` with the first of `candidates` its signature verifies with (the key set's
/// [`crate::jose::jwks::KeySet::candidates`]: one key when the token names a `kid`, a few
/// otherwise).
pub fn verify(jws: &Jws, candidates: &[&Key]) -> Result<(), AuthError> {
    let message = jws.signing_input.as_bytes();
    if candidates
        .iter()
        .any(|key| verify_signature(jws.algorithm, message, &jws.signature, key).is_ok())
    {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

/// `signature` over the raw bytes `message` (for a JWS, its signing input) by `algorithm`
/// with `key`. A key that does not verify `algorithm` (another type, curve or pinned `alg`)
/// refuses, whatever the signature: no algorithm confusion.
pub fn verify_signature(
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
    key: &Key,
) -> Result<(), AuthError> {
    if !key.verifies(algorithm) {
        return Err(AuthError::BadSignature);
    }
    let hash = algorithm.hash();
    // RFC 8017 §8.2.2, §8.1.2: an RSA signature is exactly as long as the modulus; an ECDSA
    // one is `r || s` of the curve's length; Ed25519 64 bytes; a tag the hash's length. Each
    // primitive refuses any other length instead of normalising it.
    // `verifies` above matched the key's type, curve and hash to the algorithm.
    let verified = match &key.material {
        KeyMaterial::Rsa(rsa) if algorithm.is_pss() => {
            rsa.verify_pss(hash, message, signature).is_ok()
        }
        KeyMaterial::Rsa(rsa) => rsa.verify_pkcs1(hash, message, signature).is_ok(),
        KeyMaterial::Ec(ec) => ec.verify(message, signature).is_ok(),
        KeyMaterial::Ed25519(ed) => ed.verify(message, signature).is_ok(),
        KeyMaterial::Hmac(keys) => keys
            .iter()
            .find(|k| k.hash() == hash)
            .is_some_and(|k| k.verify(message, signature).is_ok()),
    };
    if verified {
        Ok(())
    } else {
        Err(AuthError::BadSignature)
    }
}

/// RS256 of `signature` over `message` with `key`: [`verify_signature`] for the vectors that
/// test RS256 alone.
pub fn verify_rs256(message: &[u8], signature: &[u8], key: &Key) -> Result<(), AuthError> {
    verify_signature(Algorithm::RS256, message, signature, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::Curve;
    use crate::jose::algorithm::KeyKind;
    use crate::jose::jwks::{self, Origin};
    use crate::jose::test_signers;
    use serde_json::json;

    fn key(kind: KeyKind, kid: &str) -> Key {
        let parsed = jwks::parse_from(
            json!({"keys": [test_signers::jwk(kind, kid)]})
                .to_string()
                .as_bytes(),
            Origin::LocalWithHmac,
        );
        let keys = parsed.unwrap().keys;
        let key = Algorithm::ALL
            .into_iter()
            .find_map(|a| keys.candidates(Some(kid), a).first().copied().cloned());
        key.unwrap()
    }

    fn kinds() -> [KeyKind; 6] {
        [
            KeyKind::Rsa,
            KeyKind::Ec(Curve::P256),
            KeyKind::Ec(Curve::P384),
            KeyKind::Ec(Curve::P521),
            KeyKind::Ed25519,
            KeyKind::Hmac,
        ]
    }

    #[test]
    fn every_algorithm_verifies_its_signatures_with_its_own_key_only() {
        let message = b"header.payload";
        for algorithm in Algorithm::ALL {
            let signature = test_signers::sign(algorithm, message);
            for kind in kinds() {
                let verdict = verify_signature(algorithm, message, &signature, &key(kind, "k"));
                let expected = if kind == algorithm.key_kind() {
                    Ok(())
                } else {
                    Err(AuthError::BadSignature)
                };
                assert_eq!(verdict, expected, "{algorithm} with {kind:?}");
            }
            let mut tampered = message.to_vec();
            tampered[0] ^= 1;
            let own = key(algorithm.key_kind(), "k");
            assert_eq!(
                verify_signature(algorithm, &tampered, &signature, &own),
                Err(AuthError::BadSignature),
                "{algorithm}: tampered message"
            );
            let mut padded = vec![0];
            padded.extend_from_slice(&signature);
            assert_eq!(
                verify_signature(algorithm, message, &padded, &own),
                Err(AuthError::BadSignature),
                "{algorithm}: a longer signature"
            );
            assert_eq!(
                verify_signature(algorithm, message, &signature[1..], &own),
                Err(AuthError::BadSignature),
                "{algorithm}: a shorter signature"
            );
        }
    }

    #[test]
    fn a_signature_does_not_verify_under_a_sibling_algorithm() {
        let message = b"header.payload";
        let rsa = key(KeyKind::Rsa, "k");
        for (signed, claimed) in [
            (Algorithm::RS256, Algorithm::PS256),
            (Algorithm::PS256, Algorithm::RS256),
            (Algorithm::RS256, Algorithm::RS384),
            (Algorithm::PS512, Algorithm::PS384),
        ] {
            let signature = test_signers::sign(signed, message);
            assert_eq!(
                verify_signature(claimed, message, &signature, &rsa),
                Err(AuthError::BadSignature),
                "{signed} claimed as {claimed}"
            );
        }
        let secret = key(KeyKind::Hmac, "k");
        let tag = test_signers::sign(Algorithm::HS256, message);
        assert_eq!(
            verify_signature(Algorithm::HS384, message, &tag, &secret),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn ecdsa_refuses_der_and_zero_signatures() {
        let message = b"header.payload";
        let p256 = key(KeyKind::Ec(Curve::P256), "k");
        let signature = test_signers::sign(Algorithm::ES256, message);
        // The same r and s as DER: SEQUENCE { INTEGER r, INTEGER s }.
        let der = {
            let int = |v: &[u8]| {
                let mut out = vec![0x02];
                let pad = v[0] >= 0x80;
                out.push((v.len() + usize::from(pad)) as u8);
                if pad {
                    out.push(0);
                }
                out.extend_from_slice(v);
                out
            };
            let body = [int(&signature[..32]), int(&signature[32..])].concat();
            [vec![0x30, body.len() as u8], body].concat()
        };
        for (name, bad) in [("DER", der), ("r = s = 0", vec![0; 64])] {
            assert_eq!(
                verify_signature(Algorithm::ES256, message, &bad, &p256),
                Err(AuthError::BadSignature),
                "{name}"
            );
        }
    }

    #[test]
    fn a_token_verifies_with_any_of_its_candidates() {
        let token = test_signers::token(Algorithm::ES256, None, &json!({"sub": "x"}));
        let jws = crate::jose::jwt::parse(&token, 8192, &[Algorithm::ES256]).unwrap();
        let (other, own) = (
            key(KeyKind::Ec(Curve::P384), "o"),
            key(KeyKind::Ec(Curve::P256), "k"),
        );
        assert_eq!(verify(&jws, &[&other, &own]), Ok(()));
        assert_eq!(verify(&jws, &[&other]), Err(AuthError::BadSignature));
        assert_eq!(verify(&jws, &[]), Err(AuthError::BadSignature));
    }

    #[test]
    fn an_hs256_token_signed_with_the_rsa_public_key_as_secret_is_refused() {
        let rsa_jwk = test_signers::jwk(KeyKind::Rsa, "k");
        let secret = rsa_jwk.to_string();
        let header = test_signers::b64(r#"{"alg":"HS256","kid":"k"}"#);
        let payload = test_signers::b64(r#"{"sub":"x"}"#);
        let signing_input = format!("{header}.{payload}");
        let tag = {
            use ::hmac::{Hmac, Mac};
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let rsa = key(KeyKind::Rsa, "k");
        assert_eq!(
            verify_signature(Algorithm::HS256, signing_input.as_bytes(), &tag, &rsa),
            Err(AuthError::BadSignature)
        );
    }
}
