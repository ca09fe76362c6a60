//! Verifying a trail: recompute every hash, link and signature, and name each
//! finding with its kind and the record (line and sequence number) it concerns.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use super::checkpoint::{self, Sidecar, read_sidecar, sidecar_path};
use super::error::AuditError;
use super::hash::{GENESIS, Hash, format_hash, parse_hash, sha256};
use super::record::{KIND_CHECKPOINT, KIND_RECOVERY, StoredRecord};
use super::trail::open_committed;

/// What a finding says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FindingKind {
    /// A record's bytes were changed (or the line is not a record at all).
    RecordModified,
    /// One or more records are missing from the middle or the start of the chain.
    RecordDeleted,
    /// Records are in the file in a different order than they were written.
    RecordsReordered,
    /// A record appears that the chain has no place for (a copy, or a second
    /// record with a sequence number already taken).
    RecordInserted,
    /// A checkpoint's signature does not verify, or is not the trusted key's.
    BadSignature,
    /// The trail ends before the latest signed checkpoint: its tail was cut.
    TruncatedBelowCheckpoint,
    /// The record a signed checkpoint covers has another hash: the chain was
    /// rewritten.
    CheckpointMismatch,
    /// The file ends in a torn write (warning: the next open cuts it and
    /// records the cut).
    TornTail,
    /// The trail has checkpoints but the sidecar file is gone (warning).
    CheckpointMissing,
    /// The sidecar holds an older checkpoint than the trail's latest (warning).
    StaleCheckpoint,
    /// Given a trusted key, no checkpoint covers the trail at all: nothing
    /// in it can be trusted, since anyone can write a valid chain.
    Unsigned,
    /// Records after the trail's last checkpoint: a writer that did not
    /// close (a crash, or one still running), or records added since
    /// (warning, with their count).
    UnsignedTail,
    /// A recovery record: a writer died mid-write and the next one cut its
    /// torn line, so what that line held is lost (warning).
    Recovered,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Something expected after a crash, or that cannot prove tampering alone.
    Warning,
    /// The trail is not what was written.
    Tampered,
}

impl FindingKind {
    /// The stable snake-case name of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            FindingKind::RecordModified => "record_modified",
            FindingKind::RecordDeleted => "record_deleted",
            FindingKind::RecordsReordered => "records_reordered",
            FindingKind::RecordInserted => "record_inserted",
            FindingKind::BadSignature => "bad_signature",
            FindingKind::TruncatedBelowCheckpoint => "truncated_below_checkpoint",
            FindingKind::CheckpointMismatch => "checkpoint_mismatch",
            FindingKind::TornTail => "torn_tail",
            FindingKind::CheckpointMissing => "checkpoint_missing",
            FindingKind::StaleCheckpoint => "stale_checkpoint",
            FindingKind::Unsigned => "unsigned",
            FindingKind::UnsignedTail => "unsigned_tail",
            FindingKind::Recovered => "recovered",
        }
    }

    /// Whether this kind means tampering or only deserves a warning, when
    /// the trail is verified without a trusted key.
    pub const fn severity(self) -> Severity {
        match self {
            FindingKind::TornTail
            | FindingKind::CheckpointMissing
            | FindingKind::StaleCheckpoint
            | FindingKind::UnsignedTail
            | FindingKind::Recovered => Severity::Warning,
            _ => Severity::Tampered,
        }
    }

    /// The severity when the trail is verified against a trusted key: the
    /// signed checkpoints are then the proof, so a sidecar that is missing
    /// or disagrees with the trail is tampering, not a warning.
    pub const fn severity_with_key(self) -> Severity {
        match self {
            FindingKind::CheckpointMissing | FindingKind::StaleCheckpoint => Severity::Tampered,
            _ => self.severity(),
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing `verify` found, with the record it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What happened.
    pub kind: FindingKind,
    /// The 1-based line of the trail concerned (`None` for the sidecar file).
    pub line: Option<u64>,
    /// The sequence number of the record concerned, when known.
    pub seq: Option<u64>,
    /// What was found, in words, naming the records involved.
    pub message: String,
    /// Whether it means tampering or is a warning: the kind's severity,
    /// raised for some kinds when a trusted key was given.
    pub severity: Severity,
}

impl Finding {
    /// Whether this finding means tampering or is a warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.seq) {
            (Some(line), Some(seq)) => write!(f, "line {line} (record {seq}): ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            (None, Some(seq)) => write!(f, "record {seq}: ")?,
            (None, None) => {}
        }
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// The verdict of [`verify`], with the exit code the CLI uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifyStatus {
    /// Every record, link and signature checks out.
    Intact,
    /// At least one finding shows the trail is not what was written.
    Tampered,
    /// Only warnings (a torn tail, a missing or stale sidecar).
    WarningsOnly,
}

impl VerifyStatus {
    /// `0` intact, `1` tampered, `2` warnings only.
    pub const fn exit_code(self) -> u8 {
        match self {
            VerifyStatus::Intact => 0,
            VerifyStatus::Tampered => 1,
            VerifyStatus::WarningsOnly => 2,
        }
    }

    /// `intact`, `tampered` or `warnings`.
    pub const fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Intact => "intact",
            VerifyStatus::Tampered => "tampered",
            VerifyStatus::WarningsOnly => "warnings",
        }
    }
}

