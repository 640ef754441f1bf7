//! The results section: what was measured, on what, how, and the tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use primitives::Verifier;

use crate::algorithm::Algorithm;
use crate::sender::Flood;

use crate::args::Options;
use crate::machine::Machine;
use crate::report::Results;
use crate::startup::Startup;
use crate::workload::Workload;

/// JWKS fetches: the dev IdP's own count, and Envoy's per-cluster request counters.
#[derive(Debug, Clone, Default)]
pub struct JwksFetches {
    /// Served by the IdP from the main Envoy's launch to the end of the runs.
    pub idp_total: usize,
    pub by_cluster_after_startup: Vec<(String, u64)>,
    pub by_cluster_at_end: Vec<(String, u64)>,
}

/// Everything one run of the benchmark found out.
pub struct Run<'a> {
    pub machine: &'a Machine,
    pub options: &'a Options,
    pub module_bytes: u64,
    pub noop_module_bytes: u64,
    pub card_stack_module_bytes: u64,
    /// The card stack's correctness cases that got another status than they must (`None`:
    /// not checked, the card stack not run).
    pub card_stack_wrong: Option<Vec<String>>,
    /// µs per verification natively, by verifier and algorithm.
    pub native_primitives: BTreeMap<(Verifier, Algorithm), f64>,
    /// `/proc/loadavg` at the start and the end of the run: other work on the machine.
    pub load_average: (String, String),
    /// Length of one token.
    pub token_bytes: usize,
    /// The scheduling priority Envoy and h2load ran at.
    pub priority: String,
    pub results: Results<'a>,
    pub startup: &'a Startup,
    pub jwks: JwksFetches,
    /// (what, resident KiB or why unknown)
    pub memory: Vec<(String, Result<u64, String>)>,
    /// The flood of distinct DPoP proofs, when the DPoP workload ran.
    pub flood: Option<Result<Flood, String>>,
    pub elapsed: Duration,
}

