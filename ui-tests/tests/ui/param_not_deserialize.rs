use rustchain::tool;

pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Measures a point's distance from the origin.
#[tool]
fn norm(
    /// The point.
    point: Point,
) -> f64 {
    (point.x * point.x + point.y * point.y).sqrt()
}

fn main() {}
