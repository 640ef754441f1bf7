//! Every reason a request is refused: one variant per failure, each with its HTTP status,
//! its RFC 6750 challenge and a human-readable description.
//!
//! Descriptions never contain the token or any claim value, so they are safe to log and to
//! send back; they also avoid `"` and `\`, which RFC 6750 forbids inside `error_description`.

use std::borrow::Cow;
use std::fmt;

/// Declares an enum of fixed refusal texts: one unit variant per text, [`ALL`](Self::ALL) the
/// variants in order, and `text()` the description each gives.
macro_rules! refusal_texts {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $(#[doc = $text] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The `error_description` it gives.
            pub fn text(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }
    };
}

refusal_texts! {
    /// Which part of a request holds bytes that are not UTF-8.
    UnreadablePart {
        Path => "Request path is not valid UTF-8",
        TokenHeader => "Token header is not valid UTF-8",
    }
}

refusal_texts! {
    /// How a token fails to be a compact JWS under the strict profile.
    Malformation {
        NotCompact => "Jwt is not in the form of Header.Payload.Signature",
        HeaderNotBase64url => "Jwt header is not base64url encoded",
        HeaderNotObject => "Jwt header is not a JSON object",
        NoAlg => "Jwt header has no alg",
        AlgNotString => "Jwt header alg is not a string",
        KidNotString => "Jwt header kid is not a string",
        PayloadNotBase64url => "Jwt payload is not base64url encoded",
        PayloadNotObject => "Jwt payload is not a JSON object",
        SignatureNotBase64url => "Jwt signature is not base64url encoded",
        EmptySignature => "Jwt signature is empty",
    }
}

refusal_texts! {
    /// A registered claim of the wrong JSON type, or out of range.
    BadClaim {
        ExpNotNumber => "Jwt exp claim is not a number",
        ExpOutOfRange => "Jwt exp claim is out of range",
        NbfNotNumber => "Jwt nbf claim is not a number",
        NbfOutOfRange => "Jwt nbf claim is out of range",
        IatNotNumber => "Jwt iat claim is not a number",
        IatOutOfRange => "Jwt iat claim is out of range",
        AudNotStrings => "Jwt aud claim is not a string or an array of strings",
    }
}

refusal_texts! {
    /// How a DPoP proof (RFC 9449 §4.3) fails; each is `invalid_dpop_proof`.
    ProofFault {
        Missing => "DPoP proof is missing",
        Multiple => "Request carries more than one DPoP proof",
        TooLarge => "DPoP proof exceeds the size limit",
        NotCompact => "DPoP proof is not a compact JWS of base64url JSON objects",
        DuplicateMember => "DPoP proof has duplicate JSON member names",
        WrongType => "DPoP proof typ is not dpop+jwt",
        AlgorithmNotAllowed => "DPoP proof algorithm is not allowed",
        UnsupportedCritical => "DPoP proof header has a crit member that is not understood",
        NoKey => "DPoP proof header has no jwk object",
        PrivateKey => "DPoP proof jwk holds private key material",
        UnusableKey => "DPoP proof jwk is not a public key for its alg",
        BadSignature => "DPoP proof signature does not verify with its jwk",
        MethodMismatch => "DPoP proof htm does not match the request method",
        UriMismatch => "DPoP proof htu does not match the request URI",
        NoIssuedAt => "DPoP proof has no iat number",
        TooOld => "DPoP proof iat is too old",
        IssuedInFuture => "DPoP proof iat is in the future",
        NoJti => "DPoP proof has no jti",
        JtiTooLong => "DPoP proof jti is too long",
        AccessTokenHashMismatch => "DPoP proof ath does not match the access token",
        Replayed => "DPoP proof has been used before",
        NoNonce => "DPoP proof has no nonce",
        StaleNonce => "DPoP proof nonce is not current",
    }
}

