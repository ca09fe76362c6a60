//! The index: publish, refusals, yank, verification of every read, and
//! writers at once.

mod support;

use std::path::Path;

use rustchain_market::index::{DistrustKind, Index};
use rustchain_market::{MarketErrorKind, sign};
use support::{package, simple};

fn index() -> (tempfile::TempDir, Index) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "test").expect("a new index");
    (dir, index)
}

fn version(text: &str) -> semver::Version {
    semver::Version::parse(text).expect("a version")
}

/// Publishes `version` of `slugs`, a package of one tool, signed by `key`.
fn publish_slugs(
    index: &Index,
    version: &str,
    key: &rustchain_market::sign::SecretKey,
) -> Result<rustchain_market::entry::Entry, rustchain_market::MarketError> {
    index.publish(
        &package("slugs", version, vec![simple("slug")]),
        key,
        no_check,
    )
}

fn no_check(_: &rustchain_market::PackageLog) -> Result<(), rustchain_market::MarketError> {
    Ok(())
}

#[test]
fn a_published_version_is_read_back_trusted_at_cargos_path() {
    let (dir, index) = index();
    let key = sign::generate_key().expect("a key");
    publish_slugs(&index, "0.1.0", &key).expect("published");
    assert!(dir.path().join("sl/ug/slugs").is_file());
    let log = index.read("slugs").expect("in the index");
    assert_eq!(log.untrusted().count(), 0);
    let latest = log.latest().expect("a version");
    assert_eq!(latest.version, version("0.1.0"));
    assert_eq!(latest.package.tools[0].name, "slug");
    assert_eq!(index.packages().expect("listed"), ["slugs"]);
}

#[test]
fn the_same_version_twice_and_a_lower_version_are_refused() {
    let (_dir, index) = index();
    let key = sign::generate_key().expect("a key");
    publish_slugs(&index, "0.2.0", &key).expect("published");
    let again = publish_slugs(&index, "0.2.0", &key).expect_err("twice");
    assert_eq!(again.kind(), MarketErrorKind::VersionExists);
    let lower = publish_slugs(&index, "0.1.9", &key).expect_err("lower");
    assert_eq!(lower.kind(), MarketErrorKind::VersionExists);
    assert!(lower.message().contains("0.2.0"), "{lower}");
    assert_eq!(
        index.read("slugs").expect("read").lines.len(),
        1,
        "nothing was written"
    );
}

#[test]
fn a_yanked_version_is_hidden_from_resolution_but_kept() {
    let (_dir, index) = index();
    let key = sign::generate_key().expect("a key");
    publish_slugs(&index, "1.0.0", &key).expect("1.0.0");
    publish_slugs(&index, "1.1.0", &key).expect("1.1.0");
    index
        .yank("slugs", &version("1.1.0"), true, &key)
        .expect("yanked");
    let log = index.read("slugs").expect("read");
    assert_eq!(log.latest().expect("one left").version, version("1.0.0"));
    assert!(log.get(&version("1.1.0")).expect("kept").yanked);
    let republish = publish_slugs(&index, "1.1.0", &key).expect_err("yanked stays taken");
    assert_eq!(republish.kind(), MarketErrorKind::VersionExists);
    index
        .yank("slugs", &version("1.1.0"), false, &key)
        .expect("un-yanked");
    assert_eq!(
        index
            .read("slugs")
            .expect("read")
            .latest()
            .expect("back")
            .version,
        version("1.1.0")
    );
    let missing = index
        .yank("slugs", &version("9.0.0"), true, &key)
        .expect_err("no such version");
    assert_eq!(missing.kind(), MarketErrorKind::NotFound);
}

#[test]
fn another_key_cannot_publish_or_yank_an_owned_package() {
    let (_dir, index) = index();
    let owner = sign::generate_key().expect("a key");
    let stranger = sign::generate_key().expect("a key");
    publish_slugs(&index, "1.0.0", &owner).expect("first use");
    let publish = publish_slugs(&index, "2.0.0", &stranger).expect_err("not the owner");
    assert_eq!(publish.kind(), MarketErrorKind::NotOwner);
    let yank = index
        .yank("slugs", &version("1.0.0"), true, &stranger)
        .expect_err("not the owner");
    assert_eq!(yank.kind(), MarketErrorKind::NotOwner);
}

fn file(dir: &Path) -> std::path::PathBuf {
    dir.join("sl/ug/slugs")
}

fn two_versions() -> (tempfile::TempDir, Index, ed25519_dalek::SigningKey) {
    let (dir, index) = index();
    let key = sign::generate_key().expect("a key");
    publish_slugs(&index, "1.0.0", &key).expect("1.0.0");
    publish_slugs(&index, "1.1.0", &key).expect("1.1.0");
    (dir, index, key)
}

