//! Which clients exist, their secrets, and what each may ask for.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The audience every default client is granted.
pub const DEFAULT_AUDIENCE: &str = "https://api.example.com";

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
    pub clients: Vec<ClientConfig>,
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

    /// The client with this id, if configured.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
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
    fn example_config_file_equals_the_defaults() {
        let example = IdpConfig::from_json_str(include_str!("../devidp.json")).unwrap();
        assert_eq!(example, IdpConfig::default());
    }

    #[test]
    fn defaults_are_valid() {
        IdpConfig::default().validate().unwrap();
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
