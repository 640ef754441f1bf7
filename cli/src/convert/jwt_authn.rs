//! Envoy's `jwt_authn` (`JwtAuthentication`) to jwt-authz. The configuration is already
//! shaped like `jwt_authn`'s, so most fields are copied; each field is in a table below with
//! what becomes of it.

use super::{Carry, Conversion, Effect, Notes, copy_fields, provider_name, regex_literal};
use jwt_authz::config::Config;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const FILTER_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const PER_ROUTE_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig";

/// The top level of `JwtAuthentication`.
const TOP: &[(&str, Carry)] = &[
    ("@type", Carry::Elsewhere),
    ("providers", Carry::Elsewhere),
    ("rules", Carry::Elsewhere),
    // Inlined where rules or routes name one (see `route_choices`).
    ("requirement_map", Carry::Elsewhere),
    ("bypass_cors_preflight", Carry::Same),
    ("filter_state_rules", Carry::Elsewhere),
    (
        "stat_prefix",
        Carry::Lost(
            "jwt-authz's metrics are named jwt_authz.*",
            Effect::NoDecision,
        ),
    ),
    ("strip_failure_response", Carry::Same),
];

/// A `JwtProvider`.
const PROVIDER: &[(&str, Carry)] = &[
    ("issuer", Carry::Same),
    ("audiences", Carry::Elsewhere),
    ("remote_jwks", Carry::With(remote_jwks)),
    ("local_jwks", Carry::With(local_jwks)),
    ("from_headers", Carry::Same),
    ("from_params", Carry::Same),
    ("from_cookies", Carry::Same),
    ("forward", Carry::Same),
    ("clock_skew_seconds", Carry::Same),
    ("claim_to_headers", Carry::Same),
    ("forward_payload_header", Carry::Same),
    ("pad_forward_payload_header", Carry::Same),
    ("jwt_cache_config", Carry::With(jwt_cache_config)),
    ("subjects", Carry::Same),
    ("max_lifetime", Carry::Same),
    ("require_expiration", Carry::With(require_expiration)),
    (
        "payload_in_metadata",
        Carry::Lost(
            "jwt-authz writes chosen values to filter state, not the payload to dynamic \
             metadata: set filter_state.identity and filter_state.claims",
            Effect::NoDecision,
        ),
    ),
    (
        "header_in_metadata",
        Carry::Lost(
            "jwt-authz writes no JOSE header anywhere for later filters",
            Effect::NoDecision,
        ),
    ),
    (
        "normalize_payload_in_metadata",
        Carry::Lost(
            "jwt-authz's is filter_state.normalize_payload_in_metadata, for the claims it writes",
            Effect::NoDecision,
        ),
    ),
    (
        "failed_status_in_metadata",
        Carry::Lost(
            "jwt-authz writes a refusal's status and reason to filter state, not dynamic \
             metadata: set filter_state.failure",
            Effect::NoDecision,
        ),
    ),
    ("clear_route_cache", Carry::With(clear_route_cache)),
];

/// How deep requirements may nest in what is converted (jwt-authz refuses more than 8).
const MAX_DEPTH: usize = 8;

/// What a provider's audiences are replaced with when `jwt_authn` checks none: jwt-authz
/// requires audiences, and one no token carries refuses rather than lets through.
pub const AUDIENCE_PLACEHOLDER: &str = "REPLACE-WITH-THE-API-AUDIENCE";

/// Every `jwt_authn` configuration in a document: the document itself when it is one (a
/// bare configuration, `providers` at its top), else every object typed as one, wherever it
/// is (an Envoy bootstrap's HTTP filters, an LDS answer).
pub fn find(document: &Value) -> Vec<(String, &Value)> {
    let typed = |v: &Value| v.get("@type").and_then(Value::as_str) == Some(FILTER_TYPE);
    let bootstrap_keys = ["static_resources", "dynamic_resources", "admin"];
    let bare = document.get("providers").is_some_and(Value::is_object)
        && !bootstrap_keys.iter().any(|k| document.get(k).is_some());
    if bare || typed(document) {
        return vec![(String::new(), document)];
    }
    let mut found = Vec::new();
    typed_within(document, String::new(), &mut found);
    found
}

