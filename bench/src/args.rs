//! Command-line options of the bench driver.

use std::path::PathBuf;
use std::time::Duration;

use crate::workload::Workload;

pub const USAGE: &str = "\
usage: bench [options]
  --module PATH        jwt-authz module (default: dist/jwt_authz.wasm, or JWT_AUTHZ_WASM)
  --noop-module PATH   no-op filter module (default: dist/noop_filter.wasm, as `make bench` builds it)
  --card-stack-module PATH  the card stack's filter (default: dist/card_stack.wasm)
  --primitives-module PATH  the primitives filter (default: dist/primitives.wasm)
  --write FILE         also put the results in FILE's results section (e.g. docs/src/benchmarks.md)
  --rounds N           measured rounds per listener and workload (default 5)
  --duration SECS      measured seconds per round (default 3)
  --warm-up MS         unmeasured milliseconds before each round (default 500)
  --connections N      HTTP/2 connections, one h2load process each (default 2)
  --streams N          concurrent HTTP/2 streams on each connection (default 64)
  --tokens N           distinct fresh tokens, and as many bad-signature ones (default 20000)
  --algorithm-tokens N distinct fresh tokens per algorithm workload (default 1000; neither
                       filter caches there)
  --workloads LIST     comma-separated subset of: repeated, repeated-query, fresh, junk, none,
                       rs256, rs384, rs512, ps256, ps384, ps512, es256, es384, es512, eddsa,
                       hs256, grpc, primitives, dpop-bearer, dpop, mtls-bearer,
                       certificate-bound; `classic` names repeated to none and grpc,
                       `algorithms` rs256 to hs256, `primitives` each signature alone in the
                       primitives filter, `sender` the last four, DPoP and mTLS-bound tokens,
                       sent by a driver of its own over HTTP/1.1 (default: all)
  --envoy-cpu LIST     CPUs for Envoy, taskset form (default 0)
  --load-cpu LIST      CPUs for h2load, taskset form (default 1)
  --nice N             niceness for Envoy and h2load, against other work on the machine
                       (default -10; 0 leaves it; needs root or CAP_SYS_NICE, else ignored)
  --quick              1 round of 1 s, 2000 tokens, no warm-up pass: checks the setup only";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub module: PathBuf,
    pub noop_module: PathBuf,
    pub card_stack_module: PathBuf,
    pub primitives_module: PathBuf,
    pub write: Option<PathBuf>,
    pub rounds: usize,
    pub duration: Duration,
    pub warm_up: Duration,
    pub connections: usize,
    pub streams: u32,
    pub tokens: usize,
    /// Distinct fresh tokens per algorithm workload.
    pub algorithm_tokens: usize,
    pub envoy_cpu: String,
    pub load_cpu: String,
    /// Niceness of Envoy and h2load (0: unchanged).
    pub nice: i32,
    /// Run every listener and workload once, unmeasured, before the measured rounds.
    pub warm_up_pass: bool,
    /// The workloads to measure, in the report's order.
    pub workloads: Vec<Workload>,
}

impl Default for Options {
    fn default() -> Self {
        let root = devstack::workspace_root();
        Options {
            module: devstack::module_path(),
            noop_module: root.join("dist").join("noop_filter.wasm"),
            card_stack_module: root.join("dist").join("card_stack.wasm"),
            primitives_module: root.join("dist").join("primitives.wasm"),
            write: None,
            rounds: 5,
            duration: Duration::from_secs(3),
            warm_up: Duration::from_millis(500),
            connections: 2,
            streams: 64,
            tokens: 20_000,
            algorithm_tokens: 1_000,
            envoy_cpu: "0".to_string(),
            load_cpu: "1".to_string(),
            nice: -10,
            warm_up_pass: true,
            workloads: Workload::all(),
        }
    }
}