impl fmt::Display for VerifyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The trail verified.
    pub path: PathBuf,
    /// Newline-terminated lines read, records or not (a fragment without a
    /// newline at the end is not counted).
    pub lines: u64,
    /// The highest sequence number in the trail.
    pub last_seq: Option<u64>,
    /// Recovery records: torn ends that were cut and recorded.
    pub recoveries: u64,
    /// Checkpoint records in the trail.
    pub checkpoints: u64,
    /// The record the sidecar's checkpoint covers, when there is a sidecar
    /// whose signature verifies (against the trusted key, if one was given).
    pub signed_through: Option<u64>,
    /// The findings, in line order (sidecar findings last).
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    /// Intact, tampered, or warnings only.
    pub fn status(&self) -> VerifyStatus {
        match self.findings.iter().map(Finding::severity).max() {
            None => VerifyStatus::Intact,
            Some(Severity::Warning) => VerifyStatus::WarningsOnly,
            Some(Severity::Tampered) => VerifyStatus::Tampered,
        }
    }

    /// The findings of one kind.
    pub fn of_kind(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }
}

/// What verifying without a trusted key cannot find, in words a user can
/// act on (`audit verify` prints it when no key is given).
///
/// Without a key, anyone who can write the file can write a valid chain:
/// the hashes show that records were changed, deleted, inserted or
/// reordered only where the rest of the chain was left as it was.
pub const UNDETECTED_WITHOUT_KEY: &str = "without a trusted key (--key), verify cannot find: a chain rewritten from any record on (its hashes recomputed, its checkpoints re-signed with a new key or dropped with the sidecar), a cut of the tail when no sidecar is left, or a change to the last record";

/// Verifies the trail at `path`: every record's hash link, sequence number,
/// order and checkpoint signature, and the sidecar's latest checkpoint.
///
/// With `key` (the trusted public key), checkpoints must be signed by it, so a
/// chain rewritten with another key, or cut below its latest checkpoint, is
/// found. Without it, signatures are checked against the key each checkpoint
/// names, which finds altered checkpoints but not a rewrite by a new key.
///
/// The chain alone cannot show a change to the last record or a cut of the
/// tail; a checkpoint covering that record (and a sidecar kept where the
/// tools cannot write) can.
pub fn verify(path: &Path, key: Option<&VerifyingKey>) -> Result<VerifyReport, AuditError> {
    let scan = read_lines(path)?;
    let mut check = Checker::new(path, key);
    check.torn_tail(&scan);
    check.entries = scan.entries;
    check.fix_sequence_numbers();
    check.order();
    let chain = check.chain();
    check.deletions(&chain);
    check.links(&chain);
    check.checkpoints();
    check.sidecar(&chain);
    check.coverage(&chain);
    check.recoveries();
    Ok(check.finish(scan.lines))
}

/// One complete line.
struct Entry {
    line: u64,
    hash: Hash,
    /// The record's sequence number: as read, or as the chain proves it was,
    /// or (for a line that is not a record) inferred from its neighbours.
    seq: u64,
    /// `None` when the line is not a record.
    record: Option<Parsed>,
}

struct Parsed {
    prev: Hash,
    kind: Kind,
}

enum Kind {
    Event,
    Recovery,
    Checkpoint {
        seq: Option<u64>,
        head: Option<String>,
        key: Option<String>,
        sig: Option<String>,
    },
}

impl Entry {
    /// Whether the line is a record of the kind `wanted` accepts.
    fn is(&self, wanted: fn(&Kind) -> bool) -> bool {
        self.record
            .as_ref()
            .is_some_and(|parsed| wanted(&parsed.kind))
    }
}

