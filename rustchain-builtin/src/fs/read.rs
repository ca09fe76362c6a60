//! `fs_read`: a text file, whole or a byte range, capped.

use std::io::{Seek, SeekFrom};

use rustchain_macros::tool;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, Last, Scope, io_error};
use rustchain_tools::fs::files::{existing_file, open_regular, read_up_to};
use rustchain_tools::policy::Grants;

/// The most bytes one `fs_read` call returns.
pub const MAX_READ: u64 = 256 * 1024;

/// What `fs_read` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ReadOutput {
    /// The file read, as an absolute path.
    pub path: String,
    /// The text read.
    pub content: String,
    /// The byte offset `content` starts at (moved past a partial character
    /// when the requested offset fell inside one).
    pub offset: u64,
    /// The file's size in bytes.
    pub size: u64,
    /// The offset of the first byte not returned, when the file goes on
    /// after `content`; pass it as `offset` to read on.
    pub next_offset: Option<u64>,
    /// Whether the size cap (262144 bytes per call) cut the requested range short.
    pub truncated: bool,
}

/// Reads a UTF-8 text file, whole or a byte range, at most 262144 bytes
/// (256 KiB) per call.
///
/// The path is absolute (inside a folder the policy grants for reading) or
/// relative to the working directory. For a long file, read it in pieces:
/// each result's `next_offset` is where the next call continues, and
/// `truncated` says the cap cut the requested range short. Only regular
/// files are read: folders (use `fs_list`), FIFOs, sockets and devices are
/// refused, and so are files that are not UTF-8 text.
#[tool(
    crate = "rustchain_tools",
    read_only,
    idempotent,
    open_world = false,
    tags("fs")
)]
pub fn fs_read(
    ctx: &ToolContext,
    /// The file to read: absolute, or relative to the working directory.
    #[fs(read)]
    path: FsPath,
    /// The byte offset to start at (default 0).
    offset: Option<u64>,
    /// How many bytes to read at most (default: to the end, capped at 262144).
    length: Option<u64>,
) -> Result<ReadOutput, ToolError> {
    let (scope, names) = Scope::open(Grants::of(ctx), Access::Read, path.as_path())?;
    let target = scope.resolve(names, Last::Follow, false)?;
    let shown = scope.show(&target.rel);
    let name = existing_file(&target, &shown, "fs_list shows what its folder holds")?;
    let (mut file, meta) = open_regular(&target.dir, name, &shown)?;
    let size = meta.len();
    let offset = offset.unwrap_or(0);
    let requested = length.unwrap_or(u64::MAX);
    let remaining = size.saturating_sub(offset);
    let take = requested.min(MAX_READ);
    let bytes = if offset >= size {
        Vec::new()
    } else {
        file.seek(SeekFrom::Start(offset))
            .map_err(|err| io_error(&err, &shown))?;
        read_up_to(&mut file, take, &shown)?
    };
    let reached_end = offset.saturating_add(bytes.len() as u64) >= size;
    let (skipped, content) = text_of(&bytes, offset > 0, reached_end).map_err(|at| {
        ToolError::new(
            ErrorKind::Failed,
            format!(
                "{shown} is not UTF-8 text (an invalid byte at offset {}); it may be a binary file",
                offset + at as u64
            ),
        )
    })?;
    let start = offset + skipped as u64;
    let end = start + content.len() as u64;
    Ok(ReadOutput {
        path: shown,
        content,
        offset: start,
        size,
        next_offset: (end < size).then_some(end),
        truncated: requested > MAX_READ && remaining > MAX_READ,
    })
}

/// The text in `bytes`: partial characters at the edges of a range are left
/// out (the leading one only when the range starts inside the file, the
/// trailing one only when it stops before the end). Returns how many leading
/// bytes were skipped, or the index of the first invalid byte.
fn text_of(bytes: &[u8], mid_file: bool, reached_end: bool) -> Result<(usize, String), usize> {
    let is_continuation = |b: &u8| (b & 0b1100_0000) == 0b1000_0000;
    let skipped = if mid_file {
        bytes
            .iter()
            .take(3)
            .take_while(|b| is_continuation(b))
            .count()
    } else {
        0
    };
    let rest = &bytes[skipped..];
    match std::str::from_utf8(rest) {
        Ok(text) => Ok((skipped, text.to_owned())),
        Err(err) if err.error_len().is_none() && !reached_end => {
            let valid = &rest[..err.valid_up_to()];
            Ok((
                skipped,
                std::str::from_utf8(valid)
                    .expect("the prefix up to valid_up_to is UTF-8")
                    .to_owned(),
            ))
        }
        Err(err) => Err(skipped + err.valid_up_to()),
    }
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn partial_characters_at_range_edges_are_left_out() {
        let text = "aé€".as_bytes(); // 1 + 2 + 3 bytes
        assert_eq!(text_of(text, false, true), Ok((0, "aé€".to_owned())));
        // Starting inside `é`: its second byte is skipped.
        assert_eq!(text_of(&text[2..], true, true), Ok((1, "€".to_owned())));
        // Stopping inside `€` before the end of the file: left for the next call.
        assert_eq!(text_of(&text[..4], false, false), Ok((0, "aé".to_owned())));
        // Stopping inside it at the end of the file: the file is not UTF-8.
        assert_eq!(text_of(&text[..4], false, true), Err(3));
        assert_eq!(text_of(b"ok\xffno", false, true), Err(2));
    }
}
