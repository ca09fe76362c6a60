use rustchain::tool;

/// Reads memory.
#[tool]
unsafe fn peek(
    /// The address.
    address: usize,
) -> u8 {
    unsafe { *(address as *const u8) }
}

fn main() {}