/// Every object typed `JwtAuthentication` within `value`, with its path as
/// [`crate::locate::walk`] writes it (`a.b[2].c`).
fn typed_within<'v>(value: &'v Value, path: String, found: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(object) => {
            if object.get("@type").and_then(Value::as_str) == Some(FILTER_TYPE) {
                found.push((path, value));
                return;
            }
            for (key, child) in object {
                let child_path = match path.is_empty() {
                    true => key.clone(),
                    false => format!("{path}.{key}"),
                };
                typed_within(child, child_path, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                typed_within(child, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Converts one `JwtAuthentication`; `document` is what holds it (a bootstrap's per-route
/// settings are reported from there).
pub fn convert(origin: &str, original: &Value, document: &Value) -> Result<Conversion, String> {
    let object = original
        .as_object()
        .ok_or("a jwt_authn configuration must be an object")?;
    let mut notes = Notes::default();
    let mut config = Map::new();
    copy_fields("", object, TOP, &mut config, &mut notes);

    let names = provider_names(object.get("providers"), &mut notes);
    let mut providers = Map::new();
    for (original_name, provider) in object
        .get("providers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = format!("providers.{original_name}");
        let provider = provider
            .as_object()
            .ok_or_else(|| format!("{at}: must be an object"))?;
        let name = &names[original_name];
        let mut provider = convert_provider(&at, provider, &mut notes);
        drop_refused_identity_headers(&at, name, &mut provider, &mut notes);
        providers.insert(name.clone(), Value::Object(provider));
    }
    config.insert("providers".into(), Value::Object(providers.clone()));

    let requirement_map = object
        .get("requirement_map")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let context = RuleContext {
        names: &names,
        requirement_map: &requirement_map,
        providers: &providers,
    };
    let mut rules = Vec::new();
    for (i, rule) in object
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(rule) = context.rule(&format!("rules[{i}]"), rule, &mut notes)? {
            rules.push(rule);
        }
    }
    let filter_state_rules = match object.get("filter_state_rules") {
        Some(rules) => Some(context.filter_state_rules(rules)?),
        None => None,
    };
    // jwt_authn lets a request that no rule matches through unverified; jwt-authz refuses it.
    let everything = json!({"prefix": "/"});
    if rules.last().is_none_or(|r| r["match"] != everything) {
        match filter_state_rules {
            None => rules.push(json!({"match": everything})),
            // A rule for every path would come before the filter state is read.
            Some(_) => notes.add(
                "filter_state_rules",
                "a request that no rule matches and whose filter state names no requirement is \
                 refused here; jwt_authn lets it through unverified",
                Effect::RefusesMore,
            ),
        }
    }
    if rules.is_empty() {
        // jwt-authz needs a rule: this one matches nothing (every request has a :method).
        rules.push(json!({"match": {"prefix": "/", "headers": [
            {"name": ":method", "present_match": true, "invert_match": true}
        ]}}));
    }
    let chosen = context.route_choices(document, &mut notes)?;
    rules.splice(0..0, chosen.rules);
    config.insert("rules".into(), Value::Array(rules));
    if !chosen.requirement_map.is_empty() {
        config.insert(
            "requirement_map".into(),
            Value::Object(chosen.requirement_map),
        );
    }
    if let Some(filter_state_rules) = filter_state_rules {
        config.insert("filter_state_rules".into(), filter_state_rules);
    }
    Ok(Conversion {
        origin: origin.to_string(),
        config: Value::Object(config),
        not_carried: notes.0,
    })
}

/// jwt-authz names for the providers, renamed where `jwt_authn`'s name has other characters.
fn provider_names(providers: Option<&Value>, notes: &mut Notes) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for original in providers
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.keys())
    {
        let mut name = provider_name(original);
        let base = name.clone();
        let mut n = 2;
        while names.values().any(|v| *v == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        if name != *original {
            notes.add(
                format!("providers.{original}"),
                format!("renamed {name}: provider names are letters, digits, _ and - (they name metrics)"),
                Effect::NoDecision,
            );
        }
        names.insert(original.clone(), name);
    }
    names
}

fn convert_provider(
    at: &str,
    provider: &Map<String, Value>,
    notes: &mut Notes,
) -> Map<String, Value> {
    let mut out = Map::new();
    copy_fields(at, provider, PROVIDER, &mut out, notes);
    let audiences = provider
        .get("audiences")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    match audiences {
        Some(audiences) => {
            out.insert("audiences".into(), Value::Array(audiences.clone()));
        }
        None => {
            out.insert("audiences".into(), json!([AUDIENCE_PLACEHOLDER]));
            notes.add(
                format!("{at}.audiences"),
                format!(
                    "jwt_authn checks no audience without it; jwt-authz requires one, so \
                     {AUDIENCE_PLACEHOLDER:?} stands in (no token passes until it is your API's \
                     audience)"
                ),
                Effect::RefusesMore,
            );
        }
    }
    out
}

/// Identity headers the filter refuses (a name with `_`, a header tokens are read from, a
/// reserved one) are left out, one at a time as the filter names them, rather than the whole
/// configuration.
fn drop_refused_identity_headers(
    at: &str,
    name: &str,
    provider: &mut Map<String, Value>,
    notes: &mut Notes,
) {
    let headers = provider
        .get("claim_to_headers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    for _ in 0..=headers {
        let alone = json!({
            "providers": {name: provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": name}}]
        });
        let Err(errors) = Config::check_json(alone.to_string().as_bytes()) else {
            return;
        };
        let refused = errors.iter().find_map(|e| {
            let header = e.message.split("header \"").nth(1)?.split('"').next()?;
            Some((header.to_string(), e.message.clone()))
        });
        let Some((header, message)) = refused else {
            return;
        };
        let same = |v: &Value| v.as_str().is_some_and(|h| h.eq_ignore_ascii_case(&header));
        let mut dropped = false;
        if let Some(list) = provider
            .get_mut("claim_to_headers")
            .and_then(Value::as_array_mut)
        {
            let before = list.len();
            list.retain(|c| !same(&c["header_name"]));
            dropped = list.len() < before;
        }
        if provider.get("forward_payload_header").is_some_and(same) {
            provider.remove("forward_payload_header");
            dropped = true;
        }
        if !dropped {
            return;
        }
        notes.add(
            at,
            format!("{message}: left out, so the upstream does not get {header}"),
            Effect::NoDecision,
        );
    }
}

fn remote_jwks(at: &str, value: &Value, provider: &mut Map<String, Value>, notes: &mut Notes) {
    let mut out = Map::new();
    let empty = Map::new();
    for (name, value) in value.as_object().unwrap_or(&empty) {
        match name.as_str() {
            "http_uri" | "cache_duration" => {
                out.insert(name.clone(), value.clone());
            }
            "async_fetch" | "retry_policy" => notes.add(
                format!("{at}.{name}"),
                "jwt-authz fetches, refreshes and retries keys its own way (the book's Keys and outages)",
                Effect::NoDecision,
            ),
            _ => notes.add(
                format!("{at}.{name}"),
                "a field the converter does not know: it may have refused tokens",
                Effect::LetsMoreThrough,
            ),
        }
    }
    if let Some(http_uri) = out.get_mut("http_uri").and_then(Value::as_object_mut) {
        http_uri.retain(|k, _| ["uri", "cluster", "timeout"].contains(&k.as_str()));
    }
    // jwt_authn keeps keys 5 minutes by default, jwt-authz 10.
    out.entry("cache_duration").or_insert(json!("300s"));
    provider.insert("remote_jwks".into(), Value::Object(out));
}

fn local_jwks(at: &str, value: &Value, provider: &mut Map<String, Value>, notes: &mut Notes) {
    use base64::Engine;
    let text = |v: &Value| v.as_str().map(str::to_string);
    let inline = if let Some(s) = value.get("inline_string").and_then(text) {
        Some(s)
    } else if let Some(bytes) = value.get("inline_bytes").and_then(text) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(bytes.trim());
        decoded.ok().and_then(|b| String::from_utf8(b).ok())
    } else if let Some(file) = value.get("filename").and_then(text) {
        match std::fs::read_to_string(&file) {
            Ok(jwks) => {
                notes.add(
                    format!("{at}.filename"),
                    format!("inlined as {file} reads now: the filter reads no files, so a later change to it needs another convert"),
                    Effect::NoDecision,
                );
                Some(jwks)
            }
            Err(e) => {
                notes.add(
                    format!("{at}.filename"),
                    format!(
                        "cannot read {file} ({e}): the filter reads no files; give the keys inline"
                    ),
                    Effect::RefusesMore,
                );
                None
            }
        }
    } else {
        notes.add(
            at,
            "only inline_string, inline_bytes and filename are converted: the filter reads no environment",
            Effect::RefusesMore,
        );
        None
    };
    if let Some(jwks) = inline {
        provider.insert("local_jwks".into(), json!({"inline_string": jwks}));
    }
}

fn jwt_cache_config(at: &str, value: &Value, provider: &mut Map<String, Value>, notes: &mut Notes) {
    if let Some(size) = value.get("jwt_cache_size") {
        provider.insert("jwt_cache_config".into(), json!({"jwt_cache_size": size}));
    }
    if value.get("jwt_max_token_size").is_some() {
        notes.add(
            format!("{at}.jwt_max_token_size"),
            "jwt-authz caches every verified token up to max_token_bytes (8 KiB)",
            Effect::NoDecision,
        );
    }
}

/// jwt-authz has no switch: Envoy picks the route again after any request-header edit by a
/// Wasm filter, so routes always see the headers it sets.
fn clear_route_cache(at: &str, value: &Value, _: &mut Map<String, Value>, notes: &mut Notes) {
    if value != &Value::Bool(true) {
        notes.add(
            at,
            "Envoy picks the route again after jwt-authz sets headers: routes matching them see \
             the new values",
            Effect::NoDecision,
        );
    }
}

fn require_expiration(at: &str, value: &Value, _: &mut Map<String, Value>, notes: &mut Notes) {
    if value != &Value::Bool(true) {
        notes.add(
            at,
            "jwt-authz always requires exp: tokens without it are refused",
            Effect::RefusesMore,
        );
    }
}

struct RuleContext<'a> {
    names: &'a BTreeMap<String, String>,
    requirement_map: &'a Map<String, Value>,
    providers: &'a Map<String, Value>,
}

impl RuleContext<'_> {
    /// A rule, or `None` when its match cannot be carried (reported).
    fn rule(&self, at: &str, rule: &Value, notes: &mut Notes) -> Result<Option<Value>, String> {
        for key in rule.as_object().into_iter().flat_map(|r| r.keys()) {
            if !["match", "requires", "requirement_name"].contains(&key.as_str()) {
                notes.add(
                    format!("{at}.{key}"),
                    "a field the converter does not know: it may have refused tokens",
                    Effect::LetsMoreThrough,
                );
            }
        }
        let requires = match (rule.get("requires"), rule.get("requirement_name")) {
            (Some(requires), _) => self.requirement(&format!("{at}.requires"), requires, 0)?,
            (None, Some(name)) => {
                let name = name.as_str().unwrap_or_default();
                let named = self.requirement_map.get(name).ok_or_else(|| {
                    format!("{at}.requirement_name: no requirement {name:?} in requirement_map")
                })?;
                self.requirement(&format!("requirement_map.{name}"), named, 0)?
            }
            (None, None) => None,
        };
        let verifies = requires.as_ref().is_some_and(always_verifies);
        let drop_effect = match verifies {
            true => Effect::LetsMoreThrough,
            false => Effect::RefusesMore,
        };
        let matcher = match rule.get("match") {
            Some(m) => convert_match(&format!("{at}.match"), m),
            None => Err("a rule without match".into()),
        };
        let matcher = match matcher {
            Ok(m) => m,
            Err(why) => {
                notes.add(
                    format!("{at}.match"),
                    format!("{why}: the rule is left out, so its requests go to the next rule that matches"),
                    drop_effect,
                );
                return Ok(None);
            }
        };
        let mut out = Map::new();
        out.insert("match".into(), Value::Object(matcher));
        if let Some(requires) = requires {
            out.insert("requires".into(), requires);
        }
        let out = Value::Object(out);
        // A part the filter refuses on its own (a regular expression beyond regex-lite, say)
        // leaves the rule out rather than the whole configuration.
        let alone = json!({"providers": self.providers, "rules": [out]});
        if let Err(errors) = Config::check_json(alone.to_string().as_bytes()) {
            let why: Vec<String> = errors
                .iter()
                .map(|e| e.to_string().replacen("rules[0]", at, 1))
                .filter(|e| e.starts_with(at))
                .collect();
            if !why.is_empty() {
                notes.add(
                    at,
                    format!(
                        "refused by the filter ({}): the rule is left out",
                        why.join("; ")
                    ),
                    drop_effect,
                );
                return Ok(None);
            }
        }
        Ok(Some(out))
    }

    /// `filter_state_rules` with jwt-authz's provider names; jwt_authn's empty requirement
    /// (no verification) as `allow_missing_or_failed`.
    fn filter_state_rules(&self, rules: &Value) -> Result<Value, String> {
        let at = "filter_state_rules";
        let name = rules
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}.name: must be a string"))?;
        let mut requires = Map::new();
        for (value, requirement) in rules
            .get("requires")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let converted = self.requirement(&format!("{at}.requires.{value}"), requirement, 0)?;
            requires.insert(value.clone(), converted.unwrap_or_else(verifies_nothing));
        }
        Ok(json!({"name": name, "requires": requires}))
    }

    /// What routes choose with `PerRouteConfig`. jwt_authn takes a route's
    /// `requirement_name` before its rules and filter state. A route (or virtual host) whose
    /// name no other has gets a rule on that name, first of all: the configuration then
    /// decides alone, with the routes as they are. Any other needs the route to say it in its
    /// metadata (jwt-authz's `requirement_map`, also before every rule), which is an edit to
    /// the routes, so the note says which and how.
    fn route_choices(&self, document: &Value, notes: &mut Notes) -> Result<RouteChoices, String> {
        let mut routes = Vec::new();
        let mut virtual_hosts = Vec::new();
        let mut requirement_map = Map::new();
        let per_routes = per_route_configs(document);
        // jwt_authn also takes a PerRouteConfig at the route configuration's level or in a
        // weighted cluster, before its rules: not carried, and never silently dropped.
        crate::locate::walk(document, String::new(), &mut |path, object| {
            let typed = object.get("@type").and_then(Value::as_str) == Some(PER_ROUTE_TYPE);
            if typed && !per_routes.iter().any(|p| p.at == path) {
                notes.add(
                    path,
                    "a PerRouteConfig outside a route or virtual host is not carried: the \
                     requests it covers go through the rules",
                    Effect::LetsMoreThrough,
                );
            }
        });
        for per_route in per_routes {
            let Some(name) = per_route.config.get("requirement_name") else {
                if per_route.config.get("disabled") == Some(&Value::Bool(true)) {
                    notes.add(
                        &per_route.at,
                        "jwt_authn is off on this route: turn the Wasm filter off there with \
                         typed_per_filter_config (envoy.config.route.v3.FilterConfig, disabled: true)",
                        Effect::RefusesMore,
                    );
                }
                continue;
            };
            let at = format!("{}.requirement_name", per_route.at);
            let name = name
                .as_str()
                .ok_or_else(|| format!("{at}: must be a string"))?;
            let named = self
                .requirement_map
                .get(name)
                .ok_or_else(|| format!("{at}: no requirement {name:?} in requirement_map"))?;
            let requires = self.requirement(&format!("requirement_map.{name}"), named, 0)?;
            let (matcher, list, holder) = match (&per_route.unique_name, per_route.is_route) {
                (Some(route), true) => ("route_name", &mut routes, route),
                (Some(host), false) => ("virtual_host_name", &mut virtual_hosts, host),
                (None, _) => {
                    requirement_map
                        .insert(name.to_string(), requires.unwrap_or_else(verifies_nothing));
                    let whose = match per_route.is_route {
                        true => "this route has no name of its own",
                        false => "this virtual host has no name of its own",
                    };
                    let routes = match per_route.is_route {
                        true => format!("the route {}", per_route.holder),
                        false => format!(
                            "each route of {} without a PerRouteConfig of its own",
                            per_route.holder
                        ),
                    };
                    notes.add(
                        at,
                        format!(
                            "{whose}, so jwt-authz's requirement_map has {name:?} and the route \
                             must name it: add `metadata: {{filter_metadata: {{jwt_authz: \
                             {{requirement_name: {name:?}}}}}}}` to {routes}; until then its \
                             requests go through the rules"
                        ),
                        Effect::LetsMoreThrough,
                    );
                    continue;
                }
            };
            let mut condition = Map::new();
            condition.insert(matcher.into(), json!({"exact": holder}));
            let mut rule = Map::new();
            rule.insert("match".into(), Value::Object(condition));
            if let Some(requires) = requires {
                rule.insert("requires".into(), requires);
            }
            list.push(Value::Object(rule));
        }
        let mut rules = routes;
        rules.append(&mut virtual_hosts);
        Ok(RouteChoices {
            rules,
            requirement_map,
        })
    }

    /// A requirement with provider names as jwt-authz has them; `None` for jwt_authn's empty
    /// requirement (no verification).
    fn requirement(
        &self,
        at: &str,
        requirement: &Value,
        depth: usize,
    ) -> Result<Option<Value>, String> {
        let object = requirement
            .as_object()
            .ok_or_else(|| format!("{at}: must be an object"))?;
        // jwt-authz takes 8 levels; deeper is refused here rather than recursed into.
        if depth >= MAX_DEPTH {
            return Err(format!(
                "{at}: requirements nest more than {MAX_DEPTH} deep"
            ));
        }
        let Some((kind, value)) = object.iter().next() else {
            return Ok(None);
        };
        let rename = |name: &Value| -> Result<Value, String> {
            let name = name.as_str().unwrap_or_default();
            self.names
                .get(name)
                .map(|n| json!(n))
                .ok_or_else(|| format!("{at}: no provider is called {name:?}"))
        };
        let converted = match kind.as_str() {
            "provider_name" => json!({"provider_name": rename(value)?}),
            "provider_and_audiences" => {
                let mut pa = value.clone();
                pa["provider_name"] = rename(&value["provider_name"])?;
                json!({"provider_and_audiences": pa})
            }
            "requires_any" | "requires_all" => {
                let mut list = Vec::new();
                for (i, r) in value["requirements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let at = format!("{at}.{kind}.requirements[{i}]");
                    // An empty alternative verifies nothing: as allow_missing_or_failed.
                    list.push(
                        self.requirement(&at, r, depth + 1)?
                            .unwrap_or(json!({"allow_missing_or_failed": {}})),
                    );
                }
                json!({kind.as_str(): {"requirements": list}})
            }
            "allow_missing" | "allow_missing_or_failed" => json!({kind.as_str(): {}}),
            other => return Err(format!("{at}: unknown requirement {other:?}")),
        };
        Ok(Some(converted))
    }
}

