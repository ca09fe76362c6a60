//! Copying an index, from a folder or a plain `http://` server, verifying
//! every signature on the way.
//!
//! A static server cannot list folders, so an index keeps `packages.txt`
//! at its root (every package name, one a line, sorted), rewritten by each
//! publish. The mirror reads `config.json`, `packages.txt`, then each
//! package's file and ratings file. A package's file is copied only when
//! every line verifies, and only when it extends what the destination
//! already holds (a shorter or different chain would be a rollback); the
//! ratings are copied line by line, the lines that verify.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{MarketError, MarketErrorKind};
use crate::index::{CONFIG_FILE, Index, IndexConfig, PACKAGES_FILE, PackageLog, RATINGS_DIR};
use crate::rating::Ratings;

/// The largest file a mirror fetches.
const MAX_FILE: usize = 64 << 20;

/// Where an index is read from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder.
    Folder(PathBuf),
    /// A plain HTTP server: host, port, and the path prefix (ending in `/`).
    Http {
        /// The host name or address.
        host: String,
        /// The port.
        port: u16,
        /// The path of the index's root, ending in `/`.
        prefix: String,
    },
}

impl Source {
    /// `http://HOST[:PORT]/PATH` or a folder.
    pub fn parse(text: &str) -> Result<Source, MarketError> {
        if text.starts_with("https://") {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                "https:// is not supported yet: mirror over http:// on a network you trust, or from a folder (the signatures are verified either way)",
            ));
        }
        let Some(rest) = text.strip_prefix("http://") else {
            return Ok(Source::Folder(PathBuf::from(text)));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>().map_err(|_| {
                    MarketError::new(
                        MarketErrorKind::Invalid,
                        format!("`{text}`: `{port}` is not a port"),
                    )
                })?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!("`{text}` names no host"),
            ));
        }
        let mut prefix = format!("/{path}");
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Source::Http {
            host: host.to_owned(),
            port,
            prefix,
        })
    }

    /// The text of `relative` (`/`-separated), `None` when it does not exist.
    fn fetch(&self, relative: &str) -> Result<Option<String>, MarketError> {
        match self {
            Source::Folder(root) => {
                let path = root.join(relative);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(text)),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(MarketError::io("read", &path, &err)),
                }
            }
            Source::Http { host, port, prefix } => {
                http_get(host, *port, &format!("{prefix}{relative}"))
            }
        }
    }
}

/// What a mirror run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MirrorReport {
    /// Packages copied (new or extended).
    pub copied: Vec<String>,
    /// Packages the destination already had, unchanged.
    pub unchanged: Vec<String>,
    /// Packages not copied, and why (a line that does not verify, a rollback).
    pub refused: Vec<(String, String)>,
    /// Rating lines left out because they did not verify.
    pub untrusted_ratings: usize,
}

/// Copies the index at `source` into the folder `dest`.
pub fn mirror(source: &Source, dest: &Path) -> Result<MirrorReport, MarketError> {
    let config_text = source.fetch(CONFIG_FILE)?.ok_or_else(|| {
        MarketError::new(
            MarketErrorKind::NotFound,
            format!("the source has no {CONFIG_FILE}: is it an index?"),
        )
    })?;
    let config: IndexConfig = serde_json::from_str(&config_text).map_err(|err| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!("the source's {CONFIG_FILE} is not an index config: {err}"),
        )
    })?;
    let names = source.fetch(PACKAGES_FILE)?.unwrap_or_default();
    let index = Index::create_with(dest, &config)?;
    let mut report = MirrorReport::default();
    for name in names.lines().map(str::trim).filter(|n| !n.is_empty()) {
        let relative = Index::relative_path(name)?;
        let relative_text = relative.to_string_lossy().replace('\\', "/");
        let Some(text) = source.fetch(&relative_text)? else {
            report
                .refused
                .push((name.to_owned(), "listed, but its file is missing".into()));
            continue;
        };
        let owners = index.owners_of(name);
        let log = PackageLog::verify(name, &text, &owners);
        if let Some(bad) = log.untrusted().next() {
            let why = bad
                .distrust
                .as_ref()
                .map_or(String::new(), |(_, why)| why.clone());
            report.refused.push((name.to_owned(), why));
            continue;
        }
        let held = index.raw_file(name)?;
        if let Some(held) = &held {
            if held == &text {
                report.unchanged.push(name.to_owned());
            } else if !text.starts_with(held.as_str()) {
                report.refused.push((name.to_owned(), "the source's file does not extend the mirror's: a rollback or a fork, kept the mirror's".into()));
                continue;
            }
        }
        if held.as_deref() != Some(text.as_str()) {
            index.replace_file(&relative, &text)?;
            report.copied.push(name.to_owned());
        }
        if let Some(ratings) = source.fetch(&format!("{RATINGS_DIR}/{relative_text}"))? {
            let verified = Ratings::verify(name, &ratings);
            report.untrusted_ratings += verified.untrusted;
            let kept: String = ratings
                .lines()
                .filter(|line| {
                    Ratings::verify(name, line).untrusted == 0 && !line.trim().is_empty()
                })
                .map(|line| format!("{line}\n"))
                .collect();
            index.replace_file(&Path::new(RATINGS_DIR).join(&relative), &kept)?;
        }
    }
    index.write_package_list()?;
    Ok(report)
}

/// One `GET` over HTTP/1.0; `None` on 404.
fn http_get(host: &str, port: u16, path: &str) -> Result<Option<String>, MarketError> {
    let failed = |what: &str, err: std::io::Error| {
        MarketError::new(
            MarketErrorKind::Io,
            format!("http://{host}:{port}{path}: cannot {what}: {err}"),
        )
    };
    let mut stream = TcpStream::connect((host, port)).map_err(|e| failed("connect", e))?;
    let timeout = Some(Duration::from_secs(30));
    stream
        .set_read_timeout(timeout)
        .map_err(|e| failed("set a timeout", e))?;
    stream
        .set_write_timeout(timeout)
        .map_err(|e| failed("set a timeout", e))?;
    // One write: a server may answer (and close) as soon as it has the request.
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: rustchain-market\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| failed("send the request", e))?;
    let mut response = Vec::new();
    stream
        .take(MAX_FILE as u64 + 65536)
        .read_to_end(&mut response)
        .map_err(|e| failed("read the answer", e))?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Io,
                format!("http://{host}:{port}{path}: not an HTTP answer"),
            )
        })?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = &response[split + 4..];
    match status {
        200 if body.len() <= MAX_FILE => String::from_utf8(body.to_vec()).map(Some).map_err(|_| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!("http://{host}:{port}{path} is not UTF-8 text"),
            )
        }),
        200 => Err(MarketError::new(
            MarketErrorKind::Invalid,
            format!("http://{host}:{port}{path} is larger than {MAX_FILE} bytes"),
        )),
        404 => Ok(None),
        other => Err(MarketError::new(
            MarketErrorKind::Io,
            format!("http://{host}:{port}{path} answered {other}"),
        )),
    }
}
