//! `fs_search`: lines matching a literal or a regular expression.

use std::path::Path;

use cap_std::fs::Dir;
use regex::bytes::{Regex, RegexBuilder};
use rustchain_macros::tool;
use rustchain_tools::{ErrorKind, ToolContext, ToolError};

use rustchain_tools::fs::FsPath;
use rustchain_tools::fs::confine::{Access, EntryKind, Last, Scope, io_error};
use rustchain_tools::fs::files::{not_a_file, open_regular, read_up_to};
use rustchain_tools::fs::walk::{Flow, walk};
use rustchain_tools::policy::Grants;

use super::filter::NameFilter;

/// Matches returned unless asked for fewer.
pub const DEFAULT_MATCHES: u32 = 100;
/// The most matches returned.
pub const MAX_MATCHES: u32 = 1000;
/// Files larger than this are skipped.
pub const MAX_FILE: u64 = 8 * 1024 * 1024;
/// A matching line is cut to this many characters.
const MAX_LINE_CHARS: usize = 300;

/// What `fs_search` returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SearchOutput {
    /// The file or folder searched, as an absolute path.
    pub path: String,
    /// The matching lines, file by file (depth first, by name), line by line.
    pub matches: Vec<SearchMatch>,
    /// Files whose content was searched.
    pub files_searched: u64,
    /// Files skipped: binary (a NUL byte early on), larger than 8 MiB, or unreadable.
    pub files_skipped: u64,
    /// Whether more matches exist than were returned (the cap was reached).
    pub truncated: bool,
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SearchMatch {
    /// The file, relative to the folder searched (its own name when a file was searched).
    pub path: String,
    /// The line number, from 1.
    pub line: u64,
    /// The line's text, cut to 300 characters.
    pub text: String,
}

/// Searches file contents for a literal text (default) or, with
/// `regex: true`, a regular expression (Rust `regex` syntax, linear time).
///
/// The path is a file or a folder, absolute (inside a folder the policy
/// grants for reading) or relative to the working directory; a folder is
/// searched with everything below it. `glob` keeps only matching files
/// (`*.rs` matches names, `src/**/*.rs` paths). Returns the matching lines,
/// at most `max_matches` (default 100, at most 1000); `truncated` says there
/// were more. Binary files, files over 8 MiB, symbolic links and entries the
/// policy denies are skipped.
#[tool(
    crate = "rustchain_tools",
    read_only,
    idempotent,
    open_world = false,
    timeout = "30s",
    tags("fs")
)]
pub fn fs_search(
    ctx: &ToolContext,
    /// The file or folder to search: absolute, or relative to the working directory.
    #[fs(read)]
    path: FsPath,
    /// The text to find (or a regular expression with `regex: true`); matched within one line.
    pattern: String,
    /// Treat `pattern` as a regular expression (default false: literal text).
    regex: Option<bool>,
    /// Ignore letter case (default false).
    case_insensitive: Option<bool>,
    /// Search only files matching this glob: `*.rs` (names) or `src/**/*.rs` (paths).
    glob: Option<String>,
    /// Return at most this many matches (default 100, at most 1000).
    max_matches: Option<u32>,
) -> Result<SearchOutput, ToolError> {
    let matcher = compile(
        &pattern,
        regex.unwrap_or(false),
        case_insensitive.unwrap_or(false),
    )?;
    let filter = NameFilter::new(glob.as_deref())?;
    let cap = max_matches.unwrap_or(DEFAULT_MATCHES).clamp(1, MAX_MATCHES) as usize;
    let (scope, names) = Scope::open(Grants::of(ctx), Access::Read, path.as_path())?;
    let target = scope.resolve(names, Last::Follow, false)?;
    let shown = scope.show(&target.rel);
    let mut search = Search {
        matcher,
        cap,
        out: SearchOutput {
            path: shown.clone(),
            matches: Vec::new(),
            files_searched: 0,
            files_skipped: 0,
            truncated: false,
        },
    };
    match (&target.name, target.kind) {
        (Some(name), Some(EntryKind::File)) => {
            let (mut file, meta) = open_regular(&target.dir, name, &shown)?;
            if meta.len() > MAX_FILE {
                return Err(ToolError::new(
                    ErrorKind::Failed,
                    format!("{shown} is larger than 8 MiB, too large to search"),
                ));
            }
            let bytes = read_up_to(&mut file, MAX_FILE, &shown)?;
            search.lines(Path::new(name), &bytes);
            search.out.files_searched = 1;
        }
        (Some(_), None) => {
            return Err(ToolError::new(
                ErrorKind::Failed,
                format!("{shown} does not exist"),
            ));
        }
        (Some(_), Some(EntryKind::Dir)) | (None, _) => {
            let folder = match &target.name {
                Some(name) => cap_fs_ext::DirExt::open_dir_nofollow(&target.dir, name)
                    .map_err(|err| io_error(&err, &shown))?,
                None => target.dir,
            };
            let walked = walk(&scope, ctx, folder, &target.rel, true, |entry| {
                if entry.kind != EntryKind::File
                    || !NameFilter::passes(&filter, entry.rel, entry.name)
                {
                    return Ok(Flow::Continue);
                }
                Ok(search.file(entry.dir, entry.name, entry.rel))
            })?;
            search.out.truncated |= walked.stopped;
        }
        (Some(_), Some(kind)) => return Err(not_a_file(kind, &shown)),
    }
    Ok(search.out)
}

fn compile(pattern: &str, regex: bool, case_insensitive: bool) -> Result<Regex, ToolError> {
    if pattern.is_empty() {
        return Err(ToolError::invalid_argument(
            "pattern",
            "pattern is empty; give the text to find",
        ));
    }
    let source = if regex {
        pattern.to_owned()
    } else {
        regex::escape(pattern)
    };
    RegexBuilder::new(&source)
        .case_insensitive(case_insensitive)
        .size_limit(1 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .map_err(|err| {
            ToolError::invalid_argument(
                "pattern",
                format!("pattern is not a valid regular expression: {err}"),
            )
        })
}

struct Search {
    matcher: Regex,
    cap: usize,
    out: SearchOutput,
}

impl Search {
    /// Searches one file met by the walk; stops the walk at the cap.
    fn file(&mut self, dir: &Dir, name: &str, rel: &Path) -> Flow {
        let shown = rel.display().to_string();
        let Ok((mut file, meta)) = open_regular(dir, name, &shown) else {
            self.out.files_skipped += 1;
            return Flow::Continue;
        };
        if meta.len() > MAX_FILE {
            self.out.files_skipped += 1;
            return Flow::Continue;
        }
        let Ok(bytes) = read_up_to(&mut file, MAX_FILE, &shown) else {
            self.out.files_skipped += 1;
            return Flow::Continue;
        };
        if bytes.iter().take(8192).any(|&b| b == 0) {
            self.out.files_skipped += 1;
            return Flow::Continue;
        }
        self.out.files_searched += 1;
        self.lines(rel, &bytes)
    }

    fn lines(&mut self, rel: &Path, bytes: &[u8]) -> Flow {
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if !self.matcher.is_match(line) {
                continue;
            }
            if self.out.matches.len() == self.cap {
                self.out.truncated = true;
                return Flow::Stop;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text: String = String::from_utf8_lossy(line)
                .chars()
                .take(MAX_LINE_CHARS)
                .collect();
            self.out.matches.push(SearchMatch {
                path: rel.to_string_lossy().into_owned(),
                line: index as u64 + 1,
                text,
            });
        }
        Flow::Continue
    }
}
