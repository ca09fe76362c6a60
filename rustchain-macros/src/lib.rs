//! The `#[tool]` attribute of RustChain Tools.
//!
//! Use it through the `rustchain` crate (`rustchain::tool`); the generated code
//! names the runtime by that path unless `#[tool(crate = "...")]` says otherwise.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Turns a plain function into a tool an AI model can call.
///
/// The function's `///` doc comment is the tool's description, a `///`
/// comment on each parameter that parameter's, and the parameter types make
/// the tool's JSON Schema. A tool is a free function at module level (not in
/// an `impl` block), sync or async, not generic, taking owned values that
/// implement `serde::Deserialize` and `schemars::JsonSchema` (schemars 1), and
/// at most one `&ToolContext`. It returns a value that implements
/// `serde::Serialize` and `schemars::JsonSchema`, or a `Result` of one.
///
/// ```ignore
/// use rustchain::{tool, ToolContext};
///
/// /// Reports the weather for a city.
/// #[tool]
/// fn get_weather(
///     /// The city, like "Oslo".
///     city: String,
///     /// Celsius unless asked otherwise.
///     units: Option<String>,
///     ctx: &ToolContext,
/// ) -> Result<String, std::io::Error> {
///     Ok(format!("sunny in {city}"))
/// }
/// ```
///
/// The examples here are `ignore`d because a proc-macro crate's doctests
/// cannot use its own attribute; the `rustchain` crate's documentation and
/// tests compile the same forms.
///
/// # `#[tool(...)]` arguments
///
/// All are optional; give each at most once.
///
/// - `name = "..."`: the name models call the tool by, instead of the
///   function's. It must match `^[A-Za-z][A-Za-z0-9_-]{0,63}$`, the names every
///   provider accepts; two linked tools with one name fail to link.
///
///   ```ignore
///   #[tool(name = "weather-now")]
///   fn get_weather(/** The city. */ city: String) -> String { city }
///   ```
/// - `title = "..."`: a short human-readable title (MCP's `title`).
///
///   ```ignore
///   #[tool(title = "Get weather")]
///   ```
/// - `description = "..."`: the description, instead of the doc comment.
///
///   ```ignore
///   #[tool(description = "Reports the weather for a city.")]
///   ```
/// - `read_only`, `destructive`, `idempotent`, `open_world`: hints for
///   clients (MCP tool annotations). Alone a flag means `true`; `= false`
///   says the opposite explicitly; left out, nothing is claimed.
///
///   ```ignore
///   #[tool(read_only, idempotent, open_world = false)]
///   ```
/// - `tags("...", ...)`: labels for listing and search.
///
///   ```ignore
///   #[tool(tags("math", "geometry"))]
///   ```
/// - `timeout = "..."`: the tool's own timeout, a whole number with a unit
///   (`ms`, `s`, `m` or `min`, `h`); the policy may override it.
///
///   ```ignore
///   #[tool(timeout = "30s")]
///   ```
/// - `crate = "..."`: the path the generated code names the `rustchain`
///   crate by, for a crate that re-exports it under another name.
///
///   ```ignore
///   #[tool(crate = "::my_framework::rustchain")]
///   ```
///
/// # Guard attributes on parameters
///
/// A guard says what a parameter's value will be used for. The call is
/// checked against the policy after decoding and before the body runs, on the
/// same value the body receives, and the permission is listed in the tool's
/// descriptor (listings, the security scan, the marketplace). A guarded
/// parameter is text or a path: `String` or `PathBuf`, or an `Option` or
/// `Vec` of them. A parameter carries at most one guard.
///
/// - `#[fs(read)]`: a file or folder the tool reads; it must lie under a
///   root in the policy's `[fs] read`, and match no `[fs] deny` glob.
///
///   ```ignore
///   #[tool(read_only)]
///   fn count_lines(/** The file to count. */ #[fs(read)] path: PathBuf) -> usize { 0 }
///   ```
/// - `#[fs(write)]`: a file or folder the tool writes or creates; under a
///   root in `[fs] write`.
///
///   ```ignore
///   #[tool(destructive)]
///   fn save(/** Where to write. */ #[fs(write)] path: PathBuf, /** What. */ text: String) {}
///   ```
/// - `#[net]`: a URL or host the tool connects to; its host must be in
///   `[net] allow` and not in `[net] deny`.
///
///   ```ignore
///   #[tool(open_world)]
///   fn fetch(/** The page's URL. */ #[net] url: String) -> String { url }
///   ```
/// - `#[run]`: a program the tool runs; it must be one of the policy's
///   `[[programs]]`, by absolute path.
///
///   ```ignore
///   #[tool]
///   fn run(/** The program. */ #[run] program: String) -> i32 { 0 }
///   ```
/// - `#[run(args)]`: the arguments passed to the tool's `#[run]` program;
///   together they are checked against that program's `deny_flags` and, if
///   it has them, its `allow_args` forms.
///
///   ```ignore
///   #[tool]
///   fn run(
///       /** The program. */ #[run] program: String,
///       /** Its arguments. */ #[run(args)] args: Vec<String>,
///   ) -> i32 { 0 }
///   ```
/// - `#[env]`: the name of an environment variable the tool reads; it must
///   be in `[env] allow`.
///
///   ```ignore
///   #[tool(read_only)]
///   fn env_var(/** The variable's name. */ #[env] name: String) -> Option<String> {
///       std::env::var(name).ok()
///   }
///   ```
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    ast::Tool::parse(args.into(), item.into())
        .and_then(|tool| valid::check(&tool).map(|()| tool))
        .map(|tool| expand::expand(&tool))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
