//! The index: a folder of files, laid out like Cargo's sparse registry
//! index, that any static web server can serve and git can diff.
//!
//! ```text
//! config.json            {"name": "...", "format": 1, "owners": {"pkg": ["ed25519:..."]}}
//! 1/a                    packages named with 1 character
//! 2/ab                   ... 2 characters
//! 3/a/abc                ... 3 characters: the first one, then the name
//! my/_t/my_tool          4 or more: the first two, the next two, the name
//! ratings/my/_t/my_tool  ratings of my_tool: one signed line per rating
//! packages.txt           every package name, one a line (static servers cannot list)
//! .lock                  held while a writer appends (not content)
//! ```
//!
//! Paths use the name in lowercase. A package's file holds one [`Entry`]
//! per line, each signed and chained to the line before (see
//! [`crate::entry`]). Every read verifies every line: [`PackageLog`] says
//! for each whether it is trusted and, when not, why; only trusted entries
//! are ever resolved.
//!
//! Who may sign for a package: the keys `config.json` lists under
//! `owners` for it, or else the key of its first entry (trust on first use).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::collection::Collection;
use crate::entry::{Action, Entry, line_digest};
use crate::error::{MarketError, MarketErrorKind};
use crate::package::{Package, is_package_name};
use crate::rating::{Rating, Ratings};
use crate::sign::{PublicKey, SecretKey};

/// The index format this build reads and writes.
pub const INDEX_FORMAT: u32 = 1;

/// The file at the index's root that names it.
pub const CONFIG_FILE: &str = "config.json";

/// The lock file a writer holds while it appends.
const LOCK_FILE: &str = ".lock";

/// Every package name, one a line, sorted: a static server cannot list folders.
pub const PACKAGES_FILE: &str = "packages.txt";

/// Every collection name, one a line, sorted: the collections' `packages.txt`.
pub const COLLECTIONS_FILE: &str = "collections.txt";

/// The folder of collections' files, laid out like the packages'.
pub const COLLECTIONS_DIR: &str = "collections";

/// The folder of ratings files, laid out like the packages' under it.
pub const RATINGS_DIR: &str = "ratings";

/// `config.json`: the index's name, format and (optionally) package owners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexConfig {
    /// The index's name, for people.
    pub name: String,
    /// [`INDEX_FORMAT`].
    pub format: u32,
    /// The keys allowed to sign for a package, by package name; a package
    /// not listed belongs to the key of its first entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owners: BTreeMap<String, Vec<String>>,
}

/// Why an entry is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DistrustKind {
    /// Not JSON, not an entry, or about another package.
    Malformed,
    /// The signature is not the entry key's signature of the entry: it was edited.
    BadSignature,
    /// Signed by a key that is not one of the package's owners.
    UnknownKey,
    /// Out of place in the chain: a replayed, removed or reordered entry.
    Chain,
    /// Follows an untrusted entry, so its place cannot be trusted either.
    AfterUntrusted,
}

/// One line of a package's file, as verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The line number, from 1.
    pub line: usize,
    /// The entry, when the line is one.
    pub entry: Option<Entry>,
    /// `None` when trusted; why not otherwise.
    pub distrust: Option<(DistrustKind, String)>,
}

/// A published version's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The version, parsed.
    pub version: semver::Version,
    /// Whether it is hidden from resolution.
    pub yanked: bool,
    /// What it says about itself.
    pub package: Package,
    /// Who signed it.
    pub key: String,
}

/// A package's file, read and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageLog {
    /// The package's name as its first entry spells it (or as asked).
    pub name: String,
    /// Every line, in order, with its verdict.
    pub lines: Vec<Checked>,
    /// The raw lines, for the chain.
    raw: Vec<String>,
}

