use rustchain::tool;

/// Does nothing.
#[tool(timeout = "30")]
fn nothing() {}

fn main() {}
