//! The kinds of traffic, and what each listener must answer to them.

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
    pub const ALL: [Workload; 6] = [
        Workload::Repeated,
        Workload::RepeatedInQuery,
        Workload::Fresh,
        Workload::Junk,
        Workload::NoToken,
        Workload::GrpcRepeated,
    ];

    /// The short name `--workloads` takes.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Repeated => "repeated",
            Workload::RepeatedInQuery => "repeated-query",
            Workload::Fresh => "fresh",
            Workload::Junk => "junk",
            Workload::NoToken => "none",
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_tokens_pass_the_authenticating_listeners() {
        for listener in Listener::ALL {
            for workload in Workload::ALL {
                let expected = workload.expected_status(listener);
                let passes = !listener.authenticates()
                    || matches!(
                        workload,
                        Workload::Repeated
                            | Workload::RepeatedInQuery
                            | Workload::Fresh
                            | Workload::GrpcRepeated
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
    }
}
