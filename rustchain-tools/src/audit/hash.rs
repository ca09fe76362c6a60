//! SHA-256 digests, their text form, and the hex helpers the trail's formats share.

use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub(crate) type Hash = [u8; 32];

/// The `prev` of the first record: no record came before it.
pub(crate) const GENESIS: Hash = [0; 32];

/// The prefix of every digest in the trail.
const PREFIX: &str = "sha256:";

/// The digest of `bytes` as the trail writes it: `"sha256:"` and 64 lowercase
/// hex digits.
///
/// The executor stores arguments and outputs by this digest; the chain's
/// `prev` field uses the same form.
///
/// ```
/// use rustchain_tools::audit::digest;
///
/// assert_eq!(
///     digest(b"abc"),
///     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
/// );
/// ```
pub fn digest(bytes: &[u8]) -> String {
    DigestText::of(bytes).as_str().to_owned()
}

/// [`digest`] of some bytes, held on the stack: what the executor records
/// for every call's arguments and output, without allocating.
#[derive(Clone, Copy)]
pub(crate) struct DigestText([u8; PREFIX.len() + 64]);

impl DigestText {
    /// The digest of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Self::from_hash(&sha256(bytes))
    }

    pub(crate) fn from_hash(hash: &Hash) -> Self {
        let mut text = [0; PREFIX.len() + 64];
        text[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        text[PREFIX.len()..].copy_from_slice(&hex64(hash));
        DigestText(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a prefix and hex digits are ASCII")
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

pub(crate) fn format_hash(hash: &Hash) -> String {
    DigestText::from_hash(hash).as_str().to_owned()
}

/// Appends `hash` as the trail writes it (`sha256:<hex>`) to `out`.
pub(crate) fn push_hash(out: &mut Vec<u8>, hash: &Hash) {
    out.extend_from_slice(&DigestText::from_hash(hash).0);
}

/// The two lowercase hex digits of every byte, so a hash is written a byte
/// (not a nibble) at a time.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0x0f]];
        byte += 1;
    }
    pairs
};

/// `hash` in lowercase hex.
fn hex64(hash: &Hash) -> [u8; 64] {
    let mut hex = [0; 64];
    for (pair, &byte) in hex.chunks_exact_mut(2).zip(hash) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    hex
}

pub(crate) fn parse_hash(text: &str) -> Option<Hash> {
    let hex = text.strip_prefix(PREFIX)?;
    decode_hex(hex)?.try_into().ok()
}

pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &byte in bytes {
        let [high, low] = HEX_PAIRS[usize::from(byte)];
        out.push(char::from(high));
        out.push(char::from(low));
    }
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    push_hex(&mut out, bytes);
    out
}

/// Lowercase or uppercase hex, even length; `None` for anything else.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_hash_writes_what_format_hash_does() {
        let hash = sha256(b"abc");
        let mut out = b"x".to_vec();
        push_hash(&mut out, &hash);
        assert_eq!(out, [b"x", format_hash(&hash).as_bytes()].concat());
        let mut hex = String::from("sha256:");
        push_hex(&mut hex, &hash);
        assert_eq!(format_hash(&hash), hex);
    }

    #[test]
    fn digest_text_is_the_digest_of_the_bytes() {
        for bytes in [&b""[..], b"abc", &[0, 0x0f, 0xf0, 0xff, 0x7a]] {
            let mut hex = String::from("sha256:");
            for byte in Sha256::digest(bytes) {
                hex.push_str(&format!("{byte:02x}"));
            }
            assert_eq!(DigestText::of(bytes).as_str(), hex);
            assert_eq!(digest(bytes), hex);
        }
    }

    #[test]
    fn hashes_round_trip_through_their_text_form() {
        let hash = sha256(b"record");
        assert_eq!(parse_hash(&format_hash(&hash)), Some(hash));
        assert_eq!(parse_hash(&format_hash(&GENESIS)), Some(GENESIS));
    }

    #[test]
    fn malformed_hashes_are_rejected() {
        assert_eq!(parse_hash("ba7816bf"), None);
        assert_eq!(parse_hash("sha256:xyz"), None);
        assert_eq!(parse_hash("sha256:abc"), None);
        assert_eq!(parse_hash(&format!("sha256:{}", "0".repeat(62))), None);
    }
}
