use rustchain::tool;

#[tool]
fn undocumented() {}

fn main() {}
