use rustchain::tool;

/// Adds the two numbers of a pair.
#[tool]
fn add_pair(
    /// The pair to add.
    (a, b): (i32, i32),
) -> i32 {
    a + b
}

fn main() {}
