//! Runs h2load (pinned with taskset) and reads its summary.
//!
//! Each h2load process opens one HTTP/2 connection with many concurrent streams: h2load walks
//! its `-i` URI list in order for each client, so with one client every URI is sent once per
//! pass, in order, and a list of distinct tokens really is a distinct token per request
//! (several clients in one process would each start at the top of the list and send every
//! token several times in quick succession). Several processes, each with its own list,
//! give several connections, which keeps Envoy busy while it waits on any one of them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How h2load is run for one measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// The CPU list h2load is pinned to (`taskset -c`).
    pub cpu_list: String,
    /// Niceness (`nice -n`); 0 runs h2load as it is.
    pub nice: i32,
    /// Concurrent streams on each connection (`-m`).
    pub streams: u32,
    /// Measured time (`-D`).
    pub duration: Duration,
    /// Unmeasured time before it (`--warm-up-time`).
    pub warm_up: Duration,
}

/// Where one connection's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The same URI on every request.
    Uri(String),
    /// The same URI on every request, with `Authorization: Bearer TOKEN`.
    Bearer { uri: String, token: String },
    /// h2load's `-i`: a file of URIs, one per line, used in order and then from the top.
    UriFile(PathBuf),
    /// A gRPC unary call on every request: `POST` of the framed message in `body` with
    /// `content-type: application/grpc` and `Authorization: Bearer TOKEN`.
    Grpc {
        uri: String,
        token: String,
        body: PathBuf,
    },
}

impl LoadSpec {
    /// The command line for one connection: `taskset -c CPUS [nice -n N] h2load ...`.
    pub fn args(&self, target: &Target) -> Vec<String> {
        let mut args = vec!["-c".to_string(), self.cpu_list.clone()];
        if self.nice != 0 {
            // Without the privilege nice says so on stderr and runs h2load all the same.
            args.extend(["nice".to_string(), "-n".to_string(), self.nice.to_string()]);
        }
        args.extend([
            "h2load".to_string(),
            "--clients=1".to_string(),
            "--threads=1".to_string(),
            format!("--max-concurrent-streams={}", self.streams),
            format!("--duration={}ms", self.duration.as_millis()),
            format!("--warm-up-time={}ms", self.warm_up.as_millis()),
        ]);
        match target {
            Target::Uri(uri) => args.push(uri.clone()),
            Target::Bearer { uri, token } => {
                args.push(format!("--header=authorization: Bearer {token}"));
                args.push(uri.clone());
            }
            Target::UriFile(path) => args.push(format!("--input-file={}", path.display())),
            Target::Grpc { uri, token, body } => {
                args.extend([
                    format!("--data={}", body.display()),
                    "--header=content-type: application/grpc".to_string(),
                    "--header=te: trailers".to_string(),
                    format!("--header=authorization: Bearer {token}"),
                    uri.clone(),
                ]);
            }
        }
        args
    }

    /// Runs one h2load per target at once and adds up their summaries; an error carries
    /// h2load's output.
    pub fn run(&self, targets: &[Target]) -> Result<LoadResult, String> {
        let children: Vec<Child> = targets
            .iter()
            .map(|target| {
                Command::new("taskset")
                    .args(self.args(target))
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| {
                        format!("cannot run taskset/h2load (`make bench` installs them): {e}")
                    })
            })
            .collect::<Result<_, _>>()?;
        let mut results = Vec::new();
        for child in children {
            let output = child
                .wait_with_output()
                .map_err(|e| format!("lost h2load: {e}"))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() {
                return Err(format!(
                    "h2load failed ({}):\n{stdout}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            results
                .push(parse_h2load(&stdout).map_err(|e| format!("{e}; h2load said:\n{stdout}"))?);
        }
        LoadResult::sum(&results).ok_or_else(|| "no h2load was run".to_string())
    }
}

/// h2load's summary of one run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadResult {
    /// Completed requests per second over the measured time, whatever their status.
    pub rps: f64,
    pub total: u64,
    pub done: u64,
    pub errored: u64,
    pub timeout: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
}

impl LoadResult {
    /// The connections together: rates and counts added up.
    pub fn sum(results: &[LoadResult]) -> Option<LoadResult> {
        let first = *results.first()?;
        Some(results[1..].iter().fold(first, |a, b| LoadResult {
            rps: a.rps + b.rps,
            total: a.total + b.total,
            done: a.done + b.done,
            errored: a.errored + b.errored,
            timeout: a.timeout + b.timeout,
            status_2xx: a.status_2xx + b.status_2xx,
            status_3xx: a.status_3xx + b.status_3xx,
            status_4xx: a.status_4xx + b.status_4xx,
            status_5xx: a.status_5xx + b.status_5xx,
        }))
    }

