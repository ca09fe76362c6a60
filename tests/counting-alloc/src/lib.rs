//! A global allocator that counts allocations and bytes, for the tests and
//! benchmarks that prove how often a call allocates.
//!
//! A program opts in with two lines, and then measures a closure:
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: counting_alloc::Counting = counting_alloc::Counting;
//!
//! fn main() {
//!     let counts = counting_alloc::during(|| {
//!         std::hint::black_box(vec![1u8; 10]);
//!     });
//!     assert_eq!(counts.allocations, 1);
//!     assert_eq!(counts.bytes, 10);
//! }
//! ```
//!
//! The counters are the whole program's: a test binary that counts holds one
//! test and runs without libtest's harness (`harness = false` in its
//! `[[test]]`), since libtest runs tests on threads of their own while its
//! main thread, waiting for them, may allocate inside a counted stretch.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting each allocation and its size (a `realloc`
/// counts as one allocation of its new size). Install it with
/// `#[global_allocator]`.
pub struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are atomics that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes, Ordering::Relaxed);
}

/// Allocations made, and bytes asked for, over some stretch of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Calls of `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: usize,
    /// The sizes those calls asked for, summed.
    pub bytes: usize,
}

fn now() -> Counts {
    Counts {
        allocations: ALLOCATIONS.load(Ordering::SeqCst),
        bytes: BYTES.load(Ordering::SeqCst),
    }
}

/// What the whole program allocated while `work` ran.
///
/// # Panics
///
/// When [`Counting`] is not the program's global allocator: a count of zero
/// must not pass for a program that was never counted.
pub fn during(work: impl FnOnce()) -> Counts {
    let probe = now();
    std::hint::black_box(Box::new(0u8));
    assert!(
        now().allocations > probe.allocations,
        "counting_alloc::Counting is not this program's #[global_allocator]"
    );
    let before = now();
    work();
    let after = now();
    Counts {
        allocations: after.allocations - before.allocations,
        bytes: after.bytes - before.bytes,
    }
}

#[cfg(test)]
mod tests {
    // This test binary's allocator is the system's, not `Counting`.
    #[test]
    #[should_panic(expected = "is not this program's #[global_allocator]")]
    fn counting_without_the_allocator_installed_panics_rather_than_counting_zero() {
        super::during(|| {});
    }
}
