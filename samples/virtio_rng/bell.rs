// SPDX-License-Identifier: GPL-2.0

//! The readers' bell (`hwrng.c`): the bottom half rings it after a harvest,
//! the queue's top half with `hardirq=1`; a reader sleeps until a ring it has
//! not seen. Kernel 7.2's Rust `CondVar` checks its condition before queueing
//! the waiter, which a waker in hard-IRQ context (it cannot take the reader's
//! mutex) could slip between; the C side's `wait_event` checks after.

use super::*;

mod ffi {
    use super::*;

    extern "C" {
        pub(super) fn vrng_rs_bell_new() -> *mut c_void;
        pub(super) fn vrng_rs_bell_free(b: *mut c_void);
        pub(super) fn vrng_rs_bell_count(b: *mut c_void) -> c_uint;
        pub(super) fn vrng_rs_bell_ring(b: *mut c_void);
        pub(super) fn vrng_rs_bell_wait(b: *mut c_void, seen: c_uint, timeout: c_long) -> c_long;
    }
}

/// A bell allocated by `vrng_rs_bell_new`.
///
/// # Invariants
///
/// `ptr` is a live bell from `vrng_rs_bell_new`, owned by this value and freed
/// only by its `drop`.
pub(crate) struct Bell {
    ptr: NonNull<c_void>,
}

// SAFETY: The bell's count is atomic and its wait queue has its own lock:
// every operation may come from any thread, or hard-IRQ context for `ring`.
unsafe impl Send for Bell {}
// SAFETY: As for `Send`; `&Bell` only reaches those operations.
unsafe impl Sync for Bell {}

/// How a [`Bell::wait`] ended.
pub(crate) enum Rang {
    /// The count moved on.
    Yes,
    /// The time ran out first.
    TimedOut,
}

impl Bell {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: No requirements; the result is checked.
        let ptr = unsafe { ffi::vrng_rs_bell_new() };
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    /// The rings so far; a reader takes it before it looks at the used ring.
    pub(crate) fn count(&self) -> u32 {
        // SAFETY: By the type invariants `ptr` is a live bell.
        unsafe { ffi::vrng_rs_bell_count(self.ptr.as_ptr()) }
    }

    /// Rings: any context, hard IRQ included.
    pub(crate) fn ring(&self) {
        // SAFETY: By the type invariants `ptr` is a live bell.
        unsafe { ffi::vrng_rs_bell_ring(self.ptr.as_ptr()) }
    }

    /// Sleeps until the count differs from `seen`, at most `timeout` jiffies;
    /// `ERESTARTSYS` on a signal. Process context, no lock held.
    pub(crate) fn wait(&self, seen: u32, timeout: Jiffies) -> Result<Rang> {
        // CAST: A jiffies count of a second fits a `c_long`.
        let timeout = timeout.min(c_long::MAX as Jiffies) as c_long;
        // SAFETY: By the type invariants `ptr` is a live bell.
        match unsafe { ffi::vrng_rs_bell_wait(self.ptr.as_ptr(), seen, timeout) } {
            0 => Ok(Rang::TimedOut),
            n if n > 0 => Ok(Rang::Yes),
            _ => Err(ERESTARTSYS),
        }
    }
}

impl Drop for Bell {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `ptr` is live and owned here; whoever
        // could ring or wait holds the `Rng` that is being dropped.
        unsafe { ffi::vrng_rs_bell_free(self.ptr.as_ptr()) }
    }
}
