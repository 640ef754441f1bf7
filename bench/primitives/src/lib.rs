//! The signature primitive alone, in V8 and natively: `make bench` runs this crate as a
//! proxy-wasm filter (wasm32) that verifies one prepared signature per request, chosen by the
//! request's path, and decides nothing; the driver links the same crate natively and times the
//! same calls on the same inputs. Not shipped.
//!
//! Paths: `/none` verifies nothing (the Wasm boundary's cost), `/jwt-authz/RS256` runs
//! jwt-authz's `jose::verify::verify_signature`, `/jsonwebtoken/RS256` jsonwebtoken's
//! `crypto::verify` (each on a key prepared at configuration, as each filter keeps its keys).
//! A signature that does not verify, or an unknown path, gets 500: the bench flags it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_authz::jose::algorithm::Algorithm as OurAlgorithm;
use jwt_authz::jose::jwks::{self, Key, Origin};
use jwt_authz::jose::verify::verify_signature;
use serde_json::{Value, json};

/// The path that verifies nothing.
pub const BOUNDARY_PATH: &str = "/none";

/// Whose verification runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verifier {
    /// jwt-authz's `jose::verify::verify_signature`.
    JwtAuthz,
    /// jsonwebtoken's `crypto::verify` (RustCrypto backend), the card stack's.
    Jsonwebtoken,
}

impl Verifier {
    pub const ALL: [Verifier; 2] = [Verifier::JwtAuthz, Verifier::Jsonwebtoken];

    /// Its name in paths and tables.
    pub fn name(self) -> &'static str {
        match self {
            Verifier::JwtAuthz => "jwt-authz",
            Verifier::Jsonwebtoken => "jsonwebtoken",
        }
    }

    /// The path that runs it on the signature of `algorithm` (its JOSE name).
    pub fn path(self, algorithm: &str) -> String {
        format!("/{}/{algorithm}", self.name())
    }
}

/// One signature, ready for both verifiers.
struct Prepared {
    algorithm: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    /// As jsonwebtoken takes it: base64url.
    signature_text: String,
    ours: (OurAlgorithm, Key),
    /// `None` where jsonwebtoken has no such algorithm (ES512).
    theirs: Option<(jsonwebtoken::Algorithm, jsonwebtoken::DecodingKey)>,
}

/// Every prepared signature.
pub struct Primitives {
    prepared: Vec<Prepared>,
}

/// What a request's path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'p> {
    Boundary,
    Verify(Verifier, &'p str),
    Unknown,
}

impl Primitives {
    /// The filter's configuration: key sets (JWKS documents, HMAC secrets allowed) and one
    /// token per algorithm, each with the `kid` of its key.
    pub fn configuration(key_sets: &[&str], tokens: &[&str]) -> String {
        json!({"key_sets": key_sets, "tokens": tokens}).to_string()
    }

    /// Prepares every token's signature with the key of its `kid`, for both verifiers.
    pub fn from_json(configuration: &[u8]) -> Result<Primitives, String> {
        let config: Value = serde_json::from_slice(configuration)
            .map_err(|e| format!("bad primitives configuration: {e}"))?;
        let texts = |name: &str| -> Vec<String> {
            config[name]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let key_sets = texts("key_sets");
        let prepared = texts("tokens")
            .iter()
            .map(|token| prepare(token, &key_sets))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Primitives { prepared })
    }

    /// The algorithms prepared, in order.
    pub fn algorithms(&self) -> Vec<&str> {
        self.prepared.iter().map(|p| p.algorithm.as_str()).collect()
    }

    /// Whether `verifier` can verify `algorithm` here.
    pub fn supports(&self, verifier: Verifier, algorithm: &str) -> bool {
        self.find(algorithm)
            .is_some_and(|p| verifier == Verifier::JwtAuthz || p.theirs.is_some())
    }

    /// Runs `verifier` once on `algorithm`'s signature: whether it verified (`false` also
    /// when nothing is prepared for it).
    pub fn verify(&self, verifier: Verifier, algorithm: &str) -> bool {
        let Some(p) = self.find(algorithm) else {
            return false;
        };
        match verifier {
            Verifier::JwtAuthz => {
                let (algorithm, key) = &p.ours;
                verify_signature(*algorithm, &p.signing_input, &p.signature, key).is_ok()
            }
            Verifier::Jsonwebtoken => p.theirs.as_ref().is_some_and(|(algorithm, key)| {
                jsonwebtoken::crypto::verify(&p.signature_text, &p.signing_input, key, *algorithm)
                    .unwrap_or(false)
            }),
        }
    }

    fn find(&self, algorithm: &str) -> Option<&Prepared> {
        self.prepared.iter().find(|p| p.algorithm == algorithm)
    }
}

/// What `path` (its query ignored) asks for.
pub fn route(path: &str) -> Route<'_> {
    let path = path.split('?').next().unwrap_or_default();
    if path == BOUNDARY_PATH {
        return Route::Boundary;
    }
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (Some(name), Some(algorithm)) = (parts.next(), parts.next()) else {
        return Route::Unknown;
    };
    match Verifier::ALL.into_iter().find(|v| v.name() == name) {
        Some(verifier) => Route::Verify(verifier, algorithm),
        None => Route::Unknown,
    }
}

