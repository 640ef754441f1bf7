//! Medians, added cost per request, ratios to native, and the markdown they are shown in.

use std::fmt::Write as _;
use std::time::Duration;

use std::collections::BTreeMap;

use primitives::Verifier;

use crate::algorithm::Algorithm;
use crate::envoy_config::Listener;
use crate::load::LoadResult;
use crate::workload::Workload;

/// Below this many added microseconds per request the native filter's cost is noise, and a
/// ratio to it would be meaningless.
const MIN_COMPARABLE_US: f64 = 0.5;

/// One h2load run on one listener.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Round {
    pub load: LoadResult,
    /// Envoy's CPU time over the run (all threads).
    pub envoy_cpu: Duration,
    /// Requests Envoy's listener counted over the run, warm-up included.
    pub envoy_requests: u64,
    /// Wall-clock time of the run.
    pub wall: Duration,
}

impl Round {
    /// Envoy CPU microseconds per request.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        (self.envoy_requests > 0)
            .then(|| self.envoy_cpu.as_secs_f64() * 1e6 / self.envoy_requests as f64)
    }

    /// Share of one CPU Envoy used during the run: near 1.0 when the load saturated it.
    pub fn busy(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            self.envoy_cpu.as_secs_f64() / wall
        } else {
            0.0
        }
    }
}

/// All runs of one workload on one listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub listener: Listener,
    pub workload: Workload,
    /// The status of one request sent before the runs; `Err` if none came.
    pub probe: Result<u16, String>,
    pub rounds: Vec<Round>,
}

impl Cell {
    pub fn median_rps(&self) -> Option<f64> {
        median(self.rounds.iter().map(|r| r.load.rps).collect())
    }

    pub fn rps_range(&self) -> Option<(f64, f64)> {
        let rps = self.rounds.iter().map(|r| r.load.rps);
        let min = rps.clone().reduce(f64::min)?;
        Some((min, rps.reduce(f64::max)?))
    }

    pub fn median_cpu_us(&self) -> Option<f64> {
        median(
            self.rounds
                .iter()
                .filter_map(Round::cpu_us_per_request)
                .collect(),
        )
    }

    pub fn median_busy(&self) -> Option<f64> {
        median(self.rounds.iter().map(Round::busy).collect())
    }

    /// `None` when every response was what this listener must answer this workload;
    /// otherwise what went wrong.
    pub fn problem(&self) -> Option<String> {
        let expected = self.workload.expected_status(self.listener);
        let class = self.workload.expected_class(self.listener).label();
        let mut problems = Vec::new();
        match &self.probe {
            Ok(status) if *status == expected => {}
            Ok(status) => problems.push(format!("probe got {status}")),
            Err(e) => problems.push(format!("probe failed: {e}")),
        }
        for (i, round) in self.rounds.iter().enumerate() {
            let load = &round.load;
            let as_expected = load.done > 0
                && load.count_of(class) == load.done
                && load.errored == 0
                && load.timeout == 0;
            if !as_expected {
                problems.push(format!("round {}: {}", i + 1, load.status_summary()));
            }
        }
        if self.rounds.is_empty() {
            problems.push("not measured".to_string());
        }
        (!problems.is_empty()).then(|| format!("expected {expected}: {}", problems.join("; ")))
    }
}

/// What a DPoP request may cost over the Bearer request with the same cached token, beyond
/// one ES256 verification (issue 14).
pub const DPOP_GOAL_EXTRA_US: f64 = 10.0;

/// The middle value (the mean of the two middle ones for an even count); `None` if empty.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Microseconds per request a listener adds over the baseline: with one worker on one core,
/// the CPU it adds per request.
pub fn added_us(rps: f64, baseline_rps: f64) -> Option<f64> {
    (rps > 0.0 && baseline_rps > 0.0).then(|| 1e6 / rps - 1e6 / baseline_rps)
}

/// `ours / native`, when native's added cost is large enough to divide by.
pub fn ratio(ours: f64, native: f64) -> Option<f64> {
    (native >= MIN_COMPARABLE_US).then(|| ours / native)
}

/// The measurements of one benchmark run.
pub struct Results<'a> {
    pub cells: &'a [Cell],
}

