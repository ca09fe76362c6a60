//! Counters and latency histograms per tool, readable from the library.
//!
//! One slot of atomic counters per linked tool (found through the registry's
//! index), plus one shared by every unknown name, so counting a call takes no
//! lock and no allocation, and a model cannot grow the table.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{ErrorKind, Registry};

/// Upper bounds of the latency buckets, in microseconds (the last is open).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 10_000_000,
];

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
    /// Call counts per latency bucket ([`LATENCY_BUCKETS_US`], plus one overflow bucket).
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

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    ok: AtomicU64,
    by_kind: [AtomicU64; KINDS.len()],
    latency: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
}

pub(crate) struct Metrics {
    registry: &'static Registry,
    /// One per registry tool, in registry order; the last is for unknown names.
    slots: Box<[Counters]>,
}

impl Metrics {
    pub(crate) fn new(registry: &'static Registry) -> Metrics {
        Metrics {
            registry,
            slots: (0..=registry.len()).map(|_| Counters::default()).collect(),
        }
    }

    pub(crate) fn observe(&self, tool: &str, error: Option<ErrorKind>, duration: Duration) {
        let slot = self
            .registry
            .get(tool)
            .map_or(self.slots.len() - 1, |t| t.index());
        let counters = &self.slots[slot];
        counters.calls.fetch_add(1, Ordering::Relaxed);
        match error {
            None => counters.ok.fetch_add(1, Ordering::Relaxed),
            Some(kind) => {
                let at = KINDS
                    .iter()
                    .position(|k| *k == kind)
                    .unwrap_or(KINDS.len() - 1);
                counters.by_kind[at].fetch_add(1, Ordering::Relaxed)
            }
        };
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        counters.latency[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Every tool that was called at least once, by name.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, ToolMetrics> {
        let names = self
            .registry
            .tools()
            .map(|t| t.name())
            .chain([UNKNOWN_TOOL]);
        names
            .zip(self.slots.iter())
            .filter(|(_, counters)| counters.calls.load(Ordering::Relaxed) > 0)
            .map(|(name, counters)| {
                let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
                let mut errors = BTreeMap::new();
                for (kind, counter) in KINDS.iter().zip(&counters.by_kind) {
                    if *kind != ErrorKind::Denied && load(counter) > 0 {
                        errors.insert(kind.as_str(), load(counter));
                    }
                }
                let metrics = ToolMetrics {
                    calls: load(&counters.calls),
                    ok: load(&counters.ok),
                    denied: load(&counters.by_kind[KINDS.len() - 1]),
                    errors,
                    latency_histogram: counters.latency.iter().map(load).collect(),
                };
                (name.to_owned(), metrics)
            })
            .collect()
    }
}
