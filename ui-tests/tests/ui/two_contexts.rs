use rustchain::tool;

/// Compares two contexts.
#[tool]
fn compare(first: &rustchain::ToolContext, second: &rustchain::ToolContext) -> bool {
    std::ptr::eq(first, second)
}

fn main() {}
