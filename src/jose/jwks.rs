//! JWKS documents -> a key set indexed by `kid`, each key bound to the algorithms it may
//! verify. Keys this filter cannot use are skipped with a reason (for the log); a document with
//! no usable key at all is an error.
//!
//! Binding (no algorithm confusion): an RSA key verifies RS* and PS*, an EC key only the ES
//! algorithm of its curve, an Ed25519 key EdDSA, an `oct` key HMAC, and only when it comes
//! from local keys of a provider that names an HS algorithm. A JWK's `alg` narrows that to
//! one algorithm; `use` other than `sig` or `key_ops` without `verify` excludes the key.

use crate::crypto::rsa::montgomery;
use crate::crypto::rsa::roca;
use crate::crypto::{Hash, ecdsa, ed25519, hmac, rsa};
use crate::jose::algorithm::{Algorithm, KeyKind};
use crate::jose::jwt::decode_base64url;
use crate::json;
use serde_json::{Map, Value};
use std::fmt;

/// Largest JWKS document accepted (Auth0's is about 3 KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// More keys than this in one document is not a key set but an attack on our memory.
const MAX_KEYS: usize = 64;
/// RFC 7518 §3.3: RSA keys of at least 2048 bits.
const MIN_RSA_BITS: usize = 2048;
/// Verification cost grows with the modulus; 8192 bits covers every real deployment.
const MAX_RSA_BITS: usize = 8192;
/// A token without `kid` is tried against at most this many keys that fit its algorithm, so
/// one junk token never costs more than a few signature checks.
pub const MAX_KIDLESS_CANDIDATES: usize = 4;

/// A usable verification key.
#[derive(Debug, Clone)]
pub struct Key {
    pub kid: Option<String>,
    /// The key's `alg`, when the JWKS pins one.
    pub algorithm: Option<Algorithm>,
    /// The public key (or HMAC secret), parsed and prepared once when the key set arrives.
    pub material: KeyMaterial,
}

/// A key, prepared for verification.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// RS* and PS*: the modulus with its Montgomery constants.
    Rsa(rsa::PublicKey),
    /// ES*: the point, checked on its curve, with its table of multiples.
    Ec(ecdsa::PublicKey),
    /// EdDSA: the decoded point.
    Ed25519(ed25519::PublicKey),
    /// HS*: one prepared key per hash the secret is long enough for.
    Hmac(Vec<hmac::Key>),
}

impl Key {
    /// Whether this key may verify a token signed with `algorithm`.
    pub fn verifies(&self, algorithm: Algorithm) -> bool {
        if self
            .algorithm
            .is_some_and(|pinned| !pinned.admits(algorithm))
        {
            return false;
        }
        self.material.verifies(algorithm)
    }

    /// The RSA public key, for callers that know the key is one (tests, vectors).
    pub fn rsa(&self) -> Option<&rsa::PublicKey> {
        match &self.material {
            KeyMaterial::Rsa(key) => Some(key),
            _ => None,
        }
    }
}

impl KeyMaterial {
    fn verifies(&self, algorithm: Algorithm) -> bool {
        match (self, algorithm.key_kind()) {
            (Self::Rsa(_), KeyKind::Rsa) | (Self::Ed25519(_), KeyKind::Ed25519) => true,
            (Self::Ec(key), KeyKind::Ec(curve)) => key.curve() == curve,
            (Self::Hmac(keys), KeyKind::Hmac) => keys.iter().any(|k| k.hash() == algorithm.hash()),
            _ => false,
        }
    }

    /// What the key is, for messages.
    fn describe(&self) -> String {
        match self {
            Self::Rsa(_) => "an RSA key".into(),
            Self::Ec(key) => format!("a {} key", key.curve().jwk_name()),
            Self::Ed25519(_) => "an Ed25519 key".into(),
            Self::Hmac(_) => "an HMAC secret".into(),
        }
    }
}

