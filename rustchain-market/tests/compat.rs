//! Breaking changes between versions: each kind found, a compatible change
//! accepted, and publishing refused without a major bump.

mod support;

use rustchain_market::compat::{ChangeKind, breaking_changes, require_compatible};
use rustchain_market::index::Index;
use rustchain_market::{MarketErrorKind, sign};
use serde_json::json;
use support::{package, tool};

fn text_param() -> serde_json::Value {
    json!({"type": "string", "description": "The text."})
}

/// The baseline tool: `text` (string, required), `mode` (enum a|b, optional), output a string.
fn base() -> rustchain_tools::ToolManifest {
    tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"], "description": "The mode."}, "count": {"type": "integer", "description": "How many."}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([]),
    )
}

fn kinds_between(new: rustchain_tools::ToolManifest) -> Vec<ChangeKind> {
    breaking_changes(
        &package("p", "1.0.0", vec![base()]),
        &package("p", "1.0.1", vec![new]),
    )
    .into_iter()
    .map(|change| change.kind)
    .collect()
}

#[test]
fn removing_a_tool_breaks() {
    let changes = breaking_changes(
        &package("p", "1.0.0", vec![base()]),
        &package("p", "1.0.1", vec![support::simple("other")]),
    );
    assert_eq!(
        changes.iter().map(|c| c.kind).collect::<Vec<_>>(),
        [ChangeKind::ToolRemoved]
    );
}

#[test]
fn removing_a_parameter_breaks() {
    let new = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}}),
        &["mode"],
        json!({"type": "string"}),
        json!([]),
    );
    assert_eq!(kinds_between(new), [ChangeKind::ParamRemoved]);
}

#[test]
fn adding_a_required_parameter_breaks() {
    let new = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}, "count": {"type": "integer"}, "lang": {"type": "string"}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([]),
    );
    assert_eq!(kinds_between(new), [ChangeKind::RequiredAdded]);
}

#[test]
fn narrowing_a_type_breaks_and_widening_does_not() {
    let narrowed = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}, "count": {"type": "boolean"}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([]),
    );
    assert_eq!(kinds_between(narrowed), [ChangeKind::TypeNarrowed]);
    let widened = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}, "count": {"type": "number"}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([]),
    );
    assert_eq!(kinds_between(widened), []);
}

#[test]
fn narrowing_an_enum_breaks() {
    let new = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a"]}, "count": {"type": "integer"}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([]),
    );
    let changes = breaking_changes(
        &package("p", "1.0.0", vec![base()]),
        &package("p", "1.0.1", vec![new]),
    );
    assert_eq!(
        changes.iter().map(|c| c.kind).collect::<Vec<_>>(),
        [ChangeKind::EnumNarrowed]
    );
    assert!(changes[0].detail.contains("\"b\""), "{}", changes[0]);
}

#[test]
fn changing_the_output_shape_breaks() {
    let new = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}, "count": {"type": "integer"}}),
        &["mode", "count"],
        json!({"type": "object"}),
        json!([]),
    );
    assert_eq!(kinds_between(new), [ChangeKind::OutputChanged]);
}

#[test]
fn widening_permissions_breaks() {
    let new = tool(
        "slug",
        json!({"text": text_param(), "mode": {"enum": ["a", "b"]}, "count": {"type": "integer"}}),
        &["mode", "count"],
        json!({"type": "string"}),
        json!([{"kind": "fs_read", "param": "text"}]),
    );
    assert_eq!(kinds_between(new), [ChangeKind::PermissionsWidened]);
}

#[test]
fn a_new_tool_an_optional_parameter_a_wider_enum_and_new_words_are_compatible() {
    let mut new = tool(
        "slug",
        json!({"text": {"type": "string", "description": "Reworded."}, "mode": {"enum": ["a", "b", "c"]}, "count": {"type": "integer"}, "lang": {"type": "string"}}),
        &["mode", "count", "lang"],
        json!({"type": "string", "description": "The slug."}),
        json!([]),
    );
    new.description = "Makes slugs, better.".into();
    let changes = breaking_changes(
        &package("p", "1.0.0", vec![base()]),
        &package("p", "1.1.0", vec![new, support::simple("extra")]),
    );
    assert_eq!(changes, []);
}

#[test]
fn publishing_a_breaking_change_needs_a_major_version_and_lists_each_change() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "t").expect("index");
    let key = sign::generate_key().expect("a key");
    index
        .publish(&package("p", "1.0.0", vec![base()]), &key, |_| Ok(()))
        .expect("1.0.0");
    let broken = package("p", "1.1.0", vec![support::simple("other")]);
    let refused = index
        .publish(&broken, &key, |log| require_compatible(log, &broken))
        .expect_err("minor bump");
    assert_eq!(refused.kind(), MarketErrorKind::Breaking);
    assert!(
        refused.message().contains("`slug`: the tool was removed")
            && refused.message().contains("2.0.0"),
        "{refused}"
    );
    let major = package("p", "2.0.0", vec![support::simple("other")]);
    index
        .publish(&major, &key, |log| require_compatible(log, &major))
        .expect("a major bump may break");
    let compatible = package(
        "p",
        "2.1.0",
        vec![support::simple("other"), support::simple("more")],
    );
    index
        .publish(&compatible, &key, |log| {
            require_compatible(log, &compatible)
        })
        .expect("compatible");
}
