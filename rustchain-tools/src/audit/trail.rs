//! Appending to the trail: records chained onto whatever record is last in
//! the file, whichever process wrote it, written in batches (group commit).
//!
//! Callers that append at the same time share one batch: the first to find
//! no batch under way writes everything waiting (one `write`, at most one
//! fsync, the chain computed in the batch) while the others wait for it, so
//! every `append` still returns only once its record is written.
//! Each waiting caller sleeps on its own (no thundering herd): the writer of
//! a batch wakes exactly the callers whose records it wrote, then hands the
//! next batch to the caller that has waited longest, who writes everything
//! that queued meanwhile.
//!
//! The file's exclusive lock lingers after a batch (D-68): a keeper thread,
//! one per handle, started by the first batch, gives it up once no batch
//! used it for a millisecond, and after about 10 ms (or 1,024 batches)
//! whatever the load, so other processes, `audit verify` and `audit report`
//! wait at most that long. While the lock is held no other writer can have
//! appended, so a batch needs neither the lock nor the file's length: a
//! caller appending back to back makes one `write` per batch. A batch that
//! takes the lock afresh reads the file's end as before and chains onto
//! whatever another process appended meanwhile.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Chain, Cursor, Read, Seek, SeekFrom, Take, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, SystemTime};

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use super::checkpoint;
use super::encode;
use super::error::{AuditError, AuditErrorKind};
use super::hash::{GENESIS, Hash, format_hash, push_hash, sha256};
use super::record::{
    AuditEvent, Body, CheckpointBody, KIND_CHECKPOINT, KIND_RECOVERY, Line, RecoveryBody,
    StoredRecord,
};
use super::time::{Timestamp, format_rfc3339_millis};

/// When appended records are forced to disk.
///
/// Whatever the setting, `append` returns only once its record is written to
/// the file (the operating system's page cache): a crash or kill of the
/// process loses no record it acknowledged. The settings differ in what a
/// power failure or a kernel crash loses, and in what a record costs:
///
/// | setting | a kill of the process loses | a power failure loses | cost per record |
/// |---|---|---|---|
/// | [`Fsync::EveryRecord`] | nothing acknowledged | nothing acknowledged | one fsync per batch of concurrent appends (a third of a millisecond alone, shared by every record in the batch) |
/// | [`Fsync::EveryN`] | nothing acknowledged | up to N - 1 records written since the last fsync | one fsync per N records |
/// | [`Fsync::Never`] (the default) | nothing acknowledged | what the kernel had not written back yet, typically the last 5 to 30 seconds | one `write` per batch while the handle keeps the file lock (back to back, or under load); a batch after an idle millisecond also takes the lock and asks the file's length (3 more system calls) |
///
/// Batches: appends made at the same time share one (one `write`, at most
/// one fsync). The file lock lingers after a batch and is given up once the
/// handle has been idle for about a millisecond, or after about 10 ms
/// (1,024 batches) of constant use; a batch under the lingering lock needs
/// no lock and no length check, since no other writer can have appended
/// ([`CommitStats::locks`]; D-68).
///
/// What the executor's records of one call lose on a kill: a call's decision
/// record is written before its tool runs, and its result before the result
/// is returned, except for a tool whose hints say it is read-only, whose
/// decision is written with its result once the call ends (one batch
/// instead of two; D-47). A process killed while a read-only tool runs
/// leaves no record of that call, which changed nothing and returned
/// nothing; every call that returned is on record.
///
/// The chain makes any loss to a power failure visible, never silent: a
/// trail cut short still verifies up to its last record, and a signed
/// checkpoint (always synced before its sidecar is written) says how far it
/// reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// After every batch of records, before `append` returns: a record
    /// `append` reported written survives a power failure. Concurrent
    /// appends share one fsync ([`CommitStats::records_per_sync`]).
    EveryRecord,
    /// After every N records written by this handle (and when it is dropped):
    /// a power failure may lose up to N - 1 records, a crash of the process none.
    EveryN(u32),
    /// Never (the default): the operating system writes back when it likes
    /// (on Linux within about 30 seconds). A crash of the process loses
    /// nothing; a power failure may lose the records not yet written back.
    #[default]
    Never,
}

impl Fsync {
    /// The setting's name as [`Fsync::from_str`](std::str::FromStr) reads it:
    /// `every-record`, a number N (every N records) or `never`.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Fsync::EveryRecord => "every-record".into(),
            Fsync::EveryN(n) => n.to_string().into(),
            Fsync::Never => "never".into(),
        }
    }
}

impl fmt::Display for Fsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Fsync {
    /// The more durable of `self` and `floor`: the one a power failure can
    /// cost fewer records (`every-record` before `1`, `1` before `2`, any
    /// number before `never`). A policy's `[audit] fsync` is such a floor:
    /// a front end may ask for more, never for less.
    pub fn at_least(self, floor: Fsync) -> Fsync {
        let lost = |fsync: Fsync| match fsync {
            Fsync::EveryRecord => 0,
            Fsync::EveryN(n) => u64::from(n),
            Fsync::Never => u64::MAX,
        };
        if lost(floor) < lost(self) {
            floor
        } else {
            self
        }
    }
}

/// Reads `every-record`, `never` or a positive number N (every N records).
impl std::str::FromStr for Fsync {
    type Err = String;

    fn from_str(text: &str) -> Result<Fsync, String> {
        match text {
            "every-record" => Ok(Fsync::EveryRecord),
            "never" => Ok(Fsync::Never),
            _ => match text.parse::<u32>() {
                Ok(0) => Err("fsync every 0 records: use `never` or a positive number".into()),
                Ok(n) => Ok(Fsync::EveryN(n)),
                Err(_) => Err(format!(
                    "`{text}` is not an fsync setting: use `every-record`, `never` or a number \
                     N of records (1 to {})",
                    u32::MAX
                )),
            },
        }
    }
}

/// What a trail handle has written so far: how well appends were batched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Records appended through [`AuditTrail::append`].
    pub records: u64,
    /// Batches written (one file lock and one `write` each).
    pub batches: u64,
    /// fsyncs made (per [`Fsync`], plus those of checkpoints and recoveries).
    pub syncs: u64,
    /// Exclusive file locks taken. The lock lingers after a batch until the
    /// handle has been idle for about a millisecond (at most about 10 ms or
    /// 1,024 batches), and the batches under it need not ask the file's
    /// length: no other writer can have appended meanwhile.
    pub locks: u64,
}

impl CommitStats {
    /// Records per fsync (`records` if none was made).
    pub fn records_per_sync(&self) -> f64 {
        self.records as f64 / self.syncs.max(1) as f64
    }

    /// Records per batch.
    pub fn records_per_batch(&self) -> f64 {
        self.records as f64 / self.batches.max(1) as f64
    }

    /// Records per exclusive file lock.
    pub fn records_per_lock(&self) -> f64 {
        self.records as f64 / self.locks.max(1) as f64
    }
}

/// Signed checkpoints: every `every` records, a record signing (sequence
/// number, head hash) with `signing_key`, also kept in `<trail>.checkpoint`.
#[derive(Clone)]
pub struct CheckpointOptions {
    /// A checkpoint follows each record whose sequence number is a multiple of this.
    pub every: u64,
    /// The key checkpoints are signed with (see [`load_signing_key`](super::load_signing_key)).
    pub signing_key: SigningKey,
}

impl fmt::Debug for CheckpointOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointOptions")
            .field("every", &self.every)
            .field(
                "signing_key",
                &checkpoint::format_key(&self.signing_key.verifying_key()),
            )
            .finish()
    }
}

/// How a trail is written. The default survives a crash of the process and
/// costs microseconds: each record written before `append` returns, no fsync
/// (see [`Fsync`] for what a power failure loses), no checkpoints.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// When records are forced to disk.
    pub fsync: Fsync,
    /// Signed checkpoints, if any.
    pub checkpoint: Option<CheckpointOptions>,
}

impl AuditOptions {
    /// These options with `fsync`.
    pub fn with_fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// These options with a signed checkpoint every `every` records.
    pub fn with_checkpoints(mut self, every: u64, signing_key: SigningKey) -> Self {
        self.checkpoint = Some(CheckpointOptions { every, signing_key });
        self
    }

    fn validate(&self, path: &Path) -> Result<(), AuditError> {
        let invalid = |message: &str| {
            Err(AuditError::new(
                AuditErrorKind::InvalidOptions,
                path,
                message,
            ))
        };
        if self.fsync == Fsync::EveryN(0) {
            return invalid("fsync every 0 records: use Fsync::Never or a positive N");
        }
        if self.checkpoint.as_ref().is_some_and(|c| c.every == 0) {
            return invalid("a checkpoint every 0 records: use a positive interval");
        }
        Ok(())
    }
}

/// A record's place in the trail: its sequence number and the hash of its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordId {
    seq: u64,
    hash: Hash,
}

impl RecordId {
    /// The record's sequence number (1 for the first record of a trail).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// SHA-256 of the record's line (without its newline).
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The hash as the trail writes it: `sha256:<hex>`.
    pub fn hash_text(&self) -> String {
        format_hash(&self.hash)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {} ({})", self.seq, format_hash(&self.hash))
    }
}

/// Why the end of a trail was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TornReason {
    /// The file did not end with a newline: a write stopped midway.
    NoTrailingNewline,
    /// The last line was not a valid record.
    InvalidLastLine,
}

impl TornReason {
    /// The name the recovery record uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            TornReason::NoTrailingNewline => "no_trailing_newline",
            TornReason::InvalidLastLine => "invalid_last_line",
        }
    }
}

