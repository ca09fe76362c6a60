//! An example tool crate: plain functions with `#[tool]`.
//!
//! A program links these tools by naming the crate: `use my_tools as _;`.
//!
//! The crate depends on `rustchain` alone (no features) for `#[tool]`, and its
//! own types derive serde and schemars through the facade's re-exports, each
//! with the `crate` attributes that say where those are.

use rustchain::files::FsPath;
use rustchain::schemars::JsonSchema;
use rustchain::serde::{Deserialize, Serialize};
use rustchain::{ToolContext, ToolError, tool};

/// Adds two integers.
#[tool(read_only, idempotent, tags("math"))]
pub fn add(
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
) -> i64 {
    a + b
}

/// Units for a temperature.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(crate = "rustchain::serde", rename_all = "lowercase")]
#[schemars(crate = "rustchain::schemars")]
pub enum Units {
    /// Degrees Celsius.
    Celsius,
    /// Degrees Fahrenheit.
    Fahrenheit,
}

/// A weather report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(crate = "rustchain::serde")]
#[schemars(crate = "rustchain::schemars")]
pub struct Report {
    /// The city reported on.
    pub city: String,
    /// The temperature, in the units asked for.
    pub temperature: f64,
    /// The units of `temperature`.
    pub units: Units,
}

/// Reports the weather for a city (a deterministic stand-in for a real service).
#[tool(title = "Get weather", read_only, open_world, tags("weather"))]
pub fn get_weather(
    /// The city, like "Oslo".
    city: String,
    /// Celsius unless asked otherwise.
    units: Option<Units>,
) -> Result<Report, String> {
    if city.trim().is_empty() {
        return Err("the city is empty; name a city such as \"Oslo\"".to_owned());
    }
    let units = units.unwrap_or(Units::Celsius);
    let celsius = (city.len() % 30) as f64;
    let temperature = match units {
        Units::Celsius => celsius,
        Units::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
    };
    Ok(Report {
        city,
        temperature,
        units,
    })
}

/// A point on a plane.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(crate = "rustchain::serde", deny_unknown_fields)]
#[schemars(crate = "rustchain::schemars")]
pub struct Point {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
}

/// Measures the length of a path through points.
#[tool(read_only, tags("math", "geometry"))]
pub fn path_length(
    /// The points, in order.
    points: Vec<Point>,
) -> f64 {
    points
        .windows(2)
        .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
        .sum()
}

/// Reads a UTF-8 text file (at most 16 MiB) in a folder the policy grants for reading.
///
/// The path is absolute, or relative to the working directory. Links are
/// followed only while they stay inside the granted folder.
#[tool(read_only, idempotent, tags("files"))]
pub fn read_note(
    /// The file to read, like `notes/todo.md`.
    #[fs(read)]
    path: FsPath,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    // Not std::fs: the file system may change after the guard's check, and
    // ctx.fs() opens under the policy's grants through capability handles.
    ctx.fs().read_to_string(&path)
}

/// Waits, then echoes a message; watches the call's cancellation.
#[tool(timeout = "2s", tags("demo"))]
pub async fn slow_echo(
    /// What to echo back.
    message: String,
    /// How long to wait first, in milliseconds.
    delay_ms: u64,
    ctx: &ToolContext,
) -> Result<String, String> {
    tokio::select! {
        () = tokio::time::sleep(std::time::Duration::from_millis(delay_ms)) => Ok(message),
        () = ctx.cancellation().cancelled() => Err("cancelled before the delay ended".to_owned()),
    }
}
