use rustchain::tool;

/// Does nothing.
#[tool(timeout = "3 fortnights")]
fn nothing() {}

fn main() {}