impl ProofFault {
    /// The reason it is counted under: one per check of RFC 9449 §4.3.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "dpop_missing",
            Self::Multiple
            | Self::TooLarge
            | Self::NotCompact
            | Self::DuplicateMember
            | Self::WrongType
            | Self::UnsupportedCritical => "dpop_malformed",
            Self::AlgorithmNotAllowed => "dpop_algorithm",
            Self::NoKey | Self::PrivateKey | Self::UnusableKey => "dpop_key",
            Self::BadSignature => "dpop_signature",
            Self::MethodMismatch => "dpop_method",
            Self::UriMismatch => "dpop_uri",
            Self::NoIssuedAt | Self::TooOld | Self::IssuedInFuture => "dpop_time",
            Self::NoJti | Self::JtiTooLong => "dpop_jti",
            Self::AccessTokenHashMismatch => "dpop_ath",
            Self::Replayed => "dpop_replay",
            Self::NoNonce | Self::StaleNonce => "dpop_nonce",
        }
    }
}

refusal_texts! {
    /// How a token bound to a key or a certificate (its `cnf` claim) fails to be accepted;
    /// each is `invalid_token`.
    BindingFault {
        DpopRequired => "Jwt must be sent with the DPoP scheme and a DPoP proof",
        BoundTokenAsBearer => "Jwt is bound to a key and must be sent with the DPoP scheme",
        DpopOff => "Jwt is bound to a DPoP key and its provider does not check DPoP: set dpop.mode to allowed or required",
        CertificateOff => "Jwt is bound to a client certificate and its provider does not check certificates: set certificate_binding.mode to enforced or required",
        CertificateMissing => "Jwt is bound to a client certificate and the request came without one",
        CertificateMismatch => "Jwt is bound to another client certificate than the request's",
        CertificateRequired => "Jwt must be bound to the client certificate (cnf x5t#S256)",
        UnsupportedConfirmation => "Jwt cnf claim names a binding that is not supported",
        MalformedConfirmation => "Jwt cnf claim is not an object of a jkt or an x5t#S256 string",
        NotBound => "Jwt has no cnf.jkt binding it to the DPoP proof key",
        KeyMismatch => "Jwt cnf.jkt does not match the DPoP proof key",
    }
}

impl BindingFault {
    /// The reason it is counted under.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DpopRequired => "dpop_required",
            Self::BoundTokenAsBearer
            | Self::DpopOff
            | Self::CertificateOff
            | Self::UnsupportedConfirmation
            | Self::MalformedConfirmation => "bound_token",
            Self::NotBound | Self::KeyMismatch => "dpop_binding",
            Self::CertificateMissing | Self::CertificateMismatch => "certificate_binding",
            Self::CertificateRequired => "certificate_required",
        }
    }
}

