//! The sender-constrained workloads (issue 14), which h2load cannot send: a DPoP proof that is
//! new on every request, and a TLS client certificate. A load driver of its own sends them
//! over HTTP/1.1 keep-alive connections; the Bearer request with the same cached token goes
//! through the same driver to the same listener, so the difference between the two is what
//! the proof or the certificate check costs.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use devidp::Idp;
use devstack::http;
use devstack::tls::Pki;
use jwt_authz_cli::dpop::{DpopKey, ProofFor};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde_json::json;

use crate::envoy_config::AUDIENCE;
use crate::load::LoadResult;
use crate::procstat;
use crate::tokens;

/// Keep-alive connections the driver keeps busy, each one request at a time (HTTP/1.1).
pub const CONNECTIONS: usize = 16;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The key, certificates and bound tokens of the sender-constrained workloads.
pub struct SenderSetup {
    /// The client's DPoP key, which signs a fresh ES256 proof for every request.
    pub dpop_signer: ProofSigner,
    /// A token bound to `dpop_signer` (`cnf.jkt`).
    pub dpop_token: String,
    /// A token bound to `client`'s certificate (`cnf["x5t#S256"]`).
    pub certificate_token: String,
    /// The TLS client: trusts the test CA's server, presents `client`.
    pub tls: Arc<ClientConfig>,
    /// The TLS listener's transport socket: the test CA's server certificate, and its
    /// clients' certificates asked for.
    pub listener_tls: serde_json::Value,
}

impl SenderSetup {
    /// A fresh key, certificates from `pki`, and tokens from the dev IdP's key bound to each.
    pub fn new(idp: &Idp, pki: &Pki) -> Result<SenderSetup, String> {
        let key = idp.current_key();
        let claims = idp.claims_for("demo-client", AUDIENCE, &["read:messages"]);
        let bound_to = |cnf: serde_json::Value, jti: &str| {
            let mut claims = claims.clone();
            claims["cnf"] = cnf;
            tokens::mint(&key, &claims, jti)
        };
        let dpop_signer = ProofSigner::new(DpopKey::generate())?;
        let dpop_token = bound_to(json!({"jkt": dpop_signer.key.thumbprint()}), "dpop-bound");
        let server = pki.server()?;
        let client = pki.client("bench-client", None)?;
        let certificate_token = bound_to(
            json!({"x5t#S256": URL_SAFE_NO_PAD.encode(client.sha256())}),
            "certificate-bound",
        );
        let tls = Arc::new(pki.client_config(Some(&client))?);
        Ok(SenderSetup {
            dpop_signer,
            dpop_token,
            certificate_token,
            tls,
            listener_tls: pki.downstream_tls(&server),
        })
    }

    /// The headers of one DPoP request to `addr`'s `/`: the bound token and a new proof.
    pub fn dpop_headers(&self, addr: SocketAddr) -> Vec<(String, String)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let url = format!("http://{addr}/");
        // A proof that cannot be signed is sent empty, and its refusal flags the run.
        let proof = self
            .dpop_signer
            .proof(&ProofFor {
                method: "GET",
                url: &url,
                access_token: Some(&self.dpop_token),
                nonce: None,
                now,
            })
            .unwrap_or_default();
        vec![
            ("authorization".into(), format!("DPoP {}", self.dpop_token)),
            ("dpop".into(), proof),
        ]
    }
}

/// A DPoP key that signs its proofs with `ring`: the proofs `jwt-authz dpop proof` makes,
/// signed some six times faster than the CLI's `p256` does, so one load CPU keeps Envoy busy.
pub struct ProofSigner {
    key: DpopKey,
    signing: EcdsaKeyPair,
    random: SystemRandom,
}

