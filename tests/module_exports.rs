//! The built module exports exactly the callbacks listed in `src/filter/exports.json`: Envoy
//! calls every exported callback on every request, so an export that slips back in costs
//! every request, and one that goes missing breaks the filter. And it fits its size budget.

use std::collections::BTreeSet;

#[test]
fn the_module_exports_exactly_the_listed_callbacks() {
    let root = devstack::workspace_root();
    let listed: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("src/filter/exports.json")).expect("exports.json"),
    )
    .expect("exports.json is JSON");
    let listed: BTreeSet<String> = listed
        .as_array()
        .expect("a graph")
        .iter()
        .filter_map(|node| node.get("export")?.as_str().map(str::to_string))
        .collect();
    let module = std::fs::read(devstack::module_path()).expect("run `make build` first");
    let exported: BTreeSet<String> = export_names(&module).into_iter().collect();
    assert_eq!(exported, listed);
    for needed in [
        "proxy_on_context_create",
        "proxy_on_request_headers",
        "proxy_on_delete",
        "proxy_on_memory_allocate",
        "proxy_on_tick",
        "proxy_on_http_call_response",
    ] {
        assert!(exported.contains(needed), "{needed} is not exported");
    }
}

/// The size budget of the optimised module (issue 13: every algorithm in, at most 512 KiB):
/// Envoy compiles it once per worker and Istio pulls it into every sidecar.
const MODULE_BUDGET_BYTES: usize = 512 * 1024;

#[test]
fn the_module_fits_its_size_budget() {
    let module = std::fs::read(devstack::module_path()).expect("run `make build` first");
    assert!(
        module.len() <= MODULE_BUDGET_BYTES,
        "dist/jwt_authz.wasm is {} bytes, over the budget of {MODULE_BUDGET_BYTES}",
        module.len()
    );
}

/// The names in a Wasm module's export section.
fn export_names(module: &[u8]) -> Vec<String> {
    assert_eq!(&module[..8], b"\0asm\x01\0\0\0", "a Wasm module, version 1");
    let mut at = 8;
    while at < module.len() {
        let id = module[at];
        at += 1;
        let size = leb128(module, &mut at);
        let end = at + size;
        if id == 7 {
            let mut names = Vec::new();
            for _ in 0..leb128(module, &mut at) {
                let len = leb128(module, &mut at);
                names.push(String::from_utf8(module[at..at + len].to_vec()).expect("UTF-8"));
                at += len + 1; // the name, then the kind
                leb128(module, &mut at); // the index
            }
            return names;
        }
        at = end;
    }
    Vec::new()
}

fn leb128(bytes: &[u8], at: &mut usize) -> usize {
    let (mut value, mut shift) = (0, 0);
    loop {
        let byte = bytes[*at];
        *at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}
