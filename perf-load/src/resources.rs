//! What the target used during a run: each second, the RSS and CPU of a process (from
//! `/proc/<pid>/stat` and `statm`) and, when `nvidia-smi` is on `PATH`, each GPU's memory and
//! utilization. A report gives the peaks and the timeline; no GPU is one line, not an error.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The query `nvidia-smi` is run with.
pub const NVIDIA_SMI_ARGS: [&str; 2] = [
    "--query-gpu=index,name,memory.used,memory.total,utilization.gpu",
    "--format=csv,noheader,nounits",
];

/// CPU seconds (user + system) from the text of `/proc/<pid>/stat`, with `ticks_per_s`
/// clock ticks per second; `None` if the text is not a stat line. The command name may
/// hold spaces and parentheses, so fields are counted from the last `)`.
///
/// ```
/// let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1 1 1";
/// assert_eq!(perf_load::resources::parse_stat(stat, 100), Some(3.0));
/// assert_eq!(perf_load::resources::parse_stat("garbage", 100), None);
/// ```
pub fn parse_stat(text: &str, ticks_per_s: u64) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    // After the name: state is field 3, utime 14, stime 15.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    if ticks_per_s == 0 {
        return None;
    }
    Some(utime.saturating_add(stime) as f64 / ticks_per_s as f64)
}

/// Resident bytes from the text of `/proc/<pid>/statm` (its second field, in pages of
/// `page_size` bytes); `None` if the text is not a statm line.
///
/// ```
/// assert_eq!(perf_load::resources::parse_statm("5000 1200 300 10 0 900 0\n", 4096), Some(1200 * 4096));
/// assert_eq!(perf_load::resources::parse_statm("", 4096), None);
/// ```
pub fn parse_statm(text: &str, page_size: u64) -> Option<u64> {
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(page_size)
}

/// One GPU as `nvidia-smi` reported it; a value it gave as `[N/A]` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuSample {
    /// `index`.
    pub index: u32,
    /// `name`.
    pub name: String,
    /// `memory.used`, MiB.
    pub memory_used_mib: Option<u64>,
    /// `memory.total`, MiB.
    pub memory_total_mib: Option<u64>,
    /// `utilization.gpu`, percent.
    pub utilization_pct: Option<u32>,
}

/// The GPUs in `nvidia-smi`'s output for [`NVIDIA_SMI_ARGS`] (one
/// `index, name, used, total, util` line per GPU), and the number of lines that were not such.
///
/// ```
/// let (gpus, skipped) = perf_load::resources::parse_nvidia_smi(
///     "0, NVIDIA A100-SXM4-80GB, 71234, 81920, 97\nNVIDIA-SMI has failed\n");
/// assert_eq!((gpus[0].memory_used_mib, gpus[0].utilization_pct, skipped), (Some(71234), Some(97), 1));
/// ```
pub fn parse_nvidia_smi(text: &str) -> (Vec<GpuSample>, usize) {
    let mut gpus = Vec::new();
    let mut skipped = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_gpu_line(line) {
            Some(g) => gpus.push(g),
            None => skipped += 1,
        }
    }
    (gpus, skipped)
}

fn parse_gpu_line(line: &str) -> Option<GpuSample> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    // A name may itself hold commas: it is everything between the index and the last three.
    let n = fields.len();
    if n < 5 {
        return None;
    }
    let value = |s: &str| -> Option<Option<u64>> {
        match s.parse::<u64>() {
            Ok(v) => Some(Some(v)),
            Err(_) if s.starts_with('[') => Some(None), // [N/A], [Not Supported]
            Err(_) => None,
        }
    };
    let util = value(fields[n - 1])?;
    Some(GpuSample {
        index: fields[0].parse().ok()?,
        name: fields[1..n - 3].join(", "),
        memory_used_mib: value(fields[n - 3])?,
        memory_total_mib: value(fields[n - 2])?,
        utilization_pct: match util {
            Some(u) => Some(u32::try_from(u).ok().filter(|u| *u <= 100)?),
            None => None,
        },
    })
}

/// Where `program` is on a `PATH`-style list of folders.
pub fn find_on_path(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// One sample of the process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcessSample {
    /// Seconds since sampling started.
    pub t_s: f64,
    /// Resident memory.
    pub rss_bytes: u64,
    /// CPU used since the previous sample, in percent of one core (`None` for the first).
    pub cpu_pct: Option<f64>,
}

