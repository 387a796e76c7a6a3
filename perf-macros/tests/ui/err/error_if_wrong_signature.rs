fn is_bad(x: &String) -> bool {
    x.is_empty()
}

#[perf_core::timed(error_if = is_bad)]
fn handle() -> u32 {
    1
}

fn main() {
    handle();
}
