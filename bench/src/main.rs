//! `make bench`: jwt-authz against no filter, Envoy's native jwt_authn (with and without its
//! token cache) and a no-op Rust Wasm filter, as listeners side by side in one Envoy with one
//! worker pinned to one CPU, loaded by h2load pinned to another. Prints a markdown report and
//! can write it into the book's docs/src/benchmarks.md.

mod algorithm;
mod args;
mod card_stack;
mod chart;
mod document;
mod envoy_config;
mod load;
mod machine;
mod measure;
mod primitive;
mod procstat;
mod report;
mod sender;
mod startup;
mod tokens;
mod workload;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use devidp::{Idp, IdpConfig};
use devstack::{Envoy, EnvoyOptions};

use crate::algorithm::Algorithm;
use crate::args::Options;
use crate::document::{JwksFetches, Run};
use crate::envoy_config::{AUDIENCE, AlgorithmKeySets, BenchConfig, Listener};
use crate::machine::Machine;
use crate::measure::Bench;
use crate::report::{Cell, Results};
use crate::sender::SenderSetup;
use crate::startup::Poll;
use crate::workload::Workload;

/// Length of each run in the unmeasured pass before the rounds.
const WARM_UP_PASS: Duration = Duration::from_secs(1);

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = run(&options) {
        eprintln!("bench: {message}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    let started = Instant::now();
    let load_at_start = load_average();
    let module = existing_file(&options.module, "the jwt-authz module (run `make build`)")?;
    let noop_module = existing_file(
        &options.noop_module,
        "the no-op filter (run `make bench`, which builds it)",
    )?;
    let card_stack_module = existing_file(
        &options.card_stack_module,
        "the card stack's filter (run `make bench`, which builds it)",
    )?;
    let primitives_module = existing_file(
        &options.primitives_module,
        "the primitives filter (run `make bench`, which builds it)",
    )?;
    require_tool("h2load", "--version", "nghttp2-client")?;
    require_tool("taskset", "--version", "util-linux")?;
    let machine = Machine::describe(&Envoy::binary()?);

    let idp = Idp::start("127.0.0.1:0", IdpConfig::default())
        .map_err(|e| format!("cannot start the dev IdP: {e}"))?;
    let classic = options
        .workloads
        .iter()
        .any(|w| Workload::CLASSIC.contains(w));
    // Without a classic workload, one token is all the RS256 listeners need (for nothing).
    let (repeated, fresh, junk) = mint_tokens(&idp, if classic { options.tokens } else { 1 });
    let algorithms: Vec<Algorithm> = options
        .workloads
        .iter()
        .filter_map(|w| match w {
            Workload::Signed(algorithm) => Some(*algorithm),
            _ => None,
        })
        .collect();
    let keys = Arc::new(algorithm::Keys::generate()?);
    let claims = idp.claims_for("demo-client", AUDIENCE, &["read:messages"]);
    let signed = mint_algorithm_tokens(&keys, &claims, &algorithms, options.algorithm_tokens);
    let algorithm_poll = tokens::token_uri("/", &keys.mint(Algorithm::Rs256, &claims, "poll"));

    // The listeners the chosen workloads run on, in the report's order.
    let flooded = options.workloads.contains(&Workload::Dpop);
    let listeners: Vec<Listener> = Listener::ALL
        .into_iter()
        .filter(|l| options.workloads.iter().any(|w| w.listeners().contains(l)))
        .chain(flooded.then_some(Listener::OursDpopFlood))
        .collect();
    let ports = free_ports(listeners.len() + 1)?;
    let admin_port = ports[0];
    let listener_ports: BTreeMap<Listener, u16> = listeners
        .iter()
        .copied()
        .zip(ports[1..].iter().copied())
        .collect();
    let algorithm_keys = AlgorithmKeySets {
        asymmetric_jwks: keys.asymmetric_jwks(),
        hmac_jwks: keys.hmac_jwks(),
    };
    let primitives_config = primitive::configuration(&keys, &claims);
    let sender = if options.workloads.iter().any(|w| w.is_sender()) {
        Some(SenderSetup::new(&idp, &devstack::tls::Pki::new()?)?)
    } else {
        None
    };
    let listener_tls = sender
        .as_ref()
        .map(|s| s.listener_tls.clone())
        .unwrap_or_default();
    let config_for = |listeners: &[Listener]| {
        BenchConfig {
            admin_port,
            listeners: listeners.iter().map(|l| (*l, listener_ports[l])).collect(),
            idp_addr: idp.addr(),
            issuer: idp.issuer(),
            jwks_uri: idp.jwks_uri(),
            ours_module: module.clone(),
            noop_module: noop_module.clone(),
            card_stack_module: card_stack_module.clone(),
            primitives_module: primitives_module.clone(),
            primitives_config: primitives_config.clone(),
            algorithm_keys: algorithm_keys.clone(),
            listener_tls: listener_tls.clone(),
        }
        .yaml()
    };
    let polls_for = |listeners: &[Listener]| -> Vec<Poll> {
        listeners
            .iter()
            // A TLS listener fetches its keys on its first request (the probe).
            .filter(|l| l.authenticates() && !l.is_tls())
            .map(|&listener| Poll {
                listener,
                addr: SocketAddr::from(([127, 0, 0, 1], listener_ports[&listener])),
                path: if Listener::ALGORITHMS.contains(&listener) {
                    algorithm_poll.clone()
                } else {
                    tokens::token_uri("/", &repeated)
                },
            })
            .collect()
    };
    let envoy_options = EnvoyOptions {
        concurrency: 1,
        cpu_list: Some(options.envoy_cpu.clone()),
        ..EnvoyOptions::default()
    };

    // Memory of the same process without the Wasm listeners, for comparison.
    let mut memory = Vec::new();
    let without_wasm: Vec<Listener> = listeners.iter().copied().filter(|l| !l.is_wasm()).collect();
    let without_ours: Vec<Listener> = listeners.iter().copied().filter(|l| !l.is_ours()).collect();
    for (what, listeners) in [
        ("idle, without the Wasm listeners", &without_wasm[..]),
        ("idle, without the jwt-authz listeners", &without_ours[..]),
    ] {
        progress(&format!("memory: Envoy {what}"));
        let rss = startup::settled_rss(
            &config_for(listeners),
            admin_port,
            &envoy_options,
            &polls_for(listeners),
        );
        memory.push((what.to_string(), rss));
    }

    progress("starting Envoy with every listener");
    let jwks_before = idp.jwks_requests();
    let (envoy, startup) = startup::start_timed(
        &config_for(&listeners),
        admin_port,
        &envoy_options,
        &polls_for(&listeners),
    )?;
    let clusters: Vec<String> = listeners.iter().filter_map(|l| l.jwks_cluster()).collect();
    let by_cluster_after_startup = startup::jwks_fetches(&envoy, &clusters)?;
    let priority = match options.nice {
        0 => "unchanged".to_string(),
        nice => match procstat::renice(envoy.pid(), nice) {
            Ok(()) => format!("nice {nice} for Envoy and h2load"),
            Err(e) => {
                progress(&format!(
                    "cannot renice Envoy, measuring at normal priority: {e}"
                ));
                format!("unchanged (renice failed: {e})")
            }
        },
    };
    std::thread::sleep(Duration::from_secs(1));
    memory.insert(0, ("idle, every listener".to_string(), rss(&envoy)));

    let scratch = Scratch::new()?;
    let token_bytes = repeated.len();
    let mut bench = Bench {
        envoy: &envoy,
        ports: listener_ports.clone(),
        repeated,
        fresh: tokens::TokenPool::new(fresh),
        junk: tokens::TokenPool::new(junk),
        signed: signed
            .into_iter()
            .map(|(algorithm, tokens)| (algorithm, tokens::TokenPool::new(tokens)))
            .collect(),
        scratch: scratch.0.clone(),
        load_cpu: options.load_cpu.clone(),
        nice: options.nice,
        streams: options.streams,
        connections: options.connections,
        sender,
    };
    let card_stack_wrong = listener_ports.get(&Listener::CardStack).map(|&port| {
        let claims = idp.claims_for("demo-client", AUDIENCE, &["read:messages"]);
        check_card_stack(port, &card_stack::cases(&keys, &claims))
    });
    if let Some(wrong) = &card_stack_wrong
        && !wrong.is_empty()
    {
        progress(&format!(
            "the card stack decided wrongly: {}",
            wrong.join("; ")
        ));
    }
    let cells = measure_all(&mut bench, options)?;
    let flood = flooded.then(|| {
        progress("flooding the replay store with distinct proofs");
        bench.flood(FLOOD.0, FLOOD.1)
    });

    memory.insert(
        1,
        ("after the runs, every listener".to_string(), rss(&envoy)),
    );
    let jwks = JwksFetches {
        idp_total: idp.jwks_requests() - jwks_before,
        by_cluster_after_startup,
        by_cluster_at_end: startup::jwks_fetches(&envoy, &clusters)?,
    };
    drop(envoy);
    let native_primitives = time_primitives_natively(options, &primitives_config)?;

    let run = Run {
        machine: &machine,
        options,
        module_bytes: file_size(&module),
        noop_module_bytes: file_size(&noop_module),
        card_stack_module_bytes: file_size(&card_stack_module),
        card_stack_wrong,
        native_primitives,
        load_average: (load_at_start, load_average()),
        token_bytes,
        priority,
        results: Results { cells: &cells },
        startup: &startup,
        jwks,
        memory,
        flood,
        elapsed: started.elapsed(),
    };
    let markdown = run.markdown();
    println!("{markdown}");
    if let Some(path) = &options.write {
        // A run of the algorithm and primitive workloads alone has a section of its own.
        let only_algorithms = options.workloads.iter().all(|w| {
            matches!(
                w,
                Workload::Signed(_) | Workload::Primitive(..) | Workload::Boundary
            )
        });
        // And a run of the sender-constrained workloads alone (the primitives beside them
        // measure the goal), another.
        let only_sender = options.workloads.iter().any(|w| w.is_sender())
            && options.workloads.iter().all(|w| {
                w.is_sender() || matches!(w, Workload::Primitive(..) | Workload::Boundary)
            });
        let section = if only_sender {
            report::SENDER
        } else if only_algorithms {
            report::ALGORITHMS
        } else {
            report::RESULTS
        };
        write_section(path, section, &markdown)?;
        progress(&format!("results written to {}", path.display()));
        // The charts beside the page, each only when its workloads ran.
        let charts = [
            (chart::ALGORITHMS_FILE, chart::algorithms(&run.results)),
            (chart::REPEATED_FILE, chart::repeated(&run.results)),
        ];
        for (name, svg) in charts {
            if let Some(svg) = svg {
                let out = path.with_file_name(name);
                std::fs::write(&out, svg?)
                    .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                progress(&format!("chart written to {}", out.display()));
            }
        }
    }
    Ok(())
}

/// Probes every listener with every workload, one unmeasured pass, then the rounds, each
/// round going through every listener so slow drift on the machine hits them all alike.
/// The two floods of distinct proofs, one after the other: the first fills the replay store
/// (65,536 proofs at a few thousand a second), the second shows it stays at its bound.
const FLOOD: (Duration, Duration) = (Duration::from_secs(25), Duration::from_secs(10));

fn measure_all(bench: &mut Bench, options: &Options) -> Result<Vec<Cell>, String> {
    let mut cells = Vec::new();
    for &workload in &options.workloads {
        for &listener in workload.listeners() {
            let probe = bench.probe(listener, workload);
            cells.push(Cell {
                listener,
                workload,
                probe,
                rounds: Vec::new(),
            });
        }
    }
    if options.warm_up_pass {
        progress("unmeasured pass over every listener and workload");
        for cell in &cells {
            bench.run(cell.listener, cell.workload, WARM_UP_PASS, options.warm_up)?;
        }
    }
    for round in 1..=options.rounds {
        for cell in &mut cells {
            let result = bench.run(
                cell.listener,
                cell.workload,
                options.duration,
                options.warm_up,
            )?;
            progress(&format!(
                "round {round}/{}: {:<15} {:<18} {:>8.0} req/s  Envoy {:>7.1} µs/req  {}",
                options.rounds,
                cell.workload.label(),
                cell.listener.label(),
                result.load.rps,
                result.cpu_us_per_request().unwrap_or(f64::NAN),
                result.load.status_summary(),
            ));
            cell.rounds.push(result);
        }
    }
    Ok(cells)
}

/// The card stack's answer to each case that is not the one it must give.
fn check_card_stack(port: u16, cases: &[card_stack::Case]) -> Vec<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    cases
        .iter()
        .filter_map(|case| {
            let status = devstack::http::get(addr, &case.path, &[]).map(|r| r.status);
            match status {
                Ok(status) if status == case.expected => None,
                other => Some(format!("{}: {other:?}, not {}", case.name, case.expected)),
            }
        })
        .collect()
}

