//! The attacker of the symlink-race tests (`tests/fs_tool.rs`,
//! `tests/safe_fs.rs`, included by path): swaps a file and a link out of
//! the root at one name as fast as it can.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Until `stop`, makes `target` (inside `root`) alternately a file reading
/// "inside" and a link to `secret`. Each swap is a rename, so the name
/// always exists: as a file, then as a link out of the root.
pub fn swap_until(root: &Path, target: &Path, secret: &Path, stop: &AtomicBool) {
    let (file, link) = (root.join(".next_file"), root.join(".next_link"));
    while !stop.load(Ordering::Relaxed) {
        std::fs::write(&file, "inside").expect("write the file");
        std::fs::rename(&file, target).expect("rename the file into place");
        let _ = std::fs::remove_file(&link);
        symlink(secret, &link).expect("make the link");
        std::fs::rename(&link, target).expect("rename the link into place");
    }
}
