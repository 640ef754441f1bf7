//! Compact JWS parsing under a strict profile: size cap before decoding, canonical base64url,
//! strict JSON (no duplicate members), `alg` on the allow-list before any key is touched,
//! no `crit` extensions. `jku`, `x5u`, `jwk` and `x5c` are never read: keys come from the
//! provider's key set only.

use crate::error::{AuthError, Malformation};
use crate::json::{self, StrictJsonError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

pub use crate::jose::algorithm::Algorithm;

/// A parsed token. The signature has not been checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Jws<'t> {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) . BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'t str,
    pub signature: Vec<u8>,
}

/// A compact JWS whose payload has not been read as claims: the JWS layer alone, for
/// signature test vectors whose payloads are arbitrary bytes. The signature has not been
/// checked yet.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactJws<'t> {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub payload: Vec<u8>,
    /// `BASE64URL(header) . BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'t str,
    pub signature: Vec<u8>,
}

/// Parses `token` for a provider that allows `algorithms` and tokens of up to `max_bytes`:
/// [`parse_compact`], then the payload as a JSON object of claims.
pub fn parse<'t>(
    token: &'t str,
    max_bytes: usize,
    algorithms: &[Algorithm],
) -> Result<Jws<'t>, AuthError> {
    let jws = parse_compact(token, max_bytes, algorithms)?;
    let claims = json_object(&jws.payload, Malformation::PayloadNotObject)?;
    Ok(Jws {
        algorithm: jws.algorithm,
        kid: jws.kid,
        claims,
        signing_input: jws.signing_input,
        signature: jws.signature,
    })
}

/// Parses `token` as a compact JWS under the strict profile, leaving the payload as bytes.
pub fn parse_compact<'t>(
    token: &'t str,
    max_bytes: usize,
    algorithms: &[Algorithm],
) -> Result<CompactJws<'t>, AuthError> {
    if token.len() > max_bytes {
        return Err(AuthError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed(Malformation::NotCompact));
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];

    let header = decode_base64url(header_b64)
        .ok_or(AuthError::Malformed(Malformation::HeaderNotBase64url))?;
    let header = json_object(&header, Malformation::HeaderNotObject)?;
    let algorithm = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::from_name(name)
            .filter(|a| algorithms.contains(a))
            .ok_or(AuthError::AlgorithmNotAllowed)?,
        Some(_) => return Err(AuthError::Malformed(Malformation::AlgNotString)),
        None => return Err(AuthError::Malformed(Malformation::NoAlg)),
    };
    if header.contains_key("crit") {
        return Err(AuthError::UnsupportedCritical);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed(Malformation::KidNotString)),
    };

    let payload = decode_base64url(payload_b64)
        .ok_or(AuthError::Malformed(Malformation::PayloadNotBase64url))?;
    let signature = decode_base64url(signature_b64)
        .ok_or(AuthError::Malformed(Malformation::SignatureNotBase64url))?;
    if signature.is_empty() {
        return Err(AuthError::Malformed(Malformation::EmptySignature));
    }
    Ok(CompactJws {
        algorithm,
        kid,
        payload,
        signing_input,
        signature,
    })
}

