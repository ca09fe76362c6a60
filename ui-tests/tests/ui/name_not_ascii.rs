use rustchain::tool;

/// Reports the weather.
#[tool]
fn wetter_über() -> String {
    String::new()
}

fn main() {}
