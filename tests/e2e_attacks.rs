//! The attack corpus (tests/corpus) and every Wycheproof JOSE vector, end to end: one real
//! Envoy with two listeners in front of the echo upstream, one running jwt-authz and one
//! running Envoy's native `jwt_authn`, both with the very same provider JSON (issuer, audience,
//! `remote_jwks` on the dev IdP, `Authorization: Bearer`, `forward: false`).
//!
//! jwt-authz must answer each case exactly (status, `WWW-Authenticate`, body); native
//! `jwt_authn` must reach the same verdict (let through or refused), except where the case
//! names a documented difference. A failure prints the whole table. The figures are printed
//! either way (`cargo test --test e2e_attacks -- --nocapture`).

mod corpus;
mod support;

use corpus::{Case, Context, Difference, Native, Ours};
use devstack::bootstrap::{jwt_authn_filter, jwt_authz_filter, listener, static_cluster};
use devstack::{Echo, Envoy, EnvoyOptions, RecordedRequest, Response, free_port, http};
use jwt_authz::error::AuthError;
use jwt_authz::jose::jwt::{self, Algorithm};
use jwt_authz::request::extract::{self, TokenLocation};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use support::{AUDIENCE, now, start_idp};

const PATH: &str = "/api/attack";
const MAX_TOKEN_BYTES: usize = 8192;

/// The IdP, the echo upstream and Envoy with both listeners.
struct Stack {
    idp: devidp::Idp,
    echo: Echo,
    envoy: Envoy,
    ours: SocketAddr,
    native: SocketAddr,
}

/// The provider both filters use, in the JSON both accept.
fn provider(idp: &devidp::Idp) -> Value {
    json!({
        "issuer": idp.issuer(),
        "audiences": [AUDIENCE],
        "remote_jwks": {
            "http_uri": {"uri": idp.jwks_uri(), "cluster": "idp", "timeout": "2s"},
            "cache_duration": "600s"
        },
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}],
        "forward": false
    })
}

/// The filters' configuration: `/api` needs a token of `idp`.
fn authentication(idp: &devidp::Idp) -> Value {
    json!({
        "providers": {"idp": provider(idp)},
        "rules": [{"match": {"prefix": "/api"}, "requires": {"provider_name": "idp"}}]
    })
}

impl Stack {
    fn start() -> (Stack, Context) {
        let idp = start_idp();
        // Two keys published: the first signs no more, the second signs from now on.
        let previous = idp.current_key();
        idp.rotate_key();
        let echo = Echo::start("127.0.0.1:0").expect("echo starts");
        let port = || free_port().expect("free port");
        let (ours, native, admin) = (port(), port(), port());
        let yaml = format!(
            "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\n\
             static_resources:\n  listeners:\n{}{}  clusters:\n{}{}",
            listener("ours", ours, &jwt_authz_filter(&authentication(&idp))),
            listener("native", native, &jwt_authn_filter(&authentication(&idp))),
            static_cluster("upstream", echo.addr()),
            static_cluster("idp", idp.addr()),
        );
        let options = EnvoyOptions {
            component_log_level: Some("wasm:debug".into()),
            ..EnvoyOptions::default()
        };
        let envoy = Envoy::start_with(&yaml, admin, &options).expect("Envoy starts");
        let context = Context {
            issuer: idp.issuer(),
            audience: AUDIENCE.to_string(),
            current: idp.current_key(),
            previous,
            attacker: devidp::KeyPair::generate("attacker").expect("key"),
            now: now(),
            max_token_bytes: MAX_TOKEN_BYTES,
        };
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let stack = Stack {
            idp,
            echo,
            envoy,
            ours: local(ours),
            native: local(native),
        };
        (stack, context)
    }