/// One sample of the GPUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuTick {
    /// Seconds since sampling started.
    pub t_s: f64,
    /// Each GPU.
    pub gpus: Vec<GpuSample>,
}

/// What a [`ResourceSampler`] saw: peaks and timelines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceReport {
    /// The process sampled.
    pub pid: Option<u32>,
    /// Its samples, in order.
    pub process: Vec<ProcessSample>,
    /// Why the process could not be sampled (gone, or not Linux).
    pub process_error: Option<String>,
    /// The GPU samples, in order; empty with no GPU.
    pub gpu: Vec<GpuTick>,
    /// Why there are no GPU samples (`nvidia-smi` not on `PATH`, or it failed).
    pub gpu_note: Option<String>,
    /// `nvidia-smi` lines that were not a GPU.
    pub gpu_lines_skipped: usize,
    #[serde(skip)]
    last_cpu: Option<(f64, f64)>,
}

impl ResourceReport {
    /// Adds a process sample at `t_s` seconds with `cpu_s` CPU seconds used in all.
    pub fn push_process(&mut self, t_s: f64, cpu_s: f64, rss_bytes: u64) {
        let cpu_pct = match self.last_cpu.replace((t_s, cpu_s)) {
            Some((t0, c0)) if t_s > t0 => Some(((cpu_s - c0) / (t_s - t0) * 100.0).max(0.0)),
            _ => None,
        };
        self.process.push(ProcessSample {
            t_s,
            rss_bytes,
            cpu_pct,
        });
    }

    /// The largest RSS sampled.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        self.process.iter().map(|s| s.rss_bytes).max()
    }

    /// The largest CPU percentage between two samples.
    pub fn peak_cpu_pct(&self) -> Option<f64> {
        self.process
            .iter()
            .filter_map(|s| s.cpu_pct)
            .reduce(f64::max)
    }

    /// Per GPU, in index order: the largest memory used, total and utilization sampled.
    pub fn gpu_peaks(&self) -> Vec<GpuSample> {
        let mut peaks: Vec<GpuSample> = Vec::new();
        for g in self.gpu.iter().flat_map(|t| &t.gpus) {
            match peaks.iter_mut().find(|p| p.index == g.index) {
                Some(p) => {
                    p.memory_used_mib = p.memory_used_mib.max(g.memory_used_mib);
                    p.memory_total_mib = p.memory_total_mib.max(g.memory_total_mib);
                    p.utilization_pct = p.utilization_pct.max(g.utilization_pct);
                }
                None => peaks.push(g.clone()),
            }
        }
        peaks.sort_by_key(|p| p.index);
        peaks
    }
}

fn or_na<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "n/a".into(), |v| v.to_string())
}

impl fmt::Display for ResourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pid) = self.pid {
            match (&self.process_error, self.peak_rss_bytes()) {
                (_, Some(rss)) => writeln!(
                    f,
                    "process {pid}: peak RSS {:.1} MiB, peak CPU {}% ({} samples)",
                    rss as f64 / (1 << 20) as f64,
                    self.peak_cpu_pct()
                        .map_or_else(|| "n/a".into(), |c| format!("{c:.0}")),
                    self.process.len()
                )?,
                (Some(e), None) => writeln!(f, "process {pid}: not sampled: {e}")?,
                (None, None) => writeln!(f, "process {pid}: no sample taken")?,
            }
        }
        let peaks = self.gpu_peaks();
        if peaks.is_empty() {
            let note = self.gpu_note.as_deref().unwrap_or("nvidia-smi listed none");
            return writeln!(f, "no GPU found ({note})");
        }
        for g in peaks {
            writeln!(
                f,
                "GPU {} {}: peak memory {} of {} MiB, peak utilization {}%",
                g.index,
                g.name,
                or_na(g.memory_used_mib),
                or_na(g.memory_total_mib),
                or_na(g.utilization_pct)
            )?;
        }
        Ok(())
    }
}

/// What to sample: a process, the GPUs, how often.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// The process to sample.
    pub pid: Option<u32>,
    /// Time between samples.
    pub interval: Duration,
    /// The `PATH` to find `nvidia-smi` on (`None`: don't sample GPUs).
    pub path_var: Option<OsString>,
    /// Where `/proc` is (tests point it at a fake tree).
    pub proc_root: PathBuf,
}

