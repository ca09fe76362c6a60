use rustchain::tool;

/// Does nothing.
#[tool(read_only = "yes")]
fn nothing() {}

fn main() {}