/// What was cut from a torn trail, and the record that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Why the bytes were cut.
    pub reason: TornReason,
    /// Where the cut bytes began: the file's length after the cut.
    pub offset: u64,
    /// How many bytes were cut.
    pub cut_bytes: u64,
    /// [`digest`](super::digest) of the cut bytes.
    pub cut_digest: String,
    /// The recovery record written in their place.
    pub record: RecordId,
}

/// What [`AuditTrail::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// The torn end that was cut and recorded, if there was one.
    pub recovery: Option<Recovery>,
    /// The last record in the trail (`None` for a new, empty trail).
    pub head: Option<RecordId>,
}

/// A hash-chained JSONL audit trail, open for appending.
///
/// Each [`append`](AuditTrail::append) returns once its record is written,
/// as one whole line, under an exclusive lock on the file, chained onto the
/// last record in the file, so several handles and processes may append to
/// the same trail. The handle is `Send + Sync`: share it (`Arc`) between
/// threads; appends made at the same time are written together (one lock,
/// one `write`, one fsync if any).
///
/// ```
/// use rustchain_tools::audit::{AuditEvent, AuditOptions, AuditTrail, Decision, digest, verify, VerifyStatus};
///
/// let dir = std::env::temp_dir().join(format!("audit-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("audit.jsonl");
/// let (trail, _report) = AuditTrail::open(&path, AuditOptions::default())?;
/// let args = r#"{"a": 1}"#;
/// let id = trail.append(&AuditEvent::Decision {
///     tool: "add",
///     call_id: "call_1",
///     caller: None,
///     decision: Decision::Allow,
///     rule: Some("tools.allow = [\"add\"]"),
///     reason: None,
///     approver: None,
///     args_digest: &digest(args.as_bytes()),
///     args: None,
/// })?;
/// assert_eq!(id.seq(), 1);
/// assert_eq!(verify(&path, None)?.status(), VerifyStatus::Intact);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuditTrail {
    path: PathBuf,
    options: AuditOptions,
    /// The file and the chain: held by the writer of a batch, and shared
    /// (weakly) with the keeper thread that gives up a lingering file lock.
    inner: Arc<Mutex<Inner>>,
    /// Records waiting for a batch.
    queue: Mutex<Queue>,
    /// Test hook: the next batch panics midway, with the file locked.
    #[cfg(test)]
    panic_in_batch: std::sync::atomic::AtomicBool,
}

/// The group commit's meeting point.
#[derive(Default)]
struct Queue {
    /// Callers' records waiting for a batch, in the order they arrived.
    waiting: Vec<Pending>,
    /// An empty vector kept for the next batch's `waiting`.
    spare: Vec<Pending>,
    /// Whether a caller is writing a batch now (or has been told to write
    /// the next one): then a newcomer queues and sleeps.
    writing: bool,
}

/// One caller's records waiting for a batch: their bodies, serialized by the
/// caller outside any lock (so only the chain fields are written in the
/// batch), and where the caller sleeps until they are written.
struct Pending {
    /// The bodies, one JSON object each, one after another.
    bodies: Vec<u8>,
    /// Where the first body ends in `bodies`.
    first_end: usize,
    /// Where each body after the first but the last ends (empty for one or
    /// two records, so the executor's records allocate nothing more).
    more_ends: Vec<usize>,
    /// How many bodies.
    records: usize,
    waiter: Arc<Waiter>,
}

impl Pending {
    fn bodies(&self) -> impl Iterator<Item = &[u8]> {
        let inner = std::iter::once(self.first_end).chain(self.more_ends.iter().copied());
        let starts = std::iter::once(0).chain(inner.clone());
        let ends = inner
            .chain([self.bodies.len()])
            .skip(usize::from(self.records == 1));
        starts
            .zip(ends)
            .map(|(start, end)| &self.bodies[start..end])
    }
}

/// What a written batch gives each of its callers: the ids of its records.
type Outcome = Result<Vec<RecordId>, AuditError>;

/// A caller waiting for its records: woken once, either with their outcome
/// or to write the next batch. Only the thread that queued the records parks
/// on it; `unpark` costs no system call when that thread is not asleep yet.
struct Waiter {
    thread: Thread,
    state: AtomicU8,
    outcome: Mutex<Option<Outcome>>,
}

const WAITING: u8 = 0;
const LEAD: u8 = 1;
const DONE: u8 = 2;

