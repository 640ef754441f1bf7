//! Launches a real Envoy with a given config and waits until it is ready.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::{self, Response};
use crate::temp_dir::TempDir;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const READY_POLL: Duration = Duration::from_millis(50);
const LOG_TAIL_LINES: usize = 100;

/// Command-line knobs for an Envoy run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyOptions {
    /// Worker threads (`--concurrency`).
    pub concurrency: u32,
    /// `--log-level`, e.g. "info" or "debug".
    pub log_level: String,
    /// `--component-log-level`, e.g. "wasm:debug".
    pub component_log_level: Option<String>,
    /// CPUs to pin Envoy to, in `taskset -c` form (e.g. "0"); `None` leaves it unpinned.
    pub cpu_list: Option<String>,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            concurrency: 1,
            log_level: "info".to_string(),
            component_log_level: None,
            cpu_list: None,
        }
    }
}

/// The workspace root: devstack's parent directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The filter module: `JWT_AUTHZ_WASM`, else `<root>/dist/jwt_authz.wasm`.
pub fn module_path() -> PathBuf {
    match std::env::var_os("JWT_AUTHZ_WASM") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("dist").join("jwt_authz.wasm"),
    }
}

/// Checks a config with `envoy --mode validate`; on failure returns Envoy's output.
pub fn validate(config_yaml: &str) -> Result<(), String> {
    let binary = Envoy::binary()?;
    let dir = TempDir::new("jwt-authz-envoy-validate")
        .map_err(|e| format!("cannot create a temp dir for the Envoy config: {e}"))?;
    let config = write_config(&dir, config_yaml)?;
    let output = Command::new(&binary)
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(&config)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "envoy rejected the config ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A running Envoy process; killed on drop, with its log printed if a test
/// is failing.
pub struct Envoy {
    child: Child,
    admin_port: u16,
    log_path: PathBuf,
    // Held so the config and log outlive the process; removed on drop.
    dir: TempDir,
}

impl Envoy {
    /// The Envoy binary: `ENVOY_BIN`, else `<root>/.venv/bin/envoy`.
    pub fn binary() -> Result<PathBuf, String> {
        let (path, source) = match std::env::var_os("ENVOY_BIN") {
            Some(path) => (PathBuf::from(path), "ENVOY_BIN"),
            None => (
                workspace_root().join(".venv").join("bin").join("envoy"),
                "the default location",
            ),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "Envoy binary not found at {} ({source}); run `make setup` (or `make test`) \
                 to install it, or point ENVOY_BIN at an Envoy 1.40 binary",
                path.display()
            ))
        }
    }

    /// Starts Envoy with default options; see [`Envoy::start_with`].
    pub fn start(config_yaml: &str, admin_port: u16) -> Result<Envoy, String> {
        Self::start_with(config_yaml, admin_port, &EnvoyOptions::default())
    }

    /// Starts Envoy on `config_yaml` and waits until its admin endpoint
    /// (which the config must put on `admin_port`) reports ready.
    pub fn start_with(
        config_yaml: &str,
        admin_port: u16,
        options: &EnvoyOptions,
    ) -> Result<Envoy, String> {
        let binary = Envoy::binary()?;
        let dir = TempDir::new("jwt-authz-envoy")
            .map_err(|e| format!("cannot create a temp dir for Envoy: {e}"))?;
        let config = write_config(&dir, config_yaml)?;
        let log_path = dir.path().join("envoy.log");
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_for_stderr = log
            .try_clone()
            .map_err(|e| format!("cannot share the Envoy log file: {e}"))?;

        let mut command = match &options.cpu_list {
            Some(cpus) => {
                // Pinned from the first instruction: every thread Envoy starts inherits it.
                let mut taskset = Command::new("taskset");
                taskset.arg("-c").arg(cpus).arg(&binary);
                taskset
            }
            None => Command::new(&binary),
        };
        command
            .arg("-c")
            .arg(&config)
            .arg("--concurrency")
            .arg(options.concurrency.to_string())
            .arg("--log-level")
            .arg(&options.log_level);
        if let Some(levels) = &options.component_log_level {
            command.arg("--component-log-level").arg(levels);
        }
        // Without hot restart Envoy claims no shared memory or domain socket,
        // so several can run side by side with no --base-id juggling.
        command
            .arg("--disable-hot-restart")
            // Configs name the module relatively, as dist/jwt_authz.wasm.
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;

        let mut envoy = Envoy {
            child,
            admin_port,
            log_path,
            dir,
        };
        envoy.wait_until_ready()?;
        Ok(envoy)
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(self.failure(&format!("Envoy exited during startup ({status})")));
                }
                Ok(None) => {}
                Err(e) => return Err(self.failure(&format!("cannot check on Envoy: {e}"))),
            }
            if self.admin_get("/ready").is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.failure(&format!(
                    "Envoy was not ready on admin port {} after {}s",
                    self.admin_port,
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(READY_POLL);
        }
    }

    /// An error message with the tail of the log appended.
    fn failure(&self, what: &str) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        format!(
            "{what}; last {} lines of {}:\n{}",
            tail.len(),
            self.log_path.display(),
            tail.join("\n")
        )
    }

    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// A GET on the admin endpoint.
    pub fn admin_get(&self, path: &str) -> io::Result<Response> {
        http::get(
            SocketAddr::from(([127, 0, 0, 1], self.admin_port)),
            path,
            &[],
        )
    }

    /// Counters and gauges by name (histograms and text readouts are skipped).
    pub fn stats(&self) -> Result<BTreeMap<String, u64>, String> {
        let response = self
            .admin_get("/stats")
            .map_err(|e| format!("cannot read Envoy stats: {e}"))?;
        if response.status != 200 {
            return Err(format!(
                "Envoy stats answered {}: {}",
                response.status,
                response.text()
            ));
        }
        Ok(parse_stats(&response.text()))
    }

    /// One counter or gauge, if it exists.
    pub fn stat(&self, name: &str) -> Option<u64> {
        self.stats().ok()?.get(name).copied()
    }

    /// Everything Envoy has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KiB (Linux only).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        parse_vm_rss(&status)
    }

    /// The scratch directory holding the config and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        // Envoy keeps no state worth a graceful shutdown, so SIGKILL is enough.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "===== Envoy log (pid {}, admin port {}) =====\n{}\n===== end of Envoy log =====",
                self.pid(),
                self.admin_port,
                self.log()
            );
        }
    }
}