/// µs per verification natively for every primitive workload chosen, on this thread pinned
/// to Envoy's CPU (after the runs, so nothing else of the bench runs there).
fn time_primitives_natively(
    options: &Options,
    configuration: &str,
) -> Result<BTreeMap<(primitives::Verifier, Algorithm), f64>, String> {
    let chosen: Vec<(primitives::Verifier, Algorithm)> = options
        .workloads
        .iter()
        .filter_map(|w| match w {
            Workload::Primitive(verifier, algorithm) => Some((*verifier, *algorithm)),
            _ => None,
        })
        .collect();
    if chosen.is_empty() {
        return Ok(BTreeMap::new());
    }
    progress("timing the primitives natively");
    let prepared = primitives::Primitives::from_json(configuration.as_bytes())?;
    if !procstat::pin_this_thread(&options.envoy_cpu) {
        progress("cannot pin the native timing's thread; timing it unpinned");
    }
    chosen
        .into_iter()
        .map(|(verifier, algorithm)| {
            primitive::time_natively(&prepared, verifier, algorithm)
                .map(|us| ((verifier, algorithm), us))
        })
        .collect()
}

/// `/proc/loadavg`'s three load averages, or why not.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |e| format!("unknown ({e})"),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
}

/// `count` fresh tokens of each algorithm.
fn mint_algorithm_tokens(
    keys: &Arc<algorithm::Keys>,
    claims: &serde_json::Value,
    algorithms: &[Algorithm],
    count: usize,
) -> Vec<(Algorithm, Vec<String>)> {
    if algorithms.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let minting = Instant::now();
    let signed: Vec<(Algorithm, Vec<String>)> = algorithms
        .iter()
        .map(|&a| (a, keys.mint_many(a, claims, count, threads)))
        .collect();
    progress(&format!(
        "minted {count} tokens for each of {} algorithm(s) in {:.1} s on {threads} thread(s)",
        algorithms.len(),
        minting.elapsed().as_secs_f64()
    ));
    signed
}

