//! Verification of a JWS by code other than the IdP's own signing: jsonwebtoken for the
//! algorithms it has, the p521 crate's verifier for ES512 (which jsonwebtoken lacks). The
//! tests check the IdP's tokens with it; the token endpoint checks DPoP proofs with it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p521::elliptic_curve::sec1::EncodedPoint;
use rsa::signature::Verifier;
use serde_json::Value;

/// The claims of `token` if it verifies with `jwk` (public, or `oct` for HS256) under the
/// JOSE algorithm `alg`; expiry and audience are not checked.
pub fn verify(jwk: &Value, alg: &str, token: &str) -> Result<Value, String> {
    if alg == "ES512" {
        verify_es512(jwk, token)?;
        let payload = token.split('.').nth(1).unwrap_or_default();
        return serde_json::from_slice(&decode(payload)?).map_err(|e| e.to_string());
    }
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let algorithm: Algorithm = alg.parse().map_err(|e| format!("{alg}: {e}"))?;
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("{alg} token refused: {e}"))
}

fn verify_es512(jwk: &Value, token: &str) -> Result<(), String> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-521" {
        return Err(format!("not a P-521 key: {jwk}"));
    }
    let coordinate = |name: &str| decode(jwk[name].as_str().unwrap_or_default());
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    if x.len() != 66 || y.len() != 66 {
        return Err("P-521 coordinates are 66 bytes".into());
    }
    let point = EncodedPoint::<p521::NistP521>::from_affine_coordinates(
        x.as_slice().into(),
        y.as_slice().into(),
        false,
    );
    let key = p521::ecdsa::VerifyingKey::from_encoded_point(&point).map_err(|e| e.to_string())?;
    let (input, signature) = token.rsplit_once('.').ok_or("not a JWS")?;
    let signature =
        p521::ecdsa::Signature::from_slice(&decode(signature)?).map_err(|e| e.to_string())?;
    key.verify(input.as_bytes(), &signature)
        .map_err(|e| format!("ES512 token refused: {e}"))
}

fn decode(segment: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|e| e.to_string())
}
