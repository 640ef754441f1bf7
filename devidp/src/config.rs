//! Which clients exist, their secrets, and what each may ask for.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::algorithm::SigningAlgorithm;
use crate::signing_key::MIN_HMAC_SECRET_BYTES;

/// The audience every default client is granted.
pub const DEFAULT_AUDIENCE: &str = "https://api.example.com";

/// The demo's second API, which signs with ES256.
pub const DEMO_ES256_AUDIENCE: &str = "https://es256.example.com";

/// One day, Auth0's default access-token lifetime.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// The whole identity-provider configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// The `iss` claim and discovery issuer; `None` means `http://{listen address}/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default = "default_token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// How each API signs its tokens; an audience not listed signs with RS256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apis: Vec<ApiConfig>,
    pub clients: Vec<ClientConfig>,
}

/// An API (an audience) and how its access tokens are signed, as Auth0's per-API "signing
/// algorithm" setting says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// The audience (`aud`) its tokens carry.
    pub identifier: String,
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
    /// The HS256 key, as UTF-8 text: at least 32 bytes; only with HS256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// A machine-to-machine application allowed to use the client-credentials grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: String,
    pub grants: Vec<Grant>,
}

/// The scopes a client may receive for one audience (an Auth0 "client grant").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub audience: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

fn default_token_lifetime_secs() -> u64 {
    DEFAULT_TOKEN_LIFETIME_SECS
}

impl Default for IdpConfig {
    /// Two clients on `https://api.example.com`: one that may read and write
    /// messages, and one that may only read its profile (for 403 demos).
    fn default() -> Self {
        let client = |id: &str, secret: &str, scopes: &[&str]| ClientConfig {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
            grants: vec![Grant {
                audience: DEFAULT_AUDIENCE.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            }],
        };
        IdpConfig {
            issuer: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            apis: Vec::new(),
            clients: vec![
                client(
                    "demo-client",
                    "demo-secret",
                    &["read:messages", "write:messages"],
                ),
                client("limited-client", "limited-secret", &["read:profile"]),
            ],
        }
    }
}

impl IdpConfig {
    /// What `make demo` and the `devidp` binary run (`devidp.json`): the default clients, an
    /// RS256 API and an ES256 API side by side; demo-client may call both.
    pub fn demo() -> IdpConfig {
        let api = |identifier: &str, signing_algorithm| ApiConfig {
            identifier: identifier.to_owned(),
            signing_algorithm,
            signing_secret: None,
        };
        let mut config = IdpConfig {
            apis: vec![
                api(DEFAULT_AUDIENCE, SigningAlgorithm::Rs256),
                api(DEMO_ES256_AUDIENCE, SigningAlgorithm::Es256),
            ],
            ..IdpConfig::default()
        };
        if let Some(demo_client) = config.clients.first_mut() {
            demo_client.grants.push(Grant {
                audience: DEMO_ES256_AUDIENCE.to_owned(),
                scopes: vec!["read:messages".to_owned()],
            });
        }
        config
    }

