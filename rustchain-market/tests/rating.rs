//! Ratings: one per rater key, updatable, signed; averages and counts;
//! forged and replayed lines change nothing.

mod support;

use rustchain_market::index::Index;
use rustchain_market::search::{Query, search};
use rustchain_market::{MarketErrorKind, sign};
use support::{package, simple};

fn rated() -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "t").expect("index");
    let owner = sign::generate_key().expect("a key");
    index
        .publish(
            &package("slugs", "1.0.0", vec![simple("slug")]),
            &owner,
            |_| Ok(()),
        )
        .expect("published");
    (dir, index)
}

#[test]
fn each_key_has_one_rating_it_can_update_and_averages_count_raters() {
    let (_dir, index) = rated();
    let (alice, bob) = (
        sign::generate_key().expect("key"),
        sign::generate_key().expect("key"),
    );
    index.rate("slugs", 2, None, &alice).expect("rated");
    index
        .rate("slugs", 5, Some("Fast.".into()), &bob)
        .expect("rated");
    index
        .rate("slugs", 4, Some("Better now.".into()), &alice)
        .expect("updated");
    let ratings = index.ratings("slugs").expect("read");
    assert_eq!((ratings.count, ratings.average), (2, Some(4.5)));
    let hits = search(&index, &Query::default()).expect("searched");
    assert_eq!((hits[0].ratings, hits[0].rating), (2, Some(4.5)));
}

#[test]
fn bad_scores_and_unknown_packages_are_refused() {
    let (_dir, index) = rated();
    let key = sign::generate_key().expect("key");
    assert_eq!(
        index.rate("slugs", 6, None, &key).expect_err("1-5").kind(),
        MarketErrorKind::Invalid
    );
    assert_eq!(
        index.rate("slugs", 0, None, &key).expect_err("1-5").kind(),
        MarketErrorKind::Invalid
    );
    assert_eq!(
        index
            .rate("nothing", 3, None, &key)
            .expect_err("no package")
            .kind(),
        MarketErrorKind::NotFound
    );
}

#[test]
fn a_forged_or_replayed_rating_changes_nothing() {
    let (dir, index) = rated();
    let alice = sign::generate_key().expect("key");
    index.rate("slugs", 1, None, &alice).expect("first");
    index.rate("slugs", 5, None, &alice).expect("second");
    let file = dir.path().join("ratings/sl/ug/slugs");
    let text = std::fs::read_to_string(&file).expect("the ratings file");
    let first = text.lines().next().expect("a line").to_owned();
    // Replay the old, validly signed line at the end: the higher seq still wins.
    std::fs::write(&file, format!("{text}{first}\n")).expect("replayed");
    assert_eq!(index.ratings("slugs").expect("read").average, Some(5.0));
    // Edit a score: its signature no longer holds.
    std::fs::write(&file, text.replace("\"score\":5", "\"score\":1")).expect("forged");
    let ratings = index.ratings("slugs").expect("read");
    assert_eq!(
        (ratings.average, ratings.untrusted),
        (Some(1.0), 1),
        "only the first, true line counts"
    );
}
