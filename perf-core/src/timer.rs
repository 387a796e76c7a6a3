//! The scope timer: `let _t = perf_core::time("block");` times the rest of the scope.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::clock;
use crate::histogram::LatencyHistogram;
use crate::names::{FUNCTION_DURATION, LABEL_FUNCTION};
use crate::registry::{function_labels, Family, Registry, Series, Source};

/// A named block's histograms. Leaked once per admitted name (like a `static`), so a timer
/// holds a plain reference: no allocation and no reference count per use. The cardinality
/// guard bounds how many are leaked.
struct Block {
    name: &'static str,
    ok: LatencyHistogram,
    panic: LatencyHistogram,
}

thread_local! {
    /// Saves the global lookup after a thread's first use of an admitted name. Overflowed
    /// names are not cached, so a thread's cache stays as bounded as the blocks.
    static CACHE: RefCell<HashMap<Box<str>, &'static Block>> = RefCell::new(HashMap::new());
    /// The last block used on this thread: a name timed in a loop skips even the hash.
    static LAST: Cell<Option<&'static Block>> = const { Cell::new(None) };
}

/// Times a block under `name`, recorded into the global registry as
/// `function_calls_duration_seconds{function="<name>", module="", result="ok"}` when the
/// returned timer drops — `result="panic"` when it drops while unwinding.
///
/// `name` may be built at run time: each distinct name is one `function` value, counted by
/// the global registry's cardinality guard ([`Registry::label_guard`], 1000 values unless
/// the exporter's [`max_label_values`](crate::export::PrometheusBuilder::max_label_values)
/// says otherwise). Past the limit a new name is timed under `function="__overflow__"`
/// ([`OVERFLOW`](crate::cardinality::OVERFLOW)), with one WARN, so a name holding a request id cannot grow memory or
/// series without bound. Names admitted earlier keep their own series.
///
/// ```
/// {
///     let _t = perf_core::time("load_config");
///     // ... the block's work ...
/// }
/// assert_eq!(perf_core::summary("load_config").unwrap().count, 1);
/// ```
pub fn time(name: &str) -> ScopeTimer {
    let block = match LAST.get() {
        Some(block) if block.name == name => block,
        _ => {
            let block = lookup(name);
            LAST.set(Some(block));
            block
        }
    };
    ScopeTimer {
        block,
        start: clock::now_nanos(),
    }
}

fn lookup(name: &str) -> &'static Block {
    CACHE.with(|c| {
        if let Some(b) = c.borrow().get(name) {
            return *b;
        }
        let b = block(name);
        if b.name == name {
            c.borrow_mut().insert(name.into(), b);
        }
        b
    })
}

/// The block of `name`, or of `__overflow__` once the guard refuses further names.
fn block(name: &str) -> &'static Block {
    static BLOCKS: Mutex<BTreeMap<&'static str, &'static Block>> = Mutex::new(BTreeMap::new());
    let mut blocks = BLOCKS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = blocks.get(name) {
        return b;
    }
    let registry = Registry::global();
    let name = registry
        .label_guard()
        .admit(FUNCTION_DURATION, LABEL_FUNCTION, name);
    if let Some(b) = blocks.get(name) {
        return b;
    }
    let b: &'static Block = Box::leak(Box::new(Block {
        name: Box::leak(name.into()),
        ok: LatencyHistogram::new(),
        panic: LatencyHistogram::new(),
    }));
    for (result, h) in [("ok", &b.ok), ("panic", &b.panic)] {
        registry.push(Series {
            name: b.name.into(),
            family: Family::FunctionCalls,
            labels: function_labels(b.name, "", result),
            source: Source::Static(h),
            buckets: None,
            allocs: None,
        });
    }
    blocks.insert(b.name, b);
    b
}

/// Records the time since [`time`] when dropped, also while unwinding from a panic.
#[must_use = "the block is timed until this value is dropped; bind it: `let _t = ...`"]
pub struct ScopeTimer {
    block: &'static Block,
    start: u64,
}

impl Drop for ScopeTimer {
    fn drop(&mut self) {
        let nanos = clock::now_nanos().saturating_sub(self.start);
        if std::thread::panicking() {
            self.block.panic.record_nanos(nanos);
        } else {
            self.block.ok.record_nanos(nanos);
        }
    }
}
