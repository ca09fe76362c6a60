//! Every misuse of `#[tool]` is a compile error on the offending token, with a
//! message that says what to do. One file per misuse under `tests/ui/`, its
//! expected compiler output beside it (`TRYBUILD=overwrite` regenerates them).

#[test]
fn tool_misuse_is_a_compile_error_on_the_exact_span() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
