use rustchain::tool;

/// Greets someone.
#[tool]
fn greet(
    /// Who to greet.
    name: &str,
) -> String {
    format!("hello {name}")
}

fn main() {}
