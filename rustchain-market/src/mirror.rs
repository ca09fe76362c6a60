//! Copying an index, from a folder or a static `http://`/`https://` server,
//! verifying every signature on the way.
//!
//! A static server cannot list folders, so an index keeps `packages.txt`
//! and `collections.txt` at its root (every name, one a line, sorted),
//! rewritten by each first publish. The mirror reads `config.json`, the two
//! lists, then each package's file and ratings file and each collection's
//! file. A file is copied only when every line verifies, and only when it
//! extends what the destination already holds (a shorter or different chain
//! would be a rollback); the ratings are copied line by line, the lines that
//! verify.
//!
//! Over HTTP every file is one `GET` through `reqwest` on a current-thread
//! Tokio runtime (the async client the built-in HTTP tool already compiles,
//! so no second stack is built), bounded in size and time, with redirects
//! followed only on the same scheme, host and port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{MarketError, MarketErrorKind};
use crate::index::{
    COLLECTIONS_DIR, COLLECTIONS_FILE, CONFIG_FILE, Index, IndexConfig, PACKAGES_FILE, PackageLog,
    RATINGS_DIR,
};
use crate::rating::Ratings;

/// How much a mirror fetches, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file (an index list, a package's or a ratings file), in bytes.
    pub max_file: u64,
    /// How long one file may take, from connecting to its last byte.
    pub timeout: Duration,
    /// How many redirects one file may take (each on the same scheme, host and port).
    pub max_redirects: usize,
}

impl Default for Limits {
    /// 64 MiB a file, 60 seconds a file, 5 redirects.
    fn default() -> Limits {
        Limits {
            max_file: 64 << 20,
            timeout: Duration::from_secs(60),
            max_redirects: 5,
        }
    }
}

/// How a mirror fetches: its [`Limits`] and the authorities it trusts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How much it fetches, and for how long.
    pub limits: Limits,
    /// PEM certificates of authorities trusted beside the system's (one or
    /// more, concatenated): for an index served under a private CA.
    pub extra_roots_pem: Vec<u8>,
}

/// Where an index is read from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder.
    Folder(PathBuf),
    /// A static HTTP or HTTPS server: the URL of the index's root, ending in `/`.
    Http(url::Url),
}

