use rustchain::tool;

/// Ignores its argument.
#[tool]
fn ignore(
    /// Anything.
    _: i32,
) {
}

fn main() {}
