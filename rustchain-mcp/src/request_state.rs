//! The `requestState` of an approval asked through an input-required
//! result (the 2026-07-28 revision): what ties the client's answer to the
//! call it was asked about.
//!
//! The client echoes the state back with its answer when it repeats the
//! call. The state is the call's tool, arguments and expiry under an
//! HMAC-SHA256 keyed by a secret of this server process, so an answer is
//! taken only for the call it was asked about, on this server, for a few
//! minutes: another tool, other arguments, an old or a forged state are
//! refused. It proves no more than that: the client that answers is the
//! approver, as it is with elicitation.
//!
//! Replicas behind a load balancer share the key (a file or the
//! environment), so an answer that reaches another replica is taken there;
//! without one, each process draws its own.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::{ServeError, ServeErrorKind};

/// How long an answer may take to come back with its state.
pub(crate) const STATE_TTL: Duration = Duration::from_secs(600);

/// The version tag in front of every state this server hands out.
const VERSION: &str = "rc1";

/// The environment variable [`StateKey::from_env`] and `rustchain mcp
/// serve` read a shared key from: 64 hex digits.
pub const STATE_KEY_ENV: &str = "RUSTCHAIN_MCP_STATE_KEY";

/// The bytes of a key.
const KEY_LEN: usize = 32;

/// The key that seals the `requestState` of an approval asked through an
/// input-required result (the 2026-07-28 revision), tying the client's
/// answer to the call it was asked about.
///
/// Each server draws a random one unless given one. Replicas behind a load
/// balancer must share it, or an answer that reaches another replica than
/// the one that asked is refused (and asked again): give them all the same
/// key file ([`StateKey::file`], `mcp serve --state-key-file`) or the same
/// `$RUSTCHAIN_MCP_STATE_KEY`. Its `Debug` never shows the key.
///
/// ```
/// use rustchain_mcp::StateKey;
///
/// let key = StateKey::from_hex(&"ab".repeat(32)).expect("64 hex digits");
/// assert_eq!(format!("{key:?}"), "StateKey(..)");
/// assert!(StateKey::from_hex("abcd").is_err());
/// ```
#[derive(Clone)]
pub struct StateKey([u8; KEY_LEN]);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

/// Why an echoed state is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadState {
    /// Not a state this server made for this call.
    Forged,
    /// Made for this call, but longer ago than [`STATE_TTL`].
    Expired,
}

impl StateKey {
    /// A fresh random key; `None` when the system has no randomness to give.
    pub fn random() -> Option<StateKey> {
        let mut key = [0; KEY_LEN];
        getrandom::fill(&mut key).ok()?;
        Some(StateKey(key))
    }

