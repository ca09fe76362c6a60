use rustchain::tool;

/// The answer.
#[tool]
extern "C" fn answer() -> u32 {
    42
}

fn main() {}
