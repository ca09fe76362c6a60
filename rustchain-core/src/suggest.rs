//! "Did you mean": the linked tool names closest to a name that matched none.

use crate::Registry;

/// At most this many names are suggested.
const MAX_SUGGESTIONS: usize = 3;

impl Registry {
    /// The tool names closest to `name`, best first: names a few edits away,
    /// then names containing it (`weather` finds `get_weather`). At most three.
    ///
    /// Only for error messages: it scans every tool.
    pub fn suggest(&self, name: &str) -> Vec<&'static str> {
        near_names(self, name)
    }

    /// A sentence that helps a model or a person find the tool they meant.
    pub fn not_found_message(&self, name: &str) -> String {
        let hint = match self.suggest(name).as_slice() {
            [] => "list the available tools and use one of their exact names".to_owned(),
            near => {
                let names: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
                format!("did you mean {}?", names.join(" or "))
            }
        };
        format!("no tool named `{}`; {hint}", shown(name))
    }
}

fn near_names(registry: &Registry, name: &str) -> Vec<&'static str> {
    // No tool name is longer; a longer one from a model gets no (costly) hint.
    if name.len() > 64 {
        return Vec::new();
    }
    let wanted = name.to_lowercase();
    let mut near: Vec<(usize, &'static str)> = registry
        .tools()
        .filter_map(|tool| {
            let candidate = tool.name();
            let lower = candidate.to_lowercase();
            let distance = strsim::levenshtein(&wanted, &lower);
            if distance <= 2.max(candidate.len() / 3) {
                Some((distance, candidate))
            } else if !wanted.is_empty() && lower.contains(&wanted) {
                // After every close spelling, however long the name.
                Some((usize::MAX, candidate))
            } else {
                None
            }
        })
        .collect();
    near.sort();
    near.into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, name)| name)
        .collect()
}

/// `name` made safe to quote (also used by the CLI) in a message: bounded and without control characters.
pub fn shown(name: &str) -> String {
    let mut shown: String = name.chars().take(80).collect();
    if shown.len() < name.len() {
        shown.push_str("...");
    }
    shown.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_names_are_bounded_and_escaped() {
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown(&"x".repeat(200)).len(), 83);
    }
}
