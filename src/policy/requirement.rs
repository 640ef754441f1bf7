//! Requirement logic with `jwt_authn`'s names and meaning: a provider's token, any or all of
//! several requirements, or a token that may be missing (or even fail).
//!
//! Evaluation is pure: the token checks themselves come through [`Checks`], so the logic is
//! tested here with a table of outcomes, and `authn` supplies the real checks.

use crate::error::AuthError;

/// What a rule requires of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// A token from this provider (index into the providers) that verifies; `audiences`
    /// replaces the provider's own for this route (`provider_and_audiences`).
    Provider {
        provider: usize,
        audiences: Option<Vec<String>>,
    },
    /// At least one of these (`requires_any`); the first that passes is used.
    Any(Vec<Requirement>),
    /// Every one of these (`requires_all`).
    All(Vec<Requirement>),
    /// No token passes; a token that is present must verify with the provider its `iss` names.
    AllowMissing,
    /// Passes whatever the token; identity is forwarded only when it verified.
    AllowMissingOrFailed,
}

/// The result of evaluating a requirement (or one token check).
#[derive(Debug, PartialEq)]
pub enum Step<V> {
    /// Passed; these tokens verified (none when nothing was required).
    Pass(Vec<V>),
    Fail(Failure),
    /// The keys of this provider are being fetched: ask again when they are here.
    Wait(usize),
}

/// Why a requirement failed, and the provider the failure belongs to (for metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: AuthError,
    pub provider: Option<usize>,
}

impl Failure {
    /// Among alternatives that all failed, the most telling failure is reported: a token
    /// refused for what it is beats one refused for naming another issuer, which beats a
    /// token that is not there at all.
    fn rank(&self) -> u8 {
        match self.error {
            AuthError::Missing => 0,
            AuthError::IssuerNotAllowed => 1,
            _ => 2,
        }
    }
}

/// The token checks a requirement is made of.
pub trait Checks {
    type Verified;
    /// The token in `provider`'s locations, verified (with `audiences` if given). No token
    /// is a [`AuthError::Missing`] failure.
    fn provider(&mut self, provider: usize, audiences: Option<&[String]>) -> Step<Self::Verified>;
    /// Every token present in any provider's locations, each verified by the provider its
    /// `iss` names. No token at all passes with nothing verified.
    fn present_tokens(&mut self) -> Step<Self::Verified>;
}

impl Requirement {
    /// Evaluates the requirement; alternatives are tried in order and stop at the first pass.
    pub fn evaluate<C: Checks>(&self, checks: &mut C) -> Step<C::Verified> {
        match self {
            Requirement::Provider {
                provider,
                audiences,
            } => checks.provider(*provider, audiences.as_deref()),
            Requirement::Any(alternatives) => {
                let mut best: Option<Failure> = None;
                for alternative in alternatives {
                    match alternative.evaluate(checks) {
                        Step::Fail(failure) => match &mut best {
                            Some(b) if failure.rank() > b.rank() => *b = failure,
                            // No token, or not theirs, for several providers: no one's failure.
                            Some(b)
                                if failure.rank() == b.rank()
                                    && b.rank() < 2
                                    && failure.provider != b.provider =>
                            {
                                b.provider = None;
                            }
                            Some(_) => {}
                            None => best = Some(failure),
                        },
                        decided => return decided,
                    }
                }
                Step::Fail(best.unwrap_or(Failure {
                    error: AuthError::Missing,
                    provider: None,
                }))
            }
            Requirement::All(parts) => {
                let mut verified = Vec::new();
                for part in parts {
                    match part.evaluate(checks) {
                        Step::Pass(tokens) => verified.extend(tokens),
                        failed_or_waiting => return failed_or_waiting,
                    }
                }
                Step::Pass(verified)
            }
            Requirement::AllowMissing => checks.present_tokens(),
            Requirement::AllowMissingOrFailed => match checks.present_tokens() {
                Step::Fail(_) => Step::Pass(Vec::new()),
                passed_or_waiting => passed_or_waiting,
            },
        }
    }

