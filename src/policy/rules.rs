//! Which rule applies to a request: rules are tried in order, the first match wins.
//!
//! A match is a path condition (`prefix`, `path` or `safe_regex`, never looking at the query
//! string), optionally narrowed by header conditions, a list of methods, and the names of the
//! Envoy route and virtual host the request matched.

use crate::policy::access::Access;
use crate::policy::matcher::StringMatch;
use crate::policy::requirement::Requirement;
use crate::policy::route::{NO_FACTS, RouteFacts};
use crate::proof::certificate::Peer;
use crate::request::headers::Header;

/// The request facts matching and the checks need.
#[derive(Debug, Clone, Copy)]
pub struct Request<'r> {
    /// `:method`.
    pub method: &'r str,
    /// `:path`, query included.
    pub path: &'r str,
    /// All request headers, names in lower case, repeated names as separate entries.
    pub headers: &'r [Header<'r>],
    /// The downstream connection's client certificate, when the configuration binds tokens
    /// to certificates (the host is not asked otherwise).
    pub peer: Peer<'r>,
    /// What Envoy knows of the request beyond its headers, asked only when needed.
    pub route: &'r dyn RouteFacts,
}

impl<'r> Request<'r> {
    /// Reads `:method` and `:path` from the headers themselves.
    pub fn from_headers(headers: &'r [Header<'r>]) -> Request<'r> {
        let pseudo = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| *v)
        };
        Request {
            method: pseudo(":method"),
            path: pseudo(":path"),
            headers,
            peer: Peer::default(),
            route: &NO_FACTS,
        }
    }

    /// The path without query string or fragment.
    pub fn path_only(&self) -> &'r str {
        self.path.split(['?', '#']).next().unwrap_or_default()
    }

    /// Every value of header `name` (lower case), joined with commas as Envoy does.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v);
        let first = values.next()?;
        Some(values.fold(first.to_string(), |joined, v| joined + "," + v))
    }
}

/// One entry of `rules`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: RouteMatch,
    /// What the request must carry; `None` lets it through without any token.
    pub requirement: Option<Requirement>,
    /// Scopes and claims the verified token must grant.
    pub access: Access,
}

/// When a rule applies: every condition given must hold.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    pub path: PathMatch,
    pub headers: Vec<HeaderMatcher>,
    /// Upper-case method names; empty means any method.
    pub methods: Vec<String>,
    /// Envoy's name of the route the request matched (`xds.route_name`).
    pub route_name: Option<StringMatch>,
    /// Envoy's name of the virtual host (`xds.virtual_host_name`).
    pub virtual_host_name: Option<StringMatch>,
}

/// How a rule matches the request path (the query string is never part of the match).
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// The path starts with this.
    Prefix(String),
    /// The path is exactly this.
    Exact(String),
    /// The whole path matches this regular expression (RE2 syntax, linear time).
    Regex(regex_lite::Regex),
}

/// A condition on one request header (a subset of Envoy's `HeaderMatcher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatcher {
    /// Lower-case header name; pseudo-headers such as `:authority` are allowed.
    pub name: String,
    pub condition: HeaderCondition,
    /// Matches when the condition does not hold (a missing header still matches no value
    /// condition, as in Envoy).
    pub invert: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderCondition {
    Exact(String),
    Prefix(String),
    Present,
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            PathMatch::Exact(exact) => path == exact,
            PathMatch::Regex(regex) => regex.is_match(path),
        }
    }
}

impl HeaderMatcher {
    fn matches(&self, request: &Request) -> bool {
        let value = request.header(&self.name);
        let holds = match (&self.condition, value) {
            (HeaderCondition::Present, value) => value.is_some(),
            // As in Envoy: a missing header matches no value condition, inverted or not.
            (_, None) => return false,
            (HeaderCondition::Exact(expected), Some(value)) => value == *expected,
            (HeaderCondition::Prefix(prefix), Some(value)) => value.starts_with(prefix.as_str()),
        };
        holds != self.invert
    }
}

impl RouteMatch {
    /// A match on the path alone.
    pub fn path(path: PathMatch) -> RouteMatch {
        RouteMatch {
            path,
            headers: Vec::new(),
            methods: Vec::new(),
            route_name: None,
            virtual_host_name: None,
        }
    }

    /// The host is asked for the route's names last, and only by a rule that names them.
    fn matches(&self, request: &Request) -> bool {
        let named = |matcher: &Option<StringMatch>, name: fn(&dyn RouteFacts) -> Option<&str>| {
            matcher
                .as_ref()
                .is_none_or(|m| name(request.route).is_some_and(|n| m.matches(n)))
        };
        self.path.matches(request.path_only())
            && (self.methods.is_empty() || self.methods.iter().any(|m| m == request.method))
            && self.headers.iter().all(|h| h.matches(request))
            && named(&self.route_name, |r| r.route_name())
            && named(&self.virtual_host_name, |r| r.virtual_host_name())
    }
}

