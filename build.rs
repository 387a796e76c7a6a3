//! Tells the tests whether Prometheus is installed, so a test that needs `prometheus` or
//! `promtool` is reported as *ignored* (skipped) without them — never as passed. With
//! `PERF_REQUIRE_PROMETHEUS=1` (what `.ci/run` sets) such tests run and fail instead.

use std::env;
use std::path::Path;

/// Where `program` is on `PATH`. Cargo is told to look again when that file changes or,
/// when it was not found, at every build, so installing Prometheus later is noticed.
fn on_path(program: &str) -> bool {
    let found = env::var_os("PATH").and_then(|paths| {
        env::split_paths(&paths)
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
    println!("cargo::rustc-check-cfg=cfg(perf_no_prometheus)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=PERF_REQUIRE_PROMETHEUS");
    let required = env::var("PERF_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1");
    let installed = on_path("prometheus") & on_path("promtool");
    if !required && !installed {
        println!("cargo::rustc-cfg=perf_no_prometheus");
        println!(
            "cargo::warning=prometheus/promtool not found: the Prometheus tests are skipped \
             (apt-get install -y prometheus)"
        );
    }
}