fn prepare(token: &str, key_sets: &[String]) -> Result<Prepared, String> {
    let (signing_input, signature_text) = token
        .rsplit_once('.')
        .ok_or_else(|| "a token without signature".to_string())?;
    let (header_text, _) = signing_input
        .split_once('.')
        .ok_or_else(|| "a token without payload".to_string())?;
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| "a token whose header is not base64url JSON".to_string())?;
    let (Some(name), Some(kid)) = (header["alg"].as_str(), header["kid"].as_str()) else {
        return Err("a token without alg or kid".to_string());
    };
    let algorithm =
        OurAlgorithm::from_name(name).ok_or_else(|| format!("unknown algorithm {name}"))?;
    let ours = key_sets
        .iter()
        .filter_map(|set| jwks::parse_from(set.as_bytes(), Origin::LocalWithHmac).ok())
        .find_map(|parsed| {
            parsed
                .keys
                .candidates(Some(kid), algorithm)
                .first()
                .cloned()
                .cloned()
        })
        .ok_or_else(|| format!("no key {kid} for {name} in jwt-authz's key sets"))?;
    let theirs = name.parse::<jsonwebtoken::Algorithm>().ok().and_then(|a| {
        key_sets
            .iter()
            .filter_map(|set| serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(set).ok())
            .find_map(|set| set.find(kid).cloned())
            .and_then(|jwk| jsonwebtoken::DecodingKey::from_jwk(&jwk).ok())
            .map(|key| (a, key))
    });
    Ok(Prepared {
        algorithm: name.to_string(),
        signing_input: signing_input.as_bytes().to_vec(),
        signature: URL_SAFE_NO_PAD
            .decode(signature_text)
            .map_err(|_| "a signature that is not base64url".to_string())?,
        signature_text: signature_text.to_string(),
        ours: (algorithm, ours),
        theirs,
    })
}

#[cfg(target_arch = "wasm32")]
mod filter {
    use std::rc::Rc;

    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType, LogLevel};

    use crate::{Primitives, Route, route};

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Warn);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { primitives: None }) });
    }}

    struct Root {
        primitives: Option<Rc<Primitives>>,
    }

    impl Context for Root {}

    impl RootContext for Root {
        fn on_configure(&mut self, _size: usize) -> bool {
            let configuration = self.get_plugin_configuration().unwrap_or_default();
            self.primitives = Primitives::from_json(&configuration).ok().map(Rc::new);
            self.primitives.is_some()
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }

        fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Stream {
                primitives: self.primitives.clone(),
            }))
        }
    }

    struct Stream {
        primitives: Option<Rc<Primitives>>,
    }

    impl Context for Stream {}

    impl HttpContext for Stream {
        fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
            let path = self.get_http_request_header(":path").unwrap_or_default();
            let done = match (route(&path), &self.primitives) {
                (Route::Boundary, _) => true,
                (Route::Verify(verifier, algorithm), Some(p)) => p.verify(verifier, algorithm),
                _ => false,
            };
            if done {
                return Action::Continue;
            }
            self.send_http_response(500, vec![], Some(b"not verified"));
            Action::Pause
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_verifier_and_the_algorithm() {
        assert_eq!(route("/none"), Route::Boundary);
        assert_eq!(
            route("/jwt-authz/RS256"),
            Route::Verify(Verifier::JwtAuthz, "RS256")
        );
        assert_eq!(
            route(&Verifier::Jsonwebtoken.path("EdDSA")),
            Route::Verify(Verifier::Jsonwebtoken, "EdDSA")
        );
        assert_eq!(route("/other/RS256"), Route::Unknown);
        assert_eq!(route("/jwt-authz"), Route::Unknown);
    }

    /// HS256 over a known secret: both verifiers accept it and refuse it tampered.
    #[test]
    fn both_verifiers_check_the_same_signature() {
        let secret = [7u8; 32];
        let jwks =
            json!({"keys": [{"kty": "oct", "kid": "s", "k": URL_SAFE_NO_PAD.encode(secret)}]})
                .to_string();
        let key = jsonwebtoken::EncodingKey::from_secret(&secret).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("s".to_string());
        let token = jsonwebtoken::encode(&header, &json!({"sub": "x"}), &key).unwrap();
        let config = Primitives::configuration(&[&jwks], &[&token]);
        let primitives = Primitives::from_json(config.as_bytes()).unwrap();
        assert_eq!(primitives.algorithms(), ["HS256"]);
        for verifier in Verifier::ALL {
            assert!(primitives.supports(verifier, "HS256"));
            assert!(primitives.verify(verifier, "HS256"), "{verifier:?}");
            assert!(!primitives.verify(verifier, "HS384"), "{verifier:?}");
        }
        let tampered = format!("{}A", &token[..token.len() - 1]);
        let tampered = if tampered == token {
            format!("{}B", &token[..token.len() - 1])
        } else {
            tampered
        };
        let config = Primitives::configuration(&[&jwks], &[&tampered]);
        let primitives = Primitives::from_json(config.as_bytes()).unwrap();
        for verifier in Verifier::ALL {
            assert!(!primitives.verify(verifier, "HS256"), "{verifier:?}");
        }
        assert!(Primitives::from_json(b"{\"tokens\": [\"a.b\"]}").is_err());
    }
}