/// The DPoP scheme a provider takes, for its challenge (RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes<'a> {
    /// `Bearer` only.
    Bearer,
    /// `Bearer` and `DPoP`, with the proof algorithms.
    Both(&'a str),
    /// `DPoP` only, with the proof algorithms.
    Dpop(&'a str),
}

/// Why a request was not allowed through.
///
/// The book's responses page lists every refusal, checked against [`AuthError::every_kind`]:
/// a new variant goes there too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No token in any of the provider's locations.
    Missing,
    /// More than one token in the request (RFC 6750 §2: one method per request).
    MultipleTokens,
    /// The path, or a header where tokens are looked for, holds bytes that are not UTF-8:
    /// the filter cannot read it faithfully, nor hand it on unchanged when it must edit it.
    Unreadable(UnreadablePart),
    /// The token is longer than the provider's `max_token_bytes`; it was not decoded.
    TooLarge,
    /// The token is not a well-formed compact JWS.
    Malformed(Malformation),
    /// Two members with the same name in the header or the payload.
    DuplicateMember,
    /// `alg` is not on the provider's allow-list (this covers `none` and every HMAC).
    AlgorithmNotAllowed,
    /// The header has a `crit` member: this filter understands no JWS extensions.
    UnsupportedCritical,
    /// `exp` is absent: every token must expire.
    MissingExpiry,
    /// `iat` is absent and the provider has a `max_lifetime`.
    MissingIssuedAt,
    /// `exp - iat` is longer than the provider's `max_lifetime`.
    LifetimeTooLong,
    /// `sub` is absent or does not match the provider's `subjects`.
    SubjectNotAllowed,
    /// A registered claim has the wrong JSON type or is out of range.
    InvalidClaim(BadClaim),
    /// `exp` is in the past, beyond the clock skew.
    Expired,
    /// `nbf` is in the future, beyond the clock skew.
    NotYetValid,
    /// `iat` is in the future, beyond the clock skew.
    IssuedInFuture,
    /// `iss` is absent or is not the provider's issuer.
    IssuerNotAllowed,
    /// `aud` is absent or contains none of the provider's audiences.
    AudienceNotAllowed,
    /// The key set has no key for the token's `kid` and `alg`.
    UnknownKey,
    /// The signature does not verify with the selected key.
    BadSignature,
    /// No key set could be fetched from the issuer yet: the fault is ours, not the client's.
    KeysUnavailable,
    /// The token is valid but lacks scopes the route requires: all of `scopes`, or one of
    /// them when `any` is set. Every scope of the requirement is listed.
    InsufficientScope { scopes: Vec<String>, any: bool },
    /// The token is valid but a claim the route requires is absent or has another value;
    /// the text is the claim's name (from the configuration, never from the token).
    ClaimMismatch(String),
    /// No rule matches the request: fail closed.
    NoMatchingRule,
    /// The route's metadata names a requirement `requirement_map` does not hold.
    UnknownRequirement,
    /// The host refused an edit the decision needs (such as removing a client-sent identity
    /// header): the request must not go upstream half-prepared.
    HostFailure,
    /// The DPoP proof fails a check of RFC 9449 §4.3, or was used before.
    InvalidProof(ProofFault),
    /// The token's binding to a key or certificate (`cnf`) is not met by how it was sent.
    Binding(BindingFault),
    /// The store of DPoP proofs seen is full: a proof cannot be shown to be fresh, so it is
    /// refused (fail closed) until older ones expire.
    ReplayStoreFull,
}

impl AuthError {
    /// The HTTP status of the local reply.
    pub fn status(&self) -> u32 {
        match self {
            Self::MultipleTokens | Self::Unreadable(_) => 400,
            Self::InsufficientScope { .. }
            | Self::ClaimMismatch(_)
            | Self::NoMatchingRule
            | Self::UnknownRequirement => 403,
            Self::KeysUnavailable | Self::HostFailure | Self::ReplayStoreFull => 503,
            _ => 401,
        }
    }

