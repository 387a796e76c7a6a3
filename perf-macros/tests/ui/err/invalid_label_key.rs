// A Rust identifier may be any Unicode word; a Prometheus label name is ASCII only.
#[perf_core::timed(labels(région = "eu", r#type = "batch"))]
fn handle() {}

struct Shop;

#[perf_core::timed(labels(zone = "a"))]
impl Shop {
    #[perf_core::timed(labels(größe = "xl"))]
    fn sell(&self) {}
}

fn main() {
    handle();
    Shop.sell();
}
