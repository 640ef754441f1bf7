//! The kinds of traffic, and what each listener must answer to them.

use primitives::Verifier;

use crate::algorithm::Algorithm;
use crate::envoy_config::Listener;
use crate::primitive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// The same valid token on every request, in `Authorization: Bearer` as clients send it.
    Repeated,
    /// The same valid token on every request, in `?access_token=`.
    RepeatedInQuery,
    /// A valid token never seen recently on every request: no cache can help.
    Fresh,
    /// A fresh token with a bad signature on every request.
    Junk,
    /// No token at all.
    NoToken,
    /// A gRPC unary call (HTTP/2 `POST`, `content-type: application/grpc`, one framed
    /// message) with the same valid token as `authorization` metadata on every call.
    GrpcRepeated,
    /// A valid token of this algorithm never seen recently on every request, to the
    /// listeners configured with a key of every algorithm.
    Signed(Algorithm),
    /// No token: the primitives filter verifies one prepared signature of the algorithm with
    /// the verifier on every request.
    Primitive(Verifier, Algorithm),
    /// No token: the primitives filter verifying nothing, the boundary's cost.
    Boundary,
    /// The same valid token on every request as `Bearer`, to the DPoP listener: what
    /// [`Workload::Dpop`] adds its proof to.
    DpopBearer,
    /// The same DPoP-bound token on every request as `DPoP`, with a fresh ES256 proof.
    Dpop,
    /// The same valid token on every request as `Bearer`, over TLS with a client
    /// certificate, to the certificate-binding listener.
    MtlsBearer,
    /// The same token bound to the client certificate on every request, over TLS with
    /// that certificate.
    CertificateBound,
}

/// The class of status a request must get, as h2load counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success2xx,
    ClientError4xx,
}

impl StatusClass {
    pub fn label(self) -> &'static str {
        match self {
            StatusClass::Success2xx => "2xx",
            StatusClass::ClientError4xx => "4xx",
        }
    }
}

impl Workload {
    /// The workloads on the RS256 listeners (the dev IdP's keys).
    pub const CLASSIC: [Workload; 6] = [
        Workload::Repeated,
        Workload::RepeatedInQuery,
        Workload::Fresh,
        Workload::Junk,
        Workload::NoToken,
        Workload::GrpcRepeated,
    ];

    /// The sender-constrained workloads, each bound one after its Bearer peer.
    pub const SENDER: [Workload; 4] = [
        Workload::DpopBearer,
        Workload::Dpop,
        Workload::MtlsBearer,
        Workload::CertificateBound,
    ];

    /// Every workload, in the report's order: the classic ones, one per algorithm, the
    /// primitives alone, then the sender-constrained ones.
    pub fn all() -> Vec<Workload> {
        Workload::CLASSIC
            .into_iter()
            .chain(Algorithm::ALL.map(Workload::Signed))
            .chain(Workload::primitives())
            .chain(Workload::SENDER)
            .collect()
    }

    /// For a sender-constrained workload, the Bearer workload it is compared with.
    pub fn bearer_peer(self) -> Option<Workload> {
        match self {
            Workload::Dpop => Some(Workload::DpopBearer),
            Workload::CertificateBound => Some(Workload::MtlsBearer),
            _ => None,
        }
    }

    /// Whether the sender-constrained driver sends it, not h2load.
    pub fn is_sender(self) -> bool {
        Workload::SENDER.contains(&self)
    }

    /// The boundary, then every algorithm by every verifier that implements it.
    pub fn primitives() -> Vec<Workload> {
        let each = Algorithm::ALL.into_iter().flat_map(|algorithm| {
            Verifier::ALL
                .into_iter()
                .filter(move |&v| primitive::implements(v, algorithm))
                .map(move |v| Workload::Primitive(v, algorithm))
        });
        std::iter::once(Workload::Boundary).chain(each).collect()
    }