impl Results<'_> {
    pub fn cell(&self, listener: Listener, workload: Workload) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.listener == listener && c.workload == workload)
    }

    /// Added µs per request over the no-filter listener, from the median rates.
    pub fn added_us(&self, listener: Listener, workload: Workload) -> Option<f64> {
        let rps = self.cell(listener, workload)?.median_rps()?;
        let baseline = self.cell(Listener::NoFilter, workload)?.median_rps()?;
        added_us(rps, baseline)
    }

    /// Added Envoy CPU µs per request over the no-filter listener.
    pub fn added_cpu_us(&self, listener: Listener, workload: Workload) -> Option<f64> {
        let cpu = self.cell(listener, workload)?.median_cpu_us()?;
        let baseline = self.cell(Listener::NoFilter, workload)?.median_cpu_us()?;
        Some(cpu - baseline)
    }

    /// Every listener on every workload.
    pub fn detail_table(&self) -> String {
        let mut out = String::from(
            "| workload | listener | req/s (median) | req/s (min–max) | added µs/req | \
             Envoy CPU µs/req | added CPU µs/req | Envoy busy | responses |\n\
             |---|---|--:|--:|--:|--:|--:|--:|---|\n",
        );
        for cell in self.cells {
            let (listener, workload) = (cell.listener, cell.workload);
            let range = cell
                .rps_range()
                .map_or("–".to_string(), |(lo, hi)| format!("{lo:.0}–{hi:.0}"));
            let responses = match cell.problem() {
                None => format!(
                    "ok ({})",
                    match workload.expected_status(listener) {
                        200 => "all 2xx".to_string(),
                        status => format!("{status}, all 4xx"),
                    }
                ),
                Some(problem) => format!("**FLAGGED**: {problem}"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {range} | {} | {} | {} | {} | {responses} |",
                workload.label(),
                listener.label(),
                number(cell.median_rps(), 0),
                baseline_or(listener, self.added_us(listener, workload)),
                number(cell.median_cpu_us(), 1),
                baseline_or(listener, self.added_cpu_us(listener, workload)),
                cell.median_busy()
                    .map_or("–".to_string(), |b| format!("{:.0}%", b * 100.0)),
            );
        }
        out
    }

    /// jwt-authz against native jwt_authn and the no-op Wasm filter, per workload.
    pub fn summary_table(&self) -> String {
        let mut out = String::from(
            "| workload | jwt-authz added µs/req | native peer | native added µs/req | \
             jwt-authz / native | same, by Envoy CPU | no-op wasm added µs/req | \
             wasm host calls added µs/req | flagged |\n\
             |---|--:|---|--:|--:|--:|--:|--:|---|\n",
        );
        let measured = Workload::CLASSIC
            .into_iter()
            .filter(|&w| self.cells.iter().any(|c| c.workload == w));
        for workload in measured {
            let peer = workload.native_peer();
            let ours = self.added_us(Listener::Ours, workload);
            let native = self.added_us(peer, workload);
            let by_rps = ours.zip(native).and_then(|(o, n)| ratio(o, n));
            let by_cpu = self
                .added_cpu_us(Listener::Ours, workload)
                .zip(self.added_cpu_us(peer, workload))
                .and_then(|(o, n)| ratio(o, n));
            let flagged: Vec<&str> = workload
                .listeners()
                .iter()
                .filter(|&&l| self.cell(l, workload).is_none_or(|c| c.problem().is_some()))
                .map(|l| l.label())
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                workload.label(),
                number(ours, 1),
                peer.label(),
                number(native, 1),
                times(by_rps),
                times(by_cpu),
                number(self.added_us(Listener::Noop, workload), 1),
                // Its calls are those of a request let through: no peer for a refusal.
                if workload.expected_status(Listener::Ours) == 200 {
                    number(self.added_us(Listener::HostCalls, workload), 1)
                } else {
                    "–".to_string()
                },
                if flagged.is_empty() {
                    "none".to_string()
                } else {
                    flagged.join(", ")
                },
            );
        }
        out
    }
}

