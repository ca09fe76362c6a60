//! The control for `linking.rs`: a tool crate that nothing names is never
//! loaded, so its tools are absent even though it is a dependency.

#[test]
fn a_tool_crate_nothing_names_contributes_no_tools() {
    let registry = rustchain::Registry::global();
    assert!(registry.get("add").is_none());
    assert!(registry.get("text_stats").is_none());
    assert!(
        registry.is_empty(),
        "{:?}",
        registry.tools().collect::<Vec<_>>()
    );
}
