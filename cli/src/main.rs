//! `jwt-authz`: check plugin configurations, render an Envoy bootstrap for an Auth0 tenant,
//! write the module as an OCI image layout.

use jwt_authz_cli::dpop::{DpopKey, ProofFor};
use jwt_authz_cli::render::{self, HostPort, Tenant};
use jwt_authz_cli::{check, dotenv, oci};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
Usage:
  jwt-authz check [--strict] FILE...
      Validates every jwt-authz configuration in the files with the filter's own code:
      bare plugin configurations (JSON or YAML), Envoy bootstraps, Istio WasmPlugin and
      Envoy Gateway EnvoyExtensionPolicy manifests (several documents per file; `-` reads
      standard input). Prints `ok` with a summary, or every error with its field path, and
      warns about what validates but will not work (a key-fetch cluster not defined, plain
      HTTP to an https URI, Istio cluster names). Exit status 0 when every configuration is
      valid (with --strict: and nothing was warned about), 1 otherwise.

  jwt-authz render [--auth0-domain DOMAIN] [--audience AUDIENCE] [--scope SCOPE]...
                   [--algorithm RS256|PS256] [--upstream HOST:PORT] [--listen HOST:PORT] [--admin HOST:PORT]
                   [--module PATH] [--env-file FILE] [-o FILE]
      Prints a complete Envoy bootstrap protecting HOST:PORT (default 127.0.0.1:8000) with
      tokens of the Auth0 tenant DOMAIN for the API AUDIENCE (and every --scope). DOMAIN and
      AUDIENCE default to AUTH0_DOMAIN and AUTH0_API_AUDIENCE from the environment, else
      from the .env file (default ./.env, if present): the environment wins, as with the
      dotenv libraries of Auth0's quickstarts. --algorithm is the API's signing algorithm
      in Auth0 (default RS256, else AUTH0_ALGORITHM; HS256 APIs cannot be rendered: their
      secret is never fetched). Envoy listens on --listen (default
      0.0.0.0:10000), admin on --admin (default 127.0.0.1:9901), and loads the module from
      --module (default dist/jwt_authz.wasm, relative to where Envoy runs).

  jwt-authz oci MODULE --out DIR [--tag TAG]
      Writes MODULE as an OCI image layout in DIR: one gzip layer holding plugin.wasm, the
      format Istio and Envoy Gateway pull. Push it with
      `skopeo copy oci:DIR:TAG docker://REGISTRY/jwt-authz:TAG`. TAG defaults to the version.

  jwt-authz dpop key [-o FILE]
      Makes a P-256 key pair for DPoP proofs (RFC 9449) and writes it to FILE (default
      dpop-key.json, readable by you only) as a private JWK; prints its RFC 7638 thumbprint,
      the `cnf.jkt` of tokens bound to it.

  jwt-authz dpop proof --key FILE --method METHOD --url URL [--token TOKEN] [--nonce NONCE]
      Prints a fresh DPoP proof (ES256, a random jti, iat now) signed with the key in FILE,
      for METHOD and URL (query and fragment left out); with TOKEN, bound to that access
      token (ath); with NONCE, carrying the server's nonce. For curl:
        -H \"DPoP: $(jwt-authz dpop proof --key dpop-key.json --method GET --url URL --token TOKEN)\"

  jwt-authz dpop thumbprint --key FILE
      Prints the RFC 7638 thumbprint of the key in FILE.

  jwt-authz --version | --help";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => run_check(&args[1..]),
        Some("render") => run_render(&args[1..]),
        Some("oci") => run_oci(&args[1..]),
        Some("dpop") => run_dpop(&args[1..]),
        Some("--version" | "-V" | "version") => {
            println!("jwt-authz {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Some("--help" | "-h" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err("no command given".into()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("jwt-authz: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run_check(args: &[String]) -> Result<ExitCode, String> {
    let strict = args.iter().any(|a| a == "--strict");
    let paths: Vec<&String> = args.iter().filter(|a| *a != "--strict").collect();
    if let Some(flag) = paths.iter().find(|a| a.starts_with("--")) {
        return Err(format!("unknown option {flag:?}"));
    }
    if paths.is_empty() {
        return Err("check needs at least one FILE".into());
    }
    let mut files = Vec::new();
    for path in paths {
        let text = if path == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            text
        } else {
            match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("jwt-authz: cannot read {path}: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        };
        let name = if path == "-" {
            "(stdin)"
        } else {
            path.as_str()
        };
        files.push((name.to_string(), text));
    }
    let report = check::check(&files);
    print!("{}", report.text);
    let passed = report.ok && !(strict && report.warnings > 0);
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Flags that take a value, and the repeatable `--scope`.
struct Flags {
    values: Vec<(String, String)>,
}

impl Flags {
    fn parse(args: &[String], known: &[&str]) -> Result<Flags, String> {
        let mut values = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown argument {arg:?}"));
            }
            let value = match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))?,
            };
            values.push((name, value));
        }
        Ok(Flags { values })
    }

    fn last(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn run_render(args: &[String]) -> Result<ExitCode, String> {
    let flags = Flags::parse(
        args,
        &[
            "--auth0-domain",
            "--audience",
            "--scope",
            "--algorithm",
            "--upstream",
            "--listen",
            "--admin",
            "--module",
            "--env-file",
            "-o",
        ],
    )?;
    let env_file = match flags.last("--env-file") {
        Some(path) => Some(read_env_file(Path::new(path))?),
        None if Path::new(".env").is_file() => Some(read_env_file(Path::new(".env"))?),
        None => None,
    }
    .unwrap_or_default();
    let env = |name: &str| std::env::var(name).ok();
    let from_env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| dotenv::lookup(n, &env, &env_file))
    };
    let domain = flags
        .last("--auth0-domain")
        .map(str::to_string)
        .or_else(|| from_env(&["AUTH0_DOMAIN"]))
        .ok_or("no Auth0 domain: give --auth0-domain, or set AUTH0_DOMAIN in the environment or in .env")?;
    let audience = flags
        .last("--audience")
        .map(str::to_string)
        .or_else(|| from_env(&["AUTH0_API_AUDIENCE", "AUTH0_AUDIENCE"]))
        .ok_or("no audience: give --audience (your API's Identifier), or set AUTH0_API_AUDIENCE in the environment or in .env")?;
    let algorithm = flags
        .last("--algorithm")
        .map(str::to_string)
        .or_else(|| from_env(&["AUTH0_ALGORITHM"]))
        .map_or_else(|| Ok("RS256".to_string()), |a| render::auth0_algorithm(&a))?;
    let address = |flag: &str, default: &str| {
        HostPort::parse(flags.last(flag).unwrap_or(default)).map_err(|e| format!("{flag}: {e}"))
    };
    let tenant = Tenant {
        domain: render::normalize_domain(&domain)?,
        audience,
        scopes: flags.all("--scope"),
        algorithm,
        upstream: address("--upstream", "127.0.0.1:8000")?,
        listen: address("--listen", "0.0.0.0:10000")?,
        admin: address("--admin", "127.0.0.1:9901")?,
        module: flags
            .last("--module")
            .unwrap_or("dist/jwt_authz.wasm")
            .to_string(),
    };
    let yaml = render::bootstrap(&tenant);
    // The filter's own validation, before anything reaches a proxy.
    let report = check::check(&[("rendered bootstrap".into(), yaml.clone())]);
    if !report.ok {
        eprint!("{}", report.text);
        return Ok(ExitCode::FAILURE);
    }
    match flags.last("-o") {
        Some(path) => {
            std::fs::write(path, &yaml).map_err(|e| format!("cannot write {path}: {e}"))?;
            eprintln!("wrote {path}");
        }
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    dotenv::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run_oci(args: &[String]) -> Result<ExitCode, String> {
    let (module, rest) = args.split_first().ok_or("oci needs the MODULE")?;
    let flags = Flags::parse(rest, &["--out", "--tag"])?;
    let out = PathBuf::from(flags.last("--out").ok_or("oci needs --out DIR")?);
    let tag = flags
        .last("--tag")
        .unwrap_or(env!("CARGO_PKG_VERSION"))
        .to_string();
    let wasm = std::fs::read(module).map_err(|e| format!("cannot read {module}: {e}"))?;
    let image = oci::write_layout(&wasm, &out, &tag)?;
    println!(
        "{}: OCI image layout, tag {tag}, manifest {}, plugin.wasm {} bytes (sha256:{})",
        out.display(),
        image.manifest_digest,
        wasm.len(),
        image.module_sha256
    );
    Ok(ExitCode::SUCCESS)
}

fn run_dpop(args: &[String]) -> Result<ExitCode, String> {
    let (command, rest) = args
        .split_first()
        .ok_or("dpop needs key, proof or thumbprint")?;
    let read_key = |flags: &Flags| -> Result<DpopKey, String> {
        let path = flags.last("--key").ok_or("needs --key FILE")?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        DpopKey::from_jwk(&text).map_err(|e| format!("{path}: {e}"))
    };
    match command.as_str() {
        "key" => {
            let flags = Flags::parse(rest, &["-o"])?;
            let path = flags.last("-o").unwrap_or("dpop-key.json");
            let key = DpopKey::generate();
            write_private(Path::new(path), &format!("{}\n", key.private_jwk()))?;
            println!("{}", key.thumbprint());
        }
        "proof" => {
            let flags = Flags::parse(rest, &["--key", "--method", "--url", "--token", "--nonce"])?;
            let key = read_key(&flags)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs();
            let proof = key.proof(&ProofFor {
                method: flags
                    .last("--method")
                    .ok_or("proof needs --method METHOD")?,
                url: flags.last("--url").ok_or("proof needs --url URL")?,
                access_token: flags.last("--token"),
                nonce: flags.last("--nonce"),
                now,
            });
            println!("{proof}");
        }
        "thumbprint" => {
            let flags = Flags::parse(rest, &["--key"])?;
            println!("{}", read_key(&flags)?.thumbprint());
        }
        other => {
            return Err(format!(
                "unknown dpop command {other:?}: key, proof or thumbprint"
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to a new file only its owner can read (a private key).
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
