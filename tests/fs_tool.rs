//! The file tools (`fs_read`, `fs_write`, `fs_edit`, `fs_delete`, `fs_list`,
//! `fs_search`) through the executor: what they do, and that every hostile
//! path ends in a typed error, with no side effect and an audit record.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustchain::exec::MemoryAudit;
use rustchain::{ErrorKind, Executor, PermissionKind, Policy, Registry, ToolContext, ToolError};
use rustchain_builtin as _;
use serde_json::{Value, json};

#[path = "support/child.rs"]
mod child;
#[path = "support/race.rs"]
mod race;

/// A root granted for reading and writing, a folder beside it that nothing
/// grants, and an executor recording into memory.
///
/// ```text
/// base/
///   root/            granted; deny = ["secrets/**", "**/.env"]
///     notes.txt      "one two one\n"
///     docs/a.md, docs/b.txt, docs/deep/c.md
///     secrets/key    "TOP SECRET"
///     app/.env       "TOKEN=1"
///   outside/
///     secret.txt     "OUTSIDE SECRET"
/// ```
struct Fixture {
    _temp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    executor: Executor,
    audit: Arc<MemoryAudit>,
}

const OUTSIDE: &str = "OUTSIDE SECRET";

fn fixture() -> Fixture {
    let temp = tempfile::tempdir().expect("a temporary folder");
    let base = temp.path().canonicalize().expect("the folder exists");
    let (root, outside) = (base.join("root"), base.join("outside"));
    for dir in ["docs/deep", "secrets", "app", "sub"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::create_dir_all(&outside).unwrap();
    for (file, content) in [
        ("notes.txt", "one two one\n"),
        ("docs/a.md", "# A\nalpha line\n"),
        ("docs/b.txt", "Beta line\nbeta again\n"),
        ("docs/deep/c.md", "gamma alpha\n"),
        ("secrets/key", "TOP SECRET alpha"),
        ("app/.env", "TOKEN=1 alpha"),
    ] {
        std::fs::write(root.join(file), content).unwrap();
    }
    std::fs::write(outside.join("secret.txt"), OUTSIDE).unwrap();
    let policy = Policy::from_toml(
        &format!(
            "[fs]\nread = [{root:?}]\nwrite = [{root:?}]\ndeny = [\"secrets/**\", \"**/.env\"]\n"
        ),
        "<fs test>",
        &root,
    )
    .expect("a valid policy");
    let audit = Arc::new(MemoryAudit::new());
    let executor = Executor::builder(Registry::global())
        .policy(policy)
        .audit(audit.clone())
        .build()
        .expect("no examples to fail");
    Fixture {
        _temp: temp,
        root,
        outside,
        executor,
        audit,
    }
}

static NEXT_CALL: AtomicUsize = AtomicUsize::new(0);

impl Fixture {
    /// Calls `tool` with `args`; returns the call id with the result.
    fn call(&self, tool: &str, args: Value) -> (String, Result<Value, ToolError>) {
        let id = format!("{tool}-{}", NEXT_CALL.fetch_add(1, Ordering::Relaxed));
        let result = self
            .executor
            .call_value_blocking(tool, &args, ToolContext::new().with_call_id(&id))
            .map(|out| out.to_value());
        (id, result)
    }

    fn ok(&self, tool: &str, args: Value) -> Value {
        match self.call(tool, args.clone()).1 {
            Ok(value) => value,
            Err(err) => panic!("{tool} {args} failed: {err}"),
        }
    }

    /// Calls `tool`, expects an error of `kind`, and checks the audit trail
    /// recorded the refusal for that call. Returns the error.
    fn refused(&self, tool: &str, args: Value, kind: ErrorKind) -> ToolError {
        let (id, result) = self.call(tool, args.clone());
        let err = match result {
            Ok(value) => panic!("{tool} {args} should be refused, got {value}"),
            Err(err) => err,
        };
        // The error's own kind, never read from its message: a tool body's
        // `Err(ToolError)` keeps its kind (R-113), so a `failed` error whose
        // message starts with `denied: ` is a regression, not a denial.
        assert_eq!(err.kind(), kind, "{tool} {args}: {err}");
        assert!(
            self.recorded_refusal(&id, kind),
            "no audit record of the refusal of {tool} {args}: {:#?}",
            self.audit.events()
        );
        err
    }

    /// Whether the audit trail holds the refusal of call `id` as `kind`: a
    /// `deny` decision (a guard's denial), or an error result whose
    /// `error.type` is `kind` (the tool's own refusal, or one before any
    /// decision), never another kind's.
    fn recorded_refusal(&self, id: &str, kind: ErrorKind) -> bool {
        self.audit.events().iter().any(|event| {
            event["gen_ai.tool.call.id"] == id
                && ((event["decision"] == "deny" && kind == ErrorKind::Denied)
                    || (event["outcome"] == "error" && event["error.type"] == kind.as_str()))
        })
    }

    fn at(&self, rel: &str) -> String {
        self.root.join(rel).to_str().unwrap().to_owned()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }

    /// Every name in the root, recursively, sorted: to prove nothing else appeared.
    fn tree(&self) -> Vec<String> {
        fn walk(dir: &Path, rel: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let rel = rel.join(entry.file_name());
                out.push(rel.to_str().unwrap().to_owned());
                if entry.file_type().unwrap().is_dir() {
                    walk(&entry.path(), &rel, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, Path::new(""), &mut out);
        out.sort();
        out
    }
}

// ---------------------------------------------------------------- hostile paths

#[test]
fn paths_out_of_the_root_are_denied() {
    let f = fixture();
    for path in [
        "../../etc/passwd",
        "/etc/passwd",
        "//etc/passwd",
        "/../etc/passwd",
    ] {
        for tool in ["fs_read", "fs_list", "fs_search"] {
            let mut args = json!({ "path": path });
            if tool == "fs_search" {
                args["pattern"] = json!("root");
            }
            let err = f.refused(tool, args, ErrorKind::Denied);
            assert!(err.message().contains("outside"), "{err}");
        }
    }
    let victim = f.outside.join("victim.txt");
    std::fs::write(&victim, "unchanged").unwrap();
    let beside = victim.to_str().unwrap();
    let climbing = f.at("../outside/victim.txt");
    for path in [beside, climbing.as_str()] {
        f.refused(
            "fs_write",
            json!({ "path": path, "content": "x" }),
            ErrorKind::Denied,
        );
        f.refused(
            "fs_edit",
            json!({ "path": path, "old_text": "unchanged", "new_text": "x" }),
            ErrorKind::Denied,
        );
        f.refused("fs_delete", json!({ "path": path }), ErrorKind::Denied);
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "unchanged");
}

#[test]
fn a_denied_folder_reached_through_dot_dot_is_denied() {
    let f = fixture();
    let before = f.tree();
    for path in [f.at("sub/../secrets/key"), "sub/../secrets/key".to_owned()] {
        f.refused("fs_read", json!({ "path": path }), ErrorKind::Denied);
        f.refused(
            "fs_write",
            json!({ "path": path, "content": "x" }),
            ErrorKind::Denied,
        );
        f.refused("fs_delete", json!({ "path": path }), ErrorKind::Denied);
    }
    let err = f.refused(
        "fs_read",
        json!({ "path": f.at("sub/../secrets/key") }),
        ErrorKind::Denied,
    );
    assert!(err.message().contains("secrets/**"), "{err}");
    f.refused(
        "fs_read",
        json!({ "path": f.at("app/.env") }),
        ErrorKind::Denied,
    );
    assert_eq!(f.read("secrets/key"), "TOP SECRET alpha");
    assert_eq!(f.tree(), before);
}

/// Set in the child process of `relative_paths_inside_the_root_meet_the_deny_globs`.
const RELATIVE_CHILD: &str = "RUSTCHAIN_FS_RELATIVE_CHILD";

/// A relative path is resolved against the working directory, which for
/// this test binary is outside every root: the relative cases above are
/// denied as outside. Here the working directory is the granted root, so
/// relative paths land inside it and the deny globs judge them. That runs
/// in a child process of its own (this binary, one test): changing the
/// working directory here would move every other test's relative paths.
#[test]
fn relative_paths_inside_the_root_meet_the_deny_globs() {
    child::run_child_test("relative_paths_child_process", RELATIVE_CHILD);
}

/// The child of `relative_paths_inside_the_root_meet_the_deny_globs`; does
/// nothing in an ordinary run.
#[test]
fn relative_paths_child_process() {
    if std::env::var_os(RELATIVE_CHILD).is_none() {
        return;
    }
    let f = fixture();
    std::env::set_current_dir(&f.root).expect("the root is a folder");
    let before = f.tree();
    let secret = f.root.join("secrets/key").display().to_string();

    // Inside the root and under `secrets/**`: denied by that glob, as the
    // error, the decision record and its reason say; not as outside.
    for path in ["secrets/key", "sub/../secrets/key", "./docs/../secrets/key"] {
        for (tool, args) in [
            ("fs_read", json!({ "path": path })),
            ("fs_write", json!({ "path": path, "content": "x" })),
            ("fs_delete", json!({ "path": path })),
        ] {
            let (id, result) = f.call(tool, args);
            let err = result.expect_err("a denied path");
            assert_eq!(err.kind(), ErrorKind::Denied, "{tool} {path}: {err}");
            assert!(err.message().contains("secrets/**"), "{tool} {path}: {err}");
            assert!(!err.message().contains("outside"), "{tool} {path}: {err}");
            let events = f.audit.events();
            let records: Vec<&Value> = events
                .iter()
                .filter(|event| event["gen_ai.tool.call.id"] == id.as_str())
                .collect();
            assert_eq!(records.len(), 1, "{tool} {path}: {records:#?}");
            let record = records[0];
            assert_eq!(record["decision"], "deny", "{tool} {path}: {record}");
            let rule = record["decision.rule"].as_str().unwrap_or_default();
            assert!(
                rule.starts_with("fs.deny \"secrets/**\""),
                "{tool} {path}: {record}"
            );
            let reason = record["decision.reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains(&format!("{secret} matches a denied pattern")),
                "{tool} {path}: {record}"
            );
        }
    }
    let err = f.refused("fs_read", json!({ "path": "app/.env" }), ErrorKind::Denied);
    assert!(err.message().contains("**/.env"), "{err}");

    // Inside the root and under no deny glob: allowed, in the root.
    assert_eq!(
        f.ok("fs_read", json!({ "path": "notes.txt" }))["content"],
        "one two one\n"
    );
    assert_eq!(
        f.ok("fs_read", json!({ "path": "sub/../docs/a.md" }))["content"],
        "# A\nalpha line\n"
    );
    f.ok(
        "fs_write",
        json!({ "path": "sub/new.txt", "content": "made" }),
    );
    assert_eq!(f.read("sub/new.txt"), "made");

    // Climbing out of the root is still outside it.
    let err = f.refused(
        "fs_read",
        json!({ "path": "../outside/secret.txt" }),
        ErrorKind::Denied,
    );
    assert!(err.message().contains("outside"), "{err}");
    assert!(!err.message().contains(OUTSIDE), "{err}");

    assert_eq!(f.read("secrets/key"), "TOP SECRET alpha");
    let mut after = before;
    after.push("sub/new.txt".to_owned());
    after.sort();
    assert_eq!(f.tree(), after);
}

#[test]
fn links_pointing_out_of_the_root_are_denied() {
    let f = fixture();
    let secret = f.outside.join("secret.txt");
    symlink(&secret, f.root.join("abs_link")).unwrap();
    symlink("../outside/secret.txt", f.root.join("rel_link")).unwrap();
    symlink(&f.outside, f.root.join("dir_link")).unwrap();
    for path in ["abs_link", "rel_link", "dir_link/secret.txt"] {
        let err = f.refused("fs_read", json!({ "path": f.at(path) }), ErrorKind::Denied);
        assert!(!err.message().contains(OUTSIDE), "{err}");
        f.refused(
            "fs_write",
            json!({ "path": f.at(path), "content": "overwritten" }),
            ErrorKind::Denied,
        );
    }
    f.refused(
        "fs_list",
        json!({ "path": f.at("dir_link") }),
        ErrorKind::Denied,
    );
    f.refused(
        "fs_search",
        json!({ "path": f.at("dir_link"), "pattern": "SECRET" }),
        ErrorKind::Denied,
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), OUTSIDE);
    // Searching the root does not follow the links either.
    let found = f.ok(
        "fs_search",
        json!({ "path": f.at(""), "pattern": "SECRET" }),
    );
    assert_eq!(found["matches"], json!([]), "{found}");
}

#[test]
fn a_link_into_a_denied_folder_is_denied() {
    let f = fixture();
    symlink("secrets", f.root.join("innocent")).unwrap();
    symlink("secrets/key", f.root.join("key_link")).unwrap();
    for path in ["innocent/key", "key_link"] {
        let err = f.refused("fs_read", json!({ "path": f.at(path) }), ErrorKind::Denied);
        assert!(!err.message().contains("TOP SECRET"), "{err}");
    }
    f.refused(
        "fs_write",
        json!({ "path": f.at("innocent/key"), "content": "x" }),
        ErrorKind::Denied,
    );
    f.refused(
        "fs_list",
        json!({ "path": f.at("innocent") }),
        ErrorKind::Denied,
    );
    assert_eq!(f.read("secrets/key"), "TOP SECRET alpha");
}

#[test]
fn a_file_swapped_for_a_link_never_yields_the_outside_content() {
    let f = fixture();
    let target = f.root.join("swap.txt");
    std::fs::write(&target, "inside").unwrap();
    let secret = f.outside.join("secret.txt");
    let stop = AtomicBool::new(false);
    let (mut ok, mut refused) = (0, 0);
    let mut refused_ids = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| race::swap_until(&f.root, &target, &secret, &stop));
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline && ok + refused < 2000 {
            let (id, result) = f.call("fs_read", json!({ "path": target }));
            match result {
                Ok(value) => {
                    assert_eq!(value["content"], "inside", "{value}");
                    ok += 1;
                }
                Err(err) => {
                    assert!(!err.message().contains(OUTSIDE), "{err}");
                    assert!(
                        matches!(err.kind(), ErrorKind::Denied | ErrorKind::Failed),
                        "{err}"
                    );
                    refused += 1;
                    refused_ids.push(id);
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(ok + refused > 0);
    // Refusals after the guard allowed the call are the tool's own.
    let events = f.audit.events();
    let by_tool = refused_ids
        .iter()
        .filter(|id| {
            events
                .iter()
                .any(|e| e["gen_ai.tool.call.id"] == id.as_str() && e["decision"] == "allow")
        })
        .count();
    eprintln!(
        "swap race: {ok} reads of the file, {refused} refusals ({by_tool} by the tool after the guard allowed)"
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), OUTSIDE);
}

#[test]
fn malformed_paths_are_invalid_arguments_with_nothing_created() {
    let f = fixture();
    let before = f.tree();
    let long = format!("{}/{}", f.root.display(), "d/".repeat(2500));
    let long_name = f.at(&"n".repeat(300));
    for path in [
        "ok.txt\0.png",
        long.as_str(),
        long_name.as_str(),
        "..\\x",
        "..\\..\\etc\\passwd",
        "C:\\Windows\\win.ini",
        "",
    ] {
        let err = f.refused(
            "fs_read",
            json!({ "path": path }),
            ErrorKind::InvalidArguments,
        );
        assert_eq!(err.path(), Some("path"), "{err}");
        f.refused(
            "fs_write",
            json!({ "path": path, "content": "x", "create_dirs": true }),
            ErrorKind::InvalidArguments,
        );
    }
    let err = f.refused(
        "fs_read",
        json!({ "path": long }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("4095 bytes"), "{err}");
    let err = f.refused(
        "fs_read",
        json!({ "path": "C:\\Windows\\win.ini" }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("drive letters"), "{err}");
    assert_eq!(f.tree(), before);
}

#[test]
fn a_fifo_is_refused_at_once() {
    let f = fixture();
    let fifo = f.root.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let started = Instant::now();
    let err = f.refused(
        "fs_read",
        json!({ "path": fifo }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("not a regular file"), "{err}");
    f.refused(
        "fs_write",
        json!({ "path": fifo, "content": "x" }),
        ErrorKind::InvalidArguments,
    );
    f.refused(
        "fs_edit",
        json!({ "path": fifo, "old_text": "a", "new_text": "b" }),
        ErrorKind::InvalidArguments,
    );
    f.refused(
        "fs_search",
        json!({ "path": fifo, "pattern": "a" }),
        ErrorKind::InvalidArguments,
    );
    // A search over the folder passes it by.
    let found = f.ok("fs_search", json!({ "path": f.at(""), "pattern": "alpha" }));
    assert!(!found["matches"].as_array().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo_like()
    );
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

#[test]
fn a_huge_file_is_read_in_capped_pieces() {
    let f = fixture();
    let line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
    let content = line.repeat(48 * 1024); // 3 MiB
    std::fs::write(f.root.join("huge.txt"), &content).unwrap();
    let first = f.ok("fs_read", json!({ "path": f.at("huge.txt") }));
    assert_eq!(first["size"], content.len());
    assert_eq!(first["truncated"], true);
    assert_eq!(first["content"].as_str().unwrap().len(), 256 * 1024);
    assert_eq!(first["next_offset"], 256 * 1024);
    let tail = f.ok(
        "fs_read",
        json!({ "path": f.at("huge.txt"), "offset": content.len() - 64 }),
    );
    assert_eq!(tail["content"], line);
    assert_eq!(tail["truncated"], false);
    assert_eq!(tail["next_offset"], Value::Null);
}

#[test]
fn writing_through_a_link_is_denied_and_the_target_is_unchanged() {
    let f = fixture();
    symlink("notes.txt", f.root.join("notes_link")).unwrap();
    symlink(f.outside.join("secret.txt"), f.root.join("out_link")).unwrap();
    let err = f.refused(
        "fs_write",
        json!({ "path": f.at("notes_link"), "content": "overwritten" }),
        ErrorKind::Denied,
    );
    assert!(err.message().contains("symbolic link"), "{err}");
    f.refused(
        "fs_edit",
        json!({ "path": f.at("notes_link"), "old_text": "two", "new_text": "2" }),
        ErrorKind::Denied,
    );
    f.refused(
        "fs_write",
        json!({ "path": f.at("out_link"), "content": "overwritten" }),
        ErrorKind::Denied,
    );
    assert_eq!(f.read("notes.txt"), "one two one\n");
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        OUTSIDE
    );
    assert!(
        std::fs::symlink_metadata(f.root.join("notes_link"))
            .unwrap()
            .is_symlink()
    );
}

// ---------------------------------------------------------------- happy paths

#[test]
fn read_returns_text_and_byte_ranges() {
    let f = fixture();
    let whole = f.ok("fs_read", json!({ "path": f.at("notes.txt") }));
    assert_eq!(whole["content"], "one two one\n");
    assert_eq!(whole["path"], f.at("notes.txt"));
    assert_eq!(whole["truncated"], false);
    let part = f.ok(
        "fs_read",
        json!({ "path": f.at("notes.txt"), "offset": 4, "length": 3 }),
    );
    assert_eq!(part["content"], "two");
    assert_eq!(part["next_offset"], 7);
    std::fs::write(f.root.join("utf8.txt"), "aé€").unwrap();
    let cut = f.ok(
        "fs_read",
        json!({ "path": f.at("utf8.txt"), "offset": 2, "length": 10 }),
    );
    assert_eq!(cut["content"], "€");
    assert_eq!(cut["offset"], 3);
    f.refused(
        "fs_read",
        json!({ "path": f.at("docs") }),
        ErrorKind::InvalidArguments,
    );
    let err = f.refused(
        "fs_read",
        json!({ "path": f.at("missing.txt") }),
        ErrorKind::Failed,
    );
    assert!(err.message().contains("does not exist"), "{err}");
    std::fs::write(f.root.join("bin"), [0x66, 0xff, 0x00]).unwrap();
    let err = f.refused("fs_read", json!({ "path": f.at("bin") }), ErrorKind::Failed);
    assert!(err.message().contains("not UTF-8"), "{err}");
}

#[test]
fn write_creates_and_replaces_atomically_leaving_no_temporary_file() {
    let f = fixture();
    let made = f.ok(
        "fs_write",
        json!({ "path": f.at("new.txt"), "content": "first" }),
    );
    assert_eq!(made["created"], true);
    assert_eq!(made["bytes_written"], 5);
    assert_eq!(f.read("new.txt"), "first");
    std::fs::set_permissions(
        f.root.join("new.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let replaced = f.ok(
        "fs_write",
        json!({ "path": f.at("new.txt"), "content": "second" }),
    );
    assert_eq!(replaced["created"], false);
    assert_eq!(f.read("new.txt"), "second");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(f.root.join("new.txt"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "a replaced file keeps its permissions");

    let err = f.refused(
        "fs_write",
        json!({ "path": f.at("new.txt"), "content": "third", "create_only": true }),
        ErrorKind::Failed,
    );
    assert!(err.message().contains("already exists"), "{err}");
    assert_eq!(f.read("new.txt"), "second");
    f.ok(
        "fs_write",
        json!({ "path": f.at("fresh.txt"), "content": "x", "create_only": true }),
    );

    let err = f.refused(
        "fs_write",
        json!({ "path": f.at("a/b/c.txt"), "content": "deep" }),
        ErrorKind::Failed,
    );
    assert!(err.message().contains("create_dirs"), "{err}");
    f.ok(
        "fs_write",
        json!({ "path": f.at("a/b/c.txt"), "content": "deep", "create_dirs": true }),
    );
    assert_eq!(f.read("a/b/c.txt"), "deep");
    f.refused(
        "fs_write",
        json!({ "path": f.at("docs"), "content": "x" }),
        ErrorKind::InvalidArguments,
    );
    let leftovers: Vec<_> = f
        .tree()
        .into_iter()
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn edit_replaces_exactly_the_expected_count() {
    let f = fixture();
    let err = f.refused(
        "fs_edit",
        json!({ "path": f.at("notes.txt"), "old_text": "one", "new_text": "1" }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("occurs 2 times"), "{err}");
    assert_eq!(f.read("notes.txt"), "one two one\n");
    let err = f.refused(
        "fs_edit",
        json!({ "path": f.at("notes.txt"), "old_text": "three", "new_text": "3" }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("not found"), "{err}");

    let edited = f.ok(
        "fs_edit",
        json!({ "path": f.at("notes.txt"), "old_text": "two", "new_text": "2" }),
    );
    assert_eq!(edited["replacements"], 1);
    assert_eq!(f.read("notes.txt"), "one 2 one\n");
    f.ok(
        "fs_edit",
        json!({ "path": f.at("notes.txt"), "old_text": "one", "new_text": "1", "expected_count": 2 }),
    );
    assert_eq!(f.read("notes.txt"), "1 2 1\n");
    f.refused(
        "fs_edit",
        json!({ "path": f.at("notes.txt"), "old_text": "", "new_text": "x" }),
        ErrorKind::InvalidArguments,
    );
    f.refused(
        "fs_edit",
        json!({ "path": f.at("missing.txt"), "old_text": "a", "new_text": "b" }),
        ErrorKind::Failed,
    );
    assert!(!f.tree().iter().any(|n| n.contains(".tmp")));
}

#[test]
fn delete_removes_files_and_folders_only_when_asked() {
    let f = fixture();
    let gone = f.ok("fs_delete", json!({ "path": f.at("notes.txt") }));
    assert_eq!(gone["kind"], "file");
    assert!(!f.root.join("notes.txt").exists());

    let err = f.refused(
        "fs_delete",
        json!({ "path": f.at("docs") }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("recursive: true"), "{err}");
    assert!(f.root.join("docs/deep/c.md").exists());

    symlink(f.outside.join("secret.txt"), f.root.join("docs/link")).unwrap();
    let gone = f.ok(
        "fs_delete",
        json!({ "path": f.at("docs"), "recursive": true }),
    );
    assert_eq!(gone["kind"], "dir");
    assert_eq!(gone["removed"], 6);
    assert!(!f.root.join("docs").exists());
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        OUTSIDE,
        "a link is removed, not what it points to"
    );

    // A folder holding a denied entry loses nothing.
    let before = f.tree();
    let err = f.refused(
        "fs_delete",
        json!({ "path": f.at("app"), "recursive": true }),
        ErrorKind::Denied,
    );
    assert!(err.message().contains("nothing was deleted"), "{err}");
    f.refused(
        "fs_delete",
        json!({ "path": f.at(""), "recursive": true }),
        ErrorKind::Denied,
    );
    assert_eq!(f.tree(), before);
}

#[test]
fn list_walks_one_level_or_all_with_a_filter_and_a_cap() {
    let f = fixture();
    symlink(&f.outside, f.root.join("docs/out")).unwrap();
    let listed = f.ok("fs_list", json!({ "path": f.at("docs") }));
    let names: Vec<_> = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("a.md", "file"),
            ("b.txt", "file"),
            ("deep", "dir"),
            ("out", "symlink")
        ]
    );
    assert_eq!(listed["entries"][0]["size"], 15);
    assert_eq!(listed["truncated"], false);

    let all = f.ok("fs_list", json!({ "path": f.at(""), "recursive": true }));
    let paths: Vec<_> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"docs/deep/c.md"), "{paths:?}");
    assert!(paths.contains(&"app"), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.starts_with("secrets")),
        "denied entries are left out"
    );
    assert!(!paths.contains(&"app/.env"), "denied entries are left out");
    assert!(
        !paths.iter().any(|p| p.starts_with("docs/out/")),
        "links are not entered"
    );

    let md = f.ok(
        "fs_list",
        json!({ "path": f.at(""), "recursive": true, "glob": "*.md" }),
    );
    assert_eq!(
        md["entries"].as_array().unwrap().len(),
        2,
        "{}",
        md["entries"]
    );
    let capped = f.ok(
        "fs_list",
        json!({ "path": f.at(""), "recursive": true, "max_entries": 3 }),
    );
    assert_eq!(capped["entries"].as_array().unwrap().len(), 3);
    assert_eq!(capped["truncated"], true);
    f.refused(
        "fs_list",
        json!({ "path": f.at(""), "glob": "a[" }),
        ErrorKind::InvalidArguments,
    );
}

#[test]
fn search_finds_lines_by_literal_or_regex_capped() {
    let f = fixture();
    let found = f.ok("fs_search", json!({ "path": f.at(""), "pattern": "alpha" }));
    let hits: Vec<_> = found["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["path"].as_str().unwrap(), m["line"].as_u64().unwrap()))
        .collect();
    // secrets/key and app/.env hold `alpha` too, and are denied.
    assert_eq!(hits, [("docs/a.md", 2), ("docs/deep/c.md", 1)]);
    assert_eq!(found["truncated"], false);

    let literal = f.ok(
        "fs_search",
        json!({ "path": f.at("docs"), "pattern": "a.m" }),
    );
    assert_eq!(literal["matches"], json!([]));
    let regex = f.ok(
        "fs_search",
        json!({ "path": f.at("docs"), "pattern": "^beta", "regex": true, "case_insensitive": true }),
    );
    assert_eq!(regex["matches"].as_array().unwrap().len(), 2);
    assert_eq!(regex["matches"][0]["text"], "Beta line");

    let capped = f.ok(
        "fs_search",
        json!({ "path": f.at(""), "pattern": "line", "max_matches": 1 }),
    );
    assert_eq!(capped["matches"].as_array().unwrap().len(), 1);
    assert_eq!(capped["truncated"], true);
    let only_txt = f.ok(
        "fs_search",
        json!({ "path": f.at(""), "pattern": "line", "glob": "*.txt" }),
    );
    assert_eq!(only_txt["matches"][0]["path"], "docs/b.txt");
    let one_file = f.ok(
        "fs_search",
        json!({ "path": f.at("notes.txt"), "pattern": "two" }),
    );
    assert_eq!(one_file["matches"][0]["line"], 1);

    let err = f.refused(
        "fs_search",
        json!({ "path": f.at(""), "pattern": "(", "regex": true }),
        ErrorKind::InvalidArguments,
    );
    assert_eq!(err.path(), Some("pattern"), "{err}");
    assert!(
        err.message()
            .contains("pattern is not a valid regular expression"),
        "{err}"
    );
}

#[test]
fn the_tools_declare_their_paths_hints_and_tag() {
    let registry = Registry::global();
    for (name, kind, read_only) in [
        ("fs_read", PermissionKind::FsRead, true),
        ("fs_list", PermissionKind::FsRead, true),
        ("fs_search", PermissionKind::FsRead, true),
        ("fs_write", PermissionKind::FsWrite, false),
        ("fs_edit", PermissionKind::FsWrite, false),
        ("fs_delete", PermissionKind::FsWrite, false),
    ] {
        let tool = registry.get(name).expect("the file tools are linked");
        let descriptor = tool.descriptor();
        assert_eq!(descriptor.permissions.len(), 1, "{name}");
        assert_eq!(descriptor.permissions[0].kind, kind, "{name}");
        assert_eq!(descriptor.permissions[0].param, "path", "{name}");
        assert_eq!(descriptor.tags, ["fs"], "{name}");
        let hints = &descriptor.annotations;
        assert_eq!(hints.read_only.unwrap_or(false), read_only, "{name}");
        assert_eq!(hints.destructive.unwrap_or(false), !read_only, "{name}");
        assert_eq!(hints.open_world, Some(false), "{name}");
        let schema = (descriptor.input_schema)(descriptor.params);
        assert_eq!(
            schema.as_value()["properties"]["path"]["type"],
            "string",
            "{name}: {schema:?}"
        );
    }
}

#[test]
fn without_a_grant_every_file_tool_is_denied() {
    let executor = Executor::new(Registry::global());
    for (tool, args) in [
        ("fs_read", json!({ "path": "/etc/hostname" })),
        ("fs_write", json!({ "path": "/tmp/x", "content": "x" })),
        ("fs_list", json!({ "path": "/" })),
    ] {
        let err = executor
            .call_value_blocking(tool, &args, ToolContext::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Denied, "{tool}: {err}");
    }
}

/// Issue 8, attack 4: on a root granted for writing only, `fs_edit`'s
/// answer ("occurs N times", "not found") rebuilt a secret it may not read.
/// Editing needs read access too; the refusal reveals nothing and changes nothing.
#[test]
fn fs_edit_on_a_write_only_root_is_refused_without_an_oracle() {
    let temp = tempfile::tempdir().unwrap();
    let base = temp.path().canonicalize().unwrap();
    let (readable, write_only) = (base.join("in"), base.join("out"));
    std::fs::create_dir(&readable).unwrap();
    std::fs::create_dir(&write_only).unwrap();
    let secret = write_only.join("secret.txt");
    std::fs::write(&secret, "s3cret").unwrap();
    let policy = Policy::from_toml(
        &format!("[fs]\nread = [{readable:?}]\nwrite = [{write_only:?}]\n"),
        "<fs test>",
        &base,
    )
    .expect("a valid policy");
    let audit = Arc::new(MemoryAudit::new());
    let fixture = Fixture {
        executor: Executor::builder(Registry::global())
            .policy(policy)
            .audit(audit.clone())
            .build()
            .expect("no examples to fail"),
        audit,
        root: write_only.clone(),
        outside: readable,
        _temp: temp,
    };
    let mut answers = Vec::new();
    for (old, count) in [("s", 1), ("s3", 1), ("x", 1), ("s", 2)] {
        let err = fixture.refused(
            "fs_edit",
            json!({"path": secret, "old_text": old, "new_text": "_", "expected_count": count}),
            ErrorKind::Denied,
        );
        assert!(err.message().contains("readable"), "{err}");
        answers.push(err.message().to_owned());
    }
    // The same answer whatever the guess: nothing to learn from.
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret");
}

// ------------------------------------------------- a root through an alias

/// A root named through a symbolic link outside it (a root granted as
/// `/tmp/data` where `/tmp` is a link, the model writing `/tmp/data/x`): the
/// guard and the tool both read it as the root (Known gaps 14, D-101), and
/// every way out through the alias stays refused.
#[test]
fn a_root_named_through_a_symlinked_alias_is_the_root_and_nothing_more() {
    let f = fixture();
    let base = f.root.parent().expect("the root's folder");
    symlink(&f.root, base.join("alias")).unwrap();
    symlink(&f.outside, base.join("out_alias")).unwrap();
    symlink(&f.outside, f.root.join("dir_link")).unwrap();
    let alias = |rel: &str| base.join("alias").join(rel).to_str().unwrap().to_owned();

    let read = f.ok("fs_read", json!({ "path": alias("notes.txt") }));
    assert_eq!(read["content"], "one two one\n", "{read}");
    f.ok(
        "fs_write",
        json!({ "path": alias("docs/new.txt"), "content": "through the alias" }),
    );
    assert_eq!(f.read("docs/new.txt"), "through the alias");
    let listed = f.ok("fs_list", json!({ "path": alias("docs") }));
    assert!(listed.to_string().contains("new.txt"), "{listed}");

    // The deny rules hold through the alias; so does the root's edge.
    for path in [
        alias("secrets/key"),
        alias("app/.env"),
        alias("../outside/secret.txt"),
        alias("dir_link/secret.txt"),
        base.join("out_alias/secret.txt")
            .to_str()
            .unwrap()
            .to_owned(),
    ] {
        let err = f.refused("fs_read", json!({ "path": path }), ErrorKind::Denied);
        assert!(!err.message().contains("TOP SECRET"), "{err}");
        assert!(!err.message().contains(OUTSIDE), "{err}");
        f.refused(
            "fs_write",
            json!({ "path": path, "content": "overwritten" }),
            ErrorKind::Denied,
        );
    }
    assert_eq!(f.read("secrets/key"), "TOP SECRET alpha");
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        OUTSIDE
    );
}
