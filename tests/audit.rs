//! The audit trail: records chain and verify; every kind of tampering is named
//! with the right record; torn tails are cut and recorded; a killed writer
//! loses nothing it reported written; two processes share one trail.
//!
//! The crash and two-writer tests re-run this test binary as the writer
//! (`child_appender`, which does nothing unless `AUDIT_CHILD_TRAIL` is set).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rustchain::audit::{
    AuditErrorKind, AuditEvent, AuditOptions, AuditTrail, Decision, FindingKind, Fsync, Outcome,
    ReportFilter, SigningKey, TornReason, VerifyReport, VerifyStatus, digest, generate_signing_key,
    load_signing_key, load_verifying_key, redact, report, save_signing_key, save_verifying_key,
    verify,
};
use rustchain::tool;
use serde_json::{Value, json};

// ---------------------------------------------------------------- helpers

/// A fresh directory under cargo's per-target temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("audit-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }

    fn trail(&self) -> PathBuf {
        self.0.join("audit.jsonl")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `digest("{}")`, for the decisions these tests write.
const ARGS_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

fn decision<'a>(tool: &'a str, call_id: &'a str, decision: Decision) -> AuditEvent<'a> {
    AuditEvent::Decision {
        tool,
        call_id,
        caller: None,
        decision,
        rule: Some("tools.allow"),
        reason: None,
        approver: None,
        args_digest: ARGS_DIGEST,
        args: None,
    }
}

fn result<'a>(
    tool: &'a str,
    call_id: &'a str,
    error_type: Option<&'a str>,
    duration: Duration,
) -> AuditEvent<'a> {
    AuditEvent::Result {
        tool,
        call_id,
        caller: None,
        outcome: if error_type.is_some() {
            Outcome::Error
        } else {
            Outcome::Ok
        },
        error_type,
        duration,
        output_bytes: 2,
        output_digest: Some("sha256:0123"),
        args_digest: None,
    }
}

/// Appends `n` records: decision and result of calls `call_1`, `call_2`, ...
fn fill(trail: &AuditTrail, n: u64) {
    for i in 0..n {
        let call_id = format!("call_{}", i / 2 + 1);
        let event = if i % 2 == 0 {
            decision("text_stats", &call_id, Decision::Allow)
        } else {
            result(
                "text_stats",
                &call_id,
                None,
                Duration::from_micros(1500 + i),
            )
        };
        trail.append(&event).expect("append");
    }
}

fn new_trail(dir: &TempDir, records: u64) -> PathBuf {
    let path = dir.trail();
    let options = AuditOptions::default().with_fsync(Fsync::Never);
    let (trail, _) = AuditTrail::open(&path, options).expect("open");
    fill(&trail, records);
    path
}

fn signing_key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32])
}

fn checkpointed_trail(path: &Path, key: &SigningKey, events: u64) {
    let options = AuditOptions::default()
        .with_fsync(Fsync::Never)
        .with_checkpoints(10, key.clone());
    let (trail, _) = AuditTrail::open(path, options).expect("open");
    fill(&trail, events);
}

fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).expect("read the trail");
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    fs::write(path, lines.concat()).expect("write the trail");
}

fn record(line: &[u8]) -> Value {
    serde_json::from_slice(line).expect("a record")
}

/// The findings as (kind, line, seq), for exact comparisons.
fn findings(report: &VerifyReport) -> Vec<(FindingKind, Option<u64>, Option<u64>)> {
    report
        .findings
        .iter()
        .map(|f| (f.kind, f.line, f.seq))
        .collect()
}

/// Verifies a trail whose only blemish is the recovery of a torn write: a
/// warning (what the torn line held is lost), never "intact".
fn assert_recovered(path: &Path) -> VerifyReport {
    let report = verify(path, None).expect("verify");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::Recovered),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.status(), VerifyStatus::WarningsOnly);
    assert_eq!(report.status().exit_code(), 2);
    report
}

fn assert_intact(path: &Path, key: Option<&rustchain::audit::VerifyingKey>) -> VerifyReport {
    let report = verify(path, key).expect("verify");
    assert_eq!(
        report.status(),
        VerifyStatus::Intact,
        "{:#?}",
        report.findings
    );
    assert_eq!(report.status().exit_code(), 0);
    report
}

// ---------------------------------------------------------------- format and chain

#[test]
fn appended_records_chain_and_verify_intact() {
    let dir = TempDir::new("intact");
    let path = dir.trail();
    let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("open");
    assert_eq!(opened.recovery, None);
    assert_eq!(opened.head, None);
    let args = json!({"path": "notes.txt", "token": "s3cret"});
    let stored = redact(&args, &["token"]);
    let args_digest = digest(args.to_string().as_bytes());
    let first = trail
        .append(&AuditEvent::Decision {
            tool: "fs_read",
            call_id: "call_1",
            caller: None,
            decision: Decision::AskApproved,
            rule: Some("ask: fs_read"),
            reason: Some("reads outside the project"),
            approver: Some("alice"),
            args_digest: &args_digest,
            args: Some(&stored),
        })
        .expect("append");
    let second = trail
        .append(&result(
            "fs_read",
            "call_1",
            Some("timeout"),
            Duration::from_millis(30),
        ))
        .expect("append");
    assert_eq!((first.seq(), second.seq()), (1, 2));

    let lines = read_lines(&path);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.ends_with(b"\n")));
    let (one, two) = (record(&lines[0]), record(&lines[1]));
    assert_eq!(one["seq"], 1);
    assert_eq!(one["prev"], format!("sha256:{}", "0".repeat(64)));
    assert_eq!(one["kind"], "decision");
    assert_eq!(one["gen_ai.tool.name"], "fs_read");
    assert_eq!(one["gen_ai.tool.call.id"], "call_1");
    assert_eq!(one["decision"], "ask_approved");
    assert_eq!(one["decision.approver"], "alice");
    assert_eq!(one["args.digest"], args_digest);
    assert_eq!(
        one["args"],
        json!({"path": "notes.txt", "token": "[redacted]"})
    );
    let ts = one["ts"].as_str().expect("ts");
    assert_eq!(ts.len(), "2026-05-02T10:11:12.345Z".len(), "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    // prev is the hash of the exact bytes of the previous line, newline excluded.
    let first_line = &lines[0][..lines[0].len() - 1];
    assert_eq!(two["prev"], digest(first_line));
    assert_eq!(first.hash_text(), digest(first_line));
    assert_eq!(two["kind"], "result");
    assert_eq!(two["outcome"], "error");
    assert_eq!(two["error.type"], "timeout");
    assert_eq!(two["duration_us"], 30_000);
    assert_eq!(two["output.bytes"], 2);

    let report = assert_intact(&path, None);
    assert_eq!((report.lines, report.last_seq), (2, Some(2)));
}