/// Where a document comes from, which decides whether it may hold HMAC secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Fetched over the network: never a source of shared secrets.
    Fetched,
    /// In the configuration, for a provider whose `algorithms` name no HS algorithm.
    Local,
    /// In the configuration, for a provider that names an HS algorithm explicitly.
    LocalWithHmac,
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
                f.write_str("JWKS has no usable key: ")?;
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

    /// The keys to try for a token's `kid` and `alg`: with a `kid`, the key of that `kid` if it
    /// verifies the algorithm; without one, the first [`MAX_KIDLESS_CANDIDATES`] keys that do
    /// (as jwt_authn tries every key). Empty when no key fits.
    pub fn candidates(&self, kid: Option<&str>, algorithm: Algorithm) -> Vec<&Key> {
        let fitting = self.keys.iter().filter(|k| k.verifies(algorithm));
        match kid {
            Some(kid) => fitting
                .filter(|k| k.kid.as_deref() == Some(kid))
                .take(1)
                .collect(),
            None => fitting.take(MAX_KIDLESS_CANDIDATES).collect(),
        }
    }

    /// Whether any key has this `kid` (used to decide if a refetch could help).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Whether some key verifies `algorithm`.
    pub fn verifies(&self, algorithm: Algorithm) -> bool {
        self.keys.iter().any(|k| k.verifies(algorithm))
    }
}

/// Parses a fetched JWKS document (RFC 7517 §5): no HMAC secrets.
pub fn parse(bytes: &[u8]) -> Result<ParsedJwks, JwksError> {
    parse_from(bytes, Origin::Fetched)
}

/// Parses a JWKS document from `origin`.
pub fn parse_from(bytes: &[u8], origin: Origin) -> Result<ParsedJwks, JwksError> {
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
    let mut parsed: Vec<(usize, Key)> = Vec::with_capacity(entries.len());
    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        let result = match entry {
            Value::Object(members) => parse_key(members, kid.clone(), origin),
            _ => Err("not a JSON object".to_string()),
        };
        match result {
            Ok(key) => parsed.push((index, key)),
            Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
        }
    }
    // Ambiguity is refused, not resolved by order (Wycheproof's DuplicateKid and
    // MixedKeySet): every key of a repeated `kid` is left out, and so are secrets in a set
    // that also holds public keys.
    let mixed = parsed
        .iter()
        .any(|(_, k)| matches!(k.material, KeyMaterial::Hmac(_)))
        && parsed
            .iter()
            .any(|(_, k)| !matches!(k.material, KeyMaterial::Hmac(_)));
    // A kid counts as repeated among every entry meant for verifying, even one that could
    // not be used (a secret in a bad encoding is still a second key under that kid).
    let signing_kids: Vec<&str> = entries
        .iter()
        .filter(|entry| meant_for_verifying(entry))
        .filter_map(|entry| entry.get("kid").and_then(Value::as_str))
        .collect();
    let mut keys = Vec::with_capacity(parsed.len());
    for (index, key) in parsed {
        let repeated = key
            .kid
            .as_deref()
            .is_some_and(|kid| signing_kids.iter().filter(|k| **k == kid).count() > 1);
        let reason = if repeated {
            "duplicate kid: every key with it is left out"
        } else if mixed && matches!(key.material, KeyMaterial::Hmac(_)) {
            "oct (HMAC) key in a set that also holds public keys: a mixed set is ambiguous"
        } else {
            keys.push(key);
            continue;
        };
        // In index order, among those skipped before (no sort linked into the module).
        let at = skipped.partition_point(|s| s.index < index);
        skipped.insert(
            at,
            SkippedKey {
                index,
                kid: key.kid,
                reason: reason.into(),
            },
        );
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys(skipped));
    }
    Ok(ParsedJwks {
        keys: KeySet { keys },
        skipped,
    })
}

/// One public JWK on its own (a DPoP proof's `jwk` header), checked as a fetched key is:
/// never a secret, never a private key.
pub fn public_key(members: &Map<String, Value>) -> Result<Key, String> {
    parse_key(members, None, Origin::Fetched)
}

