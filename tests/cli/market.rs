//! `tools publish` and `market keygen|yank|diff`: a package from the linked
//! `add` tool of `my-tools`, with the metadata of a `Cargo.toml` the test
//! writes (`--manifest-path`), into an index in a scratch folder.

use std::path::Path;

use serde_json::Value;

use super::{cli, run::scratch, run::utf8, run::write};

const MANIFEST: &str = "[package]\nname = \"my-tools\"\nversion = \"0.1.0\"\nlicense = \"MIT\"\ndescription = \"Example tools.\"\nauthors = [\"A. Author\"]\n";

struct Market {
    dir: tempfile::TempDir,
    index: String,
    key: String,
    manifest: String,
}

fn market() -> Market {
    let dir = scratch();
    let index = utf8(&dir.path().join("index"));
    let key = utf8(&dir.path().join("market.key"));
    let manifest = write(dir.path(), "Cargo.toml", MANIFEST);
    Market {
        dir,
        index,
        key,
        manifest,
    }
}

impl Market {
    fn publish(&self, extra: &[&str]) -> super::run::Run {
        let mut args = vec![
            "tools",
            "publish",
            "add",
            "--index",
            &self.index,
            "--key",
            &self.key,
            "--manifest-path",
            &self.manifest,
        ];
        args.extend_from_slice(extra);
        cli(&args)
    }
}

#[test]
fn keygen_writes_a_private_key_once_and_prints_its_public_half() {
    let m = market();
    let run = cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    assert!(
        run.out.starts_with("ed25519:") && run.out.trim().len() == 72,
        "{run:#?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&m.key)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read_to_string(&m.key).expect("the key");
    let again = cli(&["market", "keygen", "--out", &m.key]).expect_code(2);
    assert!(
        again.err.contains("never overwritten") && again.err.lines().count() == 1,
        "{again:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(&m.key).expect("the key"),
        before,
        "untouched"
    );
}

#[test]
fn a_dry_run_shows_the_package_quality_and_checklist_and_writes_nothing() {
    let m = market();
    let run = m.publish(&["--dry-run"]).expect_code(0);
    assert!(
        run.out
            .starts_with("my-tools 0.1.0: 1 tool (add), license MIT, metadata from Cargo.toml\n"),
        "{}",
        run.out
    );
    assert!(run.out.contains("quality 85/100"), "{}", run.out);
    assert!(
        run.out.contains("warn   key"),
        "no key yet is a warning for a dry run: {}",
        run.out
    );
    assert!(
        run.out.ends_with("ready to publish, 2 warnings\n"),
        "{}",
        run.out
    );
    assert!(run.err.contains("dry run: nothing was written"), "{run:#?}");
    assert!(!Path::new(&m.index).exists(), "nothing written");

    let json = m.publish(&["--dry-run", "--json"]).expect_code(0).json();
    assert_eq!(json["ready"], true);
    assert_eq!(json["quality"]["score"], 85);
    assert_eq!(json["package"]["tools"], serde_json::json!(["add"]));
    let items: Vec<&str> = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["item"].as_str().unwrap_or(""))
        .collect();
    assert!(
        items.contains(&"license") && items.contains(&"compatibility"),
        "{items:?}"
    );
}

#[test]
fn a_missing_license_blocks_with_how_to_fix_it() {
    let m = market();
    let manifest = write(
        m.dir.path(),
        "Cargo.toml",
        "[package]\nname = \"my-tools\"\nversion = \"0.1.0\"\n",
    );
    let json = cli(&[
        "tools",
        "publish",
        "add",
        "--dry-run",
        "--json",
        "--index",
        &m.index,
        "--manifest-path",
        &manifest,
    ])
    .expect_code(9)
    .json();
    assert_eq!(json["ready"], false);
    let license = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["item"] == "license")
        .expect("a license check")
        .clone();
    assert_eq!(license["status"], "block");
    assert!(
        license["fix"]
            .as_str()
            .is_some_and(|fix| fix.contains("license =")),
        "{license}"
    );
}

