//! Registered claims (`iss`, `aud`, `exp`, `nbf`, `iat`) against an injected `now`, and scopes.

use crate::error::{AuthError, BadClaim};
use crate::policy::matcher::StringMatch;
use serde_json::{Map, Value};

/// What a provider requires of a token's claims.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules<'p> {
    pub issuer: &'p str,
    pub audiences: &'p [String],
    pub clock_skew_seconds: u64,
    /// `sub` must match this (`subjects`).
    pub subjects: Option<&'p StringMatch>,
    /// `exp - iat` must be at most this, and `iat` present (`max_lifetime`).
    pub max_lifetime_seconds: Option<u64>,
}

/// Checks issuer, time and audience. `now` is seconds since the Unix epoch.
///
/// The issuer comes first: with several providers it is what tells them apart, so a token
/// meant for another provider is refused as such before anything else is judged.
pub fn check(claims: &Map<String, Value>, rules: ClaimRules, now: u64) -> Result<(), AuthError> {
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(AuthError::IssuerNotAllowed);
    }
    check_time(claims, rules.clock_skew_seconds, now)?;
    if let Some(max) = rules.max_lifetime_seconds {
        check_lifetime(claims, max)?;
    }
    check_audience(claims.get("aud"), rules.audiences)?;
    match rules.subjects {
        Some(subjects)
            if !claims
                .get("sub")
                .and_then(Value::as_str)
                .is_some_and(|sub| subjects.matches(sub)) =>
        {
            Err(AuthError::SubjectNotAllowed)
        }
        _ => Ok(()),
    }
}

/// jwt_authn's `max_lifetime`: the token says when it was issued, and lives no longer than
/// this (`exp - iat`, as the token states them; `check_time` has judged both already).
fn check_lifetime(claims: &Map<String, Value>, max: u64) -> Result<(), AuthError> {
    let date = |name| claims.get(name).and_then(Value::as_f64);
    let iat = date("iat").ok_or(AuthError::MissingIssuedAt)?;
    let exp = date("exp").ok_or(AuthError::MissingExpiry)?;
    if exp - iat > max as f64 {
        return Err(AuthError::LifetimeTooLong);
    }
    Ok(())
}

fn check_time(claims: &Map<String, Value>, skew: u64, now: u64) -> Result<(), AuthError> {
    let (now, skew) = (now as f64, skew as f64);
    // RFC 7519 §4.1.4: the current time must be before `exp`.
    let exp = numeric_date(
        claims,
        "exp",
        BadClaim::ExpNotNumber,
        BadClaim::ExpOutOfRange,
    )?
    .ok_or(AuthError::MissingExpiry)?;
    if now >= exp + skew {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(
        claims,
        "nbf",
        BadClaim::NbfNotNumber,
        BadClaim::NbfOutOfRange,
    )? && now + skew < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iat) = numeric_date(
        claims,
        "iat",
        BadClaim::IatNotNumber,
        BadClaim::IatOutOfRange,
    )? && iat > now + skew
    {
        return Err(AuthError::IssuedInFuture);
    }
    Ok(())
}

/// NumericDates beyond this (2^64 seconds) are refused, as Envoy's `jwt_authn` refuses them.
const MAX_NUMERIC_DATE: f64 = 18_446_744_073_709_551_616.0;

/// A NumericDate (RFC 7519 §2): a JSON number of seconds since the epoch, fractions allowed,
/// from 0 to below 2^64. Strings are refused, and so are dates before 1970 or past any clock.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    wrong_type: BadClaim,
    out_of_range: BadClaim,
) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            // Every u64 is in range, also those that round up to 2^64 as a float.
            Some(seconds) if n.is_u64() || (0.0..MAX_NUMERIC_DATE).contains(&seconds) => {
                Ok(Some(seconds))
            }
            Some(_) => Err(AuthError::InvalidClaim(out_of_range)),
            None => Err(AuthError::InvalidClaim(wrong_type)),
        },
        Some(_) => Err(AuthError::InvalidClaim(wrong_type)),
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3); one must be allowed.
fn check_audience(aud: Option<&Value>, allowed: &[String]) -> Result<(), AuthError> {
    let is_allowed = |a: &str| allowed.iter().any(|x| x == a);
    match aud {
        Some(Value::String(a)) if is_allowed(a) => Ok(()),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            if items.iter().filter_map(Value::as_str).any(is_allowed) {
                Ok(())
            } else {
                Err(AuthError::AudienceNotAllowed)
            }
        }
        Some(Value::String(_)) | None => Err(AuthError::AudienceNotAllowed),
        Some(_) => Err(AuthError::InvalidClaim(BadClaim::AudNotStrings)),
    }
}

