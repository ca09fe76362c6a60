//! Search: ranking by relevance and quality, the filters, and untrusted
//! packages never resolved.

mod support;

use rustchain_market::index::Index;
use rustchain_market::search::{Query, search};
use rustchain_market::sign;
use rustchain_tools::scan::Severity;
use serde_json::json;
use support::{package, simple, tool};

fn publish(index: &Index, key: &ed25519_dalek::SigningKey, p: rustchain_market::Package) {
    index.publish(&p, key, |_| Ok(())).expect("published");
}

fn fixture() -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "t").expect("index");
    let key = sign::generate_key().expect("a key");
    publish(
        &index,
        &key,
        package("slugs", "1.0.0", vec![simple("slugify")]),
    );
    // Relevant too, but a parameter without a description lowers its quality.
    let mut weak = tool(
        "slug_maker",
        json!({"text": {"type": "string"}}),
        &[],
        json!({"type": "string"}),
        json!([]),
    );
    weak.params[0].description.clear();
    publish(&index, &key, package("slugger", "1.0.0", vec![weak]));
    let fetcher = tool(
        "fetch_page",
        json!({"url": {"type": "string", "description": "The page."}}),
        &[],
        json!({"type": "string"}),
        json!([{"kind": "net", "param": "url"}]),
    );
    publish(&index, &key, package("web", "0.3.0", vec![fetcher]));
    (dir, index)
}

fn names(hits: &[rustchain_market::search::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn equally_relevant_packages_rank_by_quality() {
    let (_dir, index) = fixture();
    let hits = search(
        &index,
        &Query {
            words: "slug".into(),
            ..Query::default()
        },
    )
    .expect("searched");
    assert_eq!(names(&hits), ["slugs", "slugger"], "{hits:#?}");
    assert!(hits[0].quality > hits[1].quality);
    let everything = search(&index, &Query::default()).expect("searched");
    assert_eq!(everything.len(), 3);
}

#[test]
fn filters_by_permission_tag_and_severity() {
    let (_dir, index) = fixture();
    let pure = search(
        &index,
        &Query {
            permissions: vec!["none".into()],
            ..Query::default()
        },
    )
    .expect("searched");
    assert_eq!(names(&pure), ["slugs", "slugger"]);
    let net = search(
        &index,
        &Query {
            permissions: vec!["net".into()],
            ..Query::default()
        },
    )
    .expect("searched");
    assert_eq!(net.len(), 3, "net allows the pure ones too");
    let tagged = search(
        &index,
        &Query {
            tags: vec!["nope".into()],
            ..Query::default()
        },
    )
    .expect("searched");
    assert!(tagged.is_empty());
    let clean = search(
        &index,
        &Query {
            max_severity: Some(None),
            ..Query::default()
        },
    )
    .expect("searched");
    assert!(
        !names(&clean).contains(&"slugger"),
        "its undescribed parameter is a finding: {clean:#?}"
    );
    let up_to_high = search(
        &index,
        &Query {
            max_severity: Some(Some(Severity::High)),
            ..Query::default()
        },
    )
    .expect("searched");
    assert_eq!(up_to_high.len(), 3);
}

#[test]
fn a_package_whose_file_does_not_verify_is_not_resolved() {
    let (dir, index) = fixture();
    let file = dir.path().join("sl/ug/slugs");
    let text = std::fs::read_to_string(&file).expect("the file");
    std::fs::write(&file, text.replace("Does slugify.", "Does everything.")).expect("tampered");
    let hits = search(
        &index,
        &Query {
            words: "slug".into(),
            ..Query::default()
        },
    )
    .expect("searched");
    assert_eq!(names(&hits), ["slugger"]);
}
