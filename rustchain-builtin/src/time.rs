//! `time_now`: the current time.

use std::time::{SystemTime, UNIX_EPOCH};

use rustchain_macros::tool;

/// Returns the current time as milliseconds since the Unix epoch (UTC).
#[tool(crate = "rustchain_tools", read_only, tags("time"))]
pub fn time_now() -> Result<u64, String> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|err| format!("the system clock is before 1970: {err}"))?;
    u64::try_from(since_epoch.as_millis())
        .map_err(|_| "the clock is past the year 584 million".to_owned())
}