impl ProofSigner {
    fn new(key: DpopKey) -> Result<ProofSigner, String> {
        let jwk = key.private_jwk();
        let member = |name: &str| {
            jwk[name]
                .as_str()
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or(format!("the DPoP key has no {name}"))
        };
        let point = [vec![4], member("x")?, member("y")?].concat();
        let random = SystemRandom::new();
        let signing = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &member("d")?,
            &point,
            &random,
        )
        .map_err(|e| format!("ring refuses the DPoP key: {e}"))?;
        Ok(ProofSigner {
            key,
            signing,
            random,
        })
    }

    /// A proof for `request`, with a random `jti`.
    pub fn proof(&self, request: &ProofFor) -> Result<String, String> {
        let input = self.key.signing_input(request);
        let signature = self
            .signing
            .sign(&self.random, input.as_bytes())
            .map_err(|_| "ring could not sign a proof".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// `Authorization: Bearer TOKEN`, as a header list.
pub fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

/// Where the driver's requests go, and how each request's headers are made.
pub struct Target<'a> {
    pub addr: SocketAddr,
    /// TLS with this client, or plain TCP.
    pub tls: Option<&'a Arc<ClientConfig>>,
    /// Made anew for every request.
    pub headers: &'a (dyn Fn() -> Vec<(String, String)> + Sync),
}

/// The response to one `GET /` of `target`: its status.
pub fn probe(target: &Target) -> Result<u16, String> {
    let mut connection = Connection::open(target)?;
    connection.get(target).map_err(|e| e.to_string())
}

/// Drives [`CONNECTIONS`] connections, pinned to `cpu_list`, for `warm_up` and then
/// `duration`, counting the responses to requests sent in `duration`.
pub fn drive(
    target: &Target,
    cpu_list: &str,
    warm_up: Duration,
    duration: Duration,
) -> Result<LoadResult, String> {
    let measured_from = Instant::now() + warm_up;
    let end = measured_from + duration;
    let results: Vec<Result<LoadResult, String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                scope.spawn(|| {
                    procstat::pin_this_thread(cpu_list);
                    one_connection(target, measured_from, end)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err("a load thread panicked".into()))
            })
            .collect()
    });
    let results = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut sum = LoadResult::sum(&results).ok_or("no connection was driven")?;
    sum.rps = sum.done as f64 / duration.as_secs_f64();
    Ok(sum)
}

/// One connection's requests, one after the other, until `end`.
fn one_connection(
    target: &Target,
    measured_from: Instant,
    end: Instant,
) -> Result<LoadResult, String> {
    let mut counts = LoadResult::default();
    let mut connection = Connection::open(target)?;
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(counts);
        }
        let status = connection.get(target);
        if sent < measured_from {
            continue;
        }
        counts.total += 1;
        match status {
            Ok(status) => {
                counts.done += 1;
                match status {
                    200..=299 => counts.status_2xx += 1,
                    300..=399 => counts.status_3xx += 1,
                    400..=499 => counts.status_4xx += 1,
                    _ => counts.status_5xx += 1,
                }
            }
            Err(_) => counts.errored += 1,
        }
    }
}

/// A byte stream, plain or TLS.
trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A keep-alive connection, reopened when the server closes it or a request fails.
struct Connection {
    reader: Option<BufReader<Box<dyn Stream>>>,
}

impl Connection {
    fn open(target: &Target) -> Result<Connection, String> {
        let mut connection = Connection { reader: None };
        connection.connect(target)?;
        Ok(connection)
    }

    fn connect(&mut self, target: &Target) -> Result<&mut BufReader<Box<dyn Stream>>, String> {
        let socket = TcpStream::connect_timeout(&target.addr, TIMEOUT)
            .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
        let setup = socket
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| socket.set_write_timeout(Some(TIMEOUT)))
            .and_then(|()| socket.set_nodelay(true));
        setup.map_err(|e| e.to_string())?;
        let stream: Box<dyn Stream> = match target.tls {
            None => Box::new(socket),
            Some(config) => {
                let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
                let tls =
                    ClientConnection::new(Arc::clone(config), name).map_err(|e| e.to_string())?;
                Box::new(StreamOwned::new(tls, socket))
            }
        };
        Ok(self.reader.insert(BufReader::new(stream)))
    }

    /// `GET /` with a new set of the target's headers; the status.
    fn get(&mut self, target: &Target) -> Result<u16, String> {
        let headers = (target.headers)();
        let mut all: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.push(("connection", "keep-alive"));
        let bytes = http::build_request(target.addr, "GET", "/", &all, None);
        let reader = match self.reader.take() {
            Some(reader) => self.reader.insert(reader),
            None => self.connect(target)?,
        };
        let response = reader
            .get_mut()
            .write_all(&bytes)
            .and_then(|()| reader.get_mut().flush())
            .and_then(|()| http::read_response(reader, true));
        match response {
            Ok(response) => {
                let closing = response
                    .header("connection")
                    .is_some_and(|c| c.eq_ignore_ascii_case("close"));
                if closing {
                    self.reader = None;
                }
                Ok(response.status)
            }
            Err(e) => {
                self.reader = None;
                Err(e.to_string())
            }
        }
    }
}

