//! Publisher keys and entry signatures: Ed25519 over the canonical JSON of
//! an index entry without its signature, after a context string so that a
//! signature made for the index cannot be passed off as anything else.
//!
//! A key file is text: `#` comment lines, then one line of 64 hex digits,
//! the 32-byte Ed25519 seed (the format of the audit trail's checkpoint
//! keys). It is created readable by its owner only and never overwritten.
//! A public key is written `ed25519:` and 64 hex digits.
//!
//! ```
//! use rustchain_market::sign::{self, PublicKey};
//!
//! let key = sign::generate_key().expect("the OS has randomness");
//! let public = PublicKey::of(&key);
//! let signature = sign::sign(&key, b"bytes");
//! assert!(public.verify(b"bytes", &signature));
//! assert!(!public.verify(b"other bytes", &signature));
//! assert_eq!(PublicKey::parse(&public.to_string()), Ok(public));
//! ```

use std::fmt;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::error::{MarketError, MarketErrorKind};

/// Domain separation: what an index signature covers starts with this.
const CONTEXT: &[u8] = b"rustchain-market-entry-v1\0";

/// How a public key is written: this prefix, then 64 hex digits.
const KEY_PREFIX: &str = "ed25519:";

/// A publisher's (or rater's) secret key.
pub use ed25519_dalek::SigningKey as SecretKey;

/// A publisher's public key, as entries carry it (`ed25519:` + hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The public half of `key`.
    pub fn of(key: &SigningKey) -> PublicKey {
        PublicKey(key.verifying_key())
    }

    /// Reads `ed25519:` and 64 hex digits.
    pub fn parse(text: &str) -> Result<PublicKey, MarketError> {
        let invalid = || {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!("`{text}` is not a public key (`ed25519:` and 64 hex digits)"),
            )
        };
        let hex = text.strip_prefix(KEY_PREFIX).ok_or_else(invalid)?;
        let bytes: [u8; 32] = decode_hex(hex)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(invalid)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| invalid())
    }

    /// Whether `signature` (hex) is this key's signature of `message`
    /// under the index's context string.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = decode_hex(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        let signature = Signature::from_bytes(&bytes);
        self.0
            .verify(&[CONTEXT, message].concat(), &signature)
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", encode_hex(self.0.as_bytes()))
    }
}

/// `key`'s signature of `message` under the index's context string, in hex.
pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    encode_hex(&key.sign(&[CONTEXT, message].concat()).to_bytes())
}

/// A new key from the operating system's randomness.
pub fn generate_key() -> Result<SigningKey, MarketError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| {
        MarketError::new(
            MarketErrorKind::Randomness,
            format!("cannot make a key: the operating system gave no randomness ({err})"),
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes `key` to a new file `path`, readable by its owner only (mode 0600
/// on Unix); refuses when `path` exists.
pub fn save_key(path: &Path, key: &SigningKey) -> Result<(), MarketError> {
    let text = format!(
        "# rustchain marketplace signing key ({}): hex of the Ed25519 seed. Keep it secret.\n{}\n",
        PublicKey::of(key),
        encode_hex(&key.to_bytes())
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            MarketError::new(
                MarketErrorKind::KeyExists,
                format!(
                    "{} exists; a key is never overwritten: remove it yourself, or choose another file with --out",
                    path.display()
                ),
            )
        } else {
            MarketError::io("create the key file", path, &err)
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| MarketError::io("write the key file", path, &err))
}

/// Reads a key file written by [`save_key`] (or `rustchain audit keygen`).
pub fn load_key(path: &Path) -> Result<SigningKey, MarketError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            MarketError::new(
                MarketErrorKind::NotFound,
                format!(
                    "no signing key at {}: make one with `rustchain market keygen`, or name yours with --key",
                    path.display()
                ),
            )
        } else {
            MarketError::io("read the key file", path, &err)
        }
    })?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .unwrap_or("");
    let seed: [u8; 32] = decode_hex(line)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            MarketError::new(
                MarketErrorKind::Invalid,
                format!(
                    "{} is not a signing key: its first line that is not a comment must be 64 hex digits",
                    path.display()
                ),
            )
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let path = dir.path().join("market.key");
        let key = generate_key().expect("randomness");
        save_key(&path, &key).expect("a new file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("written")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = save_key(&path, &generate_key().expect("randomness")).expect_err("exists");
        assert_eq!(again.kind(), MarketErrorKind::KeyExists);
        assert_eq!(
            load_key(&path).expect("reads back").to_bytes(),
            key.to_bytes()
        );
    }

    #[test]
    fn a_signature_is_bound_to_its_key_and_message() {
        let (a, b) = (generate_key().expect("rng"), generate_key().expect("rng"));
        let signature = sign(&a, b"m");
        assert!(PublicKey::of(&a).verify(b"m", &signature));
        assert!(!PublicKey::of(&b).verify(b"m", &signature));
        assert!(!PublicKey::of(&a).verify(b"m", "zz"));
        assert!(PublicKey::parse("ed25519:00").is_err());
        assert!(PublicKey::parse("rsa:abcd").is_err());
    }
}
