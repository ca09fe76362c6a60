use rustchain::tool;

/// Takes seventeen numbers.
#[tool]
fn seventeen(
    /// Number 0.
    a0: u8,
    /// Number 1.
    a1: u8,
    /// Number 2.
    a2: u8,
    /// Number 3.
    a3: u8,
    /// Number 4.
    a4: u8,
    /// Number 5.
    a5: u8,
    /// Number 6.
    a6: u8,
    /// Number 7.
    a7: u8,
    /// Number 8.
    a8: u8,
    /// Number 9.
    a9: u8,
    /// Number 10.
    a10: u8,
    /// Number 11.
    a11: u8,
    /// Number 12.
    a12: u8,
    /// Number 13.
    a13: u8,
    /// Number 14.
    a14: u8,
    /// Number 15.
    a15: u8,
    /// Number 16.
    a16: u8,
) -> u8 {
    a0
}

fn main() {}
