//! `htu` against the request URI (RFC 9449 §4.3 check 9): both without query and fragment,
//! compared after RFC 3986 §6.2.2 and §6.2.3 normalisation.

/// `uri` as an absolute `http` or `https` URI without query and fragment, normalised: scheme
/// and host in lower case, the scheme's default port dropped, an empty path as `/`, and
/// percent-encodings with upper-case hex digits, those of unreserved characters decoded.
/// `None` for anything else (another scheme, user information, a bad port or escape).
pub fn normalise(uri: &str) -> Option<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if authority.contains('@') {
        return None;
    }
    // An IPv6 literal keeps its colons inside brackets.
    let port_at = match authority.rfind(']') {
        Some(close) => authority[close..].find(':').map(|i| close + i),
        None => authority.rfind(':'),
    };
    let (host, port) = match port_at {
        Some(at) => (&authority[..at], &authority[at + 1..]),
        None => (authority, ""),
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let mut normal = format!("{scheme}://{}", host.to_ascii_lowercase());
    if !port.is_empty() {
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let port: u16 = port.parse().ok()?;
        if port != default_port {
            normal.push_str(&format!(":{port}"));
        }
    }
    if path.is_empty() {
        normal.push('/');
    } else {
        normal.push_str(&normalise_escapes(path)?);
    }
    Some(normal)
}

/// `%xx` as `%XX`, and as the character itself when it is unreserved (RFC 3986 §2.3).
fn normalise_escapes(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'%' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3)?;
        let text = std::str::from_utf8(hex).ok()?;
        let value = u8::from_str_radix(text, 16).ok()?;
        if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
            out.push(char::from(value));
        } else {
            out.push_str(&format!("%{value:02X}"));
        }
        i += 3;
    }
    // Only ASCII was pushed byte by byte when the path was ASCII; anything else is refused.
    path.is_ascii().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_normalise_alike() {
        let expected = Some("https://api.example.com/a/b".to_string());
        for uri in [
            "https://api.example.com/a/b",
            "HTTPS://API.Example.COM/a/b",
            "https://api.example.com:443/a/b",
            "https://api.example.com/a/b?x=1",
            "https://api.example.com/a/b#frag",
            "https://api.example.com/%61/b",
        ] {
            assert_eq!(normalise(uri), expected, "{uri}");
        }
        assert_eq!(
            normalise("http://h:80").as_deref(),
            Some("http://h/"),
            "default port and empty path"
        );
        assert_eq!(
            normalise("http://h:8080/x").as_deref(),
            Some("http://h:8080/x")
        );
        assert_eq!(normalise("https://h:80/").as_deref(), Some("https://h:80/"));
        assert_eq!(
            normalise("http://[::1]:80/x").as_deref(),
            Some("http://[::1]/x")
        );
        assert_eq!(
            normalise("http://h/a%2fb").as_deref(),
            Some("http://h/a%2Fb")
        );
    }

    #[test]
    fn paths_case_and_reserved_escapes_still_differ() {
        assert_ne!(normalise("https://h/A"), normalise("https://h/a"));
        assert_ne!(normalise("https://h/a%2Fb"), normalise("https://h/a/b"));
        assert_ne!(normalise("https://h/a/"), normalise("https://h/a"));
    }

    #[test]
    fn anything_but_an_absolute_http_uri_is_refused() {
        for uri in [
            "",
            "/a/b",
            "ftp://h/",
            "https:///a",
            "https://user@h/",
            "https://h:x/",
            "https://h:99999/",
            "https://h/%zz",
            "https://h/%4",
            "https://h/é",
            "https://h h/",
        ] {
            assert_eq!(normalise(uri), None, "{uri}");
        }
    }
}
