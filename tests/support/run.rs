//! What the CLI tests share with the stock binary's tests
//! (`rustchain-cli/tests/binary.rs` includes this file by path): one run's
//! result, scratch folders, files and trails.

#![allow(dead_code)] // each test crate uses its own part

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

/// What one run of the CLI printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: ExitCode,
    pub out: String,
    pub err: String,
}

impl Run {
    /// Asserts the exit status, showing both streams when it is not `code`.
    pub fn expect_code(self, code: u8) -> Self {
        assert_eq!(
            self.code,
            ExitCode::from(code),
            "unexpected exit status for {self:#?}"
        );
        self
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}):\n{}", self.out))
    }
}

/// A scratch folder under the target directory, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a scratch folder")
}

/// Writes `text` to `dir/name`; returns the path as the CLI takes it.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the file is written");
    utf8(&path)
}

pub fn utf8(path: &Path) -> String {
    path.to_str().expect("scratch paths are UTF-8").to_owned()
}

/// The records of an audit trail, parsed.
pub fn records(trail: &str) -> Vec<Value> {
    std::fs::read_to_string(trail)
        .expect("the trail exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is a JSON record"))
        .collect()
}
