//! Safe file access for user tools (`ctx.fs()`): user-defined `#[tool]`s that
//! read and write through it, attacked with positive grants. Every attack
//! ends in a typed error, with nothing read from or written outside the
//! granted root, and an audit record of the refusal.
//!
//! Most attacks go past the guard on purpose (the guard checks `folder`, the
//! body joins an unchecked `name` to it, or the file changes after the
//! check), so what refuses them is the file access itself.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use my_tools as _;
use rustchain::exec::MemoryAudit;
use rustchain::{ErrorKind, Executor, Policy, Registry, ToolContext, ToolError, tool};
use serde_json::{Value, json};

#[path = "support/race.rs"]
mod race;

/// Reads a text file.
#[tool(read_only)]
fn note_read(
    /// The file to read.
    #[fs(read)]
    path: String,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    before_open(ctx);
    ctx.fs().read_to_string(&path)
}

/// Reads a file by name inside a folder: only the folder is guarded, as a
/// careless tool author would write it.
#[tool(read_only)]
fn note_in(
    /// The folder.
    #[fs(read)]
    folder: String,
    /// The file's name in it (not guarded).
    name: String,
    ctx: &ToolContext,
) -> Result<String, ToolError> {
    ctx.fs().read_to_string(Path::new(&folder).join(name))
}

/// Writes a text file, atomically.
#[tool]
fn note_write(
    /// The file to write.
    #[fs(write)]
    path: String,
    /// The new content.
    text: String,
    ctx: &ToolContext,
) -> Result<(), ToolError> {
    ctx.fs().write_atomic(&path, text)
}

/// Writes a file it only declared for reading (the guard checks reading).
#[tool]
fn sneaky_write(
    /// The file.
    #[fs(read)]
    path: String,
    ctx: &ToolContext,
) -> Result<(), ToolError> {
    use std::io::Write;
    let mut file = ctx.fs().create(&path)?;
    file.write_all(b"planted")
        .map_err(|err| ToolError::new(ErrorKind::Failed, err.to_string()))
}

/// Writes by name inside a folder through `create`; only the folder is guarded.
#[tool]
fn note_create_in(
    /// The folder.
    #[fs(write)]
    folder: String,
    /// The file's name in it (not guarded).
    name: String,
    /// The content.
    text: String,
    ctx: &ToolContext,
) -> Result<(), ToolError> {
    use std::io::Write;
    let mut file = ctx.fs().create(Path::new(&folder).join(name))?;
    file.write_all(text.as_bytes())
        .map_err(|err| ToolError::new(ErrorKind::Failed, err.to_string()))
}

/// Lists a folder's names.
#[tool(read_only)]
fn note_list(
    /// The folder.
    #[fs(read)]
    folder: String,
    ctx: &ToolContext,
) -> Result<Vec<String>, ToolError> {
    let entries = ctx.fs().read_dir(&folder)?;
    Ok(entries.into_iter().map(|entry| entry.name).collect())
}

/// What `note_read` does after the guard allowed the call and before it
/// opens: the test's stand-in for an attacker who wins the race every time.
type Hook = Box<dyn Fn() + Send>;
static BEFORE_OPEN: Mutex<Option<(String, Hook)>> = Mutex::new(None);

fn before_open(ctx: &ToolContext) {
    let hook = BEFORE_OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((call_id, run)) = hook.as_ref()
        && call_id == ctx.call_id()
    {
        run();
    }
}

const OUTSIDE: &str = "OUTSIDE SECRET";

/// ```text
/// base/
///   root/              read + write; deny = ["secrets/**"]
///     notes.txt        "inside"
///     docs/a.md        "# A"
///     secrets/key      "TOP SECRET"
///   ro/                read only
///     keep.txt         "read only"
///   outside/           granted to nobody
///     secret.txt       OUTSIDE
/// ```
struct Fixture {
    _temp: tempfile::TempDir,
    root: PathBuf,
    ro: PathBuf,
    outside: PathBuf,
    executor: Executor,
    audit: Arc<MemoryAudit>,
}

fn fixture() -> Fixture {
    let temp = tempfile::tempdir().expect("a temporary folder");
    let base = temp.path().canonicalize().expect("the folder exists");
    let (root, ro, outside) = (base.join("root"), base.join("ro"), base.join("outside"));
    for dir in [
        root.join("docs"),
        root.join("secrets"),
        ro.clone(),
        outside.clone(),
    ] {
        std::fs::create_dir_all(dir).unwrap();
    }
    for (file, content) in [
        (root.join("notes.txt"), "inside"),
        (root.join("docs/a.md"), "# A"),
        (root.join("secrets/key"), "TOP SECRET"),
        (ro.join("keep.txt"), "read only"),
        (outside.join("secret.txt"), OUTSIDE),
    ] {
        std::fs::write(file, content).unwrap();
    }
    let policy = Policy::from_toml(
        &format!("[fs]\nread = [{root:?}, {ro:?}]\nwrite = [{root:?}]\ndeny = [\"secrets/**\"]\n"),
        "<safe_fs test>",
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
        ro,
        outside,
        executor,
        audit,
    }
}