impl PackageLog {
    /// Verifies `text`, the file of package `name`, against `owners` (the
    /// config's list for it, empty for trust on first use).
    pub fn verify(name: &str, text: &str, owners: &[String]) -> PackageLog {
        let raw: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        let mut lines = Vec::with_capacity(raw.len());
        let mut trusted_keys: Vec<String> = owners.to_vec();
        let mut broken = false;
        let mut own_name: Option<String> = None;
        for (at, line) in raw.iter().enumerate() {
            let number = at + 1;
            let entry: Option<Entry> = serde_json::from_str(line).ok();
            let distrust = match &entry {
                _ if broken => Some((
                    DistrustKind::AfterUntrusted,
                    format!("line {number} follows an untrusted line"),
                )),
                None => Some((
                    DistrustKind::Malformed,
                    format!("line {number} is not an index entry"),
                )),
                Some(entry) => check(
                    entry,
                    name,
                    number,
                    raw.get(at.wrapping_sub(1)).filter(|_| at > 0),
                    &mut trusted_keys,
                ),
            };
            if distrust.is_some() {
                broken = true;
            } else if own_name.is_none() {
                own_name = entry.as_ref().map(|e| e.name.clone());
            }
            lines.push(Checked {
                line: number,
                entry,
                distrust,
            });
        }
        PackageLog {
            name: own_name.unwrap_or_else(|| name.to_owned()),
            lines,
            raw,
        }
    }

    /// The untrusted lines, first first.
    pub fn untrusted(&self) -> impl Iterator<Item = &Checked> {
        self.lines.iter().filter(|c| c.distrust.is_some())
    }

    /// The trusted entries, in order.
    pub fn trusted(&self) -> impl Iterator<Item = &Entry> {
        self.lines
            .iter()
            .filter(|c| c.distrust.is_none())
            .filter_map(|c| c.entry.as_ref())
    }

    /// Every trusted version, in the order published, with its yank state.
    pub fn versions(&self) -> Vec<Version> {
        let mut versions: Vec<Version> = Vec::new();
        for entry in self.trusted() {
            match &entry.action {
                Action::Publish { package, .. } => {
                    if let Ok(version) = package.version() {
                        versions.push(Version {
                            version,
                            yanked: false,
                            package: (**package).clone(),
                            key: entry.key.clone(),
                        });
                    }
                }
                Action::Collection { .. } => {}
                Action::Yank { vers, yanked } => {
                    if let Some(version) =
                        versions.iter_mut().find(|v| v.version.to_string() == *vers)
                    {
                        version.yanked = *yanked;
                    }
                }
            }
        }
        versions
    }

    /// The latest trusted version of a collection's file.
    pub fn latest_collection(&self) -> Option<Collection> {
        self.trusted()
            .filter_map(|entry| match &entry.action {
                Action::Collection { collection, .. } => Some((**collection).clone()),
                _ => None,
            })
            .filter_map(|c| semver::Version::parse(&c.version).ok().map(|v| (v, c)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, c)| c)
    }