    /// Whether a request can pass without any verified token (so there is no identity to
    /// check scopes or claims against).
    pub fn can_pass_without_token(&self) -> bool {
        match self {
            Requirement::Provider { .. } => false,
            Requirement::Any(alternatives) => {
                alternatives.iter().any(Requirement::can_pass_without_token)
            }
            Requirement::All(parts) => parts.iter().all(Requirement::can_pass_without_token),
            Requirement::AllowMissing | Requirement::AllowMissingOrFailed => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks from a table: what each provider's token does, and what "present tokens" does.
    struct Table {
        providers: Vec<Result<&'static str, AuthError>>,
        waiting: Option<usize>,
        present: Result<Vec<&'static str>, AuthError>,
        asked: Vec<usize>,
        audiences_seen: Vec<Option<Vec<String>>>,
    }

    fn table(providers: Vec<Result<&'static str, AuthError>>) -> Table {
        Table {
            providers,
            waiting: None,
            present: Ok(vec![]),
            asked: vec![],
            audiences_seen: vec![],
        }
    }

    impl Checks for Table {
        type Verified = &'static str;
        fn provider(
            &mut self,
            provider: usize,
            audiences: Option<&[String]>,
        ) -> Step<&'static str> {
            self.asked.push(provider);
            self.audiences_seen.push(audiences.map(<[String]>::to_vec));
            if self.waiting == Some(provider) {
                return Step::Wait(provider);
            }
            match &self.providers[provider] {
                Ok(who) => Step::Pass(vec![*who]),
                Err(error) => Step::Fail(Failure {
                    error: error.clone(),
                    provider: Some(provider),
                }),
            }
        }
        fn present_tokens(&mut self) -> Step<&'static str> {
            match &self.present {
                Ok(who) => Step::Pass(who.clone()),
                Err(error) => Step::Fail(Failure {
                    error: error.clone(),
                    provider: None,
                }),
            }
        }
    }

    fn provider(provider: usize) -> Requirement {
        Requirement::Provider {
            provider,
            audiences: None,
        }
    }