/// The `iss` a token claims, read without any check: only to tell which provider a token
/// that failed to parse was meant for, so the refusal names the right reason. Never trusted.
pub fn unverified_issuer(token: &str) -> Option<String> {
    if token.len() > MAX_PEEK_BYTES {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let claims = json::parse_object(&decode_base64url(payload)?).ok()?;
    match claims.get("iss") {
        Some(Value::String(iss)) => Some(iss.clone()),
        _ => None,
    }
}

/// Tokens longer than any provider may accept are not even peeked at.
const MAX_PEEK_BYTES: usize = 64 * 1024;

/// `bytes` as one JSON object without duplicate members; `not_object` says which part it is.
fn json_object(bytes: &[u8], not_object: Malformation) -> Result<Map<String, Value>, AuthError> {
    json::parse_object(bytes).map_err(|e| match e {
        StrictJsonError::DuplicateMember => AuthError::DuplicateMember,
        StrictJsonError::Syntax | StrictJsonError::NotAnObject => AuthError::Malformed(not_object),
    })
}

/// Canonical unpadded base64url only: no padding, no whitespace, no stray trailing bits,
/// so each token has exactly one encoding.
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_can_be_peeked_at_without_a_valid_token() {
        let t = format!(
            "{}.{}.",
            b64(r#"{"alg":"none"}"#),
            b64(r#"{"iss":"https://a/"}"#)
        );
        assert_eq!(unverified_issuer(&t).as_deref(), Some("https://a/"));
        assert_eq!(unverified_issuer("x.y.z"), None);
        let t = format!("h.{}.s", b64(r#"{"iss":1}"#));
        assert_eq!(unverified_issuer(&t), None);
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    const RS: &[Algorithm] = &[Algorithm::RS256];
    const HEADER: &str = r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#;

    #[test]
    fn well_formed_token_parses() {
        let t = token(HEADER, r#"{"iss":"x"}"#);
        let jws = parse(&t, 8192, RS).unwrap();
        assert_eq!(jws.algorithm, Algorithm::RS256);
        assert_eq!(jws.kid.as_deref(), Some("k1"));
        assert_eq!(jws.claims["iss"], "x");
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.signing_input, &t[..t.rfind('.').unwrap()]);
    }

    #[test]
    fn the_jws_layer_takes_any_payload_bytes() {
        let t = format!("{}.{}.{}", b64(HEADER), b64("foo"), b64("sig"));
        let jws = parse_compact(&t, 8192, RS).unwrap();
        assert_eq!(jws.payload, b"foo");
        assert_eq!(jws.kid.as_deref(), Some("k1"));
        assert_eq!(jws.signing_input, &t[..t.rfind('.').unwrap()]);
        assert_eq!(
            parse(&t, 8192, RS),
            Err(AuthError::Malformed(Malformation::PayloadNotObject))
        );
        let empty = format!("{}..{}", b64(HEADER), b64("sig"));
        assert_eq!(parse_compact(&empty, 8192, RS).unwrap().payload, b"");
    }

    #[test]
    fn oversized_token_is_refused_before_decoding() {
        let t = "x".repeat(9000);
        assert_eq!(parse(&t, 8192, RS), Err(AuthError::TooLarge));
    }

    #[test]
    fn wrong_number_of_parts_is_malformed() {
        for t in ["a.b", "a.b.c.d", "abc", "", "a.b.c.d.e"] {
            assert!(
                matches!(parse(t, 8192, RS), Err(AuthError::Malformed(_))),
                "{t}"
            );
        }
    }

    #[test]
    fn none_and_hmac_and_lowercase_are_not_allowed() {
        for alg in [
            "none", "None", "NONE", "HS256", "rs256", "RS384", "PS256", "",
        ] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(
                parse(&t, 8192, RS),
                Err(AuthError::AlgorithmNotAllowed),
                "{alg}"
            );
        }
    }

    #[test]
    fn missing_or_non_string_alg_is_malformed() {
        assert_eq!(
            parse(&token(r#"{"kid":"a"}"#, "{}"), 8192, RS),
            Err(AuthError::Malformed(Malformation::NoAlg))
        );
        assert_eq!(
            parse(&token(r#"{"alg":["RS256"]}"#, "{}"), 8192, RS),
            Err(AuthError::Malformed(Malformation::AlgNotString))
        );
    }

    #[test]
    fn any_crit_member_is_refused() {
        for crit in [r#"["exp"]"#, "[]", r#""b64""#] {
            let t = token(&format!(r#"{{"alg":"RS256","crit":{crit}}}"#), "{}");
            assert_eq!(
                parse(&t, 8192, RS),
                Err(AuthError::UnsupportedCritical),
                "{crit}"
            );
        }
    }

    #[test]
    fn duplicate_members_are_refused_in_header_and_payload() {
        let dup_header = token(r#"{"alg":"RS256","alg":"RS256"}"#, "{}");
        assert_eq!(
            parse(&dup_header, 8192, RS),
            Err(AuthError::DuplicateMember)
        );
        let dup_payload = token(HEADER, r#"{"sub":"a","sub":"b"}"#);
        assert_eq!(
            parse(&dup_payload, 8192, RS),
            Err(AuthError::DuplicateMember)
        );
    }

    #[test]
    fn key_headers_are_ignored() {
        let t = token(
            r#"{"alg":"RS256","jku":"https://evil/jwks","x5u":"https://evil","jwk":{"kty":"RSA"},"x5c":["AA"]}"#,
            "{}",
        );
        let jws = parse(&t, 8192, RS).unwrap();
        assert_eq!(jws.kid, None);
    }

    #[test]
    fn non_canonical_base64_is_malformed() {
        let good = token(HEADER, "{}");
        let (h, rest) = good.split_once('.').unwrap();
        for bad in [
            format!("{h}=.{rest}"),
            format!("{h} .{rest}"),
            format!("{}+.{rest}", &h[..h.len() - 1]),
            format!("{h}.{rest}="),
        ] {
            assert!(
                matches!(parse(&bad, 8192, RS), Err(AuthError::Malformed(_))),
                "{bad}"
            );
        }
        // "QQ" decodes to 'A'; "QR" has stray trailing bits and must not decode to the same byte.
        assert_eq!(decode_base64url("QQ"), Some(b"A".to_vec()));
        assert_eq!(decode_base64url("QR"), None);
    }

    #[test]
    fn payload_must_be_a_json_object() {
        for payload in ["[]", "\"x\"", "{", "null"] {
            assert_eq!(
                parse(&token(HEADER, payload), 8192, RS),
                Err(AuthError::Malformed(Malformation::PayloadNotObject)),
                "{payload}"
            );
        }
    }

    #[test]
    fn empty_signature_is_malformed() {
        let t = format!("{}.{}.", b64(HEADER), b64("{}"));
        assert_eq!(
            parse(&t, 8192, RS),
            Err(AuthError::Malformed(Malformation::EmptySignature))
        );
    }

    #[test]
    fn non_string_kid_is_malformed() {
        let t = token(r#"{"alg":"RS256","kid":7}"#, "{}");
        assert_eq!(
            parse(&t, 8192, RS),
            Err(AuthError::Malformed(Malformation::KidNotString))
        );
    }
}
