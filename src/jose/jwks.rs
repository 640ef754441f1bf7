//! JWKS documents -> a key set indexed by `kid`. Keys this filter cannot use are skipped with a
//! reason (for the log); a document with no usable key at all is an error.

use crate::crypto::rsa::PublicKey;
use crate::crypto::rsa::montgomery;
use crate::crypto::rsa::roca;
use crate::jose::jwt::{Algorithm, decode_base64url};
use crate::json;
use serde_json::{Map, Value};
use std::fmt;

/// Largest JWKS document accepted (Auth0's is about 3 KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// More keys than this in one document is not a key set but an attack on our memory.
const MAX_KEYS: usize = 64;
/// RFC 7518 §3.3: RS256 keys of at least 2048 bits.
const MIN_RSA_BITS: usize = 2048;
/// Verification cost grows with the modulus; 8192 bits covers every real deployment.
const MAX_RSA_BITS: usize = 8192;

/// A usable verification key.
#[derive(Debug, Clone)]
pub struct Key {
    pub kid: Option<String>,
    /// The key's `alg`, when the JWKS pins one.
    pub algorithm: Option<Algorithm>,
    /// The public key, parsed (and its Montgomery constants computed) once when the key set
    /// arrives.
    pub rs256: PublicKey,
    /// Modulus length in bytes: an RS256 signature has exactly this length.
    pub modulus_bytes: usize,
}

/// The usable keys of one JWKS document.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

/// A key that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    pub index: usize,
    pub kid: Option<String>,
    pub reason: String,
}

/// A parsed JWKS document.
#[derive(Debug, Clone)]
pub struct ParsedJwks {
    pub keys: KeySet,
    pub skipped: Vec<SkippedKey>,
}

/// Why a whole JWKS document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksError {
    TooLarge(usize),
    NotJson,
    DuplicateMember,
    NoKeysArray,
    TooManyKeys(usize),
    NoUsableKeys(Vec<SkippedKey>),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(n) => write!(
                f,
                "JWKS is {n} bytes, more than the {MAX_JWKS_BYTES} accepted"
            ),
            Self::NotJson => f.write_str("JWKS is not a JSON object"),
            Self::DuplicateMember => f.write_str("JWKS has duplicate JSON member names"),
            Self::NoKeysArray => f.write_str("JWKS has no \"keys\" array"),
            Self::TooManyKeys(n) => {
                write!(f, "JWKS has {n} keys, more than the {MAX_KEYS} accepted")
            }
            Self::NoUsableKeys(skipped) if skipped.is_empty() => f.write_str("JWKS has no keys"),
            Self::NoUsableKeys(skipped) => {
                f.write_str("JWKS has no usable RS256 key: ")?;
                let reasons: Vec<String> = skipped.iter().map(SkippedKey::to_string).collect();
                f.write_str(&reasons.join("; "))
            }
        }
    }
}

impl std::error::Error for JwksError {}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kid {
            Some(kid) => write!(
                f,
                "key {} (kid {kid:?}) skipped: {}",
                self.index, self.reason
            ),
            None => write!(f, "key {} skipped: {}", self.index, self.reason),
        }
    }
}

impl KeySet {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for a token's `kid` and `alg`. A token without `kid` is accepted only when a
    /// single key fits, so one token never costs more than one signature check.
    pub fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<&Key> {
        let fits = |k: &&Key| k.algorithm.is_none_or(|a| a == algorithm);
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(fits)
                .find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }

    /// Whether any key has this `kid` (used to decide if a refetch could help).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// Parses a JWKS document (RFC 7517 §5).
pub fn parse(bytes: &[u8]) -> Result<ParsedJwks, JwksError> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JwksError::TooLarge(bytes.len()));
    }
    let document = json::parse_object(bytes).map_err(|e| match e {
        json::StrictJsonError::DuplicateMember => JwksError::DuplicateMember,
        _ => JwksError::NotJson,
    })?;
    let Some(Value::Array(entries)) = document.get("keys") else {
        return Err(JwksError::NoKeysArray);
    };
    if entries.len() > MAX_KEYS {
        return Err(JwksError::TooManyKeys(entries.len()));
    }
    let mut keys: Vec<Key> = Vec::with_capacity(entries.len());
    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        let result = match entry {
            Value::Object(members) => parse_key(members, kid.clone()),
            _ => Err("not a JSON object".to_string()),
        };
        match result {
            Ok(key) if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) => {
                skipped.push(SkippedKey {
                    index,
                    kid,
                    reason: "duplicate kid".into(),
                });
            }
            Ok(key) => keys.push(key),
            Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys(skipped));
    }
    Ok(ParsedJwks {
        keys: KeySet { keys },
        skipped,
    })
}

