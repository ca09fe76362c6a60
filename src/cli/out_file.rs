//! Files the CLI writes for the user (`tools lock`, `tools docs --out`):
//! whole or not at all, so an interrupted run never leaves half a file.

use std::io::Write;
use std::path::Path;

/// Writes `text` to `path` through a temporary file in the same folder,
/// renamed over it, so a reader sees the old file or the new one.
pub(super) fn write_whole(path: &Path, text: &str) -> Result<(), String> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |name| name.to_string_lossy().into_owned());
    let temp = folder.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    renamed.map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {err}", path.display())
    })
}
