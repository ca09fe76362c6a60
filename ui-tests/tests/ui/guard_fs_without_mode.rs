use rustchain::tool;

/// Reads a file.
#[tool]
fn read(
    /// Which file.
    #[fs]
    path: String,
) -> String {
    path
}

fn main() {}