    /// Sends `headers` to `listener`; the answer (or why there was none), and what reached the
    /// upstream.
    fn send(
        &self,
        listener: SocketAddr,
        headers: &[(String, String)],
    ) -> (Result<Response, String>, Vec<RecordedRequest>) {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let response =
            http::request(listener, "GET", PATH, &headers, None).map_err(|e| e.to_string());
        let forwarded = self.echo.requests();
        self.echo.clear();
        (response, forwarded)
    }
}

/// What a listener did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// 200 from the upstream, which got the request without the token.
    Allowed,
    Refused(u16),
    /// Anything else: no answer, a 200 that never reached the upstream, the token forwarded.
    Broken(String),
}

fn verdict(response: &Result<Response, String>, forwarded: &[RecordedRequest]) -> Verdict {
    match (response, forwarded) {
        (Err(e), _) => Verdict::Broken(format!("no answer: {e}")),
        (Ok(r), [seen]) if r.status == 200 => match seen.header("authorization") {
            None => Verdict::Allowed,
            Some(_) => Verdict::Broken("the token reached the upstream".into()),
        },
        (Ok(r), []) if r.status >= 400 => Verdict::Refused(r.status),
        (Ok(r), seen) => Verdict::Broken(format!(
            "status {} with {} request(s) upstream",
            r.status,
            seen.len()
        )),
    }
}

/// A refusal as jwt-authz sends it: status, `WWW-Authenticate`, JSON body.
type Reply = (u16, String, Value);

/// The refusal `expected` stands for (`None`: allowed, or refused by Envoy itself).
fn reply(expected: &Ours) -> Option<Reply> {
    match expected {
        Ours::Allowed | Ours::Envoy(_) => None,
        Ours::Missing => Some(reply_for(&AuthError::Missing)),
        Ours::Invalid(description) => Some(invalid_token(description)),
        Ours::TwoTokens => Some(reply_for(&AuthError::MultipleTokens)),
    }
}

/// The refusal the book's "Responses" gives for `error`: status, challenge and body are
/// written out here, only the description comes from `error`.
fn reply_for(error: &AuthError) -> Reply {
    match error {
        AuthError::Missing => (
            401,
            "Bearer realm=\"api\"".into(),
            json!({"error": "missing_token", "error_description": "Jwt is missing"}),
        ),
        AuthError::MultipleTokens => refusal(400, "invalid_request", &error.description()),
        _ => invalid_token(&error.description()),
    }
}

/// 401 `invalid_token` with `description`.
fn invalid_token(description: &str) -> Reply {
    refusal(401, "invalid_token", description)
}

fn refusal(status: u16, code: &str, description: &str) -> Reply {
    (
        status,
        format!("Bearer realm=\"api\", error=\"{code}\", error_description=\"{description}\""),
        json!({"error": code, "error_description": description}),
    )
}

/// Whether jwt-authz's answer is exactly `expected`; if not, what it was.
fn check_ours(
    expected: &Ours,
    response: &Result<Response, String>,
    seen: &Verdict,
) -> Result<(), String> {
    let wanted = match (expected, reply(expected)) {
        (_, Some(reply)) => reply,
        (Ours::Envoy(status), None) if *seen == Verdict::Refused(*status) => return Ok(()),
        (Ours::Allowed, None) if *seen == Verdict::Allowed => return Ok(()),
        _ => return Err(describe_verdict(seen)),
    };
    check_reply(&wanted, response, seen)
}

fn check_reply(
    wanted: &Reply,
    response: &Result<Response, String>,
    seen: &Verdict,
) -> Result<(), String> {
    let Ok(response) = response else {
        return Err(describe_verdict(seen));
    };
    let got: Reply = (
        response.status,
        response
            .header("www-authenticate")
            .unwrap_or("(none)")
            .to_string(),
        response.json().unwrap_or(Value::Null),
    );
    if *seen != Verdict::Refused(wanted.0) || got != *wanted {
        return Err(format!("{} {} {}", got.0, got.1, got.2));
    }
    Ok(())
}