    /// The highest version not yanked: what resolution picks.
    pub fn latest(&self) -> Option<Version> {
        self.versions()
            .into_iter()
            .filter(|v| !v.yanked)
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The highest version published, yanked or not.
    pub fn highest(&self) -> Option<Version> {
        self.versions()
            .into_iter()
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The version `version`, yanked or not.
    pub fn get(&self, version: &semver::Version) -> Option<Version> {
        self.versions().into_iter().find(|v| v.version == *version)
    }

    /// The keys that may sign the next entry: the config's owners, or the
    /// first trusted entry's key; empty when anyone may (a new package).
    fn signers(&self, owners: &[String]) -> Vec<String> {
        if !owners.is_empty() {
            return owners.to_vec();
        }
        self.trusted()
            .next()
            .map(|e| vec![e.key.clone()])
            .unwrap_or_default()
    }

    /// The error a writer gets for a file that does not verify.
    fn refuse_untrusted(&self) -> Result<(), MarketError> {
        match self.untrusted().next() {
            None => Ok(()),
            Some(first) => Err(MarketError::new(
                MarketErrorKind::Untrusted,
                format!(
                    "the index's file for `{}` does not verify ({}): restore it from a trusted copy before writing to it",
                    self.name,
                    first.distrust.as_ref().map_or("", |(_, why)| why.as_str())
                ),
            )),
        }
    }
}

/// Checks one parsed entry at line `number` after the line `previous`.
fn check(
    entry: &Entry,
    name: &str,
    number: usize,
    previous: Option<&String>,
    trusted_keys: &mut Vec<String>,
) -> Option<(DistrustKind, String)> {
    if !entry.name.eq_ignore_ascii_case(name) {
        return Some((
            DistrustKind::Malformed,
            format!("line {number} is about `{}`, not `{name}`", entry.name),
        ));
    }
    if let Action::Publish { vers, package } = &entry.action
        && (package.metadata.version != *vers || !package.metadata.name.eq_ignore_ascii_case(name))
    {
        return Some((
            DistrustKind::Malformed,
            format!("line {number}: its package is not {name} {vers}"),
        ));
    }
    if let Action::Collection { vers, collection } = &entry.action
        && (collection.version != *vers || !collection.name.eq_ignore_ascii_case(name))
    {
        return Some((
            DistrustKind::Malformed,
            format!("line {number}: its collection is not {name} {vers}"),
        ));
    }
    let expected_prev = previous.map(|line| line_digest(line));
    if entry.seq != number as u64 || entry.prev != expected_prev {
        return Some((
            DistrustKind::Chain,
            format!(
                "line {number} says it is entry {} of the chain: a replayed, removed or reordered entry",
                entry.seq
            ),
        ));
    }
    if !entry.signature_holds() {
        return Some((
            DistrustKind::BadSignature,
            format!(
                "line {number} is not what {} signed: it was edited",
                entry.key
            ),
        ));
    }
    if trusted_keys.is_empty() {
        trusted_keys.push(entry.key.clone());
    } else if !trusted_keys.contains(&entry.key) {
        return Some((
            DistrustKind::UnknownKey,
            format!(
                "line {number} is signed by {}, which is not an owner of `{name}`",
                entry.key
            ),
        ));
    }
    None
}

/// An index folder.
#[derive(Debug, Clone)]
pub struct Index {
    root: PathBuf,
    config: IndexConfig,
}

impl Index {
    /// Opens the index at `root`, which must hold a `config.json` of [`INDEX_FORMAT`].
    pub fn open(root: &Path) -> Result<Index, MarketError> {
        let path = root.join(CONFIG_FILE);
        let text = fs::read_to_string(&path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                MarketError::new(
                    MarketErrorKind::NotFound,
                    format!("{} is not an index (no {CONFIG_FILE}): name one with --index, or publish to it to make one", root.display()),
                )
            } else {
                MarketError::io("read", &path, &err)
            }
        })?;
        let config: IndexConfig = serde_json::from_str(&text).map_err(|err| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!("{} is not an index config: {err}", path.display()),
            )
        })?;
        if config.format != INDEX_FORMAT {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "{} is index format {}, this build reads {INDEX_FORMAT}: use a matching rustchain",
                    path.display(),
                    config.format
                ),
            ));
        }
        Ok(Index {
            root: root.to_path_buf(),
            config,
        })
    }

    /// Opens the index at `root`, making an empty one (named `name`) when
    /// the folder has no `config.json`.
    pub fn open_or_create(root: &Path, name: &str) -> Result<Index, MarketError> {
        if !root.join(CONFIG_FILE).exists() {
            fs::create_dir_all(root)
                .map_err(|err| MarketError::io("create the index folder", root, &err))?;
            let config = IndexConfig {
                name: name.to_owned(),
                format: INDEX_FORMAT,
                owners: BTreeMap::new(),
            };
            let text = serde_json::to_string_pretty(&config).unwrap_or_default() + "\n";
            write_whole(&root.join(CONFIG_FILE), text.as_bytes())?;
        }
        Index::open(root)
    }

    /// The index's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Its `config.json`.
    pub fn config(&self) -> &IndexConfig {
        &self.config
    }

    /// Where package `name`'s file is, relative to the root (Cargo's layout).
    pub fn relative_path(name: &str) -> Result<PathBuf, MarketError> {
        if !is_package_name(name) {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "`{name}` is not a package name (an ASCII letter, then letters, digits, `-` and `_`, at most 64)"
                ),
            ));
        }
        let lower = name.to_ascii_lowercase();
        Ok(match lower.len() {
            1 => PathBuf::from("1").join(&lower),
            2 => PathBuf::from("2").join(&lower),
            3 => PathBuf::from("3").join(&lower[..1]).join(&lower),
            _ => PathBuf::from(&lower[..2]).join(&lower[2..4]).join(&lower),
        })
    }

    /// The keys `config.json` lists as owners of `name` (empty: trust on first use).
    pub fn owners_of(&self, name: &str) -> Vec<String> {
        self.owners(name)
    }

    /// Opens the index at `root` with `config`, writing it when the folder has none.
    pub fn create_with(root: &Path, config: &IndexConfig) -> Result<Index, MarketError> {
        if !root.join(CONFIG_FILE).exists() {
            fs::create_dir_all(root)
                .map_err(|err| MarketError::io("create the index folder", root, &err))?;
            let text = serde_json::to_string_pretty(config).unwrap_or_default() + "\n";
            write_whole(&root.join(CONFIG_FILE), text.as_bytes())?;
        }
        Index::open(root)
    }

    /// The text of package `name`'s file as it is, `None` when there is none.
    pub fn raw_file(&self, name: &str) -> Result<Option<String>, MarketError> {
        self.raw_file_at(&Index::relative_path(name)?)
    }

    /// The text of the file at `relative` (a package's or a collection's) as
    /// it is, `None` when there is none.
    pub(crate) fn raw_file_at(&self, relative: &Path) -> Result<Option<String>, MarketError> {
        let path = self.root.join(relative);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(MarketError::io("read", &path, &err)),
        }
    }

    /// Replaces the file at `relative` under the lock (for a mirror, after verifying).
    pub(crate) fn replace_file(&self, relative: &Path, text: &str) -> Result<(), MarketError> {
        let _lock = self.lock()?;
        write_whole(&self.root.join(relative), text.as_bytes())
    }

    /// Rewrites `packages.txt` and `collections.txt` from the files present.
    pub fn write_package_list(&self) -> Result<(), MarketError> {
        let _lock = self.lock()?;
        self.write_package_list_locked()
    }

    fn write_package_list_locked(&self) -> Result<(), MarketError> {
        let mut text = String::new();
        for name in self.packages()? {
            text.push_str(&name);
            text.push('\n');
        }
        write_whole(&self.root.join(PACKAGES_FILE), text.as_bytes())?;
        let mut text = String::new();
        for name in self.collections()? {
            text.push_str(&name);
            text.push('\n');
        }
        write_whole(&self.root.join(COLLECTIONS_FILE), text.as_bytes())
    }

    fn owners(&self, name: &str) -> Vec<String> {
        self.config
            .owners
            .iter()
            .find(|(package, _)| package.eq_ignore_ascii_case(name))
            .map(|(_, keys)| keys.clone())
            .unwrap_or_default()
    }

    /// Reads and verifies package `name`'s file; `NotFound` when it has none.
    pub fn read(&self, name: &str) -> Result<PackageLog, MarketError> {
        let path = self.root.join(Index::relative_path(name)?);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(PackageLog::verify(name, &text, &self.owners(name))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(MarketError::new(
                MarketErrorKind::NotFound,
                format!("`{name}` is not in the index {}", self.root.display()),
            )),
            Err(err) => Err(MarketError::io("read", &path, &err)),
        }
    }

    /// Reads and verifies collection `name`'s file; `NotFound` when it has none.
    pub fn read_collection(&self, name: &str) -> Result<PackageLog, MarketError> {
        let path = self
            .root
            .join(COLLECTIONS_DIR)
            .join(Index::relative_path(name)?);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(PackageLog::verify(name, &text, &self.owners(name))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(MarketError::new(
                MarketErrorKind::NotFound,
                format!(
                    "no collection `{name}` in the index {}",
                    self.root.display()
                ),
            )),
            Err(err) => Err(MarketError::io("read", &path, &err)),
        }
    }

    /// Every collection name, sorted.
    pub fn collections(&self) -> Result<Vec<String>, MarketError> {
        let dir = self.root.join(COLLECTIONS_DIR);
        let mut names = Vec::new();
        if dir.is_dir() {
            collect_files(&dir, &dir, &mut names)?;
        }
        names.sort();
        Ok(names)
    }

    /// Publishes a version of a collection, signed with `key`: a new version
    /// above the highest, every member resolvable in the index.
    pub fn publish_collection(
        &self,
        collection: &Collection,
        key: &SecretKey,
    ) -> Result<Entry, MarketError> {
        let name = &collection.name;
        let version = crate::package::parse_version(&collection.version)?;
        for member in &collection.packages {
            let req = semver::VersionReq::parse(&member.req).map_err(|err| {
                MarketError::new(MarketErrorKind::Invalid, format!("`{}`: {err}", member.req))
            })?;
            let log = self.read(&member.name)?;
            let resolves = log
                .versions()
                .iter()
                .any(|v| !v.yanked && req.matches(&v.version));
            if !resolves {
                return Err(MarketError::new(
                    MarketErrorKind::NotFound,
                    format!(
                        "`{}` has no trusted, unyanked version matching {}: publish it first, or change the requirement",
                        member.name, member.req
                    ),
                ));
            }
        }
        self.append_in(Path::new(COLLECTIONS_DIR), name, key, |log| {
            let highest = log
                .trusted()
                .filter_map(|entry| semver::Version::parse(entry.action.version()).ok())
                .max();
            if let Some(highest) = highest
                && highest >= version
            {
                return Err(MarketError::new(
                    MarketErrorKind::VersionExists,
                    format!("collection {name} {version} is not above {highest}, the highest in the index: publish a higher version"),
                ));
            }
            Ok(Action::Collection { vers: version.to_string(), collection: Box::new(collection.clone()) })
        })
    }

    /// Every package name with a file in the index, sorted.
    pub fn packages(&self) -> Result<Vec<String>, MarketError> {
        let mut names = Vec::new();
        collect_files(&self.root, &self.root, &mut names)?;
        names.sort();
        Ok(names)
    }

    /// Adds `package` as a new version, signed with `key`.
    ///
    /// Refused: a name or version that is not valid, a version already in
    /// the index (yanked or not) or lower than its highest, a key that is
    /// not the package's owner, a file that does not verify, and (through
    /// `check`) whatever the caller refuses given the package's log (a
    /// breaking change without a major bump, say).
    pub fn publish(
        &self,
        package: &Package,
        key: &SecretKey,
        check: impl FnOnce(&PackageLog) -> Result<(), MarketError>,
    ) -> Result<Entry, MarketError> {
        let name = &package.metadata.name;
        let version = package.version()?;
        self.append(name, key, |log| {
            if let Some(same) = log.get(&version) {
                return Err(MarketError::new(
                    MarketErrorKind::VersionExists,
                    format!("{name} {version} is already in the index{}: bump the version", if same.yanked { " (yanked)" } else { "" }),
                ));
            }
            if let Some(highest) = log.highest()
                && highest.version > version
            {
                return Err(MarketError::new(
                    MarketErrorKind::VersionExists,
                    format!("{name} {version} is lower than {}, the highest in the index: publish a higher version", highest.version),
                ));
            }
            check(log)?;
            Ok(Action::Publish { vers: version.to_string(), package: Box::new(package.clone()) })
        })
    }

    /// Hides `version` of `name` from resolution (`yanked`), or shows it again.
    pub fn yank(
        &self,
        name: &str,
        version: &semver::Version,
        yanked: bool,
        key: &SecretKey,
    ) -> Result<Entry, MarketError> {
        self.append(name, key, |log| {
            let Some(found) = log.get(version) else {
                return Err(MarketError::new(
                    MarketErrorKind::NotFound,
                    format!("{name} {version} is not in the index"),
                ));
            };
            if found.yanked == yanked {
                return Err(MarketError::new(
                    MarketErrorKind::Invalid,
                    format!(
                        "{name} {version} is {} already",
                        if yanked { "yanked" } else { "not yanked" }
                    ),
                ));
            }
            Ok(Action::Yank {
                vers: version.to_string(),
                yanked,
            })
        })
    }

    /// The ratings of package `name`, verified (none when it has no ratings file).
    pub fn ratings(&self, name: &str) -> Result<Ratings, MarketError> {
        let path = self
            .root
            .join(RATINGS_DIR)
            .join(Index::relative_path(name)?);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Ratings::verify(name, &text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Ratings::default()),
            Err(err) => Err(MarketError::io("read", &path, &err)),
        }
    }

    /// Rates package `name` (1-5, with an optional review) as `key`;
    /// replaces that key's earlier rating. The package must have a trusted version.
    pub fn rate(
        &self,
        name: &str,
        score: u8,
        review: Option<String>,
        key: &SecretKey,
    ) -> Result<Rating, MarketError> {
        let path = self
            .root
            .join(RATINGS_DIR)
            .join(Index::relative_path(name)?);
        let _lock = self.lock()?;
        if self.read(name)?.latest().is_none() {
            return Err(MarketError::new(
                MarketErrorKind::NotFound,
                format!("`{name}` has no trusted, unyanked version to rate"),
            ));
        }
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(MarketError::io("read", &path, &err)),
        };
        let seq = Ratings::verify(name, &text).next_seq(&PublicKey::of(key).to_string());
        let rating = Rating::signed(name, score, review, seq, key)?;
        let mut new_text = text;
        if !new_text.is_empty() && !new_text.ends_with('\n') {
            new_text.push('\n');
        }
        new_text.push_str(&rating.line());
        new_text.push('\n');
        write_whole(&path, new_text.as_bytes())?;
        Ok(rating)
    }

    /// Takes the index's write lock; released when the file is dropped.
    fn lock(&self) -> Result<fs::File, MarketError> {
        let lock_path = self.root.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|err| MarketError::io("open the lock file", &lock_path, &err))?;
        lock.lock()
            .map_err(|err| MarketError::io("lock", &lock_path, &err))?;
        Ok(lock)
    }

    /// Appends one signed entry to `name`'s file under the index's lock:
    /// read and verify the file, decide, write the whole new file beside it
    /// and rename it into place. Two writers at once take turns; a reader
    /// sees the old file or the new one.
    fn append(
        &self,
        name: &str,
        key: &SecretKey,
        decide: impl FnOnce(&PackageLog) -> Result<Action, MarketError>,
    ) -> Result<Entry, MarketError> {
        self.append_in(Path::new(""), name, key, decide)
    }

    /// [`Index::append`] for a file under `base` (`collections`, or the root).
    fn append_in(
        &self,
        base: &Path,
        name: &str,
        key: &SecretKey,
        decide: impl FnOnce(&PackageLog) -> Result<Action, MarketError>,
    ) -> Result<Entry, MarketError> {
        let relative = base.join(Index::relative_path(name)?);
        let path = self.root.join(&relative);
        let lock = self.lock()?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => return Err(MarketError::io("read", &path, &err)),
        };
        let owners = self.owners(name);
        let log = PackageLog::verify(name, &text, &owners);
        log.refuse_untrusted()?;
        if let Some(first) = log.trusted().next()
            && first.name != name
        {
            return Err(MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "the index has `{}`, and names that differ only in case are one package: use `{}`",
                    first.name, first.name
                ),
            ));
        }
        let signer = PublicKey::of(key).to_string();
        let signers = log.signers(&owners);
        if !signers.is_empty() && !signers.contains(&signer) {
            return Err(MarketError::new(
                MarketErrorKind::NotOwner,
                format!(
                    "`{name}` belongs to {}; the key {signer} is not an owner: sign with the owner's key (--key)",
                    signers.join(", ")
                ),
            ));
        }
        let action = decide(&log)?;
        let entry = Entry::signed(
            name,
            log.raw.len() as u64 + 1,
            log.raw.last().map(|line| line_digest(line)),
            action,
            key,
        )?;
        let mut new_text = String::with_capacity(text.len() + 4096);
        for line in &log.raw {
            new_text.push_str(line);
            new_text.push('\n');
        }
        new_text.push_str(&entry.line()?);
        new_text.push('\n');
        write_whole(&path, new_text.as_bytes())?;
        if log.raw.is_empty() {
            self.write_package_list_locked()?;
        }
        // The lock is released when `lock` is dropped, after the rename.
        drop(lock);
        Ok(entry)
    }
}

