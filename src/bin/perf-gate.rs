//! `perf-gate`: fails a CI job when a criterion benchmark regressed.
//!
//! ```text
//! cargo run --bin perf-gate -- [--threshold 5%] [CRITERION_DIR]
//! ```
//!
//! Reads every `change/estimates.json` under `CRITERION_DIR` (default
//! `$CARGO_TARGET_DIR/criterion`, else `target/criterion`) and exits 1 when a benchmark's
//! mean change has its lower confidence bound above the threshold (default 5%), listing
//! those benchmarks above a table of all of them; exits 0 with the table otherwise, and 2
//! when the folder holds no criterion comparison or the arguments are wrong.
//!
//! CI recipe (criterion writes `change/` only when it compares with an earlier run):
//! ```text
//! git checkout main     && cargo bench -- --save-baseline main
//! git checkout my-branch && cargo bench -- --baseline main
//! cargo run --bin perf-gate -- --threshold 5%
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use perf::core::gate::{parse_threshold, read_changes, GateReport, DEFAULT_THRESHOLD};

const USAGE: &str = "usage: perf-gate [--threshold 5%] [CRITERION_DIR]\n\
    Exits 1 when a benchmark's mean change has its lower 95% bound above the threshold.\n\
    CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion or target/criterion.\n\
    Produce the data with `cargo bench -- --save-baseline main` on the base commit,\n\
    then `cargo bench -- --baseline main` on the commit under test.";

struct Args {
    threshold: f64,
    dir: PathBuf,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut threshold = DEFAULT_THRESHOLD;
    let mut dir = None;
    while let Some(arg) = args.next() {
        let value = if arg == "--threshold" || arg == "-t" {
            Some(
                args.next()
                    .ok_or("--threshold needs a value, e.g. --threshold 5%")?,
            )
        } else {
            arg.strip_prefix("--threshold=").map(str::to_owned)
        };
        if let Some(v) = value {
            threshold = parse_threshold(&v).map_err(|e| e.to_string())?;
        } else if arg == "-h" || arg == "--help" {
            return Ok(None);
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}"));
        } else if dir.replace(PathBuf::from(&arg)).is_some() {
            return Err(format!("more than one folder given ({arg})"));
        }
    }
    let dir = dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| PathBuf::from("target"), PathBuf::from)
            .join("criterion")
    });
    Ok(Some(Args { threshold, dir }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("perf-gate: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let changes = match read_changes(&args.dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("perf-gate: {e}");
            return ExitCode::from(2);
        }
    };
    let report = GateReport {
        threshold: args.threshold,
        changes,
    };
    println!("{report}");
    if report.regressions().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
