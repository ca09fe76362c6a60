//! `tools new NAME`: a tool crate to start from, with one documented tool
//! and a unit test, that `tools register` takes as it is.

use std::path::{Path, PathBuf};

use super::build::Facade;
use super::source::is_package_name;
use super::{AgentError, AgentErrorKind};

/// Writes a new tool crate called `name` into `parent/name`; its folder.
pub(in crate::cli) fn new_crate(name: &str, parent: &Path) -> Result<PathBuf, AgentError> {
    if !is_package_name(name) {
        return Err(AgentError::new(
            AgentErrorKind::InvalidSource,
            format!(
                "`{name}` is not a crate name: letters, digits, `-` and `_`, starting with a letter, at most 64"
            ),
        ));
    }
    let folder = parent.join(name);
    let occupied = std::fs::read_dir(&folder).is_ok_and(|mut entries| entries.next().is_some());
    if occupied || folder.is_file() {
        return Err(AgentError::new(
            AgentErrorKind::InvalidSource,
            format!(
                "{} already exists and is not empty; nothing was written",
                folder.display()
            ),
        ));
    }
    let tool = name.replace('-', "_");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         # `rustchain` with no features is `#[tool]` and what it needs; the\n\
         # program that links this crate brings the rest.\n\
         [dependencies]\nrustchain = {facade}\n",
        facade = Facade::current().dependency("", &[]),
    );
    super::write_whole(&folder.join("Cargo.toml"), manifest.as_bytes())?;
    super::write_whole(&folder.join("src/lib.rs"), lib_rs(&tool).as_bytes())?;
    Ok(folder)
}

/// The new crate's `src/lib.rs`: one tool called `tool`, and its test.
fn lib_rs(tool: &str) -> String {
    format!(
        r#"//! Tools for AI agents, written with `#[tool]`.
//!
//! Register this crate in a project with `rustchain tools register PATH`,
//! where PATH is this crate's folder; then `rustchain tools list` shows
//! its tools and `rustchain tools call {tool} --args '{{"who": "Ada"}}'`
//! calls one.

use rustchain::tool;

/// Greets someone by name.
///
/// The doc comment is the tool's description, which the model reads; the
/// comment on each parameter describes it in the JSON Schema.
#[tool(read_only, idempotent, tags("example"))]
pub fn {tool}(
    /// Who to greet.
    who: String,
) -> String {{
    format!("Hello, {{who}}!")
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn it_greets_by_name() {{
        assert_eq!({tool}("Ada".to_owned()), "Hello, Ada!");
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_crate_is_written_and_an_occupied_folder_is_left_alone() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let folder = new_crate("greeter", dir.path()).expect("written");
        let lib = std::fs::read_to_string(folder.join("src/lib.rs")).expect("lib.rs");
        assert!(lib.contains("pub fn greeter("), "{lib}");
        let manifest = std::fs::read_to_string(folder.join("Cargo.toml")).expect("Cargo.toml");
        assert!(manifest.contains("name = \"greeter\""), "{manifest}");
        let again = new_crate("greeter", dir.path()).expect_err("occupied");
        assert!(again.message.contains("not empty"), "{}", again.message);
        assert_eq!(
            std::fs::read_to_string(folder.join("src/lib.rs")).expect("kept"),
            lib
        );
    }

    #[test]
    fn a_name_that_is_no_crate_name_is_refused() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        for name in ["", "1tool", "a/b", "../up", "with space"] {
            let err = new_crate(name, dir.path()).expect_err(name);
            assert_eq!(err.kind, AgentErrorKind::InvalidSource, "{name}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("listed").count(), 0);
    }

    #[test]
    fn a_dashed_name_makes_an_underscored_tool() {
        assert!(lib_rs("word_count").contains("pub fn word_count("));
    }
}