impl Kind {
    fn is_checkpoint(&self) -> bool {
        matches!(self, Kind::Checkpoint { .. })
    }

    fn is_recovery(&self) -> bool {
        matches!(self, Kind::Recovery)
    }
}

struct Scan {
    entries: Vec<Entry>,
    lines: u64,
    /// Trailing bytes without a newline: (line number, byte count).
    fragment: Option<(u64, u64)>,
}

/// Reads every complete line present when the call began.
fn read_lines(path: &Path) -> Result<Scan, AuditError> {
    let mut reader = open_committed(path)?;
    let mut entries = Vec::new();
    let mut line = Vec::with_capacity(512);
    let mut line_no = 0;
    let mut fragment = None;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|e| {
            AuditError::io(path, "cannot read the audit trail", e).at_line(line_no + 1)
        })?;
        if read == 0 {
            break;
        }
        line_no += 1;
        if line.pop() != Some(b'\n') {
            fragment = Some((line_no, read as u64));
            break;
        }
        entries.push(parse_entry(line_no, &line));
    }
    let lines = entries.len() as u64;
    Ok(Scan {
        entries,
        lines,
        fragment,
    })
}

fn parse_entry(line: u64, bytes: &[u8]) -> Entry {
    let hash = sha256(bytes);
    let Some(stored) = StoredRecord::parse(bytes) else {
        return Entry {
            line,
            hash,
            seq: 0,
            record: None,
        };
    };
    let kind = match &*stored.kind {
        KIND_CHECKPOINT => Kind::Checkpoint {
            seq: stored.checkpoint_seq,
            head: stored.checkpoint_head.map(Into::into),
            key: stored.checkpoint_key.map(Into::into),
            sig: stored.checkpoint_sig.map(Into::into),
        },
        KIND_RECOVERY => Kind::Recovery,
        _ => Kind::Event,
    };
    Entry {
        line,
        hash,
        seq: stored.seq,
        record: parse_hash(&stored.prev).map(|prev| Parsed { prev, kind }),
    }
}

struct Checker<'a> {
    path: &'a Path,
    key: Option<&'a VerifyingKey>,
    entries: Vec<Entry>,
    /// Modified records by index into `entries`, with why; one finding each.
    modified: BTreeMap<usize, String>,
    findings: Vec<Finding>,
    signed_through: Option<u64>,
}

impl<'a> Checker<'a> {
    fn new(path: &'a Path, key: Option<&'a VerifyingKey>) -> Self {
        Checker {
            path,
            key,
            entries: Vec::new(),
            modified: BTreeMap::new(),
            findings: Vec::new(),
            signed_through: None,
        }
    }

    fn report(&mut self, kind: FindingKind, line: Option<u64>, seq: Option<u64>, message: String) {
        let severity = match self.key {
            Some(_) => kind.severity_with_key(),
            None => kind.severity(),
        };
        self.findings.push(Finding {
            kind,
            line,
            seq,
            message,
            severity,
        });
    }

    /// A fragment without a newline, and a last line that is not a record,
    /// are what a crash mid-write leaves: warnings, cut by the next open.
    fn torn_tail(&mut self, scan: &Scan) {
        let invalid_last = scan
            .entries
            .last()
            .filter(|e| e.record.is_none())
            .map(|e| e.line);
        let message = match (invalid_last, scan.fragment) {
            (None, None) => return,
            (Some(line), None) => format!(
                "the last line ({line}) is not a record: a torn write (the next open cuts it and records the cut)"
            ),
            (first, Some((line, bytes))) => format!(
                "the file ends in {bytes} bytes without a newline on line {line}{}: a torn write (the next open cuts it and records the cut)",
                first.map_or(String::new(), |l| format!(
                    ", after line {l} that is not a record"
                ))
            ),
        };
        let line = invalid_last.or(scan.fragment.map(|(line, _)| line));
        self.report(FindingKind::TornTail, line, None, message);
    }

