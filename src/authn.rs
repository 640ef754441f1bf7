//! The decision for one request: the checks in order, cheapest first, so junk costs no
//! signature check.
//!
//! CORS preflight bypass -> the route's requirement, a rule, or the filter state's requirement
//! -> requirement, where each token is checked as: location -> size -> JWS structure and `alg`
//! -> `iss` (which provider) -> `exp`/`nbf`/`iat` (and `max_lifetime`) -> `aud` -> `sub`
//! (`subjects`) -> key by `kid` -> signature. Then the rule's scopes and claims, and finally the
//! header edits: client copies of identity headers out, verified identity in.

use crate::config::{Config, Provider};
use crate::error::ProofFault;
use crate::error::{AuthError, Schemes, UnreadablePart};
use crate::jose::claims::{self, ClaimRules};
use crate::jose::jwt;
use crate::jose::verify;
use crate::keys::cache::Lookup;
use crate::keys::keyring::Keyring;
use crate::policy::access::Access;
use crate::policy::cors;
use crate::policy::requirement::{Checks, Failure, Requirement, Step};
use crate::policy::rules;
use crate::proof::certificate;
use crate::proof::dpop::{self, Proof, ProofRequest};
use crate::proof::nonce;
use crate::proof::replay::ProofId;
use crate::proof::sender;
use crate::request::extract::{self, Found, Removal};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::rc::Rc;
use std::time::Duration;

pub use crate::policy::rules::Request;

/// What to do with a request.
#[derive(Debug, PartialEq)]
pub enum Decision<'c> {
    Allow(Allowed<'c>),
    Deny(Failure),
    /// The keys of this provider are being fetched: pause, then decide again.
    Wait(usize),
}

/// How an allowed request continues upstream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Allowed<'c> {
    /// Headers to remove: client-sent identity headers and tokens not forwarded. Names come
    /// from the configuration, but for the rare client-sent underscore spellings.
    pub remove_headers: Vec<Cow<'c, str>>,
    /// A new `:path`, when a token is taken out of the query.
    pub set_path: Option<String>,
    /// Identity headers to set (after the removals).
    pub set_headers: Vec<(String, String)>,
    /// The providers whose tokens verified, in requirement order.
    pub verified_by: Vec<usize>,
    /// Let through as a CORS preflight, without looking for a token.
    pub cors_preflight: bool,
    /// The DPoP proofs that passed, with their provider: each must be recorded as used (on
    /// any worker, once) before the request goes on.
    pub proofs: Vec<(usize, ProofId)>,
    /// The first verified token's provider and claims, for the filter state
    /// (`filter_state`); `None` unless the configuration asks.
    pub identity: Option<(&'c str, Rc<Map<String, Value>>)>,
}

/// The `WWW-Authenticate` challenges of `failure`: one per scheme its provider takes (Bearer
/// when no provider is known).
pub fn challenges(config: &Config, failure: &Failure) -> Vec<String> {
    let schemes = failure
        .provider
        .and_then(|p| config.providers.get(p))
        .map_or(Schemes::Bearer, |p| p.dpop.schemes());
    failure.error.challenges(&config.realm, schemes)
}

/// The `DPoP-Nonce` a refusal for a missing or stale nonce carries (RFC 9449 §8): a fresh
/// one, made at `now` with the process's secret.
pub fn fresh_nonce(
    config: &Config,
    failure: &Failure,
    keyring: &Keyring,
    now: Duration,
) -> Option<String> {
    if !matches!(
        failure.error,
        AuthError::InvalidProof(ProofFault::NoNonce | ProofFault::StaleNonce)
    ) {
        return None;
    }
    let provider = config.providers.get(failure.provider?)?;
    let period = provider.dpop.nonce_period_seconds?;
    Some(nonce::issue(keyring.nonce_key()?, now.as_secs(), period))
}

