//! A process's CPU time summed over its threads, and its priority (Linux).

use std::process::{Command, Stdio};
use std::time::Duration;

/// Pins the calling thread to `cpus` (a `taskset` CPU list); whether that worked.
pub fn pin_this_thread(cpus: &str) -> bool {
    let thread = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    thread.is_some_and(|tid| {
        Command::new("taskset")
            .args(["-p", "-c", cpus, &tid])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Sets the niceness of every thread of `pid` (setpriority is per thread on Linux; threads
/// started later inherit it from the thread that starts them).
pub fn renice(pid: u32, nice: i32) -> Result<(), String> {
    let tasks = format!("/proc/{pid}/task");
    let tids: Vec<String> = std::fs::read_dir(&tasks)
        .map_err(|e| format!("cannot list {tasks}: {e}"))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let output = Command::new("renice")
        .arg("-n")
        .arg(nice.to_string())
        .arg("-p")
        .args(&tids)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run renice: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// CPU time of every thread of `pid` so far, from `/proc/PID/task/*/schedstat` (nanoseconds,
/// unlike the 10 ms ticks of `/proc/PID/stat`).
pub fn cpu_time(pid: u32) -> Result<Duration, String> {
    let tasks = format!("/proc/{pid}/task");
    let entries = std::fs::read_dir(&tasks).map_err(|e| format!("cannot list {tasks}: {e}"))?;
    let mut total = 0u64;
    for entry in entries.flatten() {
        let path = entry.path().join("schedstat");
        // A thread may exit between listing and reading: it no longer counts.
        if let Ok(text) = std::fs::read_to_string(&path) {
            total += parse_schedstat(&text)
                .ok_or_else(|| format!("cannot read {}: `{text}`", path.display()))?;
        }
    }
    Ok(Duration::from_nanos(total))
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`).
pub fn thread_cpu_time() -> Result<Duration, String> {
    let path = "/proc/thread-self/schedstat";
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    parse_schedstat(&text)
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("cannot read {path}: `{text}`"))
}

/// The first field of a schedstat line: nanoseconds spent on a CPU.
fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_on_cpu() {
        assert_eq!(parse_schedstat("1234567 890 12\n"), Some(1_234_567));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        if !std::path::Path::new("/proc/self/task").exists() {
            return;
        }
        // Spinning adds CPU time however busy the machine is; only the wall time it takes
        // depends on that.
        let before = cpu_time(std::process::id()).unwrap();
        let spin = std::time::Instant::now();
        let mut used = before;
        while used < before + Duration::from_millis(10) && spin.elapsed() < Duration::from_secs(10)
        {
            used = cpu_time(std::process::id()).unwrap();
        }
        assert!(
            used >= before + Duration::from_millis(10),
            "{before:?} -> {used:?}"
        );
    }
}