    /// The key written as 64 hex digits (as `openssl rand -hex 32` makes
    /// one), without surrounding whitespace.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] for anything but 64 hex digits.
    pub fn from_hex(text: &str) -> Result<StateKey, ServeError> {
        let text = text.trim().as_bytes();
        let digit = |byte: u8| char::from(byte).to_digit(16);
        let mut key = [0; KEY_LEN];
        if text.len() != 2 * KEY_LEN {
            return Err(bad_hex());
        }
        for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
            let (Some(high), Some(low)) = (digit(pair[0]), digit(pair[1])) else {
                return Err(bad_hex());
            };
            // Two hex digits are at most 255.
            *byte = u8::try_from(high * 16 + low).map_err(|_| bad_hex())?;
        }
        Ok(StateKey(key))
    }

    /// The key in the environment variable `RUSTCHAIN_MCP_STATE_KEY` (64
    /// hex digits), if set.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] when it is set but not a key.
    pub fn from_env() -> Result<Option<StateKey>, ServeError> {
        match std::env::var(STATE_KEY_ENV) {
            Ok(text) => StateKey::from_hex(&text).map(Some).map_err(|err| {
                ServeError::new(ServeErrorKind::Setup, format!("${STATE_KEY_ENV}: {err}"))
            }),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ServeError::new(
                ServeErrorKind::Setup,
                format!("${STATE_KEY_ENV} is not valid text"),
            )),
        }
    }

    /// The key in the file at `path` (32 bytes), made there from fresh
    /// randomness if the file does not exist or is empty.
    ///
    /// The file is created readable by its owner only (0600), and one that
    /// others may read or write is refused. It is locked while it is read
    /// or made, so replicas that start at once with a missing file agree on
    /// one key: the first makes it, the others read it.
    ///
    /// # Errors
    /// [`ServeErrorKind::Setup`] when the file cannot be read or made,
    /// others may read or write it, or it holds anything but 32 bytes.
    pub fn file(path: &Path) -> Result<StateKey, ServeError> {
        let failed = |what: &str, err: std::io::Error| {
            ServeError::new(
                ServeErrorKind::Setup,
                format!("cannot {what} the state key file {}: {err}", path.display()),
            )
            .caused_by(err)
        };
        // An existing key is read under a shared lock, so a replica making
        // it is not read half-written.
        match File::open(path) {
            Ok(mut file) => {
                file.lock_shared().map_err(|err| failed("lock", err))?;
                if let Some(key) = read_key(&mut file, path)? {
                    return Ok(key);
                }
                // Empty: another replica has just created it, or a person
                // made an empty file to be filled. Make it below.
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(failed("read", err)),
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|err| failed("create", err))?;
        file.lock().map_err(|err| failed("lock", err))?;
        if let Some(key) = read_key(&mut file, path)? {
            // Another replica made it first: take that one.
            return Ok(key);
        }
        let key = StateKey::random().ok_or_else(|| {
            ServeError::new(
                ServeErrorKind::Setup,
                "the system gave no randomness to make a state key with",
            )
        })?;
        file.write_all(&key.0)
            .and_then(|()| file.sync_all())
            .map_err(|err| failed("write", err))?;
        Ok(key)
    }

    /// The state for an approval of `tool` with `arguments` (their JSON
    /// text), good until [`STATE_TTL`] from `now`.
    pub(crate) fn seal(&self, tool: &str, arguments: &str, now: SystemTime) -> String {
        let expires = unix_seconds(now + STATE_TTL);
        let mac = self.mac(expires, tool, arguments);
        format!("{VERSION}.{expires}.{}", hex(&mac))
    }

    /// Checks that `state` is one [`seal`](Self::seal) made for `tool` and
    /// `arguments`, and is not out of date at `now`.
    pub(crate) fn open(
        &self,
        state: &str,
        tool: &str,
        arguments: &str,
        now: SystemTime,
    ) -> Result<(), BadState> {
        let mut parts = state.splitn(3, '.');
        let (Some(VERSION), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(BadState::Forged);
        };
        let expires: u64 = expires.parse().map_err(|_| BadState::Forged)?;
        let expected = hex(&self.mac(expires, tool, arguments));
        // Compared in full whatever differs first: no timing hint.
        let same = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0, |diff, (a, b)| diff | (a ^ b))
                == 0;
        if !same {
            return Err(BadState::Forged);
        }
        if unix_seconds(now) > expires {
            return Err(BadState::Expired);
        }
        Ok(())
    }

    /// HMAC-SHA256 (RFC 2104) of the expiry, the tool and its arguments,
    /// each length-prefixed so no two calls share an input.
    fn mac(&self, expires: u64, tool: &str, arguments: &str) -> [u8; 32] {
        let mut inner_pad = [0x36; 64];
        let mut outer_pad = [0x5c; 64];
        for (i, byte) in self.0.iter().enumerate() {
            inner_pad[i] ^= byte;
            outer_pad[i] ^= byte;
        }
        let mut inner = Sha256::new();
        inner.update(inner_pad);
        inner.update(expires.to_be_bytes());
        for part in [tool, arguments] {
            inner.update((part.len() as u64).to_be_bytes());
            inner.update(part.as_bytes());
        }
        let mut outer = Sha256::new();
        outer.update(outer_pad);
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

fn bad_hex() -> ServeError {
    ServeError::new(
        ServeErrorKind::Setup,
        "a state key is 64 hex digits (32 bytes); make one with `openssl rand -hex 32`",
    )
}

/// The key in a locked key `file`; `None` when it is empty.
fn read_key(file: &mut File, path: &Path) -> Result<Option<StateKey>, ServeError> {
    let setup = |message: String| ServeError::new(ServeErrorKind::Setup, message);
    let unreadable = |err: std::io::Error| {
        setup(format!(
            "cannot read the state key file {}: {err}",
            path.display()
        ))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().map_err(unreadable)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(setup(format!(
                "the state key file {} may be read or written by others (mode {mode:03o}); `chmod 600` it",
                path.display()
            )));
        }
    }
    let mut bytes = Vec::with_capacity(KEY_LEN);
    (&*file)
        .take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        setup(format!(
            "the state key file {} holds {}{} bytes, not the {KEY_LEN} of a key; remove it to have one made, or make one with `head -c 32 /dev/urandom > FILE`",
            path.display(),
            bytes.len().min(KEY_LEN),
            if bytes.len() > KEY_LEN { " or more" } else { "" },
        ))
    })?;
    Ok(Some(StateKey(key)))
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_opens_only_for_its_own_call_key_and_time() {
        let key = StateKey::random().expect("randomness");
        let now = SystemTime::now();
        let state = key.seal("delete", r#"{"path":"a"}"#, now);
        assert_eq!(key.open(&state, "delete", r#"{"path":"a"}"#, now), Ok(()));
        for (tool, arguments) in [("delete", r#"{"path":"b"}"#), ("other", r#"{"path":"a"}"#)] {
            assert_eq!(
                key.open(&state, tool, arguments, now),
                Err(BadState::Forged),
                "{tool} {arguments}"
            );
        }
        let other_key = StateKey::random().expect("randomness");
        assert_eq!(
            other_key.open(&state, "delete", r#"{"path":"a"}"#, now),
            Err(BadState::Forged)
        );
        let later = now + STATE_TTL + Duration::from_secs(2);
        assert_eq!(
            key.open(&state, "delete", r#"{"path":"a"}"#, later),
            Err(BadState::Expired)
        );
        // A later expiry written in by hand breaks the MAC.
        let (_, mac) = state.rsplit_once('.').expect("three parts");
        let stretched = format!("rc1.{}.{mac}", u64::MAX);
        assert_eq!(
            key.open(&stretched, "delete", r#"{"path":"a"}"#, later),
            Err(BadState::Forged)
        );
        for junk in ["", "rc1", "rc1.x.y", "rc2.1.00", &state[..state.len() - 1]] {
            assert_eq!(
                key.open(junk, "delete", r#"{"path":"a"}"#, now),
                Err(BadState::Forged),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_hex_key_is_64_hex_digits() {
        let key = StateKey::from_hex(&format!(" {}\n", "0f".repeat(32))).expect("a key");
        assert_eq!(key.0, [0x0f; 32]);
        for bad in ["", "0f", &"0g".repeat(32), &"0f".repeat(33)] {
            let err = StateKey::from_hex(bad).expect_err(bad);
            assert!(err.to_string().contains("64 hex digits"), "{err}");
        }
    }

    #[test]
    fn a_key_file_is_made_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("state.key");
        let made = StateKey::file(&path).expect("made");
        assert_eq!(std::fs::read(&path).expect("written"), made.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("there")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = StateKey::file(&path).expect("read back");
        assert_eq!(again.0, made.0, "the same key, not a new one");
        // What one seals, the other opens.
        let now = SystemTime::now();
        let state = made.seal("t", "{}", now);
        assert_eq!(again.open(&state, "t", "{}", now), Ok(()));
    }

    #[test]
    fn replicas_making_a_missing_key_file_at_once_agree() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("state.key");
        let barrier = std::sync::Barrier::new(8);
        let keys: Vec<[u8; 32]> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        StateKey::file(&path).expect("a key").0
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        assert!(keys.iter().all(|key| *key == keys[0]), "one key for all");
        assert_eq!(std::fs::read(&path).expect("written"), keys[0]);
    }

    #[test]
    fn a_key_file_of_another_length_or_open_to_others_is_refused() {
        let dir = tempfile::tempdir().expect("a folder");
        let short = dir.path().join("short.key");
        std::fs::write(&short, [1; 16]).expect("written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let err = StateKey::file(&short).expect_err("16 bytes");
        assert!(
            err.to_string().contains("holds 16 bytes, not the 32"),
            "{err}"
        );
        assert_eq!(std::fs::read(&short).expect("there"), [1; 16], "left alone");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let open = dir.path().join("open.key");
            std::fs::write(&open, [1; 32]).expect("written");
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let err = StateKey::file(&open).expect_err("readable by others");
            assert!(err.to_string().contains("mode 644"), "{err}");
        }
    }
}
