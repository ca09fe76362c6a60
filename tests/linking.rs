//! A tool crate reaches the registry through `use tool_crate as _;` and only so.
//!
//! `my-tools` is a dev-dependency of this package, so every test binary could
//! link it; this file names it, `not_linked.rs` does not.

use my_tools as _;

#[test]
fn a_tool_crate_named_with_use_as_underscore_is_linked() {
    let registry = rustchain::Registry::global();
    for name in ["add", "get_weather", "path_length", "slow_echo"] {
        assert!(registry.get(name).is_some(), "`{name}` is linked");
    }
    // The built-in tools are not named here, so they are not linked.
    assert!(registry.get("text_stats").is_none());
}