impl Results<'_> {
    /// Whether any algorithm workload was measured.
    pub fn has_algorithms(&self) -> bool {
        self.cells
            .iter()
            .any(|c| matches!(c.workload, Workload::Signed(_)))
    }

    /// jwt-authz and the card stack against native jwt_authn without cache on a fresh token
    /// of each algorithm, with jwt-authz's goal for each, met or not by the ratio of added
    /// Envoy CPU.
    pub fn algorithms_table(&self) -> String {
        let mut out = String::from(
            "| algorithm | native added µs/req | jwt-authz added µs/req | jwt-authz / native | \
             same, by Envoy CPU | goal | met | card stack added µs/req | card stack / native, \
             by Envoy CPU | card stack / jwt-authz, by Envoy CPU | flagged |\n\
             |---|--:|--:|--:|--:|--:|---|--:|--:|--:|---|\n",
        );
        for algorithm in Algorithm::ALL {
            let workload = Workload::Signed(algorithm);
            if !self.cells.iter().any(|c| c.workload == workload) {
                continue;
            }
            let ours = self.added_us(Listener::OursAlgorithms, workload);
            let native = self.added_us(Listener::NativeAlgorithms, workload);
            let by_rps = ours.zip(native).and_then(|(o, n)| ratio(o, n));
            let cpu = |listener| self.added_cpu_us(listener, workload);
            let by_cpu = cpu(Listener::OursAlgorithms)
                .zip(cpu(Listener::NativeAlgorithms))
                .and_then(|(o, n)| ratio(o, n));
            let card = cpu(Listener::CardStack);
            let card_to_native = card
                .zip(cpu(Listener::NativeAlgorithms))
                .and_then(|(c, n)| ratio(c, n));
            let card_to_ours = card
                .zip(cpu(Listener::OursAlgorithms))
                .and_then(|(c, o)| ratio(c, o));
            let flagged: Vec<&str> = workload
                .listeners()
                .iter()
                .filter(|&&l| self.cell(l, workload).is_none_or(|c| c.problem().is_some()))
                .map(|l| l.label())
                .collect();
            let goal = algorithm.goal();
            // Judged by Envoy CPU, which other work on the machine does not skew.
            let met = match by_cpu {
                Some(r) if flagged.is_empty() => {
                    if r <= goal {
                        "yes"
                    } else {
                        "no"
                    }
                }
                _ => "–",
            };
            let (card_us, card_to_native, card_to_ours) = if algorithm.in_card_stack() {
                (
                    number(self.added_us(Listener::CardStack, workload), 1),
                    times(card_to_native),
                    times(card_to_ours),
                )
            } else {
                let absent = "(not in jsonwebtoken)".to_string();
                (absent, "–".to_string(), "–".to_string())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | ≤ {goal:.1}× | {met} | {card_us} | {card_to_native} | \
                 {card_to_ours} | {} |",
                algorithm.name(),
                number(native, 1),
                number(ours, 1),
                times(by_rps),
                times(by_cpu),
                if flagged.is_empty() {
                    "none".to_string()
                } else {
                    flagged.join(", ")
                },
            );
        }
        out
    }

    /// Whether any primitive workload was measured.
    pub fn has_primitives(&self) -> bool {
        self.cells
            .iter()
            .any(|c| matches!(c.workload, Workload::Primitive(..)))
    }

    /// Envoy CPU µs per verification in V8: the primitives filter's CPU per request on the
    /// signature's path less that on the path that verifies nothing.
    pub fn in_v8_us(&self, verifier: Verifier, algorithm: Algorithm) -> Option<f64> {
        let cell = self.cell(
            Listener::Primitives,
            Workload::Primitive(verifier, algorithm),
        )?;
        if cell.problem().is_some() {
            return None;
        }
        let boundary = self.cell(Listener::Primitives, Workload::Boundary)?;
        Some(cell.median_cpu_us()? - boundary.median_cpu_us()?)
    }

    /// Whether any sender-constrained workload was measured.
    pub fn has_sender(&self) -> bool {
        self.cells.iter().any(|c| c.workload.is_sender())
    }

    /// Each bound workload against the Bearer request with the same cached token on the same
    /// listener, by Envoy CPU; the DPoP one against its goal, one fresh ES256 verification
    /// (the primitives filter's, when measured) plus 10 µs.
    pub fn sender_table(&self) -> String {
        let mut out = String::from(
            "| workload | listener | req/s (median) | Envoy CPU µs/req | added over Bearer, same token | goal | met |\n\
             |---|---|--:|--:|--:|---|---|\n",
        );
        let es256 = self.in_v8_us(Verifier::JwtAuthz, Algorithm::Es256);
        for cell in self.cells.iter().filter(|c| c.workload.is_sender()) {
            let added = cell.workload.bearer_peer().and_then(|peer| {
                let bearer = self.cell(cell.listener, peer)?;
                if bearer.problem().is_some() || cell.problem().is_some() {
                    return None;
                }
                Some(cell.median_cpu_us()? - bearer.median_cpu_us()?)
            });
            let (goal, met) = match (cell.workload, es256) {
                (Workload::Dpop, Some(es256)) => (
                    format!(
                        "≤ {:.1} (ES256 alone {es256:.1} + {DPOP_GOAL_EXTRA_US:.0})",
                        es256 + DPOP_GOAL_EXTRA_US
                    ),
                    added.map_or("–", |a| {
                        if a <= es256 + DPOP_GOAL_EXTRA_US {
                            "yes"
                        } else {
                            "no"
                        }
                    }),
                ),
                (Workload::Dpop, None) => (
                    "one ES256 verification + 10 (run the `primitives` workloads to measure it)"
                        .to_string(),
                    "–",
                ),
                _ => ("–".to_string(), "–"),
            };
            let added = match cell.problem() {
                Some(problem) => format!("**FLAGGED**: {problem}"),
                None if cell.workload.bearer_peer().is_none() => "Bearer".to_string(),
                None => number(added, 1),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {added} | {goal} | {met} |",
                cell.workload.label(),
                cell.listener.label(),
                number(cell.median_rps(), 0),
                number(cell.median_cpu_us(), 1),
            );
        }
        out
    }

    /// Each signature alone: µs per verification in V8 and natively (`native`, by verifier
    /// and algorithm), per implementation, their ratio, beside native jwt_authn's whole cost.
    pub fn primitives_table(&self, native: &BTreeMap<(Verifier, Algorithm), f64>) -> String {
        let mut out = String::from(
            "| algorithm | jwt_authn added CPU µs/req (whole filter) | jwt-authz in V8 µs | \
             jwt-authz native µs | V8 / native | jsonwebtoken in V8 µs | jsonwebtoken native µs | \
             V8 / native | jsonwebtoken / jwt-authz in V8 |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        let boundary = self
            .cell(Listener::Primitives, Workload::Boundary)
            .and_then(Cell::median_cpu_us);
        for algorithm in Algorithm::ALL {
            let measured = Verifier::ALL.into_iter().any(|v| {
                self.cell(Listener::Primitives, Workload::Primitive(v, algorithm))
                    .is_some()
            });
            if !measured {
                continue;
            }
            let v8 = |v| self.in_v8_us(v, algorithm);
            let here = |v| native.get(&(v, algorithm)).copied();
            let over = |a: Option<f64>, b: Option<f64>| {
                a.zip(b).and_then(|(a, b)| (b > 0.0).then(|| a / b))
            };
            let implemented = crate::primitive::implements(Verifier::Jsonwebtoken, algorithm);
            let theirs = |text: String| {
                if implemented { text } else { "–".to_string() }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                algorithm.name(),
                number(
                    self.added_cpu_us(Listener::NativeAlgorithms, Workload::Signed(algorithm)),
                    1
                ),
                number(v8(Verifier::JwtAuthz), 1),
                number(here(Verifier::JwtAuthz), 1),
                times(over(v8(Verifier::JwtAuthz), here(Verifier::JwtAuthz))),
                theirs(number(v8(Verifier::Jsonwebtoken), 1)),
                theirs(number(here(Verifier::Jsonwebtoken), 1)),
                theirs(times(over(
                    v8(Verifier::Jsonwebtoken),
                    here(Verifier::Jsonwebtoken)
                ))),
                theirs(times(over(
                    v8(Verifier::Jsonwebtoken),
                    v8(Verifier::JwtAuthz)
                ))),
            );
        }
        let _ = writeln!(
            out,
            "\nThe boundary (the primitives filter verifying nothing): {} Envoy CPU µs per \
             request, subtracted from each V8 figure.",
            number(boundary, 1)
        );
        out
    }
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.decimals$}"))
}