/// The scopes a token grants: the words of the space-delimited `scope` claim, the elements
/// or words of `scp`, and the elements of `permissions` (Auth0 RBAC).
pub fn granted_scopes(claims: &Map<String, Value>) -> impl Iterator<Item = &str> {
    fn words(v: Option<&Value>) -> impl Iterator<Item = &str> {
        v.and_then(Value::as_str)
            .into_iter()
            .flat_map(str::split_ascii_whitespace)
    }
    fn elements(v: Option<&Value>) -> impl Iterator<Item = &str> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
    words(claims.get("scope"))
        .chain(words(claims.get("scp")))
        .chain(elements(claims.get("scp")))
        .chain(elements(claims.get("permissions")))
}

/// The claim called `name`: a top-level claim of that exact name first (Auth0's namespaced
/// claims such as `https://example.com/roles` contain dots and slashes), otherwise a path of
/// object members separated by dots (`address.country`).
pub fn lookup<'c>(claims: &'c Map<String, Value>, name: &str) -> Option<&'c Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut segments = name.split('.');
    let first = claims.get(segments.next()?)?;
    segments.try_fold(first, |value, segment| value.as_object()?.get(segment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn audiences() -> Vec<String> {
        vec!["https://api.example.com".into()]
    }

    fn check_at(v: Value, now: u64) -> Result<(), AuthError> {
        let aud = audiences();
        check(
            &claims(v),
            ClaimRules {
                issuer: "https://idp/",
                audiences: &aud,
                clock_skew_seconds: 60,
                subjects: None,
                max_lifetime_seconds: None,
            },
            now,
        )
    }

    fn valid() -> Value {
        json!({"iss": "https://idp/", "aud": "https://api.example.com", "exp": NOW + 3600, "iat": NOW})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = valid();
        v[field] = value;
        v
    }

    #[test]
    fn valid_claims_pass() {
        assert_eq!(check_at(valid(), NOW), Ok(()));
    }

    #[test]
    fn expired_within_skew_is_accepted() {
        assert_eq!(check_at(with("exp", json!(NOW)), NOW + 59), Ok(()));
    }

    #[test]
    fn expired_beyond_skew_is_rejected() {
        assert_eq!(
            check_at(with("exp", json!(NOW)), NOW + 60),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn fractional_exp_is_a_numeric_date() {
        assert_eq!(
            check_at(with("exp", json!(NOW as f64 + 0.5)), NOW + 60),
            Ok(())
        );
        assert_eq!(
            check_at(with("exp", json!(NOW as f64 - 60.5)), NOW),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn missing_exp_is_rejected() {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("exp");
        assert_eq!(check_at(v, NOW), Err(AuthError::MissingExpiry));
    }

    #[test]
    fn time_claims_must_be_numbers() {
        for (field, message) in [
            ("exp", BadClaim::ExpNotNumber),
            ("nbf", BadClaim::NbfNotNumber),
            ("iat", BadClaim::IatNotNumber),
        ] {
            for bad in [
                json!("1700000000"),
                json!(true),
                json!(null),
                json!([1]),
                json!({}),
            ] {
                assert_eq!(
                    check_at(with(field, bad.clone()), NOW),
                    Err(AuthError::InvalidClaim(message)),
                    "{field} {bad}"
                );
            }
        }
    }

    #[test]
    fn time_claims_must_lie_between_1970_and_2_to_the_64() {
        for (field, message) in [
            ("exp", BadClaim::ExpOutOfRange),
            ("nbf", BadClaim::NbfOutOfRange),
            ("iat", BadClaim::IatOutOfRange),
        ] {
            for bad in [json!(-1), json!(-0.5), json!(1e20), json!(1e300)] {
                assert_eq!(
                    check_at(with(field, bad.clone()), NOW),
                    Err(AuthError::InvalidClaim(message)),
                    "{field} {bad}"
                );
            }
        }
        assert_eq!(check_at(with("exp", json!(u64::MAX)), NOW), Ok(()));
        assert_eq!(check_at(with("exp", json!(1u64 << 63)), NOW), Ok(()));
        assert_eq!(check_at(with("iat", json!(0)), NOW), Ok(()));
        assert_eq!(
            check_at(with("exp", json!(0)), NOW),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn not_before_beyond_skew_is_rejected() {
        assert_eq!(check_at(with("nbf", json!(NOW + 60)), NOW), Ok(()));
        assert_eq!(
            check_at(with("nbf", json!(NOW + 61)), NOW),
            Err(AuthError::NotYetValid)
        );
    }

    #[test]
    fn issued_in_the_future_beyond_skew_is_rejected() {
        assert_eq!(check_at(with("iat", json!(NOW + 60)), NOW), Ok(()));
        assert_eq!(
            check_at(with("iat", json!(NOW + 61)), NOW),
            Err(AuthError::IssuedInFuture)
        );
    }

    #[test]
    fn issuer_must_match_exactly() {
        for iss in [
            json!("https://idp"),
            json!("https://IDP/"),
            json!("https://idp/ "),
            json!(1),
            json!(null),
        ] {
            assert_eq!(
                check_at(with("iss", iss.clone()), NOW),
                Err(AuthError::IssuerNotAllowed),
                "{iss}"
            );
        }
        let mut v = valid();
        v.as_object_mut().unwrap().remove("iss");
        assert_eq!(check_at(v, NOW), Err(AuthError::IssuerNotAllowed));
    }

    #[test]
    fn audience_may_be_a_string_or_an_array() {
        assert_eq!(
            check_at(
                with("aud", json!(["other", "https://api.example.com"])),
                NOW
            ),
            Ok(())
        );
        assert_eq!(
            check_at(with("aud", json!("other")), NOW),
            Err(AuthError::AudienceNotAllowed)
        );
        assert_eq!(
            check_at(with("aud", json!([])), NOW),
            Err(AuthError::AudienceNotAllowed)
        );
        assert_eq!(
            check_at(with("aud", json!(["other"])), NOW),
            Err(AuthError::AudienceNotAllowed)
        );
    }

    #[test]
    fn audience_of_the_wrong_type_is_rejected() {
        for aud in [
            json!(1),
            json!({"a": "https://api.example.com"}),
            json!(["https://api.example.com", 1]),
        ] {
            assert!(
                matches!(
                    check_at(with("aud", aud.clone()), NOW),
                    Err(AuthError::InvalidClaim(_))
                ),
                "{aud}"
            );
        }
        let mut v = valid();
        v.as_object_mut().unwrap().remove("aud");
        assert_eq!(check_at(v, NOW), Err(AuthError::AudienceNotAllowed));
    }

    fn required<'r>(scopes: &[&'r str]) -> Vec<&'r str> {
        scopes.to_vec()
    }

    /// The required scopes `c` does not grant.
    fn missing_scopes<'r>(c: &Map<String, Value>, required: &[&'r str]) -> Vec<&'r str> {
        let granted: Vec<&str> = granted_scopes(c).collect();
        required
            .iter()
            .copied()
            .filter(|r| !granted.contains(r))
            .collect()
    }

    #[test]
    fn namespaced_claims_are_found_by_their_whole_name() {
        let c = claims(json!({
            "https://example.com/roles": ["admin"],
            "address": {"country": "NL", "geo": {"lat": 52}},
            "a.b": 1,
            "a": {"b": 2}
        }));
        assert_eq!(
            lookup(&c, "https://example.com/roles"),
            Some(&json!(["admin"]))
        );
        assert_eq!(lookup(&c, "address.country"), Some(&json!("NL")));
        assert_eq!(lookup(&c, "address.geo.lat"), Some(&json!(52)));
        assert_eq!(lookup(&c, "a.b"), Some(&json!(1)), "the exact name wins");
        assert_eq!(lookup(&c, "address.city"), None);
        assert_eq!(lookup(&c, "address.country.x"), None);
        assert_eq!(lookup(&c, "https://example.com/email"), None);
    }

    #[test]
    fn scopes_come_from_scope_scp_and_permissions() {
        let c = claims(json!({"scope": "a b", "scp": ["c"], "permissions": ["d"]}));
        assert!(missing_scopes(&c, &required(&["a", "b", "c", "d"])).is_empty());
        let c = claims(json!({"scp": "e f"}));
        assert!(missing_scopes(&c, &required(&["f"])).is_empty());
    }

    #[test]
    fn scope_match_is_exact() {
        let c = claims(
            json!({"scope": "read:messages-extra read:messagesx", "permissions": ["READ:messages"]}),
        );
        assert_eq!(
            missing_scopes(&c, &required(&["read:messages"])),
            vec!["read:messages"]
        );
    }

    #[test]
    fn all_missing_scopes_are_listed() {
        let c = claims(json!({"scope": "b"}));
        assert_eq!(
            missing_scopes(&c, &required(&["a", "b", "c"])),
            vec!["a", "c"]
        );
    }

    #[test]
    fn scope_claims_of_the_wrong_type_grant_nothing() {
        let c = claims(json!({"scope": ["a"], "permissions": "a", "scp": 1}));
        assert_eq!(missing_scopes(&c, &required(&["a"])), vec!["a"]);
        let c = claims(json!({"scope": {"a": true}, "permissions": [["a"]], "scp": {"a": 1}}));
        assert_eq!(missing_scopes(&c, &required(&["a"])), vec!["a"]);
    }
}
