// SPDX-License-Identifier: GPL-2.0

//! The loop's list of sources: adding and removing a source, and the graveyard
//! that keeps a removed source alive while a pass may still be walking it.
//!
//! Everything here runs holding the gate, which is what makes the list and the
//! graveyard safe to touch (see [`LoopInner`]'s invariants).

use super::{Entry, EventSource, Gate, LoopInner, WorkLoop};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Acquire, Relaxed, Release},
        Arc, ArcBorrow,
    },
};

impl LoopInner {
    /// The source at `i`, as a pointer that stays valid until the gate is released
    /// (a removed source waits in the graveyard). `None` past the end.
    pub(super) fn source_at(&self, _gate: &Gate<'_>, i: usize) -> Option<*const dyn EventSource> {
        // SAFETY: The gate is held (`_gate`), which serializes every access to
        // `sources`; no reference into it outlives this expression.
        let list = unsafe { &*self.sources.get() };
        list.get(i).map(Arc::as_ptr)
    }

    /// A copy of the source list. Gate held.
    pub(super) fn clone_sources(&self, _gate: &Gate<'_>) -> Result<KVec<Arc<dyn EventSource>>> {
        // SAFETY: Gate held (type invariant of `LoopInner`); the reference ends before anything
        // else runs.
        let list = unsafe { &*self.sources.get() };
        let mut out = KVec::with_capacity(list.len(), GFP_KERNEL)?;
        for s in list.iter() {
            out.push(s.clone(), GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Drops what removals left in the graveyard. Gate held, no walk in progress.
    pub(super) fn drain_graveyard(&self, _gate: &Gate<'_>) {
        loop {
            let popped = {
                // SAFETY: Gate held (type invariant of `LoopInner`); the reference ends with this
                // block, before the source is dropped (a drop may re-enter the loop).
                let graveyard = unsafe { &mut *self.graveyard.get() };
                graveyard.pop()
            };
            let Some(src) = popped else {
                break;
            };
            drop(src);
        }
    }

    pub(super) fn add_source(this: ArcBorrow<'_, Self>, src: Arc<dyn EventSource>) -> Result {
        let gate = Self::close_gate(this, Entry::Wait)?;
        // Checked holding the gate, which `stop` takes after setting `closed` to
        // disable the sources: every source it must disable is in the list by then.
        if this.is_closed() {
            return Err(ENODEV);
        }
        // Room for removing every source (this one included) before the graveyard is
        // next drained, without allocating: `reserve` guarantees `len + count`.
        // SAFETY: Gate held (type invariant of `LoopInner`).
        let count = unsafe { &*this.sources.get() }.len() + 1;
        // SAFETY: Gate held (type invariant of `LoopInner`).
        unsafe { &mut *this.graveyard.get() }.reserve(count, GFP_KERNEL)?;
        let work_loop: Arc<Self> = this.into();
        src.base().attach(&work_loop)?;
        // SAFETY: Gate held (type invariant of `LoopInner`).
        let pushed = unsafe { &mut *this.sources.get() }.push(src.clone(), GFP_KERNEL);
        if let Err(e) = pushed {
            let retired = src.base().detach();
            drop(gate);
            drop(retired);
            return Err(e.into());
        }
        this.source_count.fetch_add(1, Relaxed);
        this.list_changed.store(true, Release);
        drop(gate);
        src.attached();
        // The source may have work already.
        src.base().signal_work_available();
        Ok(())
    }

    pub(super) fn remove_source(this: ArcBorrow<'_, Self>, src: &Arc<dyn EventSource>) -> Result {
        let gate = match Self::close_gate(this, Entry::Wait) {
            Ok(gate) => gate,
            Err(e) => {
                if e == ENODEV {
                    // The loop is stopping: its stop detaches the source once no
                    // action runs. Wait for it, so that the action is not running
                    // (nor asleep in the gate) when this returns.
                    this.wait_stopped_from_outside();
                }
                return Err(e);
            }
        };
        let removed = {
            // SAFETY: Gate held (type invariant of `LoopInner`); this reference ends in this block
            // and nothing in it calls out.
            let list = unsafe { &mut *this.sources.get() };
            let pos = list
                .iter()
                .position(|s| core::ptr::addr_eq(Arc::as_ptr(s), Arc::as_ptr(src)));
            pos.and_then(|i| list.remove(i).ok())
        };
        let Some(removed) = removed else {
            return Err(ENOENT);
        };
        let retired = src.base().detach();
        src.detached();
        this.source_count.fetch_sub(1, Relaxed);
        this.list_changed.store(true, Release);
        let key = Arc::as_ptr(src).cast::<()>() as usize;
        // We hold the gate, so a source whose `check_for_work` is still running is
        // one whose action sleeps in the gate (unless we are that action).
        let asleep = !this.on_thread() && this.running.load(Relaxed) == key;
        let nested = this.gate.depth() > 1;
        if this.on_thread() || (asleep && nested) {
            // A pass may be walking this source (the caller is an action), or the
            // caller is inside the gate and cannot wait for the action to leave it:
            // the source is dropped between passes.
            if asleep {
                this.abort_running_action();
            }
            // SAFETY: Gate held (type invariant of `LoopInner`). `add_source` keeps the graveyard's
            // capacity at least its length plus the number of sources, so this cannot
            // fail; were it to, the source is leaked rather than dropped, since a walk
            // in progress may be running it.
            if let Err(e) = unsafe { &mut *this.graveyard.get() }.push_within_capacity(removed) {
                pr_warn!("workloop: graveyard full; leaking a removed source\n");
                core::mem::forget(e);
            }
            drop(gate);
            drop(retired);
            return Ok(());
        }
        if asleep {
            // The action sleeps in the gate: fail its sleep and wait, outside the
            // gate, until it has returned.
            this.abort_running_action();
            drop(gate);
            this.gate
                .wait_as_waiter(|| this.running.load(Acquire) != key);
        } else {
            drop(gate);
        }
        // No walk holds this source: drop it now, outside the gate (its drop may
        // close a command gate or stop a loop).
        drop(retired);
        drop(removed);
        Ok(())
    }

    /// Fails the sleeps of the running source's action, now and until it returns.
    /// Gate held by a task other than the loop thread.
    pub(super) fn abort_running_action(&self) {
        let thread = self.thread_id.load(Relaxed);
        self.gate
            .abort_task(thread, || self.running_removed.store(true, Release));
    }

    pub(crate) fn remove_source_arc(work_loop: &Arc<Self>, src: &Arc<dyn EventSource>) -> Result {
        Self::remove_source(work_loop.as_arc_borrow(), src)
    }
}

impl WorkLoop {
    fn snapshot_sources(&self) -> Result<KVec<Arc<dyn EventSource>>> {
        let gate = LoopInner::close_gate(self.inner(), Entry::Wait)?;
        self.inner.clone_sources(&gate)
    }

    /// Enables every attached source through its own [`EventSource::enable`], as a
    /// driver call would: an interrupt source undoes one disable (one already
    /// enabled is left as it is), a command gate wakes its waiters.
    ///
    /// # Errors
    ///
    /// The first error of a source other than "already enabled" (`EINVAL`); the
    /// other sources are still enabled.
    pub fn enable_all_event_sources(&self) -> Result {
        let mut result = Ok(());
        for s in self.snapshot_sources()? {
            match s.enable() {
                Ok(()) | Err(EINVAL) => {}
                Err(e) => result = result.and(Err(e)),
            }
        }
        result
    }

    /// For a driver's suspend callback ([`PciPower::suspend`]): disables every
    /// source (an interrupt source runs its `on_disable` hook and is held, on an
    /// exclusive line masked) and returns once no action runs. Interrupts
    /// counted meanwhile are delivered after [`WorkLoop::resume`]. Process
    /// context; never waits for the loop's thread, which may be frozen.
    ///
    /// [`PciPower::suspend`]: super::super::PciPower::suspend
    pub fn suspend(&self) -> Result {
        self.disable_all_event_sources()?;
        // The gate is free of actions once this enters it.
        self.run_action(|_| ())
    }

    /// For a driver's resume callback: enables every source again (undoing
    /// [`WorkLoop::suspend`]'s disable; a source the driver had disabled itself
    /// stays disabled).
    pub fn resume(&self) -> Result {
        self.enable_all_event_sources()
    }

    /// Disables every attached source through its own [`EventSource::disable`]
    /// (an interrupt source's disable nests): their actions stop running until
    /// enabled.
    pub fn disable_all_event_sources(&self) -> Result {
        let mut result = Ok(());
        for s in self.snapshot_sources()? {
            if let Err(e) = s.disable() {
                result = result.and(Err(e));
            }
        }
        result
    }
}