#[test]
fn reopening_continues_the_chain() {
    let dir = TempDir::new("reopen");
    let path = new_trail(&dir, 3);
    let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("reopen");
    assert_eq!(opened.head.map(|h| h.seq()), Some(3));
    assert_eq!(opened.recovery, None);
    fill(&trail, 2);
    assert_eq!(assert_intact(&path, None).last_seq, Some(5));
}

#[test]
fn every_fsync_policy_writes_the_same_chain() {
    for fsync in [Fsync::EveryRecord, Fsync::EveryN(3), Fsync::Never] {
        let dir = TempDir::new("fsync");
        let path = dir.trail();
        let (trail, _) =
            AuditTrail::open(&path, AuditOptions::default().with_fsync(fsync)).expect("open");
        fill(&trail, 7);
        trail.sync().expect("sync");
        drop(trail);
        assert_eq!(assert_intact(&path, None).last_seq, Some(7), "{fsync:?}");
    }
    let dir = TempDir::new("fsync0");
    let err = AuditTrail::open(
        &dir.trail(),
        AuditOptions::default().with_fsync(Fsync::EveryN(0)),
    )
    .expect_err("zero interval");
    assert_eq!(err.kind(), AuditErrorKind::InvalidOptions);
}

#[test]
fn threads_sharing_one_handle_keep_one_chain() {
    let dir = TempDir::new("threads");
    let path = dir.trail();
    let options = AuditOptions::default().with_fsync(Fsync::Never);
    let trail = Arc::new(AuditTrail::open(&path, options).expect("open").0);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let trail = Arc::clone(&trail);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let call_id = format!("t{t}-{i}");
                    trail
                        .append(&decision("text_stats", &call_id, Decision::Allow))
                        .expect("append");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread");
    }
    assert_eq!(assert_intact(&path, None).last_seq, Some(200));
}

// ---------------------------------------------------------------- tampering

#[test]
fn editing_one_byte_names_the_modified_record() {
    let dir = TempDir::new("edit");
    let path = new_trail(&dir, 10);
    let mut lines = read_lines(&path);
    let at = lines[4]
        .windows(10)
        .position(|w| w == b"text_stats")
        .expect("tool name");
    lines[4][at] = b'T';
    write_lines(&path, &lines);

    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordModified, Some(5), Some(5))]
    );
    assert!(
        report.findings[0].message.contains("record 5 was changed"),
        "{}",
        report.findings[0]
    );
    assert_eq!(report.status(), VerifyStatus::Tampered);
    assert_eq!(report.status().exit_code(), 1);
}

#[test]
fn editing_a_sequence_number_or_prev_hash_names_that_record() {
    let dir = TempDir::new("edit-seq");
    let path = new_trail(&dir, 10);
    let original = read_lines(&path);

    let mut lines = original.clone();
    let text = String::from_utf8(lines[4].clone()).expect("utf-8");
    lines[4] = text.replacen("\"seq\":5", "\"seq\":9", 1).into_bytes();
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordModified, Some(5), Some(5))]
    );

    let mut lines = original.clone();
    let at = lines[4]
        .windows(7)
        .position(|w| w == b"sha256:")
        .expect("prev")
        + 7;
    lines[4][at] = if lines[4][at] == b'0' { b'1' } else { b'0' };
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordModified, Some(5), Some(5))]
    );

    let mut lines = original;
    lines[6] = b"this is not a record\n".to_vec();
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordModified, Some(7), Some(7))]
    );
}

#[test]
fn deleting_a_record_names_it() {
    let dir = TempDir::new("delete");
    let path = new_trail(&dir, 10);
    let original = read_lines(&path);

    let mut lines = original.clone();
    lines.remove(4);
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordDeleted, Some(5), Some(5))]
    );
    assert!(
        report.findings[0].message.contains("record 5 was deleted"),
        "{}",
        report.findings[0]
    );
    assert_eq!(report.status().exit_code(), 1);

    let mut lines = original.clone();
    lines.drain(2..5);
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordDeleted, Some(3), Some(3))]
    );
    assert!(
        report.findings[0].message.contains("records 3 to 5"),
        "{}",
        report.findings[0]
    );

    let mut lines = original;
    lines.remove(0);
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordDeleted, Some(1), Some(1))]
    );
}

#[test]
fn swapping_two_records_names_both() {
    let dir = TempDir::new("swap");
    let path = new_trail(&dir, 10);
    let mut lines = read_lines(&path);
    lines.swap(3, 4);
    write_lines(&path, &lines);

    let report = verify(&path, None).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::RecordsReordered, Some(4), Some(4))]
    );
    let message = &report.findings[0].message;
    assert!(
        message.contains("records 4 and 5 are out of order"),
        "{message}"
    );
    assert_eq!(report.status(), VerifyStatus::Tampered);
}

#[test]
fn a_duplicated_record_is_an_insertion() {
    let dir = TempDir::new("dup");
    let path = new_trail(&dir, 6);
    let mut lines = read_lines(&path);
    let copy = lines[2].clone();
    lines.insert(3, copy);
    write_lines(&path, &lines);
    let report = verify(&path, None).expect("verify");
    assert!(
        findings(&report).contains(&(FindingKind::RecordInserted, Some(4), Some(3))),
        "{:#?}",
        report.findings
    );
    assert_eq!(report.status(), VerifyStatus::Tampered);
}

