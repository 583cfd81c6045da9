// SPDX-License-Identifier: GPL-2.0

//! A child module of f436a3a's `work_loop.rs` (declared by the one hunk
//! `hostcheck/old/f436a3a.patch` adds there), so that it reaches
//! `LoopInner`'s private items: accessors and today's `GateLock` calls, each
//! forwarding to f436a3a's own function.

use super::{Gate, LoopInner, SleepResult};
use crate::workloop::compat::{gate::Entry, Wake};
use kernel::{
    prelude::*,
    sync::{atomic::Relaxed, Arc},
    time::Delta,
};

impl LoopInner {
    /// Today's `LoopInner::thread_task_id`: f436a3a's `thread_id` (0 once
    /// `stop` reaped the thread).
    pub(crate) fn thread_task_id(&self) -> usize {
        self.thread_id.load(Relaxed)
    }
}

/// Today's `GateLock` (the gate alone): a f436a3a `LoopInner` with no thread,
/// whose gate, sleepers and wake-ups are f436a3a's.
pub struct GateLock {
    inner: Arc<LoopInner>,
}

impl GateLock {
    /// A gate named `name` (f436a3a's `LoopInner::new`, no debugfs).
    ///
    /// # Safety
    ///
    /// None here (today's: `name` outlives the gate).
    pub(crate) unsafe fn new(_name: *const kernel::ffi::c_char) -> impl PinInit<Self, Error> {
        pin_init::pin_init_from_closure(move |slot: *mut Self| {
            let inner = Arc::pin_init(LoopInner::new(c"gate", None)?, GFP_KERNEL)?;
            // SAFETY: `slot` is valid for a write of `Self`; nothing pins it.
            unsafe { slot.write(Self { inner }) };
            Ok(())
        })
    }

    /// Today's `GateLock::enter`: f436a3a's `enter_gate`, the gate kept held
    /// (its `Gate` guard forgotten) until `leave`.
    pub(crate) fn enter(&self, me: usize, entry: Entry) -> Result {
        let gate = LoopInner::enter_gate(self.inner.as_arc_borrow(), me, entry == Entry::Wait)?;
        core::mem::forget::<Gate<'_>>(gate);
        Ok(())
    }

    /// Today's `GateLock::leave`: f436a3a's `open_gate` (what dropping the
    /// forgotten `Gate` would have run).
    pub(crate) fn leave(&self) {
        self.inner.open_gate();
    }

    /// Today's `GateLock::sleep`: f436a3a's `LoopInner::sleep` (untagged;
    /// f436a3a had no `ready` or `refuse` checks: the models pass none).
    pub(crate) fn sleep(
        &self,
        event: usize,
        timeout: Option<Delta>,
        _ready: Option<&dyn Fn() -> bool>,
        _refuse: &dyn Fn() -> bool,
    ) -> Result<SleepResult> {
        self.inner.sleep(event, 0, timeout)
    }

    /// Today's `GateLock::wakeup`: f436a3a's `LoopInner::wakeup` with
    /// `one_thread`.
    pub(crate) fn wakeup(&self, event: usize, whom: Wake) {
        self.inner.wakeup(event, whom == Wake::First)
    }
}