impl Run<'_> {
    pub fn markdown(&self) -> String {
        let m = self.machine;
        let o = self.options;
        let mut out = String::new();
        let _ = writeln!(out, "### Run of {}\n", m.date);
        let _ = writeln!(
            out,
            "- Machine: {} CPUs ({}), Linux {}; Envoy {} (V8 for both Wasm filters).",
            m.cpus, m.cpu_model, m.kernel, m.envoy_version
        );
        let _ = writeln!(
            out,
            "- Modules (each after the same `wasm-metadce` and `wasm-opt -O3`): `{}` {} bytes; \
             no-op filter {} bytes; the card stack (jsonwebtoken) {} bytes.",
            o.module.file_name().map_or_else(
                || o.module.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            ),
            self.module_bytes,
            self.noop_module_bytes,
            self.card_stack_module_bytes,
        );
        let _ = writeln!(
            out,
            "- Load average (`/proc/loadavg`: 1, 5, 15 min) at the start: {}; at the end: {}.",
            self.load_average.0, self.load_average.1
        );
        if let Some(wrong) = &self.card_stack_wrong {
            let _ = writeln!(
                out,
                "- The card stack's correctness cases (valid tokens 200; tampered, wrong \
                 audience, expired, unknown `kid`, `alg: none`, HS256 keyed with the RSA public \
                 key, no token: 401): {}.",
                if wrong.is_empty() {
                    "every one as it must".to_string()
                } else {
                    format!("**FLAGGED**: {}", wrong.join("; "))
                }
            );
        }
        let _ = writeln!(
            out,
            "- Load: Envoy `--concurrency 1` on CPU {}, h2load on CPU {}: {} HTTP/2 connection(s) \
             (one h2load process each), {} concurrent streams each; per listener and workload {} round(s) of {} s after {} ms of \
             warm-up{}, rounds interleaved across listeners; medians shown. Priority: {}.",
            o.envoy_cpu,
            o.load_cpu,
            o.connections,
            o.streams,
            o.rounds,
            o.duration.as_secs(),
            o.warm_up.as_millis(),
            if o.warm_up_pass {
                ", after one unmeasured pass over everything"
            } else {
                ""
            },
            self.priority,
        );
        let classic = o.workloads.iter().any(|w| Workload::CLASSIC.contains(w));
        if classic {
            let _ = writeln!(
                out,
                "- Tokens: RS256 (2048-bit) from the dev IdP, {} bytes; the repeated token in \
                 `Authorization: Bearer` (and, in its own workload, in `?access_token=`), the others \
                 in `?access_token=`; {} fresh and {} bad-signature tokens, each sent again only after \
                 all the others of its kind.",
                self.token_bytes, o.tokens, o.tokens
            );
        }
        if self.results.has_algorithms() {
            let _ = writeln!(
                out,
                "- Algorithm workloads: {} fresh tokens per algorithm in `?access_token=`, each sent \
                 again only after all the others; keys generated at start (RSA 2048-bit, e = 65537; \
                 P-256, P-384, P-521; Ed25519; a 32-byte HS256 secret), given to both filters as \
                 `local_jwks`; neither filter caches verified tokens there.",
                o.algorithm_tokens
            );
        }
        let _ = writeln!(
            out,
            "- Run time: {:.1} min.\n",
            self.elapsed.as_secs_f64() / 60.0
        );

        if classic {
            let _ = writeln!(out, "#### jwt-authz against native jwt_authn\n");
            let _ = writeln!(out, "{}", self.results.summary_table());
        }
        if self.results.has_algorithms() {
            let _ = writeln!(out, "#### Algorithms: a fresh token of each\n");
            let _ = writeln!(out, "{}", self.results.algorithms_table());
        }
        if self.results.has_primitives() {
            let _ = writeln!(out, "#### The signature alone, in V8 and natively\n");
            let _ = writeln!(
                out,
                "{}",
                self.results.primitives_table(&self.native_primitives)
            );
        }
        if self.results.has_sender() {
            let _ = writeln!(
                out,
                "#### Sender-constrained tokens: DPoP and certificate-bound\n"
            );
            let _ = writeln!(
                out,
                "Sent by the bench's own driver ({} HTTP/1.1 keep-alive connections on CPU {}; \
                 h2load cannot change a header per request or present a client certificate): the \
                 same cached token on every request, as `Bearer` and bound, on one listener each. \
                 DPoP: `dpop.mode` `allowed`, a new ES256 proof per request (`max_age` 2 s, so the \
                 replay store holds a few seconds of proofs); mTLS: TLS 1.3 with a P-256 client \
                 certificate, `certificate_binding.mode` `enforced`.\n",
                crate::sender::CONNECTIONS,
                o.load_cpu,
            );
            let _ = writeln!(out, "{}", self.results.sender_table());
        }
        if let Some(flood) = &self.flood {
            let _ = writeln!(out, "{}", flood_text(flood));
        }
        let _ = writeln!(out, "#### Every listener and workload\n");
        let _ = writeln!(out, "{}", self.results.detail_table());
        let _ = writeln!(out, "#### Startup, key fetches, memory\n");
        let _ = writeln!(out, "{}", self.facts_table());
        out
    }

    fn facts_table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        rows.push((
            "Envoy ready (admin `/ready`), from launch".to_string(),
            ms(self.startup.ready),
        ));
        for (listener, result) in &self.startup.first_success {
            rows.push((
                format!("first 200 from {}, from launch", listener.label()),
                match result {
                    Ok(elapsed) => ms(*elapsed),
                    Err(e) => format!("**none**: {e}"),
                },
            ));
        }
        rows.push((
            "JWKS requests the dev IdP served (this Envoy, whole run)".to_string(),
            self.jwks.idp_total.to_string(),
        ));
        for (cluster, after_startup) in &self.jwks.by_cluster_after_startup {
            let at_end = self
                .jwks
                .by_cluster_at_end
                .iter()
                .find(|(name, _)| name == cluster)
                .map_or("?".to_string(), |(_, n)| n.to_string());
            rows.push((
                format!("JWKS fetches through cluster `{cluster}`: after startup / at the end"),
                format!("{after_startup} / {at_end}"),
            ));
        }
        for (what, rss) in &self.memory {
            rows.push((
                format!("Envoy resident memory (VmRSS), {what}"),
                match rss {
                    Ok(kib) => format!("{:.1} MiB", *kib as f64 / 1024.0),
                    Err(e) => format!("unknown: {e}"),
                },
            ));
        }
        let mut out = String::from("| what | value |\n|---|--:|\n");
        for (what, value) in rows {
            let _ = writeln!(out, "| {what} | {value} |");
        }
        out
    }
}

/// The flood's paragraph: what the replay store accepted and refused, and Envoy's memory.
fn flood_text(flood: &Result<Flood, String>) -> String {
    let flood = match flood {
        Ok(flood) => flood,
        Err(e) => return format!("The flood of distinct DPoP proofs failed: {e}.\n"),
    };
    let rounds: Vec<String> = flood
        .rounds
        .iter()
        .map(|(duration, load)| {
            format!(
                "{} s: {} accepted (2xx), {} refused with 503 (5xx){}",
                duration.as_secs(),
                load.status_2xx,
                load.status_5xx,
                match load.status_4xx + load.status_3xx + load.errored {
                    0 => String::new(),
                    other => format!(", **{other} other**"),
                }
            )
        })
        .collect();
    let mib = |kib: &Option<u64>| {
        kib.map_or("unknown".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    format!(
        "The replay store under a flood: a fresh proof on every request to a listener that keeps \
         each for 600 s, so none expires during the flood; the store holds 65,536 \
         (256 shards of 256). First {}; then {}. Envoy counted {} `dpop_replay_store_full` \
         refusals. Envoy's resident memory: {} before, {} after the first flood, {} after the second.\n",
        rounds[0],
        rounds[1],
        flood.counted_full,
        mib(&flood.rss_kib[0]),
        mib(&flood.rss_kib[1]),
        mib(&flood.rss_kib[2]),
    )
}

fn ms(duration: Duration) -> String {
    format!("{} ms", duration.as_millis())
}