/// One repeated token, `count` fresh ones, and `count` with bad signatures.
fn mint_tokens(idp: &Idp, count: usize) -> (String, Vec<String>, Vec<String>) {
    let key = idp.current_key();
    let claims = idp.claims_for("demo-client", AUDIENCE, &["read:messages"]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let minting = Instant::now();
    let repeated = tokens::mint(&key, &claims, "repeated");
    let fresh = tokens::mint_many(&Arc::clone(&key), &claims, "fresh", count, threads);
    let junk: Vec<String> = fresh
        .iter()
        .enumerate()
        .map(|(i, donor)| tokens::with_bad_signature(&key, &claims, &format!("junk-{i}"), donor))
        .collect();
    progress(&format!(
        "minted {} tokens in {:.1} s on {threads} thread(s)",
        count + 1,
        minting.elapsed().as_secs_f64()
    ));
    (repeated, fresh, junk)
}

fn rss(envoy: &Envoy) -> Result<u64, String> {
    envoy
        .rss_kib()
        .ok_or_else(|| "cannot read Envoy's VmRSS".to_string())
}

/// `count` distinct free ports, all held at once while chosen.
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let held = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| format!("cannot find free ports: {e}"))?;
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| format!("cannot find free ports: {e}"))
}

fn existing_file(path: &Path, what: &str) -> Result<PathBuf, String> {
    path.canonicalize()
        .map_err(|e| format!("{what}: {}: {e}", path.display()))
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn require_tool(name: &str, version_flag: &str, package: &str) -> Result<(), String> {
    Command::new(name)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(drop)
        .map_err(|e| {
            format!("cannot run {name} ({e}): install Debian's {package}, or run `make bench`")
        })
}

fn write_section(path: &Path, section: report::Section, markdown: &str) -> Result<(), String> {
    let document = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, report::replace_section(&document, section, markdown))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn progress(message: &str) {
    eprintln!("bench: {message}");
}

/// A scratch directory for h2load's URI files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let path = std::env::temp_dir().join(format!("jwt-authz-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
