//! The checks of a DPoP proof (RFC 9449 §4.3), in the RFC's order, with time injected. The
//! proof's `jwk` is the one key this filter takes from a header: it proves possession only,
//! and is matched to the token's `cnf.jkt` by [`super::sender`].

use crate::crypto::Hash;
use crate::error::ProofFault;
use crate::jose::algorithm::Algorithm;
use crate::jose::jwks;
use crate::jose::jwks::Key;
use crate::jose::jwt::decode_base64url;
use crate::jose::verify::verify_signature;
use crate::json::{self, StrictJsonError};
use crate::proof::key_cache::{self, KnownHeader, ProofKeys};
use crate::proof::replay::ProofId;
use crate::proof::settings::DpopSettings;
use crate::proof::{nonce, thumbprint, uri};
use crate::request::headers::Header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use std::cell::RefCell;

/// Longest proof read: an RSA-4096 `jwk` and signature fit in well under this.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted: it is stored for the replay check (as a digest, but still read).
pub const MAX_JTI_BYTES: usize = 256;
/// Members that make a JWK private (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// `:method`.
    pub method: &'a str,
    /// The request URI without query and fragment, normalised ([`uri::normalise`]); `None`
    /// when the request does not say (no `:authority`), which no proof then matches.
    pub uri: Option<&'a str>,
    /// The `ath` a proof for the access token sent with it must carry
    /// ([`access_token_hash`]); the caller may keep it with a cached token.
    pub access_token_hash: &'a str,
    /// Seconds since the epoch.
    pub now: u64,
    /// The provider's clock skew, allowed on both sides of the window.
    pub clock_skew_seconds: u64,
    /// The process's nonce secret, when the host has given one.
    pub nonce_key: Option<&'a nonce::NonceKey>,
    /// Proof keys prepared before, when the caller keeps them.
    pub keys: Option<&'a RefCell<ProofKeys>>,
}

/// A proof that passed every check: its key and its identity for the replay store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of its `jwk`.
    pub thumbprint: String,
    pub id: ProofId,
}

/// The expected URI of `request_uri`'s path at `origin` (the provider's public origin, or
/// the request's `:scheme://:authority`).
pub fn expected_uri(origin: &str, path_only: &str) -> Option<String> {
    let path = if path_only.starts_with('/') {
        path_only
    } else {
        "/"
    };
    uri::normalise(&format!("{origin}{path}"))
}

/// The `ath` of `access_token` (RFC 9449 §4.2): base64url of its SHA-256.
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Hash::Sha256.digest(access_token.as_bytes()))
}