fn times(value: Option<f64>) -> String {
    value.map_or("n/a".to_string(), |v| format!("{v:.1}×"))
}

/// The no-filter listener is the baseline itself.
fn baseline_or(listener: Listener, value: Option<f64>) -> String {
    if listener == Listener::NoFilter {
        "(baseline)".to_string()
    } else {
        number(value, 1)
    }
}

/// A marked section of the book's page that a run rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub start: &'static str,
    pub end: &'static str,
}

/// Where a run goes: the results of the whole bench.
pub const RESULTS: Section = Section {
    start: "<!-- bench:results:start -->",
    end: "<!-- bench:results:end -->",
};

/// Where a run of the algorithm workloads alone goes, leaving the whole bench's results be.
pub const ALGORITHMS: Section = Section {
    start: "<!-- bench:algorithms:start -->",
    end: "<!-- bench:algorithms:end -->",
};

/// Where a run of the sender-constrained workloads (with the primitives, for the goal) goes.
pub const SENDER: Section = Section {
    start: "<!-- bench:sender:start -->",
    end: "<!-- bench:sender:end -->",
};

/// `document` with the text between `marks` replaced by `section`; the marks and `section`
/// are appended if the document has none.
pub fn replace_section(document: &str, marks: Section, section: &str) -> String {
    let (start_mark, end_mark) = (marks.start, marks.end);
    let block = format!("{start_mark}\n{}\n{end_mark}", section.trim_end());
    if let (Some(start), Some(end)) = (document.find(start_mark), document.find(end_mark))
        && start < end
    {
        return format!(
            "{}{block}{}",
            &document[..start],
            &document[end + end_mark.len()..]
        );
    }
    let separator = if document.is_empty() || document.ends_with("\n\n") {
        ""
    } else if document.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    format!("{document}{separator}{block}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64, ok_2xx: u64, ok_4xx: u64) -> LoadResult {
        LoadResult {
            rps,
            total: ok_2xx + ok_4xx,
            done: ok_2xx + ok_4xx,
            errored: 0,
            timeout: 0,
            status_2xx: ok_2xx,
            status_3xx: 0,
            status_4xx: ok_4xx,
            status_5xx: 0,
        }
    }

    fn cell(listener: Listener, workload: Workload, rps: &[f64], cpu_us: f64) -> Cell {
        let expected_ok = workload.expected_status(listener) == 200;
        Cell {
            listener,
            workload,
            probe: Ok(workload.expected_status(listener)),
            rounds: rps
                .iter()
                .map(|&rps| {
                    let n = (rps * 3.0) as u64;
                    let requests = 1000;
                    Round {
                        load: if expected_ok {
                            load(rps, n, 0)
                        } else {
                            load(rps, 0, n)
                        },
                        envoy_cpu: Duration::from_secs_f64(cpu_us * requests as f64 / 1e6),
                        envoy_requests: requests,
                        wall: Duration::from_secs(3),
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![7.0]), Some(7.0));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn added_microseconds_per_request() {
        // 20,000 req/s is 50 µs a request, 40,000 is 25: the filter adds 25.
        assert_eq!(added_us(20_000.0, 40_000.0), Some(25.0));
        assert_eq!(added_us(1_000.0, 1_000.0), Some(0.0));
        assert_eq!(added_us(0.0, 1_000.0), None);
    }

    #[test]
    fn ratios_need_a_measurable_native_cost() {
        assert_eq!(ratio(100.0, 20.0), Some(5.0));
        assert_eq!(ratio(100.0, 0.1), None);
        assert_eq!(ratio(100.0, -3.0), None);
    }

    #[test]
    fn expected_responses_pass_and_others_are_flagged() {
        let good = cell(Listener::Ours, Workload::Junk, &[100.0, 110.0], 50.0);
        assert_eq!(good.problem(), None);

        let mut wrong = cell(Listener::Ours, Workload::Fresh, &[100.0], 50.0);
        wrong.rounds[0].load = load(100.0, 290, 10);
        wrong.probe = Ok(401);
        let problem = wrong.problem().unwrap();
        assert!(problem.starts_with("expected 200"), "{problem}");
        assert!(problem.contains("probe got 401"), "{problem}");
        assert!(problem.contains("round 1: 2xx 290, 4xx 10"), "{problem}");

        let mut errored = cell(Listener::NoFilter, Workload::NoToken, &[100.0], 5.0);
        errored.rounds[0].load.errored = 1;
        assert!(errored.problem().is_some());

        let mut empty = cell(Listener::Noop, Workload::NoToken, &[], 5.0);
        empty.probe = Err("refused".into());
        assert!(empty.problem().unwrap().contains("not measured"));
    }

    #[test]
    fn cells_report_medians_ranges_and_cpu() {
        let c = cell(
            Listener::Native,
            Workload::Fresh,
            &[900.0, 1000.0, 950.0],
            40.0,
        );
        assert_eq!(c.median_rps(), Some(950.0));
        assert_eq!(c.rps_range(), Some((900.0, 1000.0)));
        assert!((c.median_cpu_us().unwrap() - 40.0).abs() < 1e-6);
        assert!((c.median_busy().unwrap() - 40.0 * 1000.0 / 1e6 / 3.0).abs() < 1e-9);
    }

    fn results_cells() -> Vec<Cell> {
        let mut cells = Vec::new();
        for workload in Workload::CLASSIC {
            cells.push(cell(Listener::NoFilter, workload, &[40_000.0], 25.0));
            cells.push(cell(Listener::Native, workload, &[20_000.0], 50.0));
            cells.push(cell(Listener::NativeCached, workload, &[25_000.0], 40.0));
            cells.push(cell(Listener::Noop, workload, &[32_000.0], 31.0));
            cells.push(cell(Listener::HostCalls, workload, &[20_000.0], 40.0));
            cells.push(cell(Listener::Ours, workload, &[2_000.0], 500.0));
        }
        cells
    }

    #[test]
    fn summary_compares_with_the_right_native_peer() {
        let cells = results_cells();
        let results = Results { cells: &cells };
        assert_eq!(
            results.added_us(Listener::Ours, Workload::Repeated),
            Some(475.0)
        );
        assert_eq!(
            results.added_us(Listener::NativeCached, Workload::Repeated),
            Some(15.0)
        );
        let summary = results.summary_table();
        // Repeated: 475 / 15 against the cached filter; fresh: 475 / 25 against the uncached.
        assert!(
            summary.contains("| repeated token | 475.0 | jwt_authn + cache | 15.0 | 31.7× |"),
            "{summary}"
        );
        assert!(
            summary.contains(
                "| fresh token | 475.0 | jwt_authn | 25.0 | 19.0× | 19.0× | 6.2 | 25.0 | none |"
            ),
            "{summary}"
        );
        // The host-calls listener makes the calls of a request let through: no peer for 401s.
        assert!(
            summary.contains(
                "| no token | 475.0 | jwt_authn | 25.0 | 19.0× | 19.0× | 6.2 | – | none |"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("| gRPC unary, repeated | 475.0 | jwt_authn + cache | 15.0 | 31.7× |"),
            "{summary}"
        );
        let detail = results.detail_table();
        assert_eq!(detail.lines().count(), 2 + 36);
        assert!(
            detail.contains("| no token | jwt-authz | 2000 | 2000–2000 | 475.0 |"),
            "{detail}"
        );
        assert!(detail.contains("(baseline)"), "{detail}");
        assert!(detail.contains("ok (401, all 4xx)"), "{detail}");
    }

    #[test]
    fn a_flagged_cell_shows_in_both_tables() {
        let mut cells = results_cells();
        let ours_fresh = cells
            .iter_mut()
            .find(|c| c.listener == Listener::Ours && c.workload == Workload::Fresh)
            .unwrap();
        ours_fresh.rounds[0].load = load(2_000.0, 0, 6_000);
        let results = Results { cells: &cells };
        assert!(results.detail_table().contains("**FLAGGED**: expected 200"));
        assert!(results.summary_table().contains("| jwt-authz |\n"));
    }

    #[test]
    fn the_algorithms_table_compares_with_uncached_native_against_each_goal() {
        let mut cells = Vec::new();
        for (algorithm, ours_rps) in [(Algorithm::Rs256, 5_000.0), (Algorithm::Es384, 1_000.0)] {
            let workload = Workload::Signed(algorithm);
            cells.push(cell(Listener::NoFilter, workload, &[40_000.0], 25.0));
            cells.push(cell(
                Listener::NativeAlgorithms,
                workload,
                &[8_000.0],
                125.0,
            ));
            cells.push(cell(Listener::OursAlgorithms, workload, &[ours_rps], 200.0));
            cells.push(cell(Listener::CardStack, workload, &[2_000.0], 400.0));
        }
        let results = Results { cells: &cells };
        assert!(results.has_algorithms());
        let table = results.algorithms_table();
        // RS256: 175 / 100 = 1.75 by Envoy CPU, over its 1.5 goal; ES384: 9.75 by rate but
        // 1.75 by CPU, which decides.
        assert!(
            table.contains(
                "| RS256 | 100.0 | 175.0 | 1.8× | 1.8× | ≤ 1.5× | no | 475.0 | 3.8× | 2.1× | none |"
            ),
            "{table}"
        );
        assert!(
            table.contains(
                "| ES384 | 100.0 | 975.0 | 9.8× | 1.8× | ≤ 2.0× | yes | 475.0 | 3.8× | 2.1× | none |"
            ),
            "{table}"
        );
        assert_eq!(table.lines().count(), 2 + 2, "{table}");
        // The classic tables leave the algorithm workloads out.
        assert_eq!(results.summary_table().lines().count(), 2);
        let classic = results_cells();
        assert!(!Results { cells: &classic }.has_algorithms());
    }

    #[test]
    fn the_primitives_table_subtracts_the_boundary_and_divides_by_native() {
        let rs256 = Algorithm::Rs256;
        let es512 = Algorithm::Es512;
        let cells = vec![
            cell(Listener::Primitives, Workload::Boundary, &[50_000.0], 20.0),
            cell(
                Listener::Primitives,
                Workload::Primitive(Verifier::JwtAuthz, rs256),
                &[10_000.0],
                80.0,
            ),
            cell(
                Listener::Primitives,
                Workload::Primitive(Verifier::Jsonwebtoken, rs256),
                &[2_000.0],
                260.0,
            ),
            cell(
                Listener::Primitives,
                Workload::Primitive(Verifier::JwtAuthz, es512),
                &[1_000.0],
                520.0,
            ),
        ];
        let results = Results { cells: &cells };
        assert!(results.has_primitives());
        assert_eq!(results.in_v8_us(Verifier::JwtAuthz, rs256), Some(60.0));
        let native = BTreeMap::from([
            ((Verifier::JwtAuthz, rs256), 30.0),
            ((Verifier::Jsonwebtoken, rs256), 120.0),
        ]);
        let table = results.primitives_table(&native);
        // RS256: 60 µs in V8 against 30 natively; jsonwebtoken 240 against 120, 4× jwt-authz.
        assert!(
            table.contains("| RS256 | – | 60.0 | 30.0 | 2.0× | 240.0 | 120.0 | 2.0× | 4.0× |"),
            "{table}"
        );
        assert!(
            table.contains("| ES512 | – | 500.0 | – | n/a | – | – | – | – |"),
            "{table}"
        );
        assert!(table.contains("20.0 Envoy CPU µs per request"), "{table}");
    }

    #[test]
    fn the_results_section_is_replaced_in_place() {
        let (start, end) = (RESULTS.start, RESULTS.end);
        let doc = format!("# B\n\nintro\n\n{start}\nold\n{end}\n\nafter\n");
        let new = replace_section(&doc, RESULTS, "new table\n");
        assert_eq!(
            new,
            format!("# B\n\nintro\n\n{start}\nnew table\n{end}\n\nafter\n")
        );
        assert_eq!(replace_section(&new, RESULTS, "new table"), new);
        // The algorithms' own section is another one.
        let both = replace_section(&new, ALGORITHMS, "algorithms");
        assert!(both.starts_with(&new), "{both}");
        assert!(both.ends_with(
            "<!-- bench:algorithms:start -->\nalgorithms\n<!-- bench:algorithms:end -->\n"
        ));
    }

    #[test]
    fn a_document_without_markers_gets_the_section_appended() {
        let (start, end) = (RESULTS.start, RESULTS.end);
        assert_eq!(
            replace_section("# B\n", RESULTS, "t"),
            format!("# B\n\n{start}\nt\n{end}\n")
        );
        assert_eq!(
            replace_section("", RESULTS, "t"),
            format!("{start}\nt\n{end}\n")
        );
    }
}