    /// Where a record's `prev` proves which record it follows, its sequence
    /// number must be the next one; a line that is not a record gets the
    /// number its place implies.
    fn fix_sequence_numbers(&mut self) {
        let last = self.entries.len().saturating_sub(1);
        for i in 0..self.entries.len() {
            let (before_hash, expected_seq) = match i {
                0 => (GENESIS, 1),
                _ => (self.entries[i - 1].hash, self.entries[i - 1].seq + 1),
            };
            let entry = &mut self.entries[i];
            match &entry.record {
                None => {
                    entry.seq = expected_seq;
                    if i < last {
                        self.modified
                            .insert(i, "the line is not a valid audit record".into());
                    }
                }
                Some(parsed) if parsed.prev == before_hash && entry.seq != expected_seq => {
                    let why = format!(
                        "its sequence number reads {}, but its prev hash shows it follows record {}",
                        entry.seq,
                        expected_seq - 1
                    );
                    entry.seq = expected_seq;
                    self.modified.insert(i, why);
                }
                Some(_) => {}
            }
        }
        // A last line that is not a record is a torn tail, reported already.
        if self.entries.last().is_some_and(|e| e.record.is_none()) {
            self.entries.pop();
        }
    }

    /// Sequence numbers must grow line by line; each descent is a reordering.
    fn order(&mut self) {
        for i in 1..self.entries.len() {
            let (before, after) = (&self.entries[i - 1], &self.entries[i]);
            if after.seq < before.seq {
                let message = format!(
                    "records {} and {} are out of order: record {} is on line {}, record {} on line {}",
                    after.seq, before.seq, before.seq, before.line, after.seq, after.line
                );
                let (line, seq) = (before.line, after.seq);
                self.report(
                    FindingKind::RecordsReordered,
                    Some(line),
                    Some(seq),
                    message,
                );
            }
        }
    }

