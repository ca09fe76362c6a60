//! Rate limits per tool, budgets per session and the concurrency limit,
//! counted by the executor.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    #[inline]
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
        self.count(tool, rate, budget, args_bytes)
    }

    /// [`Limiter::admit`] of a call there is something to count for.
    fn count(
        &self,
        tool: &'static str,
        rate: Option<Rate>,
        budget: Budget,
        args_bytes: u64,
    ) -> Result<(), Refusal> {
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
    #[inline]
    pub(crate) fn add_output(&self, budget: Budget, bytes: u64) {
        if budget.bytes.is_none() {
            return;
        }
        let mut usage = self.state.lock().unwrap_or_else(|p| p.into_inner());
        usage.bytes = usage.bytes.saturating_add(bytes);
    }
}

/// The executor's concurrency limit (`limits.max_concurrent`): a counter of
/// calls running, so taking and giving back a slot is one atomic operation
/// each and no lock. Calls that wait for a slot (on tokio) are woken when
/// one is given back.
///
/// The same word holds the flag of the executor's spare gate's place
/// (`exec::gate::SpareGate`, the word's top bit): a call that may run
/// inline takes the place and a slot by one compare-and-swap, and gives
/// both back by one subtraction (D-71).
#[derive(Debug)]
pub(crate) struct Slots {
    /// Calls running (the slots taken), plus [`PLACE`] while the spare
    /// gate's place is held.
    running: AtomicUsize,
    max: usize,
    /// How many calls wait for a slot: giving one back wakes them only then.
    waiting: AtomicUsize,
    freed: tokio::sync::Notify,
}

/// The spare gate's place in [`Slots::running`]: its top bit, far above any
/// count (`max_concurrent` is at most 2^20).
const PLACE: usize = 1 << (usize::BITS - 1);

/// One running call's slot, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot<'a>(&'a Slots);

/// A slot kept by a call's gate rather than by the code that runs it (a call
/// that asks takes its slot once approved), given back when dropped.
#[derive(Debug)]
pub(crate) struct HeldSlot(Arc<Slots>);

impl Slots {
    pub(crate) fn new(max: usize) -> Slots {
        debug_assert!(
            max < PLACE,
            "max_concurrent is bounded far below the place's bit"
        );
        Slots {
            running: AtomicUsize::new(0),
            max,
            waiting: AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
        }
    }