impl Options {
    /// Parses the arguments after the program name; `Err` carries the message to print.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--quick" {
                options.rounds = 1;
                options.duration = Duration::from_secs(1);
                options.tokens = 2_000;
                options.algorithm_tokens = 200;
                options.warm_up_pass = false;
                continue;
            }
            if arg == "--help" || arg == "-h" {
                return Err(USAGE.to_string());
            }
            let mut value = || {
                args.next()
                    .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--module" => options.module = PathBuf::from(value()?),
                "--noop-module" => options.noop_module = PathBuf::from(value()?),
                "--card-stack-module" => options.card_stack_module = PathBuf::from(value()?),
                "--primitives-module" => options.primitives_module = PathBuf::from(value()?),
                "--write" => options.write = Some(PathBuf::from(value()?)),
                "--rounds" => options.rounds = positive(&arg, &value()?)?,
                "--duration" => {
                    options.duration = Duration::from_secs(positive(&arg, &value()?)? as u64)
                }
                "--warm-up" => {
                    options.warm_up = Duration::from_millis(number(&arg, &value()?)? as u64)
                }
                "--connections" => options.connections = positive(&arg, &value()?)?,
                "--streams" => options.streams = positive(&arg, &value()?)? as u32,
                "--tokens" => options.tokens = positive(&arg, &value()?)?,
                "--algorithm-tokens" => options.algorithm_tokens = positive(&arg, &value()?)?,
                "--workloads" => options.workloads = workloads(&value()?)?,
                "--envoy-cpu" => options.envoy_cpu = value()?,
                "--load-cpu" => options.load_cpu = value()?,
                "--nice" => {
                    let text = value()?;
                    options.nice = match text.parse() {
                        Ok(n) if (-20..=19).contains(&n) => n,
                        _ => return Err(format!("--nice wants -20 to 19, not `{text}`")),
                    }
                }
                _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// A comma-separated list of workload names (or the groups `classic` and `algorithms`),
/// kept in the report's order.
fn workloads(list: &str) -> Result<Vec<Workload>, String> {
    let all = Workload::all();
    let mut chosen = Vec::new();
    for name in list.split(',').map(str::trim) {
        match name {
            "classic" => chosen.extend(Workload::CLASSIC),
            "primitives" => chosen.extend(Workload::primitives()),
            "sender" => chosen.extend(Workload::SENDER),
            "algorithms" => chosen.extend(all.iter().filter(|w| matches!(w, Workload::Signed(_)))),
            _ => {
                let workload = all.iter().find(|w| w.name() == name).ok_or_else(|| {
                    let names: Vec<&str> = all.iter().map(|w| w.name()).collect();
                    format!(
                        "--workloads: unknown `{name}` (known: {}, classic, algorithms, sender)",
                        names.join(", ")
                    )
                })?;
                chosen.push(*workload);
            }
        }
    }
    Ok(all.into_iter().filter(|w| chosen.contains(w)).collect())
}

fn number(arg: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{arg} wants a number, not `{value}`"))
}

fn positive(arg: &str, value: &str) -> Result<usize, String> {
    match number(arg, value)? {
        0 => Err(format!("{arg} must be at least 1")),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_measure_five_rounds_of_three_seconds() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.rounds, 5);
        assert_eq!(options.duration, Duration::from_secs(3));
        assert_eq!(
            (options.envoy_cpu.as_str(), options.load_cpu.as_str()),
            ("0", "1")
        );
        assert!(options.noop_module.ends_with("dist/noop_filter.wasm"));
        assert!(options.write.is_none());
        assert_eq!(options.workloads, Workload::all());
        assert_eq!(options.algorithm_tokens, 1_000);
    }

    #[test]
    fn workloads_are_chosen_by_name_in_report_order() {
        let options = parse(&["--workloads", "none,repeated"]).unwrap();
        assert_eq!(options.workloads, [Workload::Repeated, Workload::NoToken]);
        let error = parse(&["--workloads", "repeated,cached"]).unwrap_err();
        assert!(error.contains("unknown `cached`"), "{error}");
        assert!(
            error.contains("repeated, repeated-query, fresh, junk, none, grpc, rs256"),
            "{error}"
        );
    }

    #[test]
    fn algorithm_workloads_are_chosen_by_name_or_all_at_once() {
        use crate::algorithm::Algorithm;
        let options = parse(&["--workloads", "es384,fresh"]).unwrap();
        assert_eq!(
            options.workloads,
            [Workload::Fresh, Workload::Signed(Algorithm::Es384)]
        );
        let options = parse(&["--workloads", "algorithms"]).unwrap();
        assert_eq!(
            options.workloads,
            Algorithm::ALL.map(Workload::Signed).to_vec()
        );
        let options = parse(&["--workloads", "classic,hs256"]).unwrap();
        assert_eq!(options.workloads.len(), 7);
        assert_eq!(options.workloads[6], Workload::Signed(Algorithm::Hs256));
    }

    #[test]
    fn every_option_is_read() {
        let args = "--module m.wasm --noop-module n.wasm --write B.md --rounds 3 --duration 2 \
                    --warm-up 0 --connections 3 --streams 8 --tokens 500 --algorithm-tokens 300 --envoy-cpu 2 \
                    --load-cpu 3 --nice 0";
        let options = parse(&args.split_whitespace().collect::<Vec<_>>()).unwrap();
        assert_eq!(options.module, PathBuf::from("m.wasm"));
        assert_eq!(options.noop_module, PathBuf::from("n.wasm"));
        assert_eq!(options.write, Some(PathBuf::from("B.md")));
        assert_eq!(options.rounds, 3);
        assert_eq!(options.duration, Duration::from_secs(2));
        assert_eq!(options.warm_up, Duration::ZERO);
        assert_eq!(options.connections, 3);
        assert_eq!(options.streams, 8);
        assert_eq!(options.tokens, 500);
        assert_eq!(options.algorithm_tokens, 300);
        assert_eq!(options.envoy_cpu, "2");
        assert_eq!(options.load_cpu, "3");
        assert_eq!(options.nice, 0);
    }

    #[test]
    fn quick_shrinks_the_run() {
        let options = parse(&["--quick"]).unwrap();
        assert_eq!(options.rounds, 1);
        assert!(!options.warm_up_pass);
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse(&["--rounds"]).unwrap_err().contains("needs a value"));
        assert!(
            parse(&["--rounds", "0"])
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(parse(&["--rounds", "x"]).unwrap_err().contains("a number"));
        assert!(
            parse(&["--frobnicate"])
                .unwrap_err()
                .contains("unknown argument")
        );
        assert!(parse(&["--help"]).unwrap_err().starts_with("usage:"));
    }
}
