//! The process collector: the process metrics of the Prometheus client libraries (CPU time,
//! memory, file descriptors, threads, start time), under their standard names so existing
//! dashboards work, read from `/proc` at each scrape.
//!
//! Linux only: on a platform without `/proc` the collector writes nothing. A value `/proc`
//! does not give (unreadable, unparsable, an `unlimited` fd limit) is left out of the
//! scrape, never written as a guess.

use crate::names::{
    PROCESS_CPU_SECONDS, PROCESS_MAX_FDS, PROCESS_OPEN_FDS, PROCESS_RESIDENT_MEMORY,
    PROCESS_START_TIME, PROCESS_THREADS, PROCESS_VIRTUAL_MEMORY,
};

/// One reading of the process; `None` where `/proc` did not give the value. Counts and
/// sizes are whole numbers below 2^53, so the floats (Prometheus' values) hold them exactly.
#[derive(Clone, Debug, Default, PartialEq)]
struct Sample {
    cpu_seconds: Option<f64>,
    open_fds: Option<f64>,
    max_fds: Option<f64>,
    virtual_bytes: Option<f64>,
    resident_bytes: Option<f64>,
    start_time_seconds: Option<f64>,
    threads: Option<f64>,
}

/// Writes the process metrics into a scrape, with the exporter's global labels.
#[derive(Debug)]
pub(crate) struct ProcessCollector {
    /// `{k="v",...}`, or empty without global labels.
    labels: String,
}

impl ProcessCollector {
    pub(crate) fn new(global_labels: &[(String, String)]) -> Self {
        let mut labels = String::new();
        for (i, (k, v)) in global_labels.iter().enumerate() {
            labels.push(if i == 0 { '{' } else { ',' });
            labels.push_str(k);
            labels.push_str("=\"");
            super::text::escape(v, &mut labels);
            labels.push('"');
        }
        if !labels.is_empty() {
            labels.push('}');
        }
        ProcessCollector { labels }
    }

    /// Appends this moment's process metrics to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        #[cfg(target_os = "linux")]
        write_sample(&linux::read(), &self.labels, out);
        #[cfg(not(target_os = "linux"))]
        let _ = out;
    }
}

/// Each metric as the client libraries write it: name, HELP, TYPE.
fn write_sample(s: &Sample, labels: &str, out: &mut String) {
    use std::fmt::Write;
    let rows = [
        (
            PROCESS_CPU_SECONDS,
            "Total user and system CPU time spent in seconds.",
            "counter",
            s.cpu_seconds,
        ),
        (
            PROCESS_OPEN_FDS,
            "Number of open file descriptors.",
            "gauge",
            s.open_fds,
        ),
        (
            PROCESS_MAX_FDS,
            "Maximum number of open file descriptors.",
            "gauge",
            s.max_fds,
        ),
        (
            PROCESS_VIRTUAL_MEMORY,
            "Virtual memory size in bytes.",
            "gauge",
            s.virtual_bytes,
        ),
        (
            PROCESS_RESIDENT_MEMORY,
            "Resident memory size in bytes.",
            "gauge",
            s.resident_bytes,
        ),
        (
            PROCESS_START_TIME,
            "Start time of the process since unix epoch in seconds.",
            "gauge",
            s.start_time_seconds,
        ),
        (
            PROCESS_THREADS,
            "Number of OS threads in the process.",
            "gauge",
            s.threads,
        ),
    ];
    for (name, help, kind, value) in rows {
        if let Some(v) = value {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{labels} {v}\n"
            );
        }
    }
}

/// Reading and parsing `/proc`. The parsers take whatever bytes they are given and answer
/// `None` to what they cannot read: a process may name itself anything, spaces, `)` and
/// invalid UTF-8 included.
#[cfg(target_os = "linux")]
mod linux {
    use std::sync::OnceLock;

    use super::Sample;

