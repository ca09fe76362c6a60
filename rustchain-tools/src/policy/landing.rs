//! Where the kernel lands a path, asked of the kernel instead of a `stat`
//! per component (`path::resolve_by_walking`): first one `openat2(O_PATH)`
//! refusing every symlink (a path without links, existing or not, lands
//! where it is written); through links, the handle's name read back from
//! `/proc/self/fd`.
//!
//! It answers only where its answer is the walk's: the kernel follows
//! symlinks before applying the next `..`, as the walk does, so a path that
//! exists lands where the walk ends. A path whose last names do not exist
//! yet lands at its deepest existing folder plus those names, provided the
//! first missing name is truly absent (not a dangling symlink, which the walk
//! follows) and no `..` or `.` comes after it. Everything else (a magic link
//! under `/proc`, a loop, a folder it may not search, a name read back that
//! is not a plain absolute path, no `openat2` or no `/proc`) answers `None`
//! and the caller walks.

use std::ffi::{CStr, CString, OsStr};
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once `openat2` proved missing (kernels before 5.6) or filtered
/// (seccomp), so later decisions go straight to the walk.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// `struct open_how` of `linux/openat2.h` (libc's is `non_exhaustive`).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Where the kernel would open `joined` (absolute), or `None` when only the
/// walk can say (see the module's docs).
#[cfg(test)]
fn landed(joined: &Path) -> Option<PathBuf> {
    land(joined.to_path_buf()).ok()
}

/// Where the kernel would open `joined`: `Ok` with that path
/// (`joined` itself, not a copy, when it is already in normal form and
/// lands where it is written: the common case, no allocation), or `Err`
/// giving `joined` back when only the walk can say.
pub(super) fn land(joined: PathBuf) -> Result<PathBuf, PathBuf> {
    if UNAVAILABLE.load(Ordering::Relaxed) {
        return Err(joined);
    }
    let bytes = joined.as_os_str().as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(joined);
    }
    let answer = with_c_path(bytes, |path| match without_links(&joined, path) {
        Some(Written::AsJoined) => Some(None),
        Some(Written::Normalized(written)) => Some(Some(written)),
        None => following_links(bytes).map(Some),
    });
    match answer.flatten() {
        Some(None) => Ok(joined),
        Some(Some(landed)) => Ok(landed),
        None => Err(joined),
    }
}

/// `f` of `bytes` as a C string, on the stack when it is short (as std's
/// own path calls do), so the common decision allocates nothing for it;
/// `None` when `bytes` holds a NUL.
fn with_c_path<R>(bytes: &[u8], f: impl FnOnce(&CStr) -> R) -> Option<R> {
    const ON_STACK: usize = 384;
    if bytes.len() < ON_STACK {
        let mut buffer = [0u8; ON_STACK];
        buffer[..bytes.len()].copy_from_slice(bytes);
        let path = CStr::from_bytes_with_nul(&buffer[..=bytes.len()]).ok()?;
        Some(f(path))
    } else {
        Some(f(&CString::new(bytes).ok()?))
    }
}

/// Where a path without links lands, as written.
enum Written {
    /// The path itself: it was in normal form already.
    AsJoined,
    /// The path with `.`, repeated and trailing slashes folded.
    Normalized(PathBuf),
}

/// The common case in one system call: a path with no `..` and no symlink
/// on the way lands where it is written. Opened refusing every symlink, the
/// kernel answers `ENOENT` only when each name before the missing one is a
/// real folder and the missing one is not even a dangling link (a link met
/// first is `ELOOP`), which is exactly when the walk takes the rest as written.
fn without_links(joined: &Path, path: &CStr) -> Option<Written> {
    use std::path::Component;
    let written = if super::path::is_normal(path.to_bytes()) {
        Written::AsJoined
    } else {
        let mut written = PathBuf::with_capacity(joined.as_os_str().len());
        for component in joined.components() {
            match component {
                Component::RootDir => written.push("/"),
                Component::Normal(name) => written.push(name),
                Component::CurDir => {}
                Component::ParentDir | Component::Prefix(_) => return None,
            }
        }
        Written::Normalized(written)
    };
    match open_path(path, libc::RESOLVE_NO_SYMLINKS) {
        Ok(_handle) => Some(written),
        Err(libc::ENOENT) => Some(written),
        Err(libc::ENOSYS | libc::EPERM) => {
            UNAVAILABLE.store(true, Ordering::Relaxed);
            None
        }
        Err(_) => None,
    }
}

