//! The proxy-wasm glue (wasm32 only): everything here is a thin translation between host
//! calls and the pure logic of the crate.

mod abi;
mod fetcher;
mod host;
mod http;
mod root;
mod tally;
mod vm;
mod wake;

proxy_wasm::main! {{
    // Raised or lowered to Envoy's own level at configuration and on every tick.
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::Root::new(context_id))
    });
}}
