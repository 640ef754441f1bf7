//! Counter names and which counters a decision or a JWKS fetch increments.
//!
//! Envoy shows Wasm counters in `/stats` under `wasmcustom.` and in `/stats/prometheus`
//! with dots turned into underscores. Names put the provider and the reason in their own
//! segments (`jwt_authz.provider.<name>.denied.<reason>`), so Envoy's `stats_tags` can turn
//! them into Prometheus labels; totals have names of their own, so labelled series never
//! double count. The table is generic over the host's counter id, so it is tested here with
//! the names themselves.

use crate::authn::Allowed;
use crate::config::Config;

/// Every denial reason ([`crate::error::AuthError::reason`]), each with its own counter.
pub const REASONS: [&str; 35] = [
    "missing",
    "multiple_tokens",
    "unreadable",
    "malformed",
    "algorithm",
    "expired",
    "lifetime",
    "issuer",
    "audience",
    "subject",
    "unknown_key",
    "signature",
    "keys_unavailable",
    "scope",
    "claim",
    "no_rule",
    "internal",
    "dpop_required",
    "bound_token",
    "dpop_binding",
    "certificate_binding",
    "certificate_required",
    "dpop_missing",
    "dpop_malformed",
    "dpop_algorithm",
    "dpop_key",
    "dpop_signature",
    "dpop_method",
    "dpop_uri",
    "dpop_time",
    "dpop_jti",
    "dpop_ath",
    "dpop_replay",
    "dpop_replay_store_full",
    "dpop_nonce",
];

/// The counters of one configuration, by host id.
#[derive(Debug)]
pub struct Counters<Id> {
    allowed: Id,
    cors_preflight_bypassed: Id,
    denied: Id,
    denied_by_reason: Vec<Id>,
    providers: Vec<ProviderCounters<Id>>,
}

#[derive(Debug)]
struct ProviderCounters<Id> {
    allowed: Id,
    denied_by_reason: Vec<Id>,
    jwks_fetch_success: Id,
    jwks_fetch_failed: Id,
}

impl<Id: Copy> Counters<Id> {
    /// Defines every counter of `config` through `define(name)`.
    pub fn define(config: &Config, mut define: impl FnMut(&str) -> Id) -> Counters<Id> {
        let mut by_reason = |prefix: &str| {
            REASONS
                .iter()
                .map(|reason| define(&format!("{prefix}.denied.{reason}")))
                .collect::<Vec<Id>>()
        };
        let denied_by_reason = by_reason("jwt_authz");
        let providers_by_reason: Vec<Vec<Id>> = config
            .providers
            .iter()
            .map(|p| by_reason(&format!("jwt_authz.provider.{}", p.name)))
            .collect();
        let providers = config
            .providers
            .iter()
            .zip(providers_by_reason)
            .map(|(p, denied_by_reason)| {
                let prefix = format!("jwt_authz.provider.{}", p.name);
                ProviderCounters {
                    allowed: define(&format!("{prefix}.allowed")),
                    denied_by_reason,
                    jwks_fetch_success: define(&format!("{prefix}.jwks_fetch_success")),
                    jwks_fetch_failed: define(&format!("{prefix}.jwks_fetch_failed")),
                }
            })
            .collect();
        Counters {
            allowed: define("jwt_authz.allowed"),
            cors_preflight_bypassed: define("jwt_authz.cors_preflight_bypassed"),
            denied: define("jwt_authz.denied_total"),
            denied_by_reason,
            providers,
        }
    }

    /// Calls `count` with each counter a request let through increments.
    pub fn count_allowed(&self, allowed: &Allowed, count: &mut impl FnMut(Id)) {
        count(self.allowed);
        if allowed.cors_preflight {
            count(self.cors_preflight_bypassed);
        }
        for p in allowed
            .verified_by
            .iter()
            .filter_map(|p| self.providers.get(*p))
        {
            count(p.allowed);
        }
    }

    /// Calls `count` with each counter of a denial for `reason`, attributed to `provider` if
    /// known.
    pub fn count_denial(&self, reason: &str, provider: Option<usize>, count: &mut impl FnMut(Id)) {
        count(self.denied);
        let Some(at) = REASONS.iter().position(|r| *r == reason) else {
            return;
        };
        if let Some(&id) = self.denied_by_reason.get(at) {
            count(id);
        }
        if let Some(&id) = provider
            .and_then(|p| self.providers.get(p))
            .and_then(|p| p.denied_by_reason.get(at))
        {
            count(id);
        }
    }

