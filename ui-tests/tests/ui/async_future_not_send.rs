use rustchain::tool;
use std::rc::Rc;

/// Counts after a pause.
#[tool]
async fn count() -> usize {
    let shared = Rc::new(1);
    std::future::ready(()).await;
    *shared
}

fn main() {}