// ---------------------------------------------------------------- checkpoints

#[test]
fn checkpoints_are_signed_and_kept_in_a_sidecar() {
    let dir = TempDir::new("checkpoint");
    let path = dir.trail();
    let key = signing_key(1);
    checkpointed_trail(&path, &key, 25);
    let lines = read_lines(&path);
    // Records 1-10, checkpoint 11, records 12-20, checkpoint 21, records
    // 22-27, and checkpoint 28 when the trail was closed.
    assert_eq!(lines.len(), 28);
    let checkpoint = record(&lines[10]);
    assert_eq!(checkpoint["kind"], "checkpoint");
    assert_eq!(checkpoint["checkpoint.seq"], 10);
    assert_eq!(checkpoint["checkpoint.head"], checkpoint["prev"]);
    let sidecar: Value =
        serde_json::from_slice(&fs::read(dir.0.join("audit.jsonl.checkpoint")).expect("sidecar"))
            .expect("sidecar json");
    assert_eq!(record(&lines[27])["checkpoint.seq"], 27);
    assert_eq!(sidecar["seq"], 27);
    assert_eq!(sidecar["trail"], "audit.jsonl");

    let report = assert_intact(&path, Some(&key.verifying_key()));
    assert_eq!((report.checkpoints, report.signed_through), (3, Some(27)));
}

#[test]
fn cutting_the_tail_below_a_checkpoint_is_found() {
    let dir = TempDir::new("cut");
    let path = dir.trail();
    let key = signing_key(1);
    checkpointed_trail(&path, &key, 25);
    let mut lines = read_lines(&path);
    lines.truncate(15);
    write_lines(&path, &lines);

    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [
            (FindingKind::UnsignedTail, Some(15), Some(12)),
            (FindingKind::TruncatedBelowCheckpoint, Some(16), Some(16)),
        ]
    );
    assert!(
        report.findings[1].message.contains("ends at record 15"),
        "{}",
        report.findings[1]
    );
    assert_eq!(report.status().exit_code(), 1);
    // Found without the key too: the sidecar's own signature still holds.
    let report = verify(&path, None).expect("verify");
    assert_eq!(report.status(), VerifyStatus::Tampered);
}

#[test]
fn rewriting_the_whole_chain_with_a_new_key_is_found() {
    let dir = TempDir::new("rewrite");
    let path = dir.trail();
    let trusted = signing_key(1);
    checkpointed_trail(&path, &trusted, 25);
    let original_sidecar = fs::read(dir.0.join("audit.jsonl.checkpoint")).expect("sidecar");

    // The forger writes a whole new, internally consistent trail with their own key.
    let forged = TempDir::new("forged");
    checkpointed_trail(&forged.trail(), &signing_key(2), 25);
    fs::copy(forged.trail(), &path).expect("replace the trail");
    fs::copy(
        forged.0.join("audit.jsonl.checkpoint"),
        dir.0.join("audit.jsonl.checkpoint"),
    )
    .expect("replace the sidecar");

    let report = verify(&path, Some(&trusted.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [
            (FindingKind::BadSignature, Some(11), Some(11)),
            (FindingKind::BadSignature, Some(21), Some(21)),
            (FindingKind::BadSignature, Some(28), Some(28)),
            (FindingKind::BadSignature, None, Some(28)),
        ]
    );
    assert!(
        report.findings[0]
            .message
            .contains("not by the trusted key"),
        "{}",
        report.findings[0]
    );
    assert_eq!(report.status().exit_code(), 1);
    // Without the trusted key a consistent rewrite cannot be told apart.
    assert_intact(&path, None);

    // Had the forger left the real sidecar, it no longer matches the chain.
    fs::write(dir.0.join("audit.jsonl.checkpoint"), original_sidecar).expect("restore");
    let report = verify(&path, Some(&trusted.verifying_key())).expect("verify");
    assert!(
        findings(&report).contains(&(FindingKind::CheckpointMismatch, Some(27), Some(27))),
        "{:#?}",
        report.findings
    );
}

#[test]
fn a_missing_or_stale_sidecar_is_tampering_given_the_key_and_a_warning_without() {
    let dir = TempDir::new("sidecar");
    let path = dir.trail();
    let key = signing_key(1);
    // Records 1-10, checkpoint 11, records 12-13, checkpoint 14 on close.
    checkpointed_trail(&path, &key, 12);
    let sidecar = dir.0.join("audit.jsonl.checkpoint");
    let first_sidecar = fs::read(&sidecar).expect("sidecar");
    let (trail, _) = AuditTrail::open(
        &path,
        AuditOptions::default().with_checkpoints(10, key.clone()),
    )
    .expect("reopen");
    // Records 15-20, checkpoint 21, records 22-25, checkpoint 26 on close.
    fill(&trail, 10);
    drop(trail);
    assert_intact(&path, Some(&key.verifying_key()));

    fs::write(&sidecar, first_sidecar).expect("roll back");
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::StaleCheckpoint, None, Some(26))]
    );
    assert_eq!(report.status().exit_code(), 1);
    let report = verify(&path, None).expect("verify");
    assert_eq!(report.status().exit_code(), 2, "{:#?}", report.findings);

    fs::remove_file(&sidecar).expect("delete");
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::CheckpointMissing, None, Some(26))]
    );
    assert_eq!(report.status().exit_code(), 1);
    let report = verify(&path, None).expect("verify");
    assert_eq!(report.status(), VerifyStatus::WarningsOnly);
}

/// Rewrites `lines` into a consistent chain: sequence numbers from 1 and
/// every `prev` the digest of the line before, as a forger would.
fn rechain(lines: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut prev = format!("sha256:{}", "0".repeat(64));
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut value = record(line.strip_suffix(b"\n").unwrap_or(line));
        value["seq"] = json!(i + 1);
        value["prev"] = json!(prev);
        let bytes = serde_json::to_vec(&value).expect("serialize");
        prev = digest(&bytes);
        out.push([bytes, b"\n".to_vec()].concat());
    }
    out
}