    /// "2xx 1234, 4xx 5" with the classes that occurred, plus errors and timeouts.
    pub fn status_summary(&self) -> String {
        let parts = [
            ("2xx", self.status_2xx),
            ("3xx", self.status_3xx),
            ("4xx", self.status_4xx),
            ("5xx", self.status_5xx),
            ("errored", self.errored),
            ("timeout", self.timeout),
        ];
        let shown: Vec<String> = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        if shown.is_empty() {
            "no responses".to_string()
        } else {
            shown.join(", ")
        }
    }

    /// Responses in `class` ("2xx" or "4xx").
    pub fn count_of(&self, class: &str) -> u64 {
        match class {
            "2xx" => self.status_2xx,
            "3xx" => self.status_3xx,
            "4xx" => self.status_4xx,
            "5xx" => self.status_5xx,
            _ => 0,
        }
    }
}

/// Reads the `finished in`, `requests:` and `status codes:` lines of h2load's output.
pub fn parse_h2load(output: &str) -> Result<LoadResult, String> {
    let line = |prefix: &str| {
        output
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .ok_or_else(|| format!("no `{prefix}` line in h2load's output"))
    };

    // finished in 4.00s, 37333.33 req/s, 1020.86KB/s
    let finished = line("finished in")?;
    let rps = finished
        .split(", ")
        .find_map(|part| part.strip_suffix(" req/s"))
        .ok_or_else(|| format!("no req/s in `{finished}`"))?;
    let rps: f64 = rps
        .trim()
        .parse()
        .map_err(|e| format!("bad req/s `{rps}`: {e}"))?;

    // requests: 112000 total, 112000 started, 112000 done, 112000 succeeded, 0 failed, 0 errored, 0 timeout
    let requests = counts(line("requests:")?, "requests:")?;
    // status codes: 112000 2xx, 0 3xx, 0 4xx, 0 5xx
    let statuses = counts(line("status codes:")?, "status codes:")?;
    let get = |counts: &[(String, u64)], name: &str| {
        counts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("h2load reported no `{name}` count"))
    };
    Ok(LoadResult {
        rps,
        total: get(&requests, "total")?,
        done: get(&requests, "done")?,
        errored: get(&requests, "errored")?,
        timeout: get(&requests, "timeout")?,
        status_2xx: get(&statuses, "2xx")?,
        status_3xx: get(&statuses, "3xx")?,
        status_4xx: get(&statuses, "4xx")?,
        status_5xx: get(&statuses, "5xx")?,
    })
}

