//! Configuration: the JSON users write (shaped like Envoy's `jwt_authn` `JwtAuthentication`),
//! read strictly (unknown fields, wrong types and duplicate members refused) and compiled
//! into a validated [`Config`].
//!
//! Every refusal is a [`ConfigError`] that names the field path, e.g.
//! `providers.auth0.remote_jwks.http_uri.timeout: invalid duration "5": ...`.
//! The shape of every object (its members, and what each holds) is declared in
//! [`fields`], which the reader in `reader.rs` follows; providers are compiled here, rules in
//! `rule.rs`.

mod certificate;
pub mod fields;
mod filter_state;
mod reader;
mod rule;

use crate::jose::jwks::{self, KeySet};
use crate::jose::jwt::Algorithm;
use crate::json;
use crate::keys::discovery;
use crate::keys::uri::Endpoint;
use crate::policy::matcher::StringMatch;
use crate::policy::requirement::Requirement;
use crate::policy::rules::Rule;
use crate::proof::settings::{self, CertificateMode, CertificateSettings, DpopMode, DpopSettings};
use crate::proof::uri;
use crate::request::extract::{DPOP_PREFIX, TokenLocation};
use crate::request::filter_state::FilterState;
use crate::request::identity::{ClaimToHeader, IdentityHeaders};
use reader::{Element, Object};
use serde_json::Value;
use std::borrow::Cow;
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
/// Verified tokens remembered per provider and Wasm VM unless configured otherwise.
pub const DEFAULT_TOKEN_CACHE_SIZE: usize = 1024;
const MAX_TOKEN_CACHE_SIZE: usize = 65_536;

/// A validated configuration: every name resolved, every value in range.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `realm` of every `WWW-Authenticate` challenge.
    pub realm: String,
    pub providers: Vec<Provider>,
    pub rules: Vec<Rule>,
    /// CORS preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) pass.
    pub bypass_cors_preflight: bool,
    /// Every header some provider may set: client-sent copies are removed from every request.
    pub identity_headers: Vec<String>,
    /// What is left in the request's filter state for access logs and later filters.
    pub filter_state: FilterState,
    /// Named requirements (jwt_authn's `requirement_map`): a route picks one through its
    /// metadata, a rule through `requirement_name`.
    pub requirement_map: Vec<(String, Requirement)>,
    /// Requirements chosen by a filter state value, for requests no rule matches.
    pub filter_state_rules: Option<FilterStateRules>,
    /// Refusals carry neither body nor `WWW-Authenticate` (jwt_authn's
    /// `strip_failure_response`).
    pub strip_failure_response: bool,
}

/// jwt_authn's `FilterStateRule`: the filter state object `name` (a string an earlier filter
/// set) picks one of `requires`.
#[derive(Debug, Clone)]
pub struct FilterStateRules {
    pub name: String,
    pub requires: Vec<(String, Requirement)>,
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
    /// Headers set from the verified token.
    pub identity: IdentityHeaders,
    /// Slots of the verified-token cache (`jwt_cache_config.jwt_cache_size`); 0 disables it.
    pub token_cache_size: usize,
    /// DPoP-bound tokens and their proofs (`dpop`).
    pub dpop: DpopSettings,
    /// Tokens bound to a client certificate (`certificate_binding`).
    pub certificate_binding: CertificateSettings,
    /// The keys of `local_jwks` that were left out, and why (logged at start, warned by
    /// `jwt-authz check`); the rest of the set works.
    pub skipped_local_keys: Vec<String>,
    /// `sub` must match this (jwt_authn's `subjects`).
    pub subjects: Option<StringMatch>,
    /// `exp - iat` at most this many seconds, both then required (jwt_authn's `max_lifetime`).
    pub max_lifetime_seconds: Option<u64>,
}

/// Where a provider's verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Fetched by HTTP callout and cached.
    Remote(RemoteJwks),
    /// Given inline in the configuration, parsed once here.
    Local(KeySet),
}

/// A JWKS reached through an Envoy cluster, directly or through OIDC discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// The Envoy cluster the callouts go to.
    pub cluster: String,
    pub location: JwksLocation,
    pub timeout: Duration,
    pub cache_duration: Duration,
    /// A token with an unknown `kid` triggers a refetch at most this often.
    pub min_refetch_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksLocation {
    /// The JWKS itself (`remote_jwks`).
    Uri(Endpoint),
    /// The issuer's discovery document, whose `jwks_uri` is fetched next (`oidc_discovery`).
    Discovery(Endpoint),
}

/// A refused configuration: the field path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    /// Most messages are fixed texts, kept as they are (copying each into a `String` at its
    /// call site cost the module kilobytes).
    pub message: Cow<'static, str>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The refusal of a requirement naming no provider (shared so that a provider refused for
/// another reason is not reported twice).
fn unknown_provider(name: &str) -> String {
    format!("no provider is called {name:?}")
}

fn names_refused_provider(e: &ConfigError, refused: &[String]) -> bool {
    refused
        .iter()
        .any(|name| e.message == unknown_provider(name))
}

/// `refusals` but those naming a provider that was refused itself.
fn refused_only_here(
    refusals: Vec<ConfigError>,
    refused: &[String],
) -> impl Iterator<Item = ConfigError> {
    refusals
        .into_iter()
        .filter(move |e| !names_refused_provider(e, refused))
}

/// An object of named requirements (`requirement_map`, `filter_state_rules.requires`), or
/// every error found in it.
fn named_requirements(
    at: &Object,
    name: &str,
    providers: &[Provider],
) -> Result<Vec<(String, Requirement)>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut named = Vec::new();
    for (key, element) in at.entries(name).map_err(|e| vec![e])? {
        let compiled = element
            .object()
            .and_then(|raw| rule::compile_requirement(&raw, providers, 1));
        if let Some(requirement) = keep(&mut errors, compiled) {
            named.push((key, requirement));
        }
    }
    if errors.is_empty() {
        Ok(named)
    } else {
        Err(errors)
    }
}

fn compile_filter_state_rules(
    top: &Object,
    providers: &[Provider],
) -> Result<Option<FilterStateRules>, Vec<ConfigError>> {
    let Some(raw) = top.object("filter_state_rules").map_err(|e| vec![e])? else {
        return Ok(None);
    };
    let name = raw.required_string("name").map_err(|e| vec![e])?;
    if name.is_empty() {
        return Err(vec![error(raw.at("name"), "must not be empty")]);
    }
    let requires = named_requirements(&raw, "requires", providers)?;
    if requires.is_empty() {
        return Err(vec![error(
            raw.at("requires"),
            "must name at least one value and its requirement",
        )]);
    }
    Ok(Some(FilterStateRules { name, requires }))
}

