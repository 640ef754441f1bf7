//! One JWKS fetch per provider for the whole Envoy process, however many worker VMs.
//!
//! Envoy runs one Wasm VM per worker, and each would fetch the key set on its own. Instead,
//! the VMs share two entries of the host's shared data per provider:
//! - a *claim*: the VM that sets it (compare-and-swap) fetches; it expires, so a VM that dies
//!   mid-fetch does not block the others;
//! - a *record*: the last key set fetched, with the time it was fetched. Every VM adopts a
//!   record newer than its own keys, parsing it once.
//!
//! This module is the pure part: names, encodings and the decisions; `filter` does the calls.

use crate::config::{JwksLocation, Provider, RemoteJwks};
use std::time::Duration;

/// Shared-data keys of one remote provider. They name the key set's source rather than the
/// provider, so two filter configurations never mix different key sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub record: String,
    pub claim: String,
}

impl Keys {
    pub fn of(provider: &Provider, remote: &RemoteJwks) -> Keys {
        let (kind, endpoint) = match &remote.location {
            JwksLocation::Uri(e) => ("jwks", e),
            JwksLocation::Discovery(e) => ("discovery", e),
        };
        let source = format!(
            "{}|{}|{kind}|{}{}",
            provider.issuer, remote.cluster, endpoint.authority, endpoint.path
        );
        Keys {
            record: format!("jwt_authz.keys|{source}"),
            claim: format!("jwt_authz.fetch|{source}"),
        }
    }
}

const RECORD_VERSION: &str = "jwt-authz-keys/1";

/// A key set as shared: when it was fetched (ms since the Unix epoch) and the JWKS bytes.
pub fn encode_record(fetched_at: Duration, jwks: &[u8]) -> Vec<u8> {
    let mut record = format!("{RECORD_VERSION} {}\n", fetched_at.as_millis()).into_bytes();
    record.extend_from_slice(jwks);
    record
}

/// The fetch time and JWKS bytes of a record; `None` for anything else.
pub fn decode_record(record: &[u8]) -> Option<(Duration, &[u8])> {
    let newline = record.iter().position(|b| *b == b'\n')?;
    let (head, rest) = record.split_at(newline);
    let head = std::str::from_utf8(head).ok()?;
    let millis = head.strip_prefix(RECORD_VERSION)?.strip_prefix(' ')?;
    let millis: u64 = millis.parse().ok()?;
    Some((Duration::from_millis(millis), rest.get(1..)?))
}

/// A claim held until `until` (ms since the Unix epoch).
pub fn encode_claim(until: Duration) -> Vec<u8> {
    until.as_millis().to_string().into_bytes()
}

/// Whether a claim (as read from shared data) leaves the fetch to whoever asks at `now`.
pub fn claim_is_free(claim: Option<&[u8]>, now: Duration) -> bool {
    let until = claim
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<u64>().ok());
    match until {
        Some(until) => now >= Duration::from_millis(until),
        // Absent, released (empty) or unreadable: nobody holds it.
        None => true,
    }
}

/// How long a claim is held: the fetch (two callouts with discovery) and a margin.
pub fn claim_duration(remote: &RemoteJwks) -> Duration {
    remote.timeout.saturating_mul(2) + Duration::from_secs(1)
}

/// Whether a record fetched at `shared` should replace keys fetched at `ours` (`None`: no
/// keys yet).
pub fn is_newer(shared: Duration, ours: Option<Duration>) -> bool {
    ours.is_none_or(|ours| shared > ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, KeySource};

    fn provider() -> Provider {
        Config::from_json(
            br#"{"providers": {"p": {"issuer": "https://i/", "audiences": ["a"],
                 "remote_jwks": {"http_uri": {"uri": "https://i/jwks", "cluster": "c", "timeout": "5s"}}}},
               "rules": [{"match": {"prefix": "/"}}]}"#,
        )
        .unwrap()
        .providers
        .remove(0)
    }

    fn remote(p: &Provider) -> &RemoteJwks {
        match &p.keys {
            KeySource::Remote(r) => r,
            KeySource::Local(_) => unreachable!(),
        }
    }

    #[test]
    fn keys_name_the_source_of_the_key_set() {
        let p = provider();
        let keys = Keys::of(&p, remote(&p));
        assert_eq!(keys.record, "jwt_authz.keys|https://i/|c|jwks|i/jwks");
        assert_eq!(keys.claim, "jwt_authz.fetch|https://i/|c|jwks|i/jwks");
    }

    #[test]
    fn records_round_trip_and_junk_is_ignored() {
        let at = Duration::from_millis(1_700_000_000_123);
        let record = encode_record(at, b"{\"keys\":[]}\nmore");
        assert_eq!(
            decode_record(&record),
            Some((at, &b"{\"keys\":[]}\nmore"[..]))
        );
        for junk in [
            &b""[..],
            b"{\"keys\":[]}",
            b"jwt-authz-keys/1 x\n{}",
            b"other/1 5\n{}",
        ] {
            assert_eq!(decode_record(junk), None);
        }
    }

    #[test]
    fn a_claim_is_held_until_it_expires() {
        let now = Duration::from_secs(100);
        let claim = encode_claim(now + Duration::from_secs(11));
        assert!(!claim_is_free(Some(&claim), now));
        assert!(claim_is_free(Some(&claim), now + Duration::from_secs(11)));
        assert!(claim_is_free(None, now));
        assert!(claim_is_free(Some(b""), now), "released");
        assert_eq!(claim_duration(remote(&provider())), Duration::from_secs(11));
    }

    #[test]
    fn only_newer_records_replace_keys() {
        let t = Duration::from_secs(10);
        assert!(is_newer(t, None));
        assert!(is_newer(t, Some(Duration::from_secs(9))));
        assert!(!is_newer(t, Some(t)));
    }
}