    /// The counter of a finished JWKS fetch (discovery included) of `provider`.
    pub fn jwks_fetch(&self, provider: usize, succeeded: bool) -> Option<Id> {
        let p = self.providers.get(provider)?;
        Some(if succeeded {
            p.jwks_fetch_success
        } else {
            p.jwks_fetch_failed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::Decision;
    use crate::error::AuthError;
    use crate::policy::requirement::Failure;

    fn config() -> Config {
        Config::from_json(
            br#"{
              "providers": {
                "customers": {"issuer": "https://c/", "audiences": ["a"],
                  "remote_jwks": {"http_uri": {"uri": "https://c/jwks", "cluster": "c"}}},
                "staff": {"issuer": "https://s/", "audiences": ["a"],
                  "oidc_discovery": {"cluster": "s"}}
              },
              "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "customers"}}]
            }"#,
        )
        .unwrap()
    }

    /// The counters `decision` increments, in order.
    fn ids(c: &Counters<&'static str>, decision: &Decision) -> Vec<&'static str> {
        let mut ids = Vec::new();
        let mut count = |id| ids.push(id);
        match decision {
            Decision::Allow(allowed) => c.count_allowed(allowed, &mut count),
            Decision::Deny(f) => c.count_denial(f.error.reason(), f.provider, &mut count),
            Decision::Wait(_) => {}
        }
        ids
    }

    fn counters() -> Counters<&'static str> {
        // Leaked names keep the test's ids readable and `Copy`.
        Counters::define(&config(), |name| -> &'static str {
            Box::leak(name.to_string().into_boxed_str())
        })
    }

    #[test]
    fn every_counter_is_defined_up_front() {
        let mut names = Vec::new();
        Counters::define(&config(), |name| names.push(name.to_string()));
        assert_eq!(names.len(), 3 + 3 * REASONS.len() + 2 * 3);
        for expected in [
            "jwt_authz.allowed",
            "jwt_authz.denied_total",
            "jwt_authz.denied.signature",
            "jwt_authz.cors_preflight_bypassed",
            "jwt_authz.provider.customers.allowed",
            "jwt_authz.provider.staff.denied.expired",
            "jwt_authz.provider.staff.jwks_fetch_success",
            "jwt_authz.provider.customers.jwks_fetch_failed",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
    }

    #[test]
    fn every_error_reason_has_a_counter() {
        for error in AuthError::every_kind() {
            assert!(REASONS.contains(&error.reason()), "{error:?}");
        }
    }

    #[test]
    fn denial_counts_total_reason_and_provider() {
        let c = counters();
        let decision = Decision::Deny(Failure {
            error: AuthError::Expired,
            provider: Some(1),
        });
        assert_eq!(
            ids(&c, &decision),
            vec![
                "jwt_authz.denied_total",
                "jwt_authz.denied.expired",
                "jwt_authz.provider.staff.denied.expired"
            ]
        );
        let decision = Decision::Deny(Failure {
            error: AuthError::NoMatchingRule,
            provider: None,
        });
        assert_eq!(
            ids(&c, &decision),
            vec!["jwt_authz.denied_total", "jwt_authz.denied.no_rule"]
        );
    }

    #[test]
    fn allow_counts_total_preflights_and_verifying_providers() {
        let c = counters();
        let decision = Decision::Allow(Allowed {
            verified_by: vec![0, 1],
            ..Allowed::default()
        });
        assert_eq!(
            ids(&c, &decision),
            vec![
                "jwt_authz.allowed",
                "jwt_authz.provider.customers.allowed",
                "jwt_authz.provider.staff.allowed"
            ]
        );
        let preflight = Decision::Allow(Allowed {
            cors_preflight: true,
            ..Allowed::default()
        });
        assert_eq!(
            ids(&c, &preflight),
            vec!["jwt_authz.allowed", "jwt_authz.cors_preflight_bypassed"]
        );
        assert!(ids(&c, &Decision::Wait(0)).is_empty());
    }

    #[test]
    fn jwks_fetches_count_per_provider() {
        let c = counters();
        assert_eq!(
            c.jwks_fetch(0, true),
            Some("jwt_authz.provider.customers.jwks_fetch_success")
        );
        assert_eq!(
            c.jwks_fetch(1, false),
            Some("jwt_authz.provider.staff.jwks_fetch_failed")
        );
        assert_eq!(c.jwks_fetch(2, true), None);
    }
}
