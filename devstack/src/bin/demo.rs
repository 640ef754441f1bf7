//! `demo`: runs the whole stack on the fixed demo ports for `make demo`.

use std::process::ExitCode;

use devidp::http::StopSignal;
use devstack::demo_commands::demo_commands;
use devstack::envoy::{EnvoyOptions, workspace_root};
use devstack::stack::{Stack, StackPorts, demo_envoy_config};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    // The demo config loads the module by this relative path.
    let module = workspace_root().join("dist").join("jwt_authz.wasm");
    if !module.is_file() {
        return Err(format!(
            "{} not found; build the filter first (`make demo` does it for you)",
            module.display()
        ));
    }

    // Installed before starting anything so an early Ctrl-C still stops cleanly.
    let stop = StopSignal::install()?;

    let ports = StackPorts::demo();
    let config = demo_envoy_config(&ports)?;
    println!("Starting the dev IdP, the echo and gRPC upstreams, and Envoy...");
    let stack = Stack::start(ports, &config, &EnvoyOptions::default())?;
    println!("\n{}", demo_commands(&stack.ports));

    stop.wait();
    println!("\nStopping Envoy, the dev IdP and the upstreams.");
    drop(stack);
    Ok(())
}