/// Decides `request` at time `now` (since the Unix epoch).
pub fn authorize<'c>(
    config: &'c Config,
    request: Request,
    keyring: &mut Keyring,
    now: Duration,
) -> Decision<'c> {
    // Bytes of the path that are not UTF-8 read as NUL (see `headers`): such a path can be
    // neither matched faithfully nor handed on unchanged once a token leaves its query.
    if request.path.contains('\0') {
        return Decision::Deny(Failure {
            error: AuthError::Unreadable(UnreadablePart::Path),
            provider: None,
        });
    }
    if config.bypass_cors_preflight && cors::is_preflight(&request) {
        return Decision::Allow(Allowed {
            remove_headers: spoofable_headers(config, &request),
            cors_preflight: true,
            ..Allowed::default()
        });
    }
    let (requirement, access) = match choose(config, &request) {
        Ok(chosen) => chosen,
        Err(error) => {
            return Decision::Deny(Failure {
                error,
                provider: None,
            });
        }
    };
    let Some(requirement) = requirement else {
        return Decision::Allow(Allowed {
            remove_headers: spoofable_headers(config, &request),
            ..Allowed::default()
        });
    };
    let mut session = Session {
        config,
        request,
        keyring,
        now,
        signatures: Vec::new(),
    };
    let verified = match requirement.evaluate(&mut session) {
        Step::Pass(verified) => verified,
        Step::Fail(failure) => return Decision::Deny(failure),
        Step::Wait(provider) => return Decision::Wait(provider),
    };
    if let Some(access) = access.filter(|a| !a.is_empty()) {
        let claims: Vec<&Map<String, Value>> = verified.iter().map(|v| v.claims.as_ref()).collect();
        if let Err(error) = access.check(&claims) {
            return Decision::Deny(Failure {
                error,
                provider: verified.first().map(|v| v.provider),
            });
        }
    }
    Decision::Allow(allowed(config, &request, verified))
}

/// What the request must carry, and the scopes and claims its tokens must then grant, as
/// jwt_authn picks them: the requirement the route's metadata names (only a configuration
/// with a `requirement_map` asks), else the first rule that matches, else the requirement
/// `filter_state_rules` gives the filter state's value. None of them: refused (fail closed).
fn choose<'c>(
    config: &'c Config,
    request: &Request,
) -> Result<(Option<&'c Requirement>, Option<&'c Access>), AuthError> {
    if !config.requirement_map.is_empty()
        && let Some(name) = request.route.requirement_name()
    {
        return match config.named_requirement(name) {
            Some(requirement) => Ok((Some(requirement), None)),
            None => Err(AuthError::UnknownRequirement),
        };
    }
    if let Some(rule) = rules::first_match(&config.rules, request) {
        return Ok((rule.requirement.as_ref(), Some(&rule.access)));
    }
    let by_state = config.filter_state_rules.as_ref().and_then(|rules| {
        let value = request.route.filter_state()?;
        rules.requires.iter().find(|(v, _)| v == value)
    });
    match by_state {
        Some((_, requirement)) => Ok((Some(requirement), None)),
        None => Err(AuthError::NoMatchingRule),
    }
}

/// The request's headers that could pass for identity headers: the names the filter sets,
/// and any spelling of them with `_` for `-` (many upstream frameworks read `x_user_id` as
/// `x-user-id`). Only those the request carries: each removal is a host call, and Envoy
/// clears its route cache after every one.
fn spoofable_headers<'c>(config: &'c Config, request: &Request) -> Vec<Cow<'c, str>> {
    let mut names: Vec<Cow<str>> = Vec::new();
    if config.identity_headers.is_empty() {
        return names;
    }
    for &(name, _) in request.headers {
        let dashed = name.to_ascii_lowercase().replace('_', "-");
        let Some(identity) = config.identity_headers.iter().find(|h| **h == dashed) else {
            continue;
        };
        if names.iter().any(|n| n == name) {
            continue;
        }
        names.push(if identity == name {
            Cow::Borrowed(identity.as_str())
        } else {
            Cow::Owned(name.to_string())
        });
    }
    names
}

