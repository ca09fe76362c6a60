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
