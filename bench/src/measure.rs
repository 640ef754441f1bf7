//! One measurement: a workload on a listener of the running Envoy, with Envoy's CPU time and
//! request count taken around the h2load run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use devstack::Envoy;

use crate::algorithm::Algorithm;
use crate::envoy_config::Listener;
use crate::load::{LoadResult, LoadSpec, Target};
use crate::procstat;
use crate::report::Round;
use crate::sender::{self, SenderSetup};
use crate::tokens::{TokenPool, token_uri};
use crate::workload::Workload;

/// The running Envoy and the tokens the workloads send.
pub struct Bench<'a> {
    pub envoy: &'a Envoy,
    pub ports: BTreeMap<Listener, u16>,
    pub repeated: String,
    pub fresh: TokenPool,
    pub junk: TokenPool,
    /// Fresh tokens of each algorithm measured.
    pub signed: BTreeMap<Algorithm, TokenPool>,
    /// Where h2load's URI files go.
    pub scratch: PathBuf,
    pub load_cpu: String,
    pub nice: i32,
    pub streams: u32,
    /// h2load processes, one connection each.
    pub connections: usize,
    /// The keys, certificates and bound tokens of the sender-constrained workloads, when
    /// one is measured.
    pub sender: Option<SenderSetup>,
}

impl Bench<'_> {
    fn base_url(&self, listener: Listener) -> String {
        format!("http://127.0.0.1:{}/", self.ports[&listener])
    }

    /// The path a workload's requests go to (before any query).
    fn path(workload: Workload) -> &'static str {
        match workload {
            Workload::Signed(algorithm) => algorithm.path(),
            _ => "/",
        }
    }

    /// One request of `workload` to `listener` with a plain HTTP/1.1 client: its status.
    pub fn probe(&mut self, listener: Listener, workload: Workload) -> Result<u16, String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.ports[&listener]));
        let bearer = format!("Bearer {}", self.repeated);
        if workload == Workload::GrpcRepeated {
            let headers = [
                ("content-type", "application/grpc"),
                ("authorization", bearer.as_str()),
            ];
            return devstack::http::request(addr, "POST", "/", &headers, Some(&grpc_call()))
                .map(|r| r.status)
                .map_err(|e| e.to_string());
        }
        let mut headers = Vec::new();
        let path = match workload {
            Workload::Repeated => {
                headers.push(("authorization", bearer.as_str()));
                "/".to_string()
            }
            Workload::RepeatedInQuery => token_uri("/", &self.repeated),
            Workload::Fresh | Workload::Junk | Workload::Signed(_) => {
                let pool = self.pool(workload)?;
                let uri = token_uri(Self::path(workload), pool.ring().next().unwrap_or_default());
                pool.advance(1);
                uri
            }
            Workload::NoToken | Workload::GrpcRepeated => "/".to_string(),
            Workload::Primitive(..) | Workload::Boundary => {
                workload.primitive_path().unwrap_or_default()
            }
            Workload::DpopBearer
            | Workload::Dpop
            | Workload::MtlsBearer
            | Workload::CertificateBound => {
                return self.with_sender_target(addr, workload, sender::probe);
            }
        };
        devstack::http::get(addr, &path, &headers)
            .map(|r| r.status)
            .map_err(|e| e.to_string())
    }

    fn pool(&mut self, workload: Workload) -> Result<&mut TokenPool, String> {
        match workload {
            Workload::Junk => Ok(&mut self.junk),
            Workload::Signed(algorithm) => self
                .signed
                .get_mut(&algorithm)
                .ok_or_else(|| format!("no {algorithm} tokens were minted")),
            _ => Ok(&mut self.fresh),
        }
    }

    /// Runs `with` on the sender-constrained driver's target for `workload` at `addr`.
    fn with_sender_target<T>(
        &self,
        addr: SocketAddr,
        workload: Workload,
        with: impl FnOnce(&sender::Target) -> Result<T, String>,
    ) -> Result<T, String> {
        let setup = self
            .sender
            .as_ref()
            .ok_or("the sender-constrained workloads were not set up")?;
        let (token, tls) = match workload {
            Workload::MtlsBearer => (&self.repeated, Some(&setup.tls)),
            Workload::CertificateBound => (&setup.certificate_token, Some(&setup.tls)),
            _ => (&self.repeated, None),
        };
        let bearer = sender::bearer(token);
        let same_bearer = || bearer.clone();
        let dpop = || setup.dpop_headers(addr);
        let headers: &(dyn Fn() -> Vec<(String, String)> + Sync) = match workload {
            Workload::Dpop => &dpop,
            _ => &same_bearer,
        };
        with(&sender::Target { addr, tls, headers })
    }

    /// Runs the load for `duration` (after `warm_up`) and measures Envoy around it: h2load,
    /// or for the sender-constrained workloads, the driver of their own.
    pub fn run(
        &mut self,
        listener: Listener,
        workload: Workload,
        duration: Duration,
        warm_up: Duration,
    ) -> Result<Round, String> {
        let base = self.base_url(listener);
        let targets: Vec<Target> = match workload {
            Workload::Repeated => {
                let target = Target::Bearer {
                    uri: base,
                    token: self.repeated.clone(),
                };
                vec![target; self.connections]
            }
            Workload::RepeatedInQuery => {
                vec![Target::Uri(token_uri(&base, &self.repeated)); self.connections]
            }
            Workload::NoToken => vec![Target::Uri(base); self.connections],
            Workload::Primitive(..) | Workload::Boundary => {
                let path = workload.primitive_path().unwrap_or_default();
                let uri = format!("{}{path}", base.trim_end_matches('/'));
                vec![Target::Uri(uri); self.connections]
            }
            Workload::GrpcRepeated => {
                let body = self.scratch.join("grpc-call.bin");
                std::fs::write(&body, grpc_call())
                    .map_err(|e| format!("cannot write h2load's request body: {e}"))?;
                let target = Target::Grpc {
                    uri: base,
                    token: self.repeated.clone(),
                    body,
                };
                vec![target; self.connections]
            }
            Workload::Fresh | Workload::Junk | Workload::Signed(_) => {
                let paths: Vec<PathBuf> = (0..self.connections)
                    .map(|k| self.scratch.join(format!("uris-{k}.txt")))
                    .collect();
                let uri = format!("{}{}", base.trim_end_matches('/'), Self::path(workload));
                self.pool(workload)?
                    .write_uri_files(&uri, &paths)
                    .map_err(|e| format!("cannot write h2load's URI files: {e}"))?;
                paths.into_iter().map(Target::UriFile).collect()
            }
            Workload::DpopBearer
            | Workload::Dpop
            | Workload::MtlsBearer
            | Workload::CertificateBound => {
                let addr = SocketAddr::from(([127, 0, 0, 1], self.ports[&listener]));
                return self.measure(listener, || {
                    self.with_sender_target(addr, workload, |target| {
                        sender::drive(target, &self.load_cpu, warm_up, duration)
                    })
                });
            }
        };
        let spec = LoadSpec {
            cpu_list: self.load_cpu.clone(),
            nice: self.nice,
            streams: self.streams,
            duration,
            warm_up,
        };
        let round = self.measure(listener, || spec.run(&targets))?;
        if workload.is_fresh() {
            // Every request Envoy saw took the next token, warm-up included; requests cut
            // off at the end may have taken a few more.
            let in_flight = u64::from(self.streams) * self.connections as u64;
            self.pool(workload)?
                .advance(round.envoy_requests + in_flight);
        }
        Ok(round)
    }

    /// The flood of distinct proofs on [`Listener::OursDpopFlood`] ([`sender::flood`]).
    pub fn flood(&self, first: Duration, second: Duration) -> Result<sender::Flood, String> {
        let port = self
            .ports
            .get(&Listener::OursDpopFlood)
            .ok_or("no flood listener")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], *port));
        self.with_sender_target(addr, Workload::Dpop, |target| {
            sender::flood(self.envoy, target, &self.load_cpu, first, second)
        })
    }

    /// Envoy's CPU time and the listener's request count around `load`.
    fn measure(
        &self,
        listener: Listener,
        load: impl FnOnce() -> Result<LoadResult, String>,
    ) -> Result<Round, String> {
        let requests_before = self.requests(listener)?;
        let cpu_before = procstat::cpu_time(self.envoy.pid())?;
        let started = Instant::now();
        let load = load()?;
        let wall = started.elapsed();
        let cpu_after = procstat::cpu_time(self.envoy.pid())?;
        let requests_after = self.requests(listener)?;
        Ok(Round {
            load,
            envoy_cpu: cpu_after.saturating_sub(cpu_before),
            envoy_requests: requests_after.saturating_sub(requests_before),
            wall,
        })
    }

    /// Requests the listener's connection manager has counted so far.
    fn requests(&self, listener: Listener) -> Result<u64, String> {
        let name = format!("http.{}.downstream_rq_total", listener.id());
        Ok(self.envoy.stats()?.get(&name).copied().unwrap_or(0))
    }
}

/// The request of the gRPC workload: one `demo.echo.v1.EchoRequest`, framed as gRPC sends it.
fn grpc_call() -> Vec<u8> {
    devstack::grpc::frame(&devstack::grpc::EchoRequest {
        message: "bench".to_string(),
        count: 0,
    })
}
