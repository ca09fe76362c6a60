//! `text_stats`: counts in a piece of text.

use rustchain_macros::tool;

/// Counts of characters, words and lines in a text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct TextStats {
    /// Unicode scalar values.
    pub chars: usize,
    /// Runs of non-whitespace.
    pub words: usize,
    /// Lines, counting a last line without a newline.
    pub lines: usize,
}

/// Counts the characters, words and lines in a text.
#[tool(crate = "rustchain_tools", read_only, idempotent, tags("text"))]
pub fn text_stats(
    /// The text to measure.
    text: String,
) -> TextStats {
    TextStats {
        chars: text.chars().count(),
        words: text.split_whitespace().count(),
        lines: text.lines().count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_text() {
        let stats = text_stats("one two\nthree".to_owned());
        assert_eq!(
            stats,
            TextStats {
                chars: 13,
                words: 3,
                lines: 2
            }
        );
    }
}
