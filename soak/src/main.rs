//! `make soak DURATION=10m`: see the crate documentation. Exits 1 unless every answer was
//! right, no 5xx but the documented keys-unavailable 503 came back, and Envoy's memory stayed
//! flat after warm-up.

use soak::{Options, parse_duration, run};
use std::process::ExitCode;

const USAGE: &str = "usage: soak [--duration 5m] [--clients 8] [--rate 200] [--workers 2]";

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut progress = std::io::stderr();
    match run(&options, &mut progress) {
        Ok(report) => {
            let _ = report.print(&mut std::io::stdout());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("soak: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err("soak: mixed traffic while the IdP flaps and rotates keys".into());
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|n| *n > 0.0)
                .ok_or(format!("{flag}: {value:?} is not {what}"))
        };
        match flag.as_str() {
            "--duration" => options.duration = parse_duration(&value)?,
            "--clients" => options.clients = number("a positive count")? as usize,
            "--rate" => options.rate = number("a positive rate")?,
            "--workers" => options.workers = number("a positive count")? as u32,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(options)
}