fn error(path: impl Into<String>, message: impl Into<Cow<'static, str>>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

impl Config {
    /// Whether a provider holds tokens to client certificates: only then does the filter ask
    /// the host for the connection's certificate.
    pub fn binds_certificates(&self) -> bool {
        self.providers
            .iter()
            .any(|p| p.certificate_binding.mode != CertificateMode::Off)
    }

    /// Parses and validates the plugin configuration (JSON bytes); the first error if refused.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        Config::check_json(bytes).map_err(|errors| {
            let first = errors.into_iter().next();
            first.unwrap_or_else(|| error("(root)", "refused"))
        })
    }

    /// Parses and validates the plugin configuration, reporting every error found (never an
    /// empty list): each field of each provider and each part of each rule is checked even
    /// when another is refused; within one field (`remote_jwks`, a requirement tree, one
    /// claim) the first mistake is reported. A rule naming a provider that was refused is not
    /// reported for that name: the provider's own error says what is wrong.
    pub fn check_json(bytes: &[u8]) -> Result<Config, Vec<ConfigError>> {
        let root = Value::Object(
            json::parse_object_explained(bytes).map_err(|m| vec![error("(root)", m)])?,
        );
        let mut errors = Vec::new();
        let top = Object::root(&root, &mut errors).map_err(|e| vec![e])?;
        let realm = match top.string("realm") {
            Ok(Some(realm)) if realm.is_empty() || !is_quotable(&realm) => {
                errors.push(error(
                    "realm",
                    "must be non-empty printable ASCII without quotes or backslashes",
                ));
                DEFAULT_REALM.into()
            }
            Ok(Some(realm)) => realm,
            Ok(None) => DEFAULT_REALM.into(),
            Err(e) => {
                errors.push(e);
                DEFAULT_REALM.into()
            }
        };
        let bypass_cors_preflight = top.bool("bypass_cors_preflight").unwrap_or_else(|e| {
            errors.push(e);
            false
        });
        let strip_failure_response = top.bool("strip_failure_response").unwrap_or_else(|e| {
            errors.push(e);
            false
        });
        let filter_state = filter_state::compile(&top).unwrap_or_else(|e| {
            errors.push(e);
            FilterState::default()
        });
        let mut providers = Vec::new();
        let mut refused_providers = Vec::new();
        match top.entries("providers") {
            Ok(entries) => {
                for (name, entry) in entries {
                    match compile_provider(&entry, name.clone()) {
                        Ok(provider) => providers.push(provider),
                        Err(refusals) => {
                            errors.extend(refusals);
                            refused_providers.push(name);
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        let identity_headers = identity_headers(&providers).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let requirement_map = named_requirements(&top, "requirement_map", &providers)
            .unwrap_or_else(|refusals| {
                errors.extend(refused_only_here(refusals, &refused_providers));
                Vec::new()
            });
        let filter_state_rules =
            compile_filter_state_rules(&top, &providers).unwrap_or_else(|refusals| {
                errors.extend(refused_only_here(refusals, &refused_providers));
                None
            });
        let mut rules = Vec::new();
        match top.objects("rules") {
            Ok(raw) if raw.is_empty() => errors.push(error(
                "rules",
                "at least one rule is required: without rules every request is refused",
            )),
            Ok(raw) => {
                for element in raw {
                    match rule::compile(&element, &providers, &requirement_map) {
                        Ok(rule) => rules.push(rule),
                        Err(refusals) => {
                            errors.extend(refused_only_here(refusals, &refused_providers))
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            realm,
            providers,
            rules,
            bypass_cors_preflight,
            identity_headers,
            filter_state,
            requirement_map,
            filter_state_rules,
            strip_failure_response,
        })
    }

    /// The requirement of `requirement_map` called `name`.
    pub fn named_requirement(&self, name: &str) -> Option<&Requirement> {
        self.requirement_map
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, requirement)| requirement)
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
                    KeySource::Remote(RemoteJwks {
                        cluster,
                        location: JwksLocation::Uri(_),
                        ..
                    }) => format!("jwks from cluster {cluster}"),
                    KeySource::Remote(RemoteJwks {
                        cluster,
                        location: JwksLocation::Discovery(_),
                        ..
                    }) => format!("jwks by discovery from cluster {cluster}"),
                    KeySource::Local(set) => format!("{} inline keys", set.len()),
                };
                let algorithms = if p.algorithms == Algorithm::asymmetric() {
                    "any asymmetric algorithm".to_string()
                } else {
                    let names: Vec<&str> = p.algorithms.iter().map(|a| a.name()).collect();
                    names.join(" ")
                };
                format!("{} (issuer {}, {algorithms}, {keys})", p.name, p.issuer)
            })
            .collect();
        format!(
            "{} provider(s): {}; {} rule(s){}",
            self.providers.len(),
            providers.join(", "),
            self.rules.len(),
            if self.bypass_cors_preflight {
                "; CORS preflights pass"
            } else {
                ""
            }
        )
    }
}

// ---- Compilation: JSON -> validated ---------------------------------------------------

/// A provider's configuration, or every error found in it: each field is checked even when
/// another one is refused (the first mistake within each), so `jwt-authz check` lists them
/// in one run.
fn compile_provider(entry: &Element, name: String) -> Result<Provider, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let path = &entry.path;
    let raw = entry.object_collecting(&mut errors).map_err(|e| vec![e])?;
    // Each field is compiled into its place, or its error noted and a placeholder left there:
    // the provider is returned only when no field was refused. (Filling one value in place
    // costs less module than carrying every field in an `Option` to the end.)
    let mut provider = Provider {
        name: keep(&mut errors, compile_provider_name(path, name)).unwrap_or_default(),
        issuer: String::new(),
        audiences: Vec::new(),
        keys: KeySource::Local(KeySet::default()),
        locations: Vec::new(),
        forward: false,
        clock_skew_seconds: 0,
        algorithms: Vec::new(),
        max_token_bytes: 0,
        identity: IdentityHeaders::default(),
        token_cache_size: 0,
        dpop: DpopSettings::default(),
        certificate_binding: CertificateSettings::default(),
        skipped_local_keys: Vec::new(),
        subjects: None,
        max_lifetime_seconds: None,
    };
    let issuer = keep(&mut errors, compile_issuer(&raw));
    set(
        &mut errors,
        &mut provider.audiences,
        compile_audiences(&raw),
    );
    // No keys and no error: discovery from a refused issuer, whose refusal says what to fix.
    if let Some(Some((keys, skipped))) = keep(&mut errors, compile_keys(&raw, issuer.as_deref())) {
        provider.keys = keys;
        provider.skipped_local_keys = skipped;
    }
    provider.issuer = issuer.unwrap_or_default();
    set(
        &mut errors,
        &mut provider.locations,
        compile_locations(&raw),
    );
    // With its token locations refused, identity is still checked, but for clashes with them.
    let identity = compile_identity(&raw, &provider.locations);
    set(&mut errors, &mut provider.identity, identity);
    set(
        &mut errors,
        &mut provider.algorithms,
        compile_algorithms(&raw),
    );
    let max_token_bytes = compile_max_token_bytes(&raw);
    set(&mut errors, &mut provider.max_token_bytes, max_token_bytes);
    let clock_skew_seconds = compile_clock_skew(&raw);
    set(
        &mut errors,
        &mut provider.clock_skew_seconds,
        clock_skew_seconds,
    );
    let token_cache_size = compile_token_cache_size(&raw);
    set(
        &mut errors,
        &mut provider.token_cache_size,
        token_cache_size,
    );
    set(&mut errors, &mut provider.forward, raw.bool("forward"));
    set(&mut errors, &mut provider.dpop, compile_dpop(&raw));
    let certificate_binding = certificate::compile(&raw);
    set(
        &mut errors,
        &mut provider.certificate_binding,
        certificate_binding,
    );
    set(&mut errors, &mut provider.subjects, compile_subjects(&raw));
    let max_lifetime_seconds = compile_max_lifetime(&raw);
    set(
        &mut errors,
        &mut provider.max_lifetime_seconds,
        max_lifetime_seconds,
    );
    keep(&mut errors, compile_require_expiration(&raw));
    if errors.is_empty() {
        let fit = check_local_keys_fit(&raw, &provider.keys, &provider.algorithms);
        keep(&mut errors, fit);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if provider.dpop.mode != DpopMode::Off {
        // RFC 9449 §7.1: a DPoP-bound token comes as `Authorization: DPoP <token>`.
        provider.locations.push(TokenLocation::Header {
            name: "authorization".into(),
            value_prefix: DPOP_PREFIX.into(),
        });
    }
    Ok(provider)
}

/// Puts the value of `result` in `slot`, or adds its error to `errors`.
fn set<T>(errors: &mut Vec<ConfigError>, slot: &mut T, result: Result<T, ConfigError>) {
    match result {
        Ok(value) => *slot = value,
        Err(e) => errors.push(e),
    }
}

/// `subjects`: the `sub` a token must have.
fn compile_subjects(raw: &Object) -> Result<Option<StringMatch>, ConfigError> {
    raw.object("subjects")?
        .map(|matcher| rule::compile_string_match(&matcher))
        .transpose()
}

/// `max_lifetime`: the longest `exp - iat` accepted, whole seconds.
fn compile_max_lifetime(raw: &Object) -> Result<Option<u64>, ConfigError> {
    let Some(text) = raw.string("max_lifetime")? else {
        return Ok(None);
    };
    let lifetime = parse_duration(&text).map_err(|m| error(raw.at("max_lifetime"), m))?;
    if lifetime.is_zero() || lifetime.subsec_nanos() != 0 {
        return Err(error(
            raw.at("max_lifetime"),
            "must be whole seconds, at least 1s (token times are whole seconds)",
        ));
    }
    Ok(Some(lifetime.as_secs()))
}

/// `require_expiration`: accepted as jwt_authn has it, but every token here must expire.
fn compile_require_expiration(raw: &Object) -> Result<(), ConfigError> {
    if raw.has("require_expiration") && !raw.bool("require_expiration")? {
        return Err(error(
            raw.at("require_expiration"),
            "cannot be false: jwt-authz refuses every token without exp (a token that never expires cannot be revoked); remove the field or set it to true",
        ));
    }
    Ok(())
}

/// The value of `result`, or `None` with its error added to `errors`.
fn keep<T>(errors: &mut Vec<ConfigError>, result: Result<T, ConfigError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// Every value of `results`, or `None` with all their errors added to `errors`.
fn keep_all<T>(
    errors: &mut Vec<ConfigError>,
    results: impl Iterator<Item = Result<T, ConfigError>>,
) -> Option<Vec<T>> {
    let before = errors.len();
    let values: Vec<T> = results.filter_map(|r| keep(errors, r)).collect();
    (errors.len() == before).then_some(values)
}

fn compile_provider_name(path: &str, name: String) -> Result<String, ConfigError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(error(
            path,
            "provider names are letters, digits, '_' and '-' (they become metric names)",
        ));
    }
    Ok(name)
}

fn compile_issuer(raw: &Object) -> Result<String, ConfigError> {
    let issuer = raw.required_string("issuer")?;
    if issuer.is_empty() {
        return Err(error(raw.at("issuer"), "must not be empty"));
    }
    Ok(issuer)
}

fn compile_audiences(raw: &Object) -> Result<Vec<String>, ConfigError> {
    let audiences = raw.strings("audiences")?;
    if audiences.is_empty() {
        return Err(error(
            raw.at("audiences"),
            "at least one audience is required, so that tokens minted for other APIs of the same issuer are refused",
        ));
    }
    if let Some(i) = audiences.iter().position(String::is_empty) {
        return Err(error(raw.at_index("audiences", i), "must not be empty"));
    }
    Ok(audiences)
}

/// Where the keys come from. `None` (and no error) when discovery would derive its address
/// from an issuer that was itself refused: that refusal already says what to fix.
fn compile_keys(
    raw: &Object,
    issuer: Option<&str>,
) -> Result<Option<(KeySource, Vec<String>)>, ConfigError> {
    let remote = raw.object("remote_jwks")?;
    let discovery = raw.object("oidc_discovery")?;
    let local = raw.object("local_jwks")?;
    let keys = match (remote, discovery, local) {
        (Some(remote), None, None) => (KeySource::Remote(compile_remote_jwks(&remote)?), vec![]),
        (None, Some(discovery), None) => match compile_discovery(issuer, &discovery)? {
            Some(remote) => (KeySource::Remote(remote), vec![]),
            None => return Ok(None),
        },
        (None, None, Some(local)) => {
            let parsed = jwks::parse_from(
                local.required_string("inline_string")?.as_bytes(),
                if names_hmac(raw) {
                    jwks::Origin::LocalWithHmac
                } else {
                    jwks::Origin::Local
                },
            )
            .map_err(|e| error(local.at("inline_string"), e.to_string()))?;
            let at = local.at("inline_string");
            let skipped = parsed
                .skipped
                .iter()
                .map(|s| format!("{at}: {s}"))
                .collect();
            (KeySource::Local(parsed.keys), skipped)
        }
        (None, None, None) => {
            return Err(error(
                raw.path(),
                "one of remote_jwks, oidc_discovery or local_jwks is required",
            ));
        }
        _ => {
            return Err(error(
                raw.path(),
                "give only one of remote_jwks, oidc_discovery or local_jwks",
            ));
        }
    };
    Ok(Some(keys))
}

/// The provider's `algorithms`; omitted, every asymmetric one (its keys then decide). `none`
/// is never allowed, and HMAC only with local keys.
fn compile_algorithms(raw: &Object) -> Result<Vec<Algorithm>, ConfigError> {
    if !raw.has("algorithms") {
        return Ok(Algorithm::asymmetric());
    }
    let names = raw.strings("algorithms")?;
    if names.is_empty() {
        return Err(error(
            raw.at("algorithms"),
            "must list at least one algorithm",
        ));
    }
    let local = raw.has("local_jwks");
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let path = raw.at_index("algorithms", i);
            if name.eq_ignore_ascii_case("none") {
                return Err(error(
                    path,
                    "\"none\" is never allowed: every token must be signed",
                ));
            }
            let algorithm = Algorithm::from_name(name).ok_or_else(|| {
                error(
                    &path,
                    format!(
                        "unsupported algorithm {name:?}: supported are {}",
                        Algorithm::ALL.map(Algorithm::name).join(", ")
                    ),
                )
            })?;
            if algorithm.is_symmetric() && !local {
                return Err(error(
                    path,
                    format!(
                        "{algorithm} needs local_jwks: an HMAC secret is never fetched over the network"
                    ),
                ));
            }
            Ok(algorithm)
        })
        .collect()
}

