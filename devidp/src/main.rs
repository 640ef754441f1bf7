//! `devidp`: runs the development identity provider until SIGINT (Ctrl-C) or SIGTERM, then
//! answers the requests in flight and exits 0.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use devidp::http::{ServerOptions, ServerTls, StopSignal, certificates_from_pem};
use devidp::{AccessLog, Idp, IdpConfig};

const USAGE: &str = "\
Usage: devidp [--listen ADDR] [--issuer URL] [--config FILE]
              [--tls-cert FILE --tls-key FILE [--client-ca FILE]]

Auth0-compatible development identity provider (client-credentials grant).

Options:
  --listen ADDR      address to listen on (default 127.0.0.1:8081)
  --issuer URL       issuer for tokens and discovery (default http://ADDR/,
                     https://ADDR/ with TLS)
  --config FILE      JSON config with APIs, clients and grants (default:
                     built-in, the same as devidp.json: an RS256 API and an
                     ES256 API)
  --tls-cert FILE    serve HTTPS with this PEM certificate chain
  --tls-key FILE     and this PEM private key
  --client-ca FILE   ask clients for a certificate issued by these PEM CA
                     certificates (clients without one are served too)
  -h, --help         print this help";

#[derive(Debug, Default)]
struct Args {
    listen: String,
    issuer: Option<String>,
    config: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
}

/// `Ok(None)` means help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        listen: "127.0.0.1:8081".to_owned(),
        ..Args::default()
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => parsed.listen = value()?,
            "--issuer" => parsed.issuer = Some(value()?),
            "--config" => parsed.config = Some(PathBuf::from(value()?)),
            "--tls-cert" => parsed.tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => parsed.tls_key = Some(PathBuf::from(value()?)),
            "--client-ca" => parsed.client_ca = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match (&parsed.tls_cert, &parsed.tls_key, &parsed.client_ca) {
        (Some(_), Some(_), _) | (None, None, None) => Ok(Some(parsed)),
        (None, None, Some(_)) => Err("--client-ca needs --tls-cert and --tls-key".to_owned()),
        _ => Err("--tls-cert and --tls-key go together".to_owned()),
    }
}

/// HTTPS when asked for: the certificate, its key and the client CA read from PEM files.
fn tls_from(args: &Args) -> Result<Option<ServerTls>, String> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let tls = ServerTls::from_pem(&read(cert)?, &read(key)?).map_err(|e| e.to_string())?;
    let Some(client_ca) = &args.client_ca else {
        return Ok(Some(tls));
    };
    let roots = certificates_from_pem(&read(client_ca)?)
        .map_err(|e| format!("{}: {e}", client_ca.display()))?;
    Ok(Some(tls.optional_client_certificates(roots)))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => IdpConfig::from_json_file(path)?,
        None => IdpConfig::demo(),
    };
    if args.issuer.is_some() {
        config.issuer.clone_from(&args.issuer);
    }
    let client_ids: Vec<String> = config.clients.iter().map(|c| c.client_id.clone()).collect();
    let apis: Vec<String> = config
        .apis
        .iter()
        .map(|a| format!("{} ({})", a.identifier, a.signing_algorithm))
        .collect();
    let log = Arc::new(|entry: &AccessLog| {
        let status = entry.status.map_or("closed".to_owned(), |s| s.to_string());
        println!("{} {} {status}", entry.method, entry.path);
    });
    let options = ServerOptions {
        logger: Some(log),
        tls: tls_from(&args)?,
    };
    let stop = StopSignal::install()?;
    let idp = Idp::start_with(&args.listen, config, options)
        .map_err(|e| format!("cannot start on {}: {e}", args.listen))?;
    println!(
        "devidp listening on {} issuer {} clients {}",
        idp.base_url(),
        idp.issuer(),
        client_ids.join(",")
    );
    if !apis.is_empty() {
        println!("devidp APIs: {}; any other audience RS256", apis.join(", "));
    }
    stop.wait();
    drop(idp);
    println!("devidp stopped");
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("devidp: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("devidp: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn no_arguments_listen_on_8081_with_defaults() {
        let args = parse(&[]).unwrap().unwrap();
        assert_eq!(args.listen, "127.0.0.1:8081");
        assert_eq!((args.issuer, args.config), (None, None));
        assert_eq!(
            (args.tls_cert, args.tls_key, args.client_ca),
            (None, None, None)
        );
    }

    #[test]
    fn every_option_takes_its_value() {
        let args = parse(&[
            "--listen",
            "0.0.0.0:9",
            "--issuer",
            "https://i/",
            "--config",
            "c.json",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.listen, "0.0.0.0:9");
        assert_eq!(args.issuer.as_deref(), Some("https://i/"));
        assert_eq!(args.config, Some(PathBuf::from("c.json")));
    }

    #[test]
    fn tls_files_come_as_a_pair_and_a_client_ca_needs_them() {
        let args = parse(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--client-ca",
            "ca.pem",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(args.tls_key, Some(PathBuf::from("k.pem")));
        assert_eq!(args.client_ca, Some(PathBuf::from("ca.pem")));
        assert_eq!(
            parse(&["--tls-cert", "c.pem"]).unwrap_err(),
            "--tls-cert and --tls-key go together"
        );
        assert_eq!(
            parse(&["--client-ca", "ca.pem"]).unwrap_err(),
            "--client-ca needs --tls-cert and --tls-key"
        );
    }

    #[test]
    fn help_flag_asks_for_usage() {
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn missing_value_and_unknown_flag_are_errors() {
        assert!(
            parse(&["--listen"])
                .unwrap_err()
                .contains("--listen needs a value")
        );
        assert!(parse(&["--port", "1"]).unwrap_err().contains("--port"));
    }
}