#[test]
fn publish_signs_into_the_index_then_refuses_the_same_version_and_yank_hides_it() {
    let m = market();
    let blocked = m.publish(&[]).expect_code(9);
    assert!(
        blocked.out.contains("block  key"),
        "a real publish needs a key: {}",
        blocked.out
    );
    assert!(!Path::new(&m.index).exists());

    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    let run = m.publish(&[]).expect_code(0);
    assert!(
        run.out.contains("published my-tools 0.1.0 (entry 1)"),
        "{run:#?}"
    );
    let file = Path::new(&m.index).join("my/-t/my-tools");
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(&file)
            .expect("the package file")
            .trim(),
    )
    .expect("one JSON line");
    assert_eq!(
        (
            line["kind"].as_str(),
            line["seq"].as_u64(),
            line["vers"].as_str()
        ),
        (Some("publish"), Some(1), Some("0.1.0"))
    );
    assert!(line["sig"].as_str().is_some_and(|sig| sig.len() == 128));
    assert_eq!(line["package"]["license"], "MIT");
    assert!(Path::new(&m.index).join("config.json").is_file());

    let again = m.publish(&[]).expect_code(9);
    assert!(
        again.out.contains("0.1.0 is already in the index"),
        "{again:#?}"
    );

    let yank = cli(&[
        "market",
        "yank",
        "my-tools@0.1.0",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(0);
    assert!(yank.out.contains("yanked my-tools 0.1.0"), "{yank:#?}");
    let twice = cli(&[
        "market",
        "yank",
        "my-tools@0.1.0",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(2);
    assert!(twice.err.contains("yanked already"), "{twice:#?}");
    cli(&[
        "market",
        "yank",
        "my-tools@0.1.0",
        "--undo",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&file)
            .expect("the file")
            .lines()
            .count(),
        3
    );

    let diff = cli(&[
        "market", "diff", "my-tools", "0.1.0", "0.1.0", "--index", &m.index,
    ])
    .expect_code(0);
    assert_eq!(diff.out, "my-tools 0.1.0 to 0.1.0: compatible\n");
}

#[test]
fn another_key_cannot_publish_over_the_owner() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    m.publish(&[]).expect_code(0);
    let stranger = utf8(&m.dir.path().join("stranger.key"));
    cli(&["market", "keygen", "--out", &stranger]).expect_code(0);
    let manifest = write(
        m.dir.path(),
        "Cargo.toml",
        &MANIFEST.replace("0.1.0", "0.2.0"),
    );
    let run = cli(&[
        "tools",
        "publish",
        "add",
        "--index",
        &m.index,
        "--key",
        &stranger,
        "--manifest-path",
        &manifest,
    ])
    .expect_code(9);
    assert!(run.out.contains("block  owner"), "{run:#?}");
}

#[test]
fn bad_input_is_one_line_naming_what_to_fix() {
    let m = market();
    let unknown = cli(&[
        "tools",
        "publish",
        "no_such_tool",
        "--dry-run",
        "--index",
        &m.index,
    ])
    .expect_code(2);
    assert!(unknown.err.contains("no_such_tool"), "{unknown:#?}");
    let two_crates = cli(&[
        "tools",
        "publish",
        "add",
        "text_stats",
        "--dry-run",
        "--index",
        &m.index,
    ])
    .expect_code(2);
    assert!(
        two_crates.err.contains("2 crates") && two_crates.err.lines().count() == 1,
        "{two_crates:#?}"
    );
    let wrong_crate = write(
        m.dir.path(),
        "Other.toml",
        "[package]\nname = \"other\"\nversion = \"1.0.0\"\n",
    );
    let mismatch = cli(&[
        "tools",
        "publish",
        "add",
        "--dry-run",
        "--index",
        &m.index,
        "--manifest-path",
        &wrong_crate,
    ])
    .expect_code(2);
    assert!(mismatch.err.contains("`other`"), "{mismatch:#?}");
    let spec = cli(&[
        "market", "yank", "my-tools", "--index", &m.index, "--key", &m.key,
    ])
    .expect_code(2);
    assert!(spec.err.contains("NAME@VERSION"), "{spec:#?}");
    let no_index = cli(&[
        "market", "diff", "my-tools", "0.1.0", "0.2.0", "--index", &m.index,
    ])
    .expect_code(2);
    assert!(no_index.err.contains("not an index"), "{no_index:#?}");
    let copy = utf8(&m.dir.path().join("copy"));
    let no_ca = utf8(&m.dir.path().join("no-such-ca.pem"));
    let unreadable =
        cli(&["market", "mirror", &m.index, &copy, "--ca-file", &no_ca]).expect_code(2);
    assert!(
        unreadable.err.contains("no-such-ca.pem") && unreadable.err.lines().count() == 1,
        "{unreadable:#?}"
    );
    let not_pem = write(m.dir.path(), "ca.pem", "not a certificate\n");
    let https = "https://127.0.0.1:9/";
    let refused = cli(&["market", "mirror", https, &copy, "--ca-file", &not_pem]).expect_code(2);
    assert!(refused.err.contains("no certificate found"), "{refused:#?}");
    assert!(!Path::new(&copy).exists());
}

#[test]
fn search_and_info_show_trusted_packages_and_say_what_is_untrusted() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    m.publish(&[]).expect_code(0);
    let found = cli(&["market", "search", "add", "--index", &m.index]).expect_code(0);
    assert!(
        found
            .out
            .lines()
            .nth(1)
            .is_some_and(|line| line.starts_with("my-tools ")),
        "{found:#?}"
    );
    // Every column has its heading, and each value starts under it.
    let (header, row) = (
        found.out.lines().next().expect("a header"),
        found.out.lines().nth(1).expect("a row"),
    );
    for (heading, value) in [("RATING", "-"), ("TOOLS", "add")] {
        let column = header.find(heading).expect("the heading");
        assert!(row[column..].starts_with(value), "{header}\n{row}");
    }
    let none = cli(&[
        "market",
        "search",
        "add",
        "--permission",
        "net",
        "--tag",
        "math",
        "--max-severity",
        "high",
        "--index",
        &m.index,
        "--json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(
        none["packages"][0]["name"], "my-tools",
        "add touches nothing and is tagged math: {none}"
    );
    let other_tag = cli(&[
        "market", "search", "--tag", "weather", "--index", &m.index, "--json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(other_tag["packages"], serde_json::json!([]));
    let bad_kind = cli(&[
        "market",
        "search",
        "--permission",
        "root",
        "--index",
        &m.index,
    ])
    .expect_code(2);
    assert!(
        bad_kind.err.contains("not a permission kind"),
        "{bad_kind:#?}"
    );

    let info = cli(&["market", "info", "my-tools", "--index", &m.index]).expect_code(0);
    assert!(
        info.out
            .starts_with("my-tools 0.1.0: Example tools.\nlicense MIT, by A. Author\n"),
        "{}",
        info.out
    );
    assert!(
        info.out.contains("quality 85/100") && info.out.contains("  add  "),
        "{}",
        info.out
    );

    // Someone edits the published line: it is untrusted, shown, never used.
    let file = Path::new(&m.index).join("my/-t/my-tools");
    let text = std::fs::read_to_string(&file).expect("the file");
    std::fs::write(&file, text.replacen("Example tools.", "Trusted tools.", 1)).expect("tampered");
    let info = cli(&["market", "info", "my-tools", "--index", &m.index]).expect_code(2);
    assert!(
        info.err.contains("untrusted lines") && info.err.contains("no trusted"),
        "{info:#?}"
    );
    let json = cli(&[
        "market",
        "info",
        "my-tools@0.1.0",
        "--index",
        &m.index,
        "--json",
    ])
    .expect_code(2);
    assert!(json.out.is_empty(), "nothing half-written: {json:#?}");
    let found = cli(&["market", "search", "--index", &m.index, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(found["packages"], serde_json::json!([]));
}

#[test]
fn a_rating_is_signed_per_key_updatable_and_shown_in_info_and_search() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    m.publish(&[]).expect_code(0);
    let rater = utf8(&m.dir.path().join("rater.key"));
    cli(&["market", "keygen", "--out", &rater]).expect_code(0);
    cli(&[
        "market", "rate", "my-tools", "2", "--index", &m.index, "--key", &rater,
    ])
    .expect_code(0);
    let again = cli(&[
        "market", "rate", "my-tools", "4", "--review", "Better.", "--index", &m.index, "--key",
        &rater,
    ])
    .expect_code(0);
    assert!(
        again.out.contains("replacing your earlier rating")
            && again.out.contains("4.0/5 from 1 rater"),
        "{again:#?}"
    );
    cli(&[
        "market", "rate", "my-tools", "5", "--index", &m.index, "--key", &m.key,
    ])
    .expect_code(0);
    let info = cli(&["market", "info", "my-tools", "--index", &m.index]).expect_code(0);
    assert!(
        info.out.contains("rating 4.5/5 from 2 raters"),
        "{}",
        info.out
    );
    let found = cli(&["market", "search", "--index", &m.index, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        (
            found["packages"][0]["rating"].as_f64(),
            found["packages"][0]["ratings"].as_u64()
        ),
        (Some(4.5), Some(2))
    );
    cli(&[
        "market", "rate", "my-tools", "9", "--index", &m.index, "--key", &rater,
    ])
    .expect_code(2);
    let unknown = cli(&[
        "market", "rate", "nothing", "3", "--index", &m.index, "--key", &rater,
    ])
    .expect_code(2);
    assert!(
        unknown.err.contains("`nothing` is not in the index"),
        "{unknown:#?}"
    );
}

#[test]
fn mirror_copies_a_verified_index_and_refuses_a_tampered_package() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    m.publish(&[]).expect_code(0);
    cli(&[
        "market",
        "collection",
        "publish",
        "math-kit",
        "1.0.0",
        "my-tools@^0.1",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(0);
    let copy = utf8(&m.dir.path().join("copy"));
    let run = cli(&["market", "mirror", &m.index, &copy]).expect_code(0);
    assert_eq!(
        run.out,
        "copied 1 package, 0 unchanged, 0 refused\ncopied 1 collection, 0 unchanged, 0 refused\n"
    );
    let shown = cli(&["market", "collection", "show", "math-kit", "--index", &copy]).expect_code(0);
    assert!(shown.out.starts_with("math-kit 1.0.0"), "{shown:#?}");
    assert!(shown.out.contains("my-tools ^0.1"), "{shown:#?}");
    let found = cli(&["market", "search", "--index", &copy, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(found["packages"][0]["name"], "my-tools");

    let file = Path::new(&m.index).join("my/-t/my-tools");
    let text = std::fs::read_to_string(&file).expect("the file");
    std::fs::write(&file, text.replacen("Example tools.", "Other tools.", 1)).expect("tampered");
    let fresh = utf8(&m.dir.path().join("fresh"));
    let refused = cli(&["market", "mirror", &m.index, &fresh]).expect_code(9);
    assert!(refused.err.contains("refused `my-tools`"), "{refused:#?}");
    assert!(!Path::new(&fresh).join("my/-t/my-tools").exists());
}

/// Validates `server` against the MCP Registry's `server.schema.json` when
/// `RUSTCHAIN_MCP_SERVER_SCHEMA` names a copy of it (`.ci/run` names the one
/// the linter `skillsaw` bundles), and always against the rules of that
/// schema this export must meet: name pattern, description length, required
/// fields.
fn check_server_json(server: &Value) {
    let name = server["name"].as_str().expect("a name");
    let (namespace, short) = name.split_once('/').expect("NAMESPACE/NAME");
    assert!(
        !namespace.is_empty()
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
        "{name}"
    );
    assert!(
        !short.is_empty()
            && short
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "{name}"
    );
    let description = server["description"].as_str().expect("a description");
    assert!(
        (1..=100).contains(&description.chars().count()),
        "{description}"
    );
    assert!(server["version"].is_string());
    if let Some(schema) = std::env::var_os("RUSTCHAIN_MCP_SERVER_SCHEMA") {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(schema).expect("the schema file"))
                .expect("JSON");
        assert_eq!(
            schema["$id"], server["$schema"],
            "the schema named is the one the export declares"
        );
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(server)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

#[test]
fn export_writes_an_mcp_registry_server_json() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    let manifest = write(
        m.dir.path(),
        "Cargo.toml",
        &format!("{MANIFEST}repository = \"https://github.com/Acme/my-tools\"\n"),
    );
    cli(&[
        "tools",
        "publish",
        "add",
        "--index",
        &m.index,
        "--key",
        &m.key,
        "--manifest-path",
        &manifest,
    ])
    .expect_code(0);
    let server = cli(&[
        "market",
        "export",
        "my-tools",
        "--mcp-registry",
        "--index",
        &m.index,
    ])
    .expect_code(0)
    .json();
    assert_eq!(server["name"], "io.github.acme/my-tools");
    assert_eq!(server["version"], "0.1.0");
    assert_eq!(server["repository"]["source"], "github");
    assert_eq!(
        server["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["rustchain"]["tools"]
            [0]["name"],
        "add"
    );
    check_server_json(&server);

    let out = utf8(&m.dir.path().join("server.json"));
    cli(&[
        "market",
        "export",
        "my-tools@0.1.0",
        "--mcp-registry",
        "--namespace",
        "org.example",
        "--out",
        &out,
        "--index",
        &m.index,
    ])
    .expect_code(0);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("JSON");
    assert_eq!(written["name"], "org.example/my-tools");
    check_server_json(&written);
    let bad = cli(&[
        "market",
        "export",
        "my-tools",
        "--mcp-registry",
        "--namespace",
        "a/b",
        "--index",
        &m.index,
    ])
    .expect_code(2);
    assert!(
        bad.err.contains("--namespace") && bad.out.is_empty(),
        "{bad:#?}"
    );
}

#[test]
fn tests_that_do_not_pass_block_the_publish() {
    // The manifest names no source, so `cargo test` on it fails.
    let m = market();
    let run = m
        .publish(&["--dry-run", "--run-tests", "--offline"])
        .expect_code(9);
    assert!(
        run.out.contains("block  tests         cargo test failed"),
        "{run:#?}"
    );
    assert!(
        run.out.contains("tests         0/15  cargo test failed"),
        "{run:#?}"
    );
}

#[test]
fn tests_that_pass_count_in_the_score_and_pass_the_checklist() {
    // A crate of its own (not in this workspace) whose one test passes.
    let m = market();
    let crate_dir = m.dir.path().join("passing");
    std::fs::create_dir_all(crate_dir.join("src")).expect("made");
    let manifest = write(
        &crate_dir,
        "Cargo.toml",
        &format!("{MANIFEST}edition = \"2021\"\n\n[workspace]\n"),
    );
    write(
        &crate_dir.join("src"),
        "lib.rs",
        "#[test]\nfn adds() {\n    assert_eq!(1 + 1, 2);\n}\n",
    );
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "tools",
            "publish",
            "add",
            "--dry-run",
            "--json",
            "--index",
            &m.index,
            "--manifest-path",
            &manifest,
        ];
        args.extend_from_slice(extra);
        cli(&args).expect_code(0).json()
    };
    let without = publish(&[]);
    let with = publish(&["--run-tests", "--offline"]);
    assert_eq!(with["quality"]["tests"], "passed", "{with:#}");
    let part = |json: &Value| {
        json["quality"]["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .find(|p| p["part"] == "tests")
            .expect("a tests part")
            .clone()
    };
    assert_eq!(
        (part(&with)["points"].as_u64(), part(&with)["max"].as_u64()),
        (Some(15), Some(15))
    );
    assert_eq!(part(&without)["points"].as_u64(), Some(0));
    assert_eq!(
        with["quality"]["score"].as_u64().expect("a score"),
        without["quality"]["score"].as_u64().expect("a score") + 15
    );
    let check = with["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["item"] == "tests")
        .expect("a tests check")
        .clone();
    assert_eq!(
        (check["status"].as_str(), check["detail"].as_str()),
        (Some("pass"), Some("cargo test passed")),
        "{check}"
    );
}

#[test]
fn a_workspace_member_publishes_with_the_fields_it_inherits() {
    let m = market();
    let root = m.dir.path().join("ws");
    std::fs::create_dir_all(root.join("crates/my-tools")).expect("made");
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"0.4.0\"\nlicense = \"Apache-2.0\"\nauthors = [\"W. Orkspace\"]\nrepository = \"https://github.com/example/ws\"\n",
    );
    let manifest = write(
        &root.join("crates/my-tools"),
        "Cargo.toml",
        "[package]\nname = \"my-tools\"\nversion.workspace = true\nlicense.workspace = true\nauthors.workspace = true\nrepository.workspace = true\ndescription = \"Example tools.\"\n",
    );
    let json = cli(&[
        "tools",
        "publish",
        "add",
        "--dry-run",
        "--json",
        "--index",
        &m.index,
        "--manifest-path",
        &manifest,
    ])
    .expect_code(0)
    .json();
    let package = &json["package"];
    assert_eq!(
        (
            package["version"].as_str(),
            package["license"].as_str(),
            package["authors"][0].as_str(),
            package["repository"].as_str()
        ),
        (
            Some("0.4.0"),
            Some("Apache-2.0"),
            Some("W. Orkspace"),
            Some("https://github.com/example/ws")
        ),
        "{json:#}"
    );
    // The root gives no description: naming it in the crate is required.
    write(
        &root.join("crates/my-tools"),
        "Cargo.toml",
        "[package]\nname = \"my-tools\"\nversion = \"0.1.0\"\ndescription.workspace = true\n",
    );
    let missing = cli(&[
        "tools",
        "publish",
        "add",
        "--dry-run",
        "--index",
        &m.index,
        "--manifest-path",
        &manifest,
    ])
    .expect_code(2);
    assert!(
        missing.err.contains("has no `description`") && missing.err.lines().count() == 1,
        "{missing:#?}"
    );
}

#[test]
fn a_collection_is_published_shown_and_searched() {
    let m = market();
    cli(&["market", "keygen", "--out", &m.key]).expect_code(0);
    m.publish(&[]).expect_code(0);
    let run = cli(&[
        "market",
        "collection",
        "publish",
        "math-kit",
        "1.0.0",
        "my-tools@^0.1",
        "--description",
        "Arithmetic.",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(0);
    assert_eq!(
        run.out,
        "published collection math-kit 1.0.0 (1 package, entry 1)\n"
    );
    let show = cli(&[
        "market",
        "collection",
        "show",
        "math-kit",
        "--index",
        &m.index,
    ])
    .expect_code(0);
    assert_eq!(show.out, "math-kit 1.0.0: Arithmetic.\n  my-tools ^0.1\n");
    let found = cli(&[
        "market",
        "collection",
        "search",
        "arithmetic",
        "--index",
        &m.index,
        "--json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(found["collections"][0]["name"], "math-kit");
    let missing = cli(&[
        "market",
        "collection",
        "publish",
        "math-kit",
        "1.1.0",
        "my-tools@^2",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(2);
    assert!(
        missing
            .err
            .contains("no trusted, unyanked version matching ^2"),
        "{missing:#?}"
    );
    let lower = cli(&[
        "market",
        "collection",
        "publish",
        "math-kit",
        "0.1.0",
        "my-tools",
        "--index",
        &m.index,
        "--key",
        &m.key,
    ])
    .expect_code(9);
    assert!(lower.err.contains("not above 1.0.0"), "{lower:#?}");
}