impl ResourceConfig {
    /// Samples `pid` (if any) and the GPUs every second, finding `nvidia-smi` on this
    /// process's `PATH`.
    ///
    /// ```
    /// let c = perf_load::resources::ResourceConfig::new(Some(std::process::id()));
    /// assert_eq!(c.interval, std::time::Duration::from_secs(1));
    /// ```
    pub fn new(pid: Option<u32>) -> Self {
        ResourceConfig {
            pid,
            interval: Duration::from_secs(1),
            path_var: Some(std::env::var_os("PATH").unwrap_or_default()),
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// Samples in a thread of its own until [`stop`](Self::stop)ped.
///
/// ```
/// use perf_load::resources::{ResourceConfig, ResourceSampler};
/// let sampler = ResourceSampler::start(ResourceConfig::new(Some(std::process::id())));
/// let report = sampler.stop();
/// println!("{report}"); // process …: peak RSS … / no GPU found (…)
/// ```
#[derive(Debug)]
pub struct ResourceSampler {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<ResourceReport>,
}

impl ResourceSampler {
    /// Takes a first sample now, then one per interval.
    pub fn start(config: ResourceConfig) -> Self {
        let (stop, stopped) = mpsc::channel();
        let thread = thread::spawn(move || sample_until(&config, &stopped));
        ResourceSampler { stop, thread }
    }

    /// Takes a last sample and returns the report.
    pub fn stop(self) -> ResourceReport {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_else(|_| ResourceReport {
            process_error: Some("the sampling thread failed".into()),
            ..ResourceReport::default()
        })
    }
}

fn sample_until(config: &ResourceConfig, stopped: &mpsc::Receiver<()>) -> ResourceReport {
    let mut report = ResourceReport {
        pid: config.pid,
        ..ResourceReport::default()
    };
    let smi = match &config.path_var {
        None => {
            report.gpu_note = Some("GPU sampling off".into());
            None
        }
        Some(p) => {
            let found = find_on_path("nvidia-smi", p);
            if found.is_none() {
                report.gpu_note = Some("nvidia-smi is not on PATH".into());
            }
            found
        }
    };
    let (ticks, page) = system_units();
    let start = Instant::now();
    loop {
        let t = start.elapsed().as_secs_f64();
        if let (Some(pid), None) = (config.pid, &report.process_error) {
            match read_process(&config.proc_root, pid, ticks, page) {
                Ok((cpu, rss)) => report.push_process(t, cpu, rss),
                Err(e) => report.process_error = Some(e),
            }
        }
        if let Some(smi) = &smi {
            match run_nvidia_smi(smi) {
                Ok(text) => {
                    let (gpus, skipped) = parse_nvidia_smi(&text);
                    report.gpu_lines_skipped += skipped;
                    if !gpus.is_empty() {
                        report.gpu.push(GpuTick { t_s: t, gpus });
                    }
                }
                Err(e) => report.gpu_note = Some(e),
            }
        }
        match stopped.recv_timeout(config.interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return report,
        }
    }
}

fn read_process(root: &Path, pid: u32, ticks: u64, page: u64) -> Result<(f64, u64), String> {
    let dir = root.join(pid.to_string());
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| {
            format!(
                "cannot read {}: {e} (has the process exited?)",
                dir.join(f).display()
            )
        })
    };
    let cpu = parse_stat(&read("stat")?, ticks).ok_or("unreadable stat line")?;
    let rss = parse_statm(&read("statm")?, page).ok_or("unreadable statm line")?;
    Ok((cpu, rss))
}

/// Clock ticks per second and the page size, from the system.
fn system_units() -> (u64, u64) {
    // SAFETY: sysconf reads a constant of the running system; it touches no memory of ours.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    // -1 means unknown; Linux's fixed user-space values then.
    (
        u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100),
        u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096),
    )
}

/// `nvidia-smi`'s output, or why there is none; a run that hangs is killed after 5 s.
fn run_nvidia_smi(program: &Path) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(NVIDIA_SMI_ARGS)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("nvidia-smi did not answer within 5 s".into());
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("nvidia-smi failed: {e}"))?;
    if !out.status.success() {
        return Err(format!("nvidia-smi failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests;
