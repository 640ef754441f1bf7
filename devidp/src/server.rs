//! The running identity provider on the [`http`](crate::http) server, and the handle tests
//! use to mint tokens and inject faults.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::algorithm::SigningAlgorithm;
use crate::config::IdpConfig;
use crate::fault::Fault;
use crate::http::{self, AccessLogger, HttpRequest, HttpServer, ServerOptions};
use crate::keys::KeyPair;
use crate::routes;
use crate::signing_key::SigningKey;
use crate::state::IdpState;
use crate::token::access_token_claims;

/// A running dev IdP. Dropping it stops the server: the requests in flight are answered
/// (injected delays cut short) and the port is free again.
pub struct Idp {
    state: Arc<IdpState>,
    /// Dropped after [`Idp::drop`] has told `state` to stop, which cuts injected delays short.
    server: HttpServer,
}

impl Idp {
    /// Listens on `listen` (e.g. `127.0.0.1:0`) over plain HTTP and serves on a background
    /// thread.
    pub fn start(listen: &str, config: IdpConfig) -> io::Result<Idp> {
        Self::start_with(listen, config, ServerOptions::default())
    }

    /// Like [`Idp::start`], calling `logger` once per request (the binaries print these).
    pub fn start_with_logger(
        listen: &str,
        config: IdpConfig,
        logger: AccessLogger,
    ) -> io::Result<Idp> {
        let options = ServerOptions {
            logger: Some(logger),
            ..ServerOptions::default()
        };
        Self::start_with(listen, config, options)
    }

    /// Like [`Idp::start`] with every option: an access logger, HTTPS (then the default
    /// issuer is `https://{addr}/`) and client certificates.
    pub fn start_with(listen: &str, config: IdpConfig, options: ServerOptions) -> io::Result<Idp> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let issuer = issuer_for(config.issuer.as_deref(), options.scheme(), addr);
        let state = Arc::new(IdpState::new(config, issuer).map_err(io::Error::other)?);
        let handler_state = Arc::clone(&state);
        let handler =
            move |request: &HttpRequest| routes::route(&handler_state, request, unix_now());
        let server = http::serve_listener(listener, handler, options)?;
        Ok(Idp { state, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The configured issuer, else `http://{addr}/`; always ends with `/`.
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}{}", self.state.issuer, &routes::JWKS_PATH[1..])
    }

