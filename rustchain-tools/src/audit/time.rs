//! The trail's timestamps: RFC 3339 in UTC with milliseconds
//! (`2026-05-02T10:11:12.345Z`), written and read by humantime.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last millisecond humantime can write (9999-12-31T23:59:59.999Z).
const LATEST: Duration = Duration::from_millis(253_402_300_799_999);

/// `2026-05-02T10:11:12.345Z` for `time`. Times outside what RFC 3339's
/// four-digit years can hold clamp to its ends (before 1970 to the epoch),
/// so a wrong clock never stops the trail.
pub fn format_rfc3339_millis(time: SystemTime) -> String {
    let time = time.clamp(UNIX_EPOCH, UNIX_EPOCH + LATEST);
    humantime::format_rfc3339_millis(time).to_string()
}

/// Parses a UTC timestamp (`Z` or `+00:00`, any fraction), as the trail
/// writes them; `None` for anything else.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let time = UNIX_EPOCH + Duration::from_millis(1_709_251_199_007);
        assert_eq!(format_rfc3339_millis(time), "2024-02-29T23:59:59.007Z");
        assert_eq!(
            format_rfc3339_millis(UNIX_EPOCH),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn clocks_out_of_range_clamp_instead_of_failing() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_rfc3339_millis(before), "1970-01-01T00:00:00.000Z");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_rfc3339_millis(far), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_formats() {
        let time = UNIX_EPOCH + Duration::from_millis(1_777_716_672_345);
        assert_eq!(parse_rfc3339(&format_rfc3339_millis(time)), Some(time));
        assert_eq!(
            parse_rfc3339("2024-02-29T22:59:59+00:00"),
            parse_rfc3339("2024-02-29T22:59:59Z")
        );
        assert_eq!(parse_rfc3339("2024-02-29 23:59:59"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
