use rustchain::tool;

/// Does nothing.
#[tool(crate = "not a path")]
fn nothing() {}

fn main() {}
