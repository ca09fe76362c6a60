//! The RustChain marketplace: a signed index of tool crates kept as plain
//! files, so a folder (or any static web server) is the whole marketplace.
//!
//! - [`index`]: the layout (Cargo's sparse-index style: one file per
//!   package, one signed JSON line per entry, `config.json` at the root),
//!   reading with every signature verified, and appending under a lock.
//! - [`entry`]: one line: what it does, its place in the package's hash
//!   chain, the signer's key and signature.
//! - [`sign`]: publisher keys (Ed25519) and signatures.
//! - [`package`]: what a version says about itself: crate metadata, tools.
//! - [`quality`]: the computed quality report and its weights.
//! - [`collection`]: named, versioned lists of packages, signed like packages.
//! - [`compat`]: the breaking changes between two versions, and semver bumps.
//! - [`readiness`]: the checklist `tools publish` shows (pass, warn, block).
//! - [`rating`]: signed ratings, one per rater key, updatable.
//! - [`export`]: a package as an MCP Registry `server.json`.
//! - [`mirror`]: copying an index from a folder or http(s)://, verifying everything.
//! - [`search`]: packages by words, ranked by relevance and quality, filtered.
//!
//! The format is specified in `specs/formats.md` ("Marketplace index").
//!
//! ```
//! use rustchain_market::index::Index;
//! use rustchain_market::sign;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let index = Index::open_or_create(dir.path(), "local").unwrap();
//! assert!(index.packages().unwrap().is_empty());
//! assert_eq!(Index::relative_path("my_tool").unwrap(), std::path::Path::new("my/_t/my_tool"));
//! let _key = sign::generate_key().unwrap();
//! ```

pub mod collection;
pub mod compat;
pub mod entry;
pub mod error;
pub mod export;
pub mod index;
pub mod mirror;
pub mod package;
pub mod quality;
pub mod rating;
pub mod readiness;
pub mod search;
pub mod sign;

pub use error::{MarketError, MarketErrorKind};
pub use index::{Index, PackageLog};
pub use package::{CrateMetadata, Package, PackageTool};
pub use quality::{Quality, TestOutcome};