    /// The short name `--workloads` takes.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Repeated => "repeated",
            Workload::RepeatedInQuery => "repeated-query",
            Workload::Fresh => "fresh",
            Workload::Junk => "junk",
            Workload::NoToken => "none",
            Workload::Signed(algorithm) => algorithm.workload_name(),
            Workload::GrpcRepeated => "grpc",
            // Chosen together only (`--workloads primitives`).
            Workload::Primitive(..) | Workload::Boundary => "primitives",
            Workload::DpopBearer => "dpop-bearer",
            Workload::Dpop => "dpop",
            Workload::MtlsBearer => "mtls-bearer",
            Workload::CertificateBound => "certificate-bound",
        }
    }

    pub fn label(self) -> String {
        match self {
            Workload::Repeated => "repeated token".into(),
            Workload::RepeatedInQuery => "repeated, in query".into(),
            Workload::Fresh => "fresh token".into(),
            Workload::Junk => "bad signature".into(),
            Workload::NoToken => "no token".into(),
            Workload::Signed(algorithm) => algorithm.label().into(),
            Workload::GrpcRepeated => "gRPC unary, repeated".into(),
            Workload::Primitive(verifier, algorithm) => {
                format!("{algorithm} alone, {}", verifier.name())
            }
            Workload::Boundary => "nothing verified".into(),
            Workload::DpopBearer => "repeated token, Bearer".into(),
            Workload::Dpop => "repeated token, DPoP, fresh ES256 proof".into(),
            Workload::MtlsBearer => "repeated token, Bearer over mTLS".into(),
            Workload::CertificateBound => "repeated certificate-bound token over mTLS".into(),
        }
    }

    /// The path of the primitives filter's requests.
    pub fn primitive_path(self) -> Option<String> {
        match self {
            Workload::Primitive(verifier, algorithm) => Some(verifier.path(algorithm.name())),
            Workload::Boundary => Some(primitives::BOUNDARY_PATH.to_string()),
            _ => None,
        }
    }

    /// What `listener` must answer: authenticating listeners 200 for valid tokens and 401
    /// otherwise, the others 200 for everything.
    pub fn expected_status(self, listener: Listener) -> u16 {
        let valid = matches!(
            self,
            Workload::Repeated
                | Workload::RepeatedInQuery
                | Workload::Fresh
                | Workload::GrpcRepeated
                | Workload::Signed(_)
                | Workload::Primitive(..)
                | Workload::Boundary
                | Workload::DpopBearer
                | Workload::Dpop
                | Workload::MtlsBearer
                | Workload::CertificateBound
        );
        if valid || !listener.authenticates() {
            200
        } else {
            401
        }
    }

    pub fn expected_class(self, listener: Listener) -> StatusClass {
        match self.expected_status(listener) {
            200..=299 => StatusClass::Success2xx,
            _ => StatusClass::ClientError4xx,
        }
    }

    /// The native listener this workload compares jwt-authz with: the cached one where a
    /// cache can help (one token over and over), the uncached one where none can. Native
    /// jwt_authn checks no binding: the sender-constrained workloads are compared with their
    /// [`Workload::bearer_peer`] instead, and name the cached one only to name one.
    pub fn native_peer(self) -> Listener {
        match self {
            Workload::Repeated
            | Workload::RepeatedInQuery
            | Workload::GrpcRepeated
            | Workload::DpopBearer
            | Workload::Dpop
            | Workload::MtlsBearer
            | Workload::CertificateBound => Listener::NativeCached,
            Workload::Fresh | Workload::Junk | Workload::NoToken => Listener::Native,
            Workload::Signed(_) | Workload::Primitive(..) | Workload::Boundary => {
                Listener::NativeAlgorithms
            }
        }
    }

    /// The listeners this workload runs on: the baseline, and the filters with its keys.
    pub fn listeners(self) -> &'static [Listener] {
        match self {
            Workload::Signed(algorithm) if algorithm.in_card_stack() => &Listener::ALGORITHMS,
            Workload::Signed(_) => &Listener::ALGORITHMS_BUT_CARD_STACK,
            Workload::Primitive(..) | Workload::Boundary => &[Listener::Primitives],
            Workload::DpopBearer | Workload::Dpop => &[Listener::OursDpop],
            Workload::MtlsBearer | Workload::CertificateBound => &[Listener::OursMtls],
            _ => &Listener::CLASSIC,
        }
    }

    /// Whether each request carries a different token, from a pool.
    pub fn is_fresh(self) -> bool {
        matches!(self, Workload::Fresh | Workload::Junk | Workload::Signed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_tokens_pass_the_authenticating_listeners() {
        for workload in Workload::all() {
            for &listener in workload.listeners() {
                let expected = workload.expected_status(listener);
                let passes = !listener.authenticates()
                    || workload.is_sender()
                    || matches!(
                        workload,
                        Workload::Repeated
                            | Workload::RepeatedInQuery
                            | Workload::Fresh
                            | Workload::GrpcRepeated
                            | Workload::Signed(_)
                    );
                assert_eq!(
                    expected,
                    if passes { 200 } else { 401 },
                    "{listener:?} {workload:?}"
                );
            }
        }
        assert_eq!(
            Workload::Junk.expected_class(Listener::Ours),
            StatusClass::ClientError4xx
        );
        assert_eq!(
            Workload::Junk.expected_class(Listener::Noop),
            StatusClass::Success2xx
        );
    }

    #[test]
    fn the_cached_native_filter_is_the_peer_only_for_a_repeated_token() {
        assert_eq!(Workload::Repeated.native_peer(), Listener::NativeCached);
        assert_eq!(
            Workload::RepeatedInQuery.native_peer(),
            Listener::NativeCached
        );
        assert_eq!(Workload::GrpcRepeated.native_peer(), Listener::NativeCached);
        assert_eq!(Workload::Fresh.native_peer(), Listener::Native);
        assert_eq!(Workload::Junk.native_peer(), Listener::Native);
        let es384 = Workload::Signed(Algorithm::Es384);
        assert_eq!(es384.native_peer(), Listener::NativeAlgorithms);
    }

    #[test]
    fn algorithm_workloads_run_on_the_baseline_and_the_listeners_with_every_key() {
        let hs256 = Workload::Signed(Algorithm::Hs256);
        assert_eq!(
            hs256.listeners(),
            [
                Listener::NoFilter,
                Listener::NativeAlgorithms,
                Listener::OursAlgorithms,
                Listener::CardStack
            ]
        );
        let es512 = Workload::Signed(Algorithm::Es512);
        assert!(!es512.listeners().contains(&Listener::CardStack));
        assert_eq!(hs256.expected_status(Listener::OursAlgorithms), 200);
        assert!(hs256.is_fresh() && Workload::Junk.is_fresh());
        assert!(!Workload::Repeated.is_fresh());
        assert_eq!(Workload::Fresh.listeners(), Listener::CLASSIC);
        assert_eq!(Workload::all().len(), 6 + 11 + 1 + 11 + 10 + 4);
        assert_eq!(hs256.name(), "hs256");
        assert_eq!(hs256.label(), "fresh HS256");
    }

    #[test]
    fn primitive_workloads_hit_their_path_on_the_primitives_listener() {
        let rs256 = Workload::Primitive(Verifier::JwtAuthz, Algorithm::Rs256);
        assert_eq!(rs256.primitive_path().unwrap(), "/jwt-authz/RS256");
        assert_eq!(Workload::Boundary.primitive_path().unwrap(), "/none");
        assert_eq!(rs256.listeners(), [Listener::Primitives]);
        assert_eq!(rs256.expected_status(Listener::Primitives), 200);
        assert!(!rs256.is_fresh());
        let es512 = Workload::Primitive(Verifier::Jsonwebtoken, Algorithm::Es512);
        assert!(!Workload::primitives().contains(&es512));
        assert_eq!(Workload::Fresh.primitive_path(), None);
    }

    #[test]
    fn each_bound_workload_is_compared_with_bearer_on_its_own_listener() {
        assert_eq!(Workload::Dpop.bearer_peer(), Some(Workload::DpopBearer));
        assert_eq!(
            Workload::CertificateBound.bearer_peer(),
            Some(Workload::MtlsBearer)
        );
        assert_eq!(Workload::Repeated.bearer_peer(), None);
        for workload in Workload::SENDER {
            assert!(workload.is_sender() && !workload.is_fresh());
            let listeners = workload.listeners();
            assert_eq!(listeners.len(), 1, "{workload:?}");
            assert_eq!(workload.expected_status(listeners[0]), 200);
            if let Some(peer) = workload.bearer_peer() {
                assert_eq!(peer.listeners(), listeners);
            }
        }
        assert!(!Workload::Repeated.is_sender());
        assert_eq!(Workload::Dpop.listeners(), [Listener::OursDpop]);
        assert_eq!(Workload::CertificateBound.listeners(), [Listener::OursMtls]);
    }
}
