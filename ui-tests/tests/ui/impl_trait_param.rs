use rustchain::tool;

/// Prints a value.
#[tool]
fn show(
    /// The value.
    value: impl std::fmt::Display,
) -> String {
    value.to_string()
}

fn main() {}