    /// The `error` code of the JSON body and, where RFC 6750 has one, of the challenge.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::MultipleTokens | Self::Unreadable(_) => "invalid_request",
            Self::InsufficientScope { .. } | Self::ClaimMismatch(_) => "insufficient_scope",
            Self::KeysUnavailable | Self::HostFailure | Self::ReplayStoreFull => {
                "temporarily_unavailable"
            }
            Self::NoMatchingRule | Self::UnknownRequirement => "access_denied",
            Self::InvalidProof(ProofFault::NoNonce | ProofFault::StaleNonce) => "use_dpop_nonce",
            Self::InvalidProof(_) => "invalid_dpop_proof",
            _ => "invalid_token",
        }
    }

    /// A short, stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::MultipleTokens => "multiple_tokens",
            Self::Unreadable(_) => "unreadable",
            Self::TooLarge
            | Self::Malformed(_)
            | Self::DuplicateMember
            | Self::UnsupportedCritical
            | Self::InvalidClaim(_)
            | Self::MissingExpiry
            | Self::MissingIssuedAt => "malformed",
            Self::LifetimeTooLong => "lifetime",
            Self::SubjectNotAllowed => "subject",
            Self::AlgorithmNotAllowed => "algorithm",
            Self::Expired | Self::NotYetValid | Self::IssuedInFuture => "expired",
            Self::IssuerNotAllowed => "issuer",
            Self::AudienceNotAllowed => "audience",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "signature",
            Self::KeysUnavailable => "keys_unavailable",
            Self::InsufficientScope { .. } => "scope",
            Self::ClaimMismatch(_) => "claim",
            Self::NoMatchingRule | Self::UnknownRequirement => "no_rule",
            Self::HostFailure => "internal",
            Self::InvalidProof(fault) => fault.reason(),
            Self::Binding(fault) => fault.reason(),
            Self::ReplayStoreFull => "dpop_replay_store_full",
        }
    }

    /// The human-readable reason sent as `error_description`.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Self::Missing => "Jwt is missing".into(),
            Self::MultipleTokens => "Request carries more than one token".into(),
            Self::Unreadable(part) => part.text().into(),
            Self::TooLarge => "Jwt exceeds the size limit".into(),
            Self::Malformed(how) => how.text().into(),
            Self::DuplicateMember => "Jwt has duplicate JSON member names".into(),
            Self::AlgorithmNotAllowed => "Jwt algorithm is not allowed".into(),
            Self::UnsupportedCritical => {
                "Jwt header has a crit member that is not understood".into()
            }
            Self::MissingExpiry => "Jwt has no exp claim".into(),
            Self::MissingIssuedAt => "Jwt has no iat claim".into(),
            Self::LifetimeTooLong => "Jwt lifetime is longer than the provider allows".into(),
            Self::SubjectNotAllowed => "Jwt subject is not allowed".into(),
            Self::InvalidClaim(claim) => claim.text().into(),
            Self::Expired => "Jwt is expired".into(),
            Self::NotYetValid => "Jwt is not yet valid".into(),
            Self::IssuedInFuture => "Jwt iat is in the future".into(),
            Self::IssuerNotAllowed => "Jwt issuer is not allowed".into(),
            Self::AudienceNotAllowed => "Jwt audience is not allowed".into(),
            Self::UnknownKey => "Jwks doesn't have key to match kid or alg from Jwt".into(),
            Self::BadSignature => "Jwt verification fails".into(),
            Self::KeysUnavailable => "Jwks is not available from the issuer".into(),
            Self::InsufficientScope { scopes, any: false } => {
                format!("Jwt lacks required scope: {}", scopes.join(" ")).into()
            }
            Self::InsufficientScope { scopes, any: true } => {
                format!("Jwt has none of the scopes: {}", scopes.join(" ")).into()
            }
            Self::ClaimMismatch(name) => {
                format!("Jwt claim {name} does not have a required value").into()
            }
            Self::NoMatchingRule => "No rule matches this request".into(),
            Self::UnknownRequirement => {
                "The route names a requirement that is not configured".into()
            }
            Self::HostFailure => "The request could not be prepared for the upstream".into(),
            Self::InvalidProof(fault) => fault.text().into(),
            Self::Binding(fault) => fault.text().into(),
            Self::ReplayStoreFull => "DPoP proofs cannot be checked for replay now".into(),
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3) for a provider that takes `Bearer` only,
    /// if this reply carries one.
    pub fn www_authenticate(&self, realm: &str) -> Option<String> {
        self.challenges(realm, Schemes::Bearer).into_iter().next()
    }

    /// The `WWW-Authenticate` values of this reply for a provider taking `schemes`: one
    /// challenge per scheme (RFC 9449 §7.1). The error goes in the challenge of each scheme it
    /// belongs to: a proof's fault only in `DPoP`'s, where `Bearer` is then bare.
    pub fn challenges(&self, realm: &str, schemes: Schemes) -> Vec<String> {
        if matches!(
            self,
            Self::NoMatchingRule
                | Self::UnknownRequirement
                | Self::KeysUnavailable
                | Self::HostFailure
                | Self::ReplayStoreFull
        ) {
            return Vec::new();
        }
        let params = self.challenge_params();
        let bearer = |with_error: bool| match (&params, with_error) {
            (Some(params), true) => format!("Bearer realm=\"{realm}\", {params}"),
            _ => format!("Bearer realm=\"{realm}\""),
        };
        let dpop = |algs: &str| match &params {
            Some(params) => format!("DPoP realm=\"{realm}\", algs=\"{algs}\", {params}"),
            None => format!("DPoP realm=\"{realm}\", algs=\"{algs}\""),
        };
        let proof_fault = matches!(self, Self::InvalidProof(_));
        match schemes {
            Schemes::Bearer => vec![bearer(true)],
            Schemes::Both(algs) => vec![bearer(!proof_fault), dpop(algs)],
            Schemes::Dpop(algs) => vec![dpop(algs)],
        }
    }

    /// `error`, `error_description` (and `scope`) of a challenge; none for a missing token.
    fn challenge_params(&self) -> Option<String> {
        match self {
            Self::Missing => None,
            Self::InsufficientScope { scopes, .. } => Some(format!(
                "error=\"insufficient_scope\", error_description=\"{}\", scope=\"{}\"",
                self.description(),
                scopes.join(" ")
            )),
            _ => Some(format!(
                "error=\"{}\", error_description=\"{}\"",
                self.code(),
                self.description()
            )),
        }
    }

    /// Seconds a client should wait before retrying, for failures that are ours.
    pub fn retry_after(&self) -> Option<u32> {
        matches!(self, Self::KeysUnavailable).then_some(RETRY_AFTER_SECONDS)
    }

    /// The JSON body of the local reply: `{"error": ..., "error_description": ...}`.
    ///
    /// Written directly: codes and descriptions never need escaping (see the module's
    /// documentation), and JSON serialisation would cost the module some 4 KB.
    pub fn body(&self) -> String {
        format!(
            "{{\"error\":\"{}\",\"error_description\":\"{}\"}}",
            self.code(),
            self.description()
        )
    }
}

