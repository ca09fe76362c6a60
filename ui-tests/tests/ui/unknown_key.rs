use rustchain::tool;

/// Does nothing.
#[tool(nme = "x")]
fn nothing() {}

fn main() {}
