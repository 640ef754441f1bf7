//! Istio's `RequestAuthentication` (its `jwtRules` become providers) and ALLOW
//! `AuthorizationPolicy` rules on request principals, claims, audiences, paths and methods
//! (they become rules) to jwt-authz.
//!
//! Istio's meaning, kept: a request may carry no token, but a token it carries must verify
//! (`allow_missing`); with ALLOW policies, a request is let through when a rule of one of them
//! holds, and refused otherwise. An Istio rule jwt-authz cannot express exactly is left out
//! (it only ever allowed), so the result refuses more, never less.

use super::jwt_authn::AUDIENCE_PLACEHOLDER;
use super::{
    Carry, Conversion, Document, Effect, Notes, copy_fields, provider_name, regex_literal,
};
use crate::locate;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A `jwtRules` entry.
const JWT_RULE: &[(&str, Carry)] = &[
    ("issuer", Carry::Same),
    ("audiences", Carry::Elsewhere),
    ("jwksUri", Carry::Elsewhere),
    ("jwks", Carry::Elsewhere),
    ("timeout", Carry::Elsewhere),
    ("fromHeaders", Carry::With(from_headers)),
    ("fromParams", Carry::As("from_params")),
    ("fromCookies", Carry::As("from_cookies")),
    ("outputPayloadToHeader", Carry::As("forward_payload_header")),
    ("outputClaimToHeaders", Carry::With(output_claim_to_headers)),
    ("forwardOriginalToken", Carry::As("forward")),
];

/// Claims that hold one string: a condition on them is `one_of`, with nothing to say.
const STRING_CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "azp",
    "email",
    "client_id",
    "gty",
    "tid",
    "sid",
];

pub fn is_istio(resource: &Value) -> bool {
    let api = resource
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = resource
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    api.starts_with("security.istio.io/")
        && ["RequestAuthentication", "AuthorizationPolicy"].contains(&kind)
}

fn name_of(resource: &Value) -> String {
    let text = |p: &str| resource.pointer(p).and_then(Value::as_str);
    format!(
        "{} {}/{}",
        text("/kind").unwrap_or_default(),
        text("/metadata/namespace").unwrap_or("(default namespace)"),
        text("/metadata/name").unwrap_or("(no name)")
    )
}

/// A provider converted from a `jwtRule`.
struct Provider {
    name: String,
    issuer: String,
    audiences: Vec<String>,
}

