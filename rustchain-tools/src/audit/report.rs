//! Usage per tool over a time window, read from the trail: what
//! `rustchain audit report` (and `--tool-operations`) prints.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use super::error::AuditError;
use super::record::{Decision, Outcome, StoredRecord};
use super::time::{format_rfc3339_millis, parse_rfc3339};
use super::trail::open_committed;

/// Calls, refusals, failures and latency of one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolUsage {
    /// The tool's name.
    pub tool: String,
    /// Calls seen: one per decision record, plus result records of calls
    /// whose decision falls outside the window.
    pub calls: u64,
    /// Calls refused: decisions `deny` or `ask_denied`, or results with
    /// `error.type` `denied`.
    pub denials: u64,
    /// Calls that ran (or were refused at decoding) and ended in an error
    /// other than a denial; timeouts included.
    pub errors: u64,
    /// Calls that ended with `error.type` `timeout`.
    pub timeouts: u64,
    /// Calls the policy let run: decisions `allow` and `ask_approved`.
    pub allowed: u64,
    /// Calls put to a person: decisions `ask_approved` and `ask_denied`.
    pub asked: u64,
    /// The errors (denials excluded) by `error.type`: `failed`, `timeout`,
    /// `invalid_arguments`, ...
    pub errors_by_kind: BTreeMap<String, u64>,
    /// When the tool's last record in the window was written.
    #[serde(serialize_with = "timestamp")]
    pub last_call: Option<SystemTime>,
    /// Median duration of the results (denials excluded); `None` without results.
    #[serde(rename = "p50_ms", serialize_with = "millis")]
    pub p50: Option<Duration>,
    /// 95th percentile duration (nearest rank).
    #[serde(rename = "p95_ms", serialize_with = "millis")]
    pub p95: Option<Duration>,
    /// 99th percentile duration (nearest rank).
    #[serde(rename = "p99_ms", serialize_with = "millis")]
    pub p99: Option<Duration>,
}

/// What [`report`] found, tool by tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    /// The start of the window (`None`: the whole trail).
    #[serde(serialize_with = "timestamp")]
    pub since: Option<SystemTime>,
    /// Records inside the window.
    pub records: u64,
    /// Lines skipped because they are not records (a torn tail, damage).
    pub skipped: u64,
    /// Per tool, by name.
    pub tools: Vec<ToolUsage>,
}

impl UsageReport {
    /// The usage of one tool, if it appears.
    pub fn tool(&self, name: &str) -> Option<&ToolUsage> {
        self.tools.iter().find(|usage| usage.tool == name)
    }
}

/// Which records a [`report`] counts; the default counts all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Only records stamped at or after this time.
    pub since: Option<SystemTime>,
    /// Only this tool's records.
    pub tool: Option<String>,
    /// Only records of calls made by this mission: its name (the records'
    /// `mission.id`, every run) or one run's id (`mission.run_id`).
    pub mission: Option<String>,
}

/// Reads the trail at `path` and sums up each tool's calls, allowed, denied
/// and asked calls, errors by kind, timeouts, p50/p95/p99 duration and last
/// call, over the records `filter` lets through.
///
/// This reads, it does not verify: run [`verify`](fn@super::verify) to trust the figures.
pub fn report(path: &Path, filter: &ReportFilter) -> Result<UsageReport, AuditError> {
    let since = filter.since;
    let mut reader = open_committed(path)?;
    let mut tally = Tally::default();
    let mut line = Vec::with_capacity(512);
    let mut line_no = 0u64;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|e| {
            AuditError::io(path, "cannot read the audit trail", e).at_line(line_no + 1)
        })?;
        if read == 0 {
            break;
        }
        line_no += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let record = StoredRecord::parse(&line);
        let Some((record, ts)) = record.and_then(|r| parse_rfc3339(&r.ts).map(|ts| (r, ts))) else {
            tally.skipped += 1;
            continue;
        };
        if since.is_some_and(|since| ts < since)
            || filter
                .tool
                .as_deref()
                .is_some_and(|tool| record.tool.as_deref() != Some(tool))
            || filter
                .mission
                .as_deref()
                .is_some_and(|mission| !record.is_of_mission(mission))
        {
            continue;
        }
        tally.add(&record, ts);
    }
    Ok(tally.finish(since))
}

