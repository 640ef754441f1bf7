//! Configuration: the JSON users write (shaped like Envoy's `jwt_authn` `JwtAuthentication`),
//! parsed strictly and then compiled into a validated [`Config`].
//!
//! Every refusal is a [`ConfigError`] that names the field path, e.g.
//! `providers.auth0.remote_jwks.http_uri.timeout: invalid duration "5": ...`.

use crate::extract::TokenLocation;
use crate::jwks::{self, KeySet};
use crate::jwt::Algorithm;
use crate::rules::{PathMatch, Rule};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Largest token accepted unless a provider says otherwise.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Ceiling for `max_token_bytes`: beyond this a header is not a token any more.
const MAX_TOKEN_BYTES_LIMIT: usize = 64 * 1024;
const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_CACHE_DURATION: Duration = Duration::from_secs(600);
const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_REALM: &str = "api";

/// A validated configuration: every name resolved, every value in range.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `realm` of every `WWW-Authenticate` challenge.
    pub realm: String,
    pub providers: Vec<Provider>,
    pub rules: Vec<Rule>,
}

/// One issuer whose tokens are accepted.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    /// `iss` must equal this exactly.
    pub issuer: String,
    /// `aud` must contain one of these.
    pub audiences: Vec<String>,
    pub keys: KeySource,
    /// Where the token is looked for, in order.
    pub locations: Vec<TokenLocation>,
    /// Keep the token in the request after a successful check.
    pub forward: bool,
    pub clock_skew_seconds: u64,
    pub algorithms: Vec<Algorithm>,
    pub max_token_bytes: usize,
}

/// Where a provider's verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Fetched by HTTP callout and cached.
    Remote(RemoteJwks),
    /// Given inline in the configuration, parsed once here.
    Local(KeySet),
}

/// A JWKS endpoint reached through an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// The Envoy cluster the callout goes to.
    pub cluster: String,
    /// `:authority` of the callout (host and optional port of `uri`).
    pub authority: String,
    /// `:path` of the callout.
    pub path: String,
    pub timeout: Duration,
    pub cache_duration: Duration,
    /// A token with an unknown `kid` triggers a refetch at most this often.
    pub min_refetch_interval: Duration,
}

/// A refused configuration: the field path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn error(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

impl Config {
    /// Parses and validates the plugin configuration (JSON bytes).
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        let raw: RawConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            error(
                if path == "." { "(root)".into() } else { path },
                e.inner().to_string(),
            )
        })?;
        Config::try_from(raw)
    }

    /// The index of the provider called `name`.
    pub fn provider_index(&self, name: &str) -> Option<usize> {
        self.providers.iter().position(|p| p.name == name)
    }

    /// One line for the start-up log: what is protected and by whom.
    pub fn summary(&self) -> String {
        let providers: Vec<String> = self
            .providers
            .iter()
            .map(|p| {
                let keys = match &p.keys {
                    KeySource::Remote(r) => format!("jwks from cluster {}", r.cluster),
                    KeySource::Local(set) => format!("{} inline keys", set.len()),
                };
                format!("{} (issuer {}, {keys})", p.name, p.issuer)
            })
            .collect();
        format!(
            "{} provider(s): {}; {} rule(s)",
            self.providers.len(),
            providers.join(", "),
            self.rules.len()
        )
    }
}

// ---- What users write ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    providers: BTreeMap<String, RawProvider>,
    #[serde(default)]
    rules: Vec<RawRule>,
    realm: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    issuer: String,
    #[serde(default)]
    audiences: Vec<String>,
    remote_jwks: Option<RawRemoteJwks>,
    local_jwks: Option<RawLocalJwks>,
    #[serde(default)]
    from_headers: Vec<RawHeaderLocation>,
    #[serde(default)]
    from_params: Vec<String>,
    #[serde(default)]
    forward: bool,
    clock_skew_seconds: Option<u64>,
    algorithms: Option<Vec<String>>,
    max_token_bytes: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemoteJwks {
    http_uri: RawHttpUri,
    cache_duration: Option<String>,
    min_refetch_interval: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpUri {
    uri: String,
    cluster: String,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalJwks {
    inline_string: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaderLocation {
    name: String,
    #[serde(default)]
    value_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    matcher: RawMatch,
    requires: Option<RawRequirement>,
    #[serde(default)]
    required_scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    prefix: Option<String>,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    provider_name: String,
}

// ---- Compilation: raw -> validated ----------------------------------------------------

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Config, ConfigError> {
        let realm = match raw.realm {
            Some(realm) if realm.is_empty() || !is_quotable(&realm) => {
                return Err(error(
                    "realm",
                    "must be non-empty printable ASCII without quotes or backslashes",
                ));
            }
            Some(realm) => realm,
            None => DEFAULT_REALM.into(),
        };
        let providers = raw
            .providers
            .into_iter()
            .map(|(name, p)| compile_provider(&format!("providers.{name}"), name, p))
            .collect::<Result<Vec<_>, _>>()?;
        if raw.rules.is_empty() {
            return Err(error(
                "rules",
                "at least one rule is required: without rules every request is refused",
            ));
        }
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| compile_rule(&format!("rules[{i}]"), rule, &providers))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            realm,
            providers,
            rules,
        })
    }
}

