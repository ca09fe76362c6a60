//! Mirroring an index from a folder and from a loopback HTTP server, every
//! signature verified: tampered packages and rollbacks are not copied.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use rustchain_market::index::Index;
use rustchain_market::mirror::{Source, mirror};
use rustchain_market::sign;
use support::{package, simple};

fn source_index() -> (tempfile::TempDir, Index, ed25519_dalek::SigningKey) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let index = Index::open_or_create(dir.path(), "origin").expect("index");
    let key = sign::generate_key().expect("a key");
    for (name, version) in [("slugs", "1.0.0"), ("slugs", "1.1.0"), ("web", "0.1.0")] {
        index
            .publish(&package(name, version, vec![simple("tool")]), &key, |_| {
                Ok(())
            })
            .expect("published");
    }
    let rater = sign::generate_key().expect("a key");
    index.rate("slugs", 4, None, &rater).expect("rated");
    (dir, index, key)
}

#[test]
fn a_folder_mirror_copies_every_verified_package_and_rating() {
    let (src, _index, _key) = source_index();
    let dest = tempfile::tempdir().expect("a scratch folder");
    let report = mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    assert_eq!(report.copied, ["slugs", "web"]);
    let copy = Index::open(dest.path()).expect("an index");
    assert_eq!(copy.config().name, "origin");
    assert_eq!(
        copy.read("slugs")
            .expect("read")
            .latest()
            .expect("trusted")
            .version
            .to_string(),
        "1.1.0"
    );
    assert_eq!(copy.ratings("slugs").expect("read").average, Some(4.0));
    let again = mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    assert_eq!((again.copied.len(), again.unchanged.len()), (0, 2));
}

#[test]
fn a_tampered_package_and_a_rollback_are_not_copied() {
    let (src, index, key) = source_index();
    let dest = tempfile::tempdir().expect("a scratch folder");
    mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    // The origin loses its last slugs line (a rollback) and someone edits web.
    let slugs = src.path().join("sl/ug/slugs");
    let text = std::fs::read_to_string(&slugs).expect("the file");
    std::fs::write(
        &slugs,
        format!("{}\n", text.lines().next().expect("a line")),
    )
    .expect("rolled back");
    let web = src.path().join("3/w/web");
    let text = std::fs::read_to_string(&web).expect("the file");
    std::fs::write(&web, text.replace("Does tool.", "Does more.")).expect("tampered");
    let report = mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    let refused: Vec<&str> = report
        .refused
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(refused, ["slugs", "web"], "{report:#?}");
    let copy = Index::open(dest.path()).expect("an index");
    assert_eq!(
        copy.read("slugs")
            .expect("kept")
            .latest()
            .expect("trusted")
            .version
            .to_string(),
        "1.1.0"
    );
    assert_eq!(copy.read("web").expect("kept").untrusted().count(), 0);
    drop((index, key));
}

/// A static file server on loopback for `root`, answering HTTP/1.0.
fn serve(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the empty line.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim() != "" {
                header.clear();
            }
            let path = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_owned();
            let file = root.join(&path);
            let inside = Path::new(&path)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            let answer = match std::fs::read(&file) {
                Ok(body) if inside => [
                    format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                        .into_bytes(),
                    body,
                ]
                .concat(),
                _ => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&answer);
        }
    });
    port
}

#[test]
fn an_http_mirror_verifies_and_copies_the_same() {
    let (src, _index, _key) = source_index();
    let port = serve(src.path().to_path_buf());
    let dest = tempfile::tempdir().expect("a scratch folder");
    let source = Source::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL");
    let report = mirror(&source, dest.path()).expect("mirrored");
    assert_eq!(report.copied, ["slugs", "web"], "{report:#?}");
    assert_eq!(
        std::fs::read(dest.path().join("sl/ug/slugs")).expect("copied"),
        std::fs::read(src.path().join("sl/ug/slugs")).expect("the origin")
    );
    assert!(Source::parse("https://example.invalid/").is_err());
    let nothing = Source::parse(&format!("http://127.0.0.1:{port}/missing/")).expect("a URL");
    assert!(mirror(&nothing, tempfile::tempdir().expect("dir").path()).is_err());
}