/// A short form of an expected or seen answer for the table.
fn describe(ours: &Ours) -> String {
    match ours {
        Ours::Allowed => "200 allowed".into(),
        Ours::Missing => "401 Jwt is missing".into(),
        Ours::Invalid(d) => format!("401 {d}"),
        Ours::TwoTokens => "400 more than one token".into(),
        Ours::Envoy(status) => format!("{status} from Envoy"),
    }
}

fn describe_verdict(v: &Verdict) -> String {
    match v {
        Verdict::Allowed => "200 allowed".into(),
        Verdict::Refused(status) => format!("{status} refused"),
        Verdict::Broken(why) => format!("BROKEN: {why}"),
    }
}

#[derive(Debug, Default)]
struct Figures {
    cases: usize,
    ours_exact: usize,
    native_agreed: usize,
    /// Cases where the verdicts differ as documented, by difference.
    differences: BTreeMap<Difference, usize>,
}

/// Runs every case through both listeners; returns the figures and the rows that failed.
fn run_corpus(stack: &Stack, cases: &[Case]) -> (Figures, String, Vec<String>) {
    let mut figures = Figures::default();
    let mut table = String::new();
    let mut failures = Vec::new();
    for case in cases {
        let (ours_response, ours_forwarded) = stack.send(stack.ours, &case.headers);
        let ours_seen = verdict(&ours_response, &ours_forwarded);
        let (native_response, native_forwarded) = stack.send(stack.native, &case.headers);
        let native_seen = verdict(&native_response, &native_forwarded);

        figures.cases += 1;
        let ours_check = check_ours(&case.ours, &ours_response, &ours_seen);
        figures.ours_exact += usize::from(ours_check.is_ok());
        let native_allowed = native_seen == Verdict::Allowed;
        let native_ok =
            !matches!(native_seen, Verdict::Broken(_)) && native_allowed == case.native_allows();
        if case.ours.allows() == native_allowed {
            figures.native_agreed += 1;
        } else if let (Native::Differs(difference), true) = (case.native, native_ok) {
            *figures.differences.entry(difference).or_default() += 1;
        }
        let note = match case.native {
            Native::Agrees => "agree".to_string(),
            Native::Differs(d) => format!("differ: {d:?}"),
        };
        let mark = if ours_check.is_ok() && native_ok {
            " "
        } else {
            "✗"
        };
        let _ = writeln!(
            table,
            "{mark} {:<52} | {:<56} | {:<14} | {note}",
            case.name,
            ours_check
                .as_ref()
                .map_or_else(|e| format!("got {e}"), |()| describe(&case.ours)),
            describe_verdict(&native_seen),
        );
        if let Err(e) = ours_check {
            failures.push(format!(
                "{}: jwt-authz should answer {}, got {e}",
                case.name,
                describe(&case.ours)
            ));
        }
        if let Native::Differs(d) = case.native
            && d.stricter() == case.ours.allows()
        {
            failures.push(format!("{}: {d:?} points the other way", case.name));
        }
        if !native_ok {
            failures.push(format!(
                "{}: jwt_authn should {}, got {}",
                case.name,
                if case.native_allows() {
                    "allow"
                } else {
                    "refuse"
                },
                describe_verdict(&native_seen)
            ));
        }
    }
    (figures, table, failures)
}

/// The Wycheproof JOSE vectors: the token of each, by file and group.
fn wycheproof_tokens() -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    for file in ["json_web_signature_test.json", "json_web_key_test.json"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/wycheproof")
            .join(file);
        let document: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("JSON");
        for group in document["testGroups"].as_array().expect("groups") {
            for test in group["tests"].as_array().expect("tests") {
                let token = match &test["jws"] {
                    Value::String(token) => token.clone(),
                    other => other.to_string(),
                };
                tokens.push((format!("{file} tcId {}", test["tcId"]), token));
            }
        }
    }
    tokens
}