fn compile_provider(path: &str, name: String, raw: RawProvider) -> Result<Provider, ConfigError> {
    if raw.issuer.is_empty() {
        return Err(error(format!("{path}.issuer"), "must not be empty"));
    }
    if raw.audiences.is_empty() {
        return Err(error(
            format!("{path}.audiences"),
            "at least one audience is required, so that tokens minted for other APIs of the same issuer are refused",
        ));
    }
    if let Some(i) = raw.audiences.iter().position(String::is_empty) {
        return Err(error(format!("{path}.audiences[{i}]"), "must not be empty"));
    }
    let keys = match (raw.remote_jwks, raw.local_jwks) {
        (Some(remote), None) => {
            KeySource::Remote(compile_remote_jwks(&format!("{path}.remote_jwks"), remote)?)
        }
        (None, Some(local)) => KeySource::Local(
            jwks::parse(local.inline_string.as_bytes())
                .map_err(|e| error(format!("{path}.local_jwks.inline_string"), e.to_string()))?
                .keys,
        ),
        (Some(_), Some(_)) => {
            return Err(error(
                path,
                "give either remote_jwks or local_jwks, not both",
            ));
        }
        (None, None) => return Err(error(path, "one of remote_jwks or local_jwks is required")),
    };
    let locations = compile_locations(path, raw.from_headers, raw.from_params)?;
    let algorithms = match raw.algorithms {
        None => vec![Algorithm::RS256],
        Some(names) if names.is_empty() => {
            return Err(error(
                format!("{path}.algorithms"),
                "must list at least one algorithm",
            ));
        }
        Some(names) => names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Algorithm::from_name(name).ok_or_else(|| {
                    error(
                        format!("{path}.algorithms[{i}]"),
                        format!(
                            "unsupported algorithm {name:?}: supported are {:?}",
                            Algorithm::NAMES
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let max_token_bytes = raw.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
    if !(1..=MAX_TOKEN_BYTES_LIMIT).contains(&max_token_bytes) {
        return Err(error(
            format!("{path}.max_token_bytes"),
            format!("must be between 1 and {MAX_TOKEN_BYTES_LIMIT}"),
        ));
    }
    let clock_skew_seconds = raw.clock_skew_seconds.unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS);
    if clock_skew_seconds > 86_400 {
        return Err(error(
            format!("{path}.clock_skew_seconds"),
            "must be at most 86400",
        ));
    }
    Ok(Provider {
        name,
        issuer: raw.issuer,
        audiences: raw.audiences,
        keys,
        locations,
        forward: raw.forward,
        clock_skew_seconds,
        algorithms,
        max_token_bytes,
    })
}

fn compile_remote_jwks(path: &str, raw: RawRemoteJwks) -> Result<RemoteJwks, ConfigError> {
    let uri_path = format!("{path}.http_uri.uri");
    let (authority, request_path) =
        split_uri(&raw.http_uri.uri).map_err(|m| error(&uri_path, m))?;
    if raw.http_uri.cluster.is_empty() {
        return Err(error(
            format!("{path}.http_uri.cluster"),
            "must not be empty",
        ));
    }
    let duration = |field: &str, value: Option<String>, default: Duration| match value {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|m| error(format!("{path}.{field}"), m)),
    };
    let timeout = duration(
        "http_uri.timeout",
        raw.http_uri.timeout,
        DEFAULT_FETCH_TIMEOUT,
    )?;
    let cache_duration = duration("cache_duration", raw.cache_duration, DEFAULT_CACHE_DURATION)?;
    let min_refetch_interval = duration(
        "min_refetch_interval",
        raw.min_refetch_interval,
        DEFAULT_MIN_REFETCH_INTERVAL,
    )?;
    for (field, value) in [
        ("http_uri.timeout", timeout),
        ("cache_duration", cache_duration),
    ] {
        if value.is_zero() {
            return Err(error(
                format!("{path}.{field}"),
                "must be greater than zero",
            ));
        }
    }
    if timeout > Duration::from_secs(60) {
        return Err(error(
            format!("{path}.http_uri.timeout"),
            "must be at most 60s: requests wait for it",
        ));
    }
    Ok(RemoteJwks {
        cluster: raw.http_uri.cluster,
        authority,
        path: request_path,
        timeout,
        cache_duration,
        min_refetch_interval,
    })
}

fn compile_locations(
    path: &str,
    headers: Vec<RawHeaderLocation>,
    params: Vec<String>,
) -> Result<Vec<TokenLocation>, ConfigError> {
    if headers.is_empty() && params.is_empty() {
        // jwt_authn's default: `Authorization: Bearer <token>` or `?access_token=<token>`.
        return Ok(vec![
            TokenLocation::Header {
                name: "authorization".into(),
                value_prefix: "Bearer ".into(),
            },
            TokenLocation::Param("access_token".into()),
        ]);
    }
    let mut locations = Vec::with_capacity(headers.len() + params.len());
    for (i, header) in headers.into_iter().enumerate() {
        if header.name.is_empty()
            || !header.name.bytes().all(is_header_name_byte)
            || header.name.starts_with(':')
        {
            return Err(error(
                format!("{path}.from_headers[{i}].name"),
                format!("{:?} is not a valid header name", header.name),
            ));
        }
        locations.push(TokenLocation::Header {
            name: header.name.to_ascii_lowercase(),
            value_prefix: header.value_prefix,
        });
    }
    for (i, param) in params.into_iter().enumerate() {
        if param.is_empty() || param.contains(['&', '=', '#', '?']) {
            return Err(error(
                format!("{path}.from_params[{i}]"),
                format!("{param:?} is not a valid query parameter name"),
            ));
        }
        locations.push(TokenLocation::Param(param));
    }
    Ok(locations)
}

fn compile_rule(path: &str, raw: RawRule, providers: &[Provider]) -> Result<Rule, ConfigError> {
    let matcher = match (raw.matcher.prefix, raw.matcher.path) {
        (Some(prefix), None) => PathMatch::Prefix(prefix),
        (None, Some(exact)) => PathMatch::Exact(exact),
        _ => {
            return Err(error(
                format!("{path}.match"),
                "give exactly one of prefix or path",
            ));
        }
    };
    let pattern = match &matcher {
        PathMatch::Prefix(p) | PathMatch::Exact(p) => p,
    };
    if !pattern.starts_with('/') {
        return Err(error(
            format!("{path}.match"),
            format!("{pattern:?} must start with '/'"),
        ));
    }
    let provider = match raw.requires {
        None => None,
        Some(requires) => Some(
            providers
                .iter()
                .position(|p| p.name == requires.provider_name)
                .ok_or_else(|| {
                    error(
                        format!("{path}.requires.provider_name"),
                        format!("no provider is called {:?}", requires.provider_name),
                    )
                })?,
        ),
    };
    if provider.is_none() && !raw.required_scopes.is_empty() {
        return Err(error(
            format!("{path}.required_scopes"),
            "needs requires: scopes can only be checked on a verified token",
        ));
    }
    if let Some((i, scope)) = raw
        .required_scopes
        .iter()
        .enumerate()
        .find(|(_, s)| !is_scope_token(s))
    {
        return Err(error(
            format!("{path}.required_scopes[{i}]"),
            format!(
                "{scope:?} is not a valid scope (RFC 6749: printable ASCII, no spaces, quotes or backslashes)"
            ),
        ));
    }
    Ok(Rule {
        matcher,
        provider,
        required_scopes: raw.required_scopes,
    })
}

/// Splits `http(s)://authority/path?query` into the callout's `:authority` and `:path`.
fn split_uri(uri: &str) -> Result<(String, String), String> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))
        .ok_or_else(|| format!("{uri:?} must start with https:// or http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) {
        return Err(format!("{uri:?} has no valid host"));
    }
    if path.contains(['#', ' ']) {
        return Err(format!("{uri:?} has a fragment or a space in its path"));
    }
    Ok((authority.to_string(), path.to_string()))
}

/// Parses a protobuf JSON duration: decimal seconds with an `s` suffix ("600s", "1.5s").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}: expected seconds like \"5s\" or \"1.5s\"");
    let number = text.strip_suffix('s').ok_or_else(invalid)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 9
        || (number.contains('.') && fraction.is_empty())
    {
        return Err(invalid());
    }
    let seconds: u64 = whole.parse().map_err(|_| invalid())?;
    if seconds > 315_576_000_000 {
        return Err(format!("duration {text:?} is out of range"));
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().map_err(|_| invalid())?
    };
    Ok(Duration::new(seconds, nanos))
}

fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6749 `scope-token`: %x21 / %x23-5B / %x5D-7E.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Safe inside an RFC 7235 quoted-string without escaping.
fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const EXAMPLE: &str = r#"{
      "providers": {
        "auth0": {
          "issuer": "https://tenant.us.auth0.com/",
          "audiences": ["https://api.example.com"],
          "remote_jwks": {
            "http_uri": {"uri": "https://tenant.us.auth0.com/.well-known/jwks.json", "cluster": "auth0_jwks", "timeout": "5s"},
            "cache_duration": "600s"
          },
          "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
          "from_params": ["access_token"],
          "forward": false,
          "clock_skew_seconds": 60
        }
      },
      "rules": [
        {"match": {"prefix": "/api/public"}},
        {"match": {"path": "/healthz"}},
        {"match": {"prefix": "/api/messages"}, "requires": {"provider_name": "auth0"}, "required_scopes": ["read:messages"]},
        {"match": {"prefix": "/"}, "requires": {"provider_name": "auth0"}}
      ]
    }"#;

    fn refused(json: &str) -> ConfigError {
        Config::from_json(json.as_bytes()).expect_err("config should be refused")
    }

    fn with_provider(provider_fields: &str) -> String {
        format!(
            r#"{{"providers": {{"p": {{"issuer": "https://i/", "audiences": ["a"], {provider_fields}}}}},
                "rules": [{{"match": {{"prefix": "/"}}, "requires": {{"provider_name": "p"}}}}]}}"#
        )
    }

    const REMOTE: &str =
        r#""remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c"}}"#;

    #[test]
    fn the_documented_example_compiles() {
        let config = Config::from_json(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(config.realm, "api");
        let p = &config.providers[0];
        assert_eq!(p.issuer, "https://tenant.us.auth0.com/");
        assert_eq!(p.max_token_bytes, 8192);
        assert_eq!(p.algorithms, vec![Algorithm::RS256]);
        let KeySource::Remote(remote) = &p.keys else {
            panic!("remote expected")
        };
        assert_eq!(remote.authority, "tenant.us.auth0.com");
        assert_eq!(remote.path, "/.well-known/jwks.json");
        assert_eq!(remote.cluster, "auth0_jwks");
        assert_eq!(remote.timeout, Duration::from_secs(5));
        assert_eq!(remote.cache_duration, Duration::from_secs(600));
        assert_eq!(config.rules.len(), 4);
        assert_eq!(config.rules[2].required_scopes, vec!["read:messages"]);
        assert_eq!(config.rules[0].provider, None);
    }

    #[test]
    fn locations_default_to_bearer_header_and_access_token_param() {
        let config = Config::from_json(with_provider(REMOTE).as_bytes()).unwrap();
        assert_eq!(
            config.providers[0].locations,
            vec![
                TokenLocation::Header {
                    name: "authorization".into(),
                    value_prefix: "Bearer ".into()
                },
                TokenLocation::Param("access_token".into()),
            ]
        );
    }

    #[test]
    fn unknown_field_is_refused_with_its_path() {
        let e = refused(&with_provider(&format!("{REMOTE}, \"issuers\": []")));
        assert_eq!(e.path, "providers.p.issuers");
        assert!(e.message.contains("unknown field `issuers`"), "{e}");
    }

    #[test]
    fn wrong_type_is_refused_with_its_path() {
        let e = refused(&with_provider(&format!("{REMOTE}, \"forward\": \"yes\"")));
        assert_eq!(e.path, "providers.p.forward");
    }

    #[test]
    fn unparsable_duration_names_the_field() {
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c", "timeout": "5"}}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.http_uri.timeout");
        assert!(e.message.contains("invalid duration \"5\""), "{e}");
    }

    #[test]
    fn rule_naming_an_unknown_provider_is_refused() {
        let json = EXAMPLE.replace(
            r#""requires": {"provider_name": "auth0"}}"#,
            r#""requires": {"provider_name": "nobody"}}"#,
        );
        let e = refused(&json);
        assert_eq!(e.path, "rules[3].requires.provider_name");
        assert_eq!(e.message, "no provider is called \"nobody\"");
    }

    #[test]
    fn empty_issuer_is_refused() {
        let e = refused(&EXAMPLE.replace("\"https://tenant.us.auth0.com/\",", "\"\","));
        assert_eq!(e.path, "providers.auth0.issuer");
        assert_eq!(e.message, "must not be empty");
    }

    #[test]
    fn missing_audiences_are_refused() {
        let e = refused(&with_provider(REMOTE).replace(r#""audiences": ["a"],"#, ""));
        assert_eq!(e.path, "providers.p.audiences");
    }

    #[test]
    fn both_or_neither_key_source_is_refused() {
        assert_eq!(
            refused(&with_provider(r#""forward": true"#)).message,
            "one of remote_jwks or local_jwks is required"
        );
        let both = format!("{REMOTE}, \"local_jwks\": {{\"inline_string\": \"{{}}\"}}");
        assert_eq!(
            refused(&with_provider(&both)).message,
            "give either remote_jwks or local_jwks, not both"
        );
    }

    #[test]
    fn unusable_inline_jwks_is_refused() {
        let e = refused(&with_provider(
            r#""local_jwks": {"inline_string": "{\"keys\": []}"}"#,
        ));
        assert_eq!(e.path, "providers.p.local_jwks.inline_string");
    }

    #[test]
    fn hmac_and_none_are_not_allowed_algorithms() {
        for alg in ["HS256", "none"] {
            let e = refused(&with_provider(&format!(
                "{REMOTE}, \"algorithms\": [\"{alg}\"]"
            )));
            assert_eq!(e.path, "providers.p.algorithms[0]");
        }
    }

    #[test]
    fn scopes_without_requirement_are_refused() {
        let e = refused(r#"{"rules": [{"match": {"prefix": "/"}, "required_scopes": ["a"]}]}"#);
        assert_eq!(e.path, "rules[0].required_scopes");
    }

    #[test]
    fn invalid_scope_is_refused() {
        let e = refused(&EXAMPLE.replace("\"read:messages\"", "\"read messages\""));
        assert_eq!(e.path, "rules[2].required_scopes[0]");
    }

    #[test]
    fn match_needs_exactly_one_kind() {
        let e = refused(r#"{"rules": [{"match": {"prefix": "/", "path": "/x"}}]}"#);
        assert_eq!(e.path, "rules[0].match");
        let e = refused(r#"{"rules": [{"match": {"prefix": "api"}}]}"#);
        assert_eq!(e.path, "rules[0].match");
    }

    #[test]
    fn no_rules_is_refused() {
        assert_eq!(refused(r#"{"providers": {}}"#).path, "rules");
    }

    #[test]
    fn non_json_is_refused() {
        let e = refused("providers: {}");
        assert_eq!(e.path, "(root)");
    }

    #[test]
    fn jwks_uri_must_be_http() {
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": {"uri": "ftp://i/jwks", "cluster": "c"}}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.http_uri.uri");
    }

    #[test]
    fn uri_without_path_asks_for_root() {
        assert_eq!(
            split_uri("https://idp.example:8443").unwrap(),
            ("idp.example:8443".into(), "/".into())
        );
        assert_eq!(
            split_uri("http://h/a/b?x=1").unwrap(),
            ("h".into(), "/a/b?x=1".into())
        );
        assert!(split_uri("https:///x").is_err());
    }

    #[test]
    fn durations_follow_the_protobuf_json_form() {
        assert_eq!(parse_duration("600s"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.000000001s"), Ok(Duration::from_nanos(1)));
        for bad in [
            "5",
            "s",
            "1.s",
            ".5s",
            "-1s",
            "1.0000000001s",
            "1e3s",
            "5 s",
            "5ms",
            "",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_timeout_is_refused() {
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c", "timeout": "0s"}}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.http_uri.timeout");
    }
}
