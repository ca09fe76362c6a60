use rustchain::tool;

/// Reports the weather for a city.
#[tool]
fn get_weather(city: String) -> String {
    city
}

fn main() {}