    fn fail(error: AuthError, provider: usize) -> Step<&'static str> {
        Step::Fail(Failure {
            error,
            provider: Some(provider),
        })
    }

    #[test]
    fn provider_passes_with_its_verified_token() {
        let mut t = table(vec![Ok("a")]);
        assert_eq!(provider(0).evaluate(&mut t), Step::Pass(vec!["a"]));
    }

    #[test]
    fn provider_and_audiences_passes_the_override_on() {
        let mut t = table(vec![Ok("a")]);
        let r = Requirement::Provider {
            provider: 0,
            audiences: Some(vec!["https://admin".into()]),
        };
        assert_eq!(r.evaluate(&mut t), Step::Pass(vec!["a"]));
        assert_eq!(
            t.audiences_seen,
            vec![Some(vec!["https://admin".to_string()])]
        );
    }

    #[test]
    fn any_stops_at_the_first_pass() {
        let mut t = table(vec![Err(AuthError::IssuerNotAllowed), Ok("b"), Ok("c")]);
        let r = Requirement::Any(vec![provider(0), provider(1), provider(2)]);
        assert_eq!(r.evaluate(&mut t), Step::Pass(vec!["b"]));
        assert_eq!(t.asked, vec![0, 1]);
    }

    #[test]
    fn any_reports_the_most_telling_failure() {
        // The token named provider 1's issuer and had a bad signature: that is the news,
        // not that provider 0 found no token or saw another issuer.
        let mut t = table(vec![
            Err(AuthError::IssuerNotAllowed),
            Err(AuthError::BadSignature),
            Err(AuthError::Missing),
        ]);
        let r = Requirement::Any(vec![provider(0), provider(1), provider(2)]);
        assert_eq!(r.evaluate(&mut t), fail(AuthError::BadSignature, 1));

        let mut t = table(vec![
            Err(AuthError::Missing),
            Err(AuthError::IssuerNotAllowed),
        ]);
        let r = Requirement::Any(vec![provider(0), provider(1)]);
        assert_eq!(r.evaluate(&mut t), fail(AuthError::IssuerNotAllowed, 1));

        let mut t = table(vec![Err(AuthError::Missing), Err(AuthError::Missing)]);
        assert_eq!(
            r.evaluate(&mut t),
            Step::Fail(Failure {
                error: AuthError::Missing,
                provider: None
            }),
            "a failure of several providers alike belongs to none of them"
        );
    }

    #[test]
    fn any_waits_when_an_alternative_waits_for_keys() {
        let mut t = table(vec![Err(AuthError::IssuerNotAllowed), Ok("b")]);
        t.waiting = Some(1);
        let r = Requirement::Any(vec![provider(0), provider(1)]);
        assert_eq!(r.evaluate(&mut t), Step::Wait(1));
    }

    #[test]
    fn all_needs_every_part_and_collects_their_tokens() {
        let mut t = table(vec![Ok("a"), Ok("b")]);
        let r = Requirement::All(vec![provider(0), provider(1)]);
        assert_eq!(r.evaluate(&mut t), Step::Pass(vec!["a", "b"]));

        let mut t = table(vec![Ok("a"), Err(AuthError::Expired)]);
        assert_eq!(r.evaluate(&mut t), fail(AuthError::Expired, 1));
    }

    #[test]
    fn all_stops_at_the_first_failure() {
        let mut t = table(vec![Err(AuthError::Missing), Ok("b")]);
        let r = Requirement::All(vec![provider(0), provider(1)]);
        assert_eq!(r.evaluate(&mut t), fail(AuthError::Missing, 0));
        assert_eq!(t.asked, vec![0]);
    }

    #[test]
    fn nested_any_inside_all() {
        let r = Requirement::All(vec![
            provider(0),
            Requirement::Any(vec![provider(1), provider(2)]),
        ]);
        let mut t = table(vec![Ok("a"), Err(AuthError::IssuerNotAllowed), Ok("c")]);
        assert_eq!(r.evaluate(&mut t), Step::Pass(vec!["a", "c"]));
    }

    #[test]
    fn allow_missing_passes_without_token_and_refuses_a_bad_one() {
        let mut t = table(vec![]);
        assert_eq!(
            Requirement::AllowMissing.evaluate(&mut t),
            Step::Pass(vec![])
        );
        t.present = Ok(vec!["a"]);
        assert_eq!(
            Requirement::AllowMissing.evaluate(&mut t),
            Step::Pass(vec!["a"])
        );
        t.present = Err(AuthError::BadSignature);
        assert_eq!(
            Requirement::AllowMissing.evaluate(&mut t),
            Step::Fail(Failure {
                error: AuthError::BadSignature,
                provider: None
            })
        );
    }

    #[test]
    fn allow_missing_or_failed_always_passes_but_keeps_only_verified_identity() {
        let mut t = table(vec![]);
        t.present = Err(AuthError::Expired);
        assert_eq!(
            Requirement::AllowMissingOrFailed.evaluate(&mut t),
            Step::Pass(vec![])
        );
        t.present = Ok(vec!["a"]);
        assert_eq!(
            Requirement::AllowMissingOrFailed.evaluate(&mut t),
            Step::Pass(vec!["a"])
        );
    }

    #[test]
    fn optional_token_is_any_of_provider_and_allow_missing() {
        let r = Requirement::Any(vec![provider(0), Requirement::AllowMissing]);
        let mut t = table(vec![Err(AuthError::Missing)]);
        assert_eq!(r.evaluate(&mut t), Step::Pass(vec![]));
        let mut t = table(vec![Err(AuthError::Expired)]);
        t.present = Err(AuthError::Expired);
        assert_eq!(r.evaluate(&mut t), fail(AuthError::Expired, 0));
    }

    #[test]
    fn which_requirements_can_pass_without_a_token() {
        assert!(!provider(0).can_pass_without_token());
        assert!(Requirement::AllowMissing.can_pass_without_token());
        assert!(
            Requirement::Any(vec![provider(0), Requirement::AllowMissing]).can_pass_without_token()
        );
        assert!(
            !Requirement::All(vec![provider(0), Requirement::AllowMissing])
                .can_pass_without_token()
        );
        assert!(!Requirement::Any(vec![provider(0), provider(1)]).can_pass_without_token());
    }
}
