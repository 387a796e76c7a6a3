//! Every metric and attribute name perf-llm records, in one place, with the exporter's
//! buckets for its histograms: the OpenTelemetry GenAI names, spelled as Prometheus names.
//! Import these constants; never copy a name as a string.

use perf_core::export::{
    GEN_AI_DURATION_BUCKETS, GEN_AI_TIME_PER_CHUNK_BUCKETS, GEN_AI_TOKEN_BUCKETS,
};

/// Histogram of call durations, seconds (`gen_ai.client.operation.duration`).
pub const OPERATION_DURATION: &str = "gen_ai_client_operation_duration_seconds";
/// Histogram of tokens per call, by `gen_ai_token_type` (`gen_ai.client.token.usage`).
pub const TOKEN_USAGE: &str = "gen_ai_client_token_usage";
/// Histogram of time to first chunk of streamed calls, seconds.
pub const TIME_TO_FIRST_CHUNK: &str = "gen_ai_client_operation_time_to_first_chunk_seconds";
/// Histogram of the time between output chunks of streamed calls, seconds.
pub const TIME_PER_OUTPUT_CHUNK: &str = "gen_ai_client_operation_time_per_output_chunk_seconds";
/// Counter of money spent, in **nano-USD** (10⁻⁹ $).
///
/// A `metrics` counter is a `u64`, so dollars cannot be counted directly. Each series keeps
/// its exact total in-process (integer fixed point at the prices' own scale) and each call
/// increments the counter by how much that total's floor in nano-dollars moved, so the
/// counter never drifts from the exact sum by more than 1 n$ however many calls are added.
/// Increments add up in the exporter: several meters recording the same series (a global
/// meter and one per tenant), and models folded into `__overflow__` by the cardinality
/// guard, export the sum of their bills. Divide by 1e9 in queries:
/// `sum(rate(gen_ai_client_cost_nano_usd_total[1h])) / 1e9`.
pub const COST_TOTAL: &str = "gen_ai_client_cost_nano_usd_total";
/// Counter of what the calls would have cost without the prompt cache, in **nano-USD**:
/// every input token at the input rate. Kept and incremented exactly as [`COST_TOTAL`].
///
/// The prompt-cache savings, net of the cache-write premium, are this minus
/// [`COST_TOTAL`] (negative while the cache is written and not yet read). Both are
/// counters, so the savings add up over meters and series and over any time range:
/// `(sum(increase(gen_ai_client_cost_without_cache_nano_usd_total[1d])) - sum(increase(gen_ai_client_cost_nano_usd_total[1d]))) / 1e9`.
pub const COST_WITHOUT_CACHE: &str = "gen_ai_client_cost_without_cache_nano_usd_total";
/// Counter of price lookups for models the price table does not know.
pub const UNKNOWN_MODEL_TOTAL: &str = "gen_ai_client_unknown_model_total";
/// Attribute: the operation (`chat`, `embeddings`, `text_completion` …).
pub const ATTR_OPERATION: &str = "gen_ai_operation_name";
/// Attribute: the provider (`openai`, `anthropic` …).
pub const ATTR_PROVIDER: &str = "gen_ai_provider_name";
/// Attribute: the model asked for.
pub const ATTR_MODEL: &str = "gen_ai_request_model";
/// Attribute of [`TOKEN_USAGE`]: `input` or `output`.
pub const ATTR_TOKEN_TYPE: &str = "gen_ai_token_type";
/// Attribute of failed calls: the error's type.
pub const ATTR_ERROR: &str = "error_type";

/// The exporter's buckets for perf-llm's histograms; the facade passes them to the exporter.
/// Each histogram name above is paired with its OpenTelemetry GenAI bucket set.
///
/// ```
/// use perf_llm::names::{HISTOGRAM_BUCKETS, TOKEN_USAGE};
/// let (_, buckets) = HISTOGRAM_BUCKETS.iter().find(|(n, _)| *n == TOKEN_USAGE).unwrap();
/// assert_eq!(buckets.first(), Some(&1.0));
/// ```
pub const HISTOGRAM_BUCKETS: &[(&str, &[f64])] = &[
    (OPERATION_DURATION, GEN_AI_DURATION_BUCKETS),
    (TIME_TO_FIRST_CHUNK, GEN_AI_DURATION_BUCKETS),
    (TIME_PER_OUTPUT_CHUNK, GEN_AI_TIME_PER_CHUNK_BUCKETS),
    (TOKEN_USAGE, GEN_AI_TOKEN_BUCKETS),
];

/// The HELP text of [`UNKNOWN_MODEL_TOTAL`], given to the recorder wherever it is counted.
pub(crate) fn describe_unknown_model() {
    metrics::describe_counter!(
        UNKNOWN_MODEL_TOTAL,
        "Price lookups for models the price table does not know, by model."
    );
}

/// Every metric family perf-llm exports: what a dashboard or an alert rule may read.
pub const METRICS: &[&str] = &[
    OPERATION_DURATION,
    TOKEN_USAGE,
    TIME_TO_FIRST_CHUNK,
    TIME_PER_OUTPUT_CHUNK,
    COST_TOTAL,
    COST_WITHOUT_CACHE,
    UNKNOWN_MODEL_TOTAL,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_histogram_has_buckets_and_nothing_else_does() {
        let mut with_buckets: Vec<&str> = HISTOGRAM_BUCKETS.iter().map(|(n, _)| *n).collect();
        with_buckets.sort_unstable();
        let mut histograms = vec![
            OPERATION_DURATION,
            TOKEN_USAGE,
            TIME_TO_FIRST_CHUNK,
            TIME_PER_OUTPUT_CHUNK,
        ];
        histograms.sort_unstable();
        assert_eq!(with_buckets, histograms);
        assert!(HISTOGRAM_BUCKETS.iter().all(|(_, b)| !b.is_empty()));
    }
}
