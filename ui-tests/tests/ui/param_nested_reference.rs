use rustchain::tool;

/// Greets someone, or everyone.
#[tool]
fn greet(
    /// Who to greet; everyone when left out.
    name: Option<&str>,
) -> String {
    format!("hello {}", name.unwrap_or("everyone"))
}

fn main() {}
