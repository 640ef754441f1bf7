//! The JWS algorithms this filter verifies (RFC 7518 §3.1, RFC 8037, RFC 9864), and what each
//! one needs: its hash and the kind of key that may verify it.

use crate::crypto::Hash;
use crate::crypto::ecdsa::Curve;

/// A signature algorithm named by a token's `alg`, a JWK's `alg` or a provider's `algorithms`.
/// `none` is not one: an unsigned token is never accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-2 (RS256 is what Auth0 signs with by default).
    RS256,
    RS384,
    RS512,
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash.
    PS256,
    PS384,
    PS512,
    /// ECDSA on P-256, P-384 and P-521, signatures as fixed-length `r || s`.
    ES256,
    ES384,
    ES512,
    /// EdDSA (RFC 8037); with Ed25519 keys, the only EdDSA curve verified here.
    EdDSA,
    /// RFC 9864's fully specified name for EdDSA over Ed25519.
    Ed25519,
    /// HMAC with SHA-2: a shared secret, so only from local keys.
    HS256,
    HS384,
    HS512,
}

/// Which kind of key verifies an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ec(Curve),
    Ed25519,
    Hmac,
}

impl Algorithm {
    /// Every algorithm, in the order the documentation lists them.
    pub const ALL: [Algorithm; 14] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
    ];

    /// The algorithm for an `alg` value; names are case-sensitive (RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        let algorithm = match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "ES512" => Self::ES512,
            "EdDSA" => Self::EdDSA,
            "Ed25519" => Self::Ed25519,
            "HS256" => Self::HS256,
            "HS384" => Self::HS384,
            "HS512" => Self::HS512,
            _ => return None,
        };
        Some(algorithm)
    }

    /// The `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
            Self::Ed25519 => "Ed25519",
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
        }
    }

    /// The kind of key that verifies this algorithm; for ECDSA, the one curve.
    pub const fn key_kind(self) -> KeyKind {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512 => {
                KeyKind::Rsa
            }
            Self::ES256 => KeyKind::Ec(Curve::P256),
            Self::ES384 => KeyKind::Ec(Curve::P384),
            Self::ES512 => KeyKind::Ec(Curve::P521),
            Self::EdDSA | Self::Ed25519 => KeyKind::Ed25519,
            Self::HS256 | Self::HS384 | Self::HS512 => KeyKind::Hmac,
        }
    }

    /// The hash the algorithm signs with (Ed25519's SHA-512 is internal to the scheme).
    pub const fn hash(self) -> Hash {
        match self {
            Self::RS256 | Self::PS256 | Self::ES256 | Self::HS256 => Hash::Sha256,
            Self::RS384 | Self::PS384 | Self::ES384 | Self::HS384 => Hash::Sha384,
            Self::RS512 | Self::PS512 | Self::ES512 | Self::HS512 | Self::EdDSA | Self::Ed25519 => {
                Hash::Sha512
            }
        }
    }

    /// RSASSA-PSS rather than PKCS#1 v1.5, for an RSA key.
    pub const fn is_pss(self) -> bool {
        matches!(self, Self::PS256 | Self::PS384 | Self::PS512)
    }

    /// HMAC: a shared secret, never fetched over the network.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.key_kind(), KeyKind::Hmac)
    }

    /// Whether a JWK pinned to `self` by its `alg` may verify `token`'s algorithm: the same
    /// algorithm, with `EdDSA` and `Ed25519` naming the same verification for an Ed25519 key.
    pub fn admits(self, token: Algorithm) -> bool {
        self == token
            || (self.key_kind() == KeyKind::Ed25519 && token.key_kind() == KeyKind::Ed25519)
    }

    /// What a provider accepts when its configuration names no `algorithms`: every asymmetric
    /// algorithm (the keys then decide), never HMAC.
    pub fn asymmetric() -> Vec<Algorithm> {
        Self::ALL
            .into_iter()
            .filter(|a| !a.is_symmetric())
            .collect()
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_algorithms_round_trip() {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
        }
        for name in [
            "none", "NONE", "rs256", "RS1", "ES256K", "Ed448", "RSA-OAEP", "",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn each_algorithm_names_its_key_and_hash() {
        assert_eq!(Algorithm::PS384.key_kind(), KeyKind::Rsa);
        assert_eq!(Algorithm::ES512.key_kind(), KeyKind::Ec(Curve::P521));
        assert_eq!(Algorithm::ES384.hash(), Hash::Sha384);
        assert_eq!(Algorithm::HS512.hash(), Hash::Sha512);
        assert!(Algorithm::HS256.is_symmetric() && !Algorithm::EdDSA.is_symmetric());
        assert_eq!(Algorithm::asymmetric().len(), 11);
    }

    #[test]
    fn a_pinned_alg_admits_only_itself_and_its_eddsa_synonym() {
        assert!(Algorithm::RS256.admits(Algorithm::RS256));
        assert!(!Algorithm::RS256.admits(Algorithm::PS256));
        assert!(!Algorithm::ES256.admits(Algorithm::ES384));
        assert!(Algorithm::EdDSA.admits(Algorithm::Ed25519));
        assert!(Algorithm::Ed25519.admits(Algorithm::EdDSA));
    }
}
