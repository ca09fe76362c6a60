//! The trail's timestamps: RFC 3339 in UTC with milliseconds
//! (`2026-05-02T10:11:12.345Z`), written here without allocating (the date
//! and time of the current second cached per thread, D-82) and read by
//! humantime.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last millisecond a four-digit year can hold (9999-12-31T23:59:59.999Z).
const LATEST: Duration = Duration::from_millis(253_402_300_799_999);

/// `2026-05-02T10:11:12.345Z` for `time`. Times outside what RFC 3339's
/// four-digit years can hold clamp to its ends (before 1970 to the epoch),
/// so a wrong clock never stops the trail.
pub fn format_rfc3339_millis(time: SystemTime) -> String {
    Timestamp::of(time).as_str().to_owned()
}

/// A timestamp as the trail writes it, held on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Timestamp([u8; 24]);

thread_local! {
    /// The last second this thread formatted, and its text up to the
    /// milliseconds (`2026-05-02T10:11:12.`): records come many to a
    /// second, so most need only their milliseconds written.
    static LAST_SECOND: Cell<(u64, [u8; 20])> = const { Cell::new((u64::MAX, [0; 20])) };
}

impl Timestamp {
    /// The time now.
    pub(crate) fn now() -> Self {
        Self::of(SystemTime::now())
    }

    /// `time`, clamped to what four-digit years can hold.
    pub(crate) fn of(time: SystemTime) -> Self {
        let since = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .min(LATEST);
        let second = since.as_secs();
        let prefix = LAST_SECOND.with(|last| {
            let (cached, prefix) = last.get();
            if cached == second {
                return prefix;
            }
            let prefix = second_text(second);
            last.set((second, prefix));
            prefix
        });
        let mut text = [0; 24];
        text[..20].copy_from_slice(&prefix);
        let millis = since.subsec_millis();
        text[20] = digit(millis / 100);
        text[21] = digit(millis / 10);
        text[22] = digit(millis);
        text[23] = b'Z';
        Timestamp(text)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("digits and punctuation are ASCII")
    }
}

/// The last decimal digit of `n`.
fn digit(n: u32) -> u8 {
    b'0' + (n % 10) as u8
}

/// `YYYY-MM-DDTHH:MM:SS.` for a second since the epoch (at most `LATEST`),
/// by humantime: a thread asks once a second, so the calendar is left to
/// the crate that already parses these timestamps.
fn second_text(second: u64) -> [u8; 20] {
    use std::io::Write as _;
    let mut text = [0; 20];
    let time = UNIX_EPOCH + Duration::from_secs(second);
    write!(&mut text[..], "{}", humantime::format_rfc3339_seconds(time))
        .expect("`YYYY-MM-DDTHH:MM:SSZ` is 20 bytes");
    text[19] = b'.';
    text
}

/// Parses a UTC timestamp (`Z` or `+00:00`, any fraction), as the trail
/// writes them; `None` for anything else.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn humantime_text(time: SystemTime) -> String {
        let time = time.clamp(UNIX_EPOCH, UNIX_EPOCH + LATEST);
        humantime::format_rfc3339_millis(time).to_string()
    }

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
    fn the_cached_second_gives_way_at_every_boundary_as_humantime_writes_it() {
        // Each pair is formatted in order on one thread, so the second is
        // cached from the first and must not leak into the next: second,
        // minute, hour, day, month, leap day, year, century and 9999.
        let boundaries = [
            0,
            59_999,
            3_599_999,
            86_399_999,
            2_678_399_999,
            951_782_399_999,
            951_868_799_999,
            978_307_199_999,
            1_709_164_799_999,
            1_709_251_199_999,
            1_767_225_599_999,
            4_107_542_399_999,
            7_258_118_399_999,
            253_402_300_799_998,
        ];
        for last in boundaries {
            for millis in [last, last + 1, last + 1000, last + 1, last] {
                let time = UNIX_EPOCH + Duration::from_millis(millis);
                assert_eq!(Timestamp::of(time).as_str(), humantime_text(time));
            }
        }
    }

    #[test]
    fn every_day_of_four_centuries_is_written_as_humantime_writes_it() {
        // 1970 to 2370, one time of day per day, plus a sweep of milliseconds.
        let day = 86_400_000_u64;
        for n in 0..146_097 {
            let time = UNIX_EPOCH + Duration::from_millis(n * day + (n * 7_919_237) % day);
            assert_eq!(Timestamp::of(time).as_str(), humantime_text(time));
        }
        for millis in (1_777_716_672_000..1_777_716_675_000).step_by(7) {
            let time = UNIX_EPOCH + Duration::from_millis(millis);
            assert_eq!(Timestamp::of(time).as_str(), humantime_text(time));
        }
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