/// Checks the request's one `DPoP` header under `settings` for `request`.
pub fn check(
    headers: &[Header],
    settings: &DpopSettings,
    request: &ProofRequest,
) -> Result<Proof, ProofFault> {
    let proof = one_proof(headers)?;
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofFault::TooLarge);
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofFault::NotCompact);
    };
    let kept = request
        .keys
        .and_then(|keys| keys.try_borrow_mut().ok()?.header(header_b64));
    let header = match kept {
        Some(kept) => ProofHeader::Kept(Box::new(kept)),
        None => ProofHeader::Read(json_object(header_b64)?),
    };
    let claims = json_object(payload_b64)?;
    let signature = decode_base64url(signature_b64)
        .filter(|s| !s.is_empty())
        .ok_or(ProofFault::NotCompact)?;
    let (algorithm, thumbprint) = match &header {
        ProofHeader::Kept(kept) if settings.algorithms.contains(&kept.algorithm) => {
            (kept.algorithm, kept.thumbprint.clone())
        }
        ProofHeader::Kept(_) => return Err(ProofFault::AlgorithmNotAllowed),
        ProofHeader::Read(header) => {
            let (algorithm, jwk) = check_header(header, settings)?;
            let thumbprint = thumbprint::of(jwk).ok_or(ProofFault::UnusableKey)?;
            (algorithm, thumbprint)
        }
    };

    if claims.get("htm").and_then(Value::as_str) != Some(request.method) {
        return Err(ProofFault::MethodMismatch);
    }
    let htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .and_then(uri::normalise);
    if htu.is_none() || htu.as_deref() != request.uri {
        return Err(ProofFault::UriMismatch);
    }
    let iat = issued_at(&claims).ok_or(ProofFault::NoIssuedAt)?;
    let skew = request.clock_skew_seconds;
    if iat > request.now.saturating_add(skew) {
        return Err(ProofFault::IssuedInFuture);
    }
    let expires = iat
        .saturating_add(settings.max_age_seconds)
        .saturating_add(skew);
    if expires < request.now {
        return Err(ProofFault::TooOld);
    }
    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if !jti.is_empty() => jti,
        _ => return Err(ProofFault::NoJti),
    };
    if jti.len() > MAX_JTI_BYTES {
        return Err(ProofFault::JtiTooLong);
    }
    if claims.get("ath").and_then(Value::as_str) != Some(request.access_token_hash) {
        return Err(ProofFault::AccessTokenHashMismatch);
    }
    if let Some(period) = settings.nonce_period_seconds {
        let Some(Value::String(given)) = claims.get("nonce") else {
            return Err(ProofFault::NoNonce);
        };
        // Without the secret no nonce can be current: fail closed.
        let current = request
            .nonce_key
            .is_some_and(|key| nonce::is_current(key, given, request.now, period));
        if !current {
            return Err(ProofFault::StaleNonce);
        }
    }
    // The key and the signature last: preparing a key (an EC key's table of multiples) is the
    // costly step, and every claim above is refused as cheaply whether signed or not.
    let key = match header {
        ProofHeader::Kept(kept) => kept.key,
        // Its checks passed above; the key is the `jwk` they looked at.
        ProofHeader::Read(header) => match header.get("jwk") {
            Some(Value::Object(jwk)) => proof_key(jwk, &thumbprint, algorithm, request.keys)?,
            _ => return Err(ProofFault::NoKey),
        },
    };
    let signing_input = &proof[..header_b64.len() + 1 + payload_b64.len()];
    verify_signature(algorithm, signing_input.as_bytes(), &signature, &key)
        .map_err(|_| ProofFault::BadSignature)?;
    if let Some(mut keys) = request.keys.and_then(|keys| keys.try_borrow_mut().ok()) {
        let thumbprint = thumbprint.clone();
        keys.remember_header(
            header_b64,
            KnownHeader {
                algorithm,
                thumbprint,
                key,
            },
        );
    }
    // Refused from `expires + 1` on, so kept until then.
    let id = ProofId::new(&thumbprint, jti, expires.saturating_add(1));
    Ok(Proof { thumbprint, id })
}

/// A proof's JOSE header: kept from an earlier proof with the same header text, or read now.
enum ProofHeader {
    Kept(Box<KnownHeader>),
    Read(Map<String, Value>),
}

/// The JOSE header's checks, in the RFC's order: `typ`, `alg`, no `crit`, a public `jwk`.
fn check_header<'h>(
    header: &'h Map<String, Value>,
    settings: &DpopSettings,
) -> Result<(Algorithm, &'h Map<String, Value>), ProofFault> {
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(ProofFault::WrongType);
    }
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_name)
        .filter(|a| !a.is_symmetric() && settings.algorithms.contains(a))
        .ok_or(ProofFault::AlgorithmNotAllowed)?;
    if header.contains_key("crit") {
        return Err(ProofFault::UnsupportedCritical);
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(ProofFault::NoKey);
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(ProofFault::PrivateKey);
    }
    Ok((algorithm, jwk))
}

/// The key of `jwk` for `algorithm`: one prepared before, when `keys` has it, or prepared now.
fn proof_key(
    jwk: &Map<String, Value>,
    thumbprint: &str,
    algorithm: Algorithm,
    keys: Option<&RefCell<ProofKeys>>,
) -> Result<Key, ProofFault> {
    let prepare = || jwks::public_key(jwk).map_err(|_| ProofFault::UnusableKey);
    let kept = keys.and_then(|keys| keys.try_borrow_mut().ok());
    let key = match (kept, key_cache::lookup_key(thumbprint, jwk)) {
        (Some(mut keys), Some(lookup)) => keys.get_or_prepare(&lookup, prepare)?,
        _ => prepare()?,
    };
    if !key.verifies(algorithm) {
        return Err(ProofFault::UnusableKey);
    }
    Ok(key)
}