/// jwt_authn's empty requirement where jwt-authz needs one: no token needed, none refused.
fn verifies_nothing() -> Value {
    json!({"allow_missing_or_failed": {}})
}

/// Whether a requirement always verifies a token (so leaving its rule out could let through
/// requests it refused).
fn always_verifies(requirement: &Value) -> bool {
    let list = |kind: &str| {
        requirement[kind]["requirements"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    if requirement.get("requires_any").is_some() {
        list("requires_any").iter().all(always_verifies)
    } else if requirement.get("requires_all").is_some() {
        list("requires_all").iter().any(always_verifies)
    } else {
        requirement.get("provider_name").is_some()
            || requirement.get("provider_and_audiences").is_some()
    }
}

/// A `RouteMatch` as jwt-authz's `match`, or why it cannot be carried exactly.
fn convert_match(at: &str, route_match: &Value) -> Result<Map<String, Value>, String> {
    let object = route_match
        .as_object()
        .ok_or_else(|| format!("{at}: must be an object"))?;
    let case_insensitive = object.get("case_sensitive") == Some(&Value::Bool(false));
    let mut out = Map::new();
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let mut path_kinds = 0;
    for name in object.keys() {
        match name.as_str() {
            "prefix" | "path" | "safe_regex" | "path_separated_prefix" => path_kinds += 1,
            "case_sensitive" | "headers" | "grpc" => {}
            "query_parameters" => {
                return Err("jwt-authz rules do not match query parameters".into());
            }
            other => {
                return Err(format!("jwt-authz rules cannot match on `{other}`"));
            }
        }
    }
    if path_kinds != 1 {
        return Err(
            "a match needs exactly one of prefix, path, safe_regex, path_separated_prefix".into(),
        );
    }
    let regex = |r: String| -> Value {
        json!({"safe_regex": {"regex": if case_insensitive { format!("(?i){r}") } else { r }}})
    };
    if let Some(prefix) = text("prefix") {
        let prefix = if prefix.is_empty() { "/" } else { prefix };
        match case_insensitive {
            true => out.extend(as_map(regex(format!("{}.*", regex_literal(prefix))))),
            false => {
                out.insert("prefix".into(), json!(prefix));
            }
        }
    } else if let Some(path) = text("path") {
        match case_insensitive {
            true => out.extend(as_map(regex(regex_literal(path)))),
            false => {
                out.insert("path".into(), json!(path));
            }
        }
    } else if let Some(prefix) = text("path_separated_prefix") {
        out.extend(as_map(regex(format!("{}(/.*)?", regex_literal(prefix)))));
    } else if let Some(r) = object
        .get("safe_regex")
        .and_then(|r| r.get("regex"))
        .and_then(Value::as_str)
    {
        out.extend(as_map(regex(match case_insensitive {
            true => format!("(?:{r})"),
            false => r.to_string(),
        })));
    } else {
        return Err("its path condition is not a string".into());
    }
    let mut headers = Vec::new();
    for header in object
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        headers.push(header_condition(header)?);
    }
    if object.contains_key("grpc") {
        headers.push(json!({"name": "content-type", "prefix_match": "application/grpc"}));
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Array(headers));
    }
    Ok(out)
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A `HeaderMatcher` as a jwt-authz header condition, or why it cannot be carried exactly.
fn header_condition(header: &Value) -> Result<Value, String> {
    let name = header["name"]
        .as_str()
        .ok_or("a header condition without a name")?;
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    let string_match = header.get("string_match");
    let ignore_case = string_match.is_some_and(|s| s["ignore_case"] == Value::Bool(true));
    let mut kinds = 0;
    for (key, value) in header.as_object().into_iter().flatten() {
        match key.as_str() {
            "name" => {}
            "invert_match" => {
                out.insert(key.clone(), value.clone());
            }
            "exact_match" | "prefix_match" | "present_match" => {
                out.insert(key.clone(), value.clone());
                kinds += 1;
            }
            "string_match" if !ignore_case => {
                let (kind, text) = match (value.get("exact"), value.get("prefix")) {
                    (Some(exact), None) => ("exact_match", exact),
                    (None, Some(prefix)) => ("prefix_match", prefix),
                    _ => {
                        return Err(format!(
                            "header {name}: only exact and prefix string matches are carried"
                        ));
                    }
                };
                out.insert(kind.into(), text.clone());
                kinds += 1;
            }
            other => {
                return Err(format!(
                    "header {name}: jwt-authz has no `{other}` header condition"
                ));
            }
        }
    }
    if kinds == 0 {
        // Envoy: a matcher with nothing but the name matches when the header is present.
        out.insert("present_match".into(), json!(true));
    }
    Ok(Value::Object(out))
}

/// What routes choose through `jwt_authn`'s `PerRouteConfig`, as jwt-authz carries it.
#[derive(Default)]
struct RouteChoices {
    /// Rules for the routes and virtual hosts that choose, to go before every other rule.
    rules: Vec<Value>,
    /// The requirements routes pick through their metadata.
    requirement_map: Map<String, Value>,
}

/// Where a `PerRouteConfig` is.
struct PerRoute<'d> {
    /// Its path in the document.
    at: String,
    /// The path of the route or virtual host that holds it.
    holder: String,
    /// That holder's name, when no other route (or virtual host) of the document has it.
    unique_name: Option<String>,
    is_route: bool,
    config: &'d Map<String, Value>,
}

