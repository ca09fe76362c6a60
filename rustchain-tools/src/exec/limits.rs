//! Rate limits per tool and budgets per session, counted by the executor.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::policy::{Budget, Rate};

/// Calls and bytes used so far in this executor's session, and recent call times per tool.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    calls: AtomicU64,
    bytes: AtomicU64,
    windows: Mutex<HashMap<&'static str, VecDeque<Instant>>>,
}

impl Limiter {
    /// Admits one call of `tool` carrying `args_bytes`, or says which limit refuses it.
    /// An admitted call is counted at once, so concurrent calls cannot all slip under.
    pub(crate) fn admit(
        &self,
        tool: &'static str,
        rate: Option<Rate>,
        budget: Budget,
        args_bytes: u64,
    ) -> Result<(), (String, String)> {
        if let Some(rate) = rate {
            let now = Instant::now();
            let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
            let window = windows.entry(tool).or_default();
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
            window.push_back(now);
        }
        if let Some(max) = budget.calls {
            let used = self.calls.fetch_add(1, Ordering::SeqCst);
            if used >= max {
                self.calls.fetch_sub(1, Ordering::SeqCst);
                return Err((
                    "limits.calls_per_session".to_owned(),
                    format!("this session's budget of {max} calls is spent"),
                ));
            }
        } else {
            self.calls.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(max) = budget.bytes {
            let used = self.bytes.fetch_add(args_bytes, Ordering::SeqCst);
            if used + args_bytes > max {
                self.bytes.fetch_sub(args_bytes, Ordering::SeqCst);
                return Err((
                    "limits.bytes_per_session".to_owned(),
                    format!("this session's budget of {max} bytes is spent"),
                ));
            }
        } else {
            self.bytes.fetch_add(args_bytes, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Counts a call's output against the byte budget.
    pub(crate) fn add_output(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
    }
}
