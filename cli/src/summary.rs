//! One line per rule for `check`'s report: what matches, and what it requires.

use jwt_authz::config::Config;
use jwt_authz::policy::matcher::{Pattern, StringMatch};
use jwt_authz::policy::requirement::Requirement;
use jwt_authz::policy::rules::{PathMatch, Rule};

/// `rules[i]: prefix /api -> token of auth0; scopes read:messages`, one per rule.
pub fn rules(config: &Config) -> Vec<String> {
    config
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| format!("rules[{i}]: {}", rule_line(config, rule)))
        .collect()
}

fn rule_line(config: &Config, rule: &Rule) -> String {
    let matcher = &rule.matcher;
    let mut parts = Vec::new();
    match &matcher.path {
        // A rule on Envoy's route alone matches every path.
        PathMatch::Prefix(p) if p.is_empty() && matcher.route_name.is_some() => {}
        PathMatch::Prefix(p) if p.is_empty() && matcher.virtual_host_name.is_some() => {}
        PathMatch::Prefix(p) => parts.push(format!("prefix {p}")),
        PathMatch::Exact(p) => parts.push(format!("path {p}")),
        PathMatch::Regex(r) => parts.push(format!("regex {}", r.as_str())),
    }
    for (what, name) in [
        ("route", &matcher.route_name),
        ("virtual host", &matcher.virtual_host_name),
    ] {
        if let Some(name) = name {
            parts.push(format!("{what} {}", string_match(name)));
        }
    }
    let mut line = parts.join(" ");
    if !matcher.methods.is_empty() {
        line.push_str(&format!(" [{}]", matcher.methods.join(",")));
    }
    if !matcher.headers.is_empty() {
        let names: Vec<&str> = matcher.headers.iter().map(|h| h.name.as_str()).collect();
        line.push_str(&format!(" if headers {}", names.join(",")));
    }
    line.push_str(" -> ");
    line.push_str(&match &rule.requirement {
        None => "no token needed".to_string(),
        Some(requirement) => requirement_text(config, requirement),
    });
    let access = &rule.access;
    if !access.all_scopes.is_empty() {
        line.push_str(&format!("; scopes {}", access.all_scopes.join(" ")));
    }
    if !access.any_scopes.is_empty() {
        line.push_str(&format!(
            "; one of the scopes {}",
            access.any_scopes.join(" ")
        ));
    }
    if !access.claims.is_empty() {
        let names: Vec<&str> = access.claims.iter().map(|c| c.name.as_str()).collect();
        line.push_str(&format!("; claims {}", names.join(", ")));
    }
    line
}

fn requirement_text(config: &Config, requirement: &Requirement) -> String {
    let list = |items: &[Requirement], joiner: &str| {
        let parts: Vec<String> = items.iter().map(|r| requirement_text(config, r)).collect();
        parts.join(joiner)
    };
    match requirement {
        Requirement::Provider {
            provider,
            audiences,
        } => {
            let name = config
                .providers
                .get(*provider)
                .map_or("?", |p| p.name.as_str());
            match audiences {
                None => format!("token of {name}"),
                Some(a) => format!("token of {name} for {}", a.join(" ")),
            }
        }
        Requirement::Any(items) => format!("any of ({})", list(items, " | ")),
        Requirement::All(items) => format!("all of ({})", list(items, " + ")),
        Requirement::AllowMissing => "token optional".to_string(),
        Requirement::AllowMissingOrFailed => "token optional, failures let through".to_string(),
    }
}

/// A string matcher as `check` shows it: `exact NAME`, `prefix NAME`, ….
fn string_match(matcher: &StringMatch) -> String {
    let shown = match &matcher.pattern {
        Pattern::Exact(v) => format!("exact {v}"),
        Pattern::Prefix(v) => format!("prefix {v}"),
        Pattern::Suffix(v) => format!("suffix {v}"),
        Pattern::Contains(v) => format!("contains {v}"),
        Pattern::Regex(r) => format!("regex {}", r.as_str()),
    };
    match matcher.ignore_case {
        true => format!("{shown} (any case)"),
        false => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_on_envoy_s_route_shows_the_route_and_no_empty_path() {
        let json = serde_json::json!({
            "providers": {"a": {
                "issuer": "https://a/",
                "audiences": ["x"],
                "algorithms": ["HS256"],
                "local_jwks": {"inline_string": r#"{"keys":[{"kty":"oct","alg":"HS256","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#}
            }},
            "rules": [
                {"match": {"route_name": {"prefix": "orders."}}, "requires": {"provider_name": "a"}},
                {"match": {"prefix": "/x", "virtual_host_name": {"exact": "API:443", "ignore_case": true}}},
                {"match": {"prefix": "/"}}
            ]
        });
        let config = Config::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(
            rules(&config),
            [
                "rules[0]: route prefix orders. -> token of a",
                "rules[1]: prefix /x virtual host exact api:443 (any case) -> no token needed",
                "rules[2]: prefix / -> no token needed",
            ]
        );
    }
}