/// Converts every `RequestAuthentication` and `AuthorizationPolicy` in `documents` into one
/// configuration.
pub fn convert(documents: &[Document]) -> Result<Conversion, String> {
    let mut notes = Notes::default();
    let mut providers = Map::new();
    let mut known: Vec<Provider> = Vec::new();
    let resources: Vec<(&Document, &str)> = documents
        .iter()
        .filter(|d| is_istio(&d.value))
        .map(|d| (d, d.value["kind"].as_str().unwrap_or_default()))
        .collect();
    for (document, _) in resources
        .iter()
        .filter(|(_, k)| *k == "RequestAuthentication")
    {
        let resource = &document.value;
        let at = name_of(resource);
        selector(&at, resource, &mut notes);
        for (i, rule) in resource
            .pointer("/spec/jwtRules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}: spec.jwtRules[{i}]");
            let (name, provider) = jwt_rule(&at, rule, &known, &mut notes)?;
            known.push(Provider {
                name: name.clone(),
                issuer: rule["issuer"].as_str().unwrap_or_default().to_string(),
                audiences: locate::string_list(&rule["audiences"]),
            });
            providers.insert(name, Value::Object(provider));
        }
    }
    if known.is_empty() {
        return Err(
            "no RequestAuthentication with jwtRules: the policies have no token to check".into(),
        );
    }

    let mut rules = Vec::new();
    let mut allow_policies = 0;
    for (document, _) in resources
        .iter()
        .filter(|(_, k)| *k == "AuthorizationPolicy")
    {
        let resource = &document.value;
        let at = name_of(resource);
        let action = resource
            .pointer("/spec/action")
            .and_then(Value::as_str)
            .unwrap_or("ALLOW");
        if action != "ALLOW" {
            let effect = match action {
                "AUDIT" => Effect::NoDecision,
                _ => Effect::LetsMoreThrough,
            };
            notes.add(
                format!("{at}: spec.action"),
                format!("only ALLOW policies are converted: this {action} policy is left out"),
                effect,
            );
            continue;
        }
        allow_policies += 1;
        selector(&at, resource, &mut notes);
        for (i, rule) in resource
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{at}: spec.rules[{i}]");
            match allow_rule(&at, rule, &known, &mut notes) {
                Ok(converted) => rules.extend(converted.into_iter().map(|r| (at.clone(), r))),
                Err(why) => notes.add(
                    at,
                    format!("{why}: the rule is left out, so what only it allowed is refused"),
                    Effect::RefusesMore,
                ),
            }
        }
    }
    let rules = if allow_policies == 0 {
        // A token is optional, but one that is there must verify.
        vec![json!({"match": {"prefix": "/"}, "requires": {"allow_missing": {}}})]
    } else {
        ordered(rules, &mut notes)
    };
    if rules.is_empty() {
        let why: Vec<String> = notes.0.iter().map(|n| format!("  {n}\n")).collect();
        return Err(format!(
            "no rule of the ALLOW policies could be converted, and a configuration without rules \
             is refused:\n{}",
            why.concat()
        ));
    }
    let mut config = Map::new();
    config.insert("providers".into(), Value::Object(providers));
    config.insert("rules".into(), Value::Array(rules));
    Ok(Conversion {
        origin: documents
            .iter()
            .filter(|d| is_istio(&d.value))
            .map(|d| d.place.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", "),
        config: Value::Object(config),
        not_carried: notes.0,
    })
}

/// Which workloads a resource applies to is the WasmPlugin's business.
fn selector(at: &str, resource: &Value, notes: &mut Notes) {
    for key in ["selector", "targetRef", "targetRefs"] {
        if resource.pointer(&format!("/spec/{key}")).is_some() {
            notes.add(
                format!("{at}: spec.{key}"),
                "where jwt-authz runs is the WasmPlugin's selector: give it the same workloads",
                Effect::NoDecision,
            );
        }
    }
}