fn write_config(dir: &TempDir, config_yaml: &str) -> Result<PathBuf, String> {
    let path = dir.path().join("envoy.yaml");
    std::fs::write(&path, config_yaml)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Parses the plain-text `/stats` form: `name: value` lines.
fn parse_stats(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.rsplit_once(": ")?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

fn parse_vm_rss(proc_status: &str) -> Option<u64> {
    let line = proc_status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::free_port;

    #[test]
    fn parses_counters_and_gauges_but_not_histograms() {
        let stats = parse_stats(
            "cluster.a.upstream_rq_total: 3\n\
             server.live: 1\n\
             http.ingress.downstream_rq_time: P0(nan,1) P25(nan,1.025)\n\
             server.version_text: \"1.40.0\"\n",
        );
        assert_eq!(stats.get("cluster.a.upstream_rq_total"), Some(&3));
        assert_eq!(stats.get("server.live"), Some(&1));
        assert_eq!(stats.len(), 2);
    }

    #[test]
    fn parses_vm_rss() {
        let status = "Name:\tenvoy\nVmPeak:\t 9 kB\nVmRSS:\t   51234 kB\n";
        assert_eq!(parse_vm_rss(status), Some(51234));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(
            workspace_root()
                .join("devstack")
                .join("Cargo.toml")
                .is_file()
        );
    }

    fn direct_response_config(listener_port: u16, admin_port: u16) -> String {
        format!(
            r#"
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {admin_port} }}
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: {{ address: 127.0.0.1, port_value: {listener_port} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{ prefix: "/" }}
                direct_response:
                  status: 418
                  body: {{ inline_string: "short and stout" }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"#
        )
    }

    fn binary_or_skip() -> bool {
        match Envoy::binary() {
            Ok(_) => true,
            Err(message) => {
                eprintln!("skipping: {message}");
                false
            }
        }
    }

    #[test]
    fn runs_a_real_envoy_and_stops_it() {
        if !binary_or_skip() {
            return;
        }
        let (listener_port, admin_port) = (free_port().unwrap(), free_port().unwrap());
        let config = direct_response_config(listener_port, admin_port);
        validate(&config).unwrap();
        let envoy = Envoy::start(&config, admin_port).unwrap();

        let addr = SocketAddr::from(([127, 0, 0, 1], listener_port));
        let response = http::get(addr, "/anything", &[]).unwrap();
        assert_eq!(response.status, 418);
        assert_eq!(response.text(), "short and stout");

        let stats = envoy.stats().unwrap();
        assert_eq!(stats.get("http.ingress.downstream_rq_4xx"), Some(&1));
        assert_eq!(envoy.stat("server.live"), Some(1));
        assert!(envoy.rss_kib().is_some_and(|kib| kib > 0));
        assert!(!envoy.log().is_empty());

        let pid = envoy.pid();
        let dir = envoy.dir().to_path_buf();
        drop(envoy);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        assert!(!dir.exists());
    }

    #[test]
    fn two_envoys_run_side_by_side() {
        if !binary_or_skip() {
            return;
        }
        let start = || {
            let (listener_port, admin_port) = (free_port().unwrap(), free_port().unwrap());
            let config = direct_response_config(listener_port, admin_port);
            let envoy = Envoy::start(&config, admin_port).unwrap();
            (envoy, SocketAddr::from(([127, 0, 0, 1], listener_port)))
        };
        let (_first, first_addr) = start();
        let (_second, second_addr) = start();
        assert_eq!(http::get(first_addr, "/", &[]).unwrap().status, 418);
        assert_eq!(http::get(second_addr, "/", &[]).unwrap().status, 418);
    }

    #[test]
    fn bad_config_fails_with_the_log() {
        if !binary_or_skip() {
            return;
        }
        let admin_port = free_port().unwrap();
        let error = match Envoy::start("static_resources: { nonsense: 1 }", admin_port) {
            Ok(_) => panic!("Envoy accepted a bad config"),
            Err(error) => error,
        };
        assert!(error.contains("exited during startup"), "{error}");
        assert!(validate("static_resources: { nonsense: 1 }").is_err());
    }
}