static NEXT_CALL: AtomicUsize = AtomicUsize::new(0);

fn next_id(tool: &str) -> String {
    format!("{tool}-{}", NEXT_CALL.fetch_add(1, Ordering::Relaxed))
}

impl Fixture {
    fn call_as(&self, id: &str, tool: &str, args: &Value) -> Result<Value, ToolError> {
        self.executor
            .call_value_blocking(tool, args, ToolContext::new().with_call_id(id))
            .map(|out| out.to_value())
    }

    fn ok(&self, tool: &str, args: Value) -> Value {
        match self.call_as(&next_id(tool), tool, &args) {
            Ok(value) => value,
            Err(err) => panic!("{tool} {args} failed: {err}"),
        }
    }

    /// Calls `tool`, expects an error of `kind` that does not leak the
    /// outside file, and that the guard allowed the call (so the file access
    /// refused it) with an error result recorded. Returns the error.
    fn refused_by_fs(&self, tool: &str, args: Value, kind: ErrorKind) -> ToolError {
        let id = next_id(tool);
        let err = match self.call_as(&id, tool, &args) {
            Ok(value) => panic!("{tool} {args} should be refused, got {value}"),
            Err(err) => err,
        };
        assert_eq!(err.kind(), kind, "{tool} {args}: {err}");
        assert!(!err.message().contains(OUTSIDE), "{err}");
        self.assert_recorded(&id, kind);
        err
    }

    /// The trail holds the guard's `allow` and then an error result of `kind` for call `id`.
    fn assert_recorded(&self, id: &str, kind: ErrorKind) {
        let events = self.audit.events();
        let of_call: Vec<&Value> = events
            .iter()
            .filter(|e| e["gen_ai.tool.call.id"] == id)
            .collect();
        assert!(
            of_call.iter().any(|e| e["decision"] == "allow"),
            "the guard let {id} through: {of_call:#?}"
        );
        assert!(
            of_call
                .iter()
                .any(|e| e["outcome"] == "error" && e["error.type"] == kind.as_str()),
            "an error result of kind {kind} for {id}: {of_call:#?}"
        );
    }

    /// Every name under the test's base folder, with each file's content:
    /// to prove a refusal changed nothing anywhere.
    fn snapshot(&self) -> Vec<(String, String)> {
        fn walk(dir: &Path, rel: &Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let rel = rel.join(entry.file_name());
                let kind = entry.file_type().unwrap();
                let content = if kind.is_file() {
                    std::fs::read_to_string(entry.path()).unwrap_or_default()
                } else if kind.is_symlink() {
                    format!("-> {}", std::fs::read_link(entry.path()).unwrap().display())
                } else {
                    String::new()
                };
                out.push((rel.to_str().unwrap().to_owned(), content));
                if kind.is_dir() {
                    walk(&entry.path(), &rel, out);
                }
            }
        }
        let mut out = Vec::new();
        let base = self.root.parent().unwrap();
        walk(base, Path::new(""), &mut out);
        out.sort();
        out
    }
}

fn text(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

// ------------------------------------------------------------------ working

#[test]
fn user_tools_read_write_and_list_through_the_granted_root() {
    let f = fixture();
    let notes = text(&f.root.join("notes.txt"));
    assert_eq!(f.ok("note_read", json!({ "path": notes })), "inside");
    assert_eq!(
        f.ok(
            "note_in",
            json!({ "folder": text(&f.root), "name": "docs/a.md" })
        ),
        "# A"
    );
    let new = f.root.join("docs/new.txt");
    f.ok(
        "note_write",
        json!({ "path": text(&new), "text": "written" }),
    );
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "written");
    f.ok(
        "note_create_in",
        json!({ "folder": text(&f.root), "name": "notes.txt", "text": "new" }),
    );
    assert_eq!(
        std::fs::read_to_string(f.root.join("notes.txt")).unwrap(),
        "new"
    );
    // A link that stays inside the root is followed.
    symlink("docs/a.md", f.root.join("alias.md")).unwrap();
    assert_eq!(
        f.ok(
            "note_read",
            json!({ "path": text(&f.root.join("alias.md")) })
        ),
        "# A"
    );
    // Denied entries are left out of listings.
    let names = f.ok("note_list", json!({ "folder": text(&f.root) }));
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, ["alias.md", "docs", "notes.txt"]);
    assert!(
        !f.snapshot().iter().any(|(name, _)| name.contains(".tmp")),
        "no temporary file is left"
    );
}

