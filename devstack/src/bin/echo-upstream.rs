//! `echo-upstream [--listen ADDR]`: the echo server on its own, for manual runs and the
//! compose demo. Stops on SIGTERM or SIGINT, answering the requests in flight, and exits 0.

use std::process::ExitCode;

use devidp::http::StopSignal;
use devstack::echo::Echo;

const DEFAULT_LISTEN: &str = "127.0.0.1:8082";

fn main() -> ExitCode {
    let listen = match listen_address(std::env::args().skip(1)) {
        Ok(listen) => listen,
        Err(message) => {
            eprintln!("echo-upstream: {message}\nusage: echo-upstream [--listen ADDR]");
            return ExitCode::from(2);
        }
    };
    let started = StopSignal::install().and_then(|stop| {
        let echo = Echo::start_logging(&listen).map_err(|e| e.to_string())?;
        Ok((stop, echo))
    });
    let (stop, echo) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("echo-upstream: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("echo-upstream listening on http://{}", echo.addr());
    stop.wait();
    drop(echo);
    println!("echo-upstream stopped");
    ExitCode::SUCCESS
}

fn listen_address(mut args: impl Iterator<Item = String>) -> Result<String, String> {
    let mut listen = DEFAULT_LISTEN.to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(listen)
}
