use rustchain::tool;

/// Runs a file.
#[tool]
fn exec(
    /// Which file.
    #[fs(exec)]
    path: String,
) -> String {
    path
}

fn main() {}
