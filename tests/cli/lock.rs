//! `tools lock` and `tools lock --check`: pinning every tool definition, and
//! catching a definition that changed since (exit status 6); `tools docs`,
//! the Markdown reference a project keeps beside its lock file.

use serde_json::Value;

use super::{cli, run::scratch, run::utf8};

#[test]
fn lock_writes_every_tool_and_check_passes_until_a_definition_changes() {
    let dir = scratch();
    let file = utf8(&dir.path().join("rustchain.lock"));
    let run = cli(&["tools", "lock", "--file", &file]).expect_code(0);
    assert!(run.err.contains("locked "), "{run:#?}");
    let text = std::fs::read_to_string(&file).expect("the lock file is written");
    assert!(text.contains("[tools.add]"), "{text}");
    assert!(text.contains("[tools.text_stats]"), "{text}");
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the folder lists")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(names, ["rustchain.lock"]);

    let run = cli(&["tools", "lock", "--check", "--file", &file]).expect_code(0);
    assert_eq!(run.out, "");
    assert!(run.err.contains("tools match"), "{run:#?}");

    // A changed description (a "rug pull"), a tool gone and a tool new.
    let mut edited = String::new();
    let mut in_add = false;
    for line in text.lines() {
        in_add = match line {
            "[tools.add]" => true,
            l if l.starts_with('[') => false,
            _ => in_add,
        };
        if in_add && line.starts_with("description = ") {
            edited.push_str("description = \"sha256:0000\"\n");
        } else {
            edited.push_str(&line.replace("[tools.time_now]", "[tools.time_then]"));
            edited.push('\n');
        }
    }
    std::fs::write(&file, edited).expect("the lock file is edited");
    let run = cli(&["tools", "lock", "--check", "--file", &file]).expect_code(6);
    assert_eq!(
        run.out,
        "add: changed description\n\
         time_now: added (not in the lock file)\n\
         time_then: removed (locked, no longer linked)\n"
    );
    assert!(run.err.contains("3 tool definitions differ"), "{run:#?}");

    let run = cli(&["--json", "tools", "lock", "--check", "--file", &file]).expect_code(6);
    let report: Value = serde_json::from_str(&run.out).expect("JSON");
    assert_eq!(report["ok"], false);
    assert_eq!(report["changes"][0]["tool"], "add");
    assert_eq!(report["changes"][0]["parts"][0], "description");

    // Locking again accepts the tools as they are, saying what changed.
    let run = cli(&["tools", "lock", "--file", &file]).expect_code(0);
    assert!(run.err.contains("add: changed description"), "{run:#?}");
    cli(&["tools", "lock", "--check", "--file", &file]).expect_code(0);
}

#[test]
fn check_without_a_lock_file_or_with_a_bad_one_is_a_usage_error() {
    let dir = scratch();
    let missing = utf8(&dir.path().join("none.lock"));
    let run = cli(&["tools", "lock", "--check", "--file", &missing]).expect_code(2);
    assert!(run.err.contains("there is no lock file at"), "{run:#?}");
    assert!(!dir.path().join("none.lock").exists());

    for (text, says) in [
        ("not toml [", "is not a lock file"),
        ("version = 9\n", "has version 9"),
    ] {
        let bad = utf8(&dir.path().join("bad.lock"));
        std::fs::write(&bad, text).expect("written");
        let run = cli(&["tools", "lock", "--check", "--file", &bad]).expect_code(2);
        assert!(run.err.contains(says), "{text}: {run:#?}");
        // Writing over an unreadable lock file is refused too: nothing lost.
        cli(&["tools", "lock", "--file", &bad]).expect_code(2);
        assert_eq!(std::fs::read_to_string(&bad).expect("kept"), text);
    }
}

// ---- tools docs (the other file a project keeps beside its lock) ----

#[test]
fn docs_document_every_tool_with_an_example_call_its_schema_accepts() {
    let run = cli(&["tools", "docs"]).expect_code(0);
    let text = run.out;
    assert!(text.starts_with("# Tools\n"), "{text}");
    let listed = cli(&["--json", "tools", "list"]).expect_code(0);
    let manifest: Value = serde_json::from_str(&listed.out).expect("JSON");
    let tools = manifest["tools"].as_array().expect("tools");
    for tool in tools {
        let name = tool["name"].as_str().expect("a name");
        assert!(text.contains(&format!("\n## {name}\n")), "{name} missing");
        let call = format!("rustchain tools call {name} --args '");
        let start = text
            .find(&call)
            .unwrap_or_else(|| panic!("no example for {name}"));
        let args = &text[start + call.len()..];
        let args = &args[..args.find("'\n").expect("a closing quote")];
        let args: Value = serde_json::from_str(&args.replace(r"'\''", "'"))
            .unwrap_or_else(|err| panic!("{name}: {args}: {err}"));
        let validator = jsonschema::validator_for(&tool["input_schema"]).expect("a schema");
        assert!(
            validator.is_valid(&args),
            "{name}: the example {args} fails its schema"
        );
    }
    // One parameter row per parameter, with the required column.
    assert!(
        text.contains("| `a` | integer | yes | The first addend. |"),
        "{text}"
    );

    let dir = scratch();
    let out = utf8(&dir.path().join("TOOLS.md"));
    let run = cli(&["tools", "docs", "--out", &out]).expect_code(0);
    assert_eq!(run.out, "");
    assert_eq!(std::fs::read_to_string(&out).expect("written"), text);
    let missing = utf8(&dir.path().join("no/such/folder/TOOLS.md"));
    let run = cli(&["tools", "docs", "--out", &missing]).expect_code(2);
    assert!(run.err.contains("cannot write"), "{run:#?}");
}
