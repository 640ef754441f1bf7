//! The design card's stack as a proxy-wasm filter: `jsonwebtoken` with its RustCrypto backend,
//! as a competent developer would write it from the card, measured by `make bench` beside
//! jwt-authz and native `jwt_authn` ("Why not jsonwebtoken" in the book). Not shipped.
//!
//! At configuration it builds a `DecodingKey` and a `Validation` (issuer, audience, `exp`, the
//! algorithms the key can verify) once per JWK of each provider's inline key set; per request
//! it takes the bearer token (from `Authorization: Bearer` or `?access_token=`), picks the
//! provider by path prefix and the key by `kid`, and lets `jsonwebtoken::decode` check the rest.
//! Anything else gets 401. The decision is plain Rust ([`CardStack`]), tested natively; the
//! proxy-wasm glue is in `filter` (wasm32 only).

use std::collections::HashMap;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;

/// The filter's configuration (JSON): providers tried in order, the first whose `path_prefix`
/// starts the request's path decides.
#[derive(Debug, Deserialize)]
struct Config {
    providers: Vec<ProviderConfig>,
}

#[derive(Debug, Deserialize)]
struct ProviderConfig {
    path_prefix: String,
    issuer: String,
    audiences: Vec<String>,
    jwks: JwkSet,
}

/// Every provider with its keys ready.
pub struct CardStack {
    providers: Vec<Provider>,
}

struct Provider {
    path_prefix: String,
    /// By `kid`: the key and the validation for the algorithms it verifies.
    keys: HashMap<String, (DecodingKey, Validation)>,
}

/// Only what the filter reads; the validation checks `exp`, `iss` and `aud` itself.
#[derive(Deserialize)]
struct Claims {}

impl CardStack {
    /// Parses the configuration and builds every key once; a key jsonwebtoken cannot use
    /// (no `kid`, P-521, an encryption key) is left out.
    pub fn from_json(configuration: &[u8]) -> Result<CardStack, String> {
        let config: Config = serde_json::from_slice(configuration)
            .map_err(|e| format!("bad card-stack configuration: {e}"))?;
        let providers = config
            .providers
            .into_iter()
            .map(|provider| {
                let keys = provider
                    .jwks
                    .keys
                    .iter()
                    .filter_map(|jwk| {
                        let kid = jwk.common.key_id.clone()?;
                        let algorithms = algorithms_of(jwk);
                        if algorithms.is_empty() {
                            return None;
                        }
                        let key = DecodingKey::from_jwk(jwk).ok()?;
                        let mut validation = Validation::new(algorithms[0]);
                        validation.algorithms = algorithms;
                        validation.set_issuer(&[&provider.issuer]);
                        validation.set_audience(&provider.audiences);
                        Some((kid, (key, validation)))
                    })
                    .collect();
                Provider {
                    path_prefix: provider.path_prefix,
                    keys,
                }
            })
            .collect();
        Ok(CardStack { providers })
    }

    /// Whether a request to `path` with this `Authorization` header value may pass.
    pub fn allows(&self, path: &str, authorization: Option<&str>) -> bool {
        let Some(provider) = self
            .providers
            .iter()
            .find(|p| path.starts_with(&p.path_prefix))
        else {
            return false;
        };
        let Some(token) = bearer_token(authorization, path) else {
            return false;
        };
        let Some(kid) = jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid) else {
            return false;
        };
        let Some((key, validation)) = provider.keys.get(&kid) else {
            return false;
        };
        jsonwebtoken::decode::<Claims>(token, key, validation).is_ok()
    }
}

/// The algorithms a JWK may verify: its `alg` if it names one, else those of its type (and
/// curve) that jsonwebtoken implements.
fn algorithms_of(jwk: &Jwk) -> Vec<Algorithm> {
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa.algorithms().to_vec(),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        AlgorithmParameters::OctetKey(_) => AlgorithmFamily::Hmac.algorithms().to_vec(),
        _ => vec![],
    };
    match jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok())
    {
        Some(pinned) => by_type.into_iter().filter(|a| *a == pinned).collect(),
        None => by_type,
    }
}

/// The token from `Authorization: Bearer …`, else from the query's `access_token`.
pub fn bearer_token<'a>(authorization: Option<&'a str>, path: &'a str) -> Option<&'a str> {
    if let Some(value) = authorization {
        return value.strip_prefix("Bearer ");
    }
    let (_, query) = path.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token="))
}

#[cfg(target_arch = "wasm32")]
mod filter {
    use std::rc::Rc;

    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};

    use crate::CardStack;

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Warn);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { stack: None }) });
    }}

    struct Root {
        stack: Option<Rc<CardStack>>,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let configuration = self.get_plugin_configuration().unwrap_or_default();
            match CardStack::from_json(&configuration) {
                Ok(stack) => {
                    self.stack = Some(Rc::new(stack));
                    true
                }
                Err(e) => {
                    log::error!("{e}");
                    false
                }
            }
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                stack: self.stack.clone(),
            }))
        }
    }

    struct Stream {
        stack: Option<Rc<CardStack>>,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            let path = self.get_http_request_header(":path").unwrap_or_default();
            let authorization = self.get_http_request_header("authorization");
            let allowed = self
                .stack
                .as_ref()
                .is_some_and(|s| s.allows(&path, authorization.as_deref()));
            if allowed {
                return Action::Continue;
            }
            self.send_http_response(401, vec![("www-authenticate", "Bearer")], None);
            Action::Pause
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_header_or_the_query() {
        assert_eq!(
            bearer_token(Some("Bearer a.b.c"), "/?access_token=x"),
            Some("a.b.c")
        );
        assert_eq!(bearer_token(Some("Basic eA=="), "/"), None);
        assert_eq!(
            bearer_token(None, "/p?x=1&access_token=a.b.c"),
            Some("a.b.c")
        );
        assert_eq!(bearer_token(None, "/p"), None);
    }

    #[test]
    fn keys_verify_only_their_family_curve_or_pinned_alg() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "s", "alg": "HS384", "k": "AA"}
        ]}))
        .unwrap();
        assert_eq!(algorithms_of(&set.keys[0]).len(), 6);
        assert_eq!(algorithms_of(&set.keys[1]), [Algorithm::ES384]);
        assert_eq!(algorithms_of(&set.keys[2]), [Algorithm::HS384]);
    }

    #[test]
    fn a_bad_configuration_is_an_error_and_an_unknown_path_is_refused() {
        assert!(CardStack::from_json(b"{}").is_err());
        let stack = CardStack::from_json(
            br#"{"providers": [{"path_prefix": "/api", "issuer": "i", "audiences": ["a"],
                 "jwks": {"keys": []}}]}"#,
        )
        .unwrap();
        assert!(!stack.allows("/other", Some("Bearer a.b.c")));
        assert!(!stack.allows("/api", Some("Bearer a.b.c")));
        assert!(!stack.allows("/api", None));
    }
}
