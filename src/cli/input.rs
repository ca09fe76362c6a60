//! Where a call's arguments come from: `--args`, stdin, or `{}`.
//!
//! `tools call` and `policy explain` take their arguments the same way, so a
//! call can be explained exactly as it would be made.

use std::io::Read;

use rustchain_tools::ArgLimits;

/// The CLI's standard input, and whether a person is typing at it.
pub(super) struct Input<'a> {
    pub(super) reader: &'a mut dyn Read,
    /// A person is typing at it: read it only when asked to with `--args -`,
    /// and let that person answer the policy's `ask` rules.
    pub(super) is_terminal: bool,
    /// These are the process's own stdin and stdout, which `mcp serve`
    /// talks over directly; otherwise (`run_from`) it reads its input whole.
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub(super) own_streams: bool,
}

impl Input<'_> {
    /// The argument text: `given` (from `--args`), stdin when `given` is `-`
    /// or absent with stdin not a terminal, otherwise `{}`. `limits` are
    /// the ones the call will be checked against.
    pub(super) fn arguments(
        &mut self,
        given: Option<&str>,
        limits: ArgLimits,
    ) -> Result<String, String> {
        match given {
            Some("-") => self.read_all(limits),
            Some(text) => Ok(text.to_owned()),
            None if self.is_terminal => Ok("{}".to_owned()),
            None => self.read_all(limits),
        }
    }

    /// Reads the arguments from stdin; nothing at all means `{}`.
    fn read_all(&mut self, limits: ArgLimits) -> Result<String, String> {
        // One byte over the limit is enough for the executor to refuse the
        // text with its own message; reading more would only cost memory.
        let cap = (limits.max_bytes as u64).saturating_add(1);
        let mut bytes = Vec::new();
        (&mut self.reader)
            .take(cap)
            .read_to_end(&mut bytes)
            .map_err(|err| format!("could not read the arguments from stdin: {err}"))?;
        let text = if bytes.len() as u64 == cap {
            // Too long either way, and the cut may have split a character.
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            String::from_utf8(bytes)
                .map_err(|_| "the arguments on stdin are not UTF-8 text".to_owned())?
        };
        Ok(if text.trim().is_empty() {
            "{}".to_owned()
        } else {
            text
        })
    }
}