    /// The fields of `/proc/self/stat` the collector uses.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct Stat {
        pub(super) utime_ticks: u64,
        pub(super) stime_ticks: u64,
        pub(super) threads: u64,
        pub(super) start_ticks: u64,
        pub(super) vsize_bytes: u64,
        pub(super) rss_pages: u64,
    }

    /// Parses `/proc/<pid>/stat`. The process name (field 2) is in parentheses and may hold
    /// spaces and parentheses itself; the fields after it hold none, so they start after
    /// the last `)`.
    pub(super) fn parse_stat(bytes: &[u8]) -> Option<Stat> {
        let close = bytes.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&bytes[close + 1..]).ok()?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // proc(5) numbers the fields from 1: the state, right after the name, is field 3.
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        Some(Stat {
            utime_ticks: field(14)?,
            stime_ticks: field(15)?,
            threads: field(20)?,
            start_ticks: field(22)?,
            vsize_bytes: field(23)?,
            rss_pages: field(24)?,
        })
    }

    /// The boot time, in seconds since the Unix epoch, from `/proc/stat`'s `btime` line.
    pub(super) fn parse_boot_time(bytes: &[u8]) -> Option<u64> {
        bytes.split(|&b| b == b'\n').find_map(|line| {
            let value = line.strip_prefix(b"btime ")?;
            std::str::from_utf8(value).ok()?.trim().parse().ok()
        })
    }

    /// The soft limit on open files, from `/proc/self/limits`; `None` when `unlimited`.
    pub(super) fn parse_max_open_files(bytes: &[u8]) -> Option<u64> {
        bytes.split(|&b| b == b'\n').find_map(|line| {
            let rest = line.strip_prefix(b"Max open files")?;
            let soft = std::str::from_utf8(rest)
                .ok()?
                .split_ascii_whitespace()
                .next()?;
            soft.parse().ok()
        })
    }

    /// `AT_PAGESZ` and `AT_CLKTCK`: the keys of the page size and of the tick rate of
    /// `/proc/<pid>/stat`'s times in the auxiliary vector.
    pub(super) const AT_PAGESZ: usize = 6;
    pub(super) const AT_CLKTCK: usize = 17;

    /// The value of `key` in an auxiliary vector (`/proc/self/auxv`: native-endian word
    /// pairs); `None` if absent or zero.
    pub(super) fn parse_auxv(bytes: &[u8], key: usize) -> Option<u64> {
        const W: usize = std::mem::size_of::<usize>();
        bytes.chunks_exact(2 * W).find_map(|pair| {
            let k = usize::from_ne_bytes(pair[..W].try_into().ok()?);
            let v = usize::from_ne_bytes(pair[W..].try_into().ok()?);
            (k == key && v != 0).then_some(v as u64)
        })
    }

    /// The page size and the clock ticks per second, read once: they do not change while
    /// the process runs. Without an auxiliary vector the tick rate is USER_HZ, 100 on
    /// every architecture Rust targets, and the resident size is left out.
    fn page_size_and_ticks() -> (Option<u64>, u64) {
        static READ: OnceLock<(Option<u64>, u64)> = OnceLock::new();
        *READ.get_or_init(|| {
            let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
            (
                parse_auxv(&auxv, AT_PAGESZ),
                parse_auxv(&auxv, AT_CLKTCK).unwrap_or(100),
            )
        })
    }

    /// Open descriptors, not counting the one that lists them.
    fn open_fds() -> Option<u64> {
        let listed = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        listed.checked_sub(1)
    }

    pub(super) fn read() -> Sample {
        let (page_size, ticks) = page_size_and_ticks();
        let stat = std::fs::read("/proc/self/stat")
            .ok()
            .and_then(|b| parse_stat(&b));
        let boot = std::fs::read("/proc/stat")
            .ok()
            .and_then(|b| parse_boot_time(&b));
        let ticks_f = ticks as f64;
        Sample {
            cpu_seconds: stat
                .as_ref()
                .map(|s| s.utime_ticks.saturating_add(s.stime_ticks) as f64 / ticks_f),
            open_fds: open_fds().map(|n| n as f64),
            max_fds: std::fs::read("/proc/self/limits")
                .ok()
                .and_then(|b| parse_max_open_files(&b))
                .map(|n| n as f64),
            virtual_bytes: stat.as_ref().map(|s| s.vsize_bytes as f64),
            resident_bytes: stat
                .as_ref()
                .zip(page_size)
                .and_then(|(s, page)| s.rss_pages.checked_mul(page))
                .map(|n| n as f64),
            start_time_seconds: stat
                .as_ref()
                .zip(boot)
                .map(|(s, boot)| boot as f64 + s.start_ticks as f64 / ticks_f),
            threads: stat.as_ref().map(|s| s.threads as f64),
        }
    }
}

#[cfg(test)]
mod tests;
