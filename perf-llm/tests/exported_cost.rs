//! The exported money adds up: the cost counter and the cost-without-cache counter, read
//! from the Prometheus text, equal the sum of the bills to the nano-dollar, over two meters
//! recording the same series and over models folded into `__overflow__` by the exporter's
//! cardinality guard.

use std::collections::BTreeMap;

use perf_core::cardinality::OVERFLOW;
use perf_llm::names::{COST_TOTAL, COST_WITHOUT_CACHE};
use perf_llm::{Decimal, LlmCall, LlmMeter, ModelPrice, PriceTable, TokenUsage};

/// Six models priced in whole nano-dollars per token, with a cache that saves on reads and
/// costs a premium on writes.
fn table() -> PriceTable {
    let mut t = PriceTable::new();
    for i in 0..6i64 {
        let nanos = |n: i64| Decimal::new(n, 9);
        t.insert(
            format!("m{i}"),
            ModelPrice::new(nanos(1000 + i), nanos(4000 + 3 * i)).with_cache(
                nanos(100 + i),
                nanos(1250 + i),
                nanos(2000 + i),
            ),
        );
    }
    t
}

/// `(model, value)` of every series of `metric` in the exposition `text`.
fn series(text: &str, metric: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(metric)?.strip_prefix('{'))
        .map(|rest| {
            let (labels, value) = rest.rsplit_once("} ").expect("a sample line");
            let model = labels
                .split(',')
                .find_map(|kv| kv.strip_prefix("gen_ai_request_model=\""))
                .and_then(|v| v.strip_suffix('"'))
                .expect("a model label")
                .to_owned();
            (model, value.parse().expect("an integer counter"))
        })
        .collect()
}

fn nanos(usd: Decimal) -> u64 {
    let n = usd * Decimal::from(1_000_000_000u64);
    assert_eq!(
        n.fract(),
        Decimal::ZERO,
        "bills are whole nano-dollars here"
    );
    u64::try_from(n.trunc().mantissa()).unwrap()
}

#[test]
fn two_meters_and_overflowed_models_export_the_sum_of_the_bills() {
    let (recorder, exporter) = perf_core::export::prometheus()
        .max_label_values(3)
        .build()
        .unwrap();
    let global = LlmMeter::with_prices(table());
    let tenant = LlmMeter::with_prices(table());
    // Per exported model label: (cost, cost without cache) summed from the bills.
    let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    metrics::with_local_recorder(&recorder, || {
        for round in 0..40u64 {
            for i in 0..6u64 {
                let mut u = TokenUsage::new(1000 + 7 * round + i, 10 + round);
                // Some calls read the cache (they save), some only write it (they pay more).
                if round % 3 == 0 {
                    u.cache_read = 600;
                } else if round % 3 == 1 {
                    u.cache_write = 300 + i;
                    u.cache_write_1h = 100;
                }
                let meter = if (round + i) % 2 == 0 {
                    &global
                } else {
                    &tenant
                };
                let call = LlmCall::new("openai", format!("m{i}"))
                    .usage(u)
                    .record_with(meter);
                let cost = call.cost.expect("priced");
                // The label guard admits the first three models it sees.
                let label = if i < 3 {
                    format!("m{i}")
                } else {
                    OVERFLOW.to_owned()
                };
                let e = expected.entry(label).or_default();
                e.0 += nanos(cost.total);
                e.1 += nanos(cost.without_cache);
            }
        }
    });
    let text = exporter.render();
    let exported = |metric: &str| -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for (model, v) in series(&text, metric) {
            *m.entry(model).or_default() += v;
        }
        m
    };
    let cost: BTreeMap<String, u64> = expected.iter().map(|(k, v)| (k.clone(), v.0)).collect();
    let without: BTreeMap<String, u64> = expected.iter().map(|(k, v)| (k.clone(), v.1)).collect();
    assert_eq!(exported(COST_TOTAL), cost);
    assert_eq!(exported(COST_WITHOUT_CACHE), without);
    // Both meters' own totals agree with what was exported.
    let in_meters: u64 = [&global, &tenant]
        .iter()
        .flat_map(|m| m.totals())
        .map(|t| nanos(t.cost.total))
        .sum();
    assert_eq!(in_meters, cost.values().sum::<u64>());
}
