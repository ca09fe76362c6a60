//! Arbitrary text as a policy file: `Policy::from_toml` either compiles it
//! or returns an error, and both can be shown.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rustchain_tools::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(text, "fuzz.toml", Path::new("/fuzz/base")) {
        Ok(policy) => {
            let _ = format!("{policy:?}");
        }
        Err(err) => {
            let _ = format!("{err}");
        }
    }
});
