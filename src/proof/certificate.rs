//! The client certificate a request comes with, for certificate-bound tokens (RFC 8705 §3):
//! the SHA-256 of its DER, from the downstream TLS connection (Envoy's
//! `connection.sha256_peer_certificate_digest`) or, when that connection comes from a
//! configured forwarder that ended the client's TLS, from the `Hash` the forwarder put in
//! `x-forwarded-client-cert`.

use crate::proof::settings::CertificateSettings;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The header a forwarding proxy passes the client certificate's details in (Envoy's format).
pub const XFCC_HEADER: &str = "x-forwarded-client-cert";
/// Bytes of a SHA-256 digest.
const DIGEST_BYTES: usize = 32;
/// Elements of `x-forwarded-client-cert` looked at: one per proxy hop, and chains are short.
const MAX_XFCC_ELEMENTS: usize = 16;

/// A certificate's SHA-256.
pub type Digest = [u8; DIGEST_BYTES];

/// What the downstream TLS connection says of its peer, as the host gives it; read only for
/// a configuration that binds tokens to certificates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peer<'r> {
    /// The SHA-256 of the peer certificate, hex (`connection.sha256_peer_certificate_digest`);
    /// `None` (or empty) without one.
    pub certificate_sha256: Option<&'r str>,
    /// The first URI SAN of the peer certificate (`connection.uri_san_peer_certificate`).
    pub uri_san: Option<&'r str>,
}

/// The SHA-256 of the client certificate the request comes with, if any. `forwarded` is
/// the request's `x-forwarded-client-cert`, every value joined with commas.
pub fn presented(
    settings: &CertificateSettings,
    peer: &Peer,
    forwarded: Option<&str>,
) -> Option<Digest> {
    let own = peer.certificate_sha256.and_then(from_hex);
    let from_forwarder = peer
        .uri_san
        .is_some_and(|san| settings.forwarded_by.iter().any(|f| f == san));
    if !from_forwarder {
        return own;
    }
    // The forwarder's own certificate is not the client's: only what it forwarded counts.
    forwarded.and_then(|header| forwarded_hash(header, own))
}

/// Whether `x5t` (`cnf["x5t#S256"]`: base64url of a SHA-256, no padding) names `digest`.
/// `None` when it is not such a value at all.
pub fn names(x5t: &str, digest: &Digest) -> Option<bool> {
    if x5t.len() != 43 {
        return None;
    }
    let decoded = URL_SAFE_NO_PAD.decode(x5t).ok()?;
    Some(decoded.as_slice() == digest.as_slice())
}

/// The `Hash` of the element the forwarder added to `x-forwarded-client-cert`: the last one,
/// after dropping any this Envoy appended itself about the forwarder's certificate (`own`,
/// under `APPEND_FORWARD` or `SANITIZE_SET`).
fn forwarded_hash(header: &str, own: Option<Digest>) -> Option<Digest> {
    let elements = split_unquoted(header, ',')?;
    if elements.len() > MAX_XFCC_ELEMENTS {
        return None;
    }
    let mut hashes = elements.iter().map(|element| element_hash(element));
    let mut last = hashes.next_back()?;
    if own.is_some() && last == own {
        last = hashes.next_back()?;
    }
    last
}

/// The `Hash` of one element (`By=...;Hash=...;Subject="..."`): hex SHA-256 of the DER.
fn element_hash(element: &str) -> Option<Digest> {
    let mut hashes = split_unquoted(element, ';')?
        .into_iter()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("hash")
                .then(|| value.trim())
        });
    let hash = hashes.next()?;
    // Two hashes in one element cannot both be the client's.
    if hashes.next().is_some() {
        return None;
    }
    from_hex(hash.trim_matches('"'))
}

/// `text` split at each `separator` outside double quotes (a backslash escapes inside them);
/// `None` when a quote is left open.
fn split_unquoted(text: &str, separator: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(text.get(start..at).unwrap_or_default());
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    (!quoted).then_some(parts)
}

