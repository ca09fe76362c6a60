use rustchain::tool;

/// Does nothing.
#[tool(title = "")]
fn nothing() {}

fn main() {}
