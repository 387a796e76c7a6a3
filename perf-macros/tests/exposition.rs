//! What `#[timed]` produces in the Prometheus exposition: `function_calls_total` and
//! `function_calls_duration_seconds` with `function`, `module`, `result` and static labels,
//! per-function buckets; methods named by their type, so no two series collide.

use std::collections::BTreeMap;

use perf_core::export::{render, RenderOptions};
use perf_core::{timed, Registry};

#[timed(labels(tier = "gold"))]
fn expo_checkout(fail: bool) -> Result<(), String> {
    if fail {
        Err("declined".into())
    } else {
        Ok(())
    }
}

#[timed(name = "expo_renamed", buckets = [0.5, 1, 2.5])]
fn expo_buckets() {}

// Each test calls its own fn: tests run in parallel on one global registry, so a fn shared
// between two tests would have its counts raced.
#[timed]
fn expo_beside_facade() {}

#[timed]
async fn expo_async(fail: bool) -> Result<u32, String> {
    tokio::task::yield_now().await;
    if fail {
        Err("declined".into())
    } else {
        Ok(1)
    }
}

#[timed]
fn expo_panics(panics: bool) -> u32 {
    if panics {
        panic!("expo_panics was asked to");
    }
    1
}

#[timed]
async fn expo_cancelled() {
    std::future::pending::<()>().await
}

fn text() -> String {
    render(Registry::global(), &RenderOptions::default())
}

#[test]
fn calls_total_and_duration_carry_the_result_label() {
    expo_checkout(false).unwrap();
    expo_checkout(true).unwrap_err();
    expo_checkout(true).unwrap_err();
    let text = text();
    let labels = |result: &str| {
        format!("{{function=\"expo_checkout\",module=\"exposition\",result=\"{result}\",tier=\"gold\"}}")
    };
    assert!(
        text.contains(&format!("function_calls_total{} 2\n", labels("error"))),
        "{text}"
    );
    assert!(text.contains(&format!("function_calls_total{} 1\n", labels("ok"))));
    assert!(text.contains(&format!(
        "function_calls_duration_seconds_count{} 2\n",
        labels("error")
    )));
    assert!(text.contains("# TYPE function_calls_duration_seconds histogram"));
    assert!(text.contains("# TYPE function_calls_total counter"));
}

#[test]
fn per_function_buckets_and_name() {
    expo_buckets();
    let text = text();
    let series = "function=\"expo_renamed\",module=\"exposition\",result=\"ok\"";
    for le in ["0.5", "1", "2.5", "+Inf"] {
        assert!(
            text.contains(&format!(
                "function_calls_duration_seconds_bucket{{{series},le=\"{le}\"}} 1\n"
            )),
            "le={le}\n{text}"
        );
    }
    // Only the fn's own buckets, not the exporter's defaults.
    assert!(!text.contains(&format!("{{{series},le=\"0.005\"}}")));
}

#[test]
fn full_exporter_renders_timed_calls_next_to_facade_metrics() {
    let (recorder, exporter) = perf_core::export::prometheus().build().unwrap();
    expo_beside_facade();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("expo_facade_total").increment(3);
    });
    let text = exporter.render();
    assert!(
        text.contains(
            "function_calls_total{function=\"expo_beside_facade\",module=\"exposition\",result=\"ok\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("expo_facade_total 3\n"), "{text}");
}

/// Two types of one module with methods of the same names, timed both ways: on the impl
/// block and on each method, inherent and trait impls.
mod shop {
    use std::fmt;

    use perf_core::timed;

    pub struct Cart(pub u32);
    pub struct Order(pub u32);
    pub struct Wrapper<T>(pub T);

    #[timed]
    impl Cart {
        pub fn new(n: u32) -> Cart {
            Cart(n)
        }

        pub fn get(&self) -> u32 {
            self.0
        }
    }

    #[timed]
    impl fmt::Display for Cart {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cart {}", self.0)
        }
    }

    impl Order {
        #[timed]
        pub fn new(n: u32) -> Self {
            Order(n)
        }

        #[timed]
        pub fn get(&self) -> u32 {
            self.0
        }

        #[timed]
        pub async fn call(&self) -> u32 {
            self.0
        }
    }

    impl fmt::Display for Order {
        #[timed]
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "order {}", self.0)
        }
    }

    #[timed]
    impl<T: Copy> Wrapper<T> {
        pub fn get(&self) -> T {
            self.0
        }

        pub async fn call(&self) -> T {
            self.0
        }
    }

    /// A free fn of the same name keeps its plain name.
    #[timed]
    pub fn get() -> u32 {
        0
    }
}

/// A series by metric name and its labels sorted by key.
type SeriesKey = (String, Vec<(String, String)>);

/// Every sample line of a text exposition, strictly parsed, keyed by the metric name and
/// its labels sorted by key. Panics on a malformed line, a label key given twice in one
/// series, or two series with the same name and label set (Prometheus keeps one of them).
fn strict_series(text: &str) -> BTreeMap<SeriesKey, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|e| panic!("bad value in {line:?}: {e}")),
        };
        let (name, mut labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                (name, parse_labels(body, line))
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_alphabetic()
                        || c == '_'
                        || c == ':'
                        || (i > 0 && c.is_ascii_digit())),
            "bad metric name in {line:?}"
        );
        labels.sort();
        for pair in labels.windows(2) {
            assert_ne!(pair[0].0, pair[1].0, "label key twice in {line:?}");
        }
        let key = (name.to_owned(), labels);
        if let Some(first) = out.insert(key.clone(), value) {
            panic!("two series {key:?} (values {first} and {value}): Prometheus keeps one");
        }
    }
    out
}

