//! `echo-upstream [--listen ADDR]`: the echo server on its own, for manual runs.

use std::process::ExitCode;

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
    let echo = match Echo::start_logging(&listen) {
        Ok(echo) => echo,
        Err(e) => {
            eprintln!("echo-upstream: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("echo-upstream listening on http://{}", echo.addr());
    // The server runs on its own thread; this one only has to stay alive.
    loop {
        std::thread::park();
    }
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
