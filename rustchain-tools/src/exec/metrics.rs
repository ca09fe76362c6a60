//! Counters and latency histograms per tool, readable from the library.
//!
//! One slot of atomic counters per linked tool (found through the registry's
//! index), plus one shared by every unknown name, so counting a call takes no
//! lock and no allocation, and a model cannot grow the table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::{ErrorKind, Registry};

/// Upper bounds of the latency buckets, in microseconds (the last is open).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 10_000_000,
];

/// A synchronous call run on the caller's thread with no audit trail is
/// timed for the latency histogram once in this many calls on each thread.
pub const LATENCY_SAMPLE_EVERY: u32 = 16;

/// Whether this thread's next untimed call is the one in
/// [`LATENCY_SAMPLE_EVERY`] that is timed for the histogram anyway.
pub(crate) fn sample_latency() -> bool {
    thread_local! {
        static UNTIMED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    UNTIMED.with(|untimed| {
        let next = (untimed.get() + 1) % LATENCY_SAMPLE_EVERY;
        untimed.set(next);
        next == 0
    })
}

/// The key under which calls to unknown tool names are counted.
pub const UNKNOWN_TOOL: &str = "<unknown>";

/// What one tool's calls came to so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ToolMetrics {
    /// Every call that reached the tool's name.
    pub calls: u64,
    /// Calls that returned a result.
    pub ok: u64,
    /// Calls refused by the policy or a limit.
    pub denied: u64,
    /// Calls that ended in another error, by kind.
    pub errors: BTreeMap<&'static str, u64>,
    /// Call counts per latency bucket ([`LATENCY_BUCKETS_US`], plus one
    /// overflow bucket). Every call that is audited or runs on tokio is
    /// timed; a synchronous call run on the caller's thread is timed one time in
    /// [`LATENCY_SAMPLE_EVERY`] (two clock reads cost as much as the rest of a
    /// small call), so the buckets are a sample and may sum to less than `calls`.
    pub latency_histogram: Vec<u64>,
}

const KINDS: [ErrorKind; 6] = [
    ErrorKind::NotFound,
    ErrorKind::InvalidArguments,
    ErrorKind::Failed,
    ErrorKind::Timeout,
    ErrorKind::Cancelled,
    ErrorKind::Denied,
];

/// One call adds to `ok` or to one kind in `by_kind`, and to one latency
/// bucket when timed; the number of calls is their sum, not a counter of
/// its own (one atomic add less per call).
#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    /// Calls that returned a result and held the executor's spare gate
    /// (`exec::gate::SpareGate`) as they ended: one call holds it at a
    /// time, so this counter has one writer at a time and is added to by
    /// a plain load and store, where `ok` takes an atomic add (D-62).
    held_ok: AtomicU64,
    by_kind: [AtomicU64; KINDS.len()],
    latency: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    /// The latency buckets of the calls counted in `held_ok`, written like
    /// it by one writer at a time (D-71).
    held_latency: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
}

pub(crate) struct Metrics {
    registry: &'static Registry,
    /// One per linked tool, by its linked position; the last is for unknown names.
    slots: Box<[Counters]>,
    /// Tools registered at run time, which have no linked position; the
    /// names are the registry's, so a model cannot grow this either.
    registered: Mutex<BTreeMap<&'static str, Arc<Counters>>>,
}

impl Metrics {
    pub(crate) fn new(registry: &'static Registry) -> Metrics {
        Metrics {
            registry,
            slots: (0..=registry.linked().len())
                .map(|_| Counters::default())
                .collect(),
            registered: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn observe(&self, tool: &str, error: Option<ErrorKind>, duration: Duration) {
        let unknown = &self.slots[self.slots.len() - 1];
        let Some(found) = self.registry.get(tool) else {
            return unknown.add(error, Some(duration));
        };
        self.observe_at(
            found.linked_index(),
            found.name(),
            error,
            Some(duration),
            false,
        );
    }

    /// Counts a call of a tool already found: at its linked position
    /// `slot`, or by `tool`'s name if it was registered at run time.
    /// `duration` is `None` for a call that was not timed; `held` says
    /// the call holds the executor's spare gate (see `Counters::held_ok`).
    #[inline]
    pub(crate) fn observe_at(
        &self,
        slot: Option<usize>,
        tool: &str,
        error: Option<ErrorKind>,
        duration: Option<Duration>,
        held: bool,
    ) {
        match slot.and_then(|slot| self.slots.get(slot)) {
            Some(counters) if held && error.is_none() => counters.add_held_ok(duration),
            Some(counters) => counters.add(error, duration),
            None => self.observe_unlinked(tool, error, duration),
        }
    }

    /// [`Metrics::observe_at`] of a tool with no linked position.
    #[cold]
    fn observe_unlinked(&self, tool: &str, error: Option<ErrorKind>, duration: Option<Duration>) {
        let Some(found) = self.registry.get(tool) else {
            return self.slots[self.slots.len() - 1].add(error, duration);
        };
        let counters = Arc::clone(
            self.registered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(found.name())
                .or_default(),
        );
        counters.add(error, duration);
    }

    /// Every tool that was called at least once, by name.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, ToolMetrics> {
        let linked = self
            .registry
            .linked()
            .map(|t| t.name())
            .chain([UNKNOWN_TOOL])
            .zip(self.slots.iter());
        let registered = self
            .registered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        linked
            .chain(
                registered
                    .iter()
                    .map(|(name, counters)| (*name, &**counters)),
            )
            .filter(|(_, counters)| counters.calls() > 0)
            .map(|(name, counters)| (name.to_owned(), counters.snapshot()))
            .collect()
    }
}

impl Counters {
    /// Counts a call that returned a result, by its one writer at a time:
    /// the holder of the spare gate's place, whose taking it (an acquire
    /// compare-and-swap) follows the last holder's letting go (a release
    /// subtraction).
    #[inline]
    fn add_held_ok(&self, duration: Option<Duration>) {
        add_alone(&self.held_ok);
        if let Some(duration) = duration {
            add_alone(&self.held_latency[bucket(duration)]);
        }
    }

