//! The shape of the configuration: every object the reader accepts, with its members.
//!
//! The reader takes its lists of known members from here, and reaches a nested object only
//! through the member that declares it ([`Kind`]), so this tree is exactly what
//! `on_configure` accepts. The book's reference (`docs/src/reference/`) is checked against it:
//! a member added here without a row on its reference page fails a test, and so does a row
//! naming a member that is not here. A new field: add it to its object below, read it in the
//! compiler, and give it a row in the table of its object in the book.

/// A member of a configuration object.
#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub kind: Kind,
}

/// What a member holds.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string, number or boolean, or an array of those.
    Value,
    /// An object with these members.
    Object(&'static [Member]),
    /// An array of objects with these members.
    Objects(&'static [Member]),
    /// An object whose keys are names chosen by the user (`providers`), each value an object
    /// with these members.
    Named(&'static [Member]),
}

impl Kind {
    /// The members of the object(s) this member holds; none for a value.
    pub fn members(self) -> &'static [Member] {
        match self {
            Kind::Value => &[],
            Kind::Object(members) | Kind::Objects(members) | Kind::Named(members) => members,
        }
    }
}

const fn value(name: &'static str) -> Member {
    Member {
        name,
        kind: Kind::Value,
    }
}

const fn object(name: &'static str, members: &'static [Member]) -> Member {
    Member {
        name,
        kind: Kind::Object(members),
    }
}

const fn objects(name: &'static str, members: &'static [Member]) -> Member {
    Member {
        name,
        kind: Kind::Objects(members),
    }
}

/// The top level of the configuration.
pub static CONFIG: [Member; 8] = [
    Member {
        name: "providers",
        kind: Kind::Named(&PROVIDER),
    },
    objects("rules", &RULE),
    Member {
        name: "requirement_map",
        kind: Kind::Named(&REQUIREMENT),
    },
    object("filter_state_rules", &FILTER_STATE_RULES),
    value("realm"),
    value("bypass_cors_preflight"),
    value("strip_failure_response"),
    object("filter_state", &FILTER_STATE),
];

/// What is written to the request's filter state for Envoy's access logs and later filters.
pub static FILTER_STATE: [Member; 4] = [
    value("identity"),
    objects("claims", &EXPOSED_CLAIM),
    value("failure"),
    object("normalize_payload_in_metadata", &NORMALIZE_PAYLOAD),
];

pub static EXPOSED_CLAIM: [Member; 2] = [value("name"), value("claim_name")];

pub static NORMALIZE_PAYLOAD: [Member; 1] = [value("space_delimited_claims")];

/// jwt_authn's `FilterStateRule`: a requirement chosen by a filter state value.
pub static FILTER_STATE_RULES: [Member; 2] = [
    value("name"),
    Member {
        name: "requires",
        kind: Kind::Named(&REQUIREMENT),
    },
];

pub static PROVIDER: [Member; 21] = [
    value("issuer"),
    value("audiences"),
    object("remote_jwks", &REMOTE_JWKS),
    object("oidc_discovery", &OIDC_DISCOVERY),
    object("local_jwks", &LOCAL_JWKS),
    objects("from_headers", &FROM_HEADER),
    value("from_params"),
    value("from_cookies"),
    value("forward"),
    value("clock_skew_seconds"),
    value("algorithms"),
    value("max_token_bytes"),
    objects("claim_to_headers", &CLAIM_TO_HEADER),
    value("forward_payload_header"),
    value("pad_forward_payload_header"),
    object("jwt_cache_config", &JWT_CACHE_CONFIG),
    object("dpop", &DPOP),
    object("certificate_binding", &CERTIFICATE_BINDING),
    object("subjects", &STRING_MATCHER),
    value("max_lifetime"),
    value("require_expiration"),
];

/// Envoy's `StringMatcher`: exactly one of the patterns, and `ignore_case`.
pub static STRING_MATCHER: [Member; 6] = [
    value("exact"),
    value("prefix"),
    value("suffix"),
    value("contains"),
    object("safe_regex", &SAFE_REGEX),
    value("ignore_case"),
];

pub static CERTIFICATE_BINDING: [Member; 2] = [value("mode"), value("forwarded_by")];

pub static DPOP: [Member; 5] = [
    value("mode"),
    value("algorithms"),
    value("max_age"),
    value("public_origin"),
    value("nonce_period"),
];

pub static REMOTE_JWKS: [Member; 3] = [
    object("http_uri", &HTTP_URI),
    value("cache_duration"),
    value("min_refetch_interval"),
];

pub static HTTP_URI: [Member; 3] = [value("uri"), value("cluster"), value("timeout")];

pub static OIDC_DISCOVERY: [Member; 5] = [
    value("cluster"),
    value("uri"),
    value("timeout"),
    value("cache_duration"),
    value("min_refetch_interval"),
];

pub static LOCAL_JWKS: [Member; 1] = [value("inline_string")];

pub static FROM_HEADER: [Member; 2] = [value("name"), value("value_prefix")];

pub static CLAIM_TO_HEADER: [Member; 2] = [value("header_name"), value("claim_name")];

pub static JWT_CACHE_CONFIG: [Member; 1] = [value("jwt_cache_size")];

pub static RULE: [Member; 6] = [
    object("match", &MATCH),
    object("requires", &REQUIREMENT),
    value("requirement_name"),
    value("required_scopes"),
    value("required_scopes_any"),
    objects("required_claims", &CLAIM_CONDITION),
];

pub static MATCH: [Member; 7] = [
    value("prefix"),
    value("path"),
    object("safe_regex", &SAFE_REGEX),
    objects("headers", &HEADER_CONDITION),
    value("methods"),
    object("route_name", &STRING_MATCHER),
    object("virtual_host_name", &STRING_MATCHER),
];

pub static SAFE_REGEX: [Member; 1] = [value("regex")];

pub static HEADER_CONDITION: [Member; 5] = [
    value("name"),
    value("exact_match"),
    value("prefix_match"),
    value("present_match"),
    value("invert_match"),
];

/// A `JwtRequirement`: exactly one member, as in jwt_authn's oneof.
pub static REQUIREMENT: [Member; 6] = [
    value("provider_name"),
    object("provider_and_audiences", &PROVIDER_AND_AUDIENCES),
    object("requires_any", &REQUIREMENT_LIST),
    object("requires_all", &REQUIREMENT_LIST),
    object("allow_missing", &[]),
    object("allow_missing_or_failed", &[]),
];

pub static PROVIDER_AND_AUDIENCES: [Member; 2] = [value("provider_name"), value("audiences")];

pub static REQUIREMENT_LIST: [Member; 1] = [objects("requirements", &REQUIREMENT)];

pub static CLAIM_CONDITION: [Member; 4] = [
    value("name"),
    value("equals"),
    value("one_of"),
    value("contains"),
];

/// One member as the documentation names it: `path` is the member's place in any
/// configuration, with `NAME` for a name the user chooses and `[]` for any array element
/// (`providers.NAME.remote_jwks.http_uri.uri`, `rules[].match.headers[].name`).
#[derive(Debug, Clone)]
pub struct Field {
    /// The object it is a member of (`providers.NAME.remote_jwks`; [`ROOT`] at the top).
    pub object: String,
    pub name: &'static str,
    pub path: String,
    pub kind: Kind,
    /// Its objects have the shape of an enclosing one (requirements nest): their members are
    /// listed there, not again below this path.
    pub recursive: bool,
}

/// How the top level is named where a path is expected.
pub const ROOT: &str = "(root)";

/// Every member of every object the configuration can hold, parents before their members.
pub fn all() -> Vec<Field> {
    let mut fields = Vec::new();
    walk(ROOT, "", &CONFIG, &mut Vec::new(), &mut fields);
    fields
}

fn walk(
    object: &str,
    prefix: &str,
    members: &'static [Member],
    ancestors: &mut Vec<*const Member>,
    fields: &mut Vec<Field>,
) {
    ancestors.push(members.as_ptr());
    for member in members {
        let path = format!("{prefix}{}", member.name);
        let inner = member.kind.members();
        // Empty member lists may share an address: only a non-empty one can recur.
        let recursive = !inner.is_empty() && ancestors.contains(&inner.as_ptr());
        fields.push(Field {
            object: object.to_string(),
            name: member.name,
            path: path.clone(),
            kind: member.kind,
            recursive,
        });
        if recursive {
            continue;
        }
        let inner_object = match member.kind {
            Kind::Value => continue,
            Kind::Object(_) => path,
            Kind::Objects(_) => format!("{path}[]"),
            Kind::Named(_) => format!("{path}.NAME"),
        };
        walk(
            &inner_object,
            &format!("{inner_object}."),
            inner,
            ancestors,
            fields,
        );
    }
    ancestors.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Vec<String> {
        all().into_iter().map(|f| f.path).collect()
    }

    #[test]
    fn every_member_has_its_path_pattern() {
        let paths = paths();
        for expected in [
            "providers",
            "providers.NAME.remote_jwks.http_uri.uri",
            "providers.NAME.from_headers[].value_prefix",
            "rules[].match.headers[].invert_match",
            "rules[].requires.provider_and_audiences.audiences",
            "rules[].requires.requires_any.requirements",
            "rules[].requires.requires_all.requirements",
            "rules[].requires.allow_missing",
            "rules[].required_claims[].one_of",
            "bypass_cors_preflight",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{expected}");
        }
    }

    #[test]
    fn nested_requirements_stop_at_their_recursion() {
        let fields = all();
        let requirements: Vec<&Field> =
            fields.iter().filter(|f| f.name == "requirements").collect();
        assert_eq!(
            requirements.len(),
            6,
            "requires_any and requires_all of rules, requirement_map and filter_state_rules"
        );
        assert!(requirements.iter().all(|f| f.recursive));
        assert!(
            !paths().iter().any(|p| p.contains("requirements[]")),
            "not walked again"
        );
        assert!(fields.iter().filter(|f| f.recursive).count() == 6);
    }

    #[test]
    fn paths_are_unique_and_objects_come_before_their_members() {
        let fields = all();
        for (i, field) in fields.iter().enumerate() {
            assert!(
                !fields[..i].iter().any(|f| f.path == field.path),
                "{} twice",
                field.path
            );
            if field.object != ROOT {
                let parent = field
                    .object
                    .trim_end_matches("[]")
                    .trim_end_matches(".NAME");
                assert!(
                    fields[..i].iter().any(|f| f.path == parent),
                    "{} before {}",
                    parent,
                    field.path
                );
            }
        }
    }
}
