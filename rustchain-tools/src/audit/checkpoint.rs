//! Signed checkpoints: Ed25519 signatures over (sequence number, head hash),
//! the key files they are made with, and the sidecar file that keeps the latest.
//!
//! Key files are text: one line of hex (64 digits), the 32-byte seed for a
//! signing key or the 32-byte public key for a verifying key, optionally after
//! `#` comment lines. Keep the signing key outside every root a tool may touch
//! (and readable by its owner only): whoever can read it can forge checkpoints.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::error::{AuditError, AuditErrorKind};
use super::hash::{Hash, decode_hex, encode_hex, format_hash, parse_hash};

/// Domain separation: a checkpoint signature cannot be replayed as anything else.
const CONTEXT: &[u8] = b"rustchain-audit-checkpoint-v1\0";

/// Prefix of a public key as the trail writes it.
const KEY_PREFIX: &str = "ed25519:";

/// A new signing key from the operating system's randomness.
pub fn generate_signing_key() -> Result<SigningKey, AuditError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| {
        AuditError::new(
            AuditErrorKind::Randomness,
            Path::new("<os randomness>"),
            format!("cannot generate a signing key: {e}"),
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a signing key: hex of the 32-byte Ed25519 seed (see the module docs).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, AuditError> {
    let seed = read_key_bytes(path, "signing key (hex of the 32-byte Ed25519 seed)")?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a verifying (public) key: hex of the 32-byte Ed25519 public key.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, AuditError> {
    let bytes = read_key_bytes(
        path,
        "verifying key (hex of the 32-byte Ed25519 public key)",
    )?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| {
        AuditError::new(
            AuditErrorKind::Key,
            path,
            format!("not an Ed25519 public key: {e}"),
        )
    })
}

/// Writes `key` to a new file in the format [`load_signing_key`] reads,
/// readable by its owner only (on Unix). Refuses to overwrite an existing file.
pub fn save_signing_key(path: &Path, key: &SigningKey) -> Result<(), AuditError> {
    let text = format!(
        "# rustchain audit signing key: hex of the Ed25519 seed. Keep it outside every tool's reach.\n{}\n",
        encode_hex(&key.to_bytes())
    );
    write_new(path, &text, 0o600)
}

/// Writes `key` to a new file in the format [`load_verifying_key`] reads.
/// Refuses to overwrite an existing file.
pub fn save_verifying_key(path: &Path, key: &VerifyingKey) -> Result<(), AuditError> {
    let text = format!(
        "# rustchain audit verifying key: hex of the Ed25519 public key.\n{}\n",
        encode_hex(key.as_bytes())
    );
    write_new(path, &text, 0o644)
}

fn write_new(path: &Path, text: &str, #[allow(unused)] mode: u32) -> Result<(), AuditError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options
        .open(path)
        .map_err(|e| AuditError::io(path, "cannot create the key file", e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, "cannot write the key file", e))
}

fn read_key_bytes(path: &Path, what: &str) -> Result<[u8; 32], AuditError> {
    let text = fs::read_to_string(path)
        .map_err(|e| AuditError::io(path, &format!("cannot read the {what}"), e))?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i as u64 + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
    let Some((line_no, line)) = lines.next() else {
        return Err(AuditError::new(
            AuditErrorKind::Key,
            path,
            format!("empty: expected a {what}"),
        ));
    };
    if lines.next().is_some() {
        return Err(AuditError::new(
            AuditErrorKind::Key,
            path,
            format!("more than one key line: expected one {what}"),
        ));
    }
    let hex = line.strip_prefix(KEY_PREFIX).unwrap_or(line);
    decode_hex(hex)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            AuditError::new(
                AuditErrorKind::Key,
                path,
                format!("expected 64 hex digits, a {what}"),
            )
            .at_line(line_no)
        })
}

/// What a checkpoint signs.
fn message(seq: u64, head: &Hash) -> Vec<u8> {
    let mut message = Vec::with_capacity(CONTEXT.len() + 8 + 32);
    message.extend_from_slice(CONTEXT);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(head);
    message
}

/// A signature over (`seq`, `head`) with its signer's public key, in text form.
pub(crate) struct SignedHead {
    pub(crate) key: String,
    pub(crate) sig: String,
}

pub(crate) fn sign(key: &SigningKey, seq: u64, head: &Hash) -> SignedHead {
    let signature = key.sign(&message(seq, head));
    SignedHead {
        key: format_key(&key.verifying_key()),
        sig: encode_hex(&signature.to_bytes()),
    }
}

pub(crate) fn format_key(key: &VerifyingKey) -> String {
    format!("{KEY_PREFIX}{}", encode_hex(key.as_bytes()))
}