/// `k="v",k2="v2"` with `\\`, `\"` and `\n` escapes in values.
fn parse_labels(mut body: &str, line: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    while !body.is_empty() {
        let (key, rest) = body
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label in {line:?}"));
        assert!(
            !key.is_empty()
                && key.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic()
                    || c == '_'
                    || (i > 0 && c.is_ascii_digit())),
            "bad label key {key:?} in {line:?}"
        );
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        labels.push((key.to_owned(), value));
        body = &rest[end + 1..];
        if !body.is_empty() {
            body = body
                .strip_prefix(',')
                .unwrap_or_else(|| panic!("expected `,` between labels in {line:?}"));
        }
    }
    labels
}

/// The value of `function_calls_total` for `function` in `module`, with `result`.
fn calls(series: &BTreeMap<SeriesKey, f64>, function: &str, module: &str, result: &str) -> f64 {
    let labels = vec![
        ("function".to_owned(), function.to_owned()),
        ("module".to_owned(), module.to_owned()),
        ("result".to_owned(), result.to_owned()),
    ];
    series
        .get(&("function_calls_total".to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

#[test]
fn same_name_methods_of_two_types_are_distinct_series() {
    use shop::{Cart, Order, Wrapper};

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cart = Cart::new(1);
    let order = Order::new(2);
    let _ = Order::new(3);
    assert_eq!(cart.get() + order.get() + order.get() + shop::get(), 5);
    assert_eq!(format!("{cart} {order}"), "cart 1 order 2");
    assert_eq!(rt.block_on(order.call()), 2);
    let w = Wrapper(7u8);
    assert_eq!(w.get(), 7);
    assert_eq!(rt.block_on(w.call()) + rt.block_on(w.call()), 14);

    let series = strict_series(&text());
    let module = "exposition::shop";
    for (function, n) in [
        ("Cart::new", 1.0),
        ("Cart::get", 1.0),
        ("Cart::fmt", 1.0),
        ("Order::new", 2.0),
        ("Order::get", 2.0),
        ("Order::call", 1.0),
        ("Order::fmt", 1.0),
        ("Wrapper::get", 1.0),
        ("Wrapper::call", 2.0),
        ("get", 1.0),
    ] {
        assert_eq!(calls(&series, function, module, "ok"), n, "{function}");
    }
    for bare in ["new", "fmt", "call"] {
        assert_eq!(calls(&series, bare, module, "ok"), 0.0, "{bare}");
    }
    // `summary()` reads each method alone.
    assert_eq!(perf_core::summary("Order::get").unwrap().count, 2);
    assert_eq!(perf_core::summary("Cart::get").unwrap().count, 1);
}

/// `function_calls_total`, `_count`, `_sum` and the `+Inf` bucket of one series, which must
/// agree: `(total, count, +Inf bucket)`.
fn call_counts(series: &BTreeMap<SeriesKey, f64>, function: &str, result: &str) -> (f64, f64, f64) {
    let labels = |extra: Option<(&str, &str)>| {
        let mut l = vec![
            ("function".to_owned(), function.to_owned()),
            ("module".to_owned(), "exposition".to_owned()),
            ("result".to_owned(), result.to_owned()),
        ];
        l.extend(extra.map(|(k, v)| (k.to_owned(), v.to_owned())));
        l.sort();
        l
    };
    let get = |name: &str, extra| {
        series
            .get(&(name.to_owned(), labels(extra)))
            .copied()
            .unwrap_or(0.0)
    };
    (
        get("function_calls_total", None),
        get("function_calls_duration_seconds_count", None),
        get(
            "function_calls_duration_seconds_bucket",
            Some(("le", "+Inf")),
        ),
    )
}

#[test]
fn async_panic_and_cancelled_calls_carry_their_result_label() {
    use std::future::Future;
    use std::task::{Context, Waker};

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(expo_async(false)), Ok(1));
    assert_eq!(rt.block_on(expo_async(false)), Ok(1));
    assert!(rt.block_on(expo_async(true)).is_err());
    // Built and dropped unpolled: it did no work and records nothing.
    drop(expo_async(false));

    assert_eq!(expo_panics(false), 1);
    let caught = std::panic::catch_unwind(|| expo_panics(true));
    assert!(caught.is_err());

    let mut cx = Context::from_waker(Waker::noop());
    let mut pending = Box::pin(expo_cancelled());
    assert!(pending.as_mut().poll(&mut cx).is_pending());
    drop(pending);
    drop(expo_cancelled());

    let series = strict_series(&text());
    for (function, result, n) in [
        ("expo_async", "ok", 2.0),
        ("expo_async", "error", 1.0),
        ("expo_async", "panic", 0.0),
        ("expo_async", "cancelled", 0.0),
        ("expo_panics", "ok", 1.0),
        ("expo_panics", "panic", 1.0),
        ("expo_panics", "error", 0.0),
        ("expo_cancelled", "cancelled", 1.0),
        ("expo_cancelled", "ok", 0.0),
    ] {
        assert_eq!(
            call_counts(&series, function, result),
            (n, n, n),
            "{function} {result}"
        );
    }
}
