use rustchain::tool;

/// Does nothing.
#[tool(timeout = "0s")]
fn nothing() {}

fn main() {}
