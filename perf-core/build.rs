//! Captures the compiler's version for baseline fingerprints (`PERF_RUSTC_VERSION`), and
//! tells the tests whether Chromium is installed, so the flame-graph browser test is reported
//! as *ignored* without it, never as passed. With `PERF_REQUIRE_CHROMIUM=1` (what `.ci/run`
//! sets) it runs and fails instead.

use std::path::Path;
use std::process::Command;

/// Whether `program` is on `PATH`. Cargo looks again when that file changes or, when it was
/// not found, at every build, so installing it later is noticed.
fn on_path(program: &str) -> bool {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| Path::new(&dir).join(program))
            .find(|p| p.is_file())
    });
    match &found {
        Some(path) => println!("cargo::rerun-if-changed={}", path.display()),
        None => println!("cargo::rerun-if-changed=/nonexistent/{program}"),
    }
    found.is_some()
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(perf_no_chromium)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=PERF_REQUIRE_CHROMIUM");
    let required = std::env::var("PERF_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    if !required && !on_path("chromium") {
        println!("cargo::rustc-cfg=perf_no_chromium");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PERF_RUSTC_VERSION={version}");
}
