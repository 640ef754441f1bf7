//! Forged tokens for attack tests: exactly the header and payload text given, signed with any
//! algorithm and key, or not at all, and signatures changed afterwards. No issuer mints these;
//! a verifier must refuse each for the right reason.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer as _};
use rsa::{pkcs1v15, pss};
use sha2::{Sha256, Sha384};

use crate::keys::KeyPair;
use crate::signing_key::SigningKey;

/// How the third part of a forged token is made.
#[derive(Debug, Clone, Copy)]
pub enum Signer<'k> {
    /// RSASSA-PKCS1-v1_5 with SHA-256: what the `alg` RS256 names.
    Rs256(&'k KeyPair),
    /// RSASSA-PKCS1-v1_5 with SHA-384 (RS384).
    Rs384(&'k KeyPair),
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte random salt (PS256).
    Ps256(&'k KeyPair),
    /// HMAC with SHA-256 keyed with these bytes (HS256), such as a public key's PEM text.
    Hs256(&'k [u8]),
    /// The key's own algorithm, in its JOSE form: any [`SigningKey`].
    Key(&'k SigningKey),
    /// An ECDSA key's signature in ASN.1 DER instead of JOSE's `r || s` (a non-ECDSA key signs
    /// nothing).
    Der(&'k SigningKey),
    /// No signature: `header.payload.`, what `alg: none` looks like.
    Unsigned,
}

impl Signer<'_> {
    /// The signature over `signing_input` (`BASE64URL(header) . BASE64URL(payload)`).
    pub fn sign(self, signing_input: &[u8]) -> Vec<u8> {
        match self {
            // Signing with our own valid 2048-bit keys has no failure mode, hence the
            // infallible `Signer::sign`.
            Signer::Rs256(key) => pkcs1v15::SigningKey::<Sha256>::new(key.private_key().clone())
                .sign(signing_input)
                .to_vec(),
            Signer::Rs384(key) => pkcs1v15::SigningKey::<Sha384>::new(key.private_key().clone())
                .sign(signing_input)
                .to_vec(),
            Signer::Ps256(key) => pss::SigningKey::<Sha256>::new(key.private_key().clone())
                .sign_with_rng(&mut OsRng, signing_input)
                .to_vec(),
            Signer::Hs256(secret) => {
                // HMAC takes keys of any length, so `new_from_slice` cannot fail.
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    unreachable!("HMAC accepts any key length")
                };
                mac.update(signing_input);
                mac.finalize().into_bytes().to_vec()
            }
            Signer::Key(key) => key.sign(signing_input),
            Signer::Der(key) => key.sign_der(signing_input).unwrap_or_default(),
            Signer::Unsigned => Vec::new(),
        }
    }
}

/// Base64url without padding: how each part of a compact JWS is written.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS of exactly these header and payload bytes, signed by `signer`.
pub fn forge(header: impl AsRef<[u8]>, payload: impl AsRef<[u8]>, signer: Signer) -> String {
    sign_as_sent(&format!("{}.{}", b64(header), b64(payload)), signer)
}

/// `signing_input` as it is (say, with padding a verifier should refuse), a dot, and its
/// signature by `signer`.
pub fn sign_as_sent(signing_input: &str, signer: Signer) -> String {
    let signature = signer.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(signature))
}

/// `token` with its signature bytes replaced by `change(signature)`: truncated, padded with
/// zero bytes, a bit flipped. A token whose third part is not base64url is returned as it is.
pub fn with_signature(token: &str, change: impl FnOnce(Vec<u8>) -> Vec<u8>) -> String {
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return token.to_owned();
    };
    match URL_SAFE_NO_PAD.decode(signature) {
        Ok(bytes) => format!("{signing_input}.{}", b64(change(bytes))),
        Err(_) => token.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::signature::Verifier;
    use std::sync::OnceLock;

    fn key() -> &'static KeyPair {
        static KEY: OnceLock<KeyPair> = OnceLock::new();
        KEY.get_or_init(|| KeyPair::generate("forge").unwrap())
    }

    fn parts(token: &str) -> (String, Vec<u8>) {
        let (input, signature) = token.rsplit_once('.').unwrap();
        (input.to_owned(), URL_SAFE_NO_PAD.decode(signature).unwrap())
    }

    #[test]
    fn the_header_and_payload_are_kept_byte_for_byte() {
        let token = forge(r#"{"alg":"x", "alg":"y"}"#, "not json", Signer::Unsigned);
        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(segments.len(), 3);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(segments[0]).unwrap(),
            br#"{"alg":"x", "alg":"y"}"#
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(segments[1]).unwrap(), b"not json");
        assert_eq!(segments[2], "", "unsigned tokens end with the dot");
    }

    #[test]
    fn rsa_signatures_verify_with_the_public_key_under_their_own_scheme_only() {
        let public = key().private_key().to_public_key();
        let (input, rs256) = parts(&forge("{}", "{}", Signer::Rs256(key())));
        let (_, rs384) = parts(&forge("{}", "{}", Signer::Rs384(key())));
        let (_, ps256) = parts(&forge("{}", "{}", Signer::Ps256(key())));
        let pkcs_256 = pkcs1v15::VerifyingKey::<Sha256>::new(public.clone());
        let pkcs_384 = pkcs1v15::VerifyingKey::<Sha384>::new(public.clone());
        let pss_256 = pss::VerifyingKey::<Sha256>::new(public);
        let input = input.as_bytes();
        let sig = |bytes: &[u8]| pkcs1v15::Signature::try_from(bytes).unwrap();
        let pss_sig = |bytes: &[u8]| pss::Signature::try_from(bytes).unwrap();
        assert!(pkcs_256.verify(input, &sig(&rs256)).is_ok());
        assert!(pkcs_384.verify(input, &sig(&rs384)).is_ok());
        assert!(pss_256.verify(input, &pss_sig(&ps256)).is_ok());
        assert!(pkcs_256.verify(input, &sig(&rs384)).is_err());
        assert!(pkcs_256.verify(input, &sig(&ps256)).is_err());
        assert!(pss_256.verify(input, &pss_sig(&rs256)).is_err());
    }

    #[test]
    fn rs256_is_what_the_key_signs_by_itself() {
        let header = r#"{"alg":"RS256"}"#;
        assert_eq!(
            forge(header, "{}", Signer::Rs256(key())),
            key().sign_raw(header, "{}"),
            "PKCS#1 v1.5 is deterministic"
        );
    }

    #[test]
    fn any_signing_key_forges_in_its_algorithm_and_ecdsa_also_in_der() {
        use crate::SigningAlgorithm;
        let ec = SigningKey::generate(SigningAlgorithm::Es384, "k").unwrap();
        let (_, jose) = parts(&forge("{}", "{}", Signer::Key(&ec)));
        let (_, der) = parts(&forge("{}", "{}", Signer::Der(&ec)));
        assert_eq!(jose.len(), 96);
        assert_eq!(der[0], 0x30);
        assert_ne!(der.len(), 96);
        let rsa = SigningKey::from_rsa(std::sync::Arc::new(key().clone()), SigningAlgorithm::Rs256)
            .unwrap();
        assert_eq!(
            forge("{}", "{}", Signer::Key(&rsa)),
            forge("{}", "{}", Signer::Rs256(key()))
        );
        assert!(forge("{}", "{}", Signer::Der(&rsa)).ends_with('.'));
    }

    #[test]
    fn hs256_matches_rfc_4231_test_case_2() {
        assert_eq!(
            Signer::Hs256(b"Jefe").sign(b"what do ya want for nothing?"),
            [
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                0x64, 0xec, 0x38, 0x43
            ]
        );
    }

    #[test]
    fn signatures_can_be_changed_afterwards() {
        let token = forge("{}", "{}", Signer::Hs256(b"k"));
        let (input, signature) = parts(&token);
        let padded = with_signature(&token, |mut s| {
            s.insert(0, 0);
            s
        });
        assert_eq!(
            parts(&padded),
            (input.clone(), [&[0], &signature[..]].concat())
        );
        let truncated = with_signature(&token, |s| s[1..].to_vec());
        assert_eq!(parts(&truncated), (input, signature[1..].to_vec()));
        assert_eq!(with_signature("a.b.*", |s| s), "a.b.*");
    }
}
