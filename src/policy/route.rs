//! What Envoy knows of a request beyond its headers: the route and virtual host it matched,
//! the requirement the route's metadata names, and the filter state an earlier filter set.
//!
//! The decision asks through [`RouteFacts`] only when a rule or a setting needs the answer,
//! and the filter reads each from the host on the first question: a configuration that uses
//! none of them reads none.

use std::fmt;

/// The key of jwt-authz's entry in a route's `metadata.filter_metadata`.
pub const METADATA_KEY: &str = "jwt_authz";
/// The member of that entry naming a requirement of `requirement_map`.
pub const REQUIREMENT_NAME: &str = "requirement_name";

pub trait RouteFacts {
    /// Envoy's `xds.route_name`: the `name` of the route the request matched.
    fn route_name(&self) -> Option<&str>;
    /// Envoy's `xds.virtual_host_name`.
    fn virtual_host_name(&self) -> Option<&str>;
    /// `filter_metadata.jwt_authz.requirement_name` of the route's metadata.
    fn requirement_name(&self) -> Option<&str>;
    /// The value of the filter state object `filter_state_rules.name`.
    fn filter_state(&self) -> Option<&str>;
}

/// Shown by name only: formatting the host's answers would cost module size for nothing.
impl fmt::Debug for dyn RouteFacts + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouteFacts")
    }
}

/// Facts given up front: for tests, tools, and requests built from headers alone (none).
#[derive(Debug, Clone, Default)]
pub struct KnownFacts {
    pub route_name: Option<String>,
    pub virtual_host_name: Option<String>,
    pub requirement_name: Option<String>,
    pub filter_state: Option<String>,
}

impl RouteFacts for KnownFacts {
    fn route_name(&self) -> Option<&str> {
        self.route_name.as_deref()
    }
    fn virtual_host_name(&self) -> Option<&str> {
        self.virtual_host_name.as_deref()
    }
    fn requirement_name(&self) -> Option<&str> {
        self.requirement_name.as_deref()
    }
    fn filter_state(&self) -> Option<&str> {
        self.filter_state.as_deref()
    }
}

/// No facts at all.
pub static NO_FACTS: KnownFacts = KnownFacts {
    route_name: None,
    virtual_host_name: None,
    requirement_name: None,
    filter_state: None,
};
