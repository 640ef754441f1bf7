//! The decision for one request: the checks in order, cheapest first, so junk costs no
//! signature check.
//!
//! rule -> token location -> size -> JWS structure and `alg` -> `exp`/`nbf`/`iat` -> `iss`
//! -> `aud` -> key by `kid` -> signature -> scopes.

use crate::claims::{self, ClaimRules};
use crate::config::Config;
use crate::error::AuthError;
use crate::extract::{self, Removal};
use crate::jwt;
use crate::key_cache::Lookup;
use crate::keyring::Keyring;
use crate::rules;
use crate::verify;
use std::time::Duration;

/// The request facts the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Request<'r> {
    /// `:path`, query included.
    pub path: &'r str,
    /// All request headers, names in any case, repeated names as separate entries.
    pub headers: &'r [(String, String)],
}

/// What to do with a request.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Allow(Allowed),
    Deny(AuthError),
    /// The keys of this provider are being fetched: pause, then decide again.
    Wait(usize),
}

/// How an allowed request continues upstream.
#[derive(Debug, Default, PartialEq)]
pub struct Allowed {
    /// Take the token out of the request (`forward: false`).
    pub remove_token: Option<Removal>,
    /// The provider that verified the token; `None` on routes without requirement.
    pub provider: Option<usize>,
}

/// Decides `request` at time `now` (since the Unix epoch).
pub fn authorize(
    config: &Config,
    request: Request,
    keyring: &mut Keyring,
    now: Duration,
) -> Decision {
    check(config, request, keyring, now).unwrap_or_else(Decision::Deny)
}

fn check(
    config: &Config,
    request: Request,
    keyring: &mut Keyring,
    now: Duration,
) -> Result<Decision, AuthError> {
    let rule = rules::first_match(&config.rules, request.path).ok_or(AuthError::NoMatchingRule)?;
    let Some(provider_index) = rule.provider else {
        return Ok(Decision::Allow(Allowed::default()));
    };
    let provider = config
        .providers
        .get(provider_index)
        .ok_or(AuthError::NoMatchingRule)?;
    let found = extract::find_token(request.path, request.headers, &provider.locations)?
        .ok_or(AuthError::Missing)?;
    let jws = jwt::parse(&found.token, provider.max_token_bytes, &provider.algorithms)?;
    let claim_rules = ClaimRules {
        issuer: &provider.issuer,
        audiences: &provider.audiences,
        clock_skew_seconds: provider.clock_skew_seconds,
    };
    claims::check(&jws.claims, claim_rules, now.as_secs())?;
    let key = match keyring.lookup(provider_index, jws.kid.as_deref(), jws.algorithm, now) {
        Lookup::Found(key) => key,
        Lookup::Wait => return Ok(Decision::Wait(provider_index)),
        Lookup::NotFound => return Err(AuthError::UnknownKey),
        Lookup::Unavailable => return Err(AuthError::KeysUnavailable),
    };
    verify::verify(&jws, key)?;
    let missing = claims::missing_scopes(&jws.claims, &rule.required_scopes);
    if !missing.is_empty() {
        return Err(AuthError::InsufficientScope(rule.required_scopes.clone()));
    }
    Ok(Decision::Allow(Allowed {
        remove_token: (!provider.forward).then_some(found.removal),
        provider: Some(provider_index),
    }))
}