/// Every `PerRouteConfig` in a route's or virtual host's `typed_per_filter_config`, bare or
/// in a `FilterConfig`'s `config`.
fn per_route_configs(document: &Value) -> Vec<PerRoute<'_>> {
    let mut found = Vec::new();
    let mut names: BTreeMap<(bool, String), usize> = BTreeMap::new();
    crate::locate::walk(document, String::new(), &mut |path, holder| {
        let Some(is_route) = holder_kind(path) else {
            return;
        };
        let name = holder.get("name").and_then(Value::as_str).unwrap_or("");
        if !name.is_empty() {
            *names.entry((is_route, name.to_string())).or_default() += 1;
        }
        let settings = holder
            .get("typed_per_filter_config")
            .and_then(Value::as_object);
        for (key, setting) in settings.into_iter().flatten() {
            let at = format!("{path}.typed_per_filter_config.{key}");
            let typed = |v: &Value| v.get("@type").and_then(Value::as_str) == Some(PER_ROUTE_TYPE);
            let (at, config) = match setting.get("config") {
                Some(inner) if typed(inner) => (format!("{at}.config"), inner),
                _ if typed(setting) => (at, setting),
                _ => continue,
            };
            let Some(config) = config.as_object() else {
                continue;
            };
            found.push(PerRoute {
                at,
                holder: path.to_string(),
                unique_name: (!name.is_empty()).then(|| name.to_string()),
                is_route,
                config,
            });
        }
    });
    for per_route in &mut found {
        let key = (
            per_route.is_route,
            per_route.unique_name.clone().unwrap_or_default(),
        );
        if names.get(&key) != Some(&1) {
            per_route.unique_name = None;
        }
    }
    found
}

/// Whether the object at `path` ([`crate::locate::walk`]'s form) is a route (`true`) or a
/// virtual host (`false`): an element of a `routes` or `virtual_hosts` array.
fn holder_kind(path: &str) -> Option<bool> {
    let (array, _) = path.strip_suffix(']')?.rsplit_once('[')?;
    match array.rsplit('.').next()? {
        "routes" => Some(true),
        "virtual_hosts" => Some(false),
        _ => None,
    }
}