/// A token that verified for a provider.
#[derive(Debug)]
pub struct Verified<'c> {
    provider: usize,
    claims: Rc<Map<String, Value>>,
    /// The payload exactly as it was in the token (base64url).
    payload_b64: Rc<str>,
    removal: Removal<'c>,
    /// The DPoP proof it came with, if any.
    proof: Option<ProofId>,
}

/// The header edits for an allowed request with these verified tokens.
fn allowed<'c>(config: &'c Config, request: &Request, verified: Vec<Verified<'c>>) -> Allowed<'c> {
    let mut allowed = Allowed {
        remove_headers: spoofable_headers(config, request),
        ..Allowed::default()
    };
    let mut params: Vec<&str> = Vec::new();
    let mut cookies: Vec<&str> = Vec::new();
    for (index, token) in verified.iter().enumerate() {
        // One token satisfying two parts of a requirement is one identity, not two.
        let seen = verified.get(..index).unwrap_or_default();
        if seen
            .iter()
            .any(|v| v.provider == token.provider && v.payload_b64 == token.payload_b64)
        {
            continue;
        }
        let Some(provider) = config.providers.get(token.provider) else {
            continue;
        };
        if !provider.forward {
            match token.removal {
                Removal::Header(name) if !allowed.remove_headers.iter().any(|n| n == name) => {
                    allowed.remove_headers.push(Cow::Borrowed(name));
                }
                Removal::Header(_) => {}
                Removal::Param(name) => params.push(name),
                Removal::Cookie(name) => cookies.push(name),
            }
            // The proof leaves with its token: spent here, it is no use upstream, and a copy
            // in an upstream's log could be replayed to another replica within its window.
            if token.proof.is_some() && !allowed.remove_headers.iter().any(|n| n == "dpop") {
                allowed.remove_headers.push(Cow::Borrowed("dpop"));
            }
        }
        for (name, value) in provider.identity.values(&token.claims, &token.payload_b64) {
            // Two verified tokens setting one header: both values, as repeated headers would.
            match allowed.set_headers.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                None => allowed.set_headers.push((name, value)),
            }
        }
        allowed.verified_by.push(token.provider);
    }
    for token in &verified {
        if let Some(id) = token.proof
            && !allowed.proofs.iter().any(|(_, seen)| *seen == id)
        {
            allowed.proofs.push((token.provider, id));
        }
    }
    if !params.is_empty() {
        allowed.set_path = Some(extract::without_params(request.path, &params));
    }
    if !cookies.is_empty() {
        // Every `cookie` header goes; the other cookies come back in one.
        allowed.remove_headers.push(Cow::Borrowed("cookie"));
        if let Some(rest) = extract::without_cookies(request.headers, &cookies) {
            allowed.set_headers.push(("cookie".into(), rest));
        }
    }
    if config.filter_state.for_verified()
        && let Some(first) = verified.first()
        && let Some(provider) = config.providers.get(first.provider)
    {
        allowed.identity = Some((&provider.name, Rc::clone(&first.claims)));
    }
    allowed
}

/// The token checks of one request.
struct Session<'c, 'r, 'k> {
    config: &'c Config,
    request: Request<'r>,
    keyring: &'k mut Keyring,
    now: Duration,
    /// Signatures already checked in this request: (provider, token, verdict). A token is
    /// never verified twice, whatever the requirement tree looks like.
    signatures: Vec<(usize, String, Result<(), AuthError>)>,
}