#[test]
fn a_session_shorter_than_the_interval_is_signed_when_it_closes() {
    let dir = TempDir::new("short");
    let path = dir.trail();
    let key = signing_key(1);
    let options = AuditOptions::default().with_checkpoints(100, key.clone());
    let (trail, _) = AuditTrail::open(&path, options).expect("open");
    fill(&trail, 3);
    trail.close().expect("close");
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 4);
    assert_eq!(record(&lines[3])["kind"], "checkpoint");
    let report = assert_intact(&path, Some(&key.verifying_key()));
    assert_eq!((report.checkpoints, report.signed_through), (1, Some(3)));

    // A handle that writes nothing signs nothing more.
    let options = AuditOptions::default().with_checkpoints(100, key.clone());
    let (trail, _) = AuditTrail::open(&path, options).expect("reopen");
    drop(trail);
    assert_eq!(read_lines(&path).len(), 4);
}

#[test]
fn given_the_key_a_trail_no_checkpoint_covers_is_never_intact() {
    let key = signing_key(1);
    let trusted = key.verifying_key();

    // Written without a key at all.
    let dir = TempDir::new("unsigned");
    let path = new_trail(&dir, 6);
    let report = verify(&path, Some(&trusted)).expect("verify");
    assert_eq!(findings(&report), [(FindingKind::Unsigned, None, None)]);
    assert_eq!(report.status().exit_code(), 1);
    // Without the key, checkpoints are optional: nothing to say.
    assert_intact(&path, None);

    // Every checkpoint dropped, the chain recomputed, the sidecar deleted.
    let dir = TempDir::new("dropped");
    let path = dir.trail();
    checkpointed_trail(&path, &key, 25);
    let events: Vec<Vec<u8>> = read_lines(&path)
        .into_iter()
        .filter(|line| record(line)["kind"] != "checkpoint")
        .collect();
    write_lines(&path, &rechain(&events));
    fs::remove_file(dir.0.join("audit.jsonl.checkpoint")).expect("delete the sidecar");
    let report = verify(&path, Some(&trusted)).expect("verify");
    assert_eq!(findings(&report), [(FindingKind::Unsigned, None, None)]);
    assert_eq!(report.status().exit_code(), 1);

    // The tail cut below the first checkpoint, the sidecar deleted.
    let dir = TempDir::new("cut-first");
    let path = dir.trail();
    checkpointed_trail(&path, &key, 25);
    let mut lines = read_lines(&path);
    lines.truncate(7);
    write_lines(&path, &lines);
    fs::remove_file(dir.0.join("audit.jsonl.checkpoint")).expect("delete the sidecar");
    let report = verify(&path, Some(&trusted)).expect("verify");
    assert_eq!(findings(&report), [(FindingKind::Unsigned, None, None)]);
    assert_eq!(report.status().exit_code(), 1);
}

#[test]
fn an_edit_of_the_last_record_is_found_given_the_key() {
    let key = signing_key(1);
    let dir = TempDir::new("last-edit");
    let path = dir.trail();
    checkpointed_trail(&path, &key, 5);
    // Records 1-5, checkpoint 6 on close: edit record 5, the last call's.
    let mut lines = read_lines(&path);
    let mut last = record(&lines[4]);
    last["duration_us"] = json!(1);
    lines[4] = [
        serde_json::to_vec(&last).expect("serialize"),
        b"\n".to_vec(),
    ]
    .concat();
    write_lines(&path, &lines);
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(report.status().exit_code(), 1, "{:#?}", report.findings);
    assert!(
        findings(&report).contains(&(FindingKind::RecordModified, Some(5), Some(5))),
        "{:#?}",
        report.findings
    );

    // The forger also drops the checkpoint that now fails: the sidecar
    // still covers record 5, which has another hash.
    lines.truncate(5);
    write_lines(&path, &lines);
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(report.status().exit_code(), 1, "{:#?}", report.findings);
    assert!(
        findings(&report).contains(&(FindingKind::TruncatedBelowCheckpoint, Some(6), Some(6))),
        "{:#?}",
        report.findings
    );
}

#[test]
fn records_a_crash_left_unsigned_are_a_warning_with_their_count() {
    let key = signing_key(1);
    let dir = TempDir::new("crash-tail");
    let path = dir.trail();
    let options = AuditOptions::default().with_checkpoints(10, key.clone());
    let (trail, _) = AuditTrail::open(&path, options).expect("open");
    fill(&trail, 13);
    // A crash: the handle is never closed or dropped.
    std::mem::forget(trail);
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::UnsignedTail, Some(14), Some(12))]
    );
    assert!(
        report.findings[0].message.starts_with("3 records after"),
        "{}",
        report.findings[0]
    );
    assert_eq!(report.status().exit_code(), 2);
}

#[test]
fn a_torn_record_followed_by_one_more_call_is_a_warning_given_the_key() {
    let key = signing_key(1);
    let dir = TempDir::new("torn-keyed");
    let path = dir.trail();
    checkpointed_trail(&path, &key, 4);
    let mut bytes = fs::read(&path).expect("read");
    bytes.extend_from_slice(br#"{"seq":6,"ts""#);
    fs::write(&path, bytes).expect("tear");
    let options = AuditOptions::default().with_checkpoints(10, key.clone());
    let (trail, _) = AuditTrail::open(&path, options).expect("reopen");
    fill(&trail, 1);
    drop(trail);
    let report = verify(&path, Some(&key.verifying_key())).expect("verify");
    assert_eq!(
        findings(&report),
        [(FindingKind::Recovered, Some(6), Some(6))]
    );
    assert_eq!(report.status().exit_code(), 2);
}

#[test]
fn keys_round_trip_through_files() {
    let dir = TempDir::new("keys");
    let key = generate_signing_key().expect("randomness");
    let secret = dir.0.join("audit.key");
    let public = dir.0.join("audit.pub");
    save_signing_key(&secret, &key).expect("save");
    save_verifying_key(&public, &key.verifying_key()).expect("save");
    assert_eq!(
        load_signing_key(&secret).expect("load").to_bytes(),
        key.to_bytes()
    );
    assert_eq!(
        load_verifying_key(&public).expect("load"),
        key.verifying_key()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&secret)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the signing key is readable by its owner only"
        );
    }
    let err = save_signing_key(&secret, &key).expect_err("no overwrite");
    assert_eq!(err.kind(), AuditErrorKind::Io);

    let bad = dir.0.join("bad.key");
    fs::write(&bad, "# a comment\nnot hex\n").expect("write");
    let err = load_signing_key(&bad).expect_err("bad key");
    assert_eq!((err.kind(), err.line()), (AuditErrorKind::Key, Some(2)));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: ", bad.display())),
        "{err}"
    );
    let err = load_verifying_key(&dir.0.join("missing.pub")).expect_err("missing");
    assert_eq!(err.kind(), AuditErrorKind::NotFound);
}