fn jwt_rule(
    at: &str,
    rule: &Value,
    known: &[Provider],
    notes: &mut Notes,
) -> Result<(String, Map<String, Value>), String> {
    let object = rule
        .as_object()
        .ok_or_else(|| format!("{at}: must be an object"))?;
    let issuer = rule["issuer"]
        .as_str()
        .ok_or_else(|| format!("{at}.issuer: required"))?;
    let mut out = Map::new();
    copy_fields(at, object, JWT_RULE, &mut out, notes);
    let audiences = locate::string_list(&rule["audiences"]);
    if audiences.is_empty() {
        notes.add(
            format!("{at}.audiences"),
            format!(
                "Istio checks no audience without it; jwt-authz requires one, so \
                 {AUDIENCE_PLACEHOLDER:?} stands in (no token passes until it is your API's audience)"
            ),
            Effect::RefusesMore,
        );
        out.insert("audiences".into(), json!([AUDIENCE_PLACEHOLDER]));
    } else {
        out.insert("audiences".into(), json!(audiences));
    }
    let timeout = rule.get("timeout").cloned();
    let cluster_note = |host: &str, cluster: &str, notes: &mut Notes| {
        notes.add(
            format!("{at}: keys"),
            format!(
                "istiod fetched the keys for jwt_authn; jwt-authz fetches them from the proxy \
                 through cluster {cluster}, so {host} needs a ServiceEntry (jwt-authz check warns without one)"
            ),
            Effect::NoDecision,
        );
    };
    if let Some(jwks) = rule.get("jwks").and_then(Value::as_str) {
        out.insert("local_jwks".into(), json!({"inline_string": jwks}));
    } else if let Some(uri) = rule.get("jwksUri").and_then(Value::as_str) {
        let cluster = outbound_cluster(uri)
            .ok_or_else(|| format!("{at}.jwksUri: {uri:?} is not an http(s) URL"))?;
        let mut http_uri = json!({"uri": uri, "cluster": cluster.1});
        if let Some(timeout) = timeout {
            http_uri["timeout"] = timeout;
        }
        // Istio keeps keys 20 minutes (PILOT_JWT_PUB_KEY_REFRESH_INTERVAL).
        out.insert(
            "remote_jwks".into(),
            json!({"http_uri": http_uri, "cache_duration": "1200s"}),
        );
        cluster_note(&cluster.0, &cluster.1, notes);
    } else {
        let (host, cluster) = outbound_cluster(issuer).ok_or_else(|| {
            format!("{at}: without jwksUri or jwks, the issuer {issuer:?} must be an http(s) URL to discover the keys from")
        })?;
        let mut discovery = json!({"cluster": cluster});
        if let Some(timeout) = timeout {
            discovery["timeout"] = timeout;
        }
        out.insert("oidc_discovery".into(), discovery);
        cluster_note(&host, &cluster, notes);
    }
    let base = provider_name(
        issuer
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/'),
    );
    let mut name = base.clone();
    let mut n = 2;
    while known.iter().any(|p| p.name == name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    Ok((name, out))
}

/// The host of an http(s) URL and the Istio cluster that reaches it.
fn outbound_cluster(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (authority, default_port),
    };
    (!host.is_empty()).then(|| (host.to_string(), locate::istio_cluster_name(host, port)))
}

fn from_headers(_: &str, value: &Value, provider: &mut Map<String, Value>, _: &mut Notes) {
    let headers: Vec<Value> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| match h.get("prefix") {
            Some(prefix) => json!({"name": h["name"], "value_prefix": prefix}),
            None => json!({"name": h["name"]}),
        })
        .collect();
    provider.insert("from_headers".into(), Value::Array(headers));
}

fn output_claim_to_headers(
    _: &str,
    value: &Value,
    provider: &mut Map<String, Value>,
    _: &mut Notes,
) {
    let headers: Vec<Value> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| json!({"header_name": h["header"], "claim_name": h["claim"]}))
        .collect();
    provider.insert("claim_to_headers".into(), Value::Array(headers));
}

/// What an ALLOW rule asks of the token.
#[derive(Default)]
struct TokenConditions {
    /// Which providers may have issued it (`None`: any).
    providers: Option<BTreeSet<String>>,
    /// `sub` must be one of these (`None`: any).
    subjects: Option<BTreeSet<String>>,
    audiences: Option<Vec<String>>,
    scopes_any: Vec<String>,
    claims: Vec<Value>,
    /// Some condition needs a verified token.
    needed: bool,
}

