//! Maps a request to its answer, applying any injected fault.

use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

use crate::dpop_proof;
use crate::fault::Fault;
use crate::http::{HttpRequest, HttpResponse, Reply};
use crate::oauth_error::OAuthError;
use crate::state::IdpState;
use crate::token::client_credentials;
use crate::token_request::parse_token_request;

pub const TOKEN_PATH: &str = "/oauth/token";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

pub(crate) fn route(state: &IdpState, request: &HttpRequest, now: u64) -> Reply {
    let method = request.method.as_str();
    match request.path.as_str() {
        TOKEN_PATH if method == "POST" => Reply::Respond(token(state, request, now)),
        TOKEN_PATH => Reply::Respond(method_not_allowed("POST")),
        JWKS_PATH if method == "GET" => {
            state.count_jwks_request();
            with_fault(state, state.fault(), || state.jwks())
        }
        DISCOVERY_PATH if method == "GET" => {
            state.count_discovery_request();
            with_fault(state, state.discovery_fault(), || {
                discovery_document(&state.issuer)
            })
        }
        JWKS_PATH | DISCOVERY_PATH => Reply::Respond(method_not_allowed("GET")),
        path => Reply::Respond(HttpResponse::error(
            404,
            "not_found",
            &format!("no such endpoint: {path}"),
        )),
    }
}

fn token(state: &IdpState, request: &HttpRequest, now: u64) -> HttpResponse {
    let result = parse_token_request(
        request.header("content-type"),
        request.header("authorization"),
        &request.body,
    )
    .and_then(|mut params| {
        if let Some(proof) = request.header("dpop") {
            params.dpop_jkt = Some(dpop_key(state, request, proof, now)?);
        }
        params.certificate_thumbprint = request.client_certificate().map(|der| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
        });
        let key_for = |audience: &str| state.signing_key_for(audience);
        client_credentials(&state.config, &state.issuer, key_for, &params, now)
    });
    match result {
        Ok(token) => HttpResponse::json(200, &token.to_json()),
        Err(err) => HttpResponse::json(err.status, &err.to_json()),
    }
}

/// The key a token request's DPoP proof binds the token to. Its `htu` is this token endpoint
/// under the issuer's URL or under the `Host` the client reached (they differ when the issuer
/// is configured, as in the compose demo).
fn dpop_key(
    state: &IdpState,
    request: &HttpRequest,
    proof: &str,
    now: u64,
) -> Result<String, OAuthError> {
    let by_issuer = format!("{}{}", state.issuer, &TOKEN_PATH[1..]);
    let scheme = state.issuer.split("://").next().unwrap_or("http");
    let host = request.header("host").unwrap_or_default();
    let by_host = format!("{scheme}://{host}{TOKEN_PATH}");
    dpop_proof::bound_key(proof, &[&by_issuer, &by_host], now)
}

/// Serves `document` unless a fault says otherwise.
fn with_fault(state: &IdpState, fault: Fault, document: impl FnOnce() -> Value) -> Reply {
    match fault {
        Fault::None => Reply::Respond(HttpResponse::json(200, &document())),
        Fault::Status(status) => Reply::Respond(HttpResponse::error(
            status,
            "injected_fault",
            &format!("devidp was told to answer {status}"),
        )),
        Fault::Body { content_type, body } => Reply::Respond(HttpResponse {
            status: 200,
            content_type,
            extra_headers: Vec::new(),
            body,
        }),
        Fault::Delay(delay) => {
            state.sleep_unless_stopping(delay);
            Reply::Respond(HttpResponse::json(200, &document()))
        }
        Fault::Close => Reply::Close,
        Fault::Huge(body) => Reply::Stream(body),
    }
}

/// The OIDC discovery document for a client-credentials-only tenant.
pub fn discovery_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}{}", &JWKS_PATH[1..]),
        "token_endpoint": format!("{issuer}{}", &TOKEN_PATH[1..]),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    })
}

fn method_not_allowed(allowed: &str) -> HttpResponse {
    HttpResponse::error(
        405,
        "method_not_allowed",
        &format!("this endpoint only accepts {allowed}"),
    )
    .with_header("Allow", allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_document_points_below_the_issuer() {
        let doc = discovery_document("https://idp.test/");
        assert_eq!(doc["jwks_uri"], "https://idp.test/.well-known/jwks.json");
        assert_eq!(doc["token_endpoint"], "https://idp.test/oauth/token");
        assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["client_secret_post", "client_secret_basic"])
        );
    }
}
