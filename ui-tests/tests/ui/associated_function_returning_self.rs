use rustchain::tool;

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Counter(u64);

impl Counter {
    /// Makes a counter.
    #[tool]
    fn start(
        /// Where to start.
        at: u64,
    ) -> Self {
        Counter(at)
    }
}

fn main() {}
