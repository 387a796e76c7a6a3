//! The tour's command line: `--seconds N` and `--serve`.

/// What the command line asked for.
pub struct Args {
    /// How long the load runs before the report.
    pub seconds: u64,
    /// Keep serving after the report.
    pub serve: bool,
}

/// The load opens a connection per request: longer runs would pile up sockets in
/// TIME_WAIT until the client runs out of local ports.
const MAX_SECONDS: u64 = 30;

/// The help text.
pub const USAGE: &str = "usage: tour [--seconds N] [--serve]
  --seconds N  drive the service for N seconds before the report (default 3, at most 30)
  --serve      keep serving after the report, for a Prometheus scrape and CPU profiles,
               until Ctrl-C";

/// The arguments, or `None` when help was asked for.
pub fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        seconds: 3,
        serve: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--serve" => parsed.serve = true,
            "--seconds" => {
                let v = args
                    .next()
                    .ok_or_else(|| format!("--seconds needs a value\n{USAGE}"))?;
                parsed.seconds = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=MAX_SECONDS).contains(s))
                    .ok_or_else(|| {
                        format!("--seconds {v}: give a whole number from 1 to {MAX_SECONDS}")
                    })?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Some(parsed))
}
