//! Collections: published and signed like packages, versioned, members
//! resolvable, searched by words; a tampered collection is not resolved.

mod support;

use rustchain_market::collection::{Collection, Member, search};
use rustchain_market::index::Index;
use rustchain_market::{MarketErrorKind, sign};
use support::{package, simple};

fn collection(version: &str, members: &[&str]) -> Collection {
    Collection {
        name: "text-kit".into(),
        version: version.into(),
        description: Some("Everything for text.".into()),
        packages: members
            .iter()
            .map(|m| Member::parse(m).expect("a member"))
            .collect(),
    }
}

#[test]
fn a_collection_is_published_versioned_searched_and_verified() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "t").expect("index");
    let key = sign::generate_key().expect("a key");
    index
        .publish(
            &package("slugs", "1.2.0", vec![simple("slug")]),
            &key,
            |_| Ok(()),
        )
        .expect("published");
    index
        .publish(
            &package("stats", "0.3.0", vec![simple("count")]),
            &key,
            |_| Ok(()),
        )
        .expect("published");

    index
        .publish_collection(&collection("1.0.0", &["slugs@^1.1", "stats"]), &key)
        .expect("published");
    let missing = index
        .publish_collection(&collection("1.1.0", &["slugs@^2"]), &key)
        .expect_err("nothing matches ^2");
    assert_eq!(missing.kind(), MarketErrorKind::NotFound);
    let lower = index
        .publish_collection(&collection("0.9.0", &["slugs"]), &key)
        .expect_err("lower");
    assert_eq!(lower.kind(), MarketErrorKind::VersionExists);
    let stranger = sign::generate_key().expect("a key");
    let taken = index
        .publish_collection(&collection("2.0.0", &["slugs"]), &stranger)
        .expect_err("owned");
    assert_eq!(taken.kind(), MarketErrorKind::NotOwner);
    index
        .publish_collection(&collection("1.1.0", &["slugs@^1"]), &key)
        .expect("a new version");

    assert_eq!(
        index
            .read_collection("text-kit")
            .expect("read")
            .latest_collection()
            .expect("trusted")
            .version,
        "1.1.0"
    );
    assert_eq!(
        index.packages().expect("listed"),
        ["slugs", "stats"],
        "collections are not packages"
    );
    let hits = search(&index, "text").expect("searched");
    assert_eq!((hits.len(), hits[0].name.as_str()), (1, "text-kit"));
    assert!(
        search(&index, "slugs").expect("searched").len() == 1,
        "found by a member's name"
    );
    assert!(search(&index, "weather").expect("searched").is_empty());

    let file = dir.path().join("collections/te/xt/text-kit");
    let text = std::fs::read_to_string(&file).expect("the file");
    std::fs::write(&file, text.replace("Everything for text.", "Nothing.")).expect("tampered");
    assert!(
        index
            .read_collection("text-kit")
            .expect("read")
            .latest_collection()
            .is_none()
    );
    assert!(search(&index, "").expect("searched").is_empty());
}

#[test]
fn members_are_names_with_semver_requirements() {
    assert_eq!(Member::parse("slugs").expect("any version").req, "*");
    assert_eq!(Member::parse("slugs@=1.2.3").expect("exact").req, "=1.2.3");
    assert!(Member::parse("../x").is_err());
    assert!(Member::parse("slugs@not a req").is_err());
}
