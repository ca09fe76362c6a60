//! One line of a package's file in the index: a signed, chained entry.
//!
//! Each entry names the package, carries its place in the package's chain
//! (`seq`, from 1, and `prev`, the digest of the line before it), what it
//! does (`publish` a version, `yank` or un-yank one), the signer's public
//! key and the signature. The signature covers the canonical JSON of the
//! entry without `sig`; the line in the file is the canonical JSON with it.

use rustchain_tools::manifest::canonical_json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{MarketError, MarketErrorKind};
use crate::package::Package;
use crate::sign::{self, PublicKey, SecretKey};

/// What an entry does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Adds a version.
    Publish {
        /// The version added (the package's own, repeated for readers that skip it).
        vers: String,
        /// Everything the version says about itself.
        package: Box<Package>,
    },
    /// Adds a version of a collection (in the collections' files only).
    Collection {
        /// The collection's version.
        vers: String,
        /// The list.
        collection: Box<crate::collection::Collection>,
    },
    /// Hides a version from resolution (`yanked: true`) or shows it again.
    Yank {
        /// The version concerned.
        vers: String,
        /// Hidden (`true`) or shown again (`false`).
        yanked: bool,
    },
}

impl Action {
    /// The version the entry is about.
    pub fn version(&self) -> &str {
        match self {
            Action::Publish { vers, .. }
            | Action::Yank { vers, .. }
            | Action::Collection { vers, .. } => vers,
        }
    }
}

/// One signed line of a package's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The package's name.
    pub name: String,
    /// Its place in the package's chain: 1 for the first line, then one more each line.
    pub seq: u64,
    /// The digest (`sha256:` + hex) of the line before, `null` for the first.
    pub prev: Option<String>,
    /// What the entry does.
    #[serde(flatten)]
    pub action: Action,
    /// The signer's public key (`ed25519:` + hex).
    pub key: String,
    /// The signature (hex) of the entry's canonical JSON without this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Entry {
    /// A new entry, signed with `key`.
    pub fn signed(
        name: &str,
        seq: u64,
        prev: Option<String>,
        action: Action,
        key: &SecretKey,
    ) -> Result<Entry, MarketError> {
        let mut entry = Entry {
            name: name.to_owned(),
            seq,
            prev,
            action,
            key: PublicKey::of(key).to_string(),
            sig: None,
        };
        let message = entry.signed_bytes()?;
        entry.sig = Some(sign::sign(key, &message));
        Ok(entry)
    }

    /// The bytes the signature covers: the canonical JSON without `sig`.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, MarketError> {
        let mut value = to_value(self)?;
        if let Value::Object(object) = &mut value {
            object.shift_remove("sig");
        }
        Ok(canonical_json(&value).into_bytes())
    }

    /// The line as the file holds it: canonical JSON, signature included.
    pub fn line(&self) -> Result<String, MarketError> {
        Ok(canonical_json(&to_value(self)?))
    }

    /// Whether the signature is the entry key's signature of the entry.
    pub fn signature_holds(&self) -> bool {
        let (Ok(key), Some(sig), Ok(message)) = (
            PublicKey::parse(&self.key),
            self.sig.as_deref(),
            self.signed_bytes(),
        ) else {
            return false;
        };
        key.verify(&message, sig)
    }
}

/// The digest a following entry's `prev` names: of the line's bytes.
pub fn line_digest(line: &str) -> String {
    rustchain_tools::audit::digest(line.as_bytes())
}

fn to_value(entry: &Entry) -> Result<Value, MarketError> {
    serde_json::to_value(entry).map_err(|err| {
        MarketError::new(
            MarketErrorKind::Invalid,
            format!("the entry cannot be written as JSON: {err}"),
        )
    })
}
