//! What the numbers were measured on: CPU, kernel, Envoy version, date.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub envoy_version: String,
    /// UTC, `YYYY-MM-DD`.
    pub date: String,
}

impl Machine {
    pub fn describe(envoy: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let envoy_version = Command::new(envoy)
            .arg("--version")
            .output()
            .map(|o| parse_envoy_version(&String::from_utf8_lossy(&o.stdout)))
            .unwrap_or_else(|e| format!("unknown ({e})"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Machine {
            cpus: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            cpu_model: parse_cpu_model(&cpuinfo),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".to_string()),
            envoy_version,
            date: civil_date(now),
        }
    }
}

/// The first `model name` in /proc/cpuinfo.
fn parse_cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// `envoy  version: HASH/1.40.0/Clean/RELEASE/BoringSSL` -> `1.40.0/Clean/RELEASE/BoringSSL`.
fn parse_envoy_version(output: &str) -> String {
    output
        .split("version:")
        .nth(1)
        .map(|rest| {
            let full = rest.split_whitespace().next().unwrap_or_default();
            full.split_once('/')
                .map_or(full, |(_hash, version)| version)
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Days since the epoch to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cpu_model() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n\
                       processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpu_model(cpuinfo), "AMD EPYC 7B13");
        assert_eq!(parse_cpu_model(""), "unknown");
    }

    #[test]
    fn reads_envoys_version_without_the_commit() {
        let output = "\n/x/envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL\n\n";
        assert_eq!(
            parse_envoy_version(output),
            "1.40.0/Clean/RELEASE/BoringSSL"
        );
        assert_eq!(parse_envoy_version("nonsense"), "unknown");
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_763_812_800), "2025-11-22");
        assert_eq!(civil_date(4_107_542_399), "2100-02-28");
    }
}
