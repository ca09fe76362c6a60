use rustchain::tool;

/// Does nothing.
#[tool(timeout = "3 days")]
fn nothing() {}

fn main() {}