#[test]
fn outside_an_executor_every_access_fails_closed() {
    let f = fixture();
    let ctx = ToolContext::new();
    let notes = f.root.join("notes.txt");
    assert_eq!(
        ctx.fs().read_to_string(&notes).unwrap_err().kind(),
        ErrorKind::Denied
    );
    assert_eq!(ctx.fs().open(&notes).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(
        ctx.fs().read_dir(&f.root).unwrap_err().kind(),
        ErrorKind::Denied
    );
    let before = f.snapshot();
    let err = ctx
        .fs()
        .write_atomic(f.root.join("x.txt"), "x")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(err.message().contains("Executor"), "{err}");
    assert_eq!(
        ctx.fs().create(f.root.join("y.txt")).unwrap_err().kind(),
        ErrorKind::Denied
    );
    assert_eq!(f.snapshot(), before);
}

// ------------------------------------------------------------------ attacks

#[test]
fn a_link_inside_the_root_pointing_out_is_refused() {
    let f = fixture();
    symlink(f.outside.join("secret.txt"), f.root.join("abs_out")).unwrap();
    symlink("../outside/secret.txt", f.root.join("rel_out")).unwrap();
    symlink("../outside", f.root.join("dir_out")).unwrap();
    let before = f.snapshot();
    for name in ["abs_out", "rel_out", "dir_out/secret.txt"] {
        let err = f.refused_by_fs(
            "note_in",
            json!({ "folder": text(&f.root), "name": name }),
            ErrorKind::Denied,
        );
        assert!(
            err.message().contains("outside") || err.message().contains("climbs out"),
            "{name}: {err}"
        );
    }
    // Writing through a link is refused whatever it points to, and a link
    // to an outside folder is not a way in either.
    for name in ["abs_out", "dir_out/planted.txt"] {
        f.refused_by_fs(
            "note_create_in",
            json!({ "folder": text(&f.root), "name": name, "text": "planted" }),
            ErrorKind::Denied,
        );
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn dot_dot_cannot_climb_out_of_the_root() {
    let f = fixture();
    let before = f.snapshot();
    for name in [
        "../outside/secret.txt",
        "docs/../../outside/secret.txt",
        "../../../../../../etc/passwd",
        "/etc/passwd",
    ] {
        f.refused_by_fs(
            "note_in",
            json!({ "folder": text(&f.root), "name": name }),
            ErrorKind::Denied,
        );
        f.refused_by_fs(
            "note_create_in",
            json!({ "folder": text(&f.root), "name": name, "text": "planted" }),
            ErrorKind::Denied,
        );
    }
    // `..` after a link leaves the link's target, as the kernel reads it.
    std::fs::create_dir_all(f.root.join("docs/deep")).unwrap();
    symlink("docs/deep", f.root.join("jump")).unwrap();
    assert_eq!(
        f.ok(
            "note_in",
            json!({ "folder": text(&f.root), "name": "jump/../a.md" })
        ),
        "# A"
    );
    assert!(!f.outside.join("planted.txt").exists());
    assert_eq!(
        std::fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        OUTSIDE
    );
    assert_eq!(
        f.snapshot().len(),
        before.len() + 2,
        "only docs/deep and jump were added"
    );
}

#[test]
fn a_deny_glob_inside_the_root_holds_through_links_and_dot_dot() {
    let f = fixture();
    symlink("secrets", f.root.join("innocent")).unwrap();
    symlink("secrets/key", f.root.join("key_link")).unwrap();
    let before = f.snapshot();
    for name in [
        "secrets/key",
        "docs/../secrets/key",
        "innocent/key",
        "key_link",
        "Secrets/key",
    ] {
        let err = f.refused_by_fs(
            "note_in",
            json!({ "folder": text(&f.root), "name": name }),
            ErrorKind::Denied,
        );
        assert!(!err.message().contains("TOP SECRET"), "{err}");
    }
    for name in ["secrets/key", "secrets/new.txt", "innocent/new.txt"] {
        f.refused_by_fs(
            "note_create_in",
            json!({ "folder": text(&f.root), "name": name, "text": "planted" }),
            ErrorKind::Denied,
        );
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn a_write_to_a_folder_granted_only_for_reading_is_refused() {
    let f = fixture();
    let before = f.snapshot();
    let keep = text(&f.ro.join("keep.txt"));
    // The guard checked reading, which is granted; the write is not.
    let err = f.refused_by_fs("sneaky_write", json!({ "path": keep }), ErrorKind::Denied);
    assert!(
        err.message().contains("declares no #[fs(write)] parameter"),
        "{err}"
    );
    // Even where the policy grants writing: a tool writes only as it declared.
    let err = f.refused_by_fs(
        "sneaky_write",
        json!({ "path": text(&f.root.join("planted.txt")) }),
        ErrorKind::Denied,
    );
    assert!(err.message().contains("may not write files"), "{err}");
    f.refused_by_fs(
        "sneaky_write",
        json!({ "path": text(&f.ro.join("new.txt")) }),
        ErrorKind::Denied,
    );
    assert_eq!(f.snapshot(), before);
    // The guard of a tool that declares writing refuses it before the body.
    let id = next_id("note_write");
    let err = f
        .call_as(&id, "note_write", &json!({ "path": keep, "text": "x" }))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied);
    assert!(
        f.audit
            .events()
            .iter()
            .any(|e| e["gen_ai.tool.call.id"] == id.as_str() && e["decision"] == "deny")
    );
    assert_eq!(f.snapshot(), before);
}

#[test]
fn a_link_swapped_in_after_the_guard_is_never_followed() {
    let f = fixture();
    let target = f.root.join("swapped.txt");
    std::fs::write(&target, "inside").unwrap();
    let id = next_id("note_read");
    // After the guard saw a regular file, and before the open, the file
    // becomes a link out of the root.
    let (swap_target, secret) = (target.clone(), f.outside.join("secret.txt"));
    *BEFORE_OPEN.lock().unwrap() = Some((
        id.clone(),
        Box::new(move || {
            std::fs::remove_file(&swap_target).unwrap();
            symlink(&secret, &swap_target).unwrap();
        }),
    ));
    let result = f.call_as(&id, "note_read", &json!({ "path": text(&target) }));
    *BEFORE_OPEN.lock().unwrap() = None;
    let err = result.expect_err("the swapped link is refused");
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(!err.message().contains(OUTSIDE), "{err}");
    f.assert_recorded(&id, ErrorKind::Denied);
    // The window is real: opening by name, as std::fs does, would have read it.
    assert_eq!(std::fs::read_to_string(&target).unwrap(), OUTSIDE);
}

#[test]
fn a_racing_link_swap_never_yields_the_outside_content() {
    let f = fixture();
    let target = f.root.join("race.txt");
    std::fs::write(&target, "inside").unwrap();
    let secret = f.outside.join("secret.txt");
    let stop = AtomicBool::new(false);
    let (mut ok, mut refused) = (0u32, 0u32);
    let mut refused_ids = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| race::swap_until(&f.root, &target, &secret, &stop));
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline && ok + refused < 2000 {
            let id = next_id("note_read");
            match f.call_as(&id, "note_read", &json!({ "path": text(&target) })) {
                Ok(value) => {
                    assert_eq!(value, "inside");
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
    // Refusals after the guard allowed the call are the file access's own.
    let events = f.audit.events();
    let by_fs = refused_ids
        .iter()
        .filter(|id| {
            events
                .iter()
                .any(|e| e["gen_ai.tool.call.id"] == id.as_str() && e["decision"] == "allow")
        })
        .count();
    eprintln!(
        "swap race: {ok} reads of the file, {refused} refusals ({by_fs} by ctx.fs() after the guard allowed)"
    );
    assert!(ok + refused > 0);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), OUTSIDE);
}

#[test]
fn a_fifo_is_refused_at_once_for_reading_and_writing() {
    let f = fixture();
    let fifo = f.root.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let before = f.snapshot();
    let started = Instant::now();
    let err = f.refused_by_fs(
        "note_read",
        json!({ "path": text(&fifo) }),
        ErrorKind::InvalidArguments,
    );
    assert!(err.message().contains("not a regular file"), "{err}");
    f.refused_by_fs(
        "note_write",
        json!({ "path": text(&fifo), "text": "x" }),
        ErrorKind::InvalidArguments,
    );
    f.refused_by_fs(
        "note_create_in",
        json!({ "folder": text(&f.root), "name": "pipe", "text": "x" }),
        ErrorKind::InvalidArguments,
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "nothing waited on the FIFO"
    );
    assert_eq!(f.snapshot(), before);
}

#[test]
fn the_example_read_note_tool_reads_only_inside_the_grants() {
    let f = fixture();
    let notes = text(&f.root.join("notes.txt"));
    assert_eq!(f.ok("read_note", json!({ "path": notes })), "inside");
    // Its `FsPath` parameter refuses, while decoding, what no file system takes.
    let err = f
        .call_as(
            &next_id("read_note"),
            "read_note",
            &json!({ "path": "a\0b" }),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{err}");
    // A link out of the root is refused (by its guard here; by `ctx.fs()`
    // when swapped in after the guard, as the tests above show).
    let id = next_id("read_note");
    let target = f.root.join("note_link.txt");
    symlink(f.outside.join("secret.txt"), &target).unwrap();
    let err = f
        .call_as(&id, "read_note", &json!({ "path": text(&target) }))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Denied, "{err}");
    assert!(!err.message().contains(OUTSIDE), "{err}");
}
