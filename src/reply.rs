//! The local reply that refuses a request, in the form its client reads.
//!
//! An HTTP client gets the status, the challenge and a JSON body. A gRPC client reads neither
//! statuses nor bodies, only `grpc-status` and `grpc-message`: Envoy answers a gRPC request's
//! local reply as a trailers-only gRPC response, with `grpc-status` mapped from the HTTP status
//! (401 to 16 UNAUTHENTICATED, 403 to 7 PERMISSION_DENIED, 503 to 14 UNAVAILABLE, 400 to 13
//! INTERNAL) and the body, percent-encoded, as `grpc-message`. So a gRPC refusal's body is the
//! description alone, as native `jwt_authn` sends it; the headers (the challenge above all)
//! reach the client as response metadata.

use crate::error::{AuthError, Schemes};

/// Who reads the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Any request that is not gRPC.
    Http,
    /// A gRPC request: `content-type: application/grpc`, `application/grpc+proto`,
    /// `application/grpc+json` and the like. gRPC-Web arrives here as gRPC when Envoy's
    /// `grpc_web` filter runs first (it rewrites the content-type).
    Grpc,
    /// Anyone, when the configuration strips refusals (`strip_failure_response`): the status
    /// and the headers a client acts on (`retry-after`, `dpop-nonce`), no body, no challenge.
    Stripped,
}

impl Client {
    /// The client of a request with this `content-type` (none: HTTP). Matched as Envoy
    /// matches a gRPC request: exactly `application/grpc`, or followed by `+` or `;`.
    pub fn from_content_type(content_type: Option<&[u8]>) -> Client {
        const GRPC: &[u8] = b"application/grpc";
        match content_type.and_then(|value| value.strip_prefix(GRPC)) {
            Some([] | [b'+' | b';', ..]) => Client::Grpc,
            _ => Client::Http,
        }
    }
}

/// A local reply: what the host is asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// The reply refusing a request of `client` with `error`, for a provider taking `Bearer`
/// tokens only.
pub fn refusal(error: &AuthError, realm: &str, client: Client) -> Reply {
    refusal_with(
        error,
        &error.challenges(realm, Schemes::Bearer),
        None,
        client,
    )
}

/// The reply refusing a request of `client` with `error` and its `challenges`, one
/// `WWW-Authenticate` header each, and a fresh `DPoP-Nonce` when the error asks for one.
pub fn refusal_with(
    error: &AuthError,
    challenges: &[String],
    dpop_nonce: Option<String>,
    client: Client,
) -> Reply {
    let mut headers = Vec::with_capacity(4);
    let body = match client {
        Client::Http => {
            headers.push(("content-type", "application/json".to_string()));
            error.body()
        }
        // No content-type: Envoy sets `application/grpc` (or `text/plain` if it would not
        // treat the request as gRPC, and the description then reads as plain text).
        Client::Grpc => error.description().into_owned(),
        Client::Stripped => String::new(),
    };
    headers.push(("cache-control", "no-store".to_string()));
    if client != Client::Stripped {
        for challenge in challenges {
            headers.push(("www-authenticate", challenge.clone()));
        }
    }
    if let Some(nonce) = dpop_nonce {
        headers.push(("dpop-nonce", nonce));
    }
    if let Some(seconds) = error.retry_after() {
        headers.push(("retry-after", seconds.to_string()));
    }
    Reply {
        status: error.status(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(content_type: &str) -> Client {
        Client::from_content_type(Some(content_type.as_bytes()))
    }

    #[test]
    fn grpc_content_types_are_grpc() {
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "application/grpc;charset=utf-8",
        ] {
            assert_eq!(client(grpc), Client::Grpc, "{grpc}");
        }
    }

    #[test]
    fn other_content_types_are_http() {
        for http in [
            "application/json",
            "application/grpc-web",
            "application/grpc-web+proto",
            "application/grpc-web-text",
            "application/grpcx",
            "Application/gRPC",
            " application/grpc",
            "",
        ] {
            assert_eq!(client(http), Client::Http, "{http:?}");
        }
        assert_eq!(Client::from_content_type(None), Client::Http);
    }

    #[test]
    fn http_refusal_is_json_with_the_challenge() {
        let reply = refusal(&AuthError::Missing, "api", Client::Http);
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.headers,
            vec![
                ("content-type", "application/json".to_string()),
                ("cache-control", "no-store".to_string()),
                ("www-authenticate", "Bearer realm=\"api\"".to_string()),
            ]
        );
        assert_eq!(
            reply.body,
            r#"{"error":"missing_token","error_description":"Jwt is missing"}"#
        );
    }

    #[test]
    fn grpc_refusal_is_the_description_with_the_challenge() {
        let reply = refusal(&AuthError::Expired, "api", Client::Grpc);
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.headers,
            vec![
                ("cache-control", "no-store".to_string()),
                (
                    "www-authenticate",
                    "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"Jwt is expired\""
                        .to_string()
                ),
            ]
        );
        assert_eq!(reply.body, "Jwt is expired");
    }

    #[test]
    fn grpc_refusal_keeps_retry_after() {
        let reply = refusal(&AuthError::KeysUnavailable, "api", Client::Grpc);
        assert_eq!(reply.status, 503);
        assert_eq!(
            reply.headers,
            vec![
                ("cache-control", "no-store".to_string()),
                ("retry-after", "5".to_string()),
            ]
        );
        assert_eq!(reply.body, "Jwks is not available from the issuer");
    }

    #[test]
    fn every_refusal_has_a_body_for_both_clients() {
        // Envoy sets `grpc-message` only from a body that is not empty.
        for error in AuthError::every_kind() {
            for client in [Client::Http, Client::Grpc] {
                assert!(!refusal(&error, "api", client).body.is_empty(), "{error:?}");
            }
        }
    }

    #[test]
    fn a_stripped_refusal_keeps_its_status_and_what_a_client_acts_on() {
        let reply = refusal(&AuthError::KeysUnavailable, "api", Client::Stripped);
        assert_eq!(reply.status, 503);
        assert_eq!(reply.body, "");
        assert_eq!(
            reply.headers,
            vec![
                ("cache-control", "no-store".to_string()),
                ("retry-after", "5".to_string())
            ]
        );
        let reply = refusal(&AuthError::Expired, "api", Client::Stripped);
        assert_eq!((reply.status, reply.body.as_str()), (401, ""));
        assert_eq!(
            reply.headers,
            vec![("cache-control", "no-store".to_string())]
        );
    }
}