/// Why a checkpoint's signature does not hold, in words; `Ok` if it does.
///
/// With a `trusted` key the signature must be that key's; without one it must
/// at least be valid for the key the checkpoint names (which proves the bytes
/// were not altered, but not who signed them).
pub(crate) fn check(
    trusted: Option<&VerifyingKey>,
    seq: u64,
    head: &Hash,
    key: &str,
    sig: &str,
) -> Result<(), String> {
    let named = key
        .strip_prefix(KEY_PREFIX)
        .and_then(decode_hex)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok());
    let signer = match (trusted, named) {
        (Some(trusted), Some(named)) if trusted != &named => {
            return Err(format!(
                "signed by {key}, not by the trusted key {}",
                format_key(trusted)
            ));
        }
        (Some(trusted), _) => *trusted,
        (None, Some(named)) => named,
        (None, None) => return Err(format!("names no valid Ed25519 key ({key:?})")),
    };
    let signature = decode_hex(sig)
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
        .ok_or_else(|| "its signature is not 128 hex digits".to_string())?;
    signer
        .verify_strict(&message(seq, head), &signature)
        .map_err(|_| "its signature does not match its sequence number and head hash".to_string())
}

/// The sidecar file: the latest checkpoint, kept beside the trail.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    /// The trail's file name, for a reader who finds the sidecar alone.
    pub(crate) trail: String,
    /// The record the checkpoint covers; the checkpoint record itself is `seq + 1`.
    pub(crate) seq: u64,
    pub(crate) head: String,
    pub(crate) ts: String,
    pub(crate) key: String,
    pub(crate) sig: String,
}

impl Sidecar {
    pub(crate) fn head_hash(&self) -> Option<Hash> {
        parse_hash(&self.head)
    }
}

/// `<trail>.checkpoint`, beside the trail.
pub(crate) fn sidecar_path(trail: &Path) -> PathBuf {
    let mut name = trail.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoint");
    trail.with_file_name(name)
}

/// Replaces the sidecar atomically: a temporary file in the same directory,
/// synced when `durable`, then renamed over the old one.
pub(crate) fn write_sidecar(
    trail: &Path,
    seq: u64,
    head: &Hash,
    ts: &str,
    signed: &SignedHead,
    durable: bool,
) -> Result<(), AuditError> {
    let sidecar = Sidecar {
        trail: trail
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        seq,
        head: format_hash(head),
        ts: ts.to_owned(),
        key: signed.key.clone(),
        sig: signed.sig.clone(),
    };
    let mut text = serde_json::to_vec(&sidecar).expect("a sidecar is strings and integers");
    text.push(b'\n');
    let target = sidecar_path(trail);
    let mut temp_name = target.file_name().unwrap_or_default().to_os_string();
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = target.with_file_name(temp_name);
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temp)?;
        file.write_all(&text)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&temp, &target)?;
        // The rename itself must reach the disk: sync the directory (Unix only;
        // Windows cannot open a directory as a file).
        #[cfg(unix)]
        if durable && let Some(dir) = target.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        AuditError::io(&target, "cannot write the checkpoint sidecar", e)
    })
}

/// Reads the sidecar: `Ok(None)` if there is none, `Err(why)` if it is unreadable.
pub(crate) fn read_sidecar(trail: &Path) -> Result<Option<Sidecar>, String> {
    let path = sidecar_path(trail);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is not a checkpoint: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_check_against_the_right_key_only() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let head = [1; 32];
        let signed = sign(&key, 10, &head);
        let trusted = key.verifying_key();
        assert!(check(Some(&trusted), 10, &head, &signed.key, &signed.sig).is_ok());
        assert!(check(None, 10, &head, &signed.key, &signed.sig).is_ok());
        assert!(check(Some(&trusted), 11, &head, &signed.key, &signed.sig).is_err());
        assert!(check(Some(&trusted), 10, &[2; 32], &signed.key, &signed.sig).is_err());
        let forged = sign(&other, 10, &head);
        let err = check(Some(&trusted), 10, &head, &forged.key, &forged.sig).unwrap_err();
        assert!(err.contains("not by the trusted key"), "{err}");
        // Claiming the trusted key with another key's signature fails too.
        assert!(check(Some(&trusted), 10, &head, &signed.key, &forged.sig).is_err());
    }

    #[test]
    fn sidecar_sits_beside_the_trail() {
        assert_eq!(
            sidecar_path(Path::new("/var/log/audit.jsonl")),
            Path::new("/var/log/audit.jsonl.checkpoint")
        );
    }
}
