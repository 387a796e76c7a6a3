//! The stalled thread's stack, as the watchdog saw it while the poll was stuck: the
//! [`Stack`] and [`Frame`] types, and (feature `stack`, Linux) the signal-based capture.
//!
//! # How a stack is captured
//! The watchdog thread sends a real-time signal, `SIGRTMIN+5`, to the stalled thread with
//! `tgkill`. The handler, running on that thread, walks its frames with
//! `backtrace::trace_unsynchronized` into a fixed, preallocated array of instruction
//! pointers, then sets a completion flag. The watchdog waits for the flag (at most 100 ms),
//! copies the pointers out and resolves them to function, file and line **outside** the
//! handler, on its own thread.
//!
//! # Safety argument
//! A signal handler may only do async-signal-safe work, because it interrupts the thread at
//! an arbitrary instruction, possibly inside `malloc` or while holding a lock.
//! * The handler allocates nothing, takes no Rust lock, and writes only atomics in
//!   `static`s; symbol resolution (which allocates and locks) runs on the watchdog thread.
//! * It saves and restores `errno`, so the interrupted code sees no change.
//! * It acts only when the thread it runs on is the one the watchdog asked for (compared with
//!   `gettid`, which is async-signal-safe) and claims the request with a compare-and-swap,
//!   so a stray or late signal does nothing, and two captures never share the buffer.
//! * The frame walk uses the platform unwinder (`_Unwind_Backtrace`), which reads the
//!   `.eh_frame` tables. It is not on POSIX's list of async-signal-safe functions: on first
//!   use per object it may take the dynamic loader's lock (`dl_iterate_phdr`). If the stalled
//!   thread were interrupted *inside* `dlopen`/`dlclose`, the handler could wait on that
//!   lock forever. This is the same trade-off pprof-rs and glommio's stall detector make; it
//!   is why capture is an opt-in feature, and the watchdog never waits more than 100 ms for a
//!   stack (a capture that times out disables further captures and the report says why).
//! * `SA_RESTART` is set, and Rust's `std::thread::sleep` resumes an interrupted sleep, so
//!   the stalled code is not disturbed beyond the microseconds the walk takes.
//! * The signal is only sent while the watchdog sees the poll still in progress, so the
//!   thread is alive; `tgkill` with the process id cannot reach another process.
//!
//! # Signal conflicts
//! `SIGRTMIN+5` is not used by glibc (which reserves the signals below `SIGRTMIN`), tokio or
//! Rust's std. If the application (or a library: a profiler, a runtime) has already installed
//! a handler for it, perf-async leaves it alone and its reports say stack capture is off and
//! why. `SIGPROF` was avoided because CPU profilers (pprof-rs, gperftools) own it.

use std::fmt;
use std::path::{Path, PathBuf};

