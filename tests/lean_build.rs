//! A tool crate compiles the core, not the runtime: `examples/my-tools`
//! (a plain `rustchain = ...` line) must not pull the executor, the policy's
//! parsers, the audit trail's crypto, the built-ins or the CLI into its build,
//! which is what keeps a one-tool crate's cold build short.

use std::process::Command;

/// The packages in `my-tools`' normal (non-dev) dependency graph.
fn tool_crate_packages() -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "my-tools", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_tool_crate_builds_the_core_without_the_runtime() {
    let packages = tool_crate_packages();
    for wanted in [
        "rustchain",
        "rustchain-core",
        "rustchain-macros",
        "serde",
        "schemars",
    ] {
        assert!(
            packages.iter().any(|p| p == wanted),
            "{wanted} missing from a tool crate's graph: {packages:?}"
        );
    }
    // The runtime and what only it needs: the policy's glob, URL and TOML
    // parsers, the audit trail's hashing and signatures, file confinement,
    // and the front ends.
    for heavy in [
        "rustchain-tools",
        "rustchain-builtin",
        "globset",
        "regex",
        "url",
        "toml",
        "sha2",
        "ed25519-dalek",
        "cap-std",
        "clap",
        "reqwest",
        "thiserror",
    ] {
        assert!(
            !packages.iter().any(|p| p == heavy),
            "a tool crate compiles {heavy}: {packages:?}"
        );
    }
}
