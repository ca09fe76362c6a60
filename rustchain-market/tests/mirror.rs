//! Mirroring an index from a folder and from a loopback HTTP server, every
//! signature verified: tampered packages and collections and rollbacks are
//! not copied; a missing file, an oversized body and a redirect elsewhere
//! are refused.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use rustchain_market::collection::{Collection, Member};
use rustchain_market::index::Index;
use rustchain_market::mirror::{Limits, Options, Source, mirror, mirror_with};
use rustchain_market::{MarketErrorKind, sign};
use support::{package, simple};

fn options(limits: Limits) -> Options {
    Options {
        limits,
        ..Options::default()
    }
}

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
    let kit = Collection {
        name: "text-kit".into(),
        version: "1.0.0".into(),
        description: Some("Slugs and the web.".into()),
        packages: vec![
            Member::parse("slugs@^1").expect("a member"),
            Member::parse("web").expect("a member"),
        ],
    };
    index.publish_collection(&kit, &key).expect("published");
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
    assert_eq!(report.copied_collections, ["text-kit"]);
    let kit = copy
        .read_collection("text-kit")
        .expect("copied")
        .latest_collection()
        .expect("trusted");
    assert_eq!(kit.packages.len(), 2);
    assert_eq!(copy.collections().expect("listed"), ["text-kit"]);
    let again = mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    assert_eq!((again.copied.len(), again.unchanged.len()), (0, 2));
    assert_eq!(again.unchanged_collections, ["text-kit"]);
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

#[test]
fn a_tampered_collection_is_not_copied_and_the_mirror_keeps_its_own() {
    let (src, _index, _key) = source_index();
    let dest = tempfile::tempdir().expect("a scratch folder");
    mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    let kit = src.path().join("collections/te/xt/text-kit");
    let text = std::fs::read_to_string(&kit).expect("the file");
    assert!(text.contains("^1"), "{text}");
    // Someone widens a member's requirement without the owner's key.
    std::fs::write(&kit, text.replace("^1", "*")).expect("tampered");
    let report = mirror(&Source::Folder(src.path().to_path_buf()), dest.path()).expect("mirrored");
    let refused: Vec<&str> = report
        .refused_collections
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(refused, ["text-kit"], "{report:#?}");
    let fresh = tempfile::tempdir().expect("a scratch folder");
    let first = mirror(&Source::Folder(src.path().to_path_buf()), fresh.path()).expect("mirrored");
    assert!(first.copied_collections.is_empty(), "{first:#?}");
    assert!(!fresh.path().join("collections/te/xt/text-kit").exists());
    let kept = Index::open(dest.path()).expect("an index");
    assert_eq!(
        kept.read_collection("text-kit")
            .expect("kept")
            .latest_collection()
            .expect("trusted")
            .packages[0]
            .req,
        "^1"
    );
}

/// A server on loopback answering each request's path with `answer(path)`
/// (the whole HTTP/1.0 answer, bytes), one connection at a time.
fn serve_with(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> u16 {
    serve_over(Some, answer)
}

/// The same as [`serve_with`], each connection first wrapped by `wrap`
/// (TLS, say; `None` drops the connection).
fn serve_over<S: std::io::Read + Write>(
    wrap: impl Fn(std::net::TcpStream) -> Option<S> + Send + 'static,
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Some(mut stream) = stream.ok().and_then(&wrap) else {
                continue;
            };
            let mut reader = BufReader::new(&mut stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the empty line.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim() != "" {
                header.clear();
            }
            drop(reader);
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let _ = stream.write_all(&answer(&path));
            let _ = stream.flush();
        }
    });
    port
}

/// A static file server on loopback for `root`, answering HTTP/1.0.
fn serve(root: PathBuf) -> u16 {
    serve_with(files(root))
}