    /// A slot now, or `None` if `max` calls are running.
    #[inline]
    pub(crate) fn try_take(&self) -> Option<Slot<'_>> {
        self.running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |running| {
                (running & !PLACE < self.max).then_some(running + 1)
            })
            .ok()
            .map(|_| Slot(self))
    }

    /// Takes the spare gate's place and a slot with it, by one
    /// compare-and-swap: `false` if the place is held or `max` calls are
    /// running. Acquire (and more): the holder then sees what the last
    /// holder wrote in the place before [`Slots::give_back_place`].
    #[inline]
    pub(crate) fn try_take_place(&self) -> bool {
        // `running < max` says the place is free too: its bit is above any `max`.
        self.running
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |running| {
                (running < self.max).then(|| running + 1 + PLACE)
            })
            .is_ok()
    }

    /// Gives back the spare gate's place and its slot, by one subtraction:
    /// release (and more), so the next holder sees what this one wrote.
    #[inline]
    pub(crate) fn give_back_place(&self) {
        self.running.fetch_sub(1 + PLACE, Ordering::SeqCst);
        self.wake_waiting();
    }

    /// Takes the spare gate's place without a slot (to empty it as the
    /// session ends): `false` if a call holds it.
    pub(crate) fn lock_place(&self) -> bool {
        self.running.fetch_or(PLACE, Ordering::Acquire) & PLACE == 0
    }

    /// Lets go of a place taken by [`Slots::lock_place`].
    pub(crate) fn unlock_place(&self) {
        self.running.fetch_and(!PLACE, Ordering::Release);
    }

    /// A slot, once one is free.
    pub(crate) async fn take(&self) -> Slot<'_> {
        if let Some(slot) = self.try_take() {
            return slot;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waited = Waiting(&self.waiting);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            // Registered before trying again, so a slot given back between
            // the try and the wait still wakes this call.
            if let Some(slot) = self.try_take() {
                return slot;
            }
            freed.await;
        }
    }

    /// [`Slots::take`], the slot owning its handle on the counter.
    pub(crate) async fn take_held(self: &Arc<Self>) -> HeldSlot {
        let slot = self.take().await;
        // Counted as taken until the `HeldSlot` gives it back.
        std::mem::forget(slot);
        HeldSlot(Arc::clone(self))
    }

    fn give_back(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.wake_waiting();
    }

    /// After a slot was given back (a sequentially consistent subtraction):
    /// sequentially consistent with the waiter's count and retry, so either
    /// this sees the waiter or the waiter sees this slot free.
    #[inline]
    fn wake_waiting(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

impl Drop for HeldSlot {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// Counts a call waiting for a slot, however its wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_max_slots_are_taken_and_a_given_back_one_is_taken_again() {
        let slots = Slots::new(2);
        let first = slots.try_take().expect("a free slot");
        let _second = slots.try_take().expect("a free slot");
        assert!(slots.try_take().is_none(), "two of two are taken");
        drop(first);
        assert!(slots.try_take().is_some(), "the given-back slot is free");
    }

    #[test]
    fn the_spare_gates_place_comes_with_a_slot_and_goes_back_with_it() {
        let slots = Slots::new(2);
        assert!(slots.try_take_place(), "the place and a slot are free");
        assert!(!slots.try_take_place(), "the place is held");
        let other = slots.try_take().expect("one slot is left");
        assert!(slots.try_take().is_none(), "the place's slot counts");
        slots.give_back_place();
        assert!(slots.try_take().is_some(), "the place's slot is free again");
        drop(other);
        assert!(slots.try_take_place(), "the place is free again");
        slots.give_back_place();
        assert_eq!(slots.running.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_place_is_not_taken_without_a_free_slot_and_locking_it_takes_none() {
        let slots = Slots::new(1);
        let only = slots.try_take().expect("a free slot");
        assert!(!slots.try_take_place(), "no slot for the place");
        drop(only);
        assert!(slots.lock_place(), "locking the place needs no slot");
        assert!(!slots.try_take_place(), "the place is locked");
        assert!(slots.try_take().is_some(), "and its slot is free");
        assert!(!slots.lock_place(), "locked already");
        slots.unlock_place();
        assert_eq!(slots.running.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn no_more_than_max_calls_run_however_they_take_their_slots() {
        const MAX: usize = 3;
        let slots = Slots::new(MAX);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let places = AtomicUsize::new(0);
        let run = || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::hint::spin_loop();
            running.fetch_sub(1, Ordering::SeqCst);
        };
        std::thread::scope(|scope| {
            for thread in 0..6 {
                let (slots, run, places) = (&slots, &run, &places);
                scope.spawn(move || {
                    for i in 0..2_000 {
                        if (i + thread) % 2 == 0 && slots.try_take_place() {
                            assert_eq!(places.fetch_add(1, Ordering::SeqCst), 0, "one holder");
                            run();
                            places.fetch_sub(1, Ordering::SeqCst);
                            slots.give_back_place();
                        } else if let Some(_slot) = slots.try_take() {
                            run();
                        }
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= MAX);
        assert_eq!(slots.running.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_waiting_call_gets_the_slot_given_back_with_the_place() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let slots = std::sync::Arc::new(Slots::new(1));
        assert!(slots.try_take_place(), "the place and the only slot");
        let waiter = {
            let slots = std::sync::Arc::clone(&slots);
            runtime.spawn(async move {
                let _slot = slots.take().await;
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "no slot is free yet");
        slots.give_back_place();
        runtime
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await
            })
            .expect("woken in time")
            .expect("the waiter ends");
    }

    #[test]
    fn a_waiting_call_gets_the_slot_given_back() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let slots = std::sync::Arc::new(Slots::new(1));
        let held = slots.try_take().expect("a free slot");
        let waiter = {
            let slots = std::sync::Arc::clone(&slots);
            runtime.spawn(async move {
                let _slot = slots.take().await;
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "no slot is free yet");
        drop(held);
        runtime
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await
            })
            .expect("woken in time")
            .expect("the waiter ends");
        assert_eq!(slots.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_held_slot_counts_until_dropped() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let slots = Arc::new(Slots::new(1));
        let held = runtime.block_on(slots.take_held());
        assert!(slots.try_take().is_none(), "the held slot is the only one");
        drop(held);
        assert!(slots.try_take().is_some(), "given back when dropped");
    }
}