impl<'c, 'r> Session<'c, 'r, '_> {
    fn fail(error: AuthError, provider: Option<usize>) -> Step<Verified<'c>> {
        Step::Fail(Failure { error, provider })
    }

    /// The token of `provider`, if any, or the failure to find exactly one.
    fn find(&self, provider: &'c Provider) -> Result<Option<Found<'r, 'c>>, AuthError> {
        extract::find_token(self.request.path, self.request.headers, &provider.locations)
    }

    /// Checks `found` as a token of provider `index`: from the verified-token cache when it
    /// verified before with the same keys, in full otherwise.
    fn verify_token(
        &mut self,
        index: usize,
        found: Found<'r, 'c>,
        audiences: Option<&[String]>,
    ) -> Step<Verified<'c>> {
        let config = self.config;
        let Some(provider) = config.providers.get(index) else {
            return Self::fail(AuthError::NoMatchingRule, None);
        };
        let rules = ClaimRules {
            issuer: &provider.issuer,
            audiences: audiences.unwrap_or(&provider.audiences),
            clock_skew_seconds: provider.clock_skew_seconds,
            subjects: provider.subjects.as_ref(),
            max_lifetime_seconds: provider.max_lifetime_seconds,
        };
        let now = self.now.as_secs();
        if let Some(entry) = self.keyring.verified(index, &found.token) {
            // The signature is known good; time, issuer and audience may not be.
            return match claims::check(&entry.claims, rules, now) {
                Ok(()) => Step::Pass(vec![Verified {
                    provider: index,
                    claims: Rc::clone(&entry.claims),
                    payload_b64: Rc::clone(&entry.payload_b64),
                    removal: found.removal,
                    proof: None,
                }]),
                Err(error) => Self::fail(error, Some(index)),
            };
        }
        let jws = match jwt::parse(&found.token, provider.max_token_bytes, &provider.algorithms) {
            Ok(jws) => jws,
            // A token meant for another provider is refused as such, not by this one's limits.
            Err(_)
                if jwt::unverified_issuer(&found.token)
                    .is_some_and(|iss| iss != provider.issuer) =>
            {
                return Self::fail(AuthError::IssuerNotAllowed, Some(index));
            }
            Err(error) => return Self::fail(error, Some(index)),
        };
        if let Err(error) = claims::check(&jws.claims, rules, now) {
            return Self::fail(error, Some(index));
        }
        let verdict = match self
            .signatures
            .iter()
            .find(|(p, token, _)| *p == index && *token == found.token)
        {
            Some((_, _, verdict)) => verdict.clone(),
            None => {
                let verdict =
                    match self
                        .keyring
                        .lookup(index, jws.kid.as_deref(), jws.algorithm, self.now)
                    {
                        Lookup::Found(keys) => verify::verify(&jws, &keys),
                        Lookup::Wait => return Step::Wait(index),
                        Lookup::NotFound => Err(AuthError::UnknownKey),
                        Lookup::Unavailable => Err(AuthError::KeysUnavailable),
                    };
                self.signatures
                    .push((index, found.token.to_string(), verdict.clone()));
                verdict
            }
        };
        if let Err(error) = verdict {
            return Self::fail(error, Some(index));
        }
        let payload_b64: Rc<str> = jws
            .signing_input
            .split_once('.')
            .map_or("", |(_, payload)| payload)
            .into();
        let claims = Rc::new(jws.claims);
        self.keyring.remember(
            index,
            &found.token,
            Rc::clone(&claims),
            Rc::clone(&payload_b64),
        );
        Step::Pass(vec![Verified {
            provider: index,
            claims,
            payload_b64,
            removal: found.removal,
            proof: None,
        }])
    }

    /// Checks `found` as a token of provider `index` ([`Self::verify_token`]), then that its
    /// sender holds what it is bound to: its DPoP proof, when it needs one.
    fn verify(
        &mut self,
        index: usize,
        found: Found<'r, 'c>,
        audiences: Option<&[String]>,
    ) -> Step<Verified<'c>> {
        let token = found.token.clone();
        let sent_as_dpop = found.dpop;
        let mut verified = match self.verify_token(index, found, audiences) {
            Step::Pass(verified) => verified,
            other => return other,
        };
        let config = self.config;
        let Some(provider) = config.providers.get(index) else {
            return Self::fail(AuthError::NoMatchingRule, None);
        };
        let Some(first) = verified.first_mut() else {
            return Step::Pass(verified);
        };
        let claims = Rc::clone(&first.claims);
        let request = self.request;
        let presented = || {
            let forwarded = request.header(certificate::XFCC_HEADER);
            certificate::presented(
                &provider.certificate_binding,
                &request.peer,
                forwarded.as_deref(),
            )
        };
        let check = || self.check_proof(index, provider, &token);
        let (dpop, certificates) = (&provider.dpop, &provider.certificate_binding);
        match sender::confirm(dpop, certificates, sent_as_dpop, &claims, presented, check) {
            Ok(proof) => {
                first.proof = proof.map(|p| p.id);
                Step::Pass(verified)
            }
            Err(error) => Self::fail(error, Some(index)),
        }
    }

    /// The request's DPoP proof, for `token` of `provider` (number `provider_index`).
    fn check_proof(
        &self,
        provider_index: usize,
        provider: &Provider,
        token: &str,
    ) -> Result<Proof, ProofFault> {
        let request = &self.request;
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|&(_, v)| v)
        };
        let origin = match &provider.dpop.public_origin {
            Some(origin) => Some(origin.clone()),
            None => match (header(":scheme"), header(":authority").or(header("host"))) {
                (Some(scheme), Some(authority)) => Some(format!("{scheme}://{authority}")),
                _ => None,
            },
        };
        let uri = origin.and_then(|o| dpop::expected_uri(&o, request.path_only()));
        let access_token_hash = self.keyring.access_token_hash(provider_index, token);
        let proof_request = ProofRequest {
            method: request.method,
            uri: uri.as_deref(),
            access_token_hash: &access_token_hash,
            now: self.now.as_secs(),
            clock_skew_seconds: provider.clock_skew_seconds,
            nonce_key: self.keyring.nonce_key(),
            keys: Some(self.keyring.proof_keys()),
        };
        dpop::check(request.headers, &provider.dpop, &proof_request)
    }
}

