// SPDX-License-Identifier: GPL-2.0

//! The driver's hand on a source's life: enable and disable (nesting, with
//! WDF's `EvtInterruptEnable`/`EvtInterruptDisable` hooks in WDF's order),
//! DriverKit's idempotent `SetEnable` and `SetEnableWithCompletion`, and
//! DriverKit's `Cancel`.
//!
//! The driver's part of the hold is a nesting count (`disable`/`enable`) and a
//! flag (`set_enable`); the source runs when both are clear. The source is
//! created with the flag set, so either `enable` or `set_enable(true)` starts
//! it. The hooks run when the driver's part goes from clear to set (disable:
//! the hook, then the line is masked and the top half waited for) or from set
//! to clear (enable: the line is unmasked, then the hook), holding the
//! interrupt lock if the source has one.
//!
//! Cancel is final: the device is quiesced, the top half stops scheduling, the
//! source is held for good (an exclusive line stays masked until the source is
//! dropped), every later line operation answers `ENODEV`, and the handler runs
//! on the loop once no action of the source can run again.

use super::{
    super::{
        hooks::{self, Point},
        interrupt_lock::{self, InterruptLocked},
        sys,
        work_loop::dispatch,
    },
    Hold, InterruptCore, InterruptHandler,
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Acquire, Relaxed, Release},
        Arc,
    },
};

impl<T: InterruptHandler> InterruptCore<T> {
    /// Undoes one driver disable, or with none outstanding turns the flag on.
    pub(super) fn enable_line(&self) -> Result {
        let mut hold = self.disable_count.lock();
        self.check_open(true)?;
        self.drive(&mut hold, |h| {
            if h.driver > 0 {
                h.driver -= 1;
            } else if h.off {
                h.off = false;
            } else {
                return Err(EINVAL);
            }
            Ok(())
        })
    }

    /// One more driver disable; waits for a running top half.
    pub(super) fn disable_line(&self) -> Result {
        let mut hold = self.disable_count.lock();
        self.check_open(false)?;
        self.drive(&mut hold, |h| {
            h.driver += 1;
            Ok(())
        })?;
        hooks::point(Point::DisableBeforeSync);
        // Still under the mutex teardown takes before `free_irq`: the line stays
        // requested for the whole wait, as `disable_irq` requires.
        self.line.synchronize();
        Ok(())
    }

    /// DriverKit's `SetEnable`: sets the flag, however often.
    pub(super) fn set_enable(&self, on: bool) -> Result {
        let mut hold = self.disable_count.lock();
        self.check_open(on)?;
        self.drive(&mut hold, |h| {
            h.off = !on;
            Ok(())
        })
    }

    /// `ENODEV` once closed (dropped or cancelled); with `attach`, `ENOTCONN` on
    /// no loop. Under `disable_count`, which closing takes.
    fn check_open(&self, attach: bool) -> Result {
        if self.closed.load(Acquire) {
            return Err(ENODEV);
        }
        if attach && !self.base.is_attached() {
            return Err(sys::enotconn());
        }
        Ok(())
    }

    /// Applies the driver's `change` to `hold` (locked), with the hooks in WDF's
    /// order when it stops or starts the source; undoes it if `on_enable` fails.
    fn drive(&self, hold: &mut Hold, change: impl FnOnce(&mut Hold) -> Result) -> Result {
        let before = *hold;
        let mut after = before;
        change(&mut after)?;
        match (before.driver_depth() == 0, after.driver_depth() == 0) {
            (true, false) => {
                self.call_hook(|h, locked| {
                    h.on_disable(locked);
                    Ok(())
                })?;
                self.hold(hold, |h| *h = after);
            }
            (false, true) => {
                self.unhold(hold, |h| *h = after);
                if let Err(e) = self.call_hook(|h, locked| h.on_enable(locked)) {
                    self.hold(hold, |h| *h = before);
                    return Err(e);
                }
            }
            // The driver's part stays set (so does the hold) or stays clear.
            _ => *hold = after,
        }
        Ok(())
    }

    /// Calls a driver hook holding the interrupt lock if the source has one.
    fn call_hook(&self, hook: impl FnOnce(&T, Option<&InterruptLocked<'_>>) -> Result) -> Result {
        match self.interrupt_lock() {
            Some(lock) => {
                let locked = interrupt_lock::acquire(Some(lock))?;
                hook(&self.handler, Some(&locked))
            }
            None => hook(&self.handler, None),
        }
    }

    /// Quiesces the device once, for the first of cancel and drop.
    pub(super) fn quiesce_once(&self) {
        if !self.quiesced.xchg(true, Relaxed) {
            self.handler.quiesce();
        }
    }

    /// See [`super::InterruptEventSource::cancel`].
    pub(super) fn cancel(this: &Arc<Self>, handler: impl FnOnce() + Send + 'static) -> Result {
        // Everything that can fail first: the handler's place in the queue.
        let job = dispatch::plain_job(handler)?;
        {
            let _hold = this.disable_count.lock();
            if this.closed.load(Acquire) {
                return Err(ENODEV);
            }
        }
        this.quiesce_once();
        {
            let mut hold = this.disable_count.lock();
            if this.closed.load(Acquire) {
                return Err(ENODEV);
            }
            this.closed.store(true, Release);
            this.hold(&mut hold, |h| h.off = true);
        }
        // No top half runs with the old state after this (one that read `closed`
        // clear may have masked the line: give that back, the hold keeps an
        // exclusive line masked), and no storm throttle is pending or taken.
        this.line.synchronize();
        this.unmask_auto();
        sys::cancel_delayed_work_sync(this);
        this.storm_unmask();
        // After the pass that follows: the source is held and closed, so no action
        // of it starts again, and one running (the caller's own, inside the
        // action) has returned. Without a loop, no action can run: at once.
        let work_loop = this.base.work_loop();
        dispatch::run_on(work_loop.as_deref(), job);
        Ok(())
    }

    /// [`InterruptCore::set_enable`], then `completion` on the loop after every
    /// action that was running or could start before the change.
    pub(super) fn set_enable_with_completion(
        &self,
        on: bool,
        completion: impl FnOnce() + Send + 'static,
    ) -> Result {
        let job = dispatch::plain_job(completion)?;
        self.set_enable(on)?;
        let work_loop = self.base.work_loop();
        dispatch::run_on(work_loop.as_deref(), job);
        Ok(())
    }
}