/// The first rule matching `request`, if any.
pub fn first_match<'c>(rules: &'c [Rule], request: &Request) -> Option<&'c Rule> {
    rules.iter().find(|rule| rule.matcher.matches(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(matcher: RouteMatch) -> Rule {
        Rule {
            matcher,
            requirement: None,
            access: Access::default(),
        }
    }

    fn regex(pattern: &str) -> PathMatch {
        PathMatch::Regex(regex_lite::Regex::new(&format!("^(?:{pattern})$")).unwrap())
    }

    fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        pairs.to_vec()
    }

    /// The index of the rule that matches `method path` with `extra` headers.
    fn matched(rules: &[Rule], method: &str, path: &str, extra: &[(&str, &str)]) -> Option<usize> {
        let mut all = headers(&[(":method", method), (":path", path)]);
        all.extend(headers(extra));
        let request = Request::from_headers(&all);
        first_match(rules, &request).map(|r| rules.iter().position(|x| std::ptr::eq(x, r)).unwrap())
    }

    fn paths() -> Vec<Rule> {
        vec![
            rule(RouteMatch::path(PathMatch::Prefix("/api/public".into()))),
            rule(RouteMatch::path(PathMatch::Exact("/healthz".into()))),
            rule(RouteMatch::path(regex(r"/users/[0-9]+/orders"))),
            rule(RouteMatch::path(PathMatch::Prefix("/api".into()))),
        ]
    }

    #[test]
    fn first_matching_rule_wins() {
        let rules = paths();
        assert_eq!(matched(&rules, "GET", "/api/public/x", &[]), Some(0));
        assert_eq!(matched(&rules, "GET", "/api/private", &[]), Some(3));
    }

    #[test]
    fn exact_path_does_not_match_longer_paths() {
        let rules = paths();
        assert_eq!(matched(&rules, "GET", "/healthz", &[]), Some(1));
        assert_eq!(matched(&rules, "GET", "/healthz/deep", &[]), None);
    }

    #[test]
    fn query_string_is_not_part_of_the_match() {
        let rules = paths();
        assert_eq!(matched(&rules, "GET", "/healthz?probe=1", &[]), Some(1));
        assert_eq!(matched(&rules, "GET", "/other?x=/api", &[]), None);
        assert_eq!(
            matched(&rules, "GET", "/users/7/orders?page=2", &[]),
            Some(2)
        );
    }

    #[test]
    fn grpc_methods_match_by_path_and_services_by_prefix() {
        let rules = vec![
            rule(RouteMatch::path(PathMatch::Exact(
                "/grpc.health.v1.Health/Check".into(),
            ))),
            rule(RouteMatch::path(PathMatch::Exact(
                "/shop.v1.Orders/CancelOrder".into(),
            ))),
            rule(RouteMatch::path(PathMatch::Prefix(
                "/shop.v1.Orders/".into(),
            ))),
        ];
        let call = |path| {
            matched(
                &rules,
                "POST",
                path,
                &[("content-type", "application/grpc")],
            )
        };
        assert_eq!(call("/grpc.health.v1.Health/Check"), Some(0));
        assert_eq!(call("/grpc.health.v1.Health/Watch"), None);
        assert_eq!(call("/shop.v1.Orders/CancelOrder"), Some(1));
        assert_eq!(call("/shop.v1.Orders/GetOrder"), Some(2));
        // The slash ends the service name: another service that starts alike is not matched.
        assert_eq!(call("/shop.v1.OrdersAdmin/GetOrder"), None);
        assert_eq!(
            call("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            None
        );
    }

    #[test]
    fn regex_must_match_the_whole_path() {
        let rules = paths();
        assert_eq!(matched(&rules, "GET", "/users/42/orders", &[]), Some(2));
        assert_eq!(matched(&rules, "GET", "/users/42/orders/9", &[]), None);
        assert_eq!(matched(&rules, "GET", "/x/users/42/orders", &[]), None);
        assert_eq!(matched(&rules, "GET", "/users/abc/orders", &[]), None);
    }

    #[test]
    fn methods_narrow_a_match() {
        let rules = vec![
            rule(RouteMatch {
                methods: vec!["GET".into(), "HEAD".into()],
                ..RouteMatch::path(PathMatch::Prefix("/messages".into()))
            }),
            rule(RouteMatch::path(PathMatch::Prefix("/".into()))),
        ];
        assert_eq!(matched(&rules, "GET", "/messages", &[]), Some(0));
        assert_eq!(matched(&rules, "HEAD", "/messages", &[]), Some(0));
        assert_eq!(matched(&rules, "POST", "/messages", &[]), Some(1));
        assert_eq!(matched(&rules, "get", "/messages", &[]), Some(1));
    }

    #[test]
    fn header_conditions_all_must_hold() {
        let header = |name: &str, condition: HeaderCondition, invert: bool| HeaderMatcher {
            name: name.into(),
            condition,
            invert,
        };
        let rules = vec![
            rule(RouteMatch {
                headers: vec![
                    header("x-tenant", HeaderCondition::Exact("staff".into()), false),
                    header("x-debug", HeaderCondition::Present, true),
                ],
                ..RouteMatch::path(PathMatch::Prefix("/".into()))
            }),
            rule(RouteMatch {
                headers: vec![header(
                    ":authority",
                    HeaderCondition::Prefix("admin.".into()),
                    false,
                )],
                ..RouteMatch::path(PathMatch::Prefix("/".into()))
            }),
        ];
        assert_eq!(
            matched(&rules, "GET", "/", &[("x-tenant", "staff")]),
            Some(0)
        );
        assert_eq!(
            matched(&rules, "GET", "/", &[("X-Tenant", "staff")]),
            Some(0)
        );
        assert_eq!(
            matched(&rules, "GET", "/", &[("x-tenant", "staffer")]),
            None
        );
        assert_eq!(
            matched(
                &rules,
                "GET",
                "/",
                &[("x-tenant", "staff"), ("x-debug", "1")]
            ),
            None
        );
        assert_eq!(
            matched(&rules, "GET", "/", &[(":authority", "admin.example.com")]),
            Some(1)
        );
        assert_eq!(matched(&rules, "GET", "/", &[]), None);
    }

    #[test]
    fn inverted_value_conditions_need_the_header_as_in_envoy() {
        let rules = vec![rule(RouteMatch {
            headers: vec![HeaderMatcher {
                name: "x-env".into(),
                condition: HeaderCondition::Exact("prod".into()),
                invert: true,
            }],
            ..RouteMatch::path(PathMatch::Prefix("/".into()))
        })];
        assert_eq!(matched(&rules, "GET", "/", &[("x-env", "dev")]), Some(0));
        assert_eq!(matched(&rules, "GET", "/", &[("x-env", "prod")]), None);
        assert_eq!(matched(&rules, "GET", "/", &[]), None);
    }

    #[test]
    fn repeated_headers_are_matched_joined() {
        let rules = vec![rule(RouteMatch {
            headers: vec![HeaderMatcher {
                name: "x-role".into(),
                condition: HeaderCondition::Exact("a,b".into()),
                invert: false,
            }],
            ..RouteMatch::path(PathMatch::Prefix("/".into()))
        })];
        assert_eq!(
            matched(&rules, "GET", "/", &[("x-role", "a"), ("x-role", "b")]),
            Some(0)
        );
        assert_eq!(matched(&rules, "GET", "/", &[("x-role", "a")]), None);
    }

    #[test]
    fn unmatched_request_has_no_rule() {
        assert_eq!(matched(&paths(), "GET", "/", &[]), None);
    }

    /// Facts that count how often the host would be asked.
    #[derive(Default)]
    struct Counted {
        facts: crate::policy::route::KnownFacts,
        asked: std::cell::Cell<usize>,
    }

    impl RouteFacts for Counted {
        fn route_name(&self) -> Option<&str> {
            self.asked.set(self.asked.get() + 1);
            self.facts.route_name.as_deref()
        }
        fn virtual_host_name(&self) -> Option<&str> {
            self.asked.set(self.asked.get() + 1);
            self.facts.virtual_host_name.as_deref()
        }
        fn requirement_name(&self) -> Option<&str> {
            unreachable!("rules never ask for it")
        }
        fn filter_state(&self) -> Option<&str> {
            unreachable!("rules never ask for it")
        }
    }

    #[test]
    fn route_and_virtual_host_names_are_asked_only_by_rules_naming_them() {
        use crate::policy::matcher::{Pattern, StringMatch};
        let named = |route: Option<Pattern>, host: Option<Pattern>| {
            let string = |pattern| StringMatch {
                pattern,
                ignore_case: false,
            };
            rule(RouteMatch {
                route_name: route.map(string),
                virtual_host_name: host.map(string),
                ..RouteMatch::path(PathMatch::Prefix("/".into()))
            })
        };
        let rules = vec![
            rule(RouteMatch::path(PathMatch::Prefix("/public".into()))),
            named(Some(Pattern::Exact("orders".into())), None),
            named(
                Some(Pattern::Prefix("httproute/shop/".into())),
                Some(Pattern::Exact("api.example.com:443".into())),
            ),
        ];
        let decide = |path: &str, route: Option<&str>, host: Option<&str>| {
            let all = headers(&[(":method", "GET"), (":path", path)]);
            let facts = Counted {
                facts: crate::policy::route::KnownFacts {
                    route_name: route.map(str::to_string),
                    virtual_host_name: host.map(str::to_string),
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut request = Request::from_headers(&all);
            request.route = &facts;
            let index = first_match(&rules, &request)
                .map(|r| rules.iter().position(|x| std::ptr::eq(x, r)).unwrap());
            (index, facts.asked.get())
        };
        assert_eq!(decide("/public/x", Some("orders"), None), (Some(0), 0));
        assert_eq!(decide("/x", Some("orders"), None), (Some(1), 1));
        assert_eq!(
            decide(
                "/x",
                Some("httproute/shop/cart/rule/0/match/0/*"),
                Some("api.example.com:443")
            ),
            (Some(2), 3)
        );
        assert_eq!(
            decide("/x", Some("httproute/shop/cart"), Some("other:443")),
            (None, 3)
        );
        assert_eq!(decide("/x", None, None), (None, 2));
    }
}
