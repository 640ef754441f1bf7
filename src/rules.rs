//! Which requirement applies to a request: rules are tried in order, the first match wins.

/// How a rule matches the request path (the query string is never part of the match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path starts with this.
    Prefix(String),
    /// The path is exactly this.
    Exact(String),
}

/// One entry of `rules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub matcher: PathMatch,
    /// Index of the provider whose token is required; `None` lets the request through.
    pub provider: Option<usize>,
    /// Scopes that must all be granted (checked only after the token verified).
    pub required_scopes: Vec<String>,
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            PathMatch::Exact(exact) => path == exact,
        }
    }
}

/// The first rule matching `path` (`:path`, query included; it is ignored), if any.
pub fn first_match<'c>(rules: &'c [Rule], path: &str) -> Option<&'c Rule> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    rules.iter().find(|rule| rule.matcher.matches(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(matcher: PathMatch, provider: Option<usize>) -> Rule {
        Rule {
            matcher,
            provider,
            required_scopes: vec![],
        }
    }

    fn rules() -> Vec<Rule> {
        vec![
            rule(PathMatch::Prefix("/api/public".into()), None),
            rule(PathMatch::Exact("/healthz".into()), None),
            rule(PathMatch::Prefix("/api".into()), Some(0)),
        ]
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = rules();
        assert_eq!(first_match(&rules, "/api/public/x"), Some(&rules[0]));
        assert_eq!(first_match(&rules, "/api/private"), Some(&rules[2]));
    }

    #[test]
    fn exact_path_does_not_match_longer_paths() {
        let rules = rules();
        assert_eq!(first_match(&rules, "/healthz"), Some(&rules[1]));
        assert_eq!(first_match(&rules, "/healthz/deep"), None);
    }

    #[test]
    fn query_string_is_not_part_of_the_match() {
        let rules = rules();
        assert_eq!(first_match(&rules, "/healthz?probe=1"), Some(&rules[1]));
        assert_eq!(first_match(&rules, "/other?x=/api"), None);
    }

    #[test]
    fn unmatched_request_has_no_rule() {
        assert_eq!(first_match(&rules(), "/"), None);
    }
}
