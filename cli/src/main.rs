//! `jwt-authz`: check plugin configurations, render an Envoy bootstrap for an Auth0 tenant,
//! convert jwt_authn and Istio configurations, write the module as an OCI image layout, make
//! DPoP keys and proofs. The command line is
//! declared with clap's derive: help, errors (exit status 2) and shell completions come from
//! these declarations.

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use jwt_authz_cli::dpop::{DpopKey, ProofFor};
use jwt_authz_cli::render::{self, HostPort, Tenant};
use jwt_authz_cli::{check, convert, dotenv, oci};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Checks jwt-authz configurations with the filter's own code, renders an Envoy bootstrap
/// for an Auth0 tenant, converts jwt_authn and Istio configurations, writes the module as an
/// OCI image, makes DPoP keys and proofs.
#[derive(Parser)]
#[command(name = "jwt-authz", version, arg_required_else_help = true)]
// A flag given twice keeps its last value, as the hand-written parser did.
#[command(args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates every jwt-authz configuration in the files with the filter's own code
    ///
    /// Reads bare plugin configurations (JSON or YAML), Envoy bootstraps, Istio WasmPlugin and
    /// Envoy Gateway EnvoyExtensionPolicy manifests (several documents per file; `-` reads
    /// standard input). Prints `ok` with a summary, or every error with its field path, and
    /// warns about what validates but will not work (a key-fetch cluster not defined, plain
    /// HTTP to an https URI, Istio cluster names). Exit status 0 when every configuration is
    /// valid (with --strict: and nothing was warned about), 1 otherwise, 2 for a usage error.
    Check {
        /// Fail (exit status 1) on warnings too
        #[arg(long)]
        strict: bool,
        /// Files to check; `-` reads standard input
        #[arg(value_name = "FILE", required = true)]
        files: Vec<String>,
    },
    /// Prints a complete Envoy bootstrap for an Auth0 tenant's API
    ///
    /// Protects --upstream with tokens of the Auth0 tenant DOMAIN for the API AUDIENCE (and
    /// every --scope). DOMAIN and AUDIENCE default to AUTH0_DOMAIN and AUTH0_API_AUDIENCE from
    /// the environment, else from the .env file (default ./.env, if present): the environment
    /// wins, as with the dotenv libraries of Auth0's quickstarts. The bootstrap passes the
    /// filter's own validation before it is written.
    Render(RenderArgs),
    /// Converts Envoy jwt_authn or Istio configurations to jwt-authz's
    ///
    /// Reads Envoy's jwt_authn filter configuration (JSON or YAML, bare or in a bootstrap) or
    /// Istio RequestAuthentication and ALLOW AuthorizationPolicy resources (several documents,
    /// kubectl Lists, several files), and writes the jwt-authz configuration that decides the
    /// same, checked by the filter's own code. Everything it could not carry is listed on
    /// standard error with why and what it does to the decisions. Exit status 0 when written
    /// and nothing left out lets more through (with --strict: nothing left out at all), 1
    /// otherwise, 2 for a usage error.
    Convert {
        /// Fail (exit status 1) when anything was not carried
        #[arg(long)]
        strict: bool,
        /// Write the configuration to FILE instead of standard output
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Files to convert; `-` reads standard input
        #[arg(value_name = "FILE", required = true)]
        files: Vec<String>,
    },
    /// Writes the module as an OCI image layout
    ///
    /// One gzip layer holding plugin.wasm, the format Istio and Envoy Gateway pull. Push it
    /// with `skopeo copy oci:DIR:TAG docker://REGISTRY/jwt-authz:TAG`.
    Oci {
        /// The Wasm module
        #[arg(value_name = "MODULE")]
        module: PathBuf,
        /// The directory to write the layout to
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The image tag [default: the version]
        #[arg(long, value_name = "TAG")]
        tag: Option<String>,
    },
    /// Makes DPoP (RFC 9449) keys and proofs, for curl
    #[command(subcommand)]
    Dpop(DpopCommand),
    /// Prints a shell completion script
    ///
    /// For example `jwt-authz completions bash > ~/.local/share/bash-completion/completions/jwt-authz`.
    Completions {
        /// The shell
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Prints the version (as --version does)
    #[command(hide = true)]
    Version,
}

