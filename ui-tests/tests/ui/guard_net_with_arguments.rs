use rustchain::tool;

/// Fetches a page.
#[tool]
fn fetch(
    /// The page.
    #[net(https)]
    url: String,
) -> String {
    url
}

fn main() {}
