//! The signature algorithms an API of the dev IdP signs with, by their JOSE names
//! (RFC 7518, RFC 8037): the choices of Auth0's per-API "signing algorithm" and the curves
//! other issuers use.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How the access tokens of one API are signed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA-2048: Auth0's default.
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    /// RSASSA-PSS with SHA-256 (MGF1 with SHA-256, 32-byte salt), RSA-2048.
    #[serde(rename = "PS256")]
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// ECDSA on P-384 with SHA-384.
    #[serde(rename = "ES384")]
    Es384,
    /// ECDSA on P-521 with SHA-512.
    #[serde(rename = "ES512")]
    Es512,
    /// Ed25519 (RFC 8032).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC with SHA-256, keyed with the API's signing secret; never in the JWKS.
    #[serde(rename = "HS256")]
    Hs256,
}

impl SigningAlgorithm {
    /// Every algorithm, asymmetric ones first.
    pub const ALL: [SigningAlgorithm; 7] = [
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Ps256,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Es384,
        SigningAlgorithm::Es512,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Hs256,
    ];

    /// The JOSE `alg` value.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Ps256 => "PS256",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Es384 => "ES384",
            SigningAlgorithm::Es512 => "ES512",
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Hs256 => "HS256",
        }
    }

    /// Whether the key is a shared secret (HMAC), which no JWKS may show.
    pub fn is_symmetric(self) -> bool {
        self == SigningAlgorithm::Hs256
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_the_jose_names() {
        for algorithm in SigningAlgorithm::ALL {
            let json = serde_json::to_string(&algorithm).unwrap();
            assert_eq!(json, format!("\"{}\"", algorithm.name()));
            assert_eq!(
                serde_json::from_str::<SigningAlgorithm>(&json).unwrap(),
                algorithm
            );
        }
    }

    #[test]
    fn only_hs256_is_symmetric() {
        let symmetric: Vec<_> = SigningAlgorithm::ALL
            .into_iter()
            .filter(|a| a.is_symmetric())
            .collect();
        assert_eq!(symmetric, [SigningAlgorithm::Hs256]);
    }
}