/// Answers with the files under `root`.
fn files(root: PathBuf) -> impl Fn(&str) -> Vec<u8> + Send + 'static {
    move |path| {
        let path = path.trim_start_matches('/');
        let inside = Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        match std::fs::read(root.join(path)) {
            Ok(body) if inside => [
                format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes(),
                body,
            ]
            .concat(),
            _ => not_found(),
        }
    }
}

fn not_found() -> Vec<u8> {
    b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
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
    assert_eq!(report.copied_collections, ["text-kit"], "{report:#?}");
    // The same from async code (a caller's runtime): no nested-runtime panic.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let again = tempfile::tempdir().expect("a scratch folder");
    let report = runtime
        .block_on(async { mirror(&source, again.path()) })
        .expect("mirrored from async code");
    assert_eq!(report.copied, ["slugs", "web"], "{report:#?}");
    assert!(matches!(
        Source::parse("https://example.invalid/index").expect("https is a source"),
        Source::Http(url) if url.as_str() == "https://example.invalid/index/"
    ));
}

#[test]
fn a_404_for_the_config_is_not_found_and_for_a_listed_package_is_a_refusal() {
    let (src, _index, _key) = source_index();
    let port = serve(src.path().to_path_buf());
    let nothing = Source::parse(&format!("http://127.0.0.1:{port}/missing/")).expect("a URL");
    let empty = tempfile::tempdir().expect("dir");
    let err = mirror(&nothing, empty.path()).expect_err("no index there");
    assert_eq!(err.kind(), MarketErrorKind::NotFound, "{err}");
    assert!(!empty.path().join("config.json").exists());
    // The list names a package whose file the server does not have.
    std::fs::remove_file(src.path().join("3/w/web")).expect("removed");
    let dest = tempfile::tempdir().expect("dir");
    let source = Source::parse(&format!("http://127.0.0.1:{port}")).expect("a URL");
    let report = mirror(&source, dest.path()).expect("mirrored");
    assert_eq!(report.copied, ["slugs"]);
    assert_eq!(report.refused.len(), 1, "{report:#?}");
    assert_eq!(report.refused[0].0, "web");
    assert!(report.refused[0].1.contains("missing"), "{report:#?}");
}