/// What a flood of distinct proofs, more than the replay store holds, came to.
pub struct Flood {
    /// The two floods, one after the other: what each got.
    pub rounds: [(Duration, LoadResult); 2],
    /// Envoy's resident memory before the floods and after each, KiB.
    pub rss_kib: [Option<u64>; 3],
    /// `dpop_replay_store_full` refusals Envoy counted.
    pub counted_full: u64,
}

/// Fresh proofs on every request for `first`, then for `second`, to a listener whose proofs
/// stay in the replay store for 600 s: the store fills, then refuses, and holds its bound.
pub fn flood(
    envoy: &devstack::Envoy,
    target: &Target,
    cpu_list: &str,
    first: Duration,
    second: Duration,
) -> Result<Flood, String> {
    let before = envoy.rss_kib();
    let one = drive(target, cpu_list, Duration::ZERO, first)?;
    let after_one = envoy.rss_kib();
    let two = drive(target, cpu_list, Duration::ZERO, second)?;
    let after_two = envoy.rss_kib();
    // The filter hands its counts to Envoy on its 500 ms tick.
    std::thread::sleep(Duration::from_secs(1));
    let counted_full = envoy
        .stats()?
        .iter()
        .filter(|(name, _)| name.ends_with("jwt_authz.denied.dpop_replay_store_full"))
        .map(|(_, count)| count)
        .sum();
    Ok(Flood {
        rounds: [(first, one), (second, two)],
        rss_kib: [before, after_one, after_two],
        counted_full,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envoy_config::{AlgorithmKeySets, BenchConfig, Listener};
    use devidp::IdpConfig;

    /// The driver's requests in a real Envoy: each bound token with its proof or certificate
    /// is let through, and refused without them (skipped without Envoy or a built module).
    #[test]
    fn bound_tokens_pass_with_their_proofs_and_fail_without() {
        if devstack::Envoy::binary().is_err() || !devstack::module_path().is_file() {
            eprintln!("skipping: no Envoy or no dist/jwt_authz.wasm");
            return;
        }
        let idp = Idp::start("127.0.0.1:0", IdpConfig::default()).unwrap();
        let pki = Pki::new().unwrap();
        let setup = SenderSetup::new(&idp, &pki).unwrap();
        let ports: Vec<u16> = (0..3).map(|_| devstack::free_port().unwrap()).collect();
        let module = devstack::module_path();
        let config = BenchConfig {
            admin_port: ports[0],
            listeners: vec![
                (Listener::OursDpop, ports[1]),
                (Listener::OursMtls, ports[2]),
            ],
            idp_addr: idp.addr(),
            issuer: idp.issuer(),
            jwks_uri: idp.jwks_uri(),
            ours_module: module.clone(),
            noop_module: module.clone(),
            card_stack_module: module.clone(),
            primitives_module: module,
            primitives_config: String::new(),
            algorithm_keys: AlgorithmKeySets::default(),
            listener_tls: setup.listener_tls.clone(),
        };
        let _envoy = devstack::Envoy::start(&config.yaml(), ports[0]).unwrap();
        let dpop = SocketAddr::from(([127, 0, 0, 1], ports[1]));
        let mtls = SocketAddr::from(([127, 0, 0, 1], ports[2]));
        let status = |addr, tls, headers: &(dyn Fn() -> Vec<(String, String)> + Sync)| {
            probe(&Target { addr, tls, headers }).unwrap()
        };
        let proof = || setup.dpop_headers(dpop);
        assert_eq!(status(dpop, None, &proof), 200);
        let replayed = proof();
        assert_eq!(status(dpop, None, &|| replayed.clone()), 200);
        assert_eq!(status(dpop, None, &|| replayed.clone()), 401, "a replay");
        let dpop_token_as_bearer = bearer(&setup.dpop_token);
        assert_eq!(status(dpop, None, &|| dpop_token_as_bearer.clone()), 401);

        let bound = bearer(&setup.certificate_token);
        assert_eq!(status(mtls, Some(&setup.tls), &|| bound.clone()), 200);
        let anonymous = Arc::new(pki.client_config(None).unwrap());
        assert_eq!(status(mtls, Some(&anonymous), &|| bound.clone()), 401);
        let unbound =
            bearer(&idp.mint(&idp.claims_for("demo-client", AUDIENCE, &["read:messages"])));
        assert_eq!(status(mtls, Some(&anonymous), &|| unbound.clone()), 200);
    }
}
