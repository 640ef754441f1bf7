//! The engine `make containers` starts where none answers is isolated as it says: no default
//! bridge, and a pull fails at once instead of reaching a registry. Checked only on that
//! engine (`JWT_AUTHZ_ENGINE=isolated`); an engine that was already there is the user's.

use std::time::{Duration, Instant};

use container_tests::docker_run;

#[test]
fn the_isolated_engine_has_no_bridge_and_pulls_nothing() {
    if std::env::var("JWT_AUTHZ_ENGINE").as_deref() != Ok("isolated") {
        return;
    }
    let networks =
        docker_run(&["network", "ls", "--format", "{{.Name}}"]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = networks.lines().collect();
    assert!(!names.contains(&"bridge"), "no default bridge: {names:?}");

    let started = Instant::now();
    let pulled = docker_run(&["pull", "docker.io/library/busybox:1"]);
    let took = started.elapsed();
    let error = pulled.expect_err("a pull fails");
    assert!(
        took < Duration::from_secs(5),
        "the pull failed at once, not in {took:?}: {error}"
    );
    assert!(
        error.contains("proxyconnect") || error.contains("127.0.0.1:9"),
        "through the closed proxy: {error}"
    );
}