/// One ALLOW rule as jwt-authz rules (one per path and operation), or why it cannot be
/// carried exactly.
fn allow_rule(
    at: &str,
    rule: &Value,
    known: &[Provider],
    notes: &mut Notes,
) -> Result<Vec<Value>, String> {
    let mut token = TokenConditions::default();
    let mut headers = Vec::new();
    for key in rule.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["from", "to", "when"].contains(&key.as_str()) {
            return Err(format!("`{key}` is not converted"));
        }
    }
    let sources = rule["from"].as_array().cloned().unwrap_or_default();
    let mut principals = Vec::new();
    for source in &sources {
        let source = &source["source"];
        for key in source.as_object().into_iter().flat_map(|o| o.keys()) {
            if key != "requestPrincipals" {
                return Err(format!(
                    "from.source.{key}: only requestPrincipals is converted"
                ));
            }
        }
        let listed = locate::string_list(&source["requestPrincipals"]);
        if listed.is_empty() {
            // A source with no requestPrincipals allows any request.
            principals.clear();
            break;
        }
        principals.extend(listed);
    }
    if !principals.is_empty() {
        request_principals(&principals, known, &mut token)?;
    }
    for condition in rule["when"].as_array().into_iter().flatten() {
        let key = condition["key"].as_str().unwrap_or_default();
        if condition.get("notValues").is_some() {
            return Err(format!("when {key}: notValues is not converted"));
        }
        let values = locate::string_list(&condition["values"]);
        if values.is_empty() {
            return Err(format!("when {key}: no values"));
        }
        if let Some(claim) = claim_name(key, "request.auth.claims") {
            token.needed = true;
            if ["scope", "scp"].contains(&claim.as_str()) {
                notes.add(
                    format!("{at}: when {key}"),
                    "converted to required_scopes_any: jwt-authz grants a scope from scope, scp \
                     or permissions alike, Istio only from the claim named",
                    Effect::LetsMoreThrough,
                );
                token.scopes_any.extend(values);
            } else {
                if !STRING_CLAIMS.contains(&claim.as_str()) {
                    notes.add(
                        format!("{at}: when {key}"),
                        "converted for a claim holding one string (one_of); Istio also matches \
                         a list holding one of the values, which jwt-authz refuses here \
                         (its `contains` takes one value)",
                        Effect::RefusesMore,
                    );
                }
                token.claims.push(json!({"name": claim, "one_of": values}));
            }
        } else if key == "request.auth.audiences" {
            token.needed = true;
            token.audiences = Some(values);
        } else if key == "request.auth.principal" {
            request_principals(&values, known, &mut token)?;
        } else if key == "request.auth.presenter" {
            token.needed = true;
            token.claims.push(json!({"name": "azp", "one_of": values}));
        } else if let Some(header) = claim_name(key, "request.headers") {
            let [value] = values.as_slice() else {
                return Err(format!(
                    "when {key}: one value at most is converted (jwt-authz has no header condition with alternatives)"
                ));
            };
            headers.push(match value.strip_suffix('*') {
                Some(prefix) => json!({"name": header, "prefix_match": prefix}),
                None => json!({"name": header, "exact_match": value}),
            });
        } else {
            return Err(format!("when {key}: not converted"));
        }
    }
    let requires = requirement(&token, known)?;

    let operations: Vec<Value> = match rule["to"].as_array() {
        Some(to) if !to.is_empty() => to.iter().map(|t| t["operation"].clone()).collect(),
        _ => vec![json!({})],
    };
    let mut rules = Vec::new();
    for operation in operations {
        for key in operation.as_object().into_iter().flat_map(|o| o.keys()) {
            if !["paths", "methods"].contains(&key.as_str()) {
                return Err(format!(
                    "to.operation.{key}: only paths and methods are converted"
                ));
            }
        }
        let methods = locate::string_list(&operation["methods"]);
        let mut paths = locate::string_list(&operation["paths"]);
        if paths.is_empty() {
            paths.push("*".into());
        }
        for path in paths {
            let mut matcher = path_match(&path)?;
            if !methods.is_empty() {
                matcher.insert("methods".into(), json!(methods));
            }
            if !headers.is_empty() {
                matcher.insert("headers".into(), json!(headers));
            }
            let mut out = json!({"match": matcher, "requires": requires});
            if !token.scopes_any.is_empty() {
                out["required_scopes_any"] = json!(token.scopes_any);
            }
            let mut claims = token.claims.clone();
            if let Some(subjects) = &token.subjects {
                claims.push(json!({"name": "sub", "one_of": subjects}));
            }
            if !claims.is_empty() {
                out["required_claims"] = json!(claims);
            }
            rules.push(out);
        }
    }
    Ok(rules)
}

