//! `tools register`, `unregister` and `new`, and the stock binary handing
//! its command line to the project agent: the paths that go wrong as well
//! as the one that works. Each test builds agents with cargo in a project of
//! its own (see `support/project.rs`), so they are few and do much each.

use std::path::Path;
use std::time::{Duration, SystemTime};

#[path = "support/project.rs"]
mod project;
#[path = "../../tests/support/run.rs"]
mod run;

use project::{fresh_project, rustchain_in, shared_target_dir};
use run::Run;

/// A tool file with a cargo frontmatter: its dependency comes from there.
const WORDS: &str = r#"---cargo
[dependencies]
serde_json = "1"
---
//! Word tools.

use rustchain::tool;

/// Counts the words of a text, as a JSON object.
#[tool(read_only, idempotent)]
pub fn word_count(
    /// The text to count the words of.
    text: String,
) -> String {
    serde_json::json!({"words": text.split_whitespace().count()}).to_string()
}
"#;

/// A tool file that does not compile: the type error is on line 8.
const BROKEN: &str = r#"use rustchain::tool;

/// Says a number.
#[tool]
pub fn broken_tool(
    /// A number.
    n: i64,
) -> String { n }
"#;

fn rustchain(dir: &Path, args: &[&str]) -> Run {
    rustchain_in(dir, &[], args)
}

