// SPDX-License-Identifier: GPL-2.0

//! The loop's thread: passes over the sources, and sleeping between them
//! without losing a wake-up (see "Signalling without lost wake-ups" in the
//! work loop's documentation).

use super::super::{
    gate::Entry,
    hooks::{self, Point},
    stats::add_single_writer,
    sys::{self, KThread, KThreadSelf},
};
use super::{LoopInner, LoopOptions};
use core::ffi::c_void;
use kernel::{
    ffi::c_int,
    prelude::*,
    str::CStr,
    sync::{
        atomic::{Acquire, Full, Relaxed, Release},
        Arc, ArcBorrow,
    },
};

impl LoopInner {
    /// One pass over the sources, holding the gate. Returns whether any source asked
    /// for another pass.
    pub(super) fn run_pass(this: ArcBorrow<'_, Self>, me: usize) -> bool {
        let Ok(gate) = Self::enter_gate(this, me, Entry::Wait) else {
            return false;
        };
        add_single_writer(&this.stats.passes, 1);
        this.list_changed.store(false, Relaxed);
        let mut more = false;
        let mut i = 0;
        while !this.is_closed() {
            // Re-read the list after every source: the action may add or remove
            // sources. A removed source stays alive in the graveyard until the pass
            // ends, so the pointer stays valid while its `check_for_work` runs.
            let Some(src) = this.source_at(&gate, i) else {
                break;
            };
            i += 1;
            // SAFETY: `src` points to a source kept alive by the list or the
            // graveyard while the gate is held (type invariant of `LoopInner`).
            let src = unsafe { &*src };
            // A source removed earlier in this pass is no longer attached.
            if src.base().is_attached() {
                // Published for a remover that must wait while the action sleeps in
                // the gate; cleared before the gate is released at the end of the pass.
                this.running
                    .store(core::ptr::from_ref(src).cast::<()>() as usize, Relaxed);
                if src.check_for_work(&gate) {
                    more = true;
                }
                this.running.store(0, Release);
                this.running_removed.store(false, Relaxed);
            }
            if this.list_changed.xchg(false, Acquire) {
                i = 0;
            }
        }
        // Closures queued so far run after the actions they follow; a stop runs
        // what is left.
        if !this.is_closed() {
            this.run_jobs(&gate, false);
        }
        // SAFETY: Gate held (type invariant of `LoopInner`).
        let removed = !unsafe { &*this.graveyard.get() }.is_empty();
        drop(gate);
        if removed {
            Self::drain_graveyard_outside(this, me);
        }
        more
    }

    /// Drops what removals left in the graveyard, each outside the gate: a source's
    /// drop may close a command gate or drop a loop, which must not hold the gate.
    /// Loop thread, between passes.
    pub(super) fn drain_graveyard_outside(this: ArcBorrow<'_, Self>, me: usize) {
        loop {
            let Ok(gate) = Self::enter_gate(this, me, Entry::Wait) else {
                // Stopped: `stop` drains what is left.
                return;
            };
            // SAFETY: Gate held (type invariant of `LoopInner`); no walk is in progress.
            let popped = unsafe { &mut *this.graveyard.get() }.pop();
            drop(gate);
            match popped {
                Some(src) => drop(src),
                None => return,
            }
        }
    }

