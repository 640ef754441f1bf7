//! `make test`'s soak: one minute, checked like `make soak` (every answer right, no 5xx but
//! the documented 503, memory flat after warm-up). Needs the built module and Envoy, as the
//! end-to-end tests do.

use soak::{Options, run};
use std::time::Duration;

#[test]
fn one_minute_of_mixed_traffic_while_the_idp_flaps_and_rotates() {
    let options = Options {
        duration: Duration::from_secs(60),
        ..Options::default()
    };
    let mut progress = std::io::stderr();
    let report = run(&options, &mut progress).expect("the soak runs");
    let mut printed = Vec::new();
    report.print(&mut printed).expect("report");
    let printed = String::from_utf8_lossy(&printed);
    eprintln!("{printed}");
    assert!(report.rotations >= 1 && report.removals >= 1, "{printed}");
    assert!(report.faults_injected >= 8, "{printed}");
    assert!(report.passed(), "{printed}");
}
