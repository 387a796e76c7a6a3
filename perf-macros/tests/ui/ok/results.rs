use perf_core::timed;

#[derive(Debug)]
struct E;

impl From<std::num::ParseIntError> for E {
    fn from(_: std::num::ParseIntError) -> Self {
        E
    }
}

#[timed]
fn question_mark(s: &str) -> Result<u32, E> {
    let n = s.parse::<u32>()?;
    if n == 0 {
        return Err(E);
    }
    Ok(n)
}

#[timed]
fn io_alias() -> std::io::Result<Vec<u8>> {
    Ok(std::fs::read("/nonexistent").unwrap_or_default())
}

#[timed]
fn inferred_ok() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let v = "1,2".split(',').map(str::parse).collect::<Result<_, _>>()?;
    Ok(v)
}

#[timed]
fn option() -> Option<u8> {
    let x: Option<u8> = Some(1);
    Some(x? + 1)
}

fn main() {
    let _ = question_mark("1");
    let _ = io_alias();
    let _ = inferred_ok();
    let _ = option();
}
