use rustchain::tool;

/// Overridden below by an empty description.
#[tool(description = "  ")]
fn blank() {}

fn main() {}
