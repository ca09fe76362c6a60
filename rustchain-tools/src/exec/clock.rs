//! The clock a sync call's deadline is kept on: nanoseconds of the
//! monotonic clock, as one `u64`, read precisely or coarsely (D-63).
//!
//! A deadline far longer than the coarse clock's resolution (Linux's
//! `CLOCK_MONOTONIC_COARSE`, one tick: 1 to 10 ms) is set and checked on
//! that clock, which costs a few nanoseconds to read where the precise one
//! costs tens (it reads the time-stamp counter, and on a VM that is
//! slower). Both count the same time (`Instant` is `CLOCK_MONOTONIC` on
//! Linux), the coarse one behind by about its resolution (more while a
//! loaded VM delays a tick: 6.7 ms with a 4 ms tick was seen); so a coarse
//! deadline counts from the call's admission within a tick or so, and a
//! call that overruns it by that much may be let through.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Which clock a tool's deadline is kept on, chosen once per tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// The precise monotonic clock.
    Precise,
    /// The coarse monotonic clock: for a timeout at least
    /// [`COARSE_FACTOR`] times its resolution.
    Coarse,
}

/// A timeout at least this many times the coarse clock's resolution is
/// kept on the coarse clock: its deadline is then within 1% of a precise one.
pub(crate) const COARSE_FACTOR: u32 = 100;

impl Clock {
    /// The clock for a deadline `timeout` after admission.
    pub(crate) fn for_timeout(timeout: Duration) -> Clock {
        match coarse_resolution() {
            Some(resolution) if resolution.saturating_mul(COARSE_FACTOR) <= timeout => {
                Clock::Coarse
            }
            _ => Clock::Precise,
        }
    }

    /// Now, in nanoseconds of the monotonic clock: never 0 (which a
    /// [`super::gate`] deadline keeps for "none").
    #[inline]
    pub(crate) fn now(self) -> u64 {
        match self {
            Clock::Precise => precise_nanos(),
            Clock::Coarse => coarse_nanos(),
        }
    }
}

/// The coarse clock's resolution, asked once (`clock_getres`); `None`
/// where there is no coarse clock.
pub(crate) fn coarse_resolution() -> Option<Duration> {
    static RESOLUTION: OnceLock<Option<Duration>> = OnceLock::new();
    *RESOLUTION.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            let mut res = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `res` is a valid, writable timespec.
            let got = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut res) };
            (got == 0).then(|| {
                Duration::new(
                    u64::try_from(res.tv_sec).unwrap_or(0),
                    u32::try_from(res.tv_nsec).unwrap_or(0),
                )
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    })
}

#[cfg(target_os = "linux")]
#[inline]
fn read(clock: libc::clockid_t) -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; a monotonic clock
    // cannot fail to be read on Linux (and a zero read is still no deadline
    // missed: see `nanos`).
    unsafe { libc::clock_gettime(clock, &mut now) };
    nanos(now.tv_sec, now.tv_nsec)
}

/// A monotonic reading in nanoseconds, 1 at least.
#[cfg(target_os = "linux")]
#[inline]
fn nanos(secs: libc::time_t, nanos: libc::c_long) -> u64 {
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(nanos as u64)
        .max(1)
}

#[inline]
fn precise_nanos() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_MONOTONIC)
    }
    #[cfg(not(target_os = "linux"))]
    {
        // Nanoseconds after the anchor, on `Instant`'s own clock.
        let (anchor, at) = anchor();
        u64::try_from(anchor.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(at)
    }
}

#[inline]
fn coarse_nanos() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_MONOTONIC_COARSE)
    }
    #[cfg(not(target_os = "linux"))]
    {
        precise_nanos()
    }
}

/// One `Instant` and the same moment in nanoseconds of [`precise_nanos`]'s
/// clock, taken once: what turns a reading into an `Instant`.
fn anchor() -> (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    *ANCHOR.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            // `Instant` reads the same clock. Two reads in a row are off by
            // the time between them, which a preemption on a loaded machine
            // makes milliseconds, and the anchor keeps that error for the
            // process's life: so the `Instant` is read between two readings,
            // a few times, and the narrowest pair's midpoint is kept.
            let mut best = (Instant::now(), 0, u64::MAX);
            for _ in 0..8 {
                let before = read(libc::CLOCK_MONOTONIC);
                let instant = Instant::now();
                let width = read(libc::CLOCK_MONOTONIC).saturating_sub(before);
                if width < best.2 {
                    best = (instant, before + width / 2, width);
                }
                if width < 20_000 {
                    break;
                }
            }
            (best.0, best.1)
        }
        #[cfg(not(target_os = "linux"))]
        {
            (Instant::now(), 1)
        }
    })
}

/// The `Instant` of a reading (what a tool's context shows as its deadline).
pub(crate) fn instant_of(nanos: u64) -> Instant {
    let (anchor, at) = anchor();
    match nanos.checked_sub(at) {
        Some(after) => anchor
            .checked_add(Duration::from_nanos(after))
            .unwrap_or(anchor),
        None => anchor
            .checked_sub(Duration::from_nanos(at - nanos))
            .unwrap_or(anchor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_count_the_time_instant_counts_within_the_coarse_resolution() {
        // A reading converts exactly around the anchor, later or earlier.
        let (anchor, at) = anchor();
        let step = Duration::from_millis(5);
        assert_eq!(instant_of(at), anchor);
        assert_eq!(instant_of(at + 5_000_000), anchor + step);
        if let Some(earlier) = at.checked_sub(5_000_000).filter(|&n| n > 0) {
            assert_eq!(instant_of(earlier), anchor - step);
        }
        let resolution = coarse_resolution().unwrap_or_default();
        let slack = resolution + Duration::from_millis(2);
        // Both clocks past the anchor, so their readings convert forwards.
        std::thread::sleep(resolution * 2 + Duration::from_millis(1));
        for clock in [Clock::Precise, Clock::Coarse] {
            // The coarse clock is moved on by timer ticks, which a loaded VM
            // delays by milliseconds more than its resolution (6.7 ms behind
            // with a 4 ms tick, seen here): a reading inside the bounds in
            // one of several tries a millisecond apart shows the clocks
            // agree, and an error in the conversion (a wrong clock, unit or
            // anchor) misses them every time.
            let mut misses = Vec::new();
            let within = (0..50).any(|_| {
                let before = Instant::now();
                let read = instant_of(clock.now());
                let after = Instant::now();
                let fits = read + slack >= before && read <= after + slack;
                if !fits {
                    misses.push((before, read, after));
                    std::thread::sleep(Duration::from_millis(1));
                }
                fits
            });
            assert!(within, "{clock:?} never read within {slack:?}: {misses:?}");
        }
    }

    #[test]
    fn only_a_timeout_far_longer_than_the_coarse_resolution_is_kept_coarsely() {
        let Some(resolution) = coarse_resolution() else {
            assert_eq!(Clock::for_timeout(Duration::from_secs(30)), Clock::Precise);
            return;
        };
        assert_eq!(
            Clock::for_timeout(resolution * COARSE_FACTOR),
            Clock::Coarse
        );
        assert_eq!(
            Clock::for_timeout(resolution * COARSE_FACTOR - Duration::from_nanos(1)),
            Clock::Precise
        );
        assert_eq!(
            Clock::for_timeout(Duration::from_millis(50)),
            Clock::Precise
        );
    }

    #[test]
    fn a_reading_is_never_zero_and_never_goes_back() {
        for clock in [Clock::Precise, Clock::Coarse] {
            let first = clock.now();
            let second = clock.now();
            assert!(first > 0 && second >= first);
        }
    }
}
