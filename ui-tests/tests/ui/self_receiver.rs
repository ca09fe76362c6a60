use rustchain::tool;

struct Counter(u64);

impl Counter {
    /// Reads the counter.
    #[tool]
    fn read(&self) -> u64 {
        self.0
    }
}

fn main() {}