/// `prefix N name, N name, ...` as (name, N) pairs.
fn counts(line: &str, prefix: &str) -> Result<Vec<(String, u64)>, String> {
    line.trim_start_matches(prefix)
        .split(',')
        .map(|part| {
            let (n, name) = part
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("cannot read `{part}` in `{line}`"))?;
            let n = n
                .parse()
                .map_err(|e| format!("bad count `{n}` in `{line}`: {e}"))?;
            Ok((name.trim().to_string(), n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "starting benchmark...
spawning thread #0: 1 total client(s). Timing-based test with 1s of warm-up time and 3s of main duration for measurements.
Warm-up started for thread #0.
progress: 10% done
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 4.00s, 34048.00 req/s, 1.36MB/s
requests: 102144 total, 102176 started, 102144 done, 0 succeeded, 102144 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 102140 4xx, 4 5xx
traffic: 4.09MB (4290117) total, 1.30MB (1358560) headers (space savings 93.15%), 1.81MB (1901760) data
                     min         max         mean         sd        +/- sd
time for request:      554us      8.26ms       923us      1.01ms    90.86%
req/s           :   34038.99    34038.99    34038.99        0.00   100.00%
";

    #[test]
    fn reads_rate_counts_and_status_classes() {
        let result = parse_h2load(OUTPUT).unwrap();
        assert_eq!(
            result,
            LoadResult {
                rps: 34048.0,
                total: 102144,
                done: 102144,
                errored: 0,
                timeout: 0,
                status_2xx: 0,
                status_3xx: 0,
                status_4xx: 102140,
                status_5xx: 4,
            }
        );
        assert_eq!(result.status_summary(), "4xx 102140, 5xx 4");
        assert_eq!(result.count_of("4xx"), 102140);
    }

    #[test]
    fn a_truncated_output_is_an_error() {
        let cut = OUTPUT.split("status codes").next().unwrap();
        let error = parse_h2load(cut).unwrap_err();
        assert!(error.contains("status codes:"), "{error}");
        assert!(parse_h2load("finished in 1s, lots req/s\n").is_err());
        assert!(parse_h2load("").is_err());
    }

    #[test]
    fn a_run_without_responses_says_so() {
        let output = "finished in 3.00s, 0.00 req/s, 0B/s\n\
                      requests: 0 total, 1 started, 0 done, 0 succeeded, 0 failed, 1 errored, 0 timeout\n\
                      status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx\n";
        let result = parse_h2load(output).unwrap();
        assert_eq!(result.status_summary(), "errored 1");
        assert_eq!(result.rps, 0.0);
    }

    #[test]
    fn connections_add_up() {
        let one = parse_h2load(OUTPUT).unwrap();
        let mut other = one;
        other.rps = 1000.0;
        other.status_2xx = 7;
        other.done += 7;
        let both = LoadResult::sum(&[one, other]).unwrap();
        assert_eq!(both.rps, 35048.0);
        assert_eq!(both.done, 2 * 102144 + 7);
        assert_eq!(both.status_2xx, 7);
        assert_eq!(both.status_4xx, 2 * 102140);
        assert_eq!(LoadResult::sum(&[one]), Some(one));
        assert_eq!(LoadResult::sum(&[]), None);
    }

    #[test]
    fn one_pinned_client_with_many_streams() {
        let mut spec = LoadSpec {
            cpu_list: "1".to_string(),
            nice: 0,
            streams: 32,
            duration: Duration::from_secs(3),
            warm_up: Duration::from_millis(500),
        };
        assert_eq!(
            spec.args(&Target::UriFile(PathBuf::from("/tmp/uris")))
                .join(" "),
            "-c 1 h2load --clients=1 --threads=1 --max-concurrent-streams=32 \
             --duration=3000ms --warm-up-time=500ms --input-file=/tmp/uris"
        );
        spec.nice = -10;
        assert_eq!(
            spec.args(&Target::Uri("http://127.0.0.1:1/".to_string()))
                .join(" "),
            "-c 1 nice -n -10 h2load --clients=1 --threads=1 --max-concurrent-streams=32 \
             --duration=3000ms --warm-up-time=500ms http://127.0.0.1:1/"
        );
        let bearer = Target::Bearer {
            uri: "http://127.0.0.1:1/".to_string(),
            token: "a.b.c".to_string(),
        };
        let args = spec.args(&bearer);
        assert_eq!(
            args[args.len() - 2..],
            [
                "--header=authorization: Bearer a.b.c",
                "http://127.0.0.1:1/"
            ]
        );
        let grpc = Target::Grpc {
            uri: "http://127.0.0.1:1/".to_string(),
            token: "a.b.c".to_string(),
            body: PathBuf::from("/tmp/call.bin"),
        };
        let args = spec.args(&grpc);
        assert_eq!(
            args[args.len() - 5..],
            [
                "--data=/tmp/call.bin",
                "--header=content-type: application/grpc",
                "--header=te: trailers",
                "--header=authorization: Bearer a.b.c",
                "http://127.0.0.1:1/"
            ]
        );
    }
}