    /// The records in sequence order, one per sequence number; extra records
    /// claiming a number already taken are reported as inserted.
    fn chain(&mut self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| (self.entries[i].seq, self.entries[i].line));
        let mut chain: Vec<usize> = Vec::with_capacity(order.len());
        let mut start = 0;
        while start < order.len() {
            let seq = self.entries[order[start]].seq;
            let end = start
                + order[start..]
                    .iter()
                    .take_while(|&&i| self.entries[i].seq == seq)
                    .count();
            let group = &order[start..end];
            let before = chain.last().map(|&i| self.entries[i].hash);
            let fits = |i: usize| {
                let prev = self.entries[i].record.as_ref().map(|p| p.prev);
                match before {
                    Some(hash) => prev == Some(hash),
                    None => seq == 1 && prev == Some(GENESIS),
                }
            };
            let kept = group.iter().copied().find(|&i| fits(i)).unwrap_or(group[0]);
            chain.push(kept);
            for &extra in group.iter().filter(|&&i| i != kept) {
                let (kept_entry, extra_entry) = (&self.entries[kept], &self.entries[extra]);
                let message = if kept_entry.hash == extra_entry.hash {
                    format!(
                        "line {} repeats record {seq} of line {}",
                        extra_entry.line, kept_entry.line
                    )
                } else {
                    format!(
                        "a second record {seq}: the chain continues from line {}, not from this one",
                        kept_entry.line
                    )
                };
                let line = extra_entry.line;
                self.report(FindingKind::RecordInserted, Some(line), Some(seq), message);
            }
            start = end;
        }
        chain
    }

    /// Gaps in the sequence numbers are deleted records.
    fn deletions(&mut self, chain: &[usize]) {
        let mut expected = 1;
        for &i in chain {
            let Entry { seq, line, .. } = self.entries[i];
            if seq > expected {
                let which = if seq - expected == 1 {
                    format!("record {expected} was deleted")
                } else {
                    format!("records {expected} to {} were deleted", seq - 1)
                };
                let message = format!("{which}: line {line} holds record {seq}");
                self.report(
                    FindingKind::RecordDeleted,
                    Some(line),
                    Some(expected),
                    message,
                );
            }
            expected = seq + 1;
        }
    }

    /// Each record's `prev` must be the hash of the record before it. One
    /// changed record breaks the link after it (and the one before it too if
    /// its own `prev` was changed), so a lone broken link names the record
    /// before it, and two broken links in a row name the record between them.
    fn links(&mut self, chain: &[usize]) {
        let broken: Vec<bool> = (0..chain.len())
            .map(|p| {
                let entry = &self.entries[chain[p]];
                let Some(parsed) = &entry.record else {
                    return false;
                };
                match p {
                    0 => entry.seq == 1 && parsed.prev != GENESIS,
                    _ => {
                        let before = &self.entries[chain[p - 1]];
                        entry.seq == before.seq + 1 && parsed.prev != before.hash
                    }
                }
            })
            .collect();
        let mut p = 0;
        while p < chain.len() {
            if !broken[p] {
                p += 1;
                continue;
            }
            let next_broken = broken.get(p + 1).copied().unwrap_or(false);
            let culprit = if p == 0 || next_broken { p } else { p - 1 };
            let why = match chain.get(culprit + 1) {
                Some(&next) => format!(
                    "its hash no longer matches the prev hash that record {} (line {}) recorded for it",
                    self.entries[next].seq, self.entries[next].line
                ),
                None => "its prev hash does not match the record before it".into(),
            };
            self.modified.entry(chain[culprit]).or_insert(why);
            p += if culprit == p { 2 } else { 1 };
        }
    }

    /// Every checkpoint record must sign its own place in the chain.
    fn checkpoints(&mut self) {
        let mut problems = Vec::new();
        for entry in &self.entries {
            let Some(Parsed {
                prev,
                kind:
                    Kind::Checkpoint {
                        seq,
                        head,
                        key,
                        sig,
                    },
            }) = &entry.record
            else {
                continue;
            };
            let head_hash = head.as_deref().and_then(parse_hash);
            let result = match (seq, head_hash, key, sig) {
                (Some(seq), Some(head), Some(key), Some(sig)) => {
                    // Checked: both numbers come from the file (a fuzzed
                    // trail had a checkpoint numbered 0, and `seq` may be u64::MAX).
                    if seq.checked_add(1) != Some(entry.seq) || head != *prev {
                        Err(match entry.seq.checked_sub(1) {
                            Some(before) => {
                                format!("it signs record {seq}, but it sits after record {before}")
                            }
                            None => format!("it signs record {seq}, but it is the first record"),
                        })
                    } else {
                        checkpoint::check(self.key, *seq, &head, key, sig)
                    }
                }
                _ => Err("it lacks its sequence number, head, key or signature".into()),
            };
            if let Err(why) = result {
                problems.push((entry.line, entry.seq, format!("checkpoint: {why}")));
            }
        }
        for (line, seq, message) in problems {
            self.report(FindingKind::BadSignature, Some(line), Some(seq), message);
        }
    }

    /// The sidecar's checkpoint must verify and the trail must still hold the
    /// record it signed, unchanged.
    fn sidecar(&mut self, chain: &[usize]) {
        let sidecar_file = sidecar_path(self.path);
        let latest_in_trail = self
            .entries
            .iter()
            .filter(|e| e.is(Kind::is_checkpoint))
            .map(|e| e.seq)
            .max();
        let sidecar = match read_sidecar(self.path) {
            Ok(Some(sidecar)) => sidecar,
            Ok(None) => {
                if let Some(latest) = latest_in_trail {
                    let message = format!(
                        "the trail has signed checkpoints (the latest is record {latest}) but {} is missing: deleted, or a crash came between the two writes",
                        sidecar_file.display()
                    );
                    self.report(FindingKind::CheckpointMissing, None, Some(latest), message);
                }
                return;
            }
            Err(why) => {
                self.report(FindingKind::BadSignature, None, None, why);
                return;
            }
        };
        self.check_sidecar(&sidecar, &sidecar_file, chain, latest_in_trail);
    }

    fn check_sidecar(
        &mut self,
        sidecar: &Sidecar,
        file: &Path,
        chain: &[usize],
        latest_in_trail: Option<u64>,
    ) {
        let checkpoint_seq = sidecar.seq + 1;
        let Some(head) = sidecar.head_hash() else {
            let message = format!("{}: the head is not a sha256 hash", file.display());
            self.report(
                FindingKind::BadSignature,
                None,
                Some(checkpoint_seq),
                message,
            );
            return;
        };
        match checkpoint::check(self.key, sidecar.seq, &head, &sidecar.key, &sidecar.sig) {
            Ok(()) => self.signed_through = Some(sidecar.seq),
            Err(why) => {
                let message = format!("{}: {why}", file.display());
                self.report(
                    FindingKind::BadSignature,
                    None,
                    Some(checkpoint_seq),
                    message,
                );
            }
        }
        let last = chain
            .last()
            .map(|&i| (self.entries[i].seq, self.entries[i].line));
        let (last_seq, last_line) = last.unwrap_or((0, 0));
        if last_seq < checkpoint_seq {
            let message = format!(
                "the trail ends at record {last_seq}, but the signed checkpoint in {} covers record {} and was written as record {checkpoint_seq}: the tail was cut",
                file.display(),
                sidecar.seq
            );
            let line = last_line + 1;
            self.report(
                FindingKind::TruncatedBelowCheckpoint,
                Some(line),
                Some(last_seq + 1),
                message,
            );
            return;
        }
        if let Some(&i) = chain.iter().find(|&&i| self.entries[i].seq == sidecar.seq) {
            let entry = &self.entries[i];
            if entry.hash != head {
                let message = format!(
                    "record {} has hash {}, but the signed checkpoint in {} says {}: the chain was rewritten",
                    entry.seq,
                    format_hash(&entry.hash),
                    file.display(),
                    sidecar.head
                );
                let (line, seq) = (entry.line, entry.seq);
                self.report(
                    FindingKind::CheckpointMismatch,
                    Some(line),
                    Some(seq),
                    message,
                );
            }
        }
        if let Some(latest) = latest_in_trail.filter(|&latest| latest > checkpoint_seq) {
            let message = format!(
                "{} holds the checkpoint written as record {checkpoint_seq}, but the trail has a later one (record {latest}): rolled back, or a crash came between the two writes",
                file.display()
            );
            self.report(FindingKind::StaleCheckpoint, None, Some(latest), message);
        }
    }

    /// What the checkpoints leave uncovered: with a trusted key, a trail
    /// of records that no checkpoint signs proves nothing; with
    /// checkpoints, records after the last one were never signed (a writer
    /// signs its tail when it closes the trail, so they are a crash's, a
    /// running writer's, or added since).
    fn coverage(&mut self, chain: &[usize]) {
        let Some(&last) = chain.last() else {
            return;
        };
        let (last_seq, last_line) = (self.entries[last].seq, self.entries[last].line);
        let last_checkpoint = chain
            .iter()
            .map(|&i| &self.entries[i])
            .filter(|e| e.is(Kind::is_checkpoint))
            .map(|e| e.seq)
            .max();
        let signed = last_checkpoint.or(self.signed_through.map(|seq| seq + 1));
        match signed {
            None if self.key.is_some() => {
                let message = format!(
                    "no checkpoint signs any of its {last_seq} records, and there is no sidecar: anyone can write a valid chain, so nothing in it is proven (a writer with a key signs the trail when it closes it)"
                );
                self.report(FindingKind::Unsigned, None, None, message);
            }
            None => {}
            Some(signed) if last_seq > signed => {
                let count = last_seq - signed;
                let message = format!(
                    "{} after the last checkpoint (record {signed}) {} signed: a writer that crashed or is still running, or records added since",
                    if count == 1 {
                        "1 record".to_owned()
                    } else {
                        format!("{count} records")
                    },
                    if count == 1 { "is not" } else { "are not" },
                );
                self.report(
                    FindingKind::UnsignedTail,
                    Some(last_line),
                    Some(signed + 1),
                    message,
                );
            }
            Some(_) => {}
        }
    }

    /// Each recovery record marks a torn write a later writer cut: what the
    /// torn line held is gone, so the trail is at best "warnings".
    fn recoveries(&mut self) {
        let recovered: Vec<(u64, u64)> = self
            .entries
            .iter()
            .filter(|e| e.is(Kind::is_recovery))
            .map(|e| (e.line, e.seq))
            .collect();
        for (line, seq) in recovered {
            self.report(
                FindingKind::Recovered,
                Some(line),
                Some(seq),
                "a writer died mid-write and a later one cut its torn line: what that line held is lost (the record gives the cut's size and digest)".into(),
            );
        }
    }

    fn finish(mut self, lines: u64) -> VerifyReport {
        let modified = std::mem::take(&mut self.modified);
        for (i, why) in modified {
            let entry = &self.entries[i];
            let message = format!("record {} was changed: {why}", entry.seq);
            let (line, seq) = (entry.line, entry.seq);
            self.report(FindingKind::RecordModified, Some(line), Some(seq), message);
        }
        self.findings
            .sort_by_key(|f| (f.line.is_none(), f.line, f.kind));
        let count =
            |wanted: fn(&Kind) -> bool| self.entries.iter().filter(|e| e.is(wanted)).count() as u64;
        let recoveries = count(Kind::is_recovery);
        let checkpoints = count(Kind::is_checkpoint);
        VerifyReport {
            path: self.path.to_path_buf(),
            lines,
            last_seq: self.entries.iter().map(|e| e.seq).max(),
            recoveries,
            checkpoints,
            signed_through: self.signed_through,
            findings: self.findings,
        }
    }
}