#[derive(clap::Args)]
struct RenderArgs {
    /// The Auth0 tenant's domain [default: AUTH0_DOMAIN]
    #[arg(long, value_name = "DOMAIN")]
    auth0_domain: Option<String>,
    /// The API's Identifier [default: AUTH0_API_AUDIENCE]
    #[arg(long, value_name = "AUDIENCE")]
    audience: Option<String>,
    /// A scope every token needs (repeatable)
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,
    /// The API's signing algorithm in Auth0, RS256 or PS256 (HS256 APIs cannot be rendered:
    /// their secret is never fetched) [default: AUTH0_ALGORITHM, else RS256]
    #[arg(long, value_name = "ALGORITHM")]
    algorithm: Option<String>,
    /// The service to protect
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8000")]
    upstream: String,
    /// Where Envoy listens
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:10000")]
    listen: String,
    /// Envoy's admin interface
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9901")]
    admin: String,
    /// The module, as Envoy will find it (relative to where Envoy runs)
    #[arg(long, value_name = "PATH", default_value = "dist/jwt_authz.wasm")]
    module: String,
    /// The .env file to read [default: ./.env, if present]
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Write the bootstrap to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum DpopCommand {
    /// Makes a P-256 key pair and prints its RFC 7638 thumbprint (the `cnf.jkt` of tokens
    /// bound to it)
    ///
    /// The key is written as a private JWK, readable by you only.
    Key {
        /// Where to write the key
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FILE",
            default_value = "dpop-key.json"
        )]
        output: PathBuf,
    },
    /// Prints a fresh DPoP proof (ES256, a random jti, iat now)
    ///
    /// For METHOD and URL (query and fragment left out); with TOKEN, bound to that access
    /// token (ath); with NONCE, carrying the server's nonce. For curl:
    ///   -H "DPoP: $(jwt-authz dpop proof --key dpop-key.json --method GET --url URL --token TOKEN)"
    Proof {
        /// The key (a private JWK, from `dpop key`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The request's method (htm)
        #[arg(long, value_name = "METHOD")]
        method: String,
        /// The request's URL (htu)
        #[arg(long, value_name = "URL")]
        url: String,
        /// The access token the request carries (ath)
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        /// The nonce the server asked for in DPoP-Nonce
        #[arg(long, value_name = "NONCE")]
        nonce: Option<String>,
    },
    /// Prints the RFC 7638 thumbprint of a key
    Thumbprint {
        /// The key (a private JWK, from `dpop key`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { strict, files } => run_check(strict, &files),
        Command::Render(args) => run_render(args),
        Command::Convert {
            strict,
            output,
            files,
        } => run_convert(strict, output, &files),
        Command::Oci { module, out, tag } => run_oci(&module, &out, tag),
        Command::Dpop(command) => run_dpop(command),
        Command::Completions { shell } => print_completions(shell),
        Command::Version => {
            println!("jwt-authz {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
    };
    // The same form and status as clap's own errors.
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}\n\nFor more information, try '--help'.");
        ExitCode::from(2)
    })
}

