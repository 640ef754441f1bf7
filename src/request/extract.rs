//! Where the token is: a header (with an optional prefix such as `Bearer `), a query parameter
//! or a cookie.

use crate::error::{AuthError, UnreadablePart};
use crate::request::headers::Header;
use std::borrow::Cow;

/// One place a provider looks for its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLocation {
    /// A request header (name in lower case); the prefix is matched case-insensitively,
    /// since RFC 7235 auth schemes are.
    Header { name: String, value_prefix: String },
    /// A query parameter of `:path`.
    Param(String),
    /// A cookie of the `cookie` headers (jwt_authn's `from_cookies`).
    Cookie(String),
}

/// The prefix of a token sent with the DPoP scheme (RFC 9449 §7.1).
pub const DPOP_PREFIX: &str = "DPoP ";

/// A token found in the request, and how to remove it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'r, 'c> {
    /// Borrowed from the request unless it had to be percent-decoded.
    pub token: Cow<'r, str>,
    /// Names from the configuration.
    pub removal: Removal<'c>,
    /// Sent as `Authorization: DPoP`: it needs a proof.
    pub dpop: bool,
}

/// How the token leaves the request when it is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal<'c> {
    /// Remove this header.
    Header(&'c str),
    /// Take this parameter out of the query (see [`without_params`]).
    Param(&'c str),
    /// Take this cookie out of the `cookie` headers (see [`without_cookies`]).
    Cookie(&'c str),
}

/// The request's cookies but those called `names`, as one `cookie` value; `None` when none is
/// left.
pub fn without_cookies(headers: &[Header], names: &[&str]) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for (name, _, pair) in cookies(headers) {
        if !names.contains(&name) {
            kept.push(pair);
        }
    }
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Every cookie of the `cookie` headers: its name (empty without `=`), its value (without the
/// quotes RFC 6265 allows around it) and the whole pair as sent.
fn cookies<'r>(headers: &[Header<'r>]) -> Vec<(&'r str, &'r str, &'r str)> {
    let mut found = Vec::new();
    for &(header, value) in headers {
        if !header.eq_ignore_ascii_case("cookie") {
            continue;
        }
        for pair in value.split(';') {
            let pair = pair.trim_matches([' ', '\t']);
            if pair.is_empty() {
                continue;
            }
            // A cookie without `=` (some browsers send a nameless value so) has no name.
            let (name, value) = pair.split_once('=').unwrap_or(("", pair));
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found.push((name.trim_end(), value, pair));
        }
    }
    found
}

/// `path` without the query parameters called `names`; all of them go in one pass, so
/// several tokens in the query all leave it.
pub fn without_params(path: &str, names: &[&str]) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !names.contains(&key)
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// Finds exactly one token in `locations`. None at all is `Ok(None)`; more than one is an
/// error (RFC 6750 §2: a client uses one method per request), so two different tokens can
/// never be read by two different components.
pub fn find_token<'r, 'c>(
    path: &'r str,
    headers: &[Header<'r>],
    locations: &'c [TokenLocation],
) -> Result<Option<Found<'r, 'c>>, AuthError> {
    let mut found: Option<Found> = None;
    let mut record = |token: Cow<'r, str>, removal: Removal<'c>, dpop: bool| {
        if found.is_some() {
            return Err(AuthError::MultipleTokens);
        }
        found = Some(Found {
            token,
            removal,
            dpop,
        });
        Ok(())
    };
    for location in locations {
        match location {
            TokenLocation::Header { name, value_prefix } => {
                let values = || {
                    headers
                        .iter()
                        .filter(|(header, _)| header.eq_ignore_ascii_case(name))
                        .map(|&(_, value)| value)
                };
                // Bytes that are not UTF-8 read as NUL: an element the filter cannot read
                // could still be a token to an upstream that reads it otherwise.
                if values().any(|value| value.contains('\0')) {
                    return Err(AuthError::Unreadable(UnreadablePart::TokenHeader));
                }
                // Envoy joins repeated headers with commas, and no token contains one, so
                // each comma-separated element is a candidate of its own.
                let elements = values().flat_map(|value| value.split(','));
                for element in elements {
                    if let Some(token) = strip_prefix_ignore_case(
                        element.trim_start_matches([' ', '\t']),
                        value_prefix,
                    )
                    .map(|t| t.trim_matches([' ', '\t']))
                    .filter(|t| !t.is_empty())
                    {
                        let dpop = value_prefix.eq_ignore_ascii_case(DPOP_PREFIX);
                        record(Cow::Borrowed(token), Removal::Header(name), dpop)?;
                    }
                }
            }
            TokenLocation::Param(param) => {
                let Some((_, query)) = path.split_once('?') else {
                    continue;
                };
                let values = query
                    .split('&')
                    .filter_map(|pair| match pair.split_once('=') {
                        Some((key, value)) if key == param => Some(percent_decode(value)),
                        _ => None,
                    });
                for token in values.filter(|t| !t.is_empty()) {
                    record(token, Removal::Param(param), false)?;
                }
            }
            TokenLocation::Cookie(cookie) => {
                // Bytes that are not UTF-8 read as NUL, as in headers; and a `Cookie` header the
                // filter may rewrite must be readable whole, not only the token's cookie.
                let unreadable = headers.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("cookie") && value.contains('\0')
                });
                if unreadable {
                    return Err(AuthError::Unreadable(UnreadablePart::TokenHeader));
                }
                for (name, token, _) in cookies(headers) {
                    if name == cookie && !token.is_empty() {
                        record(Cow::Borrowed(token), Removal::Cookie(cookie), false)?;
                    }
                }
            }
        }
    }
    Ok(found)
}

