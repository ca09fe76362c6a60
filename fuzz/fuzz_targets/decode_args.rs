//! Arbitrary bytes as the arguments of linked tools of different shapes,
//! through `Executor::call_blocking` with no policy.
//!
//! The first byte picks the tool; the rest is the argument text. The tools
//! are total, so the only error a call may report is `invalid_arguments`,
//! and text that is not a JSON object must get exactly that.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustchain::{ErrorKind, ToolContext};
use rustchain_fuzz::TOOLS;
use rustchain_tools::{Executor, Registry};
use std::sync::OnceLock;

fn executor() -> &'static Executor {
    static EXECUTOR: OnceLock<Executor> = OnceLock::new();
    EXECUTOR.get_or_init(|| Executor::new(Registry::global()))
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, args)) = data.split_first() else {
        return;
    };
    let name = TOOLS[usize::from(*selector) % TOOLS.len()];
    let args = String::from_utf8_lossy(args);
    let is_object = matches!(
        serde_json::from_str::<serde_json::Value>(&args),
        Ok(serde_json::Value::Object(_))
    );
    match executor().call_blocking(name, &args, ToolContext::new()) {
        Ok(output) => {
            assert!(is_object, "{name} accepted non-object arguments {args:?}");
            let value: serde_json::Value =
                serde_json::from_str(output.as_json()).expect("a tool's output is JSON");
            if name == "add" {
                let given: serde_json::Value = serde_json::from_str(&args).expect("checked above");
                let (a, b) = (given["a"].as_i64(), given["b"].as_i64());
                if let (Some(a), Some(b)) = (a, b) {
                    assert_eq!(value.as_i64(), Some(a.wrapping_add(b)), "{args:?}");
                }
            }
        }
        Err(err) => assert_eq!(
            err.kind(),
            ErrorKind::InvalidArguments,
            "{name} with {args:?}: {err:?}"
        ),
    }
});
