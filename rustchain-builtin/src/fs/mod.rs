//! File tools: `fs_read`, `fs_write`, `fs_edit`, `fs_delete`, `fs_list`,
//! `fs_search`.
//!
//! Each declares its path with `#[fs(read)]` or `#[fs(write)]`, so the
//! policy's guard judges the value before the body runs. The body then
//! confines itself with a real mechanism, since the file system can change
//! between that check and the open: the runtime's safe file access
//! ([`rustchain_tools::fs`]), which reaches files only through capability
//! handles (`cap-std`) on the roots the policy grants, one name at a time,
//! without following links out of the root, and checks the deny rules
//! against the path it actually opened.
//!
//! Paths: an absolute path must start with a granted folder; a relative path
//! is relative to the working directory of the tool's kind (`[fs] read`
//! for reading, listing and searching; `[fs] write` for writing, editing and
//! deleting). `..` is applied as the kernel does, after following a link
//! before it, and can never climb above the granted folder.
//!
//! Errors: `denied` for what confinement refuses (outside the roots, a link
//! leading out, a denied pattern, writing through a link), `invalid_arguments`
//! for a path or pattern no file system takes or an edit that does not fit
//! the file, `failed` for I/O errors.

mod delete;
mod edit;
mod filter;
mod list;
mod read;
mod search;
mod write;