/// The names `tools list` prints, first column after the header.
fn listed(run: &Run) -> Vec<String> {
    run.out
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn agent_binary(dir: &Path) -> std::path::PathBuf {
    dir.join(".rustchain/agent/bin/rustchain")
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .expect("the file has a modification time")
}

/// Sets the modification time of `path`.
fn set_modified(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .expect("the file's time is set");
}

#[test]
fn a_registered_file_serves_its_tools_and_failures_leave_the_agent_in_place() {
    let dir = fresh_project("register-errors");
    std::fs::write(dir.join("words.rs"), WORDS).expect("written");

    // Nothing registered: the stock binary serves the built-ins itself.
    let before = rustchain(&dir, &["tools", "list"]).expect_code(0);
    assert!(!listed(&before).contains(&"word_count".to_owned()));
    let none = rustchain(&dir, &["tools", "register", "--list"]).expect_code(0);
    assert!(none.err.contains("nothing is registered"), "{}", none.err);

    // A file with a frontmatter dependency registers, and every command
    // run in the project (from a folder inside it, too) sees its tool.
    let run = rustchain(&dir, &["tools", "register", "words.rs"]).expect_code(0);
    assert!(
        run.out
            .starts_with("registered words (words.rs): 1 tool, word_count\n"),
        "{}",
        run.out
    );
    std::fs::create_dir(dir.join("sub")).expect("a folder inside");
    let state = dir.join(".state");
    let state = [("XDG_STATE_HOME", state.to_str().expect("a UTF-8 path"))];
    let run = rustchain_in(&dir.join("sub"), &state, &["tools", "list"]).expect_code(0);
    let names = listed(&run);
    assert!(
        names.contains(&"word_count".to_owned()) && names.contains(&"text_stats".to_owned()),
        "{names:?}"
    );
    let run = rustchain(
        &dir,
        &[
            "--no-audit",
            "tools",
            "call",
            "word_count",
            "--args",
            r#"{"text": "one two three"}"#,
        ],
    )
    .expect_code(0);
    assert_eq!(run.out.trim(), r#""{\"words\":3}""#);
    // The agent's exit status is the caller's: a call that fails is 1.
    rustchain(
        &dir,
        &["--no-audit", "tools", "call", "word_count", "--args", "{}"],
    )
    .expect_code(1);
    let agent = agent_binary(&dir);

    // The same project as a clone would bring it to another user (whose
    // record of agents built is elsewhere): nothing it registers, and no
    // program that came with it, is built or run without being asked.
    let other_user = dir.join(".other-user-state");
    let other = other_user.to_str().expect("a UTF-8 path");
    let run = rustchain_in(&dir, &[("XDG_STATE_HOME", other)], &["tools", "list"]).expect_code(0);
    assert!(
        run.err.contains("you have not built its agent")
            && run.err.contains("rustchain tools register --rebuild"),
        "{}",
        run.err
    );
    assert!(!listed(&run).contains(&"word_count".to_owned()));
    assert!(listed(&run).contains(&"text_stats".to_owned()));

    // A program put in the agent's place is never run: it is built again.
    let real = std::fs::read(&agent).expect("the agent is read");
    std::fs::remove_file(&agent).expect("removed");
    std::fs::write(&agent, "#!/bin/sh\necho planted\n").expect("written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755))
            .expect("made executable");
    }
    let run = rustchain(&dir, &["tools", "list"]).expect_code(0);
    assert!(!run.out.contains("planted"), "{}", run.out);
    assert!(
        run.err.contains("is not the program you built there"),
        "{}",
        run.err
    );
    assert!(listed(&run).contains(&"word_count".to_owned()));
    assert_eq!(std::fs::read(&agent).expect("rebuilt").len(), real.len());
    drop(real);
    let built = modified(&agent);

    // A tool whose name a built-in has: the link fails on the duplicate
    // (or, were it to link, the agent could not serve its tools), so it is
    // refused and the previous agent stays.
    std::fs::write(
        dir.join("clash.rs"),
        "use rustchain::tool;\n\n/// Counts nothing.\n#[tool]\npub fn text_stats() -> u32 {\n    0\n}\n",
    )
    .expect("written");
    let run = rustchain(&dir, &["tools", "register", "clash.rs"]).expect_code(8);
    assert!(
        run.err.contains("text_stats") && run.err.contains("the previous agent stays in place"),
        "{}",
        run.err
    );
    assert_eq!(modified(&agent), built, "the agent was not replaced");

    // A file that does not compile: cargo's errors, status 8, and the
    // previous agent and list stay.
    std::fs::write(dir.join("broken.rs"), BROKEN).expect("written");
    let run = rustchain(&dir, &["tools", "register", "broken.rs"]).expect_code(8);
    assert!(run.err.contains("error[E0308]"), "{}", run.err);
    assert!(
        run.err.contains("src/lib.rs:8"),
        "the file's own line: {}",
        run.err
    );
    assert!(
        run.err.contains("the previous agent stays in place"),
        "{}",
        run.err
    );
    assert_eq!(modified(&agent), built, "the agent was not replaced");
    let list = rustchain(&dir, &["tools", "register", "--list", "--json"]).expect_code(0);
    let crates = list.json()["crates"].clone();
    assert_eq!(crates.as_array().map(Vec::len), Some(1), "{crates}");
    assert_eq!(crates[0]["name"], "words");
    assert_eq!(crates[0]["tools"][0], "word_count");
    let run = rustchain(&dir, &["tools", "list"]).expect_code(0);
    assert!(listed(&run).contains(&"word_count".to_owned()));
    assert!(!listed(&run).contains(&"broken_tool".to_owned()));

    // A path that does not exist, a name that is not registered.
    let run = rustchain(&dir, &["tools", "register", "missing.rs"]).expect_code(2);
    assert!(run.err.contains("missing.rs: no such file"), "{}", run.err);
    let run = rustchain(&dir, &["tools", "unregister", "nope"]).expect_code(2);
    assert!(
        run.err
            .contains("no registered crate named `nope` (registered: words)"),
        "{}",
        run.err
    );

    // A source newer than the agent: offline, refused with the command to
    // run; otherwise rebuilt first, said on stderr.
    // (The agent is made to look older, as if words.rs had been edited.)
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    set_modified(&agent, an_hour_ago);
    let built = modified(&agent);
    for (env, args) in [
        (&[][..], &["--offline", "tools", "list"][..]),
        (&[("RUSTCHAIN_OFFLINE", "1")][..], &["tools", "list"][..]),
    ] {
        let run = rustchain_in(&dir, env, args).expect_code(8);
        assert!(run.out.is_empty(), "{}", run.out);
        assert!(
            run.err.contains("is older than words.rs")
                && run.err.contains("rustchain tools register --rebuild"),
            "{}",
            run.err
        );
    }
    assert_eq!(modified(&agent), built, "offline builds nothing");
    let run = rustchain(&dir, &["tools", "list"]).expect_code(0);
    assert!(
        run.err
            .contains("note: words.rs changed since the project agent was built; rebuilding it"),
        "{}",
        run.err
    );
    assert!(listed(&run).contains(&"word_count".to_owned()));
    assert!(modified(&agent) > built);

    // Unregistering the last crate removes the agent.
    let run = rustchain(&dir, &["tools", "unregister", "words"]).expect_code(0);
    assert!(run.out.contains("unregistered words"), "{}", run.out);
    assert!(!agent.exists());
    let run = rustchain(&dir, &["tools", "list"]).expect_code(0);
    assert!(!listed(&run).contains(&"word_count".to_owned()));
}

#[test]
fn a_new_tool_crate_passes_its_test_and_registers_as_it_is() {
    let dir = fresh_project("register-new");
    let run = rustchain(&dir, &["tools", "new", "greeter", "--dir", "crates"]).expect_code(0);
    assert!(
        run.out.contains("created the tool crate greeter"),
        "{}",
        run.out
    );
    let crate_dir = dir.join("crates/greeter");

    // Its own test passes, against the same facade, in the shared target
    // directory, with the versions this workspace locked.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .expect("the lock file is copied");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test = std::process::Command::new(cargo)
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .output()
        .expect("cargo runs");
    assert!(
        test.status.success(),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    assert!(
        String::from_utf8_lossy(&test.stdout).contains("1 passed"),
        "{}",
        String::from_utf8_lossy(&test.stdout)
    );

    // A second `new` of the same name writes nothing.
    let again = rustchain(&dir, &["tools", "new", "greeter", "--dir", "crates"]).expect_code(2);
    assert!(again.err.contains("not empty"), "{}", again.err);

    let run = rustchain(&dir, &["tools", "register", "crates/greeter"]).expect_code(0);
    assert!(
        run.out
            .contains("registered greeter (crates/greeter): 1 tool, greeter"),
        "{}",
        run.out
    );
    let run = rustchain(&dir, &["tools", "register", "--list"]).expect_code(0);
    assert_eq!(
        run.out,
        "NAME     SOURCE          TOOLS\ngreeter  crates/greeter  greeter\n"
    );
    let run = rustchain(
        &dir,
        &[
            "--no-audit",
            "tools",
            "call",
            "greeter",
            "--args",
            r#"{"who": "Ada"}"#,
        ],
    )
    .expect_code(0);
    assert_eq!(run.out.trim(), r#""Hello, Ada!""#);

    // Two registrations at once in one project: the second waits for the
    // first (a lock around read-list, build, write-list), and neither is lost.
    for name in ["upper_a", "upper_b"] {
        let source = format!(
            "use rustchain::tool;\n\n/// Upper-cases a text.\n#[tool]\npub fn {name}(\n    /// The text.\n    text: String,\n) -> String {{\n    text.to_uppercase()\n}}\n"
        );
        std::fs::write(dir.join(format!("{name}.rs")), source).expect("written");
    }
    let runs = std::thread::scope(|scope| {
        let runs: Vec<_> = ["upper_a.rs", "upper_b.rs"]
            .map(|file| {
                let dir = &dir;
                scope.spawn(move || rustchain(dir, &["tools", "register", file]))
            })
            .into_iter()
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("the run's thread ends"))
            .collect::<Vec<_>>()
    });
    for run in runs {
        run.expect_code(0);
    }
    let run = rustchain(&dir, &["tools", "register", "--list"]).expect_code(0);
    let mut names: Vec<&str> = run
        .out
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["greeter", "upper_a", "upper_b"], "{}", run.out);
}
