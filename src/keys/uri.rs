//! The `http(s)://authority/path` URIs the filter calls out to, split into the callout's
//! `:authority` and `:path`.

/// Where a callout goes within its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `:authority` (host and optional port).
    pub authority: String,
    /// `:path`, query included.
    pub path: String,
    pub https: bool,
}

impl Endpoint {
    /// Parses `http(s)://authority/path?query`; no path means `/`.
    pub fn parse(uri: &str) -> Result<Endpoint, String> {
        let (https, rest) = if let Some(rest) = uri.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = uri.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{uri:?} must start with https:// or http://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        // It becomes the callout's `:authority` header: nothing that could end or split it.
        if authority.is_empty()
            || authority.contains(['@', '?', '#'])
            || authority
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(format!("{uri:?} has no valid host"));
        }
        if path.contains(['#', ' ']) || path.chars().any(char::is_control) {
            return Err(format!(
                "{uri:?} has a fragment, a space or a control character in its path"
            ));
        }
        Ok(Endpoint {
            authority: authority.to_string(),
            path: path.to_string(),
            https,
        })
    }

    /// Whether `other` is reached on the same host and port (so through the same cluster).
    pub fn same_origin(&self, other: &Endpoint) -> bool {
        self.https == other.https
            && self
                .host_and_port()
                .eq_ignore_ascii_case(&other.host_and_port())
    }

    fn host_and_port(&self) -> String {
        let default_port = if self.https { ":443" } else { ":80" };
        let host = self
            .authority
            .strip_suffix(default_port)
            .unwrap_or(&self.authority);
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_authority_and_path() {
        let e = Endpoint::parse("https://tenant.auth0.com/.well-known/jwks.json?x=1").unwrap();
        assert_eq!(e.authority, "tenant.auth0.com");
        assert_eq!(e.path, "/.well-known/jwks.json?x=1");
        assert!(e.https);
        assert_eq!(Endpoint::parse("http://127.0.0.1:8081").unwrap().path, "/");
    }

    #[test]
    fn refuses_what_is_not_an_http_uri() {
        for uri in [
            "ftp://x/",
            "https:///x",
            "https://user@x/",
            "x/y",
            "https://x/a b",
            "https://x/#f",
            // Found by the discovery fuzz target: control characters in the authority.
            "http://r\0\0/x",
            "https://a\r\nx-injected: 1/x",
            "https://a\tb/x",
        ] {
            assert!(Endpoint::parse(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn same_origin_ignores_default_ports_and_case() {
        let a = Endpoint::parse("https://Tenant.auth0.com/a").unwrap();
        assert!(a.same_origin(&Endpoint::parse("https://tenant.auth0.com:443/b").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://other.auth0.com/b").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("http://tenant.auth0.com/b").unwrap()));
        assert!(!a.same_origin(&Endpoint::parse("https://tenant.auth0.com:8443/b").unwrap()));
    }
}
