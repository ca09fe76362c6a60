use rustchain::tool;

/// Counts to five.
#[tool(name = 5)]
fn count() {}

fn main() {}
