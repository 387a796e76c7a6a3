//! `perf-gate`: fails a CI job when a criterion benchmark regressed.
//!
//! ```text
//! cargo run --bin perf-gate -- [--threshold 5%] [--window 1h | --only NAME,...] [CRITERION_DIR]
//! ```
//!
//! Reads the `change/estimates.json` files under `CRITERION_DIR` (default
//! `$CARGO_TARGET_DIR/criterion`, else `target/criterion`) of the benchmarks measured in the
//! latest run: those whose `new/estimates.json` is at most `--window` (default 1h) older than
//! the newest one, or exactly the `--only` names. Older results (benches filtered out,
//! renamed or removed) are listed as stale and not judged. Exits 1 when a benchmark's
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

use perf::core::gate::{parse_threshold, parse_window, read_report, Selection, DEFAULT_THRESHOLD};

const USAGE: &str =
    "usage: perf-gate [--threshold 5%] [--window 1h | --only NAME,...] [CRITERION_DIR]\n\
    Exits 1 when a benchmark's mean change has its lower 95% bound above the threshold.\n\
    Judges only benchmarks measured in the latest run: within --window (default 1h) of the\n\
    newest result, or exactly the --only names (group/function/input); lists the rest as stale.\n\
    CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion or target/criterion.\n\
    Produce the data with `cargo bench -- --save-baseline main` on the base commit,\n\
    then `cargo bench -- --baseline main` on the commit under test.";

struct Args {
    threshold: f64,
    selection: Selection,
    dir: PathBuf,
}

/// `--name value` or `--name=value`.
fn option(
    name: &str,
    arg: &str,
    args: &mut impl Iterator<Item = String>,
) -> Result<Option<String>, String> {
    if arg == name {
        return args
            .next()
            .map(Some)
            .ok_or_else(|| format!("{name} needs a value"));
    }
    Ok(arg
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix('='))
        .map(str::to_owned))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut threshold = DEFAULT_THRESHOLD;
    let mut window = None;
    let mut only: Vec<String> = Vec::new();
    let mut dir = None;
    while let Some(arg) = args.next() {
        let arg = if arg == "-t" {
            "--threshold".to_owned()
        } else {
            arg
        };
        if let Some(v) = option("--threshold", &arg, &mut args)? {
            threshold = parse_threshold(&v).map_err(|e| e.to_string())?;
        } else if let Some(v) = option("--window", &arg, &mut args)? {
            window = Some(parse_window(&v).map_err(|e| e.to_string())?);
        } else if let Some(v) = option("--only", &arg, &mut args)? {
            only.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
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
    let selection = match (window, only.is_empty()) {
        (Some(_), false) => return Err("give --window or --only, not both".to_owned()),
        (Some(w), true) => Selection::Window(w),
        (None, false) => Selection::Only(only),
        (None, true) => Selection::default(),
    };
    Ok(Some(Args {
        threshold,
        selection,
        dir,
    }))
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
    let report = match read_report(&args.dir, args.threshold, &args.selection) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perf-gate: {e}");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    if report.regressions().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