/// 64 hex digits (either case) -> the digest.
fn from_hex(hex: &str) -> Option<Digest> {
    let hex = hex.as_bytes();
    if hex.len() != 2 * DIGEST_BYTES {
        return None;
    }
    let mut digest = [0; DIGEST_BYTES];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let nibble = |c: u8| char::from(c).to_digit(16);
        let (&[high, low], _) = pair.split_first_chunk::<2>()?;
        *byte = u8::try_from(nibble(high)? * 16 + nibble(low)?).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const FORWARDER: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    const FORWARDER_SAN: &str = "spiffe://cluster.local/ns/edge/sa/gateway";

    fn digest(hex: &str) -> Digest {
        from_hex(hex).unwrap()
    }

    fn settings(forwarded_by: &[&str]) -> CertificateSettings {
        CertificateSettings {
            forwarded_by: forwarded_by.iter().map(|s| s.to_string()).collect(),
            ..CertificateSettings::default()
        }
    }

    fn peer<'a>(hex: Option<&'a str>, san: Option<&'a str>) -> Peer<'a> {
        Peer {
            certificate_sha256: hex,
            uri_san: san,
        }
    }

    #[test]
    fn the_connection_s_own_certificate_counts_when_no_forwarder_is_trusted() {
        let direct = peer(Some(CLIENT), None);
        assert_eq!(
            presented(&settings(&[]), &direct, None),
            Some(digest(CLIENT))
        );
        let upper = CLIENT.to_ascii_uppercase();
        assert_eq!(
            presented(&settings(&[]), &peer(Some(&upper), None), None),
            Some(digest(CLIENT))
        );
        for none in [None, Some(""), Some("zz"), Some(&CLIENT[1..])] {
            assert_eq!(presented(&settings(&[]), &peer(none, None), None), None);
        }
        // A forwarded hash from a peer that is not a trusted forwarder is ignored.
        let forged = format!("Hash={FORWARDER}");
        assert_eq!(
            presented(
                &settings(&[FORWARDER_SAN]),
                &peer(Some(CLIENT), Some("spiffe://x")),
                Some(&forged)
            ),
            Some(digest(CLIENT))
        );
        assert_eq!(
            presented(
                &settings(&[]),
                &peer(None, Some(FORWARDER_SAN)),
                Some(&forged)
            ),
            None
        );
    }

    #[test]
    fn a_trusted_forwarder_s_element_names_the_client_certificate() {
        let trusted = settings(&[FORWARDER_SAN]);
        let from_forwarder = peer(Some(FORWARDER), Some(FORWARDER_SAN));
        let only = format!(r#"By=spiffe://edge;Hash={CLIENT};Subject="CN=client, O=a;b";URI="#);
        assert_eq!(
            presented(&trusted, &from_forwarder, Some(&only)),
            Some(digest(CLIENT))
        );
        // APPEND_FORWARD: this Envoy added an element about the forwarder's certificate.
        let appended = format!("{only},By=spiffe://api;Hash={FORWARDER}");
        assert_eq!(
            presented(&trusted, &from_forwarder, Some(&appended)),
            Some(digest(CLIENT))
        );
        // Earlier hops do not count: the forwarder's element is the last.
        let chain = format!("Hash={FORWARDER},Hash={CLIENT}");
        assert_eq!(
            presented(&trusted, &from_forwarder, Some(&chain)),
            Some(digest(CLIENT))
        );
        // The forwarder's own certificate never stands for the client's.
        for header in [
            None,
            Some(String::new()),
            Some(format!("By=spiffe://api;Hash={FORWARDER}")),
            Some("By=spiffe://edge;Subject=\"CN=x\"".to_string()),
            Some(format!("Hash={CLIENT};Hash={CLIENT}")),
            Some(format!("Hash=\"{CLIENT}\";URI=\"a")),
            Some(format!("Hash={}", &CLIENT[2..])),
            Some(vec![format!("Hash={CLIENT}"); 17].join(",")),
        ] {
            assert_eq!(
                presented(&trusted, &from_forwarder, header.as_deref()),
                None,
                "{header:?}"
            );
        }
        assert_eq!(
            presented(
                &trusted,
                &from_forwarder,
                Some(&format!("hash=\"{CLIENT}\""))
            ),
            Some(digest(CLIENT))
        );
    }

    #[test]
    fn quoted_separators_do_not_split() {
        assert_eq!(
            split_unquoted(r#"a="x,y",b="q\"r,s",c"#, ','),
            Some(vec![r#"a="x,y""#, r#"b="q\"r,s""#, "c"])
        );
        assert_eq!(split_unquoted("", ';'), Some(vec![""]));
        assert_eq!(split_unquoted(r#"a="x,y"#, ','), None);
    }

    #[test]
    fn a_thumbprint_names_its_digest_only() {
        let client = digest(CLIENT);
        let x5t = URL_SAFE_NO_PAD.encode(client);
        assert_eq!(names(&x5t, &client), Some(true));
        assert_eq!(names(&x5t, &digest(FORWARDER)), Some(false));
        for bad in [
            "",
            "abc",
            &format!("{x5t}="),
            &x5t.replace('A', "+"),
            &x5t[1..],
        ] {
            if bad.len() == 43 && URL_SAFE_NO_PAD.decode(bad).is_ok() {
                continue;
            }
            assert_eq!(names(bad, &client), None, "{bad}");
        }
        // Standard base64 is not base64url.
        let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode([0xfb; 32]);
        assert_eq!(names(&standard, &[0xfb; 32]), None);
    }
}
