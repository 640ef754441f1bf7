//! The client-credentials grant: decides whether a token request succeeds and
//! what the access token says. Pure apart from signing; the caller passes `now`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::config::IdpConfig;
use crate::oauth_error::OAuthError;
use crate::signing_key::SigningKey;
use crate::token_request::TokenParams;

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    /// The granted scopes, space-joined.
    pub scope: String,
    /// `Bearer`, or `DPoP` for a token bound to a DPoP key.
    pub token_type: &'static str,
}

impl TokenResponse {
    /// `{"access_token","token_type","expires_in","scope"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        })
    }
}

/// Runs the client-credentials grant and signs the access token with `key_for(audience)`,
/// the key of the API the token is for.
pub fn client_credentials(
    config: &IdpConfig,
    issuer: &str,
    key_for: impl FnOnce(&str) -> Result<Arc<SigningKey>, String>,
    params: &TokenParams,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    match params.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant type {other:?} is not supported; use client_credentials"
            )));
        }
        None => return Err(OAuthError::invalid_request("missing grant_type")),
    }
    let audience = params
        .audience
        .as_deref()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("missing audience"))?;
    let client_id = authenticate(config, params)?;
    let scopes = granted_scopes(config, client_id, audience, params.scope.as_deref())?;

    let mut claims = access_token_claims(
        issuer,
        client_id,
        audience,
        &scopes,
        now,
        config.token_lifetime_secs,
    );
    if let Some(jkt) = &params.dpop_jkt {
        claims["cnf"]["jkt"] = json!(jkt);
    }
    if let Some(x5t) = &params.certificate_thumbprint {
        claims["cnf"]["x5t#S256"] = json!(x5t);
    }
    let access_token = key_for(audience)
        .and_then(|key| key.mint(&claims))
        .map_err(OAuthError::server_error)?;
    Ok(TokenResponse {
        access_token,
        expires_in: config.token_lifetime_secs,
        scope: scopes.join(" "),
        token_type: if params.dpop_jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
    })
}

/// The claims of an Auth0 client-credentials access token.
pub fn access_token_claims(
    issuer: &str,
    client_id: &str,
    audience: &str,
    scopes: &[String],
    now: u64,
    lifetime_secs: u64,
) -> Value {
    json!({
        "iss": issuer,
        "sub": format!("{client_id}@clients"),
        "aud": audience,
        "iat": now,
        "exp": now.saturating_add(lifetime_secs),
        "azp": client_id,
        "gty": "client-credentials",
        "scope": scopes.join(" "),
        "permissions": scopes,
    })
}

/// Returns the authenticated client id. Unknown client and wrong secret get the
/// same answer so a caller can't probe which client ids exist.
fn authenticate<'a>(config: &'a IdpConfig, params: &TokenParams) -> Result<&'a str, OAuthError> {
    let (Some(client_id), Some(secret)) = (&params.client_id, &params.client_secret) else {
        return Err(OAuthError::invalid_client(
            "client authentication required: send client_id and client_secret, or HTTP Basic auth",
        ));
    };
    let client = config.client(client_id);
    let expected = client.map_or("", |c| c.client_secret.as_str());
    match client {
        Some(client) if secrets_match(secret, expected) => Ok(&client.client_id),
        _ => Err(OAuthError::invalid_client(
            "unknown client or wrong client secret",
        )),
    }
}

/// The scopes to put in the token: all granted ones, or the requested subset.
fn granted_scopes(
    config: &IdpConfig,
    client_id: &str,
    audience: &str,
    requested: Option<&str>,
) -> Result<Vec<String>, OAuthError> {
    let grant = config
        .client(client_id)
        .and_then(|c| c.grant_for(audience))
        .ok_or_else(|| {
            OAuthError::access_denied(format!(
                "client {client_id} is not authorized to access audience {audience}"
            ))
        })?;
    let mut wanted: Vec<String> = Vec::new();
    for scope in requested.unwrap_or("").split_whitespace() {
        if !wanted.iter().any(|w| w == scope) {
            wanted.push(scope.to_owned());
        }
    }
    if wanted.is_empty() {
        return Ok(grant.scopes.clone());
    }
    let refused: Vec<&str> = wanted
        .iter()
        .map(String::as_str)
        .filter(|s| !grant.scopes.iter().any(|g| g == s))
        .collect();
    if !refused.is_empty() {
        return Err(OAuthError::access_denied(format!(
            "client {client_id} is not granted scope {} for audience {audience}",
            refused.join(" ")
        )));
    }
    Ok(wanted)
}