/// One frame of a captured stack, innermost first. Inlined functions get a frame each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The instruction pointer.
    pub ip: usize,
    /// The demangled function name, without its hash, when the symbol was found.
    pub function: Option<String>,
    /// The source file, when debug info has it.
    pub file: Option<PathBuf>,
    /// The source line, when debug info has it.
    pub line: Option<u32>,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.function {
            Some(name) => f.write_str(name)?,
            None => write!(f, "{:#x}", self.ip)?,
        }
        if let Some(file) = &self.file {
            write!(f, " ({}", short_path(file).display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A path relative to the current directory when it is under it (what a user reads in
/// their own project), else as given.
fn short_path(p: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
}

/// Crates whose frames are plumbing between the user's code and the blocking call.
const PLUMBING: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "tokio::",
    "perf_async::",
    "backtrace::",
    "futures",
    "pin_project",
    "<std::",
    "<core::",
    "<alloc::",
    "<tokio::",
    "<perf_async::",
    "<futures",
    "__rust",
    "_start",
    "__libc",
    "start_thread",
    "clone",
];

fn is_plumbing(name: &str) -> bool {
    PLUMBING.iter().any(|p| name.starts_with(p))
}

/// The stack of a stalled thread, innermost frame first, or why there is none.
///
/// ```
/// let s = perf_async::Stack::unavailable("not captured in this example");
/// assert!(s.frames().is_empty());
/// assert_eq!(s.missing_reason(), Some("not captured in this example"));
/// assert_eq!(s.summary(), "no stack: not captured in this example");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stack {
    frames: Vec<Frame>,
    missing: Option<String>,
}

impl Stack {
    /// A stack with these frames, innermost first.
    pub fn from_frames(frames: Vec<Frame>) -> Self {
        Stack {
            frames,
            missing: None,
        }
    }

    /// No frames, and why.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Stack {
            frames: Vec::new(),
            missing: Some(reason.into()),
        }
    }

    /// The frames, innermost first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Why there are no frames, when there are none.
    pub fn missing_reason(&self) -> Option<&str> {
        self.missing.as_deref()
    }

    /// Whether a frame's function name contains `needle` (e.g. `"my_app::handler"`).
    pub fn contains_function(&self, needle: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.function.as_deref().is_some_and(|n| n.contains(needle)))
    }

    /// The innermost frame outside std, core, tokio and perf-async: the user's code that
    /// called the blocking function.
    pub fn user_frame(&self) -> Option<&Frame> {
        self.user_index().map(|i| &self.frames[i])
    }

    fn user_index(&self) -> Option<usize> {
        self.frames.iter().position(|f| {
            f.function
                .as_deref()
                .is_some_and(|n| !is_plumbing(n) && n.contains("::"))
        })
    }

    /// One line: the function the user's code called and the user's frame that called it,
    /// e.g. `std::thread::functions::sleep ← my_app::handler (src/handler.rs:42)`; just the
    /// user's frame when it is the innermost (a loop in the user's own code).
    pub fn summary(&self) -> String {
        if let Some(reason) = &self.missing {
            return format!("no stack: {reason}");
        }
        match self.user_index() {
            Some(u) => {
                let callee = self.frames[..u]
                    .iter()
                    .rev()
                    .find_map(|f| f.function.as_deref());
                match callee {
                    Some(c) => format!("{c} ← {}", self.frames[u]),
                    None => self.frames[u].to_string(),
                }
            }
            None => match self.frames.first() {
                Some(f) => f.to_string(),
                None => "empty stack".to_owned(),
            },
        }
    }
}

/// The summary, then the frames from the innermost to the wrapper's poll (the runtime's
/// frames below it are counted, not listed; [`Stack::frames`] has them all).
impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = &self.missing {
            return write!(f, "no stack: {reason}");
        }
        writeln!(f, "{}", self.summary())?;
        let shown = self
            .frames
            .iter()
            .rposition(|fr| {
                fr.function
                    .as_deref()
                    .is_some_and(|n| n.contains("perf_async::detect::DetectBlocking"))
            })
            .map_or(self.frames.len(), |i| i + 1);
        for (i, frame) in self.frames[..shown].iter().enumerate() {
            writeln!(f, "  {i:>3}: {frame}")?;
        }
        if shown < self.frames.len() {
            writeln!(f, "  … {} runtime frames", self.frames.len() - shown)?;
        }
        Ok(())
    }
}

/// The thread a watchdog slot belongs to, as the capture needs to address it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadTarget {
    #[cfg(all(feature = "stack", target_os = "linux"))]
    tid: i32,
}

impl ThreadTarget {
    /// The calling thread.
    pub(crate) fn current() -> Self {
        ThreadTarget {
            #[cfg(all(feature = "stack", target_os = "linux"))]
            tid: capture::gettid(),
        }
    }
}

/// A stack as captured inside the stalled thread: raw instruction pointers, resolved later
/// (resolution is slow the first time: it loads the binary's debug info).
#[cfg_attr(not(feature = "stack"), allow(dead_code))]
pub(crate) enum RawStack {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Ips(Vec<usize>),
    Unavailable(Stack),
}

impl RawStack {
    /// Function, file and line of every frame; call outside any signal handler.
    pub(crate) fn resolve(self) -> Stack {
        match self {
            #[cfg(all(feature = "stack", target_os = "linux"))]
            RawStack::Ips(ips) => Stack::from_frames(capture::trim(capture::resolve(&ips))),
            #[cfg(not(all(feature = "stack", target_os = "linux")))]
            RawStack::Ips(_) => Stack::unavailable("stack capture is off"),
            RawStack::Unavailable(s) => s,
        }
    }
}

/// Readies capture when a watchdog starts: installs the signal handler and loads the debug
/// info on a helper thread, so the first stall's report is not held up by it.
pub(crate) fn prepare() {
    #[cfg(all(feature = "stack", target_os = "linux"))]
    capture::prepare();
}

