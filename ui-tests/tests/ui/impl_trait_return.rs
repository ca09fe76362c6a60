use rustchain::tool;

/// Prints a value.
#[tool]
fn show() -> impl std::fmt::Display {
    42
}

fn main() {}
