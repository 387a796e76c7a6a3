use perf_core::timed;

trait Shape {
    fn area(&self) -> f64;

    #[timed]
    fn describe(&self) -> String {
        format!("area {}", self.area())
    }
}

struct Square(f64);

impl Shape for Square {
    #[timed]
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}

#[timed]
impl std::fmt::Display for Square {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "square {}", self.0)
    }
}

fn main() {
    Square(2.0).describe();
    let _ = Square(1.0).to_string();
}
