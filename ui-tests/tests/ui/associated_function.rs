use rustchain::tool;

struct Calculator;

impl Calculator {
    /// Adds two numbers.
    #[tool]
    fn add(
        /// The first addend.
        a: i64,
        /// The second addend.
        b: i64,
    ) -> i64 {
        a + b
    }
}

fn main() {}
