use rustchain::tool;

/// Does nothing.
#[tool(read_only, read_only = false)]
fn nothing() {}

fn main() {}
