//! Lookup allocates nothing; a dispatch allocates a handful of times at most.
//!
//! A counting global allocator sees every allocation of this test binary, so
//! this file holds one test only (tests in one binary run on parallel threads).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use my_tools as _;
use rustchain::{Executor, Registry, ToolContext};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    work();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn lookup_allocates_nothing_and_dispatch_only_the_output() {
    let registry = Registry::global();
    let names = [
        "add",
        "get_weather",
        "path_length",
        "slow_echo",
        "missing",
        "",
        "ad",
    ];
    let lookups = allocations_during(|| {
        for _ in 0..1_000 {
            for name in names {
                std::hint::black_box(registry.get(std::hint::black_box(name)));
            }
        }
    });
    assert_eq!(lookups, 0, "registry lookups allocated");

    let executor = Executor::new(registry);
    let ctx = ToolContext::new();
    // Warm up once (lazy statics, thread-locals), then count.
    executor
        .call_blocking("add", r#"{"a": 1, "b": 2}"#, ctx.clone())
        .unwrap();
    let mut out = None;
    let dispatch = allocations_during(|| {
        out = Some(executor.call_blocking("add", r#"{"a": 1, "b": 2}"#, ctx.clone()));
    });
    assert_eq!(out.unwrap().unwrap().as_json(), "3");
    // The per-call gate the guards report to (1) and the result text (1);
    // the context clone shares its parts, the policy decision is static text.
    assert_eq!(
        dispatch, 2,
        "a small sync dispatch allocated {dispatch} times"
    );
}