/// What a keys-unavailable reply tells clients; about one backoff step of the key fetcher.
const RETRY_AFTER_SECONDS: u32 = 5;

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description())
    }
}

impl std::error::Error for AuthError {}

impl AuthError {
    /// Every refusal there is: each variant, with each text of [`UnreadablePart`],
    /// [`Malformation`] and [`BadClaim`], and both forms of a scope refusal. Payloads that
    /// come from the configuration are the placeholders the documentation writes: `SCOPES`
    /// for the scopes of a rule, `NAME` for a claim's name.
    pub fn every_kind() -> Vec<AuthError> {
        let mut every = vec![AuthError::Missing, AuthError::MultipleTokens];
        every.extend(
            UnreadablePart::ALL
                .iter()
                .map(|&p| AuthError::Unreadable(p)),
        );
        every.push(AuthError::TooLarge);
        every.extend(Malformation::ALL.iter().map(|&m| AuthError::Malformed(m)));
        every.extend([
            AuthError::DuplicateMember,
            AuthError::AlgorithmNotAllowed,
            AuthError::UnsupportedCritical,
            AuthError::MissingExpiry,
            AuthError::MissingIssuedAt,
        ]);
        every.extend(BadClaim::ALL.iter().map(|&c| AuthError::InvalidClaim(c)));
        every.extend([
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::IssuedInFuture,
            AuthError::LifetimeTooLong,
            AuthError::IssuerNotAllowed,
            AuthError::AudienceNotAllowed,
            AuthError::SubjectNotAllowed,
            AuthError::UnknownKey,
            AuthError::BadSignature,
            AuthError::KeysUnavailable,
            AuthError::InsufficientScope {
                scopes: vec!["SCOPES".into()],
                any: false,
            },
            AuthError::InsufficientScope {
                scopes: vec!["SCOPES".into()],
                any: true,
            },
            AuthError::ClaimMismatch("NAME".into()),
            AuthError::NoMatchingRule,
            AuthError::UnknownRequirement,
            AuthError::HostFailure,
        ]);
        every.extend(ProofFault::ALL.iter().map(|&f| AuthError::InvalidProof(f)));
        every.extend(BindingFault::ALL.iter().map(|&f| AuthError::Binding(f)));
        every.push(AuthError::ReplayStoreFull);
        every
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_challenge_has_only_the_realm() {
        let e = AuthError::Missing;
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate("api").as_deref(),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(
            e.body(),
            r#"{"error":"missing_token","error_description":"Jwt is missing"}"#
        );
    }

    #[test]
    fn invalid_token_challenge_names_the_reason() {
        let e = AuthError::Expired;
        assert_eq!(e.status(), 401);
        assert_eq!(
            e.www_authenticate("api").as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"Jwt is expired\""
            )
        );
    }

