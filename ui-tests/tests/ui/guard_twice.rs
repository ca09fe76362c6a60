use rustchain::tool;

/// Fetches and saves.
#[tool]
fn fetch(
    /// Where from, and where to.
    #[net]
    #[fs(write)]
    target: String,
) -> String {
    target
}

fn main() {}
