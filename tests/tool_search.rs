//! `tool_search`, the built-in tool a model finds other tools with: ranked
//! by relevance, never revealing a tool the policy denies.

use my_tools as _;
use rustchain::exec::MemoryAudit;
use rustchain::{Executor, Policy, Registry, ToolContext};
use rustchain_builtin as _;
use serde_json::{Value, json};

fn executor(policy: &str) -> Executor {
    let policy = Policy::from_toml(policy, "<test>", "/".as_ref()).expect("the policy loads");
    Executor::builder(Registry::global())
        .policy(policy)
        .audit(std::sync::Arc::new(MemoryAudit::new()))
        .build()
        .expect("an executor")
}

fn search(executor: &Executor, args: Value) -> Vec<Value> {
    let out = executor
        .call_value_blocking("tool_search", &args, ToolContext::new())
        .expect("tool_search runs");
    match out.to_value() {
        Value::Array(found) => found,
        other => panic!("not a list: {other}"),
    }
}

fn names(found: &[Value]) -> Vec<&str> {
    found.iter().filter_map(|f| f["name"].as_str()).collect()
}

#[test]
fn a_request_in_words_finds_the_tool_first() {
    let executor = executor("default = \"allow\"\n");
    let found = search(
        &executor,
        json!({"query": "how many words are in this text?"}),
    );
    assert_eq!(names(&found).first(), Some(&"text_stats"), "{found:#?}");
    assert!(found.len() <= 5);
    assert!(found.iter().all(|f| f.get("input_schema").is_none()));
    assert!(!names(&found).contains(&"tool_search"));

    let found = search(
        &executor,
        json!({"query": "delete a file", "limit": 1, "include_schema": true}),
    );
    assert_eq!(names(&found), ["fs_delete"]);
    assert_eq!(found[0]["input_schema"]["type"], "object");
}

#[test]
fn a_tool_the_policy_denies_is_never_returned() {
    let executor = executor("default = \"allow\"\n[tools]\ndeny = [\"fs_delete\", \"fs_*\"]\n");
    for query in ["delete a file", "fs_delete", "read a file", "list a folder"] {
        let found = search(&executor, json!({"query": query, "limit": 50}));
        assert!(
            names(&found).iter().all(|name| !name.starts_with("fs_")),
            "{query}: {:?}",
            names(&found)
        );
    }
}
