//! The machine a baseline was measured on: CPU model, core count, OS, architecture, rustc
//! version and build profile. Comparing timings across different fingerprints would report
//! the hardware change as a regression, so a baseline check skips instead.

use serde::{Deserialize, Serialize};

/// Where a measurement was taken.
///
/// ```
/// let here = perf_core::fingerprint::Fingerprint::current();
/// assert!(here.cpu_cores >= 1);
/// assert!(here.differences(&here).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `"debug"` (debug assertions on) or `"release"`.
    pub build_profile: String,
    /// CPU model name (`/proc/cpuinfo` on Linux), or `"unknown"`.
    pub cpu_model: String,
    /// Cores available to this process.
    pub cpu_cores: usize,
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
    /// `rustc --version` of the compiler that built perf-core.
    pub rustc: String,
}

impl Fingerprint {
    /// This process's machine and build.
    pub fn current() -> Self {
        Fingerprint {
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            cpu_model: cpu_model(),
            cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            rustc: env!("PERF_RUSTC_VERSION").to_owned(),
        }
    }

    /// The fields that differ from `other`, as `field: this vs other` lines.
    pub fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        let mut cmp = |field: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            let (a, b) = (a.to_string(), b.to_string());
            if a != b {
                out.push(format!("{field}: {a:?} vs {b:?}"));
            }
        };
        cmp("build_profile", &self.build_profile, &other.build_profile);
        cmp("cpu_model", &self.cpu_model, &other.cpu_model);
        cmp("cpu_cores", &self.cpu_cores, &other.cpu_cores);
        cmp("os", &self.os, &other.os);
        cmp("arch", &self.arch, &other.arch);
        cmp("rustc", &self.rustc, &other.rustc);
        out
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| parse_cpu_model(&text))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The first `model name` (x86) or `Model`/`CPU part` (ARM) line's value.
fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "CPU part"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_owned())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_x86_and_arm_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.00GHz\n";
        assert_eq!(
            parse_cpu_model(x86).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.00GHz")
        );
        let arm = "processor\t: 0\nCPU part\t: 0xd0c\n\nModel\t\t: Raspberry Pi 4\n";
        assert_eq!(parse_cpu_model(arm).as_deref(), Some("Raspberry Pi 4"));
        assert_eq!(parse_cpu_model("nothing here"), None);
    }

    #[test]
    fn differences_name_fields() {
        let a = Fingerprint::current();
        let b = Fingerprint {
            cpu_cores: a.cpu_cores + 1,
            rustc: "rustc 0.0.0".into(),
            ..a.clone()
        };
        let d = a.differences(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("cpu_cores: "));
        assert!(d[1].contains("rustc 0.0.0"));
        assert!(!a.rustc.is_empty());
    }
}
