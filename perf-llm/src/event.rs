//! The one `tracing` event every recorded call emits, `llm_call`, with its usage, cost and
//! timings as fields: what a log pipeline reads when it has no metrics.

use crate::call::{CallStatus, LlmCall};

/// Emits the `llm_call` event of `call`: INFO when it succeeded, WARN otherwise.
pub(crate) fn emit(call: &LlmCall) {
    let u = call.usage.usage().copied().unwrap_or_default();
    // Normalised for the log only; the closures run only if a subscriber wants the event.
    let cost = call.cost.as_ref();
    macro_rules! ev {
        ($lvl:expr) => {
            tracing::event!(
                name: "llm_call",
                target: "perf_llm",
                $lvl,
                request_id = call.request_id.as_deref(),
                gen_ai_provider_name = %call.provider,
                gen_ai_operation_name = %call.operation,
                gen_ai_request_model = %call.model,
                usage = call.usage.as_str(),
                input_tokens = u.input,
                output_tokens = u.output,
                cache_read_tokens = u.cache_read,
                cache_write_tokens = u.cache_write,
                reasoning_tokens = u.reasoning,
                cost_usd = cost.map(|c| tracing::field::display(c.total.normalize())),
                cache_savings_usd = cost.map(|c| tracing::field::display(c.cache_savings().normalize())),
                latency_ms = call.latency.map(|d| d.as_secs_f64() * 1e3),
                time_to_first_chunk_ms = call.time_to_first_chunk.map(|d| d.as_secs_f64() * 1e3),
                decode_tokens_per_second = call.decode_tokens_per_second,
                status = call.status.error_type().unwrap_or("ok"),
                user = call.user.as_deref(),
                endpoint = call.endpoint.as_deref(),
                "llm_call"
            )
        };
    }
    if call.status == CallStatus::Ok {
        ev!(tracing::Level::INFO);
    } else {
        ev!(tracing::Level::WARN);
    }
}
