// SPDX-License-Identifier: GPL-2.0

//! Stopping a loop (see "Stopping" in the work loop's documentation), also when
//! it is dropped from its own thread or gate.

use super::super::{
    gate::Entry,
    hooks::{self, Point},
    sys,
};
use super::{loop_thread::LoopThread, Gate, LoopInner, WorkLoop};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Acquire, Relaxed, Release},
        ArcBorrow,
    },
    workqueue,
};

impl LoopInner {
    /// The body of [`WorkLoop::stop`]. Not on the loop thread, not holding the gate.
    pub(super) fn shut_down(this: ArcBorrow<'_, Self>, thread: LoopThread) {
        let me = sys::current_task_id();
        // 1. No source runs its action again. Each is told under the gate, walking
        //    the list in place (nothing to allocate, so nothing to fail); a running
        //    action finishes first.
        this.closed.store(true, Release);
        if let Ok(gate) = Self::close_gate(this, Entry::Wait) {
            let mut i = 0;
            while let Some(src) = this.source_at(&gate, i) {
                // SAFETY: Valid while the gate is held (type invariant of `LoopInner`).
                unsafe { &*src }.loop_stopping();
                i += 1;
            }
            drop(gate);
        }
        hooks::point(Point::StopAfterDisable);
        // 2. Refuse new gate entries and new sleepers, and fail every sleeper, before
        //    the thread is told to stop: an action asleep in the gate sees `ENODEV`,
        //    not the signal `kthread_stop` sends.
        this.gate.close_for_good();
        hooks::point(Point::StopAfterAbort);
        // 3. The thread leaves at the next source boundary.
        this.waker.wake();
        this.waker.clear();
        thread.stop();
        this.thread_id.store(0, Relaxed);
        // 4. Wait for every thread still inside the gate (a `run_action`, a woken
        //    sleeper) to leave it.
        this.gate.wait_no_sleepers();
        hooks::point(Point::StopBeforeDetach);
        // 5. Detach the sources. An entrant that got past the closed check may own
        //    the gate for a moment (it leaves at once): wait for it, never skip this.
        this.gate.enter_closed(me);
        let gate = Gate::new(this);
        // SAFETY: Gate held (type invariant of `LoopInner`).
        let list = core::mem::take(unsafe { &mut *this.sources.get() });
        this.source_count.store(0, Relaxed);
        for s in list.iter() {
            // Disabled in step 1: no source is added once `closed` is set. The
            // caller holds a reference to this loop, so the sources' references are
            // never the last: dropping them here frees nothing.
            drop(s.base().detach());
            s.detached();
        }
        this.drain_graveyard(&gate);
        // 6. Run the closures still queued (none is queued after this), holding
        //    the gate: no action runs any more.
        this.run_jobs(&gate, true);
        drop(gate);
        // A signaller that loaded a source's loop pointer before its detach is done
        // with it after this, before the caller's reference (the last) can go.
        sys::synchronize_rcu();
        // Dropped outside the gate: a source's drop may close a command gate.
        drop(list);
        // Done: a concurrent `stop` waiting in `wait_stopped` may return.
        this.gate.publish(|| this.stopped.store(true, Release));
    }

    /// [`LoopInner::wait_stopped`], except on the loop's thread or holding its
    /// gate: the stop in progress waits for those, so they must not wait for it.
    pub(super) fn wait_stopped_from_outside(&self) {
        if self.on_thread() || self.in_gate() {
            return;
        }
        self.wait_stopped();
    }

    /// Waits until a `stop` in progress has finished (at once if the loop's thread
    /// never started or the loop is stopped).
    pub(super) fn wait_stopped(&self) {
        if !self.started.load(Acquire) {
            return;
        }
        self.gate.wait_as_waiter(|| self.stopped.load(Acquire));
    }
}

#[pinned_drop]
impl PinnedDrop for WorkLoop {
    fn drop(self: Pin<&mut Self>) {
        if self.stop().is_ok() {
            return;
        }
        // Dropped on the loop's own thread or inside its gate: stopping here would
        // wait for ourselves. Hand the stop to a workqueue; it completes once the
        // caller has left the gate.
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        let name = self.name().to_str().unwrap_or("?");
        let inner = self.inner.clone();
        let deferred = Deferred(Some(thread));
        let stopper = move || {
            let mut deferred = deferred;
            if let Some(t) = deferred.0.take() {
                LoopInner::shut_down(inner.as_arc_borrow(), t);
            }
        };
        match workqueue::system_long().try_spawn(GFP_KERNEL, stopper) {
            Ok(()) => pr_warn!(
                "workloop: {} dropped from its own thread or gate; stopping it from a workqueue\n",
                name
            ),
            Err(_) => pr_err!(
                "workloop: {} dropped from its own thread or gate and no memory to defer the stop; thread and loop leaked\n",
                name
            ),
        }
    }
}

/// A loop thread whose stop was handed to a workqueue. If the work item is never
/// run (it could not be allocated), the thread is leaked rather than stopped from
/// a task that would wait for itself.
struct Deferred(Option<LoopThread>);

impl Drop for Deferred {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            core::mem::forget(t);
        }
    }
}