/// A path through symlinks: opened following them (but not `/proc`'s magic
/// links), and the handle's name read back; when its last names are
/// missing, their deepest existing folder's name plus those names.
fn following_links(bytes: &[u8]) -> Option<PathBuf> {
    // Names past the deepest folder that opened, the last one first.
    let mut missing: Vec<&[u8]> = Vec::new();
    let mut end = bytes.len();
    loop {
        let prefix = if end == 0 { &b"/"[..] } else { &bytes[..end] };
        let prefix = CString::new(prefix).ok()?;
        match open_path(&prefix, libc::RESOLVE_NO_MAGICLINKS) {
            Ok(handle) => {
                if let Some(first) = missing.last()
                    && !absent(&handle, first)?
                {
                    return None;
                }
                let mut landed = name_of(&handle)?;
                for name in missing.iter().rev() {
                    landed.push(OsStr::from_bytes(name));
                }
                return Some(landed);
            }
            Err(libc::ENOENT) => {}
            Err(libc::ENOSYS | libc::EPERM) => {
                UNAVAILABLE.store(true, Ordering::Relaxed);
                return None;
            }
            Err(_) => return None,
        }
        let trimmed = trim_slashes(&bytes[..end]);
        let cut = trimmed.iter().rposition(|&b| b == b'/')?;
        let name = &trimmed[cut + 1..];
        if name.is_empty() || name == b"." || name == b".." {
            return None;
        }
        missing.push(name);
        end = cut;
    }
}

/// `path` without its trailing slashes (`/` itself becomes empty).
fn trim_slashes(path: &[u8]) -> &[u8] {
    let kept = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..kept]
}

/// Opens `path` as a handle that names a place and grants nothing, under
/// `openat2`'s `resolve` restrictions (never `/proc`'s magic links: the walk
/// reads those as text).
fn open_path(path: &CStr, resolve: u64) -> Result<OwnedFd, i32> {
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: resolve | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: `path` is NUL-terminated and `how` is a live `open_how` of the
    // size passed; the kernel reads both and writes nothing.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    let fd = i32::try_from(fd).map_err(|_| libc::EBADF)?;
    // SAFETY: the kernel just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Is `name` absent from the folder `dir` (not even a dangling symlink)?
/// `None` when the kernel cannot say (not a folder, no search permission).
fn absent(dir: &OwnedFd, name: &[u8]) -> Option<bool> {
    let name = CString::new(name).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `name` is NUL-terminated and `stat` is writable memory of the right type.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        return Some(false);
    }
    (std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT)).then_some(true)
}

/// The absolute path `handle` was opened at, read back from `/proc/self/fd`;
/// `None` for anything but a plain absolute path (a deleted file's name ends
/// in ` (deleted)`, a pseudo-file's is not absolute).
fn name_of(handle: &OwnedFd) -> Option<PathBuf> {
    let mut link = [0u8; 32];
    let mut writer = &mut link[..];
    write!(writer, "/proc/self/fd/{}\0", handle.as_raw_fd()).ok()?;
    let mut target = [0u8; libc::PATH_MAX as usize];
    // SAFETY: `link` holds a NUL-terminated path; `target` is writable for its length.
    let len = unsafe {
        libc::readlink(
            link.as_ptr().cast(),
            target.as_mut_ptr().cast(),
            target.len(),
        )
    };
    let len = usize::try_from(len).ok()?;
    // A full buffer may be a cut name.
    if len == 0 || len >= target.len() {
        return None;
    }
    let target = &target[..len];
    if target[0] != b'/' || target.ends_with(b" (deleted)") {
        return None;
    }
    Some(PathBuf::from(OsStr::from_bytes(target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_path_lands_where_its_links_point() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        assert_eq!(
            landed(&root.join("link/../real/./")),
            Some(root.join("real"))
        );
        assert_eq!(
            landed(&root.join("link/new/file")),
            Some(root.join("real/new/file"))
        );
    }

    #[test]
    fn a_path_in_normal_form_is_given_back_and_any_other_spelling_lands_as_the_walk_ends() {
        use crate::policy::path::is_normal;
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/a.txt"), "x").unwrap();
        assert!(is_normal(b"/"));
        assert!(is_normal(b"/docs/a.txt"));
        for odd in [
            &b"//docs"[..],
            b"/docs/",
            b"/docs/./a",
            b"/docs/../a",
            b"/.",
        ] {
            assert!(!is_normal(odd), "{}", String::from_utf8_lossy(odd));
        }
        let plain = root.join("docs/a.txt");
        let address = plain.as_os_str().as_bytes().as_ptr();
        let answer = land(plain).expect("a plain path lands");
        // The same buffer: nothing was copied.
        assert_eq!(answer.as_os_str().as_bytes().as_ptr(), address);
        for spelling in [
            "docs/a.txt",
            "docs//a.txt",
            "./docs/./a.txt",
            "docs/new/",
            "new//x/./",
        ] {
            let path = Path::new(&format!("{}/{spelling}", root.display())).to_path_buf();
            assert_eq!(
                landed(&path),
                crate::policy::path::resolve_by_walking(&path, Path::new("/")),
                "{spelling}"
            );
        }
    }

    #[test]
    fn a_dangling_link_or_a_dot_dot_after_a_missing_name_is_left_to_the_walk() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        std::os::unix::fs::symlink("/nonexistent/elsewhere", root.join("dangling")).unwrap();
        assert_eq!(landed(&root.join("dangling/file")), None);
        assert_eq!(landed(&root.join("dangling")), None);
        assert_eq!(landed(&root.join("missing/../x")), None);
        assert_eq!(landed(Path::new("/proc/self/cwd/x")), None);
    }
}
