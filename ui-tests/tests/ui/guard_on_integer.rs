use rustchain::tool;

/// Reads a file.
#[tool]
fn read(
    /// Which file.
    #[fs(read)]
    file_number: u32,
) -> u32 {
    file_number
}

fn main() {}
