//! Reads the parameters of a `POST /oauth/token` from its body and headers.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::oauth_error::OAuthError;

/// The token-request parameters, wherever the client put them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub audience: Option<String>,
    /// Space-delimited scopes the client asks for; `None` asks for all it is granted.
    pub scope: Option<String>,
    /// The thumbprint of the key a DPoP proof with the request proved (RFC 9449 §5): the
    /// token is bound to it.
    pub dpop_jkt: Option<String>,
    /// The SHA-256 thumbprint (base64url) of the client certificate the request came with
    /// over mutual TLS (RFC 8705 §3): the token is bound to it.
    pub certificate_thumbprint: Option<String>,
}

impl fmt::Debug for TokenParams {
    /// Redacts the secret so a stray `{:?}` can't leak it into a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenParams")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Parses a JSON or form body, then takes client credentials from HTTP Basic
/// auth when the `Authorization` header carries them.
pub fn parse_token_request(
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<TokenParams, OAuthError> {
    let mut params = match media_type(content_type).as_deref() {
        Some("application/json") => parse_json_body(body)?,
        Some("application/x-www-form-urlencoded") => parse_form_body(body)?,
        _ => {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    if let Some((client_id, client_secret)) = basic_credentials(authorization)? {
        // RFC 6749 §2.3: a client must use only one authentication method per request.
        if params.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client credentials were sent both in the body and with Basic auth",
            ));
        }
        if params.client_id.as_ref().is_some_and(|id| *id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the one in Basic auth",
            ));
        }
        params.client_id = Some(client_id);
        params.client_secret = Some(client_secret);
    }
    Ok(params)
}

/// The media type without parameters, lower-cased: `Application/JSON; charset=utf-8` → `application/json`.
fn media_type(content_type: Option<&str>) -> Option<String> {
    let value = content_type?;
    let essence = value.split(';').next().unwrap_or(value);
    Some(essence.trim().to_ascii_lowercase())
}

fn parse_json_body(body: &[u8]) -> Result<TokenParams, OAuthError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| OAuthError::invalid_request(format!("body is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(OAuthError::invalid_request("body must be a JSON object"));
    };
    let field = |name: &str| -> Result<Option<String>, OAuthError> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(OAuthError::invalid_request(format!(
                "{name} must be a string"
            ))),
        }
    };
    Ok(TokenParams {
        grant_type: field("grant_type")?,
        client_id: field("client_id")?,
        client_secret: field("client_secret")?,
        audience: field("audience")?,
        scope: field("scope")?,
        dpop_jkt: None,
        certificate_thumbprint: None,
    })
}

fn parse_form_body(body: &[u8]) -> Result<TokenParams, OAuthError> {
    let mut params = TokenParams::default();
    for (name, value) in form_urlencoded::parse(body) {
        let slot = match name.as_ref() {
            "grant_type" => &mut params.grant_type,
            "client_id" => &mut params.client_id,
            "client_secret" => &mut params.client_secret,
            "audience" => &mut params.audience,
            "scope" => &mut params.scope,
            _ => continue, // RFC 6749 §3.2: unrecognised parameters are ignored
        };
        // RFC 6749 §3.2: parameters must not be repeated.
        if slot.replace(value.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} appears more than once"
            )));
        }
    }
    Ok(params)
}

/// `Basic base64(id:secret)` → `(id, secret)`; other schemes carry no client credentials.
fn basic_credentials(authorization: Option<&str>) -> Result<Option<(String, String)>, OAuthError> {
    let Some((scheme, encoded)) = authorization.and_then(|v| v.trim().split_once(' ')) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = || OAuthError::invalid_client("malformed Basic authorization header");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn json_body_fields_are_read() {
        let body = br#"{"grant_type":"client_credentials","client_id":"a","client_secret":"b","audience":"c","scope":"d e","extra":1}"#;
        let params = parse_token_request(JSON, None, body).unwrap();
        assert_eq!(params.grant_type.as_deref(), Some("client_credentials"));
        assert_eq!(params.client_id.as_deref(), Some("a"));
        assert_eq!(params.client_secret.as_deref(), Some("b"));
        assert_eq!(params.audience.as_deref(), Some("c"));
        assert_eq!(params.scope.as_deref(), Some("d e"));
    }

    #[test]
    fn form_body_fields_are_percent_decoded() {
        let body = b"grant_type=client_credentials&client_id=a&client_secret=b%26c&audience=https%3A%2F%2Fapi&scope=read+write";
        let params = parse_token_request(FORM, None, body).unwrap();
        assert_eq!(params.client_secret.as_deref(), Some("b&c"));
        assert_eq!(params.audience.as_deref(), Some("https://api"));
        assert_eq!(params.scope.as_deref(), Some("read write"));
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        let params = parse_token_request(Some("Application/JSON; charset=utf-8"), None, b"{}");
        assert_eq!(params, Ok(TokenParams::default()));
    }

    #[test]
    fn other_content_type_is_invalid_request() {
        let err = parse_token_request(Some("text/plain"), None, b"{}").unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
        let err = parse_token_request(None, None, b"{}").unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
    }

    #[test]
    fn malformed_json_is_invalid_request() {
        for body in [&b"{"[..], b"[]", br#"{"audience":5}"#] {
            let err = parse_token_request(JSON, None, body).unwrap_err();
            assert_eq!(
                (err.status, err.error),
                (400, "invalid_request"),
                "{body:?}"
            );
        }
    }

    #[test]
    fn repeated_form_parameter_is_invalid_request() {
        let err = parse_token_request(FORM, None, b"audience=a&audience=b").unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
        assert!(err.description.contains("audience"));
    }

    #[test]
    fn basic_auth_supplies_the_client_credentials() {
        let auth = basic("demo-client", "s:e:cret");
        let params = parse_token_request(JSON, Some(&auth), b"{}").unwrap();
        assert_eq!(params.client_id.as_deref(), Some("demo-client"));
        assert_eq!(params.client_secret.as_deref(), Some("s:e:cret"));
    }

    #[test]
    fn basic_auth_with_matching_body_client_id_is_accepted() {
        let auth = basic("a", "b");
        let params = parse_token_request(FORM, Some(&auth), b"client_id=a").unwrap();
        assert_eq!(params.client_secret.as_deref(), Some("b"));
    }

    #[test]
    fn two_authentication_methods_are_invalid_request() {
        let auth = basic("a", "b");
        let err = parse_token_request(FORM, Some(&auth), b"client_secret=b").unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
        let err = parse_token_request(FORM, Some(&auth), b"client_id=other").unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_request"));
    }

    #[test]
    fn malformed_basic_auth_is_invalid_client() {
        for header in ["Basic !!!", "Basic bm9jb2xvbg=="] {
            let err = parse_token_request(JSON, Some(header), b"{}").unwrap_err();
            assert_eq!((err.status, err.error), (401, "invalid_client"), "{header}");
        }
    }

    #[test]
    fn bearer_authorization_is_not_client_authentication() {
        let params = parse_token_request(JSON, Some("Bearer abc"), b"{}").unwrap();
        assert_eq!(params.client_id, None);
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let params = TokenParams {
            client_secret: Some("hunter2".to_owned()),
            ..TokenParams::default()
        };
        let shown = format!("{params:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