/// What the filter's own code says of `header_value` in `Authorization`, natively: the
/// refusal the module inside Envoy must send too.
fn library_answer(header_value: &str) -> Reply {
    let headers = [("authorization", header_value)];
    let locations = [TokenLocation::Header {
        name: "authorization".into(),
        value_prefix: "Bearer ".into(),
    }];
    let error = match extract::find_token(PATH, &headers, &locations) {
        Ok(None) => AuthError::Missing,
        Ok(Some(found)) => {
            match jwt::parse(&found.token, MAX_TOKEN_BYTES, &Algorithm::asymmetric()) {
                Err(error) => error,
                Ok(_) => panic!("a Wycheproof vector parsed as a token with claims"),
            }
        }
        Err(error) => error,
    };
    reply_for(&error)
}

/// Every Wycheproof vector to both listeners: all refused, jwt-authz as its library says.
fn run_wycheproof(stack: &Stack) -> (usize, Vec<String>) {
    let tokens = wycheproof_tokens();
    let mut failures = Vec::new();
    for (id, token) in &tokens {
        let value = format!("Bearer {token}");
        let headers = [("authorization".to_string(), value.clone())];
        let (ours_response, ours_forwarded) = stack.send(stack.ours, &headers);
        let ours_seen = verdict(&ours_response, &ours_forwarded);
        if let Err(e) = check_reply(&library_answer(&value), &ours_response, &ours_seen) {
            failures.push(format!("{id}: jwt-authz: {e}"));
        }
        let (native_response, native_forwarded) = stack.send(stack.native, &headers);
        let native_seen = verdict(&native_response, &native_forwarded);
        if !matches!(native_seen, Verdict::Refused(_)) {
            failures.push(format!(
                "{id}: jwt_authn: {}",
                describe_verdict(&native_seen)
            ));
        }
    }
    (tokens.len(), failures)
}

#[test]
fn attack_corpus_and_wycheproof_through_jwt_authz_and_native_jwt_authn() {
    let (stack, context) = Stack::start();
    let cases = corpus::cases(&context);
    let (figures, table, mut failures) = run_corpus(&stack, &cases);
    let (vectors, wycheproof_failures) = run_wycheproof(&stack);
    failures.extend(wycheproof_failures);

    let log = stack.envoy.log();
    for case in &cases {
        for (_, value) in &case.headers {
            let token = value.trim_start_matches("Bearer ");
            if token.len() >= 64 && log.contains(token) {
                failures.push(format!("{}: the token appears in Envoy's log", case.name));
            }
        }
    }

    let stricter: usize = figures
        .differences
        .iter()
        .filter(|(d, _)| d.stricter())
        .map(|(_, n)| n)
        .sum();
    let summary = format!(
        "attack corpus: {} cases through jwt-authz and native jwt_authn; jwt-authz answered {} \
         exactly; verdicts agreed on {}, differed as documented on {} ({} where jwt-authz is \
         stricter, {} where it accepts what jwt_authn refuses): {:?}\n\
         Wycheproof JOSE: {vectors} vectors through both listeners, all refused by both \
         (payloads are not claims)\n\
         JWKS requests to the IdP: {}",
        figures.cases,
        figures.ours_exact,
        figures.native_agreed,
        figures.differences.values().sum::<usize>(),
        stricter,
        figures.differences.values().sum::<usize>() - stricter,
        figures.differences,
        stack.idp.jwks_requests(),
    );
    println!("{table}\n{summary}");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}\n\n{table}\n{summary}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing wrongly allowed: every case jwt-authz refuses reached no upstream (checked per
    // case above), and every documented difference occurs in the corpus.
    for difference in Difference::ALL {
        assert!(
            figures.differences.contains_key(&difference),
            "{difference:?} is documented but no case shows it"
        );
    }
}

#[test]
fn every_difference_is_in_the_book() {
    let page = "docs/src/security/jwt-authn.md";
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(page))
        .expect(page);
    for difference in Difference::ALL {
        assert!(
            text.contains(difference.bullet()),
            "{page} has no bullet starting {:?} ({difference:?})",
            difference.bullet()
        );
    }
}