/// The one `DPoP` header, trimmed. A comma is never part of a compact JWS: it is two proofs
/// joined.
fn one_proof<'h>(headers: &[Header<'h>]) -> Result<&'h str, ProofFault> {
    let mut values = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("dpop"))
        .map(|&(_, value)| value.trim_matches([' ', '\t']));
    let proof = values.next().ok_or(ProofFault::Missing)?;
    if values.next().is_some() || proof.contains(',') {
        return Err(ProofFault::Multiple);
    }
    if proof.is_empty() {
        return Err(ProofFault::Missing);
    }
    Ok(proof)
}

fn json_object(part: &str) -> Result<Map<String, Value>, ProofFault> {
    let bytes = decode_base64url(part).ok_or(ProofFault::NotCompact)?;
    json::parse_object(&bytes).map_err(|e| match e {
        StrictJsonError::DuplicateMember => ProofFault::DuplicateMember,
        _ => ProofFault::NotCompact,
    })
}

/// `iat` as whole seconds: a non-negative integer (a fraction is cut, as for tokens).
fn issued_at(claims: &Map<String, Value>) -> Option<u64> {
    let iat = claims.get("iat")?;
    iat.as_u64().or_else(|| {
        iat.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.8e19)
            .map(|f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::Curve;
    use crate::jose::algorithm::KeyKind;
    use crate::jose::test_signers::{self, b64};
    use crate::proof::settings::DpopMode;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;
    const URI: &str = "https://api.example.com/orders";
    const TOKEN: &str = "header.payload.signature";
    static ATH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| access_token_hash(TOKEN));

    fn settings() -> DpopSettings {
        DpopSettings::new(DpopMode::Required, Algorithm::asymmetric(), 60, None)
    }

    fn public_jwk(kind: KeyKind) -> Value {
        let mut jwk = test_signers::jwk(kind, "unused");
        if let Some(jwk) = jwk.as_object_mut() {
            jwk.remove("kid");
        }
        jwk
    }

    fn header(algorithm: Algorithm) -> Value {
        json!({"typ": "dpop+jwt", "alg": algorithm.name(), "jwk": public_jwk(algorithm.key_kind())})
    }

    fn claims() -> Value {
        let ath = b64(Hash::Sha256.digest(TOKEN.as_bytes()));
        json!({"htm": "GET", "htu": URI, "iat": NOW, "jti": "e1j3V_bKic8-LAEB", "ath": ath})
    }

    /// A proof with `header` and `claims`, signed by `algorithm` with the test key.
    fn sign(algorithm: Algorithm, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = test_signers::sign(algorithm, input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    fn with(value: Value, member: &str, replacement: Option<Value>) -> Value {
        let mut value = value;
        if let Some(map) = value.as_object_mut() {
            match replacement {
                Some(r) => map.insert(member.into(), r),
                None => map.remove(member),
            };
        }
        value
    }

    /// `GET` of [`URI`] with [`TOKEN`] at [`NOW`], 10 s of skew, no nonce secret, no kept keys.
    fn request() -> ProofRequest<'static> {
        ProofRequest {
            method: "GET",
            uri: Some(URI),
            access_token_hash: ATH.as_str(),
            now: NOW,
            clock_skew_seconds: 10,
            nonce_key: None,
            keys: None,
        }
    }

    fn check_headers(headers: &[Header]) -> Result<Proof, ProofFault> {
        let request = request();
        check(headers, &settings(), &request)
    }

    fn check_proof(proof: &str) -> Result<Proof, ProofFault> {
        check_headers(&[(":method", "GET"), ("dpop", proof)])
    }

    fn with_claim(member: &str, value: Option<Value>) -> Result<Proof, ProofFault> {
        let algorithm = Algorithm::ES256;
        check_proof(&sign(
            algorithm,
            &header(algorithm),
            &with(claims(), member, value),
        ))
    }

    fn with_header(member: &str, value: Option<Value>) -> Result<Proof, ProofFault> {
        let algorithm = Algorithm::ES256;
        check_proof(&sign(
            algorithm,
            &with(header(algorithm), member, value),
            &claims(),
        ))
    }

    #[test]
    fn a_kept_header_is_checked_against_each_provider_and_every_claim() {
        let keys = RefCell::new(ProofKeys::default());
        let request = ProofRequest {
            keys: Some(&keys),
            ..request()
        };
        let algorithm = Algorithm::ES256;
        let proof_with = |jti: &str, claims: Value| {
            sign(
                algorithm,
                &header(algorithm),
                &with(claims, "jti", Some(json!(jti))),
            )
        };
        let first = proof_with("first", claims());
        assert!(check(&[("dpop", &first)], &settings(), &request).is_ok());
        let header_text = first.split('.').next().unwrap();
        assert!(keys.borrow_mut().header(header_text).is_some());
        // The same header text again: kept, and still refused where its algorithm is not.
        let eddsa_only = DpopSettings::new(DpopMode::Required, vec![Algorithm::EdDSA], 60, None);
        let second = proof_with("second", claims());
        assert_eq!(
            check(&[("dpop", &second)], &eddsa_only, &request),
            Err(ProofFault::AlgorithmNotAllowed)
        );
        // Its claims are checked as any proof's are, and its signature verified.
        let posted = proof_with("third", with(claims(), "htm", Some(json!("POST"))));
        assert_eq!(
            check(&[("dpop", &posted)], &settings(), &request),
            Err(ProofFault::MethodMismatch)
        );
        let (signed, _) = second.rsplit_once('.').unwrap();
        let (_, other_signature) = first.rsplit_once('.').unwrap();
        let spliced = format!("{signed}.{other_signature}");
        assert_eq!(
            check(&[("dpop", &spliced)], &settings(), &request),
            Err(ProofFault::BadSignature)
        );
        let kept = check(&[("dpop", &second)], &settings(), &request).unwrap();
        let read = check(&[("dpop", &second)], &settings(), &self::request()).unwrap();
        assert_eq!(kept, read, "a kept header gives the proof reading it gives");
    }

    #[test]
    fn a_kept_key_is_prepared_once_and_still_checks_every_signature() {
        let keys = RefCell::new(ProofKeys::default());
        let request = ProofRequest {
            keys: Some(&keys),
            ..request()
        };
        let check_with_keys = |proof: &str| check(&[("dpop", proof)], &settings(), &request);
        let algorithm = Algorithm::ES256;
        for jti in ["one", "two", "three"] {
            let proof = sign(
                algorithm,
                &header(algorithm),
                &with(claims(), "jti", Some(json!(jti))),
            );
            assert!(check_with_keys(&proof).is_ok(), "{jti}");
        }
        assert_eq!(keys.borrow().len(), 1);
        // The kept key verifies, it does not vouch: a bad signature by it is still refused.
        let proof = sign(algorithm, &header(algorithm), &claims());
        let (signed, signature) = proof.rsplit_once('.').unwrap();
        let mut forged = URL_SAFE_NO_PAD.decode(signature).unwrap();
        forged[5] ^= 1;
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(forged));
        assert_eq!(check_with_keys(&forged), Err(ProofFault::BadSignature));
        // A key of another algorithm's JWK is its own entry.
        let other = Algorithm::EdDSA;
        assert!(check_with_keys(&sign(other, &header(other), &claims())).is_ok());
        assert_eq!(keys.borrow().len(), 2);
    }

    #[test]
    fn a_proof_by_every_asymmetric_algorithm_passes_with_its_key_thumbprint() {
        for algorithm in Algorithm::asymmetric() {
            let proof = sign(algorithm, &header(algorithm), &claims());
            let passed = check_proof(&proof).unwrap_or_else(|e| panic!("{algorithm}: {e:?}"));
            let jwk = public_jwk(algorithm.key_kind());
            let expected = thumbprint::of(jwk.as_object().unwrap()).unwrap();
            assert_eq!(passed.thumbprint, expected, "{algorithm}");
            assert_eq!(
                passed.id,
                ProofId::new(&expected, "e1j3V_bKic8-LAEB", NOW + 60 + 10 + 1)
            );
        }
    }

    #[test]
    fn exactly_one_dpop_header_is_read() {
        let proof = sign(Algorithm::ES256, &header(Algorithm::ES256), &claims());
        assert!(
            check_headers(&[("DPoP", &proof)]).is_ok(),
            "any case of the name"
        );
        assert_eq!(check_headers(&[("x", "y")]), Err(ProofFault::Missing));
        assert_eq!(check_headers(&[("dpop", " ")]), Err(ProofFault::Missing));
        assert_eq!(
            check_headers(&[("dpop", &proof), ("dpop", &proof)]),
            Err(ProofFault::Multiple)
        );
        assert_eq!(
            check_headers(&[("dpop", &format!("{proof},{proof}"))]),
            Err(ProofFault::Multiple)
        );
    }

    #[test]
    fn a_proof_that_is_not_a_compact_jws_of_objects_is_refused() {
        let good = sign(Algorithm::ES256, &header(Algorithm::ES256), &claims());
        let (head, rest) = good.split_once('.').unwrap();
        for bad in [
            "a.b".to_string(),
            format!("{good}.x"),
            format!("{head}="),
            format!("{head}.{rest}="),
            format!("{}.{rest}", b64("[]")),
            format!("{head}.{}.{}", b64("null"), b64("sig")),
            format!("{}.", &good[..good.rfind('.').unwrap()]),
        ] {
            assert_eq!(check_proof(&bad), Err(ProofFault::NotCompact), "{bad}");
        }
        assert_eq!(
            check_proof(&"a".repeat(MAX_PROOF_BYTES + 1)),
            Err(ProofFault::TooLarge)
        );
        let duplicate = format!("{}.{rest}", b64(r#"{"typ":"dpop+jwt","typ":"x"}"#));
        assert_eq!(check_proof(&duplicate), Err(ProofFault::DuplicateMember));
    }

    #[test]
    fn typ_must_be_dpop_jwt() {
        for typ in [
            None,
            Some(json!("JWT")),
            Some(json!("at+jwt")),
            Some(json!(1)),
        ] {
            assert_eq!(
                with_header("typ", typ.clone()),
                Err(ProofFault::WrongType),
                "{typ:?}"
            );
        }
        assert!(with_header("typ", Some(json!("DPoP+JWT"))).is_ok());
    }

    #[test]
    fn alg_must_be_asymmetric_and_allowed() {
        for alg in [json!("none"), json!("HS256"), json!("es256"), json!(null)] {
            assert_eq!(
                with_header("alg", Some(alg.clone())),
                Err(ProofFault::AlgorithmNotAllowed),
                "{alg}"
            );
        }
        let only_eddsa = DpopSettings::new(DpopMode::Allowed, vec![Algorithm::EdDSA], 60, None);
        let proof = sign(Algorithm::ES256, &header(Algorithm::ES256), &claims());
        let request = request();
        assert_eq!(
            check(&[("dpop", &proof)], &only_eddsa, &request),
            Err(ProofFault::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn crit_is_refused() {
        assert_eq!(
            with_header("crit", Some(json!(["exp"]))),
            Err(ProofFault::UnsupportedCritical)
        );
    }

    #[test]
    fn the_jwk_must_be_a_public_key_for_the_alg() {
        assert_eq!(with_header("jwk", None), Err(ProofFault::NoKey));
        assert_eq!(
            with_header("jwk", Some(json!("key"))),
            Err(ProofFault::NoKey)
        );
        let p256 = public_jwk(KeyKind::Ec(Curve::P256));
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            let jwk = with(p256.clone(), private, Some(json!("AAAA")));
            assert_eq!(
                with_header("jwk", Some(jwk)),
                Err(ProofFault::PrivateKey),
                "{private}"
            );
        }
        let hmac = json!({"kty": "oct"});
        assert_eq!(with_header("jwk", Some(hmac)), Err(ProofFault::UnusableKey));
        let p384 = public_jwk(KeyKind::Ec(Curve::P384));
        assert_eq!(with_header("jwk", Some(p384)), Err(ProofFault::UnusableKey));
        let off_curve = with(p256.clone(), "y", Some(json!(b64([1u8; 32]))));
        assert_eq!(
            with_header("jwk", Some(off_curve)),
            Err(ProofFault::UnusableKey)
        );
        let pinned = with(p256, "alg", Some(json!("ES384")));
        assert_eq!(
            with_header("jwk", Some(pinned)),
            Err(ProofFault::UnusableKey)
        );
    }

    #[test]
    fn the_signature_must_verify_with_the_jwk() {
        let algorithm = Algorithm::ES256;
        let proof = sign(algorithm, &header(algorithm), &claims());
        let (input, _) = proof.rsplit_once('.').unwrap();
        let other =
            test_signers::sign_with(test_signers::Which::Other, algorithm, input.as_bytes());
        assert_eq!(
            check_proof(&format!("{input}.{}", b64(other))),
            Err(ProofFault::BadSignature)
        );
        let tampered = sign(algorithm, &header(algorithm), &claims()).replacen('.', ".e", 1);
        assert!(check_proof(&tampered).is_err());
    }

    #[test]
    fn htm_must_be_the_method() {
        for htm in [
            None,
            Some(json!("POST")),
            Some(json!("get")),
            Some(json!(["GET"])),
        ] {
            assert_eq!(
                with_claim("htm", htm.clone()),
                Err(ProofFault::MethodMismatch),
                "{htm:?}"
            );
        }
    }

    #[test]
    fn htu_must_be_the_request_uri_after_normalisation() {
        for htu in [
            "HTTPS://API.example.com/orders",
            "https://api.example.com:443/orders",
            "https://api.example.com/orders?page=2",
            "https://api.example.com/orders#top",
            "https://api.example.com/%6Frders",
        ] {
            assert!(with_claim("htu", Some(json!(htu))).is_ok(), "{htu}");
        }
        for htu in [
            None,
            Some(json!("https://api.example.com/orders/1")),
            Some(json!("http://api.example.com/orders")),
            Some(json!("https://api.example.com:8443/orders")),
            Some(json!("https://other.example.com/orders")),
            Some(json!("/orders")),
            Some(json!(7)),
        ] {
            assert_eq!(
                with_claim("htu", htu.clone()),
                Err(ProofFault::UriMismatch),
                "{htu:?}"
            );
        }
    }

    #[test]
    fn a_request_without_a_known_uri_matches_no_proof() {
        let proof = sign(Algorithm::ES256, &header(Algorithm::ES256), &claims());
        let request = ProofRequest {
            uri: None,
            ..request()
        };
        assert_eq!(
            check(&[("dpop", &proof)], &settings(), &request),
            Err(ProofFault::UriMismatch)
        );
    }

    #[test]
    fn iat_must_be_within_the_window_and_skew() {
        // Window 60 s, skew 10 s.
        for iat in [NOW, NOW + 10, NOW - 70, NOW - 1] {
            assert!(with_claim("iat", Some(json!(iat))).is_ok(), "{iat}");
        }
        assert_eq!(
            with_claim("iat", Some(json!(NOW + 11))),
            Err(ProofFault::IssuedInFuture)
        );
        assert_eq!(
            with_claim("iat", Some(json!(NOW - 71))),
            Err(ProofFault::TooOld)
        );
        for iat in [
            None,
            Some(json!("1700000000")),
            Some(json!(-1)),
            Some(json!(null)),
        ] {
            assert_eq!(
                with_claim("iat", iat.clone()),
                Err(ProofFault::NoIssuedAt),
                "{iat:?}"
            );
        }
    }

    #[test]
    fn jti_must_be_present_and_bounded() {
        for jti in [None, Some(json!("")), Some(json!(5))] {
            assert_eq!(
                with_claim("jti", jti.clone()),
                Err(ProofFault::NoJti),
                "{jti:?}"
            );
        }
        assert!(with_claim("jti", Some(json!("j".repeat(MAX_JTI_BYTES)))).is_ok());
        assert_eq!(
            with_claim("jti", Some(json!("j".repeat(MAX_JTI_BYTES + 1)))),
            Err(ProofFault::JtiTooLong)
        );
    }

    #[test]
    fn ath_must_hash_the_access_token() {
        let other = b64(Hash::Sha256.digest(b"another.access.token"));
        for ath in [None, Some(json!(other)), Some(json!(TOKEN))] {
            assert_eq!(
                with_claim("ath", ath.clone()),
                Err(ProofFault::AccessTokenHashMismatch),
                "{ath:?}"
            );
        }
    }

    #[test]
    fn the_expected_uri_is_the_origin_and_path() {
        assert_eq!(
            expected_uri("https://API.example.com:443", "/a").as_deref(),
            Some("https://api.example.com/a")
        );
        assert_eq!(expected_uri("http://h", "").as_deref(), Some("http://h/"));
        assert_eq!(expected_uri("gopher://h", "/a"), None);
    }
}
