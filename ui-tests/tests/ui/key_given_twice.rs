use rustchain::tool;

/// Does nothing.
#[tool(name = "first", name = "second")]
fn nothing() {}

fn main() {}