/// The completion script, written in one piece (clap_complete panics on a write error, such
/// as a closed pipe).
fn print_completions(shell: Shell) -> Result<ExitCode, String> {
    use std::io::Write;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jwt-authz", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| format!("cannot write the completion script: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn run_check(strict: bool, paths: &[String]) -> Result<ExitCode, String> {
    let Some(files) = read_inputs(paths)? else {
        return Ok(ExitCode::FAILURE);
    };
    let report = check::check(&files);
    print!("{}", report.text);
    let passed = report.ok && !(strict && report.warnings > 0);
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_convert(
    strict: bool,
    output: Option<PathBuf>,
    paths: &[String],
) -> Result<ExitCode, String> {
    let Some(files) = read_inputs(paths)? else {
        return Ok(ExitCode::FAILURE);
    };
    let conversions = match convert::convert(&files) {
        Ok(conversions) => conversions,
        Err(error) => {
            eprintln!("jwt-authz convert: {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let text = convert::output(&conversions);
    match output {
        Some(path) => std::fs::write(&path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print!("{text}"),
    }
    eprint!("{}", convert::report(&conversions));
    let left_out = conversions.iter().flat_map(|c| &c.not_carried);
    let failed = match strict {
        true => left_out.count() > 0,
        false => left_out
            .into_iter()
            .any(|n| n.effect == convert::Effect::LetsMoreThrough),
    };
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The named files (`-`: standard input) with their contents; `None` when one cannot be
/// read (said on standard error).
fn read_inputs(paths: &[String]) -> Result<Option<Vec<(String, String)>>, String> {
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
                    return Ok(None);
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
    Ok(Some(files))
}

fn run_render(args: RenderArgs) -> Result<ExitCode, String> {
    let env_file = match &args.env_file {
        Some(path) => Some(read_env_file(path)?),
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
    let domain = args
        .auth0_domain
        .or_else(|| from_env(&["AUTH0_DOMAIN"]))
        .ok_or("no Auth0 domain: give --auth0-domain, or set AUTH0_DOMAIN in the environment or in .env")?;
    let audience = args
        .audience
        .or_else(|| from_env(&["AUTH0_API_AUDIENCE", "AUTH0_AUDIENCE"]))
        .ok_or("no audience: give --audience (your API's Identifier), or set AUTH0_API_AUDIENCE in the environment or in .env")?;
    let algorithm = args
        .algorithm
        .or_else(|| from_env(&["AUTH0_ALGORITHM"]))
        .map_or_else(|| Ok("RS256".to_string()), |a| render::auth0_algorithm(&a))?;
    let address =
        |flag: &str, text: &str| HostPort::parse(text).map_err(|e| format!("{flag}: {e}"));
    let tenant = Tenant {
        domain: render::normalize_domain(&domain)?,
        audience,
        scopes: args.scope,
        algorithm,
        upstream: address("--upstream", &args.upstream)?,
        listen: address("--listen", &args.listen)?,
        admin: address("--admin", &args.admin)?,
        module: args.module,
    };
    let yaml = render::bootstrap(&tenant);
    // The filter's own validation, before anything reaches a proxy.
    let report = check::check(&[("rendered bootstrap".into(), yaml.clone())]);
    if !report.ok {
        eprint!("{}", report.text);
        return Ok(ExitCode::FAILURE);
    }
    match args.output {
        Some(path) => {
            std::fs::write(&path, &yaml)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
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

fn run_oci(module: &Path, out: &Path, tag: Option<String>) -> Result<ExitCode, String> {
    let tag = tag.unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let wasm =
        std::fs::read(module).map_err(|e| format!("cannot read {}: {e}", module.display()))?;
    let image = oci::write_layout(&wasm, out, &tag)?;
    println!(
        "{}: OCI image layout, tag {tag}, manifest {}, plugin.wasm {} bytes (sha256:{})",
        out.display(),
        image.manifest_digest,
        wasm.len(),
        image.module_sha256
    );
    Ok(ExitCode::SUCCESS)
}

fn run_dpop(command: DpopCommand) -> Result<ExitCode, String> {
    let read_key = |path: &Path| -> Result<DpopKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        DpopKey::from_jwk(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    match command {
        DpopCommand::Key { output } => {
            let key = DpopKey::generate();
            write_private(&output, &format!("{}\n", key.private_jwk()))?;
            println!("{}", key.thumbprint());
        }
        DpopCommand::Proof {
            key,
            method,
            url,
            token,
            nonce,
        } => {
            let key = read_key(&key)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs();
            let proof = key.proof(&ProofFor {
                method: &method,
                url: &url,
                access_token: token.as_deref(),
                nonce: nonce.as_deref(),
                now,
            });
            println!("{proof}");
        }
        DpopCommand::Thumbprint { key } => println!("{}", read_key(&key)?.thumbprint()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_declaration_is_consistent() {
        Cli::command().debug_assert();
    }
}
