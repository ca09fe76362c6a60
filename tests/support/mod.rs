//! The fixture `tests/policy.rs` and `tests/security.rs` share (each declares
//! `mod support;`): a scratch directory to judge paths in, policies loaded
//! against it, and call ids that never repeat.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustchain::policy::{Policy, PolicyError};

/// A scratch directory under the system's temporary folder, with roots,
/// secrets, and symlinks in and out of them, removed when dropped:
///
/// ```text
/// data/notes.txt  data/sub/  data/secrets/key  data/app/.env  data/.env
/// data/link_out      -> outside/            (a directory link out of the root)
/// data/link_out_file -> outside/secret.txt  (a file link out of the root)
/// data/link_in       -> data/secrets/       (a link to a denied place)
/// data/link_sub      -> outside/sub/        (for `link_sub/../secret.txt`)
/// out/               (the write root)
/// out/dangling       -> outside/new.txt     (a link to a file not yet there)
/// outside/secret.txt outside/sub/
/// ```
pub struct Sandbox {
    /// The directory's canonical absolute path.
    pub root: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // `rustchain-policy-test-…` or `rustchain-security-test-…`: the test
        // binary that uses this module.
        let dir = std::env::temp_dir().join(format!(
            "rustchain-{}-test-{}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("the temp dir is writable");
        let root = dir.canonicalize().expect("the sandbox exists");
        for sub in ["data/sub", "data/secrets", "data/app", "out", "outside/sub"] {
            fs::create_dir_all(root.join(sub)).expect("create a sandbox folder");
        }
        for (file, text) in [
            ("data/notes.txt", "notes"),
            ("data/secrets/key", "KEY"),
            ("data/app/.env", "ENV"),
            ("data/.env", "ENV"),
            ("outside/secret.txt", "OUTSIDE"),
        ] {
            fs::write(root.join(file), text).expect("write a sandbox file");
        }
        for (target, link) in [
            ("outside", "data/link_out"),
            ("outside/secret.txt", "data/link_out_file"),
            ("data/secrets", "data/link_in"),
            ("outside/sub", "data/link_sub"),
            ("outside/new.txt", "out/dangling"),
        ] {
            symlink(root.join(target), root.join(link)).expect("create a sandbox link");
        }
        Sandbox { root }
    }

    /// `text` with `{root}` replaced by the sandbox's absolute path.
    pub fn fill(&self, text: &str) -> String {
        text.replace("{root}", self.root.to_str().expect("a UTF-8 temp dir"))
    }

    /// The policy `text`, after [`fill`](Self::fill), named `policy.toml` in
    /// its messages, with relative roots under the sandbox.
    pub fn policy(&self, text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(&self.fill(text), "policy.toml", &self.root)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// `label#n`, with an `n` no other call of this test binary gets.
pub fn unique_call_id(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{label}#{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