/// Whether a JWK declares no other purpose than signing (`use`, `key_ops`).
fn meant_for_verifying(entry: &Value) -> bool {
    let usage = entry.get("use").is_none_or(|u| u == "sig");
    let ops = entry.get("key_ops").is_none_or(|ops| {
        ops.as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    });
    usage && ops
}

/// One JWK's members, read strictly.
struct Jwk<'a> {
    members: &'a Map<String, Value>,
}

impl<'a> Jwk<'a> {
    fn text(&self, name: &str) -> Result<Option<&'a str>, String> {
        match self.members.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{name} is not a string")),
        }
    }

    fn required(&self, name: &str) -> Result<&'a str, String> {
        self.text(name)?.ok_or_else(|| format!("{name} is missing"))
    }

    fn bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        decode_base64url(self.required(name)?).ok_or_else(|| format!("{name} is not base64url"))
    }
}

fn parse_key(
    members: &Map<String, Value>,
    kid: Option<String>,
    origin: Origin,
) -> Result<Key, String> {
    let jwk = Jwk { members };
    if members.get("kid").is_some_and(|k| !k.is_string()) {
        return Err("kid is not a string".into());
    }
    let kty = jwk.required("kty")?;
    // A published private key signs for anyone.
    if kty != "oct" && members.contains_key("d") {
        return Err("private key published (d): anyone can sign with it".into());
    }
    if let Some(usage) = jwk.text("use")?
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
    let algorithm = match jwk.text("alg")? {
        None => None,
        Some(name) => Some(
            Algorithm::from_name(name).ok_or_else(|| format!("alg {name:?} is not supported"))?,
        ),
    };
    let material = match kty {
        "RSA" => KeyMaterial::Rsa(rsa_key(&jwk)?),
        "EC" => KeyMaterial::Ec(ec_key(&jwk)?),
        "OKP" => KeyMaterial::Ed25519(okp_key(&jwk)?),
        "oct" => KeyMaterial::Hmac(hmac_keys(&jwk, algorithm, origin)?),
        other => return Err(format!("kty {other:?} is not supported")),
    };
    if let Some(pinned) = algorithm
        && !material.verifies(pinned)
    {
        return Err(format!("alg {pinned} does not fit {}", material.describe()));
    }
    Ok(Key {
        kid,
        algorithm,
        material,
    })
}

/// RFC 7518 §6.3.1: big-endian unsigned integers. Leading zero bytes, which RFC 7518 says
/// `n` should not have, are tolerated and ignored: the modulus length (and so the signature
/// length) counts significant bytes only.
fn rsa_key(jwk: &Jwk) -> Result<rsa::PublicKey, String> {
    let (n, e) = (jwk.bytes("n")?, jwk.bytes("e")?);
    // Checked before any arithmetic: the precomputation grows with the square of the size.
    let bits = montgomery::bit_length(&n);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!(
            "modulus of {bits} bits is outside {MIN_RSA_BITS}..={MAX_RSA_BITS}"
        ));
    }
    // Refuses an even modulus and an exponent that is even, below 3 or not below 2^32.
    let public = rsa::PublicKey::from_be_bytes(&n, &e).map_err(|err| err.to_string())?;
    if roca::has_fingerprint(&n) {
        return Err("modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored".into());
    }
    Ok(public)
}

/// RFC 7518 §6.2.1: `crv`, and `x` and `y` of exactly the curve's length, on the curve.
fn ec_key(jwk: &Jwk) -> Result<ecdsa::PublicKey, String> {
    let name = jwk.required("crv")?;
    let curve = ecdsa::Curve::from_jwk_name(name)
        .ok_or_else(|| format!("crv {name:?} is not supported"))?;
    let (x, y) = (jwk.bytes("x")?, jwk.bytes("y")?);
    ecdsa::PublicKey::from_coordinates(curve, &x, &y).map_err(|err| err.to_string())
}

