//! OAuth 2.0 error responses (RFC 6749 §5.2), as Auth0 sends them.

use serde_json::{Value, json};

/// An error answer from the token endpoint: HTTP status plus the JSON body fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    /// The RFC 6749 `error` code, e.g. `invalid_client`.
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    /// 400: the DPoP proof sent with the token request fails a check (RFC 9449 §5).
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_dpop_proof", description)
    }

    /// 400: the request is missing a field or cannot be parsed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    /// 400: any grant other than client_credentials.
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(400, "unsupported_grant_type", description)
    }

    /// 401: the client is unknown or its secret is wrong.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", description)
    }

    /// 403: the client may not have this audience or scope.
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(403, "access_denied", description)
    }

    /// 413: the request body is over the size limit.
    pub fn body_too_large(limit_bytes: usize) -> Self {
        Self::new(
            413,
            "invalid_request",
            format!("request body is larger than {limit_bytes} bytes"),
        )
    }

    /// 500: the server could not finish a valid request.
    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(500, "server_error", description)
    }

    /// `{"error","error_description"}`.
    pub fn to_json(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}
