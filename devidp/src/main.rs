//! `devidp`: runs the development identity provider until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use devidp::{AccessLog, Idp, IdpConfig};

const USAGE: &str = "\
Usage: devidp [--listen ADDR] [--issuer URL] [--config FILE]

Auth0-compatible development identity provider (client-credentials grant).

Options:
  --listen ADDR   address to listen on (default 127.0.0.1:8081)
  --issuer URL    issuer for tokens and discovery (default http://ADDR/)
  --config FILE   JSON config with clients and grants (default: built-in,
                  the same as devidp.json)
  -h, --help      print this help";

#[derive(Debug)]
struct Args {
    listen: String,
    issuer: Option<String>,
    config: Option<PathBuf>,
}

/// `Ok(None)` means help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        listen: "127.0.0.1:8081".to_owned(),
        issuer: None,
        config: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => parsed.listen = value()?,
            "--issuer" => parsed.issuer = Some(value()?),
            "--config" => parsed.config = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => IdpConfig::from_json_file(path)?,
        None => IdpConfig::default(),
    };
    if args.issuer.is_some() {
        config.issuer = args.issuer;
    }
    let client_ids: Vec<String> = config.clients.iter().map(|c| c.client_id.clone()).collect();
    let log = Arc::new(|entry: &AccessLog| {
        let status = entry.status.map_or("closed".to_owned(), |s| s.to_string());
        println!("{} {} {status}", entry.method, entry.path);
    });
    let idp = Idp::start_with_logger(&args.listen, config, log)
        .map_err(|e| format!("cannot start on {}: {e}", args.listen))?;
    println!(
        "devidp listening on {} issuer {} clients {}",
        idp.base_url(),
        idp.issuer(),
        client_ids.join(",")
    );
    // Serve until the process is killed (Ctrl-C's default action ends it).
    loop {
        std::thread::park();
    }
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