    /// Reads and validates a JSON config file (same shape as `devidp.json`).
    pub fn from_json_file(path: &Path) -> Result<IdpConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        Self::from_json_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    /// Parses and validates config JSON text.
    pub fn from_json_str(text: &str) -> Result<IdpConfig, String> {
        let config: IdpConfig =
            serde_json::from_str(text).map_err(|e| format!("invalid config: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects configs that would make the token endpoint ambiguous or useless.
    pub fn validate(&self) -> Result<(), String> {
        if self.token_lifetime_secs == 0 {
            return Err("token_lifetime_secs must be greater than 0".to_owned());
        }
        let mut identifiers = HashSet::new();
        for api in &self.apis {
            api.validate()?;
            if !identifiers.insert(api.identifier.as_str()) {
                return Err(format!("api {:?} appears twice", api.identifier));
            }
        }
        let mut seen = HashSet::new();
        for client in &self.clients {
            if client.client_id.is_empty() {
                return Err("a client has an empty client_id".to_owned());
            }
            if !seen.insert(client.client_id.as_str()) {
                return Err(format!("client_id {:?} appears twice", client.client_id));
            }
            if client.client_secret.is_empty() {
                return Err(format!(
                    "client {:?} has an empty client_secret",
                    client.client_id
                ));
            }
            let mut audiences = HashSet::new();
            for grant in &client.grants {
                if !audiences.insert(grant.audience.as_str()) {
                    return Err(format!(
                        "client {:?} has two grants for audience {:?}",
                        client.client_id, grant.audience
                    ));
                }
            }
        }
        Ok(())
    }

    /// The API with this identifier, if configured.
    pub fn api(&self, identifier: &str) -> Option<&ApiConfig> {
        self.apis.iter().find(|a| a.identifier == identifier)
    }

    /// How tokens for `audience` are signed: its API's algorithm, else RS256.
    pub fn signing_algorithm_for(&self, audience: &str) -> SigningAlgorithm {
        self.api(audience)
            .map_or(SigningAlgorithm::Rs256, |a| a.signing_algorithm)
    }

    /// The asymmetric algorithms with a key in the JWKS: RS256 always (the tenant's key, for
    /// every audience not configured otherwise), then those the APIs name.
    pub fn asymmetric_algorithms(&self) -> Vec<SigningAlgorithm> {
        SigningAlgorithm::ALL
            .into_iter()
            .filter(|algorithm| {
                *algorithm == SigningAlgorithm::Rs256
                    || (!algorithm.is_symmetric()
                        && self.apis.iter().any(|a| a.signing_algorithm == *algorithm))
            })
            .collect()
    }

    /// The client with this id, if configured.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}

impl ApiConfig {
    /// An identifier, and a secret exactly when HS256 needs one, long enough.
    fn validate(&self) -> Result<(), String> {
        if self.identifier.is_empty() {
            return Err("an api has an empty identifier".to_owned());
        }
        let name = &self.identifier;
        let algorithm = self.signing_algorithm;
        match (&self.signing_secret, algorithm.is_symmetric()) {
            (None, true) => Err(format!(
                "api {name:?} signs with {algorithm}, which needs a signing_secret of at least {MIN_HMAC_SECRET_BYTES} bytes"
            )),
            (Some(secret), true) if secret.len() < MIN_HMAC_SECRET_BYTES => Err(format!(
                "api {name:?}: signing_secret is {} bytes; {algorithm} needs at least {MIN_HMAC_SECRET_BYTES}",
                secret.len()
            )),
            (Some(_), false) => Err(format!(
                "api {name:?} signs with {algorithm}, which takes no signing_secret (only HS256 does)"
            )),
            _ => Ok(()),
        }
    }
}

impl ClientConfig {
    /// The grant for this audience, if the client has one.
    pub fn grant_for(&self, audience: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.audience == audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_file_equals_the_demo() {
        let example = IdpConfig::from_json_str(include_str!("../devidp.json")).unwrap();
        assert_eq!(example, IdpConfig::demo());
    }

    #[test]
    fn the_books_example_is_a_valid_config() {
        let page = include_str!("../../docs/src/getting-started/demo.md");
        let section = &page[page.find("### Signing algorithms per API").unwrap()..];
        let start = section.find("```text\n").unwrap() + "```text\n".len();
        let end = start + section[start..].find("```").unwrap();
        let config = IdpConfig::from_json_str(&section[start..end]).unwrap();
        let algorithms: Vec<SigningAlgorithm> =
            config.apis.iter().map(|a| a.signing_algorithm).collect();
        use SigningAlgorithm::{Es256, Hs256, Ps256, Rs256};
        assert_eq!(algorithms, [Rs256, Es256, Ps256, Hs256]);
    }

    #[test]
    fn defaults_and_demo_are_valid() {
        IdpConfig::default().validate().unwrap();
        IdpConfig::demo().validate().unwrap();
    }

    #[test]
    fn the_demo_signs_one_api_with_rs256_and_one_with_es256() {
        let demo = IdpConfig::demo();
        assert_eq!(
            demo.signing_algorithm_for(DEFAULT_AUDIENCE),
            SigningAlgorithm::Rs256
        );
        assert_eq!(
            demo.signing_algorithm_for(DEMO_ES256_AUDIENCE),
            SigningAlgorithm::Es256
        );
        let demo_client = demo.client("demo-client").unwrap();
        assert!(demo_client.grant_for(DEMO_ES256_AUDIENCE).is_some());
    }

    fn with_apis(apis: &str) -> Result<IdpConfig, String> {
        IdpConfig::from_json_str(&format!(r#"{{"apis":{apis},"clients":[]}}"#))
    }

    #[test]
    fn an_api_without_an_algorithm_signs_with_rs256_and_so_does_any_other_audience() {
        let config = with_apis(r#"[{"identifier":"https://a"}]"#).unwrap();
        assert_eq!(config.apis[0].signing_algorithm, SigningAlgorithm::Rs256);
        assert_eq!(
            config.signing_algorithm_for("https://unlisted"),
            SigningAlgorithm::Rs256
        );
        assert_eq!(config.asymmetric_algorithms(), [SigningAlgorithm::Rs256]);
    }

    #[test]
    fn every_algorithm_is_read_by_its_jose_name() {
        let secret = "s".repeat(32);
        let apis: Vec<String> = SigningAlgorithm::ALL
            .iter()
            .map(|a| {
                let secret = if a.is_symmetric() {
                    format!(r#","signing_secret":"{secret}""#)
                } else {
                    String::new()
                };
                format!(r#"{{"identifier":"https://{a}","signing_algorithm":"{a}"{secret}}}"#)
            })
            .collect();
        let config = with_apis(&format!("[{}]", apis.join(","))).unwrap();
        for algorithm in SigningAlgorithm::ALL {
            assert_eq!(
                config.signing_algorithm_for(&format!("https://{algorithm}")),
                algorithm
            );
        }
        let asymmetric = config.asymmetric_algorithms();
        assert_eq!(asymmetric.len(), 6);
        assert!(!asymmetric.contains(&SigningAlgorithm::Hs256));
    }

    #[test]
    fn api_errors_say_what_is_wrong() {
        let cases = [
            (
                r#"[{"identifier":""}]"#,
                "an api has an empty identifier".to_owned(),
            ),
            (
                r#"[{"identifier":"https://a"},{"identifier":"https://a","signing_algorithm":"ES256"}]"#,
                r#"api "https://a" appears twice"#.to_owned(),
            ),
            (
                r#"[{"identifier":"https://a","signing_algorithm":"HS256"}]"#,
                r#"api "https://a" signs with HS256, which needs a signing_secret of at least 32 bytes"#.to_owned(),
            ),
            (
                r#"[{"identifier":"https://a","signing_algorithm":"HS256","signing_secret":"0123456789012345678901234567890"}]"#,
                r#"api "https://a": signing_secret is 31 bytes; HS256 needs at least 32"#.to_owned(),
            ),
            (
                r#"[{"identifier":"https://a","signing_algorithm":"ES256","signing_secret":"01234567890123456789012345678901"}]"#,
                r#"api "https://a" signs with ES256, which takes no signing_secret (only HS256 does)"#.to_owned(),
            ),
        ];
        for (apis, message) in cases {
            assert_eq!(with_apis(apis).unwrap_err(), message, "{apis}");
        }
    }

    #[test]
    fn unknown_algorithms_and_fields_are_named() {
        let err =
            with_apis(r#"[{"identifier":"https://a","signing_algorithm":"HS512"}]"#).unwrap_err();
        assert!(
            err.starts_with(
                "invalid config: unknown variant `HS512`, expected one of `RS256`, `PS256`, `ES256`, `ES384`, `ES512`, `EdDSA`, `HS256`"
            ),
            "{err}"
        );
        let err = with_apis(r#"[{"identifier":"https://a","algorithm":"ES256"}]"#).unwrap_err();
        assert!(err.contains("unknown field `algorithm`"), "{err}");
    }

    #[test]
    fn missing_lifetime_defaults_to_one_day() {
        let config = IdpConfig::from_json_str(r#"{"clients":[]}"#).unwrap();
        assert_eq!(config.token_lifetime_secs, 86_400);
        assert_eq!(config.issuer, None);
    }

    #[test]
    fn unknown_field_is_rejected_by_name() {
        let err = IdpConfig::from_json_str(r#"{"clients":[],"lifetime":5}"#).unwrap_err();
        assert!(err.contains("unknown field `lifetime`"), "{err}");
    }

    #[test]
    fn duplicate_client_id_is_rejected() {
        let mut config = IdpConfig::default();
        config.clients.push(config.clients[0].clone());
        let err = config.validate().unwrap_err();
        assert!(err.contains("demo-client"), "{err}");
    }

    #[test]
    fn missing_file_error_names_the_path() {
        let err = IdpConfig::from_json_file(Path::new("/nonexistent/devidp.json")).unwrap_err();
        assert!(err.contains("/nonexistent/devidp.json"), "{err}");
    }

    #[test]
    fn grant_for_finds_only_granted_audiences() {
        let config = IdpConfig::default();
        let client = config.client("demo-client").unwrap();
        assert!(client.grant_for(DEFAULT_AUDIENCE).is_some());
        assert!(client.grant_for("https://other.example.com").is_none());
    }
}