impl Source {
    /// `http://HOST[:PORT]/PATH`, `https://...`, or else a folder.
    ///
    /// ```
    /// use rustchain_market::mirror::Source;
    ///
    /// let Source::Http(url) = Source::parse("https://example.org/index").unwrap() else { panic!() };
    /// assert_eq!(url.as_str(), "https://example.org/index/");
    /// assert!(matches!(Source::parse("./index-copy").unwrap(), Source::Folder(_)));
    /// assert!(Source::parse("http://user@example.org/").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Source, MarketError> {
        if !text.starts_with("http://") && !text.starts_with("https://") {
            return Ok(Source::Folder(PathBuf::from(text)));
        }
        let invalid = |why: String| MarketError::new(MarketErrorKind::Invalid, why);
        let mut url = url::Url::parse(text)
            .map_err(|err| invalid(format!("`{text}` is not a URL: {err}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(format!("`{text}` names no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(format!(
                "`{text}` carries credentials: an index is public, serve it without them"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(format!(
                "`{text}`: name the index's folder, without a query or fragment"
            )));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Source::Http(url))
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
    /// Collections copied (new or extended).
    pub copied_collections: Vec<String>,
    /// Collections the destination already had, unchanged.
    pub unchanged_collections: Vec<String>,
    /// Collections not copied, and why.
    pub refused_collections: Vec<(String, String)>,
    /// Rating lines left out because they did not verify.
    pub untrusted_ratings: usize,
}

/// Copies the index at `source` into the folder `dest`, with the default [`Options`].
pub fn mirror(source: &Source, dest: &Path) -> Result<MirrorReport, MarketError> {
    mirror_with(source, dest, &Options::default())
}

/// Copies the index at `source` into the folder `dest`, fetching as `options` say.
pub fn mirror_with(
    source: &Source,
    dest: &Path,
    options: &Options,
) -> Result<MirrorReport, MarketError> {
    let reader = Reader::open(source, options)?;
    let config_text = reader.fetch(CONFIG_FILE)?.ok_or_else(|| {
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
    let index = Index::create_with(dest, &config)?;
    let mut report = MirrorReport::default();
    let packages = reader.fetch(PACKAGES_FILE)?.unwrap_or_default();
    for name in names(&packages) {
        let relative = Index::relative_path(name)?;
        match copy_log(&reader, &index, name, &relative)? {
            Copied::New => report.copied.push(name.to_owned()),
            Copied::Unchanged => report.unchanged.push(name.to_owned()),
            Copied::Refused(why) => {
                report.refused.push((name.to_owned(), why));
                continue;
            }
        }
        let ratings_path = Path::new(RATINGS_DIR).join(&relative);
        if let Some(ratings) = reader.fetch(&slashed(&ratings_path))? {
            report.untrusted_ratings += Ratings::verify(name, &ratings).untrusted;
            let kept: String = ratings
                .lines()
                .filter(|line| {
                    !line.trim().is_empty() && Ratings::verify(name, line).untrusted == 0
                })
                .map(|line| format!("{line}\n"))
                .collect();
            index.replace_file(&ratings_path, &kept)?;
        }
    }
    let collections = match reader.fetch(COLLECTIONS_FILE)? {
        Some(list) => list,
        // An index written before the list existed: a folder can still be listed.
        None => match source {
            Source::Folder(root) => Index::open(root)?.collections()?.join("\n"),
            Source::Http(_) => String::new(),
        },
    };
    for name in names(&collections) {
        let relative = Path::new(COLLECTIONS_DIR).join(Index::relative_path(name)?);
        match copy_log(&reader, &index, name, &relative)? {
            Copied::New => report.copied_collections.push(name.to_owned()),
            Copied::Unchanged => report.unchanged_collections.push(name.to_owned()),
            Copied::Refused(why) => report.refused_collections.push((name.to_owned(), why)),
        }
    }
    index.write_package_list()?;
    Ok(report)
}

/// The names of a list file: one a line, blank lines skipped.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.lines().map(str::trim).filter(|n| !n.is_empty())
}

/// `relative` with `/` between its parts, as a URL wants it.
fn slashed(relative: &Path) -> String {
    relative.to_string_lossy().replace('\\', "/")
}

/// What became of one package's or collection's file.
enum Copied {
    /// Written: new, or extending the destination's.
    New,
    /// The destination's is the same.
    Unchanged,
    /// Not written, and why.
    Refused(String),
}

/// Copies the signed log at `relative` (a package's or a collection's file)
/// when every line verifies and it extends the destination's.
fn copy_log(
    reader: &Reader,
    index: &Index,
    name: &str,
    relative: &Path,
) -> Result<Copied, MarketError> {
    let Some(text) = reader.fetch(&slashed(relative))? else {
        return Ok(Copied::Refused("listed, but its file is missing".into()));
    };
    let log = PackageLog::verify(name, &text, &index.owners_of(name));
    if let Some(bad) = log.untrusted().next() {
        let why = bad
            .distrust
            .as_ref()
            .map_or(String::new(), |(_, why)| why.clone());
        return Ok(Copied::Refused(why));
    }
    let held = index.raw_file_at(relative)?;
    match held {
        Some(held) if held == text => Ok(Copied::Unchanged),
        Some(held) if !text.starts_with(held.as_str()) => Ok(Copied::Refused(
            "the source's file does not extend the mirror's: a rollback or a fork, kept the mirror's"
                .into(),
        )),
        _ => {
            index.replace_file(relative, &text)?;
            Ok(Copied::New)
        }
    }
}

/// Reads the files of a source: a folder, or one HTTP client for the run.
enum Reader {
    /// Files under a folder.
    Folder(PathBuf),
    /// Files under a URL.
    Http(Box<HttpReader>),
}

/// A client, the runtime it runs on, the index's URL and the limits.
struct HttpReader {
    /// Always `Some` until dropped (taken to shut it down without blocking).
    runtime: Option<tokio::runtime::Runtime>,
    client: reqwest::Client,
    base: url::Url,
    limits: Limits,
}

impl Reader {
    fn open(source: &Source, options: &Options) -> Result<Reader, MarketError> {
        match source {
            Source::Folder(root) => Ok(Reader::Folder(root.clone())),
            Source::Http(base) => Ok(Reader::Http(Box::new(HttpReader::new(
                base.clone(),
                options,
            )?))),
        }
    }

    /// The text of `relative` (`/`-separated), `None` when it does not exist.
    fn fetch(&self, relative: &str) -> Result<Option<String>, MarketError> {
        match self {
            Reader::Folder(root) => {
                let path = root.join(relative);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Ok(Some(text)),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(MarketError::io("read", &path, &err)),
                }
            }
            Reader::Http(http) => http.get(relative),
        }
    }
}

impl HttpReader {
    fn new(base: url::Url, options: &Options) -> Result<HttpReader, MarketError> {
        let limits = options.limits;
        let extra_roots = extra_roots(&options.extra_roots_pem)?;
        let failed = |what: &str, err: &dyn std::fmt::Display| {
            MarketError::new(
                MarketErrorKind::Io,
                format!("cannot start the HTTP client ({what}): {err}"),
            )
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| failed("runtime", &err))?;
        let max_redirects = limits.max_redirects;
        let client = reqwest::Client::builder()
            // The signatures are the trust, not the transport; no proxy keeps
            // a loopback or LAN mirror from being sent to one by the environment.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                let from = attempt.previous().last().map(origin_of);
                if attempt.previous().len() > max_redirects {
                    attempt.error(format!("more than {max_redirects} redirects"))
                } else if from.as_ref() != Some(&origin_of(attempt.url())) {
                    let to = attempt.url().to_string();
                    attempt.error(format!(
                        "a redirect to {to}, another scheme, host or port, is not followed"
                    ))
                } else {
                    attempt.follow()
                }
            }))
            .https_only(base.scheme() == "https")
            .tls_certs_merge(extra_roots)
            .referer(false)
            .connect_timeout(limits.timeout.min(Duration::from_secs(15)))
            .timeout(limits.timeout)
            .user_agent(concat!("rustchain-market/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| failed("client", &err))?;
        Ok(HttpReader {
            runtime: Some(runtime),
            client,
            base,
            limits,
        })
    }

    /// One `GET` of `relative` under the base URL; `None` on 404 or 410.
    fn get(&self, relative: &str) -> Result<Option<String>, MarketError> {
        let url = self.base.join(relative).map_err(|err| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!("`{relative}` under {}: {err}", self.base),
            )
        })?;
        let failed = |err: reqwest::Error| {
            MarketError::new(MarketErrorKind::Io, format!("{url}: {}", error_chain(&err)))
        };
        let too_large = || {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "{url} is larger than {} bytes: refused",
                    self.limits.max_file
                ),
            )
        };
        let fetch = async {
            let mut response = self.client.get(url.clone()).send().await.map_err(failed)?;
            match response.status().as_u16() {
                200 => {}
                404 | 410 => return Ok(None),
                other => {
                    return Err(MarketError::new(
                        MarketErrorKind::Io,
                        format!("{url} answered {other}"),
                    ));
                }
            }
            if response
                .content_length()
                .is_some_and(|length| length > self.limits.max_file)
            {
                return Err(too_large());
            }
            // The length a server announces is not trusted: count what arrives.
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(failed)? {
                if (bytes.len() + chunk.len()) as u64 > self.limits.max_file {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(Some(bytes))
        };
        let Some(runtime) = &self.runtime else {
            return Err(MarketError::new(
                MarketErrorKind::Io,
                "the HTTP client is shut down",
            ));
        };
        let bytes = if tokio::runtime::Handle::try_current().is_ok() {
            // A thread that drives a runtime (a caller's async code) cannot
            // block on another: fetch on a thread of its own.
            std::thread::scope(|scope| scope.spawn(|| runtime.block_on(fetch)).join()).map_err(
                |_| MarketError::new(MarketErrorKind::Io, format!("{url}: the fetch failed")),
            )?
        } else {
            runtime.block_on(fetch)
        }?;
        let Some(bytes) = bytes else { return Ok(None) };
        String::from_utf8(bytes).map(Some).map_err(|_| {
            MarketError::new(MarketErrorKind::Invalid, format!("{url} is not UTF-8 text"))
        })
    }
}

impl Drop for HttpReader {
    /// Shuts the runtime down without blocking: dropping it would panic when
    /// the mirror was called from async code.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The scheme, host and port of `url`: what a redirect may not change.
fn origin_of(url: &url::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_owned),
        url.port_or_known_default(),
    )
}

/// The certificates in `pem`; none is asked for when it is empty, and text
/// that holds no certificate is refused rather than trusting nothing extra.
fn extra_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, MarketError> {
    if pem.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = |why: String| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!("the extra trusted authorities: {why}"),
        )
    };
    let roots = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|err| invalid(format!("not PEM certificates ({})", error_chain(&err))))?;
    if roots.is_empty() {
        return Err(invalid(
            "no certificate found (expected -----BEGIN CERTIFICATE----- blocks)".to_owned(),
        ));
    }
    Ok(roots)
}

/// An error and its sources, on one line (reqwest's own message is terse).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
