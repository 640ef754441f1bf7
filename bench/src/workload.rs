//! The kinds of traffic, and what each listener must answer to them.

use crate::algorithm::Algorithm;
use crate::envoy_config::Listener;

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

    /// Every workload, in the report's order: the classic ones, then one per algorithm.
    pub fn all() -> Vec<Workload> {
        Workload::CLASSIC
            .into_iter()
            .chain(Algorithm::ALL.map(Workload::Signed))
            .collect()
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
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Workload::Repeated => "repeated token",
            Workload::RepeatedInQuery => "repeated, in query",
            Workload::Fresh => "fresh token",
            Workload::Junk => "bad signature",
            Workload::NoToken => "no token",
            Workload::Signed(algorithm) => algorithm.label(),
            Workload::GrpcRepeated => "gRPC unary, repeated",
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
    /// cache can help (one token over and over), the uncached one where none can.
    pub fn native_peer(self) -> Listener {
        match self {
            Workload::Repeated | Workload::RepeatedInQuery | Workload::GrpcRepeated => {
                Listener::NativeCached
            }
            Workload::Fresh | Workload::Junk | Workload::NoToken => Listener::Native,
            Workload::Signed(_) => Listener::NativeAlgorithms,
        }
    }

    /// The listeners this workload runs on: the baseline, and the filters with its keys.
    pub fn listeners(self) -> &'static [Listener] {
        match self {
            Workload::Signed(_) => &Listener::ALGORITHMS,
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
                Listener::OursAlgorithms
            ]
        );
        assert_eq!(hs256.expected_status(Listener::OursAlgorithms), 200);
        assert!(hs256.is_fresh() && Workload::Junk.is_fresh());
        assert!(!Workload::Repeated.is_fresh());
        assert_eq!(Workload::Fresh.listeners(), Listener::CLASSIC);
        assert_eq!(Workload::all().len(), 6 + 11);
        assert_eq!(hs256.name(), "hs256");
        assert_eq!(hs256.label(), "fresh HS256");
    }
}