    #[test]
    fn insufficient_scope_is_403_and_lists_the_scopes() {
        let e = AuthError::InsufficientScope {
            scopes: vec!["read:messages".into(), "write:messages".into()],
            any: false,
        };
        assert_eq!(e.status(), 403);
        assert_eq!(
            e.www_authenticate("api").as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt lacks required scope: read:messages write:messages\", scope=\"read:messages write:messages\""
            )
        );
    }

    #[test]
    fn any_of_scopes_says_one_is_enough() {
        let e = AuthError::InsufficientScope {
            scopes: vec!["admin".into(), "write:messages".into()],
            any: true,
        };
        assert_eq!(
            e.www_authenticate("api").as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt has none of the scopes: admin write:messages\", scope=\"admin write:messages\""
            )
        );
    }

    #[test]
    fn claim_mismatch_is_403_and_names_the_claim() {
        let e = AuthError::ClaimMismatch("https://example.com/roles".into());
        assert_eq!(e.status(), 403);
        assert_eq!(e.reason(), "claim");
        assert_eq!(
            e.www_authenticate("api").as_deref(),
            Some(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"Jwt claim https://example.com/roles does not have a required value\""
            )
        );
    }

    #[test]
    fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
        let e = AuthError::KeysUnavailable;
        assert_eq!(e.status(), 503);
        assert_eq!(e.www_authenticate("api"), None);
        assert_eq!(e.retry_after(), Some(RETRY_AFTER_SECONDS));
    }

    #[test]
    fn every_body_is_the_json_object_of_its_code_and_description() {
        for e in AuthError::every_kind() {
            let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"error": e.code(), "error_description": e.description()}),
                "{e:?}"
            );
        }
    }

    #[test]
    fn every_kind_has_every_variant() {
        // An exhaustive match: a new variant does not compile until it is named here, and
        // naming it here is a reminder to add it to `every_kind` (which this test checks).
        fn ordinal(e: &AuthError) -> usize {
            match e {
                AuthError::Missing => 0,
                AuthError::MultipleTokens => 1,
                AuthError::Unreadable(_) => 2,
                AuthError::TooLarge => 3,
                AuthError::Malformed(_) => 4,
                AuthError::DuplicateMember => 5,
                AuthError::AlgorithmNotAllowed => 6,
                AuthError::UnsupportedCritical => 7,
                AuthError::MissingExpiry => 8,
                AuthError::InvalidClaim(_) => 9,
                AuthError::Expired => 10,
                AuthError::NotYetValid => 11,
                AuthError::IssuedInFuture => 12,
                AuthError::IssuerNotAllowed => 13,
                AuthError::AudienceNotAllowed => 14,
                AuthError::UnknownKey => 15,
                AuthError::BadSignature => 16,
                AuthError::KeysUnavailable => 17,
                AuthError::InsufficientScope { .. } => 18,
                AuthError::ClaimMismatch(_) => 19,
                AuthError::NoMatchingRule => 20,
                AuthError::HostFailure => 21,
                AuthError::InvalidProof(_) => 22,
                AuthError::Binding(_) => 23,
                AuthError::ReplayStoreFull => 24,
                AuthError::MissingIssuedAt => 25,
                AuthError::LifetimeTooLong => 26,
                AuthError::SubjectNotAllowed => 27,
                AuthError::UnknownRequirement => 28,
            }
        }
        const VARIANTS: usize = 29;
        let mut seen = [false; VARIANTS];
        for e in AuthError::every_kind() {
            seen[ordinal(&e)] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
        let descriptions: Vec<String> = AuthError::every_kind()
            .iter()
            .map(|e| e.description().into_owned())
            .collect();
        for (i, d) in descriptions.iter().enumerate() {
            assert!(!descriptions[..i].contains(d), "{d} twice");
        }
    }

    #[test]
    fn descriptions_never_need_escaping() {
        for e in AuthError::every_kind() {
            let d = e.description();
            assert!(!d.contains('"') && !d.contains('\\'), "{d}");
        }
    }
}
