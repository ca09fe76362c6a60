use rustchain::tool;

pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// The origin.
#[tool]
fn origin() -> Result<Point, String> {
    Ok(Point { x: 0.0, y: 0.0 })
}

fn main() {}
