use rustchain::tool;

/// Reports the weather.
#[tool(name = "get.weather")]
fn get_weather() -> String {
    String::new()
}

fn main() {}
