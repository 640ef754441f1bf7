//! What the container tests share: whether they can run here (a Docker engine, the compose v2
//! client and the tools they name), the `docker` command they run, and its answers.
//!
//! `make containers` (part of `make test`) gives them an engine: the one that answers, or an
//! isolated dockerd it starts for the run. Where none can be had they say why in one line and
//! pass, except in CI (`CI=true`), where they fail.

use std::io::Write;
use std::process::Command;

pub use devstack::workspace_root;

/// The label `make containers` puts on the base images it stands in for.
pub const STAND_IN_LABEL: &str = "org.jwt-authz.stand-in";

/// The `docker` command, with the compose v2 client `make containers` installs
/// (`.tools/docker/cli-plugins/docker-compose`) unless `DOCKER_CONFIG` names another.
pub fn docker() -> Command {
    let mut command = Command::new("docker");
    if std::env::var_os("DOCKER_CONFIG").is_none() {
        command.env("DOCKER_CONFIG", workspace_root().join(".tools/docker"));
    }
    command
}

/// Runs `docker ARGS`: its standard output, or an error with its standard error.
pub fn docker_run(args: &[&str]) -> Result<String, String> {
    output_of(docker().args(args), &format!("docker {}", args.join(" ")))
}

/// Runs `command`: its standard output, or an error naming `what` with its standard error.
pub fn output_of(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Whether `test` can run: an engine answers, the compose client is v2 and every program in
/// `tools` is there. If not, in CI this panics; elsewhere it prints one line saying what was
/// skipped and why, and returns false.
pub fn ready_or_skip(test: &str, tools: &[&str]) -> bool {
    let Err(reason) = readiness(tools) else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} must run in CI: {reason}");
    }
    // Straight to the terminal: libtest would hide a passing test's output.
    let _ = writeln!(std::io::stderr(), "skipped {test}: {reason}");
    false
}

fn readiness(tools: &[&str]) -> Result<(), String> {
    if let Ok(reason) = std::env::var("JWT_AUTHZ_NO_ENGINE") {
        return Err(reason);
    }
    docker_run(&["info", "--format", "{{.ServerVersion}}"]).map_err(|e| {
        format!("no Docker engine answers ({}); `make containers` starts one where it can (root, apt-get)", last_line(&e))
    })?;
    let compose = docker_run(&["compose", "version", "--short"]).map_err(|e| {
        format!(
            "no compose v2 client ({}); `make containers` installs the pinned one",
            last_line(&e)
        )
    })?;
    if !compose.trim().starts_with('2') && !compose.trim().starts_with("v2") {
        return Err(format!("compose {} is not v2", compose.trim()));
    }
    for tool in tools {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!(
                "{tool} is not installed (`make containers` installs it as root)"
            ));
        }
    }
    Ok(())
}

/// The last line of a failed command's report: docker's own message.
fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

/// The value of `label` on the local `image`, if it has it.
pub fn image_label(image: &str, label: &str) -> Option<String> {
    let format = format!("{{{{index .Config.Labels \"{label}\"}}}}");
    let value = docker_run(&["image", "inspect", "--format", &format, image]).ok()?;
    let value = value.trim();
    (!value.is_empty() && value != "<no value>").then(|| value.to_string())
}

/// Whether the local `image` is one of `make containers`' stand-ins.
pub fn is_stand_in(image: &str) -> bool {
    image_label(image, STAND_IN_LABEL).is_some()
}