impl<'c> Checks for Session<'c, '_, '_> {
    type Verified = Verified<'c>;

    fn provider(&mut self, index: usize, audiences: Option<&[String]>) -> Step<Verified<'c>> {
        let config = self.config;
        let Some(provider) = config.providers.get(index) else {
            return Self::fail(AuthError::NoMatchingRule, None);
        };
        match self.find(provider) {
            Ok(Some(found)) => self.verify(index, found, audiences),
            Ok(None) => Self::fail(AuthError::Missing, Some(index)),
            Err(error) => Self::fail(error, Some(index)),
        }
    }

    /// Every distinct token in any provider's locations must verify with a provider that
    /// looks there and whose issuer the token names.
    fn present_tokens(&mut self) -> Step<Verified<'c>> {
        // (token, where it was found, the providers that look there)
        let mut tokens: Vec<(Found, Vec<usize>)> = Vec::new();
        let config = self.config;
        for (index, provider) in config.providers.iter().enumerate() {
            match self.find(provider) {
                Ok(Some(found)) => match tokens.iter_mut().find(|(f, _)| f.token == found.token) {
                    Some((_, candidates)) => candidates.push(index),
                    None => tokens.push((found, vec![index])),
                },
                Ok(None) => {}
                Err(error) => return Self::fail(error, Some(index)),
            }
        }
        let mut verified = Vec::new();
        for (found, candidates) in tokens {
            // The first candidate whose issuer the token names decides; tokens naming none
            // of them are refused as such.
            let mut outcome = Self::fail(AuthError::IssuerNotAllowed, candidates.first().copied());
            for index in candidates {
                match self.verify(index, found.clone(), None) {
                    Step::Fail(Failure {
                        error: AuthError::IssuerNotAllowed,
                        ..
                    }) => continue,
                    decided => {
                        outcome = decided;
                        break;
                    }
                }
            }
            match outcome {
                Step::Pass(tokens) => verified.extend(tokens),
                failed_or_waiting => return failed_or_waiting,
            }
        }
        Step::Pass(verified)
    }
}
