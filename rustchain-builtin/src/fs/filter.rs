//! The `glob` argument of `fs_list` and `fs_search`: which entries of a walk
//! the model asked for.

use std::path::Path;

use rustchain_tools::ToolError;

/// A `glob` argument: with a `/` it matches the path below the folder
/// (`src/**/*.rs`), without one the entry's name (`*.md`).
pub struct NameFilter {
    matcher: globset::GlobMatcher,
    whole_path: bool,
}

impl NameFilter {
    /// Compiles the model's glob; a bad one names the argument.
    pub fn new(glob: Option<&str>) -> Result<Option<NameFilter>, ToolError> {
        let Some(glob) = glob else { return Ok(None) };
        let matcher = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
            .map_err(|err| {
                ToolError::invalid_argument(
                    "glob",
                    format!(
                        "the glob {glob:?} is not valid ({}); write one like `*.md` or `src/**/*.rs`",
                        err.kind()
                    ),
                )
            })?
            .compile_matcher();
        Ok(Some(NameFilter {
            matcher,
            whole_path: glob.contains('/'),
        }))
    }

    /// Whether the entry at `rel` (below the walked folder) passes.
    pub fn passes(filter: &Option<NameFilter>, rel: &Path, name: &str) -> bool {
        match filter {
            None => true,
            Some(filter) if filter.whole_path => filter.matcher.is_match(rel),
            Some(filter) => filter.matcher.is_match(name),
        }
    }
}
