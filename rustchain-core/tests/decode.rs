//! The decoder's error paths for enum variants and for fields serde buffers.
//!
//! Decoded through `decode` itself, as the code `#[tool]` generates calls it,
//! so each case names its parameter types and nothing else.

use rustchain_core::__private::{Param, decode};
use rustchain_core::{ErrorKind, ParamInfo, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;

static SHAPE: [ParamInfo; 1] = [ParamInfo {
    name: "shape",
    description: "The shape",
    required: true,
}];

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
struct Point {
    x: i32,
    y: i32,
}

/// Externally tagged: each variant's data sits in an object of its own.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
enum Shape {
    Circle { center: Point, r: u32 },
    Dot(Point),
    Line(Point, Point),
    Empty,
}

fn refused<P: Param + std::fmt::Debug>(text: &str) -> ToolError {
    let err = decode::<(P,)>(text, &SHAPE).expect_err(text);
    assert_eq!(err.kind(), ErrorKind::InvalidArguments, "{text}: {err}");
    err
}

#[test]
fn an_unknown_field_inside_a_variant_is_refused_with_the_variants_name_in_its_path() {
    for (text, path) in [
        (
            r#"{"shape": {"Circle": {"center": {"x": 0, "y": 0}, "r": 1, "fill": "red"}}}"#,
            "shape.Circle.fill",
        ),
        (
            r#"{"shape": {"Circle": {"center": {"x": 0, "y": 0, "z": 0}, "r": 1}}}"#,
            "shape.Circle.center.z",
        ),
        (
            r#"{"shape": {"Dot": {"x": 0, "y": 0, "z": 0}}}"#,
            "shape.Dot.z",
        ),
        (
            r#"{"shape": {"Line": [{"x": 0, "y": 0}, {"x": 1, "y": 1, "z": 1}]}}"#,
            "shape.Line[1].z",
        ),
    ] {
        let err = refused::<Shape>(text);
        assert_eq!(err.path(), Some(path), "{text}: {err}");
        let field = path.rsplit('.').next().unwrap_or_default();
        assert!(
            err.message()
                .contains(&format!("unknown field `{field}`; send only the fields")),
            "{text}: {err}"
        );
        assert!(
            err.message().starts_with(&format!("argument `{path}`: ")),
            "{text}: {err}"
        );
    }
}

#[test]
fn a_wrong_value_inside_a_variant_names_the_variant_too() {
    for (text, path) in [
        (
            r#"{"shape": {"Circle": {"center": {"x": 0, "y": 0}, "r": -1}}}"#,
            "shape.Circle.r",
        ),
        (
            r#"{"shape": {"Circle": {"center": {"x": "0", "y": 0}, "r": 1}}}"#,
            "shape.Circle.center.x",
        ),
        (r#"{"shape": {"Dot": {"x": 0, "y": true}}}"#, "shape.Dot.y"),
        (
            r#"{"shape": {"Line": [{"x": 0, "y": 0}, {"x": 1, "y": null}]}}"#,
            "shape.Line[1].y",
        ),
    ] {
        let err = refused::<Shape>(text);
        assert_eq!(err.path(), Some(path), "{text}: {err}");
    }
}

#[test]
fn a_hostile_key_is_cut_short_in_the_path_and_message() {
    let key = "k".repeat(10_000);
    let text = format!(r#"{{"shape": {{"Dot": {{"x": 0, "y": 0, "{key}": 1}}}}}}"#);
    let err = refused::<Shape>(&text);
    let short = "k".repeat(64);
    assert_eq!(err.path(), Some(format!("shape.Dot.{short}").as_str()));
    assert!(err.message().len() < 400, "{}", err.message().len());

    // A wrong value under a hostile map key: the same cut.
    let text = format!(r#"{{"shape": {{"{key}": "one"}}}}"#);
    let err = refused::<std::collections::HashMap<String, u8>>(&text);
    assert_eq!(err.path(), Some(format!("shape.{short}").as_str()));
    assert!(err.message().len() < 400, "{}", err.message().len());
}

/// Internally tagged: serde reads the whole object into a buffer to find the
/// tag, then decodes the variant from that buffer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type")]
#[allow(dead_code, reason = "only decoded")]
enum Tagged {
    Circle { r: u32 },
}

/// The same, refusing unknown fields itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields)]
#[allow(dead_code, reason = "only decoded")]
enum TaggedStrict {
    Circle { r: u32 },
}

/// Untagged: serde buffers the value and tries each variant on it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "only decoded")]
enum Untagged {
    Circle { r: u32 },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "only decoded")]
enum UntaggedStrict {
    Circle(StrictCircle),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "only decoded")]
struct StrictCircle {
    r: u32,
}

/// Flattened: the outer struct buffers every key it does not know itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code, reason = "only decoded")]
struct Flattened {
    name: String,
    #[serde(flatten)]
    center: Point,
}

/// The limit D-51 records: a field serde buffers (an internally tagged or
/// untagged enum, a flattened struct) is skipped inside serde's buffer,
/// where the decoder does not see it, so an unknown one is accepted unless
/// the type itself denies unknown fields (which a flattened struct cannot).
#[test]
fn unknown_fields_serde_buffers_pass_unless_the_type_denies_them() {
    let tagged = r#"{"shape": {"type": "Circle", "r": 1, "fill": "red"}}"#;
    decode::<(Tagged,)>(tagged, &SHAPE).expect("accepted: serde skipped `fill` in its buffer");
    let untagged = r#"{"shape": {"r": 1, "fill": "red"}}"#;
    decode::<(Untagged,)>(untagged, &SHAPE).expect("accepted: serde skipped `fill` in its buffer");
    let flattened = r#"{"shape": {"name": "c", "x": 0, "y": 0, "fill": "red"}}"#;
    decode::<(Flattened,)>(flattened, &SHAPE)
        .expect("accepted: serde skipped `fill` in its buffer");

    // The type's own `deny_unknown_fields` refuses them, at the argument:
    // serde's buffer keeps no path.
    let err = refused::<TaggedStrict>(tagged);
    assert_eq!(err.path(), Some("shape"), "{err}");
    assert!(err.message().contains("unknown field `fill`"), "{err}");
    let err = refused::<UntaggedStrict>(untagged);
    assert_eq!(err.path(), Some("shape"), "{err}");

    // The input schema closes those objects all the same: a model that
    // follows it sends no such field (D-51).
    for schema in [
        rustchain_core::__private::input_schema::<(Tagged,)>(&SHAPE),
        rustchain_core::__private::input_schema::<(Untagged,)>(&SHAPE),
        rustchain_core::__private::input_schema::<(Flattened,)>(&SHAPE),
    ] {
        let defs = schema.as_value()["$defs"].as_object().expect("$defs");
        let def = defs.values().next().expect("one definition");
        let object = def
            .get("oneOf")
            .or_else(|| def.get("anyOf"))
            .map_or(def, |variants| &variants[0]);
        assert_eq!(
            object["additionalProperties"],
            serde_json::Value::Bool(false),
            "{def}"
        );
    }

    // An unknown field outside the buffered value is still refused with its path.
    let err = refused::<Flattened>(r#"{"shape": {"name": "c", "x": 0, "y": 0}, "fill": 1}"#);
    assert_eq!(err.path(), Some("fill"), "{err}");
}
