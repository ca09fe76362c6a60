//! The files a run may execute: the granted program and the helpers its
//! `[[programs]]` entry lists, each with the interpreter the kernel starts
//! for it (an ELF file's `PT_INTERP`, a script's `#!` line), under the name
//! granted and the file its links lead to.
//!
//! Landlock's execute right goes to these files only, so `env`, a shell, a
//! hook or a pager started by a granted program fails to exec anything else.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How deep interpreters of interpreters are followed (`#!` to a script
/// whose own `#!` names another): the kernel's own limit is 4.
const MAX_INTERPRETER_DEPTH: usize = 4;
/// The most of an ELF file's program headers read to find its interpreter.
const MAX_PROGRAM_HEADERS: usize = 256;

/// Every file `program` and `helpers` need executable, deduplicated, in order.
pub(crate) fn executables(program: &Path, helpers: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    for start in std::iter::once(program).chain(helpers.iter().map(PathBuf::as_path)) {
        add_with_interpreters(start, &mut files, 0);
    }
    files
}

#[allow(
    clippy::disallowed_methods,
    reason = "the program and its helpers are paths the policy grants; resolving their links finds the file the kernel executes"
)]
fn add_with_interpreters(path: &Path, files: &mut Vec<PathBuf>, depth: usize) {
    let mut push = |path: PathBuf| {
        if !files.contains(&path) {
            files.push(path);
        }
    };
    push(path.to_path_buf());
    if let Ok(canonical) = path.canonicalize() {
        push(canonical);
    }
    if depth >= MAX_INTERPRETER_DEPTH {
        return;
    }
    if let Some(interpreter) = interpreter(path) {
        add_with_interpreters(&interpreter, files, depth + 1);
    }
}

/// The interpreter the kernel starts to run `path`, if it names one.
#[allow(
    clippy::disallowed_methods,
    reason = "reads the header of a program the policy grants, to find its interpreter"
)]
pub(crate) fn interpreter(path: &Path) -> Option<PathBuf> {
    let mut file = File::open(path).ok()?;
    let mut head = [0u8; 256];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return None,
        }
    }
    let head = &head[..filled];
    if let Some(line) = head.strip_prefix(b"#!") {
        return shebang(line);
    }
    if head.starts_with(b"\x7fELF") {
        return elf_interpreter(&file, head);
    }
    None
}

/// The first word after `#!`, as the kernel reads it.
fn shebang(line: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let line = line.split(|&b| b == b'\n').next()?;
    let word = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|word| !word.is_empty())?;
    let path = Path::new(std::ffi::OsStr::from_bytes(word));
    path.is_absolute().then(|| path.to_path_buf())
}

/// The `PT_INTERP` path of an ELF file (its dynamic loader), if it has one.
fn elf_interpreter(file: &File, head: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = match head.get(5)? {
        1 => true,
        2 => false,
        _ => return None,
    };
    let number = |bytes: &[u8]| -> Option<u64> {
        let mut value: u64 = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            let shift = if little { i } else { bytes.len() - 1 - i };
            value |= u64::from(byte) << (8 * shift);
        }
        (bytes.len() <= 8).then_some(value)
    };
    let field = |at: usize, len: usize| head.get(at..at + len).and_then(number);
    let (phoff, phentsize, phnum) = if wide {
        (field(0x20, 8)?, field(0x36, 2)?, field(0x38, 2)?)
    } else {
        (field(0x1c, 4)?, field(0x2a, 2)?, field(0x2c, 2)?)
    };
    let (entry_size, count) = (
        usize::try_from(phentsize).ok()?,
        usize::try_from(phnum).ok()?,
    );
    if count > MAX_PROGRAM_HEADERS || entry_size < if wide { 56 } else { 32 } {
        return None;
    }
    let mut table = vec![0u8; entry_size * count];
    file.read_exact_at(&mut table, phoff).ok()?;
    for header in table.chunks_exact(entry_size) {
        let at = |offset: usize, len: usize| header.get(offset..offset + len).and_then(number);
        const PT_INTERP: u64 = 3;
        if at(0, 4)? != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (at(8, 8)?, at(32, 8)?)
        } else {
            (at(4, 4)?, at(16, 4)?)
        };
        let size = usize::try_from(size).ok().filter(|&s| s > 0 && s <= 4096)?;
        let mut name = vec![0u8; size];
        file.read_exact_at(&mut name, offset).ok()?;
        let name = name.split(|&b| b == 0).next()?;
        return Some(PathBuf::from(std::ffi::OsStr::from_bytes(name)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_program_needs_its_loader() {
        let Some(loader) = interpreter(Path::new("/bin/cat")) else {
            eprintln!("/bin/cat is static here; nothing to check");
            return;
        };
        assert!(loader.is_absolute(), "{loader:?}");
        assert!(
            loader.to_string_lossy().contains("ld"),
            "the loader of /bin/cat: {loader:?}"
        );
        let files = executables(Path::new("/bin/cat"), &[]);
        assert!(files.contains(&PathBuf::from("/bin/cat")));
        assert!(files.contains(&loader));
        assert!(!files.iter().any(|f| f.ends_with("sh")), "{files:?}");
    }

    #[test]
    fn a_script_needs_the_interpreter_of_its_first_line() {
        assert_eq!(
            shebang(b"/bin/sh -e\necho hi\n"),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            shebang(b"  /usr/bin/env python3\n"),
            Some(PathBuf::from("/usr/bin/env"))
        );
        assert_eq!(shebang(b"relative\n"), None);
    }

    #[test]
    fn helpers_are_executable_too() {
        let files = executables(Path::new("/usr/bin/env"), &[PathBuf::from("/bin/echo")]);
        assert!(files.contains(&PathBuf::from("/usr/bin/env")));
        assert!(files.contains(&PathBuf::from("/bin/echo")));
    }
}
