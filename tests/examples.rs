//! The example policy in `examples/` loads and its inline examples pass
//! against the linked example and built-in tools.

use std::path::Path;

use my_tools as _;
use rustchain::{Executor, Policy, Registry};
use rustchain_builtin as _;

#[test]
fn the_example_policy_loads_and_its_examples_pass() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rustchain.toml");
    let policy = Policy::load(&path).unwrap_or_else(|err| panic!("{err}"));
    assert!(policy.examples().len() >= 3);
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let explained = executor.explain("add", r#"{"a": 1, "b": 2}"#);
    assert_eq!(explained.verdict, rustchain::policy::Verdict::Allow);
    assert!(
        explained.decisions[0].rule.contains("rustchain.toml:"),
        "{explained:?}"
    );
}

/// One policy file serves several programs: in one that does not link
/// `text_stats`, the example calling it is a warning, and the others still run.
#[test]
fn the_example_policy_loads_in_a_program_without_text_stats() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/rustchain.toml");
    let policy = Policy::load(&path).unwrap_or_else(|err| panic!("{err}"));
    let without: Vec<_> = Registry::global()
        .tools()
        .filter(|tool| tool.name() != "text_stats")
        .map(|tool| tool.descriptor())
        .collect();
    assert!(without.iter().any(|tool| tool.name == "fs_read"));
    let registry: &'static Registry = Box::leak(Box::new(
        Registry::build(without).unwrap_or_else(|err| panic!("{err}")),
    ));
    let executor = Executor::builder(registry)
        .policy(policy)
        .build()
        .unwrap_or_else(|err| panic!("{err}"));
    let warnings = executor.policy().warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("`text_stats`"), "{warnings:?}");
    assert!(
        warnings[0].to_string().contains("rustchain.toml:"),
        "{}",
        warnings[0]
    );
}
