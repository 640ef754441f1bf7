//! CORS preflights: browsers send them without credentials, so with `bypass_cors_preflight`
//! they pass without a token (Fetch standard: `OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`). A plain `OPTIONS` is not a preflight and is checked.

use crate::policy::rules::Request;

pub fn is_preflight(request: &Request) -> bool {
    let non_empty = |name: &str| request.header(name).is_some_and(|v| !v.trim().is_empty());
    request.method == "OPTIONS" && non_empty("origin") && non_empty("access-control-request-method")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preflight(method: &str, extra: &[(&str, &str)]) -> bool {
        let mut headers = vec![(":method", method), (":path", "/api")];
        headers.extend(extra);
        is_preflight(&Request::from_headers(&headers))
    }

    #[test]
    fn options_with_origin_and_requested_method_is_a_preflight() {
        let both = [
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
        ];
        assert!(preflight("OPTIONS", &both));
        assert!(!preflight("GET", &both));
        assert!(!preflight("OPTIONS", &both[..1]));
        assert!(!preflight("OPTIONS", &both[1..]));
        assert!(!preflight("OPTIONS", &[]));
        assert!(!preflight(
            "OPTIONS",
            &[("origin", ""), ("access-control-request-method", "POST")]
        ));
        assert!(!preflight(
            "OPTIONS",
            &[
                ("origin", "https://a"),
                ("access-control-request-method", " ")
            ]
        ));
    }
}
