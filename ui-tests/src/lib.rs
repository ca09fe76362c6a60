//! Nothing here: the compile-error tests for `#[tool]` are in `tests/`.