/// `request.auth.claims[a][b]` → `a.b`; `request.headers[x]` → `x`.
fn claim_name(key: &str, prefix: &str) -> Option<String> {
    let rest = key
        .strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')?;
    Some(rest.split("][").collect::<Vec<_>>().join("."))
}

/// `requestPrincipals` / `request.auth.principal` values (`ISS/SUB`, `ISS/*`, `*`).
fn request_principals(
    values: &[String],
    known: &[Provider],
    token: &mut TokenConditions,
) -> Result<(), String> {
    token.needed = true;
    let mut providers = BTreeSet::new();
    let mut subjects = BTreeSet::new();
    let mut any_subject = false;
    for value in values {
        if value == "*" {
            providers.extend(known.iter().map(|p| p.name.clone()));
            any_subject = true;
            continue;
        }
        let issuer_of = |p: &&Provider| value.starts_with(&format!("{}/", p.issuer));
        let matching: Vec<&Provider> = known.iter().filter(issuer_of).collect();
        let Some(longest) = matching.iter().map(|p| p.issuer.len()).max() else {
            return Err(format!(
                "request principal {value:?} names no issuer of the RequestAuthentications"
            ));
        };
        let subject = &value[longest + 1..];
        providers.extend(
            matching
                .iter()
                .filter(|p| p.issuer.len() == longest)
                .map(|p| p.name.clone()),
        );
        match subject {
            "*" => any_subject = true,
            s if s.contains('*') => {
                return Err(format!(
                    "request principal {value:?}: only a whole subject or * is converted"
                ));
            }
            s => {
                subjects.insert(s.to_string());
            }
        }
    }
    if any_subject && !subjects.is_empty() {
        return Err(
            "request principals mixing any subject with given subjects are not converted".into(),
        );
    }
    let issuers: BTreeSet<&str> = known
        .iter()
        .filter(|p| providers.contains(&p.name))
        .map(|p| p.issuer.as_str())
        .collect();
    if !subjects.is_empty() && issuers.len() > 1 {
        return Err("subjects of several issuers are not converted (jwt-authz's sub condition is not per issuer)".into());
    }
    token.providers = Some(match token.providers.take() {
        Some(earlier) => earlier.intersection(&providers).cloned().collect(),
        None => providers,
    });
    if !subjects.is_empty() {
        token.subjects = Some(match token.subjects.take() {
            Some(earlier) => earlier.intersection(&subjects).cloned().collect(),
            None => subjects,
        });
    }
    Ok(())
}

/// The requirement: a token of the allowed providers (with the policy's audiences), or
/// Istio's default, an optional token that must verify when present.
fn requirement(token: &TokenConditions, known: &[Provider]) -> Result<Value, String> {
    if !token.needed {
        return Ok(json!({"allow_missing": {}}));
    }
    let allowed: Vec<&Provider> = known
        .iter()
        .filter(|p| {
            token
                .providers
                .as_ref()
                .is_none_or(|names| names.contains(&p.name))
        })
        .collect();
    let mut alternatives = Vec::new();
    for provider in allowed {
        alternatives.push(match &token.audiences {
            None => json!({"provider_name": provider.name}),
            Some(wanted) => {
                // Both must hold: the RequestAuthentication's audiences and the policy's.
                let audiences: Vec<&String> = match provider.audiences.is_empty() {
                    true => wanted.iter().collect(),
                    false => wanted.iter().filter(|a| provider.audiences.contains(a)).collect(),
                };
                if audiences.is_empty() {
                    continue;
                }
                json!({"provider_and_audiences": {"provider_name": provider.name, "audiences": audiences}})
            }
        });
    }
    match alternatives.len() {
        0 => Err("no provider can satisfy its principals and audiences: it allows nothing".into()),
        1 => Ok(alternatives.remove(0)),
        _ => Ok(json!({"requires_any": {"requirements": alternatives}})),
    }
}