#[test]
fn an_oversized_body_is_refused_announced_or_not() {
    let big = "x".repeat(4096);
    let port = serve_with(move |path| match path {
        // Announced: the length alone refuses it.
        "/announced/config.json" => format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        )
        .into_bytes(),
        // Not announced (the body runs to the close): counted as it arrives.
        "/streamed/config.json" => format!("HTTP/1.0 200 OK\r\n\r\n{big}").into_bytes(),
        _ => not_found(),
    });
    let limits = Limits {
        max_file: 1024,
        ..Limits::default()
    };
    for prefix in ["announced", "streamed"] {
        let source = Source::parse(&format!("http://127.0.0.1:{port}/{prefix}/")).expect("a URL");
        let dest = tempfile::tempdir().expect("dir");
        let err = mirror_with(&source, dest.path(), &options(limits)).expect_err("too large");
        assert_eq!(err.kind(), MarketErrorKind::Invalid, "{prefix}: {err}");
        assert!(
            err.message().contains("larger than 1024 bytes"),
            "{prefix}: {err}"
        );
        assert!(!dest.path().join("config.json").exists(), "{prefix}");
    }
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let (src, _index, _key) = source_index();
    let origin = serve(src.path().to_path_buf());
    // `localhost` is the same machine, but another host name: not followed.
    let port = serve_with(move |path| {
        format!("HTTP/1.0 302 Found\r\nLocation: http://localhost:{origin}{path}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes()
    });
    let source = Source::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL");
    let dest = tempfile::tempdir().expect("dir");
    let err = mirror(&source, dest.path()).expect_err("not followed");
    assert_eq!(err.kind(), MarketErrorKind::Io, "{err}");
    assert!(err.message().contains("not followed"), "{err}");
    // The same host and port: followed.
    let port = serve_with(move |path| match path.strip_prefix("/moved") {
        Some(rest) => {
            let file = src.path().join(rest.trim_start_matches('/'));
            match std::fs::read(file) {
                Ok(body) => [
                    format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                        .into_bytes(),
                    body,
                ]
                .concat(),
                Err(_) => not_found(),
            }
        }
        None => {
            format!("HTTP/1.0 301 Moved\r\nLocation: /moved{path}\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
        }
    });
    let source = Source::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL");
    let report = mirror(&source, dest.path()).expect("mirrored through the redirects");
    assert_eq!(report.copied, ["slugs", "web"]);
}

/// A TLS server on loopback for the index in `root`, whose certificate for
/// 127.0.0.1 a CA of its own signed; also the CA's certificate, PEM.
fn serve_tls(root: PathBuf) -> (u16, String) {
    let ca_key = rcgen::KeyPair::generate().expect("a key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("a CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("a key");
    let certificate = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("a server certificate");
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a server configuration");
    let config = std::sync::Arc::new(config);
    let port = serve_over(
        move |stream| {
            let connection = rustls::ServerConnection::new(config.clone()).ok()?;
            Some(rustls::StreamOwned::new(connection, stream))
        },
        files(root),
    );
    (port, ca.pem())
}

#[test]
fn an_https_source_is_refused_under_an_unknown_ca_and_mirrored_when_it_is_trusted() {
    let (src, _index, _key) = source_index();
    let (port, ca_pem) = serve_tls(src.path().to_path_buf());
    let source = Source::parse(&format!("https://127.0.0.1:{port}/")).expect("a URL");

    // Spoken over TLS, and refused: no authority the system trusts signed it.
    let dest = tempfile::tempdir().expect("dir");
    let err = mirror(&source, dest.path()).expect_err("an untrusted certificate");
    assert_eq!(err.kind(), MarketErrorKind::Io, "{err}");
    assert!(err.message().contains("certificate"), "{err}");
    assert!(!dest.path().join("config.json").exists());

    // Trusting its CA, everything verifies and is copied.
    let trusted = Options {
        extra_roots_pem: ca_pem.into_bytes(),
        ..Options::default()
    };
    let report = mirror_with(&source, dest.path(), &trusted).expect("mirrored over https");
    assert_eq!(report.copied, ["slugs", "web"], "{report:#?}");
    assert_eq!(report.copied_collections, ["text-kit"], "{report:#?}");
    assert_eq!(
        std::fs::read(dest.path().join("sl/ug/slugs")).expect("copied"),
        std::fs::read(src.path().join("sl/ug/slugs")).expect("the origin")
    );
}

#[test]
fn extra_roots_that_hold_no_certificate_are_refused_before_any_fetch() {
    let source = Source::parse("https://127.0.0.1:9/").expect("a URL");
    let dest = tempfile::tempdir().expect("dir");
    for pem in [
        &b"not a certificate"[..],
        b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
    ] {
        let options = Options {
            extra_roots_pem: pem.to_vec(),
            ..Options::default()
        };
        let err = mirror_with(&source, dest.path(), &options).expect_err("no certificate");
        assert_eq!(err.kind(), MarketErrorKind::Invalid, "{err}");
        assert!(err.message().contains("extra trusted authorities"), "{err}");
    }
    assert_eq!(std::fs::read_dir(dest.path()).expect("dir").count(), 0);
}

#[test]
fn a_server_that_never_answers_is_given_up_on_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            // Accepted, read from never, answered never.
            held.push(stream);
        }
    });
    let limits = Limits {
        timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    };
    let source = Source::parse(&format!("http://127.0.0.1:{port}/")).expect("a URL");
    let dest = tempfile::tempdir().expect("dir");
    let started = std::time::Instant::now();
    let err = mirror_with(&source, dest.path(), &options(limits)).expect_err("timed out");
    assert_eq!(err.kind(), MarketErrorKind::Io, "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