// ---------------------------------------------------------------- torn tails and errors

#[test]
fn a_torn_last_line_is_a_warning_then_cut_and_recorded() {
    let dir = TempDir::new("torn");
    let path = new_trail(&dir, 5);
    let torn = br#"{"seq":6,"ts":"2026-05-02T10:11:12.345Z","prev":"sha256:12"#;
    let mut lines = read_lines(&path);
    lines.push(torn.to_vec());
    write_lines(&path, &lines);

    let report = verify(&path, None).expect("verify");
    assert_eq!(findings(&report), [(FindingKind::TornTail, Some(6), None)]);
    assert_eq!(report.status(), VerifyStatus::WarningsOnly);
    assert_eq!(report.status().exit_code(), 2);

    let (_trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("open");
    let recovery = opened.recovery.expect("a recovery");
    assert_eq!(recovery.reason, TornReason::NoTrailingNewline);
    assert_eq!(recovery.cut_bytes, torn.len() as u64);
    assert_eq!(recovery.cut_digest, digest(torn));
    assert_eq!(recovery.record.seq(), 6);
    let lines = read_lines(&path);
    let written = record(&lines[5]);
    assert_eq!(written["kind"], "recovery");
    assert_eq!(written["recovery.reason"], "no_trailing_newline");
    assert_eq!(written["recovery.cut_bytes"], torn.len());
    assert_eq!(written["recovery.cut_digest"], digest(torn));
    let report = assert_recovered(&path);
    assert_eq!(report.recoveries, 1);
    assert_eq!(
        findings(&report),
        [(FindingKind::Recovered, Some(6), Some(6))]
    );
}

#[test]
fn an_invalid_last_line_is_cut_on_open() {
    let dir = TempDir::new("invalid-last");
    let path = new_trail(&dir, 4);
    let mut lines = read_lines(&path);
    lines.push(b"\0\0\0\0\n".to_vec());
    write_lines(&path, &lines);
    assert_eq!(
        findings(&verify(&path, None).expect("verify")),
        [(FindingKind::TornTail, Some(5), None)]
    );
    let (_trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("open");
    let recovery = opened.recovery.expect("a recovery");
    assert_eq!(
        (recovery.reason, recovery.cut_bytes),
        (TornReason::InvalidLastLine, 5)
    );
    assert_eq!(assert_recovered(&path).last_seq, Some(5));
}

#[test]
fn a_torn_write_by_another_writer_is_recovered_on_the_next_append() {
    let dir = TempDir::new("torn-append");
    let path = dir.trail();
    let (trail, _) = AuditTrail::open(&path, AuditOptions::default()).expect("open");
    fill(&trail, 2);
    // The other writer takes the lock as every writer does (waiting for the
    // handle to give up the lock it keeps, D-68), and dies mid-line.
    let other = fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    other.lock().expect("lock");
    (&other).write_all(br#"{"seq":3,"ts""#).expect("write");
    drop(other);
    let id = trail
        .append(&decision("text_stats", "call_9", Decision::Deny))
        .expect("append");
    assert_eq!(id.seq(), 4, "record 3 is the recovery");
    let lines = read_lines(&path);
    assert_eq!(record(&lines[2])["kind"], "recovery");
    assert_recovered(&path);
}

#[test]
fn a_missing_directory_or_file_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-dir").join("audit.jsonl");
    let err = AuditTrail::open(&path, AuditOptions::default()).expect_err("no directory");
    assert_eq!(err.kind(), AuditErrorKind::NotFound);
    let message = err.to_string();
    assert!(
        message.contains("no-such-dir") && message.contains("does not exist"),
        "{message}"
    );

    let err = verify(&dir.trail(), None).expect_err("no trail");
    assert_eq!(err.kind(), AuditErrorKind::NotFound);
    assert!(
        err.to_string()
            .starts_with(&dir.trail().display().to_string()),
        "{err}"
    );
}

#[test]
fn a_trail_that_cannot_be_chained_onto_refuses_appends() {
    let dir = TempDir::new("corrupt");
    let path = new_trail(&dir, 3);
    let mut lines = read_lines(&path);
    lines.push(b"garbage\n".to_vec());
    lines.push(b"more garbage\n".to_vec());
    write_lines(&path, &lines);
    let err = AuditTrail::open(&path, AuditOptions::default()).expect_err("corrupt");
    assert_eq!((err.kind(), err.line()), (AuditErrorKind::Corrupt, Some(4)));
    assert_eq!(read_lines(&path).len(), 5, "nothing was cut");
}

// ---------------------------------------------------------------- other processes

/// Run as a child process by the tests below; does nothing in a normal run.
/// Appends `AUDIT_CHILD_COUNT` records (0: until killed) to `AUDIT_CHILD_TRAIL`
/// and prints `appended <seq>` after each append returns.
#[test]
fn child_appender() {
    let Some(path) = std::env::var_os("AUDIT_CHILD_TRAIL") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let count: u64 = var("AUDIT_CHILD_COUNT").parse().unwrap_or(0);
    let name = var("AUDIT_CHILD_NAME");
    let payload = "x".repeat(var("AUDIT_CHILD_PAYLOAD").parse().unwrap_or(0));
    let args = json!({ "payload": payload });
    let options = AuditOptions::default().with_fsync(Fsync::EveryN(8));
    let (trail, _) = AuditTrail::open(Path::new(&path), options).expect("open");
    assert_eq!(digest(b"{}"), ARGS_DIGEST);
    if let Some(go) = std::env::var_os("AUDIT_CHILD_GO") {
        // Start together with the other writers.
        while !Path::new(&go).exists() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    for i in 1.. {
        let call_id = format!("{name}-{i}");
        let id = trail
            .append(&AuditEvent::Decision {
                tool: "text_stats",
                call_id: &call_id,
                caller: None,
                decision: Decision::Allow,
                rule: None,
                reason: None,
                approver: None,
                args_digest: ARGS_DIGEST,
                args: Some(&args),
            })
            .expect("append");
        println!("appended {} {call_id}", id.seq());
        if i == count {
            break;
        }
    }
    if var("AUDIT_CHILD_TEAR") == "1" {
        // Die as a crash mid-write would leave it: half a line, no newline.
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        let half = format!(
            r#"{{"seq":{},"ts":"2026-05-02T10:11:12.345Z","prev":"sha256:01"#,
            count + 1
        );
        file.write_all(half.as_bytes()).expect("write");
        println!("torn {}", half.len());
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn spawn_child(path: &Path, name: &str, count: u64, payload: usize) -> std::process::Child {
    child_command(path, name, count, payload)
        .spawn()
        .expect("spawn the child")
}

fn child_command(path: &Path, name: &str, count: u64, payload: usize) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "child_appender",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AUDIT_CHILD_TRAIL", path)
        .env("AUDIT_CHILD_NAME", name)
        .env("AUDIT_CHILD_COUNT", count.to_string())
        .env("AUDIT_CHILD_PAYLOAD", payload.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// `(seq, call_id)` from an `appended` line (libtest may have begun the line
/// with `test child_appender ... `).
fn appended(line: &str) -> Option<(u64, String)> {
    let at = line.find("appended ")?;
    let mut words = line[at + "appended ".len()..].split(' ');
    Some((words.next()?.parse().ok()?, words.next()?.to_owned()))
}

#[test]
fn a_writer_killed_mid_loop_loses_nothing_it_reported() {
    let dir = TempDir::new("crash");
    let path = dir.trail();
    // Large records make a kill in the middle of a write likely.
    let mut child = spawn_child(&path, "crash", 0, 16 * 1024);
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut reported = Vec::new();
    let mut line = String::new();
    while reported.len() < 200 {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("read") > 0,
            "the child stopped early"
        );
        reported.extend(appended(line.trim_end()));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    for line in stdout.lines() {
        reported.extend(line.ok().as_deref().and_then(appended));
    }

    let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("reopen");
    if let Some(recovery) = &opened.recovery {
        assert!(recovery.cut_bytes > 0);
        assert_eq!(recovery.reason, TornReason::NoTrailingNewline);
    }
    let lines = read_lines(&path);
    for (seq, call_id) in &reported {
        let written = record(&lines[usize::try_from(*seq).expect("seq") - 1]);
        assert_eq!(
            written["gen_ai.tool.call.id"],
            call_id.as_str(),
            "record {seq}"
        );
    }
    fill(&trail, 1);
    let report = assert_intact(&path, None);
    assert_eq!(report.recoveries, u64::from(opened.recovery.is_some()));
}

#[test]
fn a_writer_killed_mid_write_is_recovered_on_reopen() {
    let dir = TempDir::new("tear");
    let path = dir.trail();
    let mut child = child_command(&path, "tear", 20, 100)
        .env("AUDIT_CHILD_TEAR", "1")
        .spawn()
        .expect("spawn the child");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut reported = Vec::new();
    let mut torn_bytes = None;
    for line in stdout.lines() {
        let line = line.expect("read");
        reported.extend(appended(&line));
        if let Some(bytes) = line.strip_prefix("torn ") {
            torn_bytes = Some(bytes.parse::<u64>().expect("a byte count"));
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert_eq!(reported.len(), 20);
    let torn_bytes = torn_bytes.expect("the child tore its last write");

    let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("reopen");
    let recovery = opened.recovery.expect("the torn write is cut");
    assert_eq!(
        (recovery.cut_bytes, recovery.record.seq()),
        (torn_bytes, 21)
    );
    let lines = read_lines(&path);
    for (seq, call_id) in &reported {
        let written = record(&lines[usize::try_from(*seq).expect("seq") - 1]);
        assert_eq!(
            written["gen_ai.tool.call.id"],
            call_id.as_str(),
            "record {seq}"
        );
    }
    fill(&trail, 1);
    assert_eq!(assert_recovered(&path).recoveries, 1);
}

#[test]
fn two_processes_appending_at_once_keep_one_chain() {
    let dir = TempDir::new("two-writers");
    let path = dir.trail();
    fs::write(&path, "").expect("create");
    let per_child = 300;
    let go = dir.0.join("go");
    let children = ["a", "b"].map(|name| {
        child_command(&path, name, per_child, 64)
            .env("AUDIT_CHILD_GO", &go)
            .spawn()
            .expect("spawn the child")
    });
    fs::write(&go, "").expect("start the writers");
    let mut reported = Vec::new();
    for mut child in children {
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        reported.extend(
            stdout
                .lines()
                .filter_map(|l| l.ok().as_deref().and_then(appended)),
        );
        assert!(child.wait().expect("wait").success());
    }
    reported.sort();
    let seqs: Vec<u64> = reported.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=2 * per_child).collect::<Vec<_>>());
    let lines = read_lines(&path);
    assert_eq!(lines.len() as u64, 2 * per_child);
    for (seq, call_id) in &reported {
        let written = record(&lines[usize::try_from(*seq).expect("seq") - 1]);
        assert_eq!(written["gen_ai.tool.call.id"], call_id.as_str());
    }
    // Both really wrote while the other did: their records interleave.
    let firsts: Vec<bool> = reported
        .iter()
        .map(|(_, id)| id.starts_with("a-"))
        .collect();
    assert!(firsts.windows(2).any(|w| w[0] != w[1]));
    assert_intact(&path, None);
}

// ---------------------------------------------------------------- redaction and report

#[test]
fn redact_hides_named_fields_at_any_depth() {
    let args = json!({
        "url": "https://example.com",
        "token": "t0p",
        "headers": [{"Authorization": "Bearer x", "accept": "json"}],
        "nested": {"deeper": {"password": {"even": "objects"}, "keep": [1, 2]}},
    });
    let fields = [
        "token".to_string(),
        "authorization".to_string(),
        "password".to_string(),
    ];
    assert_eq!(
        redact(&args, &fields),
        json!({
            "url": "https://example.com",
            "token": "[redacted]",
            "headers": [{"Authorization": "[redacted]", "accept": "json"}],
            "nested": {"deeper": {"password": "[redacted]", "keep": [1, 2]}},
        })
    );
    assert_eq!(redact(&json!([1, "token"]), &fields), json!([1, "token"]));
}

#[test]
fn report_counts_calls_denials_errors_timeouts_and_percentiles() {
    let dir = TempDir::new("report");
    let path = dir.trail();
    // One old record, outside a recent window.
    fs::write(
        &path,
        "{\"seq\":1,\"ts\":\"2020-01-01T00:00:00.000Z\",\"prev\":\"sha256:00\",\"kind\":\"decision\",\
         \"gen_ai.tool.name\":\"old_tool\",\"gen_ai.tool.call.id\":\"c0\",\"decision\":\"allow\",\
         \"args.digest\":\"sha256:00\"}\n",
    )
    .expect("seed");
    let start = SystemTime::now();
    let (trail, _) =
        AuditTrail::open(&path, AuditOptions::default().with_fsync(Fsync::Never)).expect("open");
    for ms in 1..=100u64 {
        let call_id = format!("r{ms}");
        trail
            .append(&decision("fs_read", &call_id, Decision::Allow))
            .expect("append");
        trail
            .append(&result(
                "fs_read",
                &call_id,
                None,
                Duration::from_millis(ms),
            ))
            .expect("append");
    }
    let append = |event: AuditEvent<'_>| trail.append(&event).expect("append");
    append(decision("cmd_run", "c1", Decision::Deny));
    append(decision("cmd_run", "c2", Decision::AskDenied));
    append(decision("cmd_run", "c3", Decision::Allow));
    append(result(
        "cmd_run",
        "c3",
        Some("timeout"),
        Duration::from_secs(5),
    ));
    append(decision("cmd_run", "c4", Decision::Allow));
    append(result(
        "cmd_run",
        "c4",
        Some("failed"),
        Duration::from_millis(10),
    ));
    // Refused while decoding: one result record, no decision.
    append(result(
        "cmd_run",
        "c5",
        Some("invalid_arguments"),
        Duration::from_micros(40),
    ));
    // Refused by a rate limit after an allow decision.
    append(decision("cmd_run", "c6", Decision::Allow));
    append(result("cmd_run", "c6", Some("denied"), Duration::ZERO));

    let all = report(&path, &ReportFilter::default()).expect("report");
    assert_eq!(
        all.tools
            .iter()
            .map(|t| t.tool.as_str())
            .collect::<Vec<_>>(),
        ["cmd_run", "fs_read", "old_tool"]
    );
    let fs_read = all.tool("fs_read").expect("fs_read");
    assert_eq!(
        (
            fs_read.calls,
            fs_read.denials,
            fs_read.errors,
            fs_read.timeouts
        ),
        (100, 0, 0, 0)
    );
    assert_eq!(fs_read.p50, Some(Duration::from_millis(50)));
    assert_eq!(fs_read.p95, Some(Duration::from_millis(95)));
    assert_eq!(fs_read.p99, Some(Duration::from_millis(99)));
    let cmd_run = all.tool("cmd_run").expect("cmd_run");
    assert_eq!(
        (
            cmd_run.calls,
            cmd_run.denials,
            cmd_run.errors,
            cmd_run.timeouts
        ),
        (6, 3, 3, 1)
    );
    assert_eq!(cmd_run.p50, Some(Duration::from_millis(10)));
    assert_eq!(cmd_run.p99, Some(Duration::from_secs(5)));

    let recent = report(
        &path,
        &ReportFilter {
            since: Some(start - Duration::from_secs(60)),
            ..ReportFilter::default()
        },
    )
    .expect("report");
    assert!(recent.tool("old_tool").is_none());
    assert_eq!(recent.tool("fs_read"), all.tool("fs_read"));
    let json = serde_json::to_value(&recent).expect("json");
    assert_eq!(json["tools"][1]["p95_ms"], 95.0);
}

#[test]
fn a_call_refused_before_any_decision_leaves_one_record_with_its_argument_digest() {
    let dir = TempDir::new("executor");
    let (trail, _) = AuditTrail::open(&dir.trail(), AuditOptions::default()).expect("opens");
    let executor = rustchain::Executor::builder(rustchain::Registry::global())
        .audit(Arc::new(trail))
        .build()
        .expect("no policy examples to fail");
    let err = executor
        .call_blocking("no_such_tool", "{}", rustchain::ToolContext::new())
        .expect_err("unknown tool");
    assert_eq!(err.kind(), rustchain::ErrorKind::NotFound);
    let text = fs::read_to_string(dir.trail()).expect("the trail was written");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(records[0]["kind"], "result");
    assert_eq!(records[0]["error.type"], "not_found");
    assert_eq!(records[0]["args.digest"], ARGS_DIGEST);
    assert!(
        verify(&dir.trail(), None)
            .expect("verifies")
            .findings
            .is_empty()
    );
}

/// Found by `fuzz/audit_verify`: a checkpoint record numbered 0, or one that
/// claims to sign record u64::MAX, overflowed verify's arithmetic (a panic in
/// a debug build). Both are tampering, reported as such, with or without a key.
#[test]
fn a_checkpoint_with_an_impossible_sequence_number_is_tampering_not_a_panic() {
    let key = signing_key(5);
    for (field, value) in [("seq", 0), ("checkpoint.seq", u64::MAX)] {
        let dir = TempDir::new("audit-checkpoint-overflow");
        let path = dir.trail();
        checkpointed_trail(&path, &key, 12);
        let mut lines = read_lines(&path);
        let at = lines
            .iter()
            .position(|line| record(line)["kind"] == "checkpoint")
            .expect("a checkpoint after 10 records");
        let mut checkpoint = record(&lines[at]);
        checkpoint[field] = Value::from(value);
        lines[at] = format!("{checkpoint}\n").into_bytes();
        write_lines(&path, &lines);
        for trusted in [None, Some(&key.verifying_key())] {
            let report = verify(&path, trusted).expect("verify reads the trail");
            assert_eq!(
                report.status(),
                VerifyStatus::Tampered,
                "{field} = {value}: {:?}",
                findings(&report)
            );
        }
    }
}

// ---------------------------------------------------------------- a call's two records (D-47)

/// How many lines the trail at `path` holds while this read-only tool runs.
#[tool(read_only)]
fn audit_lines_read_only(
    /// The trail's path.
    path: String,
) -> u64 {
    fs::read_to_string(path).map_or(0, |text| text.lines().count() as u64)
}

/// How many lines the trail at `path` holds while this tool (not read-only) runs.
#[tool]
fn audit_lines_writer(
    /// The trail's path.
    path: String,
) -> u64 {
    fs::read_to_string(path).map_or(0, |text| text.lines().count() as u64)
}

/// Says it runs, then waits to be killed (read-only).
#[tool(read_only)]
fn audit_wait_read_only() -> u64 {
    println!("call running");
    std::thread::sleep(Duration::from_secs(60));
    0
}

/// Says it runs, then waits to be killed (not read-only).
#[tool]
fn audit_wait_writer() -> u64 {
    println!("call running");
    std::thread::sleep(Duration::from_secs(60));
    0
}

fn audited_executor(path: &Path) -> rustchain::Executor {
    let (trail, _) = AuditTrail::open(path, AuditOptions::default()).expect("opens");
    rustchain::Executor::builder(rustchain::Registry::global())
        .audit(Arc::new(trail))
        .build()
        .expect("no policy examples to fail")
}

fn records(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .expect("the trail")
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect()
}

#[test]
fn a_read_only_calls_decision_is_written_with_its_result_and_other_calls_before_the_body() {
    let dir = TempDir::new("read-only");
    let path = dir.trail();
    let executor = audited_executor(&path);
    let args = json!({ "path": path }).to_string();
    let seen = |tool: &str| {
        let output = executor
            .call_blocking(tool, &args, rustchain::ToolContext::new())
            .expect("runs");
        output.as_json().parse::<u64>().expect("a count")
    };
    // A read-only tool runs before its decision is written...
    assert_eq!(seen("audit_lines_read_only"), 0);
    // ...and both records are there, in order, once the call returned.
    assert_eq!(seen("audit_lines_writer"), 3, "a decision before the body");
    let written = records(&path);
    let kinds: Vec<(&str, &str)> = written
        .iter()
        .map(|r| {
            (
                r["gen_ai.tool.name"].as_str().expect("a tool"),
                r["kind"].as_str().expect("a kind"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("audit_lines_read_only", "decision"),
            ("audit_lines_read_only", "result"),
            ("audit_lines_writer", "decision"),
            ("audit_lines_writer", "result"),
        ]
    );
    assert_eq!(written[0]["decision"], "allow");
    assert_eq!(
        written[0]["gen_ai.tool.call.id"],
        written[1]["gen_ai.tool.call.id"]
    );
    assert_intact(&path, None);
}

/// Run as a child process by the test below; does nothing in a normal run.
/// Makes one read-only call through an executor auditing to
/// `AUDIT_EXEC_TRAIL`, says it returned, then calls `AUDIT_EXEC_TOOL`, which
/// waits to be killed.
#[test]
fn child_executor() {
    let Some(path) = std::env::var_os("AUDIT_EXEC_TRAIL") else {
        return;
    };
    let path = PathBuf::from(path);
    let executor = audited_executor(&path);
    let args = json!({ "path": path }).to_string();
    executor
        .call_blocking(
            "audit_lines_read_only",
            &args,
            rustchain::ToolContext::new(),
        )
        .expect("runs");
    println!("call returned");
    let tool = std::env::var("AUDIT_EXEC_TOOL").expect("a tool to wait in");
    let _ = executor.call_blocking(&tool, "{}", rustchain::ToolContext::new());
}

/// Kills a child while `tool` runs, after one call returned; the trail's records.
fn kill_while_running(dir: &TempDir, tool: &str) -> Vec<Value> {
    let path = dir.trail();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_executor",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AUDIT_EXEC_TRAIL", &path)
        .env("AUDIT_EXEC_TOOL", tool)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut said = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("read");
        for word in ["call returned", "call running"] {
            if line.contains(word) {
                said.push(word);
            }
        }
        if said.contains(&"call running") {
            break;
        }
    }
    assert_eq!(said, ["call returned", "call running"]);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert_intact(&path, None);
    records(&path)
}

#[test]
fn a_kill_while_a_tool_runs_keeps_every_returned_call_and_the_decision_of_one_that_is_not_read_only()
 {
    let dir = TempDir::new("kill-read-only");
    let written = kill_while_running(&dir, "audit_wait_read_only");
    // The returned call's two records; nothing of the read-only call that
    // was killed (it changed nothing, and returned nothing).
    let tools: Vec<&str> = written
        .iter()
        .map(|r| r["gen_ai.tool.name"].as_str().expect("a tool"))
        .collect();
    assert_eq!(tools, ["audit_lines_read_only", "audit_lines_read_only"]);

    let dir = TempDir::new("kill-writer");
    let written = kill_while_running(&dir, "audit_wait_writer");
    // A tool that may change things: its decision is on record before it runs.
    assert_eq!(written.len(), 3);
    assert_eq!(written[2]["gen_ai.tool.name"], "audit_wait_writer");
    assert_eq!(written[2]["kind"], "decision");
}