/// Compares every byte whatever the first difference, so response time does
/// not reveal how much of a guessed secret was right.
fn secrets_match(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = given.len() ^ expected.len();
    for i in 0..given.len().max(expected.len()) {
        let a = given.get(i).copied().unwrap_or(0);
        let b = expected.get(i).copied().unwrap_or(0);
        difference |= usize::from(a ^ b);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::SigningAlgorithm;
    use crate::config::DEFAULT_AUDIENCE;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::sync::OnceLock;

    const ISSUER: &str = "https://idp.test/";
    const NOW: u64 = 1_700_000_000;

    fn key() -> &'static Arc<SigningKey> {
        static KEY: OnceLock<Arc<SigningKey>> = OnceLock::new();
        KEY.get_or_init(|| Arc::new(SigningKey::generate(SigningAlgorithm::Es256, "k1").unwrap()))
    }

    fn key_for(audience: &str) -> Result<Arc<SigningKey>, String> {
        assert_eq!(
            audience, DEFAULT_AUDIENCE,
            "the key of the requested audience"
        );
        Ok(Arc::clone(key()))
    }

    fn params(client_id: &str, secret: &str, scope: Option<&str>) -> TokenParams {
        TokenParams {
            grant_type: Some("client_credentials".to_owned()),
            client_id: Some(client_id.to_owned()),
            client_secret: Some(secret.to_owned()),
            audience: Some(DEFAULT_AUDIENCE.to_owned()),
            scope: scope.map(str::to_owned),
            dpop_jkt: None,
            certificate_thumbprint: None,
        }
    }

    fn run(params: &TokenParams) -> Result<TokenResponse, OAuthError> {
        client_credentials(&IdpConfig::default(), ISSUER, key_for, params, NOW)
    }

    fn error_of(params: &TokenParams) -> (u16, &'static str, String) {
        let err = run(params).unwrap_err();
        (err.status, err.error, err.description)
    }

    fn payload(token: &str) -> Value {
        let segment = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn demo_client_gets_all_granted_scopes_by_default() {
        let response = run(&params("demo-client", "demo-secret", None)).unwrap();
        assert_eq!(response.scope, "read:messages write:messages");
        assert_eq!(response.expires_in, 86_400);
        let json = response.to_json();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 86_400);
    }

    #[test]
    fn access_token_has_the_auth0_claims() {
        let response = run(&params("demo-client", "demo-secret", None)).unwrap();
        assert_eq!(
            payload(&response.access_token),
            json!({
                "iss": ISSUER,
                "sub": "demo-client@clients",
                "aud": DEFAULT_AUDIENCE,
                "iat": NOW,
                "exp": NOW + 86_400,
                "azp": "demo-client",
                "gty": "client-credentials",
                "scope": "read:messages write:messages",
                "permissions": ["read:messages", "write:messages"],
            })
        );
    }

    #[test]
    fn the_token_is_signed_with_the_key_of_its_audience() {
        let response = run(&params("demo-client", "demo-secret", None)).unwrap();
        let header = response.access_token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
    }

    #[test]
    fn a_key_that_cannot_be_had_is_a_server_error() {
        let p = params("demo-client", "demo-secret", None);
        let err = client_credentials(
            &IdpConfig::default(),
            ISSUER,
            |_| Err("no key".to_owned()),
            &p,
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            (err.status, err.error, err.description.as_str()),
            (500, "server_error", "no key")
        );
    }

    #[test]
    fn requested_scope_subset_is_granted_alone() {
        let response = run(&params(
            "demo-client",
            "demo-secret",
            Some(" read:messages "),
        ))
        .unwrap();
        assert_eq!(response.scope, "read:messages");
        assert_eq!(
            payload(&response.access_token)["permissions"],
            json!(["read:messages"])
        );
    }

    #[test]
    fn repeated_requested_scope_appears_once() {
        let scope = Some("write:messages read:messages write:messages");
        let response = run(&params("demo-client", "demo-secret", scope)).unwrap();
        assert_eq!(response.scope, "write:messages read:messages");
    }

    #[test]
    fn empty_scope_asks_for_everything_granted() {
        let response = run(&params("limited-client", "limited-secret", Some(""))).unwrap();
        assert_eq!(response.scope, "read:profile");
    }

    #[test]
    fn ungranted_scope_is_access_denied_naming_the_scope() {
        let (status, error, description) = error_of(&params(
            "limited-client",
            "limited-secret",
            Some("read:profile write:messages"),
        ));
        assert_eq!((status, error), (403, "access_denied"));
        assert!(description.contains("write:messages"), "{description}");
        assert!(!description.contains("read:profile"), "{description}");
    }

    #[test]
    fn wrong_secret_is_invalid_client() {
        let (status, error, _) = error_of(&params("demo-client", "demo-secreT", None));
        assert_eq!((status, error), (401, "invalid_client"));
    }

    #[test]
    fn unknown_client_is_invalid_client_with_the_same_message() {
        let unknown = error_of(&params("nobody", "demo-secret", None));
        let wrong_secret = error_of(&params("demo-client", "x", None));
        assert_eq!((unknown.0, unknown.1), (401, "invalid_client"));
        assert_eq!(unknown.2, wrong_secret.2);
    }

    #[test]
    fn missing_credentials_are_invalid_client() {
        let mut p = params("demo-client", "demo-secret", None);
        p.client_secret = None;
        assert_eq!(error_of(&p).0, 401);
        let mut p = params("demo-client", "demo-secret", None);
        p.client_id = None;
        assert_eq!(error_of(&p).1, "invalid_client");
    }

    #[test]
    fn other_grant_type_is_unsupported_grant_type() {
        let mut p = params("demo-client", "demo-secret", None);
        p.grant_type = Some("password".to_owned());
        let (status, error, _) = error_of(&p);
        assert_eq!((status, error), (400, "unsupported_grant_type"));
    }

    #[test]
    fn missing_grant_type_is_invalid_request() {
        let mut p = params("demo-client", "demo-secret", None);
        p.grant_type = None;
        assert_eq!(error_of(&p).1, "invalid_request");
    }

    #[test]
    fn missing_audience_is_invalid_request() {
        let mut p = params("demo-client", "demo-secret", None);
        p.audience = None;
        let (status, error, description) = error_of(&p);
        assert_eq!((status, error), (400, "invalid_request"));
        assert!(description.contains("audience"));
    }

    #[test]
    fn ungranted_audience_is_access_denied() {
        let mut p = params("demo-client", "demo-secret", None);
        p.audience = Some("https://other.example.com".to_owned());
        let (status, error, description) = error_of(&p);
        assert_eq!((status, error), (403, "access_denied"));
        assert!(description.contains("https://other.example.com"));
    }

    #[test]
    fn expiry_is_now_plus_configured_lifetime() {
        let config = IdpConfig {
            token_lifetime_secs: 60,
            ..IdpConfig::default()
        };
        let p = params("demo-client", "demo-secret", None);
        let response = client_credentials(&config, ISSUER, key_for, &p, 1000).unwrap();
        assert_eq!(response.expires_in, 60);
        let claims = payload(&response.access_token);
        assert_eq!(
            (claims["iat"].as_u64(), claims["exp"].as_u64()),
            (Some(1000), Some(1060))
        );
    }

    #[test]
    fn secrets_match_only_when_identical() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
        assert!(!secrets_match("", "a"));
        assert!(secrets_match("", ""));
    }
}