fn parse_key(members: &Map<String, Value>, kid: Option<String>) -> Result<Key, String> {
    let text = |name: &str| -> Result<Option<&str>, String> {
        match members.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    if members.get("kid").is_some_and(|k| !k.is_string()) {
        return Err("kid is not a string".into());
    }
    match text("kty")? {
        Some("RSA") => {}
        Some(other) => return Err(format!("kty {other:?} is not supported")),
        None => return Err("kty is missing".into()),
    }
    // A published private key signs for anyone.
    if members.contains_key("d") {
        return Err("private key published (d): anyone can sign with it".into());
    }
    if let Some(usage) = text("use")?
        && usage != "sig"
    {
        return Err(format!("use {usage:?} is not sig"));
    }
    if let Some(ops) = members.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Err("key_ops does not allow verify".into());
        }
    }
    let algorithm = match text("alg")? {
        None => None,
        Some(name) => Some(
            Algorithm::from_name(name).ok_or_else(|| format!("alg {name:?} is not supported"))?,
        ),
    };
    // Big-endian unsigned integers (RFC 7518 §6.3.1). Leading zero bytes, which RFC 7518 says
    // `n` should not have, are tolerated and ignored: the modulus length (and so the signature
    // length) counts significant bytes only.
    let integer = |name: &str| -> Result<Vec<u8>, String> {
        let encoded = text(name)?.ok_or_else(|| format!("{name} is missing"))?;
        decode_base64url(encoded).ok_or_else(|| format!("{name} is not base64url"))
    };
    let (n, e) = (integer("n")?, integer("e")?);
    // Checked before any arithmetic: the precomputation grows with the square of the size.
    let bits = montgomery::bit_length(&n);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!(
            "modulus of {bits} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
        ));
    }
    // Refuses an even modulus and an exponent that is even, below 3 or not below 2^32.
    let public = PublicKey::from_be_bytes(&n, &e).map_err(|err| err.to_string())?;
    if roca::has_fingerprint(&n) {
        return Err("modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored".into());
    }
    Ok(Key {
        kid,
        algorithm,
        modulus_bytes: public.modulus_bytes(),
        rs256: public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kid: &str) -> devidp::KeyPair {
        devidp::KeyPair::generate(kid).unwrap()
    }

    fn parse_json(v: serde_json::Value) -> Result<ParsedJwks, JwksError> {
        parse(v.to_string().as_bytes())
    }

    #[test]
    fn auth0_shaped_jwks_parses() {
        let k = key("k1");
        let mut jwk = k.public_jwk();
        jwk["x5t"] = json!("abc");
        jwk["x5c"] = json!(["MIIC..."]);
        let parsed = parse_json(json!({"keys": [jwk]})).unwrap();
        assert_eq!(parsed.keys.len(), 1);
        assert!(parsed.skipped.is_empty());
        assert!(parsed.keys.find(Some("k1"), Algorithm::RS256).is_some());
        assert_eq!(
            parsed
                .keys
                .find(Some("k1"), Algorithm::RS256)
                .unwrap()
                .modulus_bytes,
            256
        );
    }

    #[test]
    fn unusable_keys_are_skipped_with_a_reason() {
        let good = key("good").public_jwk();
        let mut enc = key("enc").public_jwk();
        enc["use"] = json!("enc");
        let mut hs = good.clone();
        hs["kid"] = json!("hs");
        hs["alg"] = json!("HS256");
        let mut small_e = good.clone();
        small_e["kid"] = json!("even");
        small_e["e"] = json!("Ag"); // 2
        let parsed = parse_json(json!({"keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "a", "y": "b"},
            enc, hs, small_e, good.clone(), good,
            {"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"},
            "not an object"
        ]}))
        .unwrap();
        assert_eq!(parsed.keys.len(), 1);
        let reasons: Vec<String> = parsed.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![
                "kty \"EC\" is not supported",
                "use \"enc\" is not sig",
                "alg \"HS256\" is not supported",
                "public exponent must be odd and at least 3",
                "duplicate kid",
                "modulus of 17 bits is outside 2048..=8192",
                "not a JSON object",
            ]
        );
    }

    #[test]
    fn published_private_keys_are_skipped() {
        let mut jwk = key("k").public_jwk();
        jwk["d"] = json!("AQAB");
        let err = parse_json(json!({"keys": [jwk]})).unwrap_err();
        let JwksError::NoUsableKeys(skipped) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            skipped[0].reason,
            "private key published (d): anyone can sign with it"
        );
    }

    #[test]
    fn keys_with_the_roca_fingerprint_are_skipped() {
        // 65537^130: odd, 2081 bits, and a power of 65537 modulo every prime.
        let mut n = vec![1u8];
        for _ in 0..130 {
            let mut carry = 0u32;
            for byte in n.iter_mut().rev() {
                let value = u32::from(*byte) * 65537 + carry;
                *byte = value as u8;
                carry = value >> 8;
            }
            while carry > 0 {
                n.insert(0, carry as u8);
                carry >>= 8;
            }
        }
        assert_eq!(montgomery::bit_length(&n), 2081);
        let mut jwk = key("k").public_jwk();
        jwk["n"] = json!(base64url(&n));
        let err = parse_json(json!({"keys": [jwk]})).unwrap_err();
        let JwksError::NoUsableKeys(skipped) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            skipped[0].reason,
            "modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored"
        );
    }

    #[test]
    fn rsa_parameters_are_checked_before_use() {
        let good = key("k").public_jwk();
        let with = |n: &[u8], e: &[u8]| {
            let mut jwk = good.clone();
            jwk["n"] = json!(base64url(n));
            jwk["e"] = json!(base64url(e));
            jwk
        };
        let n = crate::jose::jwt::decode_base64url(good["n"].as_str().unwrap()).unwrap();
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        let mut big = vec![0x80];
        big.extend(vec![1; MAX_RSA_BITS / 8]);
        for (jwk, reason) in [
            (with(&n, &[2]), "public exponent must be odd and at least 3"),
            (with(&n, &[1]), "public exponent must be odd and at least 3"),
            (with(&n, &[]), "public exponent must be odd and at least 3"),
            (
                with(&n, &[1, 0, 0]),
                "public exponent must be odd and at least 3",
            ),
            (
                with(&n, &[1, 0, 0, 0, 1]),
                "public exponent must be less than 2^32",
            ),
            (with(&even, &[1, 0, 1]), "modulus is even"),
            (
                with(&big, &[1, 0, 1]),
                "modulus of 8200 bits is outside 2048..=8192",
            ),
            (
                with(&[0xff; 255], &[1, 0, 1]),
                "modulus of 2040 bits is outside 2048..=8192",
            ),
        ] {
            let err = parse_json(json!({"keys": [jwk]})).unwrap_err();
            let JwksError::NoUsableKeys(skipped) = err else {
                panic!("{err:?}")
            };
            assert_eq!(skipped[0].reason, reason);
        }
        // Odd exponents from 3 up to 2^32 - 1 are fine; so are leading zero bytes in `n` and
        // `e`, which do not count towards the modulus (and signature) length.
        let mut padded = vec![0, 0];
        padded.extend_from_slice(&n);
        for jwk in [
            with(&n, &[3]),
            with(&n, &[0xff, 0xff, 0xff, 0xff]),
            with(&padded, &[0, 0, 0, 1, 0, 1]),
        ] {
            let keys = parse_json(json!({"keys": [jwk]})).unwrap().keys;
            assert_eq!(
                keys.find(None, Algorithm::RS256).unwrap().modulus_bytes,
                256
            );
        }
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn documents_without_usable_keys_are_errors() {
        assert_eq!(parse(b"<html>").unwrap_err(), JwksError::NotJson);
        assert_eq!(parse(b"{\"keys\": 1}").unwrap_err(), JwksError::NoKeysArray);
        assert_eq!(
            parse(b"{\"keys\": []}").unwrap_err(),
            JwksError::NoUsableKeys(vec![])
        );
        assert_eq!(
            parse(b"{\"keys\": [], \"keys\": []}").unwrap_err(),
            JwksError::DuplicateMember
        );
        assert!(matches!(
            parse(&vec![b' '; MAX_JWKS_BYTES + 1]),
            Err(JwksError::TooLarge(_))
        ));
        let many = json!({"keys": vec![json!({"kty": "EC"}); MAX_KEYS + 1]});
        assert_eq!(
            parse_json(many).unwrap_err(),
            JwksError::TooManyKeys(MAX_KEYS + 1)
        );
    }

    #[test]
    fn token_without_kid_needs_a_single_candidate() {
        let one = parse_json(json!({"keys": [key("a").public_jwk()]}))
            .unwrap()
            .keys;
        assert!(one.find(None, Algorithm::RS256).is_some());
        let two = parse_json(json!({"keys": [key("a").public_jwk(), key("b").public_jwk()]}))
            .unwrap()
            .keys;
        assert!(two.find(None, Algorithm::RS256).is_none());
        assert!(two.find(Some("b"), Algorithm::RS256).is_some());
        assert!(two.find(Some("c"), Algorithm::RS256).is_none());
    }
}