#[derive(Default)]
struct Tally {
    records: u64,
    skipped: u64,
    tools: HashMap<String, ToolTally>,
}

#[derive(Default)]
struct ToolTally {
    usage: Counts,
    /// Calls with a decision and no result yet: whether the decision refused.
    open: HashMap<String, bool>,
    durations: Vec<Duration>,
    errors_by_kind: BTreeMap<String, u64>,
    last_call: Option<SystemTime>,
}

#[derive(Default)]
struct Counts {
    calls: u64,
    denials: u64,
    errors: u64,
    timeouts: u64,
    allowed: u64,
    asked: u64,
}

impl Tally {
    fn add(&mut self, record: &StoredRecord<'_>, ts: SystemTime) {
        self.records += 1;
        let (Some(tool), Some(call_id)) = (&record.tool, &record.call_id) else {
            return; // recovery and checkpoint records
        };
        let tally = match self.tools.get_mut(&**tool) {
            Some(tally) => tally,
            None => self.tools.entry(tool.to_string()).or_default(),
        };
        tally.last_call = tally.last_call.max(Some(ts));
        match &*record.kind {
            "decision" => {
                let verdict = record.decision.as_deref();
                let is = |decision: Decision| verdict == Some(decision.as_str());
                let denied = is(Decision::Deny) || is(Decision::AskDenied);
                tally.usage.calls += 1;
                tally.usage.denials += u64::from(denied);
                tally.usage.allowed += u64::from(is(Decision::Allow) || is(Decision::AskApproved));
                tally.usage.asked +=
                    u64::from(is(Decision::AskApproved) || is(Decision::AskDenied));
                tally.open.insert(call_id.to_string(), denied);
            }
            "result" => tally.add_result(record, call_id),
            _ => {}
        }
    }

    fn finish(self, since: Option<SystemTime>) -> UsageReport {
        let tools: BTreeMap<String, ToolTally> = self.tools.into_iter().collect();
        UsageReport {
            since,
            records: self.records,
            skipped: self.skipped,
            tools: tools
                .into_iter()
                .map(|(tool, tally)| tally.finish(tool))
                .collect(),
        }
    }
}

impl ToolTally {
    fn add_result(&mut self, record: &StoredRecord<'_>, call_id: &str) {
        let already_denied = match self.open.remove(call_id) {
            Some(denied) => denied,
            None => {
                self.usage.calls += 1;
                false
            }
        };
        let error_type = record.error_type.as_deref();
        if error_type == Some("denied") {
            self.usage.denials += u64::from(!already_denied);
            return;
        }
        if record.outcome.as_deref() == Some(Outcome::Error.as_str()) {
            self.usage.errors += 1;
            self.usage.timeouts += u64::from(error_type == Some("timeout"));
            *self
                .errors_by_kind
                .entry(error_type.unwrap_or("unknown").to_owned())
                .or_default() += 1;
        }
        if let Some(micros) = record.duration_us {
            self.durations.push(Duration::from_micros(micros));
        }
    }

    fn finish(mut self, tool: String) -> ToolUsage {
        self.durations.sort_unstable();
        let Counts {
            calls,
            denials,
            errors,
            timeouts,
            allowed,
            asked,
        } = self.usage;
        ToolUsage {
            tool,
            calls,
            denials,
            errors,
            timeouts,
            allowed,
            asked,
            errors_by_kind: self.errors_by_kind,
            last_call: self.last_call,
            p50: percentile(&self.durations, 50),
            p95: percentile(&self.durations, 95),
            p99: percentile(&self.durations, 99),
        }
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `p`% of the values at or below it.
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn millis<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_f64(duration.as_secs_f64() * 1000.0),
        None => serializer.serialize_none(),
    }
}

fn timestamp<S: Serializer>(time: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serializer.serialize_str(&format_rfc3339_millis(*time)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&ms, 95), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&ms, 99), Some(Duration::from_millis(99)));
        let one = [Duration::from_millis(7)];
        assert_eq!(percentile(&one, 50), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&one, 99), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 50), None);
    }
}
