use rustchain::tool;

/// Does nothing.
#[tool(tags(math))]
fn nothing() {}

fn main() {}
