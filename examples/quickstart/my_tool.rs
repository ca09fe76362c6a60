---cargo
[package]
version = "0.1.0"
license = "MIT OR Apache-2.0"
description = "Turns titles into URL slugs."
---
//! The quickstart's tool: a plain function with `#[tool]`, in a file of its own.
//!
//! `rustchain tools register my_tool.rs` builds it into the project's agent,
//! beside the built-in tools. The cargo frontmatter block at its very top (as
//! `cargo -Zscript` reads it) carries the metadata `rustchain tools publish`
//! puts in a marketplace index, and may declare dependencies too:
//!
//! ```text
//! [dependencies]
//! regex = "1"
//! ```

use rustchain::tool;

/// Turns a title into a URL slug: its words in lowercase, joined by dashes.
///
/// Letters and digits make words; everything else separates them.
#[tool(read_only, idempotent, tags("text"))]
pub fn my_tool(
    /// The title to turn into a slug, such as "Hello, World!".
    title: String,
) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_lowercased_and_joined_by_dashes() {
        assert_eq!(super::my_tool("Hello, RustChain Tools!".into()), "hello-rustchain-tools");
        assert_eq!(super::my_tool("  ".into()), "");
    }
}