    pub fn discovery_uri(&self) -> String {
        format!("{}{}", self.state.issuer, &routes::DISCOVERY_PATH[1..])
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}{}", self.state.issuer, &routes::TOKEN_PATH[1..])
    }

    /// The server's URL on its actual socket address (differs from the issuer
    /// when `issuer` is configured).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn config(&self) -> &IdpConfig {
        &self.state.config
    }

    /// The RS256 key new tokens are signed with (for every audience whose API does not say
    /// otherwise).
    ///
    /// # Panics
    /// Never: every IdP has an RS256 key.
    pub fn current_key(&self) -> Arc<KeyPair> {
        match self.state.current_key() {
            Some(key) => key,
            None => panic!("devidp bug: no RS256 key"),
        }
    }

    /// The current key of an asymmetric algorithm some API signs with (RS256 always).
    pub fn signing_key(&self, algorithm: SigningAlgorithm) -> Option<Arc<SigningKey>> {
        self.state.signing_key(algorithm)
    }

    /// The key the token endpoint signs tokens for `audience` with right now.
    ///
    /// # Panics
    /// Never for a validated config: an HS256 API always has its secret.
    pub fn signing_key_for(&self, audience: &str) -> Arc<SigningKey> {
        match self.state.signing_key_for(audience) {
            Ok(key) => key,
            Err(e) => panic!("devidp bug: {e}"),
        }
    }

    /// The asymmetric algorithms with a key in the JWKS, RS256 first.
    pub fn algorithms(&self) -> Vec<SigningAlgorithm> {
        self.state.algorithms()
    }

    /// The JWKS document as served (ignoring faults).
    pub fn jwks(&self) -> Value {
        self.state.jwks()
    }

    /// Signs `claims` with the current key via jsonwebtoken.
    ///
    /// # Panics
    /// If jsonwebtoken rejects our own freshly generated key, which would be a
    /// bug in devidp; this is a test helper, not a request path.
    pub fn mint(&self, claims: &Value) -> String {
        match self.current_key().mint(claims) {
            Ok(token) => token,
            Err(e) => panic!("devidp bug: {e}"),
        }
    }

    /// Signs exactly these header and payload bytes with the current key.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        self.current_key().sign_raw(header_json, payload_json)
    }

    /// The claims the token endpoint would issue right now for this request.
    pub fn claims_for(&self, client_id: &str, audience: &str, scopes: &[&str]) -> Value {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        access_token_claims(
            &self.state.issuer,
            client_id,
            audience,
            &scopes,
            unix_now(),
            self.state.config.token_lifetime_secs,
        )
    }

    /// Signs with new keys from now on, one per algorithm in use; old keys stay in the JWKS.
    /// Returns the new RS256 kid. Instant: the new keys were generated beforehand.
    ///
    /// # Panics
    /// If the OS random number generator fails; this is a test helper.
    pub fn rotate_key(&self) -> String {
        let mut rs256_kid = String::new();
        for algorithm in self.algorithms() {
            match self.state.rotate(algorithm) {
                Ok(key) if algorithm == SigningAlgorithm::Rs256 => {
                    key.kid().clone_into(&mut rs256_kid)
                }
                Ok(_) => {}
                Err(e) => panic!("cannot rotate the {algorithm} key: {e}"),
            }
        }
        rs256_kid
    }

    /// Signs with a new key of `algorithm` from now on; its old keys stay in the JWKS.
    /// Refused for an algorithm no API signs with, and for HS256 (whose key is the API's
    /// configured secret).
    pub fn rotate(&self, algorithm: SigningAlgorithm) -> Result<Arc<SigningKey>, String> {
        self.state.rotate(algorithm)
    }

    /// Leaves only the current signing keys (one per algorithm) in the JWKS.
    pub fn retire_old_keys(&self) {
        self.state.retire_old_keys();
    }

    /// Sets the fault for the JWKS and discovery endpoints.
    pub fn set_fault(&self, fault: Fault) {
        self.state.set_fault(fault);
    }

    /// Sets a fault for the discovery endpoint alone (`None`: follow `set_fault`).
    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        self.state.set_discovery_fault(fault);
    }

    /// JWKS requests received so far, faulted ones included.
    pub fn jwks_requests(&self) -> usize {
        self.state.jwks_requests()
    }

    /// Discovery requests received so far, faulted ones included.
    pub fn discovery_requests(&self) -> usize {
        self.state.discovery_requests()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        // Ends injected delays, so the requests that wait in them are answered at once
        // when the server stops (draining them) as the `server` field is dropped next.
        self.state.stop();
    }
}

fn issuer_for(configured: Option<&str>, scheme: &str, addr: SocketAddr) -> String {
    let mut issuer = configured.map_or_else(|| format!("{scheme}://{addr}/"), str::to_owned);
    if !issuer.ends_with('/') {
        issuer.push('/');
    }
    issuer
}