/// RFC 8037 §2: `crv` Ed25519 (Ed448 and the ECDH curves are not signature keys here) and `x`.
fn okp_key(jwk: &Jwk) -> Result<ed25519::PublicKey, String> {
    match jwk.required("crv")? {
        "Ed25519" => {}
        other => return Err(format!("crv {other:?} is not supported")),
    }
    ed25519::PublicKey::from_bytes(&jwk.bytes("x")?).map_err(|err| err.to_string())
}

/// RFC 7518 §6.4: a shared secret `k`, prepared for every hash it is long enough for (§3.2),
/// or for its pinned `alg` only.
fn hmac_keys(
    jwk: &Jwk,
    algorithm: Option<Algorithm>,
    origin: Origin,
) -> Result<Vec<hmac::Key>, String> {
    match origin {
        Origin::Fetched => {
            return Err(
                "oct (HMAC) key in a fetched key set: shared secrets are never taken from the network"
                    .into(),
            );
        }
        Origin::Local => {
            return Err(
                "oct (HMAC) key, but the provider's algorithms name no HS algorithm".into(),
            );
        }
        Origin::LocalWithHmac => {}
    }
    let secret = jwk.bytes("k")?;
    // The shortest hash first: its length is the minimum the secret must have.
    let (first, others): (Hash, &[Hash]) = match algorithm {
        Some(pinned) if pinned.is_symmetric() => (pinned.hash(), &[]),
        Some(pinned) => return Err(format!("alg {pinned} does not fit an HMAC secret")),
        None => (Hash::Sha256, &[Hash::Sha384, Hash::Sha512]),
    };
    let mut keys = vec![hmac::Key::new(first, &secret).map_err(|e| e.to_string())?];
    keys.extend(
        others
            .iter()
            .filter_map(|&hash| hmac::Key::new(hash, &secret).ok()),
    );
    Ok(keys)
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
        let found = parsed.keys.candidates(Some("k1"), Algorithm::RS256);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rsa().unwrap().modulus_bytes(), 256);
    }

    #[test]
    fn unusable_keys_are_skipped_with_a_reason() {
        let good = key("good").public_jwk();
        let other = key("other").public_jwk();
        let mut enc = key("enc").public_jwk();
        enc["use"] = json!("enc");
        let mut hs = good.clone();
        hs["kid"] = json!("hs");
        hs["alg"] = json!("HS256");
        let mut small_e = good.clone();
        small_e["kid"] = json!("even");
        small_e["e"] = json!("Ag"); // 2
        let parsed = parse_json(json!({"keys": [
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            enc, hs, small_e, good.clone(), good.clone(), other,
            {"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"},
            "not an object"
        ]}))
        .unwrap();
        assert_eq!(parsed.keys.len(), 1);
        let reasons: Vec<String> = parsed.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![
                "x is 1 bytes, P-256 needs 32",
                "use \"enc\" is not sig",
                "alg HS256 does not fit an RSA key",
                "public exponent must be odd and at least 3",
                "duplicate kid: every key with it is left out",
                "duplicate kid: every key with it is left out",
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
                keys.candidates(None, Algorithm::RS256)[0]
                    .rsa()
                    .unwrap()
                    .modulus_bytes(),
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
    fn a_token_without_kid_is_tried_against_every_fitting_key() {
        let one = parse_json(json!({"keys": [key("a").public_jwk()]}))
            .unwrap()
            .keys;
        assert_eq!(one.candidates(None, Algorithm::RS256).len(), 1);
        let two = parse_json(json!({"keys": [key("a").public_jwk(), key("b").public_jwk()]}))
            .unwrap()
            .keys;
        assert_eq!(two.candidates(None, Algorithm::RS256).len(), 2);
        assert_eq!(two.candidates(Some("b"), Algorithm::RS256).len(), 1);
        assert!(two.candidates(Some("c"), Algorithm::RS256).is_empty());
    }

    use crate::jose::algorithm::KeyKind;
    use crate::jose::test_signers::{self, b64};

    fn keys_from(origin: Origin, jwks: serde_json::Value) -> Result<ParsedJwks, JwksError> {
        parse_from(jwks.to_string().as_bytes(), origin)
    }

    fn skipped_reason(origin: Origin, jwk: serde_json::Value) -> String {
        match keys_from(origin, json!({"keys": [jwk]})) {
            Err(JwksError::NoUsableKeys(skipped)) => skipped[0].reason.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn verified_by(jwk: serde_json::Value) -> Vec<Algorithm> {
        let keys = keys_from(Origin::LocalWithHmac, json!({"keys": [jwk]}))
            .unwrap()
            .keys;
        Algorithm::ALL
            .into_iter()
            .filter(|a| keys.verifies(*a))
            .collect()
    }

    #[test]
    fn each_key_verifies_only_the_algorithms_of_its_type_and_curve() {
        use Algorithm::*;
        let ec = |curve| test_signers::jwk(KeyKind::Ec(curve), "k");
        assert_eq!(
            verified_by(test_signers::jwk(KeyKind::Rsa, "k")),
            vec![RS256, RS384, RS512, PS256, PS384, PS512]
        );
        assert_eq!(verified_by(ec(ecdsa::Curve::P256)), vec![ES256]);
        assert_eq!(verified_by(ec(ecdsa::Curve::P384)), vec![ES384]);
        assert_eq!(verified_by(ec(ecdsa::Curve::P521)), vec![ES512]);
        assert_eq!(
            verified_by(test_signers::jwk(KeyKind::Ed25519, "k")),
            vec![EdDSA, Ed25519]
        );
        assert_eq!(
            verified_by(test_signers::jwk(KeyKind::Hmac, "k")),
            vec![HS256, HS384, HS512]
        );
    }

    #[test]
    fn a_jwk_alg_narrows_its_key_to_that_algorithm() {
        let mut rsa = test_signers::jwk(KeyKind::Rsa, "k");
        rsa["alg"] = json!("PS384");
        assert_eq!(verified_by(rsa), vec![Algorithm::PS384]);
        let mut ed = test_signers::jwk(KeyKind::Ed25519, "k");
        ed["alg"] = json!("EdDSA");
        assert_eq!(verified_by(ed), vec![Algorithm::EdDSA, Algorithm::Ed25519]);
        let mut secret = test_signers::jwk(KeyKind::Hmac, "k");
        secret["alg"] = json!("HS384");
        assert_eq!(verified_by(secret), vec![Algorithm::HS384]);
    }

    #[test]
    fn a_jwk_alg_that_does_not_fit_its_key_excludes_the_key() {
        for (kind, alg, reason) in [
            (KeyKind::Rsa, "ES256", "alg ES256 does not fit an RSA key"),
            (KeyKind::Rsa, "HS256", "alg HS256 does not fit an RSA key"),
            (
                KeyKind::Ec(ecdsa::Curve::P256),
                "ES384",
                "alg ES384 does not fit a P-256 key",
            ),
            (
                KeyKind::Ec(ecdsa::Curve::P384),
                "RS256",
                "alg RS256 does not fit a P-384 key",
            ),
            (
                KeyKind::Ed25519,
                "ES256",
                "alg ES256 does not fit an Ed25519 key",
            ),
            (
                KeyKind::Hmac,
                "RS256",
                "alg RS256 does not fit an HMAC secret",
            ),
            (KeyKind::Rsa, "none", "alg \"none\" is not supported"),
        ] {
            let mut jwk = test_signers::jwk(kind, "k");
            jwk["alg"] = json!(alg);
            assert_eq!(skipped_reason(Origin::LocalWithHmac, jwk), reason);
        }
    }

    #[test]
    fn hmac_secrets_come_only_from_local_keys_of_a_provider_that_names_hs() {
        let secret = test_signers::jwk(KeyKind::Hmac, "k");
        assert_eq!(
            skipped_reason(Origin::Fetched, secret.clone()),
            "oct (HMAC) key in a fetched key set: shared secrets are never taken from the network"
        );
        assert_eq!(
            skipped_reason(Origin::Local, secret.clone()),
            "oct (HMAC) key, but the provider's algorithms name no HS algorithm"
        );
        assert!(keys_from(Origin::LocalWithHmac, json!({"keys": [secret]})).is_ok());
    }

    #[test]
    fn an_hmac_secret_is_at_least_as_long_as_its_hash() {
        let secret = |len: usize, alg: Option<&str>| {
            let mut jwk = json!({"kty": "oct", "k": b64(vec![7u8; len])});
            if let Some(alg) = alg {
                jwk["alg"] = json!(alg);
            }
            jwk
        };
        assert_eq!(
            skipped_reason(Origin::LocalWithHmac, secret(31, None)),
            "HMAC secret of 31 bytes is shorter than the 32-byte Sha256 output"
        );
        assert_eq!(
            skipped_reason(Origin::LocalWithHmac, secret(47, Some("HS384"))),
            "HMAC secret of 47 bytes is shorter than the 48-byte Sha384 output"
        );
        assert_eq!(verified_by(secret(32, None)), vec![Algorithm::HS256]);
        assert_eq!(
            verified_by(secret(48, None)),
            vec![Algorithm::HS256, Algorithm::HS384]
        );
    }

    #[test]
    fn other_curves_are_skipped_and_the_rest_of_the_set_works() {
        let parsed = keys_from(
            Origin::Fetched,
            json!({"keys": [
                {"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"},
                {"kty": "OKP", "kid": "x", "crv": "X25519", "x": "AA"},
                {"kty": "OKP", "kid": "ed448", "crv": "Ed448", "x": "AA"},
                {"kty": "OKP", "kid": "pub", "crv": "Ed25519", "x": "AA"},
                test_signers::jwk(KeyKind::Ec(ecdsa::Curve::P256), "good"),
            ]}),
        )
        .unwrap();
        let reasons: Vec<String> = parsed.skipped.iter().map(|s| s.reason.clone()).collect();
        assert_eq!(
            reasons,
            vec![
                "crv \"secp256k1\" is not supported",
                "crv \"X25519\" is not supported",
                "crv \"Ed448\" is not supported",
                "Ed25519 public key of 1 bytes, not 32",
            ]
        );
        assert_eq!(
            parsed.keys.candidates(Some("good"), Algorithm::ES256).len(),
            1
        );
    }

    #[test]
    fn ec_points_off_their_curve_or_of_the_wrong_length_are_skipped() {
        let good = test_signers::jwk(KeyKind::Ec(ecdsa::Curve::P256), "k");
        let x = decode_base64url(good["x"].as_str().unwrap()).unwrap();
        let y = decode_base64url(good["y"].as_str().unwrap()).unwrap();
        let with = |x: &[u8], y: &[u8]| {
            let mut jwk = good.clone();
            jwk["x"] = json!(b64(x));
            jwk["y"] = json!(b64(y));
            skipped_reason(Origin::Fetched, jwk)
        };
        let mut off = y.clone();
        off[31] ^= 1;
        assert_eq!(with(&x, &off), "point is not on the curve P-256");
        assert_eq!(
            with(&[0; 32], &[0; 32]),
            "point is the identity (x = y = 0), not a key"
        );
        assert_eq!(with(&x[1..], &y), "x is 31 bytes, P-256 needs 32");
        let mut private = good.clone();
        private["d"] = json!("AQAB");
        assert_eq!(
            skipped_reason(Origin::Fetched, private),
            "private key published (d): anyone can sign with it"
        );
    }

    #[test]
    fn kidless_candidates_are_bounded() {
        let many: Vec<serde_json::Value> = (0..MAX_KIDLESS_CANDIDATES + 2)
            .map(|i| {
                let mut jwk = test_signers::jwk(KeyKind::Ed25519, "k");
                jwk["kid"] = json!(format!("k{i}"));
                jwk
            })
            .collect();
        let keys = keys_from(Origin::Fetched, json!({"keys": many}))
            .unwrap()
            .keys;
        assert_eq!(
            keys.candidates(None, Algorithm::EdDSA).len(),
            MAX_KIDLESS_CANDIDATES
        );
        assert!(keys.candidates(None, Algorithm::ES256).is_empty());
    }
}
