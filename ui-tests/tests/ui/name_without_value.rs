use rustchain::tool;

/// Does nothing.
#[tool(name)]
fn nothing() {}

fn main() {}