/// Seconds since the Unix epoch from the real clock.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_AUDIENCE;
    use crate::http::AccessLog;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde_json::json;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::thread;
    use std::time::{Duration, Instant};

    /// A minimal HTTP client: sends `raw`, returns (status, body), or `None`
    /// when the server closed the connection without answering.
    fn exchange(addr: SocketAddr, raw: &str) -> Option<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut response = Vec::new();
        // A reset after a hangup is also "no response".
        let _ = stream.read_to_end(&mut response);
        if response.is_empty() {
            return None;
        }
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(response[..split].to_vec()).unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Some((status, response[split + 4..].to_vec()))
    }

    fn get(idp: &Idp, path: &str) -> Option<(u16, Vec<u8>)> {
        exchange(
            idp.addr(),
            &format!("GET {path} HTTP/1.1\r\nHost: idp\r\n\r\n"),
        )
    }

    fn get_json(idp: &Idp, path: &str) -> (u16, Value) {
        let (status, body) = get(idp, path).unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn post(idp: &Idp, content_type: &str, extra_headers: &str, body: &str) -> (u16, Value) {
        let raw = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: idp\r\nContent-Type: {content_type}\r\n{extra_headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, body) = exchange(idp.addr(), &raw).unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn verify_with_jwks(jwks: &Value, token: &str) -> Value {
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap();
        let key = DecodingKey::from_rsa_components(
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[DEFAULT_AUDIENCE]);
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .unwrap()
            .claims
    }

    fn start() -> Idp {
        Idp::start("127.0.0.1:0", IdpConfig::default()).unwrap()
    }

    #[test]
    fn issued_token_verifies_against_the_served_jwks() {
        let idp = start();
        let body = format!(
            r#"{{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"{DEFAULT_AUDIENCE}"}}"#
        );
        let (status, response) = post(&idp, "application/json", "", &body);
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["token_type"], "Bearer");
        let (status, jwks) = get_json(&idp, "/.well-known/jwks.json");
        assert_eq!(status, 200);
        let claims = verify_with_jwks(&jwks, response["access_token"].as_str().unwrap());
        assert_eq!(claims["iss"], idp.issuer());
        assert_eq!(claims["sub"], "demo-client@clients");
        assert_eq!(idp.jwks_requests(), 1);
    }

    #[test]
    fn form_body_with_basic_auth_gets_a_token() {
        let idp = start();
        let auth = STANDARD.encode("limited-client:limited-secret");
        let body = "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com";
        let (status, response) = post(
            &idp,
            "application/x-www-form-urlencoded",
            &format!("Authorization: Basic {auth}\r\n"),
            body,
        );
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["scope"], "read:profile");
    }

    #[test]
    fn wrong_secret_over_http_is_401_invalid_client() {
        let idp = start();
        let body = r#"{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"nope","audience":"https://api.example.com"}"#;
        let (status, response) = post(&idp, "application/json", "", body);
        assert_eq!(status, 401);
        assert_eq!(response["error"], "invalid_client");
    }

    #[test]
    fn oversized_token_request_is_413() {
        let idp = start();
        let raw = format!(
            "POST /oauth/token HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            http::MAX_BODY_BYTES + 1
        );
        assert_eq!(exchange(idp.addr(), &raw).unwrap().0, 413);
    }

    #[test]
    fn discovery_document_names_this_server() {
        let idp = start();
        let (status, doc) = get_json(&idp, "/.well-known/openid-configuration");
        assert_eq!(status, 200);
        assert_eq!(doc["issuer"], format!("http://{}/", idp.addr()));
        assert_eq!(doc["jwks_uri"], idp.jwks_uri());
        assert_eq!(doc["token_endpoint"], idp.token_endpoint());
        assert_eq!(idp.discovery_requests(), 1);
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_is_405() {
        let idp = start();
        assert_eq!(get_json(&idp, "/nope").0, 404);
        assert_eq!(get_json(&idp, "/oauth/token").0, 405);
        let raw = "DELETE /.well-known/jwks.json HTTP/1.1\r\n\r\n";
        assert_eq!(exchange(idp.addr(), raw).unwrap().0, 405);
        assert_eq!(idp.jwks_requests(), 0, "only GETs count");
    }

    #[test]
    fn faults_apply_to_well_known_endpoints_and_are_counted() {
        let idp = start();
        idp.set_fault(Fault::Status(503));
        assert_eq!(get(&idp, "/.well-known/jwks.json").unwrap().0, 503);
        assert_eq!(
            get(&idp, "/.well-known/openid-configuration").unwrap().0,
            503
        );

        idp.set_fault(Fault::Body {
            content_type: "text/html".to_owned(),
            body: b"<html>oops</html>".to_vec(),
        });
        assert_eq!(
            get(&idp, "/.well-known/jwks.json"),
            Some((200, b"<html>oops</html>".to_vec()))
        );

        idp.set_fault(Fault::Close);
        assert_eq!(get(&idp, "/.well-known/jwks.json"), None);
        assert_eq!(
            get_json(&idp, "/nope").0,
            404,
            "other endpoints are unaffected"
        );

        idp.set_fault(Fault::None);
        assert_eq!(get_json(&idp, "/.well-known/jwks.json").0, 200);
        assert_eq!(idp.jwks_requests(), 4);
        assert_eq!(idp.discovery_requests(), 1);
    }

    #[test]
    fn huge_and_truncated_bodies_are_streamed() {
        let idp = start();
        let (fault, written) = Fault::huge(3 << 20, true);
        idp.set_fault(fault);
        let (status, body) = get(&idp, "/.well-known/jwks.json").unwrap();
        assert_eq!((status, body.len()), (200, 3 << 20));
        assert!(body.starts_with(b"{\"keys\": [ "));
        assert_eq!(written.load(std::sync::atomic::Ordering::SeqCst), 3 << 20);

        let (fault, _) = Fault::huge(100_000, false);
        idp.set_fault(fault);
        let raw = get_raw(&idp, "/.well-known/jwks.json");
        assert!(
            !raw.to_ascii_lowercase().contains("content-length"),
            "{raw}"
        );
        assert_eq!(
            get(&idp, "/.well-known/jwks.json").unwrap().1.len(),
            100_000
        );

        idp.set_fault(Fault::truncated(1000, 10));
        let raw = get_raw(&idp, "/.well-known/jwks.json");
        assert!(raw.contains("Content-Length: 1000\r\n"), "{raw}");
        assert!(raw.ends_with("\r\n\r\n{\"keys\": ["), "{raw}");
    }

    #[test]
    fn a_streamed_body_stops_when_the_client_goes_away() {
        let idp = start();
        let (fault, written) = Fault::huge(256 << 20, true);
        idp.set_fault(fault);
        let mut stream = TcpStream::connect(idp.addr()).unwrap();
        stream
            .write_all(b"GET /.well-known/jwks.json HTTP/1.1\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 64];
        stream.read_exact(&mut first).unwrap();
        drop(stream);
        drop(idp); // joins the connection thread, which must have stopped writing
        assert!(written.load(std::sync::atomic::Ordering::SeqCst) < 256 << 20);
    }

    /// The whole answer as text, head included.
    fn get_raw(idp: &Idp, path: &str) -> String {
        let mut stream = TcpStream::connect(idp.addr()).unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        String::from_utf8(response).unwrap()
    }

    #[test]
    fn discovery_can_fail_alone() {
        let idp = start();
        idp.set_discovery_fault(Some(Fault::Status(500)));
        assert_eq!(get_json(&idp, "/.well-known/openid-configuration").0, 500);
        assert_eq!(get_json(&idp, "/.well-known/jwks.json").0, 200);
        idp.set_discovery_fault(None);
        idp.set_fault(Fault::Status(503));
        assert_eq!(get_json(&idp, "/.well-known/openid-configuration").0, 503);
    }

    #[test]
    fn delayed_jwks_does_not_block_other_requests() {
        let idp = start();
        idp.set_fault(Fault::Delay(Duration::from_millis(600)));
        let addr = idp.addr();
        let slow = thread::spawn(move || {
            let started = Instant::now();
            let reply = exchange(addr, "GET /.well-known/jwks.json HTTP/1.1\r\n\r\n");
            (reply.map(|r| r.0), started.elapsed())
        });
        thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        assert_eq!(get_json(&idp, "/nope").0, 404);
        assert!(started.elapsed() < Duration::from_millis(400));
        let (status, elapsed) = slow.join().unwrap();
        assert_eq!(status, Some(200));
        assert!(elapsed >= Duration::from_millis(600));
    }

    #[test]
    fn rotation_keeps_old_keys_until_retired() {
        let idp = start();
        let old_kid = idp.current_key().kid().to_owned();
        let old_token = idp.mint(&json!({"aud": DEFAULT_AUDIENCE, "exp": unix_now() + 60}));
        let new_kid = idp.rotate_key();
        assert_ne!(new_kid, old_kid);
        assert_eq!(idp.current_key().kid(), new_kid);

        let (_, jwks) = get_json(&idp, "/.well-known/jwks.json");
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()]);
        verify_with_jwks(&jwks, &old_token);

        idp.retire_old_keys();
        let (_, jwks) = get_json(&idp, "/.well-known/jwks.json");
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
    }

    const HS256_SECRET: &str = "an HS256 secret of 32 bytes or more";

    /// One API per algorithm, `https://{alg}`, all granted to one client.
    fn every_algorithm_config() -> IdpConfig {
        let apis = SigningAlgorithm::ALL
            .iter()
            .map(|a| {
                json!({
                    "identifier": format!("https://{a}"),
                    "signing_algorithm": a.name(),
                    "signing_secret": a.is_symmetric().then_some(HS256_SECRET),
                })
            })
            .map(|mut api| {
                if api["signing_secret"].is_null() {
                    api.as_object_mut().unwrap().remove("signing_secret");
                }
                api
            })
            .collect::<Vec<_>>();
        let grants: Vec<Value> = SigningAlgorithm::ALL
            .iter()
            .map(|a| json!({"audience": format!("https://{a}"), "scopes": ["read"]}))
            .collect();
        let config = json!({
            "apis": apis,
            "clients": [{"client_id": "c", "client_secret": "s", "grants": grants}],
        });
        IdpConfig::from_json_str(&config.to_string()).unwrap()
    }

    fn token_for(idp: &Idp, audience: &str) -> String {
        let body = format!(
            r#"{{"grant_type":"client_credentials","client_id":"c","client_secret":"s","audience":"{audience}"}}"#
        );
        let (status, json) = post(idp, "application/json", "", &body);
        assert_eq!(status, 200, "{json}");
        json["access_token"].as_str().unwrap().to_owned()
    }

    fn header_of(token: &str) -> Value {
        let segment = token.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(segment)
                .unwrap(),
        )
        .unwrap()
    }

    /// Verifies `token` with the JWKS entry of its kid (or, for HS256, the configured secret)
    /// by an independent verifier.
    fn verify_served(jwks: &Value, token: &str) -> Result<Value, String> {
        let header = header_of(token);
        let alg = header["alg"].as_str().unwrap();
        let jwk = match header.get("kid") {
            Some(kid) => jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["kid"] == *kid)
                .cloned()
                .ok_or(format!("kid {kid} is not in the JWKS"))?,
            None => {
                json!({"kty": "oct", "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(HS256_SECRET)})
            }
        };
        crate::independent_verifier::verify(&jwk, alg, token)
    }

    #[test]
    fn each_api_gets_tokens_of_its_algorithm_that_verify_with_the_served_jwks() {
        let idp = Idp::start("127.0.0.1:0", every_algorithm_config()).unwrap();
        let (status, jwks) = get_json(&idp, "/.well-known/jwks.json");
        assert_eq!(status, 200);
        for algorithm in SigningAlgorithm::ALL {
            let audience = format!("https://{algorithm}");
            let token = token_for(&idp, &audience);
            let header = header_of(&token);
            assert_eq!(header["alg"], algorithm.name());
            assert_eq!(
                header.get("kid").is_none(),
                algorithm.is_symmetric(),
                "{header}"
            );
            let claims = verify_served(&jwks, &token).unwrap();
            assert_eq!(claims["aud"], audience.as_str());
            assert_eq!(claims["sub"], "c@clients");
        }
    }

    #[test]
    fn the_jwks_has_one_key_per_asymmetric_algorithm_and_no_secret() {
        let idp = Idp::start("127.0.0.1:0", every_algorithm_config()).unwrap();
        let (_, jwks) = get_json(&idp, "/.well-known/jwks.json");
        let keys = jwks["keys"].as_array().unwrap();
        let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
        assert_eq!(algs, ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"]);
        let ktys: Vec<&str> = keys.iter().map(|k| k["kty"].as_str().unwrap()).collect();
        assert_eq!(ktys, ["RSA", "RSA", "EC", "EC", "EC", "OKP"]);
        assert!(
            keys.iter()
                .all(|k| k.get("k").is_none() && k.get("d").is_none())
        );
        assert!(
            !jwks
                .to_string()
                .contains(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(HS256_SECRET))
        );
        assert_eq!(idp.algorithms().len(), 6);
    }

    #[test]
    fn a_default_config_serves_one_rs256_key() {
        let idp = start();
        assert_eq!(idp.algorithms(), [SigningAlgorithm::Rs256]);
        assert_eq!(idp.jwks()["keys"].as_array().unwrap().len(), 1);
        assert!(idp.signing_key(SigningAlgorithm::Es256).is_none());
        assert_eq!(
            idp.rotate(SigningAlgorithm::Es256).unwrap_err(),
            "no API signs with ES256 here, so it has no key to rotate"
        );
    }

    #[test]
    fn every_key_type_rotates_and_its_old_key_stays_until_retired() {
        let idp = Idp::start("127.0.0.1:0", every_algorithm_config()).unwrap();
        for algorithm in idp.algorithms() {
            let audience = format!("https://{algorithm}");
            let old = idp.signing_key(algorithm).unwrap();
            let old_token = token_for(&idp, &audience);
            let new = idp.rotate(algorithm).unwrap();
            assert_ne!(new.kid(), old.kid(), "{algorithm}");
            assert_eq!(new.algorithm(), algorithm);
            assert_eq!(idp.signing_key(algorithm).unwrap().kid(), new.kid());
            let new_token = token_for(&idp, &audience);
            assert_eq!(header_of(&new_token)["kid"], new.kid());
            let (_, jwks) = get_json(&idp, "/.well-known/jwks.json");
            assert_eq!(jwks["keys"][0]["kid"], new.kid(), "newest first");
            verify_served(&jwks, &old_token).unwrap();
            verify_served(&jwks, &new_token).unwrap();

            idp.retire_old_keys();
            let (_, jwks) = get_json(&idp, "/.well-known/jwks.json");
            assert_eq!(jwks["keys"].as_array().unwrap().len(), 6, "{algorithm}");
            assert!(
                verify_served(&jwks, &old_token)
                    .unwrap_err()
                    .contains("is not in the JWKS")
            );
            verify_served(&jwks, &new_token).unwrap();
        }
        assert_eq!(
            idp.rotate(SigningAlgorithm::Hs256).unwrap_err(),
            "HS256 signs with each API's signing_secret, which only the config changes"
        );
    }

    #[test]
    fn rotate_key_rotates_every_algorithm_at_once() {
        let idp = Idp::start("127.0.0.1:0", IdpConfig::demo()).unwrap();
        let before: Vec<String> = idp.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(before.len(), 2);
        let rs256_kid = idp.rotate_key();
        assert_eq!(idp.current_key().kid(), rs256_kid);
        let keys = idp.jwks()["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 4);
        for old in &before {
            assert!(keys[..2].iter().all(|k| k["kid"] != old.as_str()));
        }
        let es256 = idp.signing_key_for(crate::config::DEMO_ES256_AUDIENCE);
        assert_eq!(es256.algorithm(), SigningAlgorithm::Es256);
        assert!(!before.iter().any(|kid| kid == es256.kid()));
    }

    #[test]
    fn claims_for_and_sign_raw_verify_with_the_current_key() {
        let idp = start();
        let claims = idp.claims_for("demo-client", DEFAULT_AUDIENCE, &["read:messages"]);
        assert_eq!(claims["permissions"], json!(["read:messages"]));
        let exp = claims["exp"].as_u64().unwrap();
        assert_eq!(exp - claims["iat"].as_u64().unwrap(), 86_400);
        let header = format!(
            r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#,
            idp.current_key().kid()
        );
        let token = idp.sign_raw(&header, &claims.to_string());
        assert_eq!(verify_with_jwks(&idp.jwks(), &token), claims);
    }

    #[test]
    fn configured_issuer_gains_a_trailing_slash() {
        let config = IdpConfig {
            issuer: Some("https://tenant.example.com".to_owned()),
            ..IdpConfig::default()
        };
        let idp = Idp::start("127.0.0.1:0", config).unwrap();
        assert_eq!(idp.issuer(), "https://tenant.example.com/");
        assert_eq!(
            idp.jwks_uri(),
            "https://tenant.example.com/.well-known/jwks.json"
        );
    }

    #[test]
    fn access_log_sees_method_path_and_status_only() {
        let entries = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&entries);
        let logger: AccessLogger =
            Arc::new(move |entry: &AccessLog| sink.lock().unwrap().push(entry.clone()));
        let idp = Idp::start_with_logger("127.0.0.1:0", IdpConfig::default(), logger).unwrap();
        get(&idp, "/nope?secret=x");
        idp.set_fault(Fault::Close);
        get(&idp, "/.well-known/jwks.json");
        drop(idp); // joins the connection threads, so every entry is in
        let entries = entries.lock().unwrap();
        assert_eq!(
            *entries,
            [
                AccessLog {
                    method: "GET".into(),
                    path: "/nope".into(),
                    status: Some(404)
                },
                AccessLog {
                    method: "GET".into(),
                    path: "/.well-known/jwks.json".into(),
                    status: None
                },
            ]
        );
    }

    #[test]
    fn drop_answers_a_delayed_request_at_once_and_frees_the_port() {
        let idp = start();
        let addr = idp.addr();
        idp.set_fault(Fault::Delay(Duration::from_secs(60)));
        let client =
            thread::spawn(move || exchange(addr, "GET /.well-known/jwks.json HTTP/1.1\r\n\r\n"));
        while idp.jwks_requests() == 0 {
            thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        drop(idp);
        let stopped = started.elapsed();
        let (status, body) = client
            .join()
            .unwrap()
            .expect("the request in flight is answered");
        assert_eq!(status, 200);
        assert!(serde_json::from_slice::<Value>(&body).unwrap()["keys"].is_array());
        assert!(stopped < Duration::from_millis(500), "{stopped:?}");
        assert!(TcpStream::connect(addr).is_err(), "listener is closed");
    }

    #[test]
    fn over_tls_the_issuer_is_https_and_tokens_are_issued() {
        use crate::http::test_pki::{TestPki, tls_exchange};
        let pki = TestPki::new("test CA");
        let options = ServerOptions {
            tls: Some(pki.server_tls()),
            ..ServerOptions::default()
        };
        let idp = Idp::start_with("127.0.0.1:0", IdpConfig::default(), options).unwrap();
        assert_eq!(idp.issuer(), format!("https://{}/", idp.addr()));
        assert_eq!(idp.base_url(), idp.issuer());
        let body = format!(
            r#"{{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"{DEFAULT_AUDIENCE}"}}"#
        );
        let raw = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let answer = tls_exchange(idp.addr(), &pki.ca(), None, raw.as_bytes()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        let (_, json) = answer.split_once("\r\n\r\n").unwrap();
        let token: Value = serde_json::from_str(json).unwrap();
        let claims = verify_with_jwks(&idp.jwks(), token["access_token"].as_str().unwrap());
        assert_eq!(claims["iss"], idp.issuer());
    }

    #[test]
    fn a_client_certificate_binds_the_token_to_it() {
        use crate::http::test_pki::{TestPki, tls_exchange};
        use base64::Engine;
        use sha2::Digest;
        let pki = TestPki::new("test CA");
        let options = ServerOptions {
            tls: Some(
                pki.server_tls()
                    .optional_client_certificates(vec![pki.ca()]),
            ),
            ..ServerOptions::default()
        };
        let idp = Idp::start_with("127.0.0.1:0", IdpConfig::default(), options).unwrap();
        let body = format!(
            r#"{{"grant_type":"client_credentials","client_id":"demo-client","client_secret":"demo-secret","audience":"{DEFAULT_AUDIENCE}"}}"#
        );
        let raw = format!(
            "POST /oauth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let claims_with = |identity| {
            let answer = tls_exchange(idp.addr(), &pki.ca(), identity, raw.as_bytes()).unwrap();
            let (_, json) = answer.split_once("\r\n\r\n").unwrap();
            let token: Value = serde_json::from_str(json).unwrap();
            assert_eq!(token["token_type"], "Bearer");
            verify_with_jwks(&idp.jwks(), token["access_token"].as_str().unwrap())
        };
        let identity = pki.issue("client", &[]);
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(identity.0[0].as_ref()));
        assert_eq!(
            claims_with(Some(identity))["cnf"],
            json!({"x5t#S256": thumbprint})
        );
        assert!(claims_with(None).get("cnf").is_none());
    }
}
