use rustchain::tool;

/// Counts bytes.
#[tool]
fn count_bytes(
    /// The bytes.
    bytes: &[u8],
) -> usize {
    bytes.len()
}

fn main() {}
