//! One line per rule for `check`'s report: what matches, and what it requires.

use jwt_authz::config::Config;
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
    let mut line = match &matcher.path {
        PathMatch::Prefix(p) => format!("prefix {p}"),
        PathMatch::Exact(p) => format!("path {p}"),
        PathMatch::Regex(r) => format!("regex {}", r.as_str()),
    };
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
