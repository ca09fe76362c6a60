//! Runs one test of the current test binary in a child process (included by
//! path from `tests/fs_tool.rs` and `tests/security.rs`): for a test that
//! must change what the whole process shares, such as its working
//! directory, without moving the other tests' relative paths.

/// Runs the test named exactly `test` of this binary in a child process
/// with `marker` set in its environment, and fails unless it passed. The
/// child test returns at once when `marker` is unset, as in an ordinary run.
pub fn run_child_test(test: &str, marker: &str) {
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--test-threads=1"])
        .env(marker, "1")
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