fn strip_prefix_ignore_case<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// `%XX` and `+` decoding of a query value; an invalid escape is kept as it is, and the
/// token parser then refuses it. A value with neither (every base64url token) is borrowed.
fn percent_decode(value: &str) -> Cow<'_, str> {
    let bytes = value.as_bytes();
    // Two word-at-a-time searches: a char-set `contains` goes character by character.
    if !bytes.contains(&b'%') && !bytes.contains(&b'+') {
        return Cow::Borrowed(value);
    }
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%'
            && let [high, low, after @ ..] = tail
            && let (Some(high), Some(low)) = (hex(*high), hex(*low))
        {
            out.push(high * 16 + low);
            rest = after;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        rest = tail;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaked, so found tokens may borrow their locations as they borrow the config.
    fn defaults() -> &'static [TokenLocation] {
        Box::leak(Box::new([
            TokenLocation::Header {
                name: "authorization".into(),
                value_prefix: "Bearer ".into(),
            },
            TokenLocation::Param("access_token".into()),
        ]))
    }

    fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        pairs.to_vec()
    }

    #[test]
    fn bearer_header_is_found_and_removed_whole() {
        let found = find_token(
            "/api",
            &headers(&[("authorization", "Bearer abc.def.ghi")]),
            defaults(),
        )
        .unwrap();
        assert_eq!(
            found,
            Some(Found {
                token: "abc.def.ghi".into(),
                removal: Removal::Header("authorization"),
                dpop: false,
            })
        );
    }

    #[test]
    fn scheme_is_case_insensitive_and_spaces_are_trimmed() {
        let found = find_token(
            "/",
            &headers(&[("Authorization", "bearer   t.t.t  ")]),
            defaults(),
        )
        .unwrap();
        assert_eq!(found.unwrap().token, "t.t.t");
    }

    #[test]
    fn other_schemes_and_empty_tokens_count_as_missing() {
        for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", ""] {
            assert_eq!(
                find_token("/", &headers(&[("authorization", value)]), defaults()),
                Ok(None),
                "{value}"
            );
        }
    }

    #[test]
    fn query_parameter_is_found_and_removed_from_the_path() {
        let found = find_token("/api?a=1&access_token=t.t.t&b=2", &[], defaults())
            .unwrap()
            .unwrap();
        assert_eq!(found.token, "t.t.t");
        assert_eq!(found.removal, Removal::Param("access_token"));
        assert_eq!(
            without_params("/api?a=1&access_token=t&b=2", &["access_token"]),
            "/api?a=1&b=2"
        );
        let only = find_token("/api?access_token=x.y.z", &[], defaults())
            .unwrap()
            .unwrap();
        assert_eq!(only.token, "x.y.z");
        assert_eq!(
            without_params("/api?access_token=t", &["access_token"]),
            "/api"
        );
    }

    #[test]
    fn several_parameters_leave_the_query_together() {
        assert_eq!(without_params("/x?ta=1&k=v&tb=2", &["ta", "tb"]), "/x?k=v");
        assert_eq!(without_params("/x?ta=1&tb", &["ta", "tb"]), "/x");
        assert_eq!(without_params("/x", &["ta"]), "/x");
    }

    #[test]
    fn query_value_is_percent_decoded() {
        let found = find_token("/?access_token=a%2Eb.c", &[], defaults())
            .unwrap()
            .unwrap();
        assert_eq!(found.token, "a.b.c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41+%42"), "A B");
    }

    #[test]
    fn similar_parameter_names_are_not_tokens() {
        assert_eq!(
            find_token("/?access_token_x=a&xaccess_token=b", &[], defaults()),
            Ok(None)
        );
    }

    #[test]
    fn a_token_header_that_is_not_utf8_is_refused_whatever_else_it_holds() {
        // `\0` is how a byte that is not UTF-8 reads (see `headers`).
        for value in [
            "Bearer \0\0.e30.c2ln",
            "\0Bearer x.y.z, Bearer a.b.c",
            "Basic \0",
        ] {
            assert_eq!(
                find_token("/", &headers(&[("authorization", value)]), defaults()),
                Err(AuthError::Unreadable(UnreadablePart::TokenHeader)),
                "{value:?}"
            );
        }
        // Other headers do not matter.
        let found = find_token(
            "/",
            &headers(&[("x-name", "Fran\0ois"), ("authorization", "Bearer a.b.c")]),
            defaults(),
        );
        assert_eq!(found.unwrap().unwrap().token, "a.b.c");
    }

    #[test]
    fn two_tokens_are_refused_wherever_they_are() {
        let two_headers = headers(&[
            ("authorization", "Bearer a.b.c"),
            ("authorization", "Bearer d.e.f"),
        ]);
        assert_eq!(
            find_token("/", &two_headers, defaults()),
            Err(AuthError::MultipleTokens)
        );
        let one_header = headers(&[("authorization", "Bearer a.b.c")]);
        assert_eq!(
            find_token("/?access_token=a.b.c", &one_header, defaults()),
            Err(AuthError::MultipleTokens)
        );
        assert_eq!(
            find_token("/?access_token=a&access_token=b", &[], defaults()),
            Err(AuthError::MultipleTokens)
        );
    }

    #[test]
    fn custom_header_without_prefix_takes_the_whole_value() {
        let locations = vec![TokenLocation::Header {
            name: "x-jwt".into(),
            value_prefix: String::new(),
        }];
        let found = find_token("/", &headers(&[("x-jwt", "a.b.c")]), &locations)
            .unwrap()
            .unwrap();
        assert_eq!(found.token, "a.b.c");
        assert_eq!(
            find_token(
                "/",
                &headers(&[("authorization", "Bearer a.b.c")]),
                &locations
            ),
            Ok(None)
        );
    }

    fn cookie_locations() -> &'static [TokenLocation] {
        Box::leak(Box::new([TokenLocation::Cookie("jwt".into())]))
    }

    #[test]
    fn a_cookie_token_is_found_unquoted_across_cookie_headers() {
        for (cookies, token) in [
            (vec!["a=1; jwt=abc.def.ghi; b=2"], Some("abc.def.ghi")),
            (vec!["jwt=\"abc.def.ghi\""], Some("abc.def.ghi")),
            (vec!["a=1", "jwt=abc.def.ghi"], Some("abc.def.ghi")),
            (vec!["  jwt=abc.def.ghi  ;x=1"], Some("abc.def.ghi")),
            (vec!["jwt="], None),
            (vec!["jwt"], None),
            (vec!["xjwt=abc.def.ghi; jwtx=1"], None),
            (vec!["JWT=abc.def.ghi"], None),
        ] {
            let all: Vec<Header> = cookies.iter().map(|c| ("cookie", *c)).collect();
            let found = find_token("/", &all, cookie_locations()).unwrap();
            assert_eq!(
                found.as_ref().map(|f| f.token.as_ref()),
                token,
                "{cookies:?}"
            );
            if let Some(found) = found {
                assert_eq!(found.removal, Removal::Cookie("jwt"));
                assert!(!found.dpop);
            }
        }
    }

    #[test]
    fn two_cookie_tokens_and_unreadable_cookie_headers_are_refused() {
        let two = [("cookie", "jwt=a.b.c"), ("cookie", "jwt=d.e.f")];
        assert_eq!(
            find_token("/", &two, cookie_locations()),
            Err(AuthError::MultipleTokens)
        );
        // Bytes that are not UTF-8 read as NUL, in any cookie: the header could not be rewritten
        // faithfully without the token's cookie.
        let unreadable = [("cookie", "other=\0; jwt=a.b.c")];
        assert_eq!(
            find_token("/", &unreadable, cookie_locations()),
            Err(AuthError::Unreadable(UnreadablePart::TokenHeader))
        );
    }

    #[test]
    fn without_cookies_keeps_the_others_in_one_header() {
        let headers = [("cookie", "a=1; jwt=x;; nameless"), ("Cookie", "b=\"2\"")];
        assert_eq!(
            without_cookies(&headers, &["jwt"]).as_deref(),
            Some("a=1; nameless; b=\"2\"")
        );
        assert_eq!(without_cookies(&[("cookie", "jwt=x")], &["jwt"]), None);
    }
}