thread_local! {
    /// This thread's waiter, kept between appends so an append allocates none.
    static WAITER: std::cell::Cell<Option<Arc<Waiter>>> = const { std::cell::Cell::new(None) };
    /// The bodies buffer of this thread's last append, kept for the next.
    static SPARE_BODIES: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Waiter {
    /// A waiter for this thread: the one its last append used if nobody
    /// else holds it any more (a writer that woke it may still be dropping
    /// its reference), else a new one.
    fn for_this_thread() -> Arc<Waiter> {
        let kept = WAITER
            .take()
            .filter(|waiter| Arc::strong_count(waiter) == 1 && Arc::weak_count(waiter) == 0);
        match kept {
            Some(waiter) => {
                waiter.state.store(WAITING, Ordering::Relaxed);
                waiter
            }
            None => Arc::new(Waiter {
                thread: std::thread::current(),
                state: AtomicU8::new(WAITING),
                outcome: Mutex::new(None),
            }),
        }
    }

    /// Keeps `waiter` for this thread's next append.
    fn keep_for_this_thread(waiter: Arc<Waiter>) {
        WAITER.set(Some(waiter));
    }

    /// Sleeps until woken: `Some` with the records' outcome once they are
    /// written, `None` when this caller is to write the next batch.
    fn wait(&self) -> Option<Outcome> {
        loop {
            match self.state.load(Ordering::Acquire) {
                // A park may return without an unpark: look again.
                WAITING => std::thread::park(),
                LEAD => return None,
                _ => {
                    return self
                        .outcome
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take();
                }
            }
        }
    }

    /// Hands the caller its outcome and wakes it.
    fn finish(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.state.store(DONE, Ordering::Release);
        self.thread.unpark();
    }

    /// Wakes the caller to write the next batch.
    fn lead(&self) {
        self.state.store(LEAD, Ordering::Release);
        self.thread.unpark();
    }
}

impl fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditTrail")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

struct Inner {
    file: File,
    state: State,
    /// Whether this handle holds the file's exclusive lock. A batch keeps it
    /// for the next (the keeper gives it up once the handle is idle), so
    /// that batch takes no lock and need not ask the file's length: no other
    /// writer can have appended meanwhile.
    held: bool,
    /// Batches written since the lock was taken: the lock is given up
    /// after [`MAX_HELD_BATCHES`] so other processes get their turn.
    held_batches: u32,
    /// The keeper's ticks ([`IDLE_TICK`]) since the lock was taken: the
    /// keeper gives it up after [`MAX_HELD_TICKS`] even under constant load.
    held_ticks: u32,
    /// The thread that gives up a lingering lock (started by the first
    /// batch that keeps the lock).
    keeper: Option<JoinHandle<()>>,
    /// Whether the keeper sleeps until woken (no lock to watch): the batch
    /// that next keeps the lock wakes it.
    keeper_asleep: bool,
    /// Set when the handle is dropped: the keeper ends.
    closing: bool,
}

/// How many batches in a row one handle writes under one file lock.
const MAX_HELD_BATCHES: u32 = 1024;

/// How often the keeper looks at a lingering lock: a lock no batch used for
/// a whole tick is given up, so an idle handle keeps it 1 to 2 ticks.
const IDLE_TICK: Duration = Duration::from_millis(1);

/// After how many ticks a lock is given up even under constant load: other
/// processes, `audit verify` and `audit report` wait about this long at most.
const MAX_HELD_TICKS: u32 = 10;

/// What persists between appends of one handle.
struct State {
    /// The line being written, reused so appending does not allocate it anew.
    buf: Vec<u8>,
    /// Records written since the last fsync.
    unsynced: u32,
    /// Whether this handle wrote records that no checkpoint it wrote since
    /// covers: then closing it signs the tail.
    unsigned: bool,
    /// What was written so far.
    stats: CommitStats,
    /// The file's length after this handle's last write, and its last record.
    /// While the length is unchanged no other writer has appended (appends
    /// only grow the file, and a cut is always followed by a recovery record),
    /// so the tail need not be read again.
    last_write: Option<(u64, Tail)>,
    /// Whether the file lock has been held since `last_write` was taken:
    /// then not even the length needs asking.
    locked_since_write: bool,
}

/// The last record in the file: what the next one chains onto.
#[derive(Debug, Clone, Copy)]
struct Tail {
    seq: u64,
    hash: Hash,
}

impl Tail {
    const EMPTY: Tail = Tail {
        seq: 0,
        hash: GENESIS,
    };
}

impl AuditTrail {
    /// Opens the trail at `path` for appending, creating it if it is missing
    /// (its directory must exist).
    ///
    /// A torn end (a crash mid-write left a line without its newline, or a last
    /// line that is not a record) is cut, and a recovery record saying how many
    /// bytes were cut and their digest is appended: see [`OpenReport::recovery`].
    pub fn open(
        path: &Path,
        options: AuditOptions,
    ) -> Result<(AuditTrail, OpenReport), AuditError> {
        options.validate(path)?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(AuditError::new(
                AuditErrorKind::NotFound,
                path,
                format!(
                    "cannot create the audit trail: directory {} does not exist",
                    dir.display()
                ),
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| AuditError::io(path, "cannot open the audit trail", e))?;
        let trail = AuditTrail {
            path: path.to_path_buf(),
            options,
            inner: Arc::new(Mutex::new(Inner {
                file,
                state: State {
                    buf: Vec::with_capacity(512),
                    unsynced: 0,
                    unsigned: false,
                    stats: CommitStats::default(),
                    last_write: None,
                    locked_since_write: false,
                },
                held: false,
                held_batches: 0,
                held_ticks: 0,
                keeper: None,
                keeper_asleep: true,
                closing: false,
            })),
            queue: Mutex::new(Queue::default()),
            #[cfg(test)]
            panic_in_batch: std::sync::atomic::AtomicBool::new(false),
        };
        let report = trail.locked(|appender| {
            let (tail, recovery) = appender.settle_tail()?;
            appender.sync_if_due()?;
            let head = (tail.seq > 0).then_some(RecordId {
                seq: tail.seq,
                hash: tail.hash,
            });
            Ok(OpenReport { recovery, head })
        })?;
        Ok((trail, report))
    }

    /// Appends one record, chained onto the last record in the file, and
    /// returns its id once it is written (and synced, per [`Fsync`]).
    ///
    /// Appends made at the same time from several threads are written as
    /// one batch by whichever of them comes first; each returns when the
    /// batch holding its record is written.
    pub fn append(&self, event: &AuditEvent<'_>) -> Result<RecordId, AuditError> {
        let mut bodies = spare_bodies();
        serialize_into(&mut bodies, event);
        let first_end = bodies.len();
        let mut ids = self.commit(bodies, first_end, Vec::new(), 1)?;
        Ok(ids.pop().expect("one id per record"))
    }

    /// Appends `events` in this order, in one batch, so they are adjacent in
    /// the trail (unless a checkpoint falls due between two of them), and
    /// returns their ids once all are written (and synced, per [`Fsync`]).
    ///
    /// The executor writes a read-only tool's decision and result records
    /// this way, together once the call ends (D-47).
    pub fn append_all(&self, events: &[&AuditEvent<'_>]) -> Result<Vec<RecordId>, AuditError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut bodies = spare_bodies();
        let mut first_end = 0;
        let mut more_ends = Vec::new();
        for (n, event) in events.iter().enumerate() {
            match n {
                0 => {}
                1 => first_end = bodies.len(),
                _ => more_ends.push(bodies.len()),
            }
            serialize_into(&mut bodies, event);
        }
        if events.len() == 1 {
            first_end = bodies.len();
        }
        self.commit(bodies, first_end, more_ends, events.len())
    }

    /// Queues one caller's serialized bodies and returns their ids once
    /// they are written: by this caller, if no batch is under way (then
    /// with everything that waits by then), or by whoever writes the batch
    /// that takes them. A caller that wrote a batch wakes each caller whose
    /// records it wrote, and hands the next batch, if records wait, to the
    /// one that has waited longest.
    fn commit(
        &self,
        bodies: Vec<u8>,
        first_end: usize,
        more_ends: Vec<usize>,
        records: usize,
    ) -> Outcome {
        let waiter = Waiter::for_this_thread();
        let outcome = self.commit_as(&waiter, bodies, first_end, more_ends, records);
        Waiter::keep_for_this_thread(waiter);
        outcome
    }

    fn commit_as(
        &self,
        waiter: &Arc<Waiter>,
        bodies: Vec<u8>,
        first_end: usize,
        more_ends: Vec<usize>,
        records: usize,
    ) -> Outcome {
        let mut queue = self.queue();
        queue.waiting.push(Pending {
            bodies,
            first_end,
            more_ends,
            records,
            waiter: Arc::clone(waiter),
        });
        if queue.writing {
            drop(queue);
            if let Some(outcome) = waiter.wait() {
                return outcome;
            }
            // Told to write the next batch: `writing` stayed set for it.
            queue = self.queue();
        } else {
            queue.writing = true;
        }
        // The emptied vector of the last batch takes the queue's place, so
        // neither allocates once both have grown.
        let spare = std::mem::take(&mut queue.spare);
        let mut batch = std::mem::replace(&mut queue.waiting, spare);
        drop(queue);
        let written = self.write_batch_or_fail(&batch);
        let mine = deliver(&mut batch, written, waiter);
        let mut queue = self.queue();
        queue.spare = batch;
        let next = queue.waiting.first().map(|next| Arc::clone(&next.waiter));
        if next.is_none() {
            queue.writing = false;
        }
        drop(queue);
        if let Some(next) = next {
            next.lead();
        }
        mine
    }

    /// What this handle has written so far: records, batches, fsyncs.
    pub fn commit_stats(&self) -> CommitStats {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .state
            .stats
    }

    /// Closes the trail: with checkpoints, signs its tail if this handle
    /// wrote records no checkpoint covers yet (so even a session shorter
    /// than the checkpoint interval ends signed), then forces the records
    /// to disk.
    ///
    /// Dropping the handle does the same but cannot report a failure; call
    /// this where one should be seen.
    pub fn close(self) -> Result<(), AuditError> {
        self.sign_tail()?;
        if self.options.fsync != Fsync::Never {
            self.sync()?;
        }
        Ok(())
    }

    /// Writes a checkpoint signing the tail if this handle left records
    /// unsigned.
    fn sign_tail(&self) -> Result<(), AuditError> {
        let Some(checkpoint) = &self.options.checkpoint else {
            return Ok(());
        };
        self.locked(|appender| {
            if !appender.state.unsigned {
                return Ok(());
            }
            let (tail, _recovery) = appender.settle_tail()?;
            appender.checkpoint(checkpoint, tail)?;
            Ok(())
        })
    }

    /// Forces every record written so far to disk.
    pub fn sync(&self) -> Result<(), AuditError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .file
            .sync_data()
            .map_err(|e| AuditError::io(&self.path, "cannot sync the audit trail", e))?;
        inner.state.unsynced = 0;
        inner.state.stats.syncs += 1;
        Ok(())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`write_batch`](Self::write_batch), failing the batch if it panics:
    /// the panic must not leave `writing` set (every later caller would wait
    /// for a batch nobody writes) nor the lock held, and what the batch left
    /// in the file is read afresh by the next.
    fn write_batch_or_fail(&self, batch: &[Pending]) -> Outcome {
        // Unwind-safe enough: after a panic the state the batch may have
        // left half-updated (the tail and length it knew) is discarded below.
        let unwound =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.write_batch(batch)));
        unwound.unwrap_or_else(|_| {
            let mut inner = self.inner();
            inner.state.last_write = None;
            release(&mut inner);
            Err(AuditError::new(
                AuditErrorKind::Panicked,
                &self.path,
                "writing the batch holding this record panicked; the record may or may not \
                 be in the trail, which the next append reads afresh",
            ))
        })
    }

    /// Writes `batch` after the file's last record: one `write` (split only
    /// around a checkpoint), one fsync if one is due; the ids of its records
    /// in order. The file lock lingers after the batch (see [`Inner::held`]):
    /// the keeper thread gives it up once the handle is idle, so the next
    /// batch usually takes no lock and need not ask the file's length.
    fn write_batch(&self, batch: &[Pending]) -> Result<Vec<RecordId>, AuditError> {
        let mut inner = self.inner();
        let written = self.under_lock(&mut inner, |appender| {
            let (tail, _recovery) = appender.settle_tail()?;
            #[cfg(test)]
            if self.panic_in_batch.swap(false, Ordering::Relaxed) {
                panic!("a panic inside a batch (test hook)");
            }
            let ids = appender.write_bodies(tail, batch)?;
            appender.sync_if_due()?;
            Ok(ids)
        });
        inner.held_batches += 1;
        let linger =
            written.is_ok() && inner.held_batches < MAX_HELD_BATCHES && self.watch(&mut inner);
        if !linger {
            release(&mut inner);
        }
        written
    }

    /// Makes sure the keeper watches the lock this handle keeps, starting it
    /// on first use; `false` if it cannot be started (then the lock must be
    /// given up now).
    fn watch(&self, inner: &mut Inner) -> bool {
        if !inner.keeper_asleep {
            return true;
        }
        inner.keeper_asleep = false;
        match &inner.keeper {
            Some(keeper) => keeper.thread().unpark(),
            None => {
                let watched = Arc::downgrade(&self.inner);
                let started = std::thread::Builder::new()
                    .name("rustchain-audit-lock".into())
                    .spawn(move || keep(&watched));
                match started {
                    Ok(keeper) => inner.keeper = Some(keeper),
                    Err(_) => {
                        inner.keeper_asleep = true;
                        return false;
                    }
                }
            }
        }
        true
    }

    /// The trail's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options the trail was opened with.
    pub fn options(&self) -> &AuditOptions {
        &self.options
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` holding this handle's mutex and the file's exclusive
    /// lock, and gives the lock up after.
    fn locked<T>(
        &self,
        work: impl FnOnce(&mut Appender<'_>) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        let mut inner = self.inner();
        let done = self.under_lock(&mut inner, work);
        release(&mut inner);
        done
    }

    /// Runs `work` under the file's exclusive lock, taking it unless this
    /// handle holds it already (it lingers); the caller decides when to give
    /// it up ([`release`]).
    fn under_lock<T>(
        &self,
        inner: &mut Inner,
        work: impl FnOnce(&mut Appender<'_>) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        if !inner.held {
            inner
                .file
                .lock()
                .map_err(|e| AuditError::io(&self.path, "cannot lock the audit trail", e))?;
            inner.held = true;
            inner.held_batches = 0;
            inner.held_ticks = 0;
            inner.state.stats.locks += 1;
            inner.state.locked_since_write = false;
        }
        let Inner { file, state, .. } = inner;
        let done = work(&mut Appender {
            file,
            path: &self.path,
            options: &self.options,
            state,
            len: 0,
        });
        if done.is_err() {
            // Whatever the failure left in the file is read afresh next time.
            inner.state.locked_since_write = false;
        }
        done
    }
}

/// Gives up the file lock if this handle holds it.
fn release(inner: &mut Inner) {
    if std::mem::take(&mut inner.held) {
        inner.state.locked_since_write = false;
        // Closing the file releases the lock too; failing here leaves it to that.
        let _ = inner.file.unlock();
    }
}

/// The keeper: gives up the lock a handle keeps after its batches once no
/// batch used it for a whole [`IDLE_TICK`], or after [`MAX_HELD_TICKS`]
/// whatever the load, and sleeps while the handle holds no lock. Ends when
/// the handle is dropped.
fn keep(watched: &Weak<Mutex<Inner>>) {
    // The handle's batch count at the last tick: unchanged means idle.
    let mut seen = None;
    loop {
        let Some(inner) = watched.upgrade() else {
            return;
        };
        let mut guard = match inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.closing {
            return;
        }
        let batches = guard.state.stats.batches;
        if guard.held {
            guard.held_ticks += 1;
            if seen == Some(batches) || guard.held_ticks >= MAX_HELD_TICKS {
                release(&mut guard);
            }
        }
        let asleep = !guard.held;
        guard.keeper_asleep = asleep;
        seen = Some(batches);
        drop(guard);
        drop(inner);
        if asleep {
            // Woken by the batch that next keeps the lock (a spurious wake
            // finds no lock and sleeps again).
            seen = None;
            std::thread::park();
        } else {
            std::thread::park_timeout(IDLE_TICK);
        }
    }
}

impl Drop for AuditTrail {
    fn drop(&mut self) {
        // Nothing to report to in a destructor: a failure here leaves the
        // tail unsigned, which `verify` reports.
        let _ = self.sign_tail();
        let mut inner = self.inner();
        if inner.state.unsynced > 0 && self.options.fsync != Fsync::Never {
            // Nothing to report to in a destructor; the records are written,
            // this only hastens their way to disk.
            let _ = inner.file.sync_data();
        }
        release(&mut inner);
        inner.closing = true;
        let keeper = inner.keeper.take();
        drop(inner);
        if let Some(keeper) = keeper {
            keeper.thread().unpark();
            // The keeper only waits for this handle's mutex, now free.
            let _ = keeper.join();
        }
    }
}

/// What [`open_committed`] reads: the file up to where a writer could
/// change it, then a copy of the rest taken under the shared lock.
pub(crate) type CommittedReader = BufReader<Chain<Take<File>, Cursor<Vec<u8>>>>;

/// Opens the trail for reading, up to the length it had under a shared lock.
///
/// Appends are whole lines written under the exclusive lock, so that length
/// ends on a line boundary unless a writer died mid-write; records appended
/// while the caller reads are not seen, and do not hold it up.
///
/// A writer changes what is already in the file in one place only: the
/// torn-end recovery cuts the last line, or a fragment and the line before
/// it, and writes its recovery record there (a zero tail is trimmed the same
/// way, and [`content_end`] already leaves it out). So the last two lines
/// are copied while the shared lock is held and the rest is read from the
/// file after it is let go: a recovery that runs meanwhile cannot show the
/// reader its own bytes in place of the ones the length was taken for.
pub(crate) fn open_committed(path: &Path) -> Result<CommittedReader, AuditError> {
    let read_error = |e| AuditError::io(path, "cannot read the end of the audit trail", e);
    let mut file =
        File::open(path).map_err(|e| AuditError::io(path, "cannot open the audit trail", e))?;
    let (stable, tail) = {
        let _lock = FileLock::shared(&file, path)?;
        let len = file
            .metadata()
            .map_err(|e| AuditError::io(path, "cannot read the audit trail's length", e))?
            .len();
        let end = content_end(&file, len).map_err(read_error)?;
        let stable = last_lines_start(&file, end, 2).map_err(read_error)?;
        let mut tail =
            vec![0; usize::try_from(end - stable).expect("the last lines fit in memory")];
        let mut at = &file;
        at.seek(SeekFrom::Start(stable)).map_err(read_error)?;
        at.read_exact(&mut tail).map_err(read_error)?;
        (stable, tail)
    };
    file.seek(SeekFrom::Start(0))
        .map_err(|e| AuditError::io(path, "cannot read the audit trail", e))?;
    Ok(BufReader::new(file.take(stable).chain(Cursor::new(tail))))
}

/// Where the last `lines` lines of the file's first `end` bytes begin (a
/// fragment without its newline counts as a line): just after the newline
/// that ends the line before them, or 0.
fn last_lines_start(file: &File, end: u64, lines: usize) -> std::io::Result<u64> {
    let mut file = file;
    // The byte at `end - 1` ends the last line whether or not it is a newline.
    let mut before = end.saturating_sub(1);
    let mut newlines = 0;
    let mut window = [0; FIRST_SCAN_WINDOW];
    while before > 0 {
        let start = before.saturating_sub(window.len() as u64);
        let window = &mut window[..usize::try_from(before - start).expect("at most the window")];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(window)?;
        for (at, _) in window
            .iter()
            .enumerate()
            .rev()
            .filter(|&(_, &b)| b == b'\n')
        {
            newlines += 1;
            if newlines == lines {
                return Ok(start + at as u64 + 1);
            }
        }
        before = start;
    }
    Ok(0)
}

/// Where the trail's content ends in a file `len` bytes long: before its
/// zero tail, the NUL bytes at its very end (none in a trail left as a
/// writer leaves it). Some file systems show a file's new length before
/// its data after a power failure, so the end reads as zeros; a writer that
/// preallocated ahead of its records and was killed leaves the same (D-77).
/// A NUL is never part of a record (JSON text holds none), so the
/// zeros are the end of the trail, not a torn line; a NUL before the last
/// non-NUL byte is still inside a line, which is then not a record.
///
/// Reads backwards from `len` until a byte that is not NUL is found: the
/// last [`FIRST_SCAN_WINDOW`] bytes, unless there is a zero tail, whose
/// windows then double up to [`ZERO_SCAN_WINDOW`].
pub(crate) fn content_end(file: &File, len: u64) -> std::io::Result<u64> {
    let mut file = file;
    let mut end = len;
    let mut size = FIRST_SCAN_WINDOW;
    let mut window = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(size as u64);
        window.resize(usize::try_from(end - start).expect("at most the window"), 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut window)?;
        if let Some(last) = window.iter().rposition(|&b| b != 0) {
            return Ok(start + last as u64 + 1);
        }
        end = start;
        size = (size * 2).min(ZERO_SCAN_WINDOW);
    }
    Ok(0)
}

/// How much of the file's end [`content_end`] reads first: a trail without
/// a zero tail (every trail our writers leave) is decided by its last byte.
const FIRST_SCAN_WINDOW: usize = 512;

/// The most of a zero tail [`content_end`] reads at a time.
const ZERO_SCAN_WINDOW: usize = 64 * 1024;

/// Holds a lock on a file until dropped.
pub(crate) struct FileLock<'f>(&'f File);

impl<'f> FileLock<'f> {
    pub(crate) fn shared(file: &'f File, path: &Path) -> Result<Self, AuditError> {
        file.lock_shared()
            .map_err(|e| AuditError::io(path, "cannot lock the audit trail", e))?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // Closing the file releases the lock too; failing here leaves it to that.
        let _ = self.0.unlock();
    }
}

/// Everything an append needs, borrowed while the file is locked.
struct Appender<'t> {
    file: &'t File,
    path: &'t Path,
    options: &'t AuditOptions,
    state: &'t mut State,
    /// The file's length, as read by `settle_tail` and kept up to date since.
    len: u64,
}

/// The end of the file: where the last complete line starts and ends.
struct TailScan {
    /// Offset just past the last newline (0 if there is none).
    complete_end: u64,
    /// The last complete line (start offset, bytes without the newline).
    last_line: Option<(u64, Vec<u8>)>,
}

impl Appender<'_> {
    /// Finds the record to chain onto; cuts and records a torn end first.
    fn settle_tail(&mut self) -> Result<(Tail, Option<Recovery>), AuditError> {
        if let Some((written_len, tail)) = self.state.last_write
            && self.state.locked_since_write
        {
            // The lock was held since this handle's last write: the file
            // ends there, as this handle left it.
            self.len = written_len;
            return Ok((tail, None));
        }
        let len = self
            .file
            .metadata()
            .map_err(|e| self.io("cannot read the audit trail's length", e))?
            .len();
        self.len = len;
        if let Some((written_len, tail)) = self.state.last_write
            && written_len == len
        {
            return Ok((tail, None));
        }
        let len = self.trim_zero_tail(len)?;
        let scan = self.scan_tail(len)?;
        let mut reason = (scan.complete_end < len).then_some(TornReason::NoTrailingNewline);
        let (tail, keep) = match &scan.last_line {
            None => (Tail::EMPTY, scan.complete_end),
            Some((start, line)) => match parse_tail(line) {
                Some(tail) => (tail, scan.complete_end),
                None => {
                    reason = Some(TornReason::InvalidLastLine);
                    (self.tail_before(*start)?, *start)
                }
            },
        };
        let Some(reason) = reason else {
            return Ok((tail, None));
        };
        let recovery = self.cut(tail, keep, len, reason)?;
        let tail = Tail {
            seq: recovery.record.seq,
            hash: recovery.record.hash,
        };
        Ok((self.checkpoint_if_due(tail)?, Some(recovery)))
    }

    /// Trims a zero tail (see [`content_end`]):
    /// the zeros are no record and hold nothing, so they go without a
    /// recovery record; the next record is written where they began. The
    /// file's length after, which is where its content ends.
    fn trim_zero_tail(&mut self, len: u64) -> Result<u64, AuditError> {
        let end = content_end(self.file, len)
            .map_err(|e| self.io("cannot read the end of the audit trail", e))?;
        if end < len {
            self.state.last_write = None;
            self.file
                .set_len(end)
                .map_err(|e| self.io("cannot trim the zero tail of the audit trail", e))?;
            self.len = end;
        }
        Ok(end)
    }

    /// The record before an invalid last line starting at `end`; it must be valid.
    fn tail_before(&mut self, end: u64) -> Result<Tail, AuditError> {
        let scan = self.scan_tail(end)?;
        match &scan.last_line {
            None => Ok(Tail::EMPTY),
            Some((start, line)) => parse_tail(line).ok_or_else(|| {
                let line_no = self.line_number_at(*start).unwrap_or(0);
                AuditError::new(
                    AuditErrorKind::Corrupt,
                    self.path,
                    "the last two lines are not valid audit records, so this is not a torn \
                     write that can be cut; nothing was appended: run `rustchain audit verify`",
                )
                .at_line(line_no)
            }),
        }
    }

    /// Cuts `[keep, len)` and appends the recovery record that says so.
    fn cut(
        &mut self,
        tail: Tail,
        keep: u64,
        len: u64,
        reason: TornReason,
    ) -> Result<Recovery, AuditError> {
        let cut_digest = self.digest_range(keep, len)?;
        self.state.last_write = None;
        self.file
            .set_len(keep)
            .map_err(|e| self.io("cannot cut the torn end of the audit trail", e))?;
        self.len = keep;
        let body = Body::Recovery(RecoveryBody {
            kind: KIND_RECOVERY,
            reason: reason.as_str(),
            offset: keep,
            cut_bytes: len - keep,
            cut_digest: &cut_digest,
        });
        let written = self.write(tail, body)?;
        // A cut is destructive: make it and its record durable whatever the policy.
        self.sync()?;
        Ok(Recovery {
            reason,
            offset: keep,
            cut_bytes: len - keep,
            cut_digest,
            record: RecordId {
                seq: written.seq,
                hash: written.hash,
            },
        })
    }

    /// Writes one record after `tail` with one write; returns the new tail.
    fn write(&mut self, tail: Tail, body: Body<'_>) -> Result<Tail, AuditError> {
        let signs = matches!(body, Body::Checkpoint(_));
        let seq = tail.seq + 1;
        let ts = format_rfc3339_millis(SystemTime::now());
        let prev = format_hash(&tail.hash);
        let buf = &mut self.state.buf;
        buf.clear();
        let line = Line {
            seq,
            ts: &ts,
            prev: &prev,
            body,
        };
        serde_json::to_writer(&mut *buf, &line)
            .expect("records hold strings, integers and JSON values, which always serialize");
        let tail = Tail {
            seq,
            hash: sha256(buf),
        };
        buf.push(b'\n');
        self.flush(tail, 1)?;
        self.state.unsigned = !signs;
        Ok(tail)
    }

    /// Writes the bodies of a batch after `tail`, chained in order, with
    /// one write (and another after each checkpoint that falls among them).
    fn write_bodies(
        &mut self,
        mut tail: Tail,
        batch: &[Pending],
    ) -> Result<Vec<RecordId>, AuditError> {
        let ts = Timestamp::now();
        let ts = ts.as_str();
        let records: usize = batch.iter().map(|pending| pending.records).sum();
        let mut ids = Vec::with_capacity(records);
        self.state.buf.clear();
        let mut lines = 0;
        for body in batch.iter().flat_map(Pending::bodies) {
            tail = push_line(&mut self.state.buf, tail, ts, body);
            lines += 1;
            ids.push(RecordId {
                seq: tail.seq,
                hash: tail.hash,
            });
            if self.checkpoint_due(tail) {
                // The checkpoint signs this record: it must be written first.
                self.flush(tail, lines)?;
                lines = 0;
                tail = self.checkpoint_if_due(tail)?;
                self.state.buf.clear();
            }
        }
        if lines > 0 {
            self.flush(tail, lines)?;
            self.state.unsigned = true;
        }
        self.state.stats.records += records as u64;
        self.state.stats.batches += 1;
        Ok(ids)
    }

    /// Writes the buffered `lines` (ending with `tail`) with one write.
    fn flush(&mut self, tail: Tail, lines: u32) -> Result<(), AuditError> {
        let mut file = self.file;
        self.state.last_write = None;
        if let Err(e) = file.write_all(&self.state.buf) {
            return Err(self.io(&format!("cannot append record {}", tail.seq), e));
        }
        self.state.unsynced = self.state.unsynced.saturating_add(lines);
        self.len += self.state.buf.len() as u64;
        self.state.last_write = Some((self.len, tail));
        self.state.locked_since_write = true;
        Ok(())
    }

    fn checkpoint_due(&self, tail: Tail) -> bool {
        self.options
            .checkpoint
            .as_ref()
            .is_some_and(|checkpoint| tail.seq.is_multiple_of(checkpoint.every))
    }

    /// After `tail`, writes a signed checkpoint if one is due, then the sidecar.
    fn checkpoint_if_due(&mut self, tail: Tail) -> Result<Tail, AuditError> {
        let options = self.options;
        let Some(checkpoint) = &options.checkpoint else {
            return Ok(tail);
        };
        if !tail.seq.is_multiple_of(checkpoint.every) {
            return Ok(tail);
        }
        self.checkpoint(checkpoint, tail)
    }

    /// After `tail`, writes a checkpoint signing it, then the sidecar.
    fn checkpoint(
        &mut self,
        checkpoint: &CheckpointOptions,
        tail: Tail,
    ) -> Result<Tail, AuditError> {
        let options = self.options;
        let signed = checkpoint::sign(&checkpoint.signing_key, tail.seq, &tail.hash);
        let head = format_hash(&tail.hash);
        let body = Body::Checkpoint(CheckpointBody {
            kind: KIND_CHECKPOINT,
            seq: tail.seq,
            head: &head,
            key: &signed.key,
            sig: &signed.sig,
        });
        let written = self.write(tail, body)?;
        let durable = options.fsync != Fsync::Never;
        if durable {
            // The sidecar must never claim a record the disk may not have.
            self.sync()?;
        }
        let ts = format_rfc3339_millis(SystemTime::now());
        checkpoint::write_sidecar(self.path, tail.seq, &tail.hash, &ts, &signed, durable)?;
        Ok(written)
    }

    fn sync_if_due(&mut self) -> Result<(), AuditError> {
        let due = match self.options.fsync {
            Fsync::EveryRecord => self.state.unsynced > 0,
            Fsync::EveryN(n) => self.state.unsynced >= n,
            Fsync::Never => false,
        };
        if due { self.sync() } else { Ok(()) }
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        self.file
            .sync_data()
            .map_err(|e| self.io("cannot sync the audit trail", e))?;
        self.state.unsynced = 0;
        self.state.stats.syncs += 1;
        Ok(())
    }

    /// Reads backwards from `len` until the last complete line is in view.
    fn scan_tail(&self, len: u64) -> Result<TailScan, AuditError> {
        let mut window: u64 = 4096;
        loop {
            let start = len.saturating_sub(window);
            let data = self.read_range(start, len)?;
            let Some(newline) = data.iter().rposition(|&b| b == b'\n') else {
                if start > 0 {
                    window *= 2;
                    continue;
                }
                return Ok(TailScan {
                    complete_end: 0,
                    last_line: None,
                });
            };
            let line_start = match data[..newline].iter().rposition(|&b| b == b'\n') {
                Some(previous) => previous + 1,
                None if start > 0 => {
                    window *= 2;
                    continue;
                }
                None => 0,
            };
            return Ok(TailScan {
                complete_end: start + newline as u64 + 1,
                last_line: Some((
                    start + line_start as u64,
                    data[line_start..newline].to_vec(),
                )),
            });
        }
    }

    fn read_range(&self, start: u64, end: u64) -> Result<Vec<u8>, AuditError> {
        let mut file = self.file;
        let len = usize::try_from(end - start).expect("a window that fits in memory");
        let mut data = vec![0; len];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|e| self.io("cannot read the end of the audit trail", e))?;
        Ok(data)
    }

    fn digest_range(&self, start: u64, end: u64) -> Result<String, AuditError> {
        let mut file = self.file;
        let mut hasher = Sha256::new();
        file.seek(SeekFrom::Start(start))
            .and_then(|_| std::io::copy(&mut file.take(end - start), &mut HashWriter(&mut hasher)))
            .map_err(|e| self.io("cannot read the torn end of the audit trail", e))?;
        Ok(format_hash(&hasher.finalize().into()))
    }

    /// The 1-based line that starts at byte `offset` (only for error messages).
    fn line_number_at(&self, offset: u64) -> Option<u64> {
        let data = self.read_range(0, offset).ok()?;
        Some(data.iter().filter(|&&b| b == b'\n').count() as u64 + 1)
    }

    fn io(&self, doing: &str, e: std::io::Error) -> AuditError {
        AuditError::io(self.path, doing, e)
    }
}

/// Gives each caller of a written batch its records' outcome, waking all
/// but `own` (the writer's), whose outcome is returned. A failed batch
/// fails every record in it.
/// The batch is left empty (its capacity kept); the writer's bodies
/// buffer is kept for its next append.
fn deliver(batch: &mut Vec<Pending>, written: Outcome, own: &Arc<Waiter>) -> Outcome {
    if let [alone] = batch.as_slice()
        && Arc::ptr_eq(&alone.waiter, own)
    {
        // A lone caller's batch: the ids are all its own.
        let pending = batch.pop().expect("one");
        keep_bodies(pending.bodies);
        return written;
    }
    let mut ids = written.map(Vec::into_iter);
    let mut mine = None;
    for pending in batch.drain(..) {
        let outcome = match &mut ids {
            Ok(ids) => Ok(ids.by_ref().take(pending.records).collect()),
            Err(error) => Err(AuditError::new(error.kind(), error.path(), error.message())),
        };
        if Arc::ptr_eq(&pending.waiter, own) {
            keep_bodies(pending.bodies);
            mine = Some(outcome);
        } else {
            pending.waiter.finish(outcome);
        }
    }
    mine.expect("the writer of a batch queued its own records in it")
}

/// Room for a typical record's body, so serializing one does not grow the buffer.
const BODY_CAPACITY: usize = 320;

/// A buffer for this thread's next bodies: the last one's, emptied, or a new one.
fn spare_bodies() -> Vec<u8> {
    let mut bodies = SPARE_BODIES.take();
    bodies.clear();
    if bodies.capacity() == 0 {
        bodies.reserve(2 * BODY_CAPACITY);
    }
    bodies
}

/// Keeps `bodies` for this thread's next append, unless a large record
/// grew it (then it is freed, so one large record does not pin memory).
fn keep_bodies(bodies: Vec<u8>) {
    if bodies.capacity() <= MAX_KEPT_BODIES {
        SPARE_BODIES.set(bodies);
    }
}

/// The largest bodies buffer a thread keeps between appends.
const MAX_KEPT_BODIES: usize = 16 * 1024;

fn serialize_into(out: &mut Vec<u8>, event: &AuditEvent<'_>) {
    encode::write_event(out, event);
}

/// Appends the line of the record after `tail` to `buf`: the chain fields,
/// then the fields of `body` (one serialized JSON object), then a newline.
/// The bytes are those of serializing [`Line`] whole (a test holds this).
fn push_line(buf: &mut Vec<u8>, tail: Tail, ts: &str, body: &[u8]) -> Tail {
    let seq = tail.seq + 1;
    let start = buf.len();
    buf.extend_from_slice(b"{\"seq\":");
    encode::push_u64(buf, seq);
    // A timestamp and a hash hold nothing JSON escapes: copied as they are.
    buf.extend_from_slice(b",\"ts\":\"");
    buf.extend_from_slice(ts.as_bytes());
    buf.extend_from_slice(b"\",\"prev\":\"");
    push_hash(buf, &tail.hash);
    buf.push(b'"');
    match body.strip_prefix(b"{") {
        // A body with fields: they follow the chain fields.
        Some(fields) if fields != b"}" => {
            buf.push(b',');
            buf.extend_from_slice(fields);
        }
        _ => buf.push(b'}'),
    }
    let hash = sha256(&buf[start..]);
    buf.push(b'\n');
    Tail { seq, hash }
}

/// The last line as something to chain onto, if it is a record.
fn parse_tail(line: &[u8]) -> Option<Tail> {
    let record = StoredRecord::parse(line)?;
    Some(Tail {
        seq: record.seq,
        hash: sha256(line),
    })
}

struct HashWriter<'h>(&'h mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::Caller;
    use crate::audit::{Decision, FindingKind, Outcome, digest, verify};

    fn events() -> Vec<AuditEvent<'static>> {
        let caller: &'static Caller = Box::leak(Box::new(Caller {
            client: Some("inspector \"quoted\"".into()),
            request_id: Some("7".into()),
            ..Caller::default()
        }));
        let args: &'static serde_json::Value =
            Box::leak(Box::new(serde_json::json!({"path": "a\nb", "n": 1})));
        let args_digest: &'static str = Box::leak(digest(b"{}").into_boxed_str());
        vec![
            AuditEvent::Decision {
                tool: "fs_read",
                call_id: "c1",
                caller: Some(caller),
                decision: Decision::Allow,
                rule: Some("fs.read = [\"notes/**\"]"),
                reason: Some("the policy allows `fs_read`"),
                approver: None,
                args_digest,
                args: Some(args),
            },
            AuditEvent::Result {
                tool: "fs_read",
                call_id: "c1",
                caller: None,
                outcome: Outcome::Error,
                error_type: Some("timeout"),
                duration: std::time::Duration::from_micros(1234),
                output_bytes: 0,
                output_digest: None,
                args_digest: Some(args_digest),
            },
        ]
    }

    /// A trail opened with `options` in a fresh temporary directory (kept
    /// alive by the returned guard), and the path of its file.
    fn open_trail(options: AuditOptions) -> (tempfile::TempDir, PathBuf, AuditTrail) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("audit.jsonl");
        let (trail, _) = AuditTrail::open(&path, options).expect("opens");
        (dir, path, trail)
    }

    /// Runs `work` on `threads` threads sharing `trail`, and gathers what each returned.
    fn on_threads<T: Send + 'static>(
        trail: &Arc<AuditTrail>,
        threads: usize,
        work: fn(&AuditTrail) -> T,
    ) -> Vec<T> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let trail = Arc::clone(trail);
                std::thread::spawn(move || work(&trail))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("no panic"))
            .collect()
    }

    fn assert_intact(path: &Path) {
        let report = verify(path, None).expect("verifies");
        assert_eq!(
            report.status(),
            crate::audit::VerifyStatus::Intact,
            "{report:?}"
        );
    }

    #[test]
    fn a_line_built_from_a_serialized_body_is_the_line_serialized_whole() {
        let tail = Tail {
            seq: 41,
            hash: sha256(b"previous"),
        };
        let ts = "2026-12-02T03:04:05.678Z";
        for event in events() {
            let whole = serde_json::to_vec(&Line {
                seq: 42,
                ts,
                prev: &format_hash(&tail.hash),
                body: Body::Event(&event),
            })
            .expect("serializes");
            let body = serde_json::to_vec(&Body::Event(&event)).expect("serializes");
            let mut built = Vec::new();
            let next = push_line(&mut built, tail, ts, &body);
            assert_eq!(
                String::from_utf8_lossy(&built[..built.len() - 1]),
                String::from_utf8_lossy(&whole)
            );
            assert_eq!(built.last(), Some(&b'\n'));
            assert_eq!(next.seq, 42);
            assert_eq!(next.hash, sha256(&whole));
        }
    }

    #[test]
    fn concurrent_appends_share_batches_and_fsyncs_and_the_chain_stays_whole() {
        let (_dir, path, trail) =
            open_trail(AuditOptions::default().with_fsync(Fsync::EveryRecord));
        let trail = Arc::new(trail);
        const THREADS: usize = 16;
        const PER_THREAD: usize = 50;
        let mut seqs: Vec<u64> = on_threads(&trail, THREADS, |trail| {
            let events = events();
            let appended = events.iter().cycle().take(PER_THREAD);
            appended
                .map(|event| trail.append(event).expect("appends").seq())
                .collect::<Vec<u64>>()
        })
        .concat();
        seqs.sort_unstable();
        let total = (THREADS * PER_THREAD) as u64;
        assert_eq!(
            seqs,
            (1..=total).collect::<Vec<_>>(),
            "each record has its own place"
        );
        let stats = trail.commit_stats();
        assert_eq!(stats.records, total);
        assert!(stats.syncs <= stats.batches, "{stats:?}");
        assert!(stats.syncs >= 1, "{stats:?}");
        assert_intact(&path);
        let text = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(text.lines().count() as u64, total);
    }

    /// The call id of each record in the trail at `path`, by sequence number.
    fn call_ids(path: &Path) -> HashMap<u64, String> {
        let text = std::fs::read_to_string(path).expect("reads");
        text.lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).expect("a record");
                let seq = record["seq"].as_u64().expect("a seq");
                let id = record["gen_ai.tool.call.id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                (seq, id)
            })
            .collect()
    }

    #[test]
    fn each_concurrent_caller_gets_the_ids_of_its_own_records() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        const THREADS: usize = 16;
        const PER_THREAD: usize = 40;
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let trail = Arc::clone(&trail);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for n in 0..PER_THREAD {
                        let call_id = format!("t{thread}-{n}");
                        let [decision, result] = events_for(&call_id);
                        if n % 2 == 0 {
                            let id = trail.append(&decision).expect("appends");
                            mine.push((id.seq(), call_id));
                        } else {
                            let ids = trail.append_all(&[&decision, &result]).expect("appends");
                            assert_eq!(ids.len(), 2);
                            assert_eq!(ids[1].seq(), ids[0].seq() + 1, "adjacent");
                            mine.extend(ids.iter().map(|id| (id.seq(), call_id.clone())));
                        }
                    }
                    mine
                })
            })
            .collect();
        let returned: Vec<(u64, String)> = handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("no panic"))
            .collect();
        let total = THREADS * (PER_THREAD / 2 + PER_THREAD / 2 * 2);
        assert_eq!(returned.len(), total);
        let on_file = call_ids(&path);
        assert_eq!(on_file.len(), total, "every record written once");
        for (seq, call_id) in &returned {
            assert_eq!(
                on_file.get(seq),
                Some(call_id),
                "record {seq} is its caller's"
            );
        }
        assert_eq!(trail.commit_stats().records, total as u64);
        assert_intact(&path);
    }

    /// A decision and a result for `call_id`, as the executor writes them.
    fn events_for(call_id: &str) -> [AuditEvent<'_>; 2] {
        let [decision, result] = <[AuditEvent<'static>; 2]>::try_from(events()).expect("two");
        let AuditEvent::Decision {
            tool,
            caller,
            decision,
            rule,
            reason,
            approver,
            args_digest,
            args,
            ..
        } = decision
        else {
            unreachable!("the first is a decision")
        };
        let AuditEvent::Result {
            outcome,
            error_type,
            duration,
            output_bytes,
            output_digest,
            ..
        } = result
        else {
            unreachable!("the second is a result")
        };
        [
            AuditEvent::Decision {
                tool,
                call_id,
                caller,
                decision,
                rule,
                reason,
                approver,
                args_digest,
                args,
            },
            AuditEvent::Result {
                tool,
                call_id,
                caller: None,
                outcome,
                error_type,
                duration,
                output_bytes,
                output_digest,
                args_digest: Some(args_digest),
            },
        ]
    }

    /// Polls `done` until it holds (a test's threads reaching a point).
    fn until(done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn callers_queued_behind_a_batch_are_all_written_by_the_next_one_and_all_woken() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        // Holding the handle's writer mutex stops the first batch midway.
        let stalled = trail.inner();
        let first = {
            let trail = Arc::clone(&trail);
            std::thread::spawn(move || trail.append(&events()[0]).expect("appends").seq())
        };
        until(|| trail.queue().writing);
        const QUEUED: usize = 15;
        let queued: Vec<_> = (0..QUEUED)
            .map(|_| {
                let trail = Arc::clone(&trail);
                std::thread::spawn(move || trail.append(&events()[1]).expect("appends").seq())
            })
            .collect();
        until(|| trail.queue().waiting.len() == QUEUED);
        drop(stalled);
        assert_eq!(first.join().expect("no panic"), 1);
        let mut seqs: Vec<u64> = queued
            .into_iter()
            .map(|handle| handle.join().expect("no panic"))
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (2..=16).collect::<Vec<u64>>());
        let stats = trail.commit_stats();
        assert_eq!(
            stats.batches, 2,
            "everything queued behind the first batch went in one: {stats:?}"
        );
        assert!(!trail.queue().writing, "no batch left under way");
        assert_intact(&path);
    }

    #[test]
    fn a_failed_batch_fails_every_caller_in_it_and_the_next_batch_writes_again() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        assert_eq!(trail.append(&events()[0]).expect("appends").seq(), 1);
        // The lingering lock belongs to the file about to be set aside.
        until(|| lockable(&path));
        // A read-only handle in place of the trail's file: every `write` fails.
        let stalled = {
            let mut inner = trail.inner();
            let read_only = File::open(&path).expect("opens");
            let writable = std::mem::replace(&mut inner.file, read_only);
            (inner, writable)
        };
        let (inner, writable) = stalled;
        let first = {
            let trail = Arc::clone(&trail);
            std::thread::spawn(move || trail.append(&events()[0]).map(|id| id.seq()))
        };
        until(|| trail.queue().writing);
        let queued: Vec<_> = (0..7)
            .map(|_| {
                let trail = Arc::clone(&trail);
                std::thread::spawn(move || {
                    let events = events();
                    trail
                        .append_all(&[&events[0], &events[1]])
                        .map(|ids| ids.len())
                })
            })
            .collect();
        until(|| trail.queue().waiting.len() == 7);
        drop(inner);
        let error = first
            .join()
            .expect("no panic")
            .expect_err("the write failed");
        assert_eq!(error.kind(), AuditErrorKind::Io, "{error}");
        for handle in queued {
            handle
                .join()
                .expect("no panic")
                .expect_err("the write failed");
        }
        assert!(!trail.queue().writing, "no batch left under way");
        trail.inner().file = writable;
        assert_eq!(trail.append(&events()[1]).expect("appends").seq(), 2);
        assert_intact(&path);
    }

    #[test]
    fn a_batch_that_panics_fails_its_callers_and_the_next_append_still_works() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        assert_eq!(trail.append(&events()[0]).expect("appends").seq(), 1);
        // Callers queue behind the batch that will panic.
        let stalled = trail.inner();
        trail.panic_in_batch.store(true, Ordering::Relaxed);
        let first = {
            let trail = Arc::clone(&trail);
            std::thread::spawn(move || trail.append(&events()[0]).map(|id| id.seq()))
        };
        until(|| trail.queue().writing);
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let trail = Arc::clone(&trail);
                std::thread::spawn(move || trail.append(&events()[1]).map(|id| id.seq()))
            })
            .collect();
        until(|| trail.queue().waiting.len() == 3);
        drop(stalled);
        let error = first
            .join()
            .expect("the panic is caught")
            .expect_err("panicked");
        assert_eq!(error.kind(), AuditErrorKind::Panicked, "{error}");
        // The queued callers went either into the failed batch or the next.
        for handle in queued {
            match handle.join().expect("no panic") {
                Ok(seq) => assert!(seq >= 2),
                Err(error) => assert_eq!(error.kind(), AuditErrorKind::Panicked),
            }
        }
        assert!(!trail.queue().writing, "no batch left under way");
        let next = trail.append(&events()[1]).expect("appends after a panic");
        assert!(next.seq() >= 2);
        drop(Arc::into_inner(trail).expect("the threads are done"));
        assert!(lockable(&path), "the lock was given up");
        assert_intact(&path);
    }

    /// Whether another open file description could lock the trail now.
    fn lockable(path: &Path) -> bool {
        let other = File::open(path).expect("opens");
        let free = other.try_lock().is_ok();
        if free {
            other.unlock().expect("unlocks");
        }
        free
    }

    #[test]
    fn the_lock_lingers_until_the_handle_is_idle_and_another_writer_is_chained_onto_after() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let (other, _) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
        let event = &events()[0];
        // The keeper gives the lock up after a tick of idleness, which a
        // loaded machine may let pass before the test looks: look a few times.
        let kept = (1..=20).any(|seq| {
            assert_eq!(trail.append(event).expect("appends").seq(), seq);
            // Holding the handle's mutex keeps the keeper from giving the lock up.
            let inner = trail.inner();
            inner.held && !lockable(&path)
        });
        assert!(kept, "the lock is kept after a batch");
        // The lock is given up once the handle has been idle.
        until(|| lockable(&path));
        let head = trail.inner().state.last_write.expect("written").1.seq;
        // Another writer (as another process would) appends between two
        // batches of this handle; the next batch chains onto its record.
        assert_eq!(other.append(event).expect("appends").seq(), head + 1);
        assert_eq!(trail.append(event).expect("appends").seq(), head + 2);
        assert_eq!(other.append(event).expect("appends").seq(), head + 3);
        drop(other);
        until(|| lockable(&path));
        assert_intact(&path);
    }

    #[test]
    fn back_to_back_batches_take_the_lock_once_and_ask_no_length() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let event = &events()[1];
        let before = trail.commit_stats().locks;
        for _ in 0..100 {
            trail.append(event).expect("appends");
        }
        let stats = trail.commit_stats();
        // The keeper may give the lock up if this thread is descheduled for
        // a tick, so allow a few re-takes on a loaded machine.
        assert!(stats.locks - before < 20, "{stats:?}");
        drop(trail);
        assert_intact(&path);
    }

    #[test]
    fn under_constant_load_the_lock_is_given_up_within_its_bound() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (trail, stop) = (Arc::clone(&trail), Arc::clone(&stop));
            std::thread::spawn(move || {
                let event = &events()[1];
                while !stop.load(Ordering::Relaxed) {
                    trail.append(event).expect("appends");
                }
            })
        };
        until(|| trail.commit_stats().records > 10);
        // Another open file description waits for the lock, as another
        // process would: it gets it while the writer keeps appending.
        let other = File::open(&path).expect("opens");
        for _ in 0..3 {
            let started = std::time::Instant::now();
            other.lock_shared().expect("locks");
            let waited = started.elapsed();
            other.unlock().expect("unlocks");
            assert!(waited < Duration::from_secs(5), "waited {waited:?}");
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().expect("no panic");
        // Batches alone (no keeper) give the lock up after their bound too.
        let event = &events()[1];
        let locks = trail.commit_stats().locks;
        for _ in 0..2 * MAX_HELD_BATCHES + 1 {
            trail.append(event).expect("appends");
        }
        assert!(trail.commit_stats().locks >= locks + 2);
        drop(Arc::into_inner(trail).expect("the writer is done"));
        assert_intact(&path);
    }

    #[test]
    fn dropping_the_handle_gives_the_lock_up_at_once() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        trail.append(&events()[0]).expect("appends");
        let held = trail.inner().held;
        assert!(held || lockable(&path));
        drop(trail);
        assert!(lockable(&path), "released by the drop, not by the keeper");
    }

    #[test]
    fn append_all_writes_its_records_adjacent_and_in_order() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let trail = Arc::new(trail);
        on_threads(&trail, 8, |trail| {
            let events = events();
            for _ in 0..20 {
                let ids = trail
                    .append_all(&[&events[0], &events[1]])
                    .expect("appends");
                assert_eq!(ids[1].seq(), ids[0].seq() + 1);
            }
        });
        let stats = trail.commit_stats();
        assert_eq!(stats.records, 8 * 20 * 2);
        let text = std::fs::read_to_string(&path).expect("reads");
        for pair in text.lines().collect::<Vec<_>>().chunks(2) {
            assert!(pair[0].contains("\"kind\":\"decision\""), "{}", pair[0]);
            assert!(pair[1].contains("\"kind\":\"result\""), "{}", pair[1]);
        }
        assert_intact(&path);
    }

    #[test]
    fn append_all_of_one_to_four_records_writes_each_body_whole_and_in_order() {
        let (_dir, path, trail) = open_trail(AuditOptions::default());
        let events = events();
        let mut bodies = Vec::new();
        for n in 1..=4 {
            let chosen: Vec<&AuditEvent<'_>> = events.iter().cycle().take(n).collect();
            let ids = trail.append_all(&chosen).expect("appends");
            assert_eq!(ids.len(), n);
            for event in chosen {
                let mut body = Vec::new();
                serialize_into(&mut body, event);
                bodies.push(String::from_utf8(body).expect("UTF-8"));
            }
        }
        let text = std::fs::read_to_string(&path).expect("reads");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), bodies.len());
        for (line, body) in lines.iter().zip(&bodies) {
            // The chain fields, then the body's fields.
            assert!(
                line.ends_with(&body[1..]),
                "{line} does not end with {body}"
            );
        }
        assert_intact(&path);
    }

    #[test]
    fn a_checkpoint_inside_a_batch_follows_the_record_it_signs() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let (_dir, path, trail) = open_trail(AuditOptions::default().with_checkpoints(3, key));
        let trail = Arc::new(trail);
        on_threads(&trail, 8, |trail| {
            for event in events() {
                trail.append(&event).expect("appends");
            }
        });
        let text = std::fs::read_to_string(&path).expect("reads");
        for (n, line) in text.lines().enumerate() {
            let is_checkpoint = line.contains("\"kind\":\"checkpoint\"");
            // Records 1-3, a checkpoint (4), records 5-6, a checkpoint (7), ...
            let line_no = n + 1;
            assert_eq!(
                is_checkpoint,
                line_no > 1 && line_no % 3 == 1,
                "line {line_no}: {line}"
            );
        }
        // Closing signs the records after the last checkpoint.
        Arc::into_inner(trail)
            .expect("the threads are done")
            .close()
            .expect("closes");
        assert_intact(&path);
    }

    /// Writes `records` records to a fresh trail, then appends `extra` to
    /// the file as a killed writer would leave it.
    fn trail_with_end(records: usize, extra: &[u8]) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let (dir, path, trail) = open_trail(AuditOptions::default());
        for n in 0..records {
            trail.append(&events()[n % 2]).expect("appends");
        }
        drop(trail);
        let whole = std::fs::read(&path).expect("reads");
        let mut damaged = whole.clone();
        damaged.extend_from_slice(extra);
        std::fs::write(&path, &damaged).expect("writes");
        (dir, path, whole)
    }

    #[test]
    fn a_zero_tail_is_the_end_of_the_trail_for_verify_and_report() {
        let (_dir, path, _) = trail_with_end(4, &[0; 3 * ZERO_SCAN_WINDOW + 17]);
        let report = verify(&path, None).expect("verifies");
        assert_eq!(
            report.status(),
            crate::audit::VerifyStatus::Intact,
            "{report:?}"
        );
        assert_eq!((report.lines, report.last_seq), (4, Some(4)));
        let usage =
            crate::audit::report(&path, &crate::audit::ReportFilter::default()).expect("reports");
        assert_eq!((usage.records, usage.skipped), (4, 0), "{usage:?}");
    }

    #[test]
    fn content_end_finds_the_last_byte_before_zeros_across_every_window_edge() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ends");
        let edges = [512, 512 + 1024, 512 + 1024 + 2048];
        let lengths = edges
            .iter()
            .flat_map(|&edge| [edge - 1, edge, edge + 1])
            .chain([0, 1, 3 * ZERO_SCAN_WINDOW + 5]);
        for content in [0, 1, 700] {
            for zeros in lengths.clone() {
                let mut bytes = vec![b'x'; content];
                bytes.resize(content + zeros, 0);
                std::fs::write(&path, &bytes).expect("writes");
                let file = File::open(&path).expect("opens");
                let end = content_end(&file, bytes.len() as u64).expect("reads");
                assert_eq!(end, content as u64, "{content} bytes, then {zeros} zeros");
            }
        }
    }

    #[test]
    fn a_trail_of_zeros_only_is_empty() {
        let (_dir, path, _) = trail_with_end(0, &[0; 4096]);
        let report = verify(&path, None).expect("verifies");
        assert_eq!((report.lines, report.last_seq), (0, None), "{report:?}");
        let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
        assert_eq!(
            opened,
            OpenReport {
                recovery: None,
                head: None
            }
        );
        assert_eq!(trail.append(&events()[0]).expect("appends").seq(), 1);
        drop(trail);
        assert_intact(&path);
    }

    #[test]
    fn an_appender_continues_after_a_zero_tail_and_trims_it_losing_nothing() {
        let (_dir, path, whole) = trail_with_end(3, &[0; 10_000]);
        let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
        assert_eq!(opened.recovery, None, "zeros are no torn write");
        assert_eq!(opened.head.map(|head| head.seq()), Some(3));
        assert_eq!(
            std::fs::metadata(&path).expect("stat").len(),
            whole.len() as u64,
            "the zeros are trimmed on open"
        );
        assert_eq!(trail.append(&events()[1]).expect("appends").seq(), 4);
        drop(trail);
        let after = std::fs::read(&path).expect("reads");
        assert!(
            after.starts_with(&whole),
            "nothing before the zeros was lost"
        );
        assert!(!after.contains(&0), "no zero left in the file");
        assert_intact(&path);
    }

    #[test]
    fn a_fragment_before_a_zero_tail_is_a_torn_write_of_the_fragment_alone() {
        let (_dir, path, whole) = trail_with_end(2, b"{\"seq\":3,\"ts\"\0\0\0\0\0\0\0\0");
        let report = verify(&path, None).expect("verifies");
        assert_eq!(
            report.of_kind(FindingKind::TornTail).count(),
            1,
            "{report:?}"
        );
        let (_trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
        let recovery = opened.recovery.expect("the fragment is cut");
        assert_eq!(recovery.reason, TornReason::NoTrailingNewline);
        assert_eq!(recovery.offset, whole.len() as u64);
        assert_eq!(recovery.cut_bytes, 13, "the fragment, not its zeros");
    }

    #[test]
    fn an_fsync_setting_reads_back_from_its_name_and_bad_text_is_refused() {
        for fsync in [
            Fsync::EveryRecord,
            Fsync::EveryN(1),
            Fsync::EveryN(u32::MAX),
            Fsync::Never,
        ] {
            assert_eq!(fsync.to_string().parse::<Fsync>(), Ok(fsync));
        }
        assert_eq!("100".parse::<Fsync>(), Ok(Fsync::EveryN(100)));
        for bad in [
            "0",
            "-1",
            "4294967296",
            "",
            "always",
            "Never",
            " never",
            "1.5",
        ] {
            let err = bad.parse::<Fsync>().expect_err(bad);
            assert!(err.contains("never"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_reader_sees_the_torn_end_it_opened_even_if_a_writer_cuts_it_meanwhile() {
        // A fragment alone, and an invalid last line followed by a fragment
        // (the recovery cuts both): the reader opened before the cut reads
        // the bytes it opened, not the recovery record written over them.
        for torn in [&b"{\"seq\":3,\"ts\""[..], b"{\"seq\":3}\n{\"seq\":4"] {
            let (_dir, path, whole) = trail_with_end(2, torn);
            let before = std::fs::read(&path).expect("reads");
            let mut reader = open_committed(&path).expect("opens for reading");
            let (trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
            assert!(opened.recovery.is_some(), "the writer cut the torn end");
            trail.append(&events()[0]).expect("appends");
            drop(trail);
            let after = std::fs::read(&path).expect("reads");
            assert_ne!(
                after[whole.len()..],
                before[whole.len()..],
                "the end was rewritten"
            );
            let mut read = Vec::new();
            reader.read_to_end(&mut read).expect("reads");
            assert_eq!(read, before, "the snapshot the reader opened");
        }
    }

    #[test]
    fn the_last_lines_start_after_the_newline_before_them_across_window_edges() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lines");
        for first in [
            0,
            1,
            FIRST_SCAN_WINDOW - 2,
            FIRST_SCAN_WINDOW - 1,
            FIRST_SCAN_WINDOW,
            3 * FIRST_SCAN_WINDOW,
        ] {
            for last in [
                1,
                FIRST_SCAN_WINDOW - 1,
                FIRST_SCAN_WINDOW,
                FIRST_SCAN_WINDOW + 1,
            ] {
                for ends_in_newline in [true, false] {
                    // "x…\n" `first` long, then "y…\n", then the last line.
                    let mut bytes = vec![b'x'; first];
                    bytes.push(b'\n');
                    let second = bytes.len() as u64;
                    bytes.extend_from_slice(b"yy\n");
                    let third = bytes.len() as u64;
                    bytes.extend(std::iter::repeat_n(b'z', last));
                    if ends_in_newline {
                        bytes.push(b'\n');
                    }
                    std::fs::write(&path, &bytes).expect("writes");
                    let file = File::open(&path).expect("opens");
                    let end = bytes.len() as u64;
                    let case = (first, last, ends_in_newline);
                    assert_eq!(
                        last_lines_start(&file, end, 1).expect("reads"),
                        third,
                        "{case:?}"
                    );
                    assert_eq!(
                        last_lines_start(&file, end, 2).expect("reads"),
                        second,
                        "{case:?}"
                    );
                    assert_eq!(
                        last_lines_start(&file, end, 3).expect("reads"),
                        0,
                        "{case:?}"
                    );
                    assert_eq!(
                        last_lines_start(&file, end, 4).expect("reads"),
                        0,
                        "{case:?}"
                    );
                }
            }
        }
        let file = File::open(&path).expect("opens");
        assert_eq!(
            last_lines_start(&file, 0, 2).expect("reads"),
            0,
            "an empty trail"
        );
    }

    #[test]
    fn a_nul_inside_a_line_is_still_damage() {
        // Inside the last line: a torn write, cut and recorded.
        let (_dir, path, whole) = trail_with_end(2, b"{\"seq\":3\0\0}\n\0\0\0");
        let (_trail, opened) = AuditTrail::open(&path, AuditOptions::default()).expect("opens");
        let recovery = opened.recovery.expect("the line is cut");
        assert_eq!(recovery.reason, TornReason::InvalidLastLine);
        assert_eq!(recovery.offset, whole.len() as u64);
        // Inside a line in the middle: a modified record.
        let (_dir, path, _) = trail_with_end(3, &[]);
        let mut bytes = std::fs::read(&path).expect("reads");
        let second = bytes.iter().position(|&b| b == b'\n').expect("a line") + 5;
        bytes[second] = 0;
        std::fs::write(&path, &bytes).expect("writes");
        let report = verify(&path, None).expect("verifies");
        assert_eq!(
            report.of_kind(FindingKind::RecordModified).count(),
            1,
            "{report:?}"
        );
    }
}
