use rustchain::tool;

pub struct Oops;

/// Always fails.
#[tool]
fn fail() -> Result<u32, Oops> {
    Err(Oops)
}

fn main() {}
