use rustchain::tool;

/// The first tool.
#[tool(name = "1tool")]
fn first() {}

fn main() {}
