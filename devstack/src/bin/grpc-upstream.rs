//! `grpc-upstream [--listen ADDR]`: the gRPC service (`devstack::grpc`) on its own, for the
//! compose demo. Stops on SIGTERM or SIGINT, answering the requests in flight, and exits 0.

use std::process::ExitCode;

use devidp::http::StopSignal;
use devstack::grpc::GrpcUpstream;

const DEFAULT_LISTEN: &str = "127.0.0.1:8083";

fn main() -> ExitCode {
    let listen = match listen_address(std::env::args().skip(1)) {
        Ok(listen) => listen,
        Err(message) => {
            eprintln!("grpc-upstream: {message}\nusage: grpc-upstream [--listen ADDR]");
            return ExitCode::from(2);
        }
    };
    let started = StopSignal::install().and_then(|stop| {
        let server = GrpcUpstream::start(&listen).map_err(|e| e.to_string())?;
        Ok((stop, server))
    });
    let (stop, server) = match started {
        Ok(started) => started,
        Err(e) => {
            eprintln!("grpc-upstream: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "grpc-upstream listening on {} (gRPC, HTTP/2 without TLS)",
        server.addr()
    );
    stop.wait();
    drop(server);
    println!("grpc-upstream stopped");
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
