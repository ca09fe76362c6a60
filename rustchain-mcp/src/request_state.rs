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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// How long an answer may take to come back with its state.
pub(crate) const STATE_TTL: Duration = Duration::from_secs(600);

/// The version tag in front of every state this server hands out.
const VERSION: &str = "rc1";

/// The HMAC key of one server process.
#[derive(Clone)]
pub(crate) struct StateKey([u8; 32]);

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
    pub(crate) fn random() -> Option<StateKey> {
        let mut key = [0; 32];
        getrandom::fill(&mut key).ok()?;
        Some(StateKey(key))
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
}