/// Takes the raw stack of `target` while it is stalled. `None` when the `stack` feature is
/// off.
#[allow(unused_variables)]
pub(crate) fn capture(target: ThreadTarget) -> Option<RawStack> {
    #[cfg(all(feature = "stack", target_os = "linux"))]
    {
        Some(capture::capture(target.tid))
    }
    #[cfg(all(feature = "stack", not(target_os = "linux")))]
    {
        Some(RawStack::Unavailable(Stack::unavailable(format!(
            "stack capture signals the stalled thread and is implemented on Linux only; \
             this target is {}",
            std::env::consts::OS
        ))))
    }
    #[cfg(not(feature = "stack"))]
    {
        None
    }
}

#[cfg(all(feature = "stack", target_os = "linux"))]
mod capture {
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::*};
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use super::{Frame, RawStack, Stack};

    const MAX_FRAMES: usize = 128;
    const WAIT: Duration = Duration::from_millis(100);
    const CLAIMED: i32 = -1;

    static IPS: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];
    static LEN: AtomicUsize = AtomicUsize::new(0);
    /// The thread id the handler is to serve; 0 none; `CLAIMED` while a handler walks.
    static TARGET: AtomicI32 = AtomicI32::new(0);
    static DONE: AtomicBool = AtomicBool::new(false);
    /// Set when a handler never finished: its buffer can no longer be trusted.
    static DISABLED: AtomicBool = AtomicBool::new(false);
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static INSTALLED: OnceLock<Result<i32, String>> = OnceLock::new();

    pub(super) fn gettid() -> i32 {
        // SAFETY: gettid has no preconditions and cannot fail.
        unsafe { libc::syscall(libc::SYS_gettid) as i32 }
    }

    fn signal_number() -> i32 {
        libc::SIGRTMIN() + 5
    }

    fn install() -> Result<i32, String> {
        let sig = signal_number();
        // SAFETY: plain sigaction calls with zeroed, then filled, `sigaction` structs; the
        // handler only does what the module's safety argument allows.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                return Err(format!(
                    "could not read the disposition of SIGRTMIN+5 ({sig}): {}",
                    std::io::Error::last_os_error()
                ));
            }
            if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
                return Err(format!(
                    "signal SIGRTMIN+5 ({sig}) already has a handler in this process; \
                     perf-async leaves it alone, so stack capture is off"
                ));
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(sig, &act, std::ptr::null_mut()) != 0 {
                return Err(format!(
                    "could not install the SIGRTMIN+5 ({sig}) handler: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(sig)
    }

    extern "C" fn handler(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut c_void) {
        // SAFETY: __errno_location returns this thread's errno slot.
        let errno = unsafe { *libc::__errno_location() };
        if TARGET
            .compare_exchange(gettid(), CLAIMED, AcqRel, Relaxed)
            .is_ok()
        {
            let mut n = 0;
            // SAFETY: the closure touches only static atomics; see the module's safety
            // argument for the unwinder itself.
            unsafe {
                backtrace::trace_unsynchronized(|frame| {
                    IPS[n].store(frame.ip() as usize, Relaxed);
                    n += 1;
                    n < MAX_FRAMES
                });
            }
            LEN.store(n, Relaxed);
            DONE.store(true, Release);
        }
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
    }

    pub(super) fn prepare() {
        if INSTALLED.get_or_init(install).is_ok() {
            let _ = std::thread::Builder::new()
                .name("perf-async-symbols".into())
                .spawn(|| {
                    backtrace::resolve(prepare as *const () as *mut c_void, |_| {});
                });
        }
    }

    fn unavailable(why: impl Into<String>) -> RawStack {
        RawStack::Unavailable(Stack::unavailable(why))
    }

    pub(super) fn capture(tid: i32) -> RawStack {
        let sig = match INSTALLED.get_or_init(install) {
            Ok(sig) => *sig,
            Err(why) => return unavailable(why.clone()),
        };
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        if DISABLED.load(Acquire) {
            return unavailable(
                "an earlier capture never finished, so stack capture was turned off",
            );
        }
        DONE.store(false, Relaxed);
        LEN.store(0, Relaxed);
        TARGET.store(tid, Release);
        // SAFETY: tgkill with our own pid can only signal a thread of this process.
        let rc = unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, sig) };
        if rc != 0 {
            TARGET.store(0, Release);
            return unavailable(format!(
                "could not signal thread {tid}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let deadline = Instant::now() + WAIT;
        while !DONE.load(Acquire) {
            if Instant::now() >= deadline {
                if TARGET.compare_exchange(tid, 0, AcqRel, Relaxed).is_ok() {
                    return unavailable(format!(
                        "thread {tid} did not run the signal handler within {WAIT:?} \
                         (is SIGRTMIN+5 blocked on it?)"
                    ));
                }
                // The handler claimed the request and is walking: give it a while longer.
                let late = Instant::now() + 10 * WAIT;
                while !DONE.load(Acquire) {
                    if Instant::now() >= late {
                        DISABLED.store(true, Release);
                        return unavailable(
                            "the signal handler did not finish walking the stack; \
                             stack capture is now off",
                        );
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
                break;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        TARGET.store(0, Release);
        let n = LEN.load(Relaxed).min(MAX_FRAMES);
        let ips: Vec<usize> = IPS[..n].iter().map(|ip| ip.load(Relaxed)).collect();
        RawStack::Ips(ips)
    }

    pub(super) fn resolve(ips: &[usize]) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(ips.len());
        for &ip in ips {
            let before = frames.len();
            // A return address points after the call: look up the call itself.
            let lookup = ip.saturating_sub(1) as *mut c_void;
            backtrace::resolve(lookup, |sym| {
                frames.push(Frame {
                    ip,
                    function: sym.name().map(|n| format!("{n:#}")),
                    file: sym.filename().map(|p| p.to_path_buf()),
                    line: sym.lineno(),
                });
            });
            if frames.len() == before {
                frames.push(Frame {
                    ip,
                    function: None,
                    file: None,
                    line: None,
                });
            }
        }
        frames
    }

    /// Drops the frames of the unwinder, the handler and the signal trampoline.
    pub(super) fn trim(frames: Vec<Frame>) -> Vec<Frame> {
        let handler = frames.iter().rposition(|f| {
            f.function
                .as_deref()
                .is_some_and(|n| n.contains("stack::capture::handler"))
        });
        let mut rest: Vec<Frame> = match handler {
            Some(i) => frames.into_iter().skip(i + 1).collect(),
            None => frames,
        };
        if rest
            .first()
            .is_some_and(|f| f.function.is_none() || f.function.as_deref() == Some("__restore_rt"))
        {
            rest.remove(0);
        }
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, file: Option<&str>, line: Option<u32>, ip: usize) -> Frame {
        Frame {
            ip,
            function: Some(name.to_owned()),
            file: file.map(PathBuf::from),
            line,
        }
    }

    #[test]
    fn summary_names_blocking_call_and_user_frame() {
        let s = Stack::from_frames(vec![
            Frame {
                ip: 1,
                function: None,
                file: None,
                line: None,
            },
            frame("std::thread::sleep", Some("/rustc/thread.rs"), Some(9), 2),
            frame(
                "my_app::handler::{{closure}}",
                Some("src/handler.rs"),
                Some(42),
                3,
            ),
            frame("tokio::runtime::task::raw::poll", None, None, 4),
        ]);
        assert_eq!(
            s.summary(),
            "std::thread::sleep ← my_app::handler::{{closure}} (src/handler.rs:42)"
        );
        let with_wrapper = Stack::from_frames(vec![
            frame("my_app::spin", Some("src/a.rs"), Some(3), 1),
            frame(
                "<perf_async::detect::DetectBlocking<F> as core::future::future::Future>::poll",
                None,
                None,
                2,
            ),
            frame("tokio::runtime::task::raw::poll", None, None, 3),
            frame("tokio::runtime::task::raw::RawTask::poll", None, None, 4),
        ]);
        let text = with_wrapper.to_string();
        assert!(text.ends_with("… 2 runtime frames\n"), "{text}");
        assert!(s.contains_function("my_app::handler"));
        assert!(s.to_string().lines().count() == 5, "{s}");
    }

    #[test]
    fn summary_of_a_spin_is_the_user_frame() {
        let s = Stack::from_frames(vec![frame("my_app::spin", Some("src/a.rs"), Some(3), 1)]);
        assert_eq!(s.summary(), "my_app::spin (src/a.rs:3)");
    }

    #[cfg(not(feature = "stack"))]
    #[test]
    fn no_capture_without_the_feature() {
        assert!(capture(ThreadTarget::current()).is_none());
    }

    #[cfg(all(feature = "stack", not(target_os = "linux")))]
    #[test]
    fn other_targets_say_why_there_are_no_frames() {
        let s = capture(ThreadTarget::current()).unwrap().resolve();
        assert!(s.frames().is_empty());
        assert!(s.missing_reason().unwrap().contains("Linux only"));
    }
}