    #[inline]
    fn add(&self, error: Option<ErrorKind>, duration: Option<Duration>) {
        match error {
            None => self.ok.fetch_add(1, Ordering::Relaxed),
            Some(kind) => {
                let at = KINDS
                    .iter()
                    .position(|k| *k == kind)
                    .unwrap_or(KINDS.len() - 1);
                self.by_kind[at].fetch_add(1, Ordering::Relaxed)
            }
        };
        if let Some(duration) = duration {
            self.add_latency(duration);
        }
    }

    fn add_latency(&self, duration: Duration) {
        self.latency[bucket(duration)].fetch_add(1, Ordering::Relaxed);
    }

    /// Every call counted so far: those that returned and those that did not.
    fn calls(&self) -> u64 {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        self.by_kind.iter().map(load).sum::<u64>() + load(&self.ok) + load(&self.held_ok)
    }

    fn snapshot(&self) -> ToolMetrics {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        // Each counter read once, so `calls` is the sum of what is shown.
        let ok = load(&self.ok) + load(&self.held_ok);
        let by_kind = self.by_kind.each_ref().map(load);
        let mut errors = BTreeMap::new();
        for (kind, &count) in KINDS.iter().zip(&by_kind) {
            if *kind != ErrorKind::Denied && count > 0 {
                errors.insert(kind.as_str(), count);
            }
        }
        ToolMetrics {
            calls: ok + by_kind.iter().sum::<u64>(),
            ok,
            denied: by_kind[KINDS.len() - 1],
            errors,
            latency_histogram: self
                .latency
                .iter()
                .zip(&self.held_latency)
                .map(|(shared, held)| load(shared) + load(held))
                .collect(),
        }
    }
}

/// The latency bucket `duration` falls in.
fn bucket(duration: Duration) -> usize {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    LATENCY_BUCKETS_US
        .iter()
        .position(|&bound| micros <= bound)
        .unwrap_or(LATENCY_BUCKETS_US.len())
}

/// Adds one to a counter that has one writer at a time (see
/// `Counters::held_ok`): a plain load and store, no read-modify-write.
#[inline]
fn add_alone(counter: &AtomicU64) {
    let count = counter.load(Ordering::Relaxed);
    counter.store(count + 1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_the_sum_of_what_the_calls_came_to() {
        let metrics = Metrics::new(Registry::global());
        let outcomes = [
            None,
            None,
            Some(ErrorKind::Denied),
            Some(ErrorKind::Failed),
            Some(ErrorKind::Timeout),
        ];
        for error in outcomes {
            metrics.observe("no_such_tool", error, Duration::from_micros(20));
        }
        let seen = &metrics.snapshot()[UNKNOWN_TOOL];
        assert_eq!((seen.calls, seen.ok, seen.denied), (5, 2, 1));
        assert_eq!(seen.errors, BTreeMap::from([("failed", 1), ("timeout", 1)]));
        assert_eq!(seen.latency_histogram.iter().sum::<u64>(), 5);
    }

    #[test]
    fn calls_counted_by_the_spare_gates_holder_show_with_the_others() {
        let metrics = Metrics::new(Registry::global());
        // The last slot (unknown names') stands for a linked tool's.
        let slot = Some(Registry::global().linked().len());
        let tool = UNKNOWN_TOOL;
        metrics.observe_at(slot, tool, None, Some(Duration::from_micros(20)), true);
        metrics.observe_at(slot, tool, None, None, true);
        metrics.observe_at(slot, tool, None, Some(Duration::from_micros(20)), false);
        metrics.observe_at(slot, tool, Some(ErrorKind::Failed), None, true);
        let seen = &metrics.snapshot()[tool];
        assert_eq!((seen.calls, seen.ok), (4, 3));
        assert_eq!(
            seen.latency_histogram[1], 2,
            "both timed calls, in 10 to 50 us"
        );
        assert_eq!(seen.latency_histogram.iter().sum::<u64>(), 2);
    }
}