/// An Istio path (`/a`, `/a/*`, `*.html`, `*`) as a jwt-authz match.
fn path_match(path: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    if path.contains('{') {
        return Err(format!("path {path:?}: path templates are not converted"));
    }
    if path == "*" {
        out.insert("prefix".into(), json!("/"));
    } else if let Some(prefix) = path.strip_suffix('*').filter(|p| !p.contains('*')) {
        out.insert("prefix".into(), json!(prefix));
    } else if let Some(suffix) = path.strip_prefix('*').filter(|p| !p.contains('*')) {
        out.insert(
            "safe_regex".into(),
            json!({"regex": format!(".*{}", regex_literal(suffix))}),
        );
    } else if !path.contains('*') {
        out.insert("path".into(), json!(path));
    } else {
        return Err(format!("path {path:?}: a * inside a path is not converted"));
    }
    Ok(out)
}

/// The rules, most specific path first (jwt-authz takes the first rule that matches, Istio
/// allows when any does), with a note where an earlier rule hides part of a later one.
fn ordered(mut rules: Vec<(String, Value)>, notes: &mut Notes) -> Vec<Value> {
    let rank = |rule: &Value| -> (u8, usize) {
        let m = &rule["match"];
        if let Some(p) = m["path"].as_str() {
            (0, usize::MAX - p.len())
        } else if m.get("safe_regex").is_some() {
            (1, 0)
        } else {
            (2, usize::MAX - m["prefix"].as_str().map_or(0, str::len))
        }
    };
    rules.sort_by_key(|(_, r)| rank(r));
    for (i, (at, rule)) in rules.iter().enumerate() {
        let decides = |r: &Value| {
            let mut r = r.clone();
            r.as_object_mut().map(|o| o.remove("match"));
            r
        };
        for (earlier_at, earlier) in &rules[..i] {
            // Only an earlier rule that asks for something else decides differently.
            if overlaps(&earlier["match"], &rule["match"]) && decides(earlier) != decides(rule) {
                notes.add(
                    at.clone(),
                    format!(
                        "a request it matches may match {earlier_at} too, which jwt-authz tries \
                         first; Istio allows when either rule does, jwt-authz decides by the first"
                    ),
                    Effect::RefusesMore,
                );
                break;
            }
        }
    }
    let mut out: Vec<Value> = Vec::new();
    for (_, rule) in rules {
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}

/// Whether some request can match both (paths and prefixes compared; a regular expression
/// is taken to overlap anything).
fn overlaps(a: &Value, b: &Value) -> bool {
    let methods = |m: &Value| locate::string_list(&m["methods"]);
    let (ma, mb) = (methods(a), methods(b));
    if !ma.is_empty() && !mb.is_empty() && !ma.iter().any(|m| mb.contains(m)) {
        return false;
    }
    let covers = |m: &Value, path: &str| match (m["path"].as_str(), m["prefix"].as_str()) {
        (Some(p), _) => p == path,
        (_, Some(prefix)) => path.starts_with(prefix),
        _ => true,
    };
    let suffix = |m: &Value| m["safe_regex"]["regex"].as_str().and_then(literal_suffix);
    if let (Some(path), _, _, Some(end)) | (_, Some(path), Some(end), _) =
        (a["path"].as_str(), b["path"].as_str(), suffix(a), suffix(b))
    {
        return path.ends_with(&end);
    }
    match (
        a["path"].as_str().or(a["prefix"].as_str()),
        b["path"].as_str().or(b["prefix"].as_str()),
    ) {
        (Some(pa), Some(pb)) => covers(a, pb) || covers(b, pa),
        _ => true,
    }
}

/// The suffix a `.*SUFFIX` expression (an Istio `*SUFFIX` path) stands for.
fn literal_suffix(regex: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = regex.strip_prefix(".*")?.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            c if ".+*?()|[]{}^$#&-~".contains(c) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}