    /// The loop thread's life: passes until the loop is closed, then waiting to be
    /// reaped.
    fn thread_main(this: ArcBorrow<'_, Self>, thread: &KThreadSelf) {
        let me = sys::current_task_id();
        if this.freezable {
            thread.set_freezable();
        }
        while !this.is_closed() {
            // Frozen between passes, never inside the gate (a task frozen holding
            // it would stop every caller of `run_action`, PM callbacks included).
            // An idle loop is frozen in its sleep below. Interrupts counted
            // meanwhile wait in their sources and are delivered after the thaw.
            if this.freezable {
                thread.try_to_freeze();
            }
            // Clear before the pass: a signal from here on forces another pass.
            this.work.xchg(false, Full);
            if Self::run_pass(this, me) {
                continue;
            }
            // `kthread_should_stop` too, once per sleep (a C call, kept off the
            // pass path), as genirq's `irq_wait_for_interrupt` checks it: a stop
            // without `closed` must end the loop. `kthread_stop` also sends a
            // signal, so a sleep that began just before it returns at once.
            if this.is_closed() || thread.should_stop() {
                break;
            }
            hooks::point_spin(Point::LoopBeforeSleep);
            thread.sleep_unless(|| this.work.load(Relaxed) || this.is_closed());
            add_single_writer(&this.stats.wakeups, 1);
        }
        // Stay until `kthread_stop` so that the creator reaps a live thread.
        while !thread.should_stop() {
            thread.sleep_unless(|| thread.should_stop());
        }
    }
}

/// Thread function of a work loop.
///
/// # Safety
///
/// Runs only as the thread function of a thread `LoopThread::create` created, with
/// `data` the pointer it obtained from `Arc::into_raw`, valid until the thread was
/// stopped.
unsafe extern "C" fn loop_thread(data: *mut c_void) -> c_int {
    // SAFETY: This is the thread function of a `KThread`, and the token is used
    // only between passes, where the loop holds no lock.
    let thread = unsafe { KThreadSelf::assume() };
    // SAFETY: `data` came from `Arc::into_raw` in `LoopThread::create`; that reference is
    // only released after `KThread::stop` returned, i.e. after this function returned.
    let work_loop = unsafe { ArcBorrow::<LoopInner>::from_raw(data.cast::<LoopInner>()) };
    LoopInner::thread_main(work_loop, &thread);
    0
}

/// The loop's thread and the reference to [`LoopInner`] it runs with.
///
/// # Invariants
///
/// `raw` is a reference to the loop's `LoopInner` obtained with `Arc::into_raw` and
/// handed to `task`'s thread function; it is reclaimed only by
/// [`LoopThread::stop`], after the thread has exited.
pub(super) struct LoopThread {
    task: KThread,
    raw: *const LoopInner,
}

// SAFETY: `raw` is an owned `Arc` reference (type invariant), which may be released
// from any thread; `KThread` is `Send`.
unsafe impl Send for LoopThread {}

impl LoopThread {
    /// Creates the thread of `inner`'s loop, not yet running. It holds a reference
    /// to `inner` until [`LoopThread::stop`].
    pub(super) fn create(
        inner: &Arc<LoopInner>,
        name: &CStr,
        options: &LoopOptions,
    ) -> Result<Self> {
        let raw = Arc::into_raw(inner.clone());
        // SAFETY: `raw` stays valid until `LoopThread::stop` reclaims it after the
        // thread has exited, as `KThread::create` requires.
        let task = unsafe {
            KThread::create(
                loop_thread,
                raw.cast_mut().cast(),
                name,
                options.cpu,
                options.priority,
            )
        };
        let task = match task {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: The thread was never created; take the reference back.
                drop(unsafe { Arc::from_raw(raw) });
                return Err(e);
            }
        };
        // INVARIANT: `raw` was handed to `task`'s thread function.
        let thread = Self { task, raw };
        if hooks::fail(Point::FailLoopNewAfterThread) {
            thread.stop();
            return Err(ENOMEM);
        }
        Ok(thread)
    }

    /// The thread.
    pub(super) fn task(&self) -> &KThread {
        &self.task
    }

    /// Lets the thread run; `inner` learns who it is and how to wake it.
    pub(super) fn start(&self, inner: &LoopInner) {
        inner.thread_id.store(self.task.id(), Relaxed);
        inner.waker.set(&self.task);
        self.task.start();
        inner.started.store(true, Release);
    }

    /// Stops the thread, waits until it has exited and releases its reference.
    /// Must not be called by the thread itself.
    pub(super) fn stop(self) {
        self.task.stop();
        // SAFETY: The thread has exited, so the reference handed to it can be
        // reclaimed (type invariant).
        drop(unsafe { Arc::from_raw(self.raw) });
    }
}
