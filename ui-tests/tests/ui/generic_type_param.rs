use rustchain::tool;

/// Echoes a value.
#[tool]
fn echo<T>(
    /// The value.
    value: T,
) -> T {
    value
}

fn main() {}
