//! Counters and latency histograms per tool, readable from the library.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::ErrorKind;

/// Upper bounds of the latency buckets, in microseconds (the last is open).
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 10_000_000,
];

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

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    tools: Mutex<BTreeMap<String, ToolMetrics>>,
}

impl Metrics {
    pub(crate) fn observe(&self, tool: &str, error: Option<ErrorKind>, duration: Duration) {
        let mut tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        if !tools.contains_key(tool) {
            tools.insert(
                tool.to_owned(),
                ToolMetrics {
                    latency_histogram: vec![0; LATENCY_BUCKETS_US.len() + 1],
                    ..ToolMetrics::default()
                },
            );
        }
        let Some(entry) = tools.get_mut(tool) else {
            return;
        };
        entry.calls += 1;
        match error {
            None => entry.ok += 1,
            Some(ErrorKind::Denied) => entry.denied += 1,
            Some(kind) => *entry.errors.entry(kind.as_str()).or_default() += 1,
        }
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        entry.latency_histogram[bucket] += 1;
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, ToolMetrics> {
        self.tools.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
