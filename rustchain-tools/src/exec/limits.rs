//! Rate limits per tool and budgets per session, counted by the executor.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use crate::policy::{Budget, Rate};

/// Calls and bytes used so far in this executor's session, and recent call times per tool.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    state: Mutex<Usage>,
}

#[derive(Debug, Default)]
struct Usage {
    calls: u64,
    bytes: u64,
    windows: HashMap<&'static str, VecDeque<Instant>>,
}

/// Which limit refused a call: the rule, and why in words.
pub(crate) type Refusal = (String, String);

impl Limiter {
    /// Admits one call of `tool` carrying `args_bytes`, or says which limit
    /// refuses it. Every limit is checked before any is counted, under one
    /// lock: a refused call spends nothing, and concurrent calls cannot all
    /// slip under a limit.
    pub(crate) fn admit(
        &self,
        tool: &'static str,
        rate: Option<Rate>,
        budget: Budget,
        args_bytes: u64,
    ) -> Result<(), Refusal> {
        if rate.is_none() && budget == Budget::default() {
            // Nothing to count against: the common call takes no lock.
            return Ok(());
        }
        let now = Instant::now();
        let mut usage = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rate) = rate {
            let window = usage.windows.entry(tool).or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= rate.per)
            {
                window.pop_front();
            }
            if window.len() >= rate.calls as usize {
                return Err((
                    format!("limits.tool.{tool}.rate"),
                    format!(
                        "`{tool}` may be called at most {} times per {:?}; wait before calling it again",
                        rate.calls, rate.per
                    ),
                ));
            }
        }
        if let Some(max) = budget.calls
            && usage.calls >= max
        {
            return Err((
                "limits.calls_per_session".to_owned(),
                format!("this session's budget of {max} calls is spent"),
            ));
        }
        if let Some(max) = budget.bytes
            && usage.bytes.saturating_add(args_bytes) > max
        {
            return Err((
                "limits.bytes_per_session".to_owned(),
                format!("this session's budget of {max} bytes is spent"),
            ));
        }
        if rate.is_some() {
            usage.windows.entry(tool).or_default().push_back(now);
        }
        usage.calls += 1;
        usage.bytes = usage.bytes.saturating_add(args_bytes);
        Ok(())
    }

    /// Counts a call's output against the byte budget.
    pub(crate) fn add_output(&self, budget: Budget, bytes: u64) {
        if budget.bytes.is_none() {
            return;
        }
        let mut usage = self.state.lock().unwrap_or_else(|p| p.into_inner());
        usage.bytes = usage.bytes.saturating_add(bytes);
    }
}