/// Whether `algorithms` names an HS algorithm explicitly: only then may local keys hold HMAC
/// secrets.
fn names_hmac(raw: &Object) -> bool {
    raw.strings("algorithms").is_ok_and(|names| {
        names
            .iter()
            .any(|n| Algorithm::from_name(n).is_some_and(Algorithm::is_symmetric))
    })
}

/// Local keys must verify at least one of the provider's algorithms, or no token ever passes.
fn check_local_keys_fit(
    raw: &Object,
    keys: &KeySource,
    algorithms: &[Algorithm],
) -> Result<(), ConfigError> {
    match keys {
        KeySource::Local(set) if !algorithms.iter().any(|a| set.verifies(*a)) => {
            let names: Vec<&str> = algorithms.iter().map(|a| a.name()).collect();
            Err(error(
                format!("{}.inline_string", raw.at("local_jwks")),
                format!(
                    "no key verifies any of the provider's algorithms ({})",
                    names.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// The provider's `dpop` settings; absent, DPoP is off (and DPoP-bound tokens refused).
fn compile_dpop(provider: &Object) -> Result<DpopSettings, ConfigError> {
    let Some(raw) = provider.object("dpop")? else {
        return Ok(DpopSettings::default());
    };
    let mode = match raw.string("mode")?.as_deref() {
        None | Some("off") => DpopMode::Off,
        Some("allowed") => DpopMode::Allowed,
        Some("required") => DpopMode::Required,
        Some(other) => {
            return Err(error(
                raw.at("mode"),
                format!("{other:?} is not a mode: off, allowed or required"),
            ));
        }
    };
    let algorithms = if raw.has("algorithms") {
        let names = raw.strings("algorithms")?;
        if names.is_empty() {
            return Err(error(
                raw.at("algorithms"),
                "must list at least one algorithm",
            ));
        }
        let mut algorithms = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let path = raw.at_index("algorithms", i);
            match Algorithm::from_name(name) {
                Some(a) if a.is_symmetric() => {
                    return Err(error(
                        path,
                        format!(
                            "{a} cannot sign a proof: a proof is signed with the client's private key and checked with its public jwk"
                        ),
                    ));
                }
                Some(a) => algorithms.push(a),
                None => {
                    let asymmetric: Vec<&str> =
                        Algorithm::asymmetric().iter().map(|a| a.name()).collect();
                    return Err(error(
                        path,
                        format!(
                            "unsupported proof algorithm {name:?}: supported are {}",
                            asymmetric.join(", ")
                        ),
                    ));
                }
            }
        }
        algorithms
    } else {
        Algorithm::asymmetric()
    };
    let max_age_seconds = match raw.string("max_age")? {
        None => settings::DEFAULT_MAX_AGE_SECONDS,
        Some(text) => {
            let age = parse_duration(&text).map_err(|m| error(raw.at("max_age"), m))?;
            if age < Duration::from_secs(1)
                || age > Duration::from_secs(settings::MAX_MAX_AGE_SECONDS)
            {
                return Err(error(
                    raw.at("max_age"),
                    format!("must be between 1s and {}s", settings::MAX_MAX_AGE_SECONDS),
                ));
            }
            age.as_secs()
        }
    };
    let public_origin = match raw.string("public_origin")? {
        None => None,
        Some(origin) => {
            let normal = uri::normalise(&origin)
                .filter(|n| n.ends_with('/') && !origin.contains(['?', '#']))
                .and_then(|n| n.strip_suffix('/').map(str::to_string))
                .filter(|n| n.matches('/').count() == 2);
            match normal {
                Some(normal) => Some(normal),
                None => {
                    return Err(error(
                        raw.at("public_origin"),
                        format!(
                            "{origin:?} is not an origin: scheme http or https and a host, with an optional port, and nothing after it (https://api.example.com)"
                        ),
                    ));
                }
            }
        }
    };
    let nonce_period_seconds = match raw.string("nonce_period")? {
        None => None,
        Some(text) => {
            let period = parse_duration(&text).map_err(|m| error(raw.at("nonce_period"), m))?;
            let bounds = settings::MIN_NONCE_PERIOD_SECONDS..=settings::MAX_NONCE_PERIOD_SECONDS;
            if period.subsec_nanos() != 0 || !bounds.contains(&period.as_secs()) {
                return Err(error(
                    raw.at("nonce_period"),
                    format!(
                        "must be whole seconds between {}s and {}s",
                        settings::MIN_NONCE_PERIOD_SECONDS,
                        settings::MAX_NONCE_PERIOD_SECONDS
                    ),
                ));
            }
            Some(period.as_secs())
        }
    };
    let mut dpop = DpopSettings::new(mode, algorithms, max_age_seconds, public_origin);
    dpop.nonce_period_seconds = nonce_period_seconds;
    Ok(dpop)
}

fn compile_max_token_bytes(raw: &Object) -> Result<usize, ConfigError> {
    let max_token_bytes = raw
        .u64("max_token_bytes")?
        .map_or(DEFAULT_MAX_TOKEN_BYTES, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
    if !(1..=MAX_TOKEN_BYTES_LIMIT).contains(&max_token_bytes) {
        return Err(error(
            raw.at("max_token_bytes"),
            format!("must be between 1 and {MAX_TOKEN_BYTES_LIMIT}"),
        ));
    }
    Ok(max_token_bytes)
}

fn compile_clock_skew(raw: &Object) -> Result<u64, ConfigError> {
    let clock_skew_seconds = raw
        .u64("clock_skew_seconds")?
        .unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS);
    if clock_skew_seconds > 86_400 {
        return Err(error(raw.at("clock_skew_seconds"), "must be at most 86400"));
    }
    Ok(clock_skew_seconds)
}

fn compile_token_cache_size(raw: &Object) -> Result<usize, ConfigError> {
    let Some(cache) = raw.object("jwt_cache_config")? else {
        return Ok(DEFAULT_TOKEN_CACHE_SIZE);
    };
    let size = cache
        .u64("jwt_cache_size")?
        .map_or(DEFAULT_TOKEN_CACHE_SIZE, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
    if size > MAX_TOKEN_CACHE_SIZE {
        return Err(error(
            cache.at("jwt_cache_size"),
            format!("must be at most {MAX_TOKEN_CACHE_SIZE}"),
        ));
    }
    Ok(size)
}

/// The fetch timings shared by `remote_jwks` and `oidc_discovery`.
struct Timings {
    timeout: Duration,
    cache_duration: Duration,
    min_refetch_interval: Duration,
}

fn compile_timings(
    at: &Object,
    timeout_path: String,
    timeout: Option<String>,
) -> Result<Timings, ConfigError> {
    let duration = |path: String, value: Option<String>, default: Duration| match value {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|m| error(path, m)),
    };
    let timings = Timings {
        timeout: duration(timeout_path.clone(), timeout, DEFAULT_FETCH_TIMEOUT)?,
        cache_duration: duration(
            at.at("cache_duration"),
            at.string("cache_duration")?,
            DEFAULT_CACHE_DURATION,
        )?,
        min_refetch_interval: duration(
            at.at("min_refetch_interval"),
            at.string("min_refetch_interval")?,
            DEFAULT_MIN_REFETCH_INTERVAL,
        )?,
    };
    for (path, value) in [
        (timeout_path.clone(), timings.timeout),
        (at.at("cache_duration"), timings.cache_duration),
    ] {
        if value.is_zero() {
            return Err(error(path, "must be greater than zero"));
        }
    }
    if timings.min_refetch_interval < Duration::from_secs(1) {
        return Err(error(
            at.at("min_refetch_interval"),
            "must be at least 1s: unknown kids must not keep the issuer busy",
        ));
    }
    if timings.timeout > Duration::from_secs(60) {
        return Err(error(
            timeout_path,
            "must be at most 60s: requests wait for it",
        ));
    }
    Ok(timings)
}

fn compile_cluster(at: &Object, name: &str) -> Result<String, ConfigError> {
    let cluster = at.required_string(name)?;
    if cluster.is_empty() {
        return Err(error(at.at(name), "must not be empty"));
    }
    Ok(cluster)
}

fn compile_remote_jwks(remote: &Object) -> Result<RemoteJwks, ConfigError> {
    let http_uri = remote.required_object("http_uri")?;
    let endpoint = Endpoint::parse(&http_uri.required_string("uri")?)
        .map_err(|m| error(http_uri.at("uri"), m))?;
    let cluster = compile_cluster(&http_uri, "cluster")?;
    let timings = compile_timings(remote, http_uri.at("timeout"), http_uri.string("timeout")?)?;
    Ok(RemoteJwks {
        cluster,
        location: JwksLocation::Uri(endpoint),
        timeout: timings.timeout,
        cache_duration: timings.cache_duration,
        min_refetch_interval: timings.min_refetch_interval,
    })
}

/// `None` when the document's address would come from a refused issuer (the rest is
/// still checked).
fn compile_discovery(
    issuer: Option<&str>,
    discovery: &Object,
) -> Result<Option<RemoteJwks>, ConfigError> {
    let address = match (discovery.string("uri")?, issuer) {
        (Some(uri), _) => Some((discovery.at("uri"), uri)),
        (None, Some(issuer)) => Some((
            discovery.at("(from issuer)"),
            discovery::document_uri(issuer),
        )),
        (None, None) => None,
    };
    let endpoint = address
        .map(|(path, uri)| Endpoint::parse(&uri).map_err(|m| error(path, m)))
        .transpose()?;
    let cluster = compile_cluster(discovery, "cluster")?;
    let timings = compile_timings(
        discovery,
        discovery.at("timeout"),
        discovery.string("timeout")?,
    )?;
    Ok(endpoint.map(|endpoint| RemoteJwks {
        cluster,
        location: JwksLocation::Discovery(endpoint),
        timeout: timings.timeout,
        cache_duration: timings.cache_duration,
        min_refetch_interval: timings.min_refetch_interval,
    }))
}

fn compile_locations(provider: &Object) -> Result<Vec<TokenLocation>, ConfigError> {
    let headers = provider.objects("from_headers")?;
    let params = provider.strings("from_params")?;
    let cookies = provider.strings("from_cookies")?;
    if headers.is_empty() && params.is_empty() && cookies.is_empty() {
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
    for element in headers {
        let header = element.object()?;
        let name = header_name(&header.at("name"), &header.required_string("name")?)?;
        locations.push(TokenLocation::Header {
            name,
            value_prefix: header.string("value_prefix")?.unwrap_or_default(),
        });
    }
    for (i, param) in params.into_iter().enumerate() {
        if param.is_empty() || param.contains(['&', '=', '#', '?']) {
            return Err(error(
                provider.at_index("from_params", i),
                format!("{param:?} is not a valid query parameter name"),
            ));
        }
        locations.push(TokenLocation::Param(param));
    }
    for (i, cookie) in cookies.into_iter().enumerate() {
        // RFC 6265 §4.1.1: a cookie-name is an HTTP token.
        if cookie.is_empty() || !cookie.bytes().all(is_header_name_byte) {
            return Err(error(
                provider.at_index("from_cookies", i),
                format!("{cookie:?} is not a valid cookie name"),
            ));
        }
        locations.push(TokenLocation::Cookie(cookie));
    }
    Ok(locations)
}

fn compile_identity(
    provider: &Object,
    locations: &[TokenLocation],
) -> Result<IdentityHeaders, ConfigError> {
    let mut identity = IdentityHeaders {
        pad_payload: provider.bool("pad_forward_payload_header")?,
        ..IdentityHeaders::default()
    };
    for element in provider.objects("claim_to_headers")? {
        let entry = element.object()?;
        let header = header_name(
            &entry.at("header_name"),
            &entry.required_string("header_name")?,
        )?;
        let claim = entry.required_string("claim_name")?;
        if claim.is_empty() {
            return Err(error(entry.at("claim_name"), "must not be empty"));
        }
        identity
            .claim_to_headers
            .push(ClaimToHeader { header, claim });
    }
    if let Some(name) = provider.string("forward_payload_header")? {
        identity.payload_header = Some(header_name(&provider.at("forward_payload_header"), &name)?);
    }
    let path = provider.path();
    let mut seen: Vec<&str> = Vec::new();
    for name in identity.names() {
        if seen.contains(&name) {
            return Err(error(
                &path,
                format!("header {name:?} is set twice by this provider"),
            ));
        }
        // Many upstream frameworks read `x_user_id` as `x-user-id`: client copies are removed
        // by their dashed spelling, so identity headers are named with dashes only.
        if name.contains('_') {
            return Err(error(
                &path,
                format!(
                    "header {name:?} has an underscore: name identity headers with dashes (upstreams read _ and - alike)"
                ),
            ));
        }
        let is_token_header = locations
            .iter()
            .any(|l| matches!(l, TokenLocation::Header { name: n, .. } if n == name));
        if is_token_header || RESERVED_HEADERS.contains(&name) {
            return Err(error(
                &path,
                format!("header {name:?} cannot carry identity: the filter or Envoy owns it"),
            ));
        }
        seen.push(name);
    }
    Ok(identity)
}

/// Headers identity must never overwrite.
const RESERVED_HEADERS: [&str; 8] = [
    "authorization",
    "cookie",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
];

/// The union of every provider's identity headers, in order, without repeats.
fn identity_headers(providers: &[Provider]) -> Result<Vec<String>, ConfigError> {
    let mut names: Vec<String> = Vec::new();
    for provider in providers {
        for name in provider.identity.names() {
            let used_for_tokens = providers.iter().any(|p| {
                p.locations
                    .iter()
                    .any(|l| matches!(l, TokenLocation::Header { name: n, .. } if n == name))
            });
            if used_for_tokens {
                return Err(error(
                    format!("providers.{}", provider.name),
                    format!("header {name:?} is where another provider reads its token"),
                ));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    Ok(names)
}

/// A request header name, lower-cased; pseudo-headers refused.
#[inline(never)]
fn header_name(path: &str, name: &str) -> Result<String, ConfigError> {
    if name.is_empty() || !name.bytes().all(is_header_name_byte) {
        return Err(error(path, format!("{name:?} is not a valid header name")));
    }
    Ok(name.to_ascii_lowercase())
}

/// Parses a protobuf JSON duration: decimal seconds with an `s` suffix ("600s", "1.5s").
#[inline(never)]
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

/// Safe inside an RFC 7235 quoted-string without escaping.
fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
pub(crate) mod tests {
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
        assert_eq!(p.algorithms, Algorithm::asymmetric());
        let KeySource::Remote(remote) = &p.keys else {
            panic!("remote expected")
        };
        let JwksLocation::Uri(endpoint) = &remote.location else {
            panic!("uri expected")
        };
        assert_eq!(endpoint.authority, "tenant.us.auth0.com");
        assert_eq!(endpoint.path, "/.well-known/jwks.json");
        assert_eq!(remote.cluster, "auth0_jwks");
        assert_eq!(remote.timeout, Duration::from_secs(5));
        assert_eq!(remote.cache_duration, Duration::from_secs(600));
        assert_eq!(config.rules.len(), 4);
        assert_eq!(config.rules[2].access.all_scopes, vec!["read:messages"]);
        assert_eq!(config.rules[0].requirement, None);
        assert!(!config.bypass_cors_preflight);
        assert!(config.identity_headers.is_empty());
    }

    #[test]
    fn check_reports_every_error_of_every_provider_and_rule() {
        let json = r#"{
          "realm": "a\"b",
          "providers": {
            "good": {"issuer": "https://g/", "audiences": ["a"], "remote_jwks": {"http_uri": {"uri": "https://g/jwks", "cluster": "g"}}},
            "bad_timeout": {"issuer": "https://b/", "audiences": ["a"], "remote_jwks": {"http_uri": {"uri": "https://b/jwks", "cluster": "b", "timeout": "5"}}},
            "no_audience": {"issuer": "https://n/", "audiences": [], "oidc_discovery": {"cluster": "n"}},
            "many": {"issuer": "", "audiences": [""], "oidc_discovery": {"cluster": ""}, "algorithms": ["HS256"], "max_token_bytes": 0, "clock_skew_seconds": -1, "forward": "yes", "from_params": ["a=b"], "jwt_cache_config": {"jwt_cache_size": 1e9}, "claim_to_header": [], "claim_to_headers": [{"header_name": "x-a"}]}
          },
          "rules": [
            {"match": {"prefix": "/a"}, "requires": {"provider_name": "bad_timeout"}},
            {"match": {"prefix": "b", "methods": ["get"], "headers": [{"name": "x"}, {"name": "y", "bogus": 1}]}, "requires": {"provider_name": "good"}, "required_scopes": [""], "required_claims": [{"name": "c"}, 7]},
            {"match": {"prefix": "/m"}, "requires": {"provider_name": "many"}},
            {"match": {"prefix": "/c"}, "requires": {"provider_name": "typo"}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "good"}}
          ],
          "rule": [],
          "extra": 1
        }"#;
        let errors = Config::check_json(json.as_bytes()).expect_err("refused");
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "extra: unknown field `extra`, expected one of `providers`, `rules`, `requirement_map`, `filter_state_rules`, `realm`, `bypass_cors_preflight`, `strip_failure_response`, `filter_state`",
                "rule: unknown field `rule`, expected one of `providers`, `rules`, `requirement_map`, `filter_state_rules`, `realm`, `bypass_cors_preflight`, `strip_failure_response`, `filter_state`",
                "realm: must be non-empty printable ASCII without quotes or backslashes",
                "providers.bad_timeout.remote_jwks.http_uri.timeout: invalid duration \"5\": expected seconds like \"5s\" or \"1.5s\"",
                "providers.many.claim_to_header: unknown field `claim_to_header`, expected one of `issuer`, `audiences`, `remote_jwks`, `oidc_discovery`, `local_jwks`, `from_headers`, `from_params`, `from_cookies`, `forward`, `clock_skew_seconds`, `algorithms`, `max_token_bytes`, `claim_to_headers`, `forward_payload_header`, `pad_forward_payload_header`, `jwt_cache_config`, `dpop`, `certificate_binding`, `subjects`, `max_lifetime`, `require_expiration`",
                "providers.many.issuer: must not be empty",
                "providers.many.audiences[0]: must not be empty",
                "providers.many.oidc_discovery.cluster: must not be empty",
                "providers.many.from_params[0]: \"a=b\" is not a valid query parameter name",
                "providers.many.claim_to_headers[0]: missing field `claim_name`",
                "providers.many.algorithms[0]: HS256 needs local_jwks: an HMAC secret is never fetched over the network",
                "providers.many.max_token_bytes: must be between 1 and 65536",
                "providers.many.clock_skew_seconds: must be a non-negative integer, not a number",
                "providers.many.jwt_cache_config.jwt_cache_size: must be a non-negative integer, not a number",
                "providers.many.forward: must be a boolean, not a string",
                "providers.no_audience.audiences: at least one audience is required, so that tokens minted for other APIs of the same issuer are refused",
                "rules[1].match.prefix: \"b\" must start with '/'",
                "rules[1].match.headers[0]: give exactly one of exact_match, prefix_match or present_match",
                "rules[1].match.headers[1].bogus: unknown field `bogus`, expected one of `name`, `exact_match`, `prefix_match`, `present_match`, `invert_match`",
                "rules[1].match.methods[0]: \"get\" is not a method name (upper-case letters, like \"GET\")",
                "rules[1].required_scopes[0]: \"\" is not a valid scope (RFC 6749: printable ASCII, no spaces, quotes or backslashes)",
                "rules[1].required_claims[0]: give exactly one of equals, one_of or contains",
                "rules[1].required_claims[1]: must be an object, not a number",
                "rules[3].requires.provider_name: no provider is called \"typo\"",
            ]
        );
        assert_eq!(
            Config::from_json(json.as_bytes()).expect_err("refused"),
            errors[0],
            "the filter logs the first error"
        );
    }

    #[test]
    fn check_accepts_what_from_json_accepts() {
        assert!(Config::check_json(EXAMPLE.as_bytes()).is_ok());
        let errors = Config::check_json(b"[]").expect_err("not an object");
        assert_eq!(errors.len(), 1);
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
    fn an_empty_member_name_is_named_in_the_path() {
        // Found by the config fuzz target: the path was empty.
        let e = refused(r#"{"": 1, "rules": [{"match": {"prefix": "/"}}]}"#);
        assert_eq!(e.path, "\"\"");
        assert!(
            e.message.starts_with("unknown field ``, expected one of"),
            "{e}"
        );
        let e = refused(&with_provider(r#""": 1"#));
        assert_eq!(e.path, "providers.p.\"\"");
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
            "one of remote_jwks, oidc_discovery or local_jwks is required"
        );
        let both = format!("{REMOTE}, \"local_jwks\": {{\"inline_string\": \"{{}}\"}}");
        assert_eq!(
            refused(&with_provider(&both)).message,
            "give only one of remote_jwks, oidc_discovery or local_jwks"
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
    fn none_unknown_names_and_hmac_with_remote_keys_are_refused() {
        for (alg, message) in [
            (
                "none",
                "\"none\" is never allowed: every token must be signed",
            ),
            (
                "None",
                "\"none\" is never allowed: every token must be signed",
            ),
            (
                "HS256",
                "HS256 needs local_jwks: an HMAC secret is never fetched over the network",
            ),
            (
                "ES256K",
                "unsupported algorithm \"ES256K\": supported are RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519, HS256, HS384, HS512",
            ),
        ] {
            let e = refused(&with_provider(&format!(
                "{REMOTE}, \"algorithms\": [\"{alg}\"]"
            )));
            assert_eq!(e.path, "providers.p.algorithms[0]");
            assert_eq!(e.message, message);
        }
    }

    fn local_jwks(jwks: &serde_json::Value, algorithms: &str) -> String {
        let inline = serde_json::to_string(&jwks.to_string()).unwrap();
        with_provider(&format!(
            "\"local_jwks\": {{\"inline_string\": {inline}}}, \"algorithms\": {algorithms}"
        ))
    }

    #[test]
    fn hmac_secrets_are_taken_only_when_the_provider_names_hs() {
        use crate::jose::algorithm::KeyKind;
        let secret =
            serde_json::json!({"keys": [crate::jose::test_signers::jwk(KeyKind::Hmac, "s")]});
        let config = Config::from_json(local_jwks(&secret, r#"["HS256"]"#).as_bytes()).unwrap();
        let KeySource::Local(keys) = &config.providers[0].keys else {
            panic!("local keys")
        };
        assert!(keys.verifies(Algorithm::HS256));
        let e = refused(&local_jwks(&secret, r#"["ES256"]"#));
        assert_eq!(e.path, "providers.p.local_jwks.inline_string");
        assert_eq!(
            e.message,
            "JWKS has no usable key: key 0 (kid \"s\") skipped: oct (HMAC) key, but the provider's algorithms name no HS algorithm"
        );
    }

    #[test]
    fn local_keys_left_out_are_named_with_their_reason() {
        use crate::jose::algorithm::KeyKind;
        let good = crate::jose::test_signers::jwk(KeyKind::Ed25519, "good");
        let jwks = serde_json::json!({"keys": [good, {"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"}]});
        let config = Config::from_json(local_jwks(&jwks, r#"["EdDSA"]"#).as_bytes()).unwrap();
        assert_eq!(
            config.providers[0].skipped_local_keys,
            vec![
                "providers.p.local_jwks.inline_string: key 1 (kid \"k1\") skipped: crv \"secp256k1\" is not supported"
            ]
        );
    }

    #[test]
    fn local_keys_must_verify_one_of_the_algorithms() {
        use crate::jose::algorithm::KeyKind;
        let ec = serde_json::json!({"keys": [crate::jose::test_signers::jwk(KeyKind::Ec(crate::crypto::ecdsa::Curve::P256), "e")]});
        let e = refused(&local_jwks(&ec, r#"["RS256", "ES384"]"#));
        assert_eq!(e.path, "providers.p.local_jwks.inline_string");
        assert_eq!(
            e.message,
            "no key verifies any of the provider's algorithms (RS256, ES384)"
        );
        assert!(Config::from_json(local_jwks(&ec, r#"["ES256"]"#).as_bytes()).is_ok());
    }

    #[test]
    fn invalid_scope_is_refused() {
        let e = refused(&EXAMPLE.replace("\"read:messages\"", "\"read messages\""));
        assert_eq!(e.path, "rules[2].required_scopes[0]");
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
    fn duplicate_members_and_syntax_errors_are_refused_with_their_place() {
        let e = refused(r#"{"rules": [], "rules": []}"#);
        assert_eq!(e.path, "(root)");
        assert!(
            e.message.starts_with("duplicate member name at line 1"),
            "{e}"
        );
        let e = refused("{\n  \"rules\": [\n}");
        assert!(e.message.contains("line 3 column 1"), "{e}");
        assert_eq!(refused("[]").message, "must be a JSON object");
    }

    #[test]
    fn wrong_types_say_what_was_expected_but_never_echo_the_value() {
        let e = refused(&with_provider(&format!(
            "{REMOTE}, \"clock_skew_seconds\": -5"
        )));
        assert_eq!(e.path, "providers.p.clock_skew_seconds");
        assert_eq!(e.message, "must be a non-negative integer, not a number");
        let e = refused(&with_provider(&format!(
            "{REMOTE}, \"from_params\": [\"a\", 7]"
        )));
        assert_eq!(e.path, "providers.p.from_params[1]");
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": "https://i/jwks"}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.http_uri");
        assert_eq!(e.message, "must be an object, not a string");
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": {"cluster": "c"}}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.http_uri");
        assert_eq!(e.message, "missing field `uri`");
    }

    #[test]
    fn refetch_interval_has_a_floor() {
        let e = refused(&with_provider(
            r#""remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c"}, "min_refetch_interval": "0.5s"}"#,
        ));
        assert_eq!(e.path, "providers.p.remote_jwks.min_refetch_interval");
    }

    #[test]
    fn token_cache_size_defaults_and_is_bounded() {
        let config = Config::from_json(with_provider(REMOTE).as_bytes()).unwrap();
        assert_eq!(
            config.providers[0].token_cache_size,
            DEFAULT_TOKEN_CACHE_SIZE
        );
        let off = with_provider(&format!(
            r#"{REMOTE}, "jwt_cache_config": {{"jwt_cache_size": 0}}"#
        ));
        assert_eq!(
            Config::from_json(off.as_bytes()).unwrap().providers[0].token_cache_size,
            0
        );
        let e = refused(&with_provider(&format!(
            r#"{REMOTE}, "jwt_cache_config": {{"jwt_cache_size": 65537}}"#
        )));
        assert_eq!(e.path, "providers.p.jwt_cache_config.jwt_cache_size");
    }

    #[test]
    fn discovery_needs_only_the_issuer_and_a_cluster() {
        let config = Config::from_json(
            with_provider(r#""oidc_discovery": {"cluster": "auth0"}"#)
                .replace("https://i/", "https://tenant.auth0.com/")
                .as_bytes(),
        )
        .unwrap();
        let KeySource::Remote(remote) = &config.providers[0].keys else {
            panic!("remote expected")
        };
        assert_eq!(remote.cluster, "auth0");
        assert_eq!(remote.timeout, DEFAULT_FETCH_TIMEOUT);
        assert_eq!(
            remote.location,
            JwksLocation::Discovery(
                Endpoint::parse("https://tenant.auth0.com/.well-known/openid-configuration")
                    .unwrap()
            )
        );
        assert!(
            config
                .summary()
                .contains("jwks by discovery from cluster auth0")
        );
    }

    #[test]
    fn discovery_fields_are_checked_like_remote_jwks() {
        let e = refused(&with_provider(r#""oidc_discovery": {"cluster": ""}"#));
        assert_eq!(e.path, "providers.p.oidc_discovery.cluster");
        let e = refused(&with_provider(
            r#""oidc_discovery": {"cluster": "c", "timeout": "0s"}"#,
        ));
        assert_eq!(e.path, "providers.p.oidc_discovery.timeout");
        let e = refused(&with_provider(
            r#""oidc_discovery": {"cluster": "c", "uri": "idp/x"}"#,
        ));
        assert_eq!(e.path, "providers.p.oidc_discovery.uri");
        let e = refused(&with_provider(&format!(
            r#"{REMOTE}, "oidc_discovery": {{"cluster": "c"}}"#
        )));
        assert_eq!(
            e.message,
            "give only one of remote_jwks, oidc_discovery or local_jwks"
        );
    }

    #[test]
    fn provider_names_must_be_metric_safe() {
        let json = with_provider(REMOTE).replace("\"p\": {", "\"p.q\": {");
        let e = refused(&json);
        assert_eq!(e.path, "providers.p.q");
        assert!(e.message.contains("metric names"), "{e}");
    }

    #[test]
    fn identity_headers_compile_lower_case_and_are_collected() {
        let config = Config::from_json(
            with_provider(&format!(
                r#"{REMOTE}, "claim_to_headers": [{{"header_name": "X-User-Id", "claim_name": "sub"}},
                   {{"header_name": "x-email", "claim_name": "https://example.com/email"}}],
                   "forward_payload_header": "x-jwt-payload", "pad_forward_payload_header": true"#
            ))
            .as_bytes(),
        )
        .unwrap();
        let identity = &config.providers[0].identity;
        assert_eq!(identity.claim_to_headers[0].header, "x-user-id");
        assert_eq!(
            identity.claim_to_headers[1].claim,
            "https://example.com/email"
        );
        assert!(identity.pad_payload);
        assert_eq!(
            config.identity_headers,
            vec!["x-user-id", "x-email", "x-jwt-payload"]
        );
    }

    #[test]
    fn identity_headers_cannot_take_over_token_or_framing_headers() {
        for (fields, message) in [
            (
                r#""claim_to_headers": [{"header_name": "authorization", "claim_name": "sub"}]"#,
                "cannot carry identity",
            ),
            (
                r#""forward_payload_header": "content-length""#,
                "cannot carry identity",
            ),
            (
                r#""claim_to_headers": [{"header_name": "x-a", "claim_name": "sub"}], "forward_payload_header": "x-a""#,
                "set twice",
            ),
            (
                r#""claim_to_headers": [{"header_name": "x a", "claim_name": "sub"}]"#,
                "not a valid header name",
            ),
            (
                r#""claim_to_headers": [{"header_name": "x-a", "claim_name": ""}]"#,
                "must not be empty",
            ),
            (
                r#""claim_to_headers": [{"header_name": "x_user_id", "claim_name": "sub"}]"#,
                "has an underscore",
            ),
            (r#""forward_payload_header": "x_jwt""#, "has an underscore"),
        ] {
            let e = refused(&with_provider(&format!("{REMOTE}, {fields}")));
            assert!(e.message.contains(message), "{fields}: {e}");
        }
        let e = refused(&with_provider(&format!(
            r#"{REMOTE}, "from_headers": [{{"name": "x-token"}}], "claim_to_headers": [{{"header_name": "x-token", "claim_name": "sub"}}]"#
        )));
        assert!(e.message.contains("cannot carry identity"), "{e}");
    }

    #[test]
    fn identity_header_of_one_provider_cannot_be_the_token_header_of_another() {
        let jwks = inline_jwks();
        let json = serde_json::json!({
            "providers": {
                "a": {"issuer": "https://a/", "audiences": ["x"], "local_jwks": {"inline_string": jwks},
                      "claim_to_headers": [{"header_name": "x-staff-token", "claim_name": "sub"}]},
                "b": {"issuer": "https://b/", "audiences": ["x"], "local_jwks": {"inline_string": jwks},
                      "from_headers": [{"name": "x-staff-token"}]}
            },
            "rules": [{"match": {"prefix": "/"}}]
        })
        .to_string();
        let e = refused(&json);
        assert_eq!(e.path, "providers.a");
        assert!(
            e.message.contains("another provider reads its token"),
            "{e}"
        );
    }

    /// A one-key JWKS, generated once (key generation is slow).
    pub(crate) fn inline_jwks() -> String {
        static JWKS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        JWKS.get_or_init(|| {
            let key = devidp::KeyPair::generate("k1").unwrap();
            serde_json::json!({"keys": [key.public_jwk()]}).to_string()
        })
        .clone()
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

    #[test]
    fn jwt_authn_provider_fields_are_checked_with_their_path() {
        for (fields, path, message) in [
            (
                r#""from_cookies": ["a b"]"#,
                "providers.p.from_cookies[0]",
                "\"a b\" is not a valid cookie name",
            ),
            (
                r#""from_cookies": [""]"#,
                "providers.p.from_cookies[0]",
                "\"\" is not a valid cookie name",
            ),
            (
                r#""subjects": {"prefix": "a", "suffix": "b"}"#,
                "providers.p.subjects",
                "give exactly one of exact, prefix, suffix, contains or safe_regex",
            ),
            (
                r#""subjects": {}"#,
                "providers.p.subjects",
                "give exactly one of exact, prefix, suffix, contains or safe_regex",
            ),
            (
                r#""subjects": {"contains": ""}"#,
                "providers.p.subjects.contains",
                "must not be empty",
            ),
            (
                r#""subjects": {"exact": ""}"#,
                "providers.p.subjects.exact",
                "must not be empty",
            ),
            (
                r#""subjects": {"safe_regex": {"regex": "a.*"}, "ignore_case": true}"#,
                "providers.p.subjects.ignore_case",
                "does not apply to safe_regex: write (?i) in the pattern",
            ),
            (
                r#""subjects": {"safe_regex": {"regex": "(a"}}"#,
                "providers.p.subjects.safe_regex.regex",
                "invalid regex",
            ),
            (
                r#""subjects": {"exact": 7}"#,
                "providers.p.subjects.exact",
                "must be a string, not a number",
            ),
            (
                r#""max_lifetime": "0s""#,
                "providers.p.max_lifetime",
                "must be whole seconds, at least 1s (token times are whole seconds)",
            ),
            (
                r#""max_lifetime": "1.5s""#,
                "providers.p.max_lifetime",
                "must be whole seconds, at least 1s (token times are whole seconds)",
            ),
            (
                r#""max_lifetime": "1h""#,
                "providers.p.max_lifetime",
                "invalid duration \"1h\"",
            ),
            (
                r#""require_expiration": false"#,
                "providers.p.require_expiration",
                "cannot be false: jwt-authz refuses every token without exp",
            ),
            (
                r#""require_expiration": "yes""#,
                "providers.p.require_expiration",
                "must be a boolean, not a string",
            ),
        ] {
            let e = refused(&with_provider(&format!("{REMOTE}, {fields}")));
            assert_eq!(e.path, path, "{fields}");
            assert!(e.message.starts_with(message), "{fields}: {e}");
        }
        let config = Config::from_json(
            with_provider(&format!(
                r#"{REMOTE}, "from_cookies": ["session"], "subjects": {{"prefix": "SPIFFE://", "ignore_case": true}}, "max_lifetime": "86400s", "require_expiration": true"#
            ))
            .as_bytes(),
        )
        .unwrap();
        let p = &config.providers[0];
        assert_eq!(p.locations, vec![TokenLocation::Cookie("session".into())]);
        assert!(
            p.subjects
                .as_ref()
                .is_some_and(|s| s.matches("spiffe://a/b"))
        );
        assert_eq!(p.max_lifetime_seconds, Some(86_400));
    }

    #[test]
    fn route_policy_fields_are_checked_with_their_path() {
        let top = |extra: &str, rule: &str| {
            format!(
                r#"{{"providers": {{"p": {{"issuer": "https://i/", "audiences": ["a"], {REMOTE}}}}},
                    {extra} "rules": [{rule}]}}"#
            )
        };
        let plain = r#"{"match": {"prefix": "/"}}"#;
        for (json, path, message) in [
            (
                top(
                    r#""requirement_map": {"a": {"provider_name": "q"}},"#,
                    plain,
                ),
                "requirement_map.a.provider_name",
                "no provider is called \"q\"",
            ),
            (
                top(r#""requirement_map": {"a": 1},"#, plain),
                "requirement_map.a",
                "must be an object, not a number",
            ),
            (
                top("", r#"{"match": {"prefix": "/"}, "requirement_name": "a"}"#),
                "rules[0].requirement_name",
                "requirement_map has no requirement called \"a\"",
            ),
            (
                top(
                    r#""requirement_map": {"a": {"allow_missing": {}}},"#,
                    r#"{"match": {"prefix": "/"}, "requirement_name": "a", "requires": {"provider_name": "p"}}"#,
                ),
                "rules[0]",
                "give requires or requirement_name, not both",
            ),
            (
                top(
                    "",
                    r#"{"match": {"route_name": {"exact": "r"}, "virtual_host_name": {"prefix": ""}}}"#,
                ),
                "rules[0].match.virtual_host_name.prefix",
                "must not be empty",
            ),
            (
                top(
                    "",
                    r#"{"match": {"headers": [{"name": "x", "present_match": true}]}}"#,
                ),
                "rules[0].match",
                "give exactly one of prefix, path or safe_regex (or none, with route_name or virtual_host_name)",
            ),
            (
                top(
                    r#""filter_state_rules": {"name": "", "requires": {}},"#,
                    plain,
                ),
                "filter_state_rules.name",
                "must not be empty",
            ),
            (
                top(
                    r#""filter_state_rules": {"name": "tier", "requires": {}},"#,
                    plain,
                ),
                "filter_state_rules.requires",
                "must name at least one value and its requirement",
            ),
            (
                top(
                    r#""filter_state_rules": {"name": "tier", "requires": {"gold": {"provider_name": "x"}}},"#,
                    plain,
                ),
                "filter_state_rules.requires.gold.provider_name",
                "no provider is called \"x\"",
            ),
            (
                top(r#""strip_failure_response": 1,"#, plain),
                "strip_failure_response",
                "must be a boolean, not a number",
            ),
        ] {
            let e = refused(&json);
            assert_eq!((e.path.as_str(), &*e.message), (path, message), "{json}");
        }
        let config = Config::from_json(
            top(
                r#""requirement_map": {"a": {"provider_name": "p"}}, "strip_failure_response": true,
                   "filter_state_rules": {"name": "tier", "requires": {"gold": {"provider_name": "p"}}},"#,
                r#"{"match": {"route_name": {"prefix": "orders."}}, "requirement_name": "a"}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(config.strip_failure_response);
        assert!(config.named_requirement("a").is_some());
        assert!(config.rules[0].requirement.is_some());
        assert_eq!(config.filter_state_rules.unwrap().requires.len(), 1);
    }
}