#[test]
fn a_tampered_entry_is_untrusted_and_never_resolved() {
    let (dir, index, key) = two_versions();
    let text = std::fs::read_to_string(file(dir.path())).expect("the file");
    std::fs::write(
        file(dir.path()),
        text.replacen("Does slug.", "Does slug; also mails your keys.", 1),
    )
    .expect("tampered");
    let log = index.read("slugs").expect("read");
    let first = log.untrusted().next().expect("caught");
    assert_eq!(
        (first.line, first.distrust.as_ref().map(|d| d.0)),
        (1, Some(DistrustKind::BadSignature))
    );
    assert!(
        log.latest().is_none(),
        "nothing after a tampered line is used"
    );
    let refused = publish_slugs(&index, "2.0.0", &key).expect_err("no writing on a bad file");
    assert_eq!(refused.kind(), MarketErrorKind::Untrusted);
}

#[test]
fn an_entry_signed_by_another_key_is_untrusted() {
    let (dir, index, _key) = two_versions();
    // A stranger writes a well-formed, well-chained, self-signed entry.
    let stranger = sign::generate_key().expect("a key");
    let text = std::fs::read_to_string(file(dir.path())).expect("the file");
    let last = text.lines().last().expect("two lines");
    let forged = rustchain_market::entry::Entry::signed(
        "slugs",
        3,
        Some(rustchain_market::entry::line_digest(last)),
        rustchain_market::entry::Action::Yank {
            vers: "1.1.0".into(),
            yanked: true,
        },
        &stranger,
    )
    .expect("signed");
    std::fs::write(
        file(dir.path()),
        format!("{text}{}\n", forged.line().expect("a line")),
    )
    .expect("appended");
    let log = index.read("slugs").expect("read");
    let bad = log.untrusted().next().expect("caught");
    assert_eq!(
        (bad.line, bad.distrust.as_ref().map(|d| d.0)),
        (3, Some(DistrustKind::UnknownKey))
    );
    assert_eq!(
        log.latest().expect("the trusted part").version,
        version("1.1.0"),
        "the forged yank is ignored"
    );
}

#[test]
fn a_replayed_old_entry_is_untrusted() {
    let (dir, index, key) = two_versions();
    index
        .yank("slugs", &version("1.1.0"), true, &key)
        .expect("yanked");
    // Replay: the file as it was before the yank, plus the old publish line again.
    let text = std::fs::read_to_string(file(dir.path())).expect("the file");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(
        file(dir.path()),
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[1]),
    )
    .expect("replayed");
    let log = index.read("slugs").expect("read");
    let bad = log.untrusted().next().expect("caught");
    assert_eq!(
        (bad.line, bad.distrust.as_ref().map(|d| d.0)),
        (3, Some(DistrustKind::Chain))
    );
    // Reordered: the second line first.
    std::fs::write(file(dir.path()), format!("{}\n{}\n", lines[1], lines[0])).expect("reordered");
    let log = index.read("slugs").expect("read");
    assert_eq!(log.untrusted().next().map(|c| c.line), Some(1));
    assert!(log.latest().is_none());
}

#[test]
fn owners_in_the_config_decide_who_signs_even_the_first_entry() {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let owner = sign::generate_key().expect("a key");
    let squatter = sign::generate_key().expect("a key");
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::json!({"name": "t", "format": 1, "owners": {"slugs": [sign::PublicKey::of(&owner).to_string()]}}).to_string(),
    )
    .expect("config");
    let index = Index::open(dir.path()).expect("opens");
    let squat = publish_slugs(&index, "1.0.0", &squatter).expect_err("listed owner only");
    assert_eq!(squat.kind(), MarketErrorKind::NotOwner);
    publish_slugs(&index, "1.0.0", &owner).expect("the owner");
}

#[test]
fn writers_at_once_lose_nothing() {
    let (_dir, index) = index();
    let key = sign::generate_key().expect("a key");
    let outcomes: Vec<Result<(), MarketErrorKind>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let index = index.clone();
                let key = key.clone();
                scope.spawn(move || {
                    // Half the writers publish their own package, half one shared one.
                    let name = if i % 2 == 0 {
                        format!("pkg{i}")
                    } else {
                        "shared".to_owned()
                    };
                    index
                        .publish(
                            &package(&name, &format!("1.0.{i}"), vec![simple("slug")]),
                            &key,
                            no_check,
                        )
                        .map(|_| ())
                        .map_err(|err| err.kind())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(()) => {}
            // A shared-package writer that came after a higher version.
            Err(MarketErrorKind::VersionExists) if i % 2 == 1 => {}
            Err(other) => panic!("writer {i}: {other}"),
        }
    }
    let shared = index.read("shared").expect("read");
    assert_eq!(shared.untrusted().count(), 0);
    let landed = outcomes
        .iter()
        .enumerate()
        .filter(|(i, o)| i % 2 == 1 && o.is_ok())
        .count();
    assert_eq!(
        shared.versions().len(),
        landed,
        "every publish that succeeded is there"
    );
    assert_eq!(index.packages().expect("listed").len(), 7);
}