/// Writes `bytes` to `path` through a file beside it renamed into place.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), MarketError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|err| MarketError::io("create", parent, &err))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let staged = parent.join(format!(".{file_name}.{}.partial", std::process::id()));
    let written = fs::File::create(&staged).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(err) = written {
        let _ = fs::remove_file(&staged);
        return Err(MarketError::io("write", &staged, &err));
    }
    fs::rename(&staged, path).map_err(|err| {
        let _ = fs::remove_file(&staged);
        MarketError::io("replace", path, &err)
    })?;
    if let Ok(dir) = fs::File::open(parent) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Collects the package files under `dir` (every file but the config, the
/// ratings, the lock and dotfiles).
fn collect_files(root: &Path, dir: &Path, names: &mut Vec<String>) -> Result<(), MarketError> {
    let entries = fs::read_dir(dir).map_err(|err| MarketError::io("list", dir, &err))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if file_name.starts_with('.')
            || (dir == root
                && matches!(
                    file_name,
                    CONFIG_FILE | RATINGS_DIR | PACKAGES_FILE | COLLECTIONS_FILE | COLLECTIONS_DIR
                ))
        {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, names)?;
        } else if is_package_name(file_name)
            && path.strip_prefix(root).ok() == Index::relative_path(file_name).ok().as_deref()
        {
            names.push(file_name.to_owned());
        }
    }
    Ok(())
}
