// SPDX-License-Identifier: GPL-2.0

//! The work loop: one kernel thread that runs the actions of its event sources,
//! one at a time, holding the loop's gate.
//!
//! This is IOKit's `IOWorkLoop` on Linux. A driver attaches event sources to a
//! loop; whenever a source signals work (from any context, hard IRQ included) the
//! loop's thread wakes, closes the *gate*, and walks the sources calling
//! [`EventSource::check_for_work`], which runs the source's action if it has
//! something pending. Because every action of every source on one loop runs with
//! the gate held, driver state touched only from actions and from
//! [`WorkLoop::run_action`] needs no lock of its own.
//!
//! # Event sources
//!
//! An event source is IOKit's `IOEventSource`: something that can tell the loop
//! "there is work for me" from any context (hard IRQ included), and whose
//! [`EventSource::check_for_work`] the loop thread calls, holding the gate, to
//! run the source's action. The trait is defined here, with the [`SourceBase`]
//! every source embeds (name, enable state, loop membership, statistics),
//! because a loop and its sources refer to each other; the library's sources
//! ([`InterruptEventSource`], [`SoftwareEventSource`], [`TimerEventSource`],
//! [`CommandGate`]) live in files of their own above this one, the counting
//! they share in `counting.rs`, the gate below it in `gate.rs`.
//!
//! [`InterruptEventSource`]: super::InterruptEventSource
//! [`SoftwareEventSource`]: super::SoftwareEventSource
//! [`TimerEventSource`]: super::TimerEventSource
//! [`CommandGate`]: super::CommandGate
//!
//! # The gate
//!
//! The gate (a [`GateLock`], see [`super::gate`]) is a recursive, sleepable lock
//! with an owner and a depth. The loop thread holds it while it runs actions;
//! any other thread in process context takes it with [`WorkLoop::run_action`] to
//! run a closure "on the loop". Re-entering from the owner only bumps the depth.
//! [`Gate::sleep`] releases every recursion level while it sleeps and restores
//! the depth on wake.
//!
//! # Signalling without lost wake-ups
//!
//! [`LoopInner::signal_work_available`] sets the `work` flag (full barrier) and,
//! only when it was clear, wakes the thread (`wake_up_process`, callable from hard
//! IRQ). The thread clears `work` *before* each pass; to sleep it first marks
//! itself sleeping (task state, full barrier), then checks `work` once more and
//! only then schedules. This is the lock-free protocol Linux's own IRQ threads use
//! (`irq_wait_for_interrupt`): the signaller and the thread each publish before
//! they look, so at least one sees the other, and a signal that lands during a pass
//! (after the clear) always produces another pass. Passes repeat while a source
//! reports more work.
//!
//! # Stopping
//!
//! [`WorkLoop::stop`] (also run on drop) disables every source, lets a running
//! action finish, stops and reaps the thread, wakes gate sleepers with an error,
//! waits until no other thread is inside the gate, and detaches the sources.
//! When it returns no action of this loop can run again.

use super::{
    debugfs,
    gate::{GateLock, SleepResult},
    hooks::{self, Point},
    stats::{bump, LoopStats, SourceStats},
    sys::{self, KThread},
    Priority,
};
use core::{cell::UnsafeCell, ffi::c_void, fmt, marker::PhantomData};
use kernel::{
    debugfs::{Dir, File},
    ffi::c_int,
    prelude::*,
    str::{CStr, CString},
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Full, Relaxed, Release},
        new_mutex, Arc, ArcBorrow, Mutex,
    },
    time::Delta,
    workqueue,
};

/// What the work loop needs from an event source.
///
/// Implemented by the cores of the library's sources; a driver normally uses
/// those and does not implement this trait. It is public so that new kinds of
/// sources can be written the way IOKit subclasses `IOEventSource`.
pub trait EventSource: Send + Sync {
    /// The source's common state.
    fn base(&self) -> &SourceBase;

    /// Runs the source's pending work, if any.
    ///
    /// Called only by the loop's thread, holding the loop's gate, while the source
    /// is attached. Returns `true` to ask for another pass before the thread sleeps.
    fn check_for_work(&self, gate: &Gate<'_>) -> bool;

    /// Lets the action run again and delivers what was held. Process context.
    ///
    /// The default sets the enable flag; sources with more state (an IRQ line, a
    /// gate's waiters) override it. [`WorkLoop::enable_all_event_sources`] calls it.
    ///
    fn enable(&self) -> Result {
        self.base().set_enabled(true);
        self.base().signal_work_available();
        Ok(())
    }

    /// Holds the action until [`EventSource::enable`]. Process context.
    fn disable(&self) -> Result {
        self.base().set_enabled(false);
        Ok(())
    }

    /// Called by `stop` before it detaches the source; the source must not run its
    /// action again. The default disables it.
    fn loop_stopping(&self) {
        // The only failure is a source being torn down, which is disabled for good.
        let _ = self.disable();
    }

    /// Called after the source was attached to a loop (process context, not
    /// holding the gate). The default does nothing.
    fn attached(&self) {}

    /// Called when the source was detached (removed, or its loop stopped), holding
    /// the old loop's gate: nothing may stay armed that would fire for no loop.
    /// The default does nothing.
    fn detached(&self) {}
}

/// Something that is, or owns, an event source and can be attached to a loop.
pub trait AsEventSource {
    /// The source to attach.
    fn event_source(&self) -> Arc<dyn EventSource>;
}

/// A source kept by reference (from [`AsEventSource::event_source`]), to be
/// removed and added again by code that does not own the source object.
impl AsEventSource for Arc<dyn EventSource> {
    fn event_source(&self) -> Arc<dyn EventSource> {
        self.clone()
    }
}

/// State shared by every event source: name, enable flag, loop membership, statistics.
///
/// # Invariants
///
/// A non-null `loop_ptr` points to the [`LoopInner`] whose reference `current`
/// holds. Readers dereference it only inside an RCU read-side section (hard IRQ
/// is one), and a reference taken out of `current` at a detach is dropped only
/// after a grace period if it is the last ([`RetiredLoop`]), so a signaller that
/// loaded the pointer before the detach finds the loop alive.
#[pin_data]
pub struct SourceBase {
    name: CString,
    enabled: AtomicFlag,
    attached: AtomicFlag,
    loop_ptr: Atomic<*mut LoopInner>,
    /// The loop the source is attached to.
    #[pin]
    current: Mutex<Option<Arc<LoopInner>>>,
    pub(crate) stats: Arc<SourceStats>,
    /// `<loop>/<source>/{stats,histogram}` in debugfs while attached to a loop that
    /// has a debugfs directory.
    #[pin]
    files: Mutex<Option<debugfs::SourceFiles>>,
}

impl SourceBase {
    /// Creates the base of a source named `name`, initially enabled or not.
    pub(crate) fn new(name: &CStr, enabled: bool) -> Result<impl PinInit<Self, Error>> {
        let name = name.to_cstring()?;
        let stats = Arc::new(SourceStats::new(), GFP_KERNEL)?;
        Ok(try_pin_init!(Self {
            name,
            enabled: AtomicFlag::new(enabled),
            attached: AtomicFlag::new(false),
            loop_ptr: Atomic::new(core::ptr::null_mut()),
            current <- new_mutex!(None),
            stats,
            files <- new_mutex!(None),
        }? Error))
    }

    /// The source's name.
    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// Whether the source is enabled (its action may run).
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Acquire)
    }

    /// Sets the enable flag. The caller signals the loop if work may be pending.
    #[inline]
    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Release);
    }

    /// Whether the source is attached to a loop now.
    #[inline]
    pub fn is_attached(&self) -> bool {
        self.attached.load(Acquire)
    }

    /// Tells the source's loop that there is work. Any context, hard IRQ included.
    ///
    /// Does nothing while the source is not attached (a signaller racing with the
    /// detach may still give the old loop one spurious pass).
    #[inline]
    pub fn signal_work_available(&self) {
        let _rcu = kernel::sync::rcu::read_lock();
        let lp = self.loop_ptr.load(Acquire);
        if !lp.is_null() {
            // SAFETY: By the type invariant `lp` stays valid inside this RCU
            // read-side section.
            unsafe { (*lp).signal_work_available() };
        }
    }

    /// The loop this source is attached to, if any.
    pub(crate) fn work_loop(&self) -> Option<Arc<LoopInner>> {
        self.current.lock().clone()
    }

    /// [`SourceBase::signal_work_available`] for a caller that is an RCU read-side
    /// section already: hard IRQ (a top half, an hrtimer callback), or a handler
    /// forced into a thread (`threadirqs`, PREEMPT_RT), which runs with bottom
    /// halves disabled.
    #[inline]
    pub(crate) fn signal_work_available_in_irq(&self) {
        let lp = self.loop_ptr.load(Acquire);
        if !lp.is_null() {
            // SAFETY: By the type invariant `lp` stays valid inside an RCU read-side
            // section; hard IRQ is one (the caller's promise).
            unsafe { (*lp).signal_work_available() };
        }
    }

    /// Records membership in `lp`. Called by the loop, holding its gate.
    pub(crate) fn attach(&self, lp: &Arc<LoopInner>) -> Result {
        let mut current = self.current.lock();
        if self.attached.load(Acquire) || current.is_some() {
            return Err(EBUSY);
        }
        // INVARIANT: `current` holds `lp` until the detach.
        *current = Some(lp.clone());
        self.loop_ptr.store(Arc::as_ptr(lp).cast_mut(), Release);
        self.attached.store(true, Release);
        drop(current);
        if let Some(parent) = &lp.debugfs {
            // Statistics are best effort: a failure here does not fail the attach.
            *self.files.lock() = debugfs::SourceFiles::new(parent, &self.name, &self.stats);
        }
        Ok(())
    }

    /// Ends membership. Called by the loop, holding its gate. The loop's reference
    /// is handed back to be dropped outside the gate.
    pub(crate) fn detach(&self) -> RetiredLoop {
        let old = {
            let mut current = self.current.lock();
            self.attached.store(false, Release);
            // A signal from now on wakes no loop; one that loaded the pointer before
            // this store is inside an RCU read-side section (see `RetiredLoop`).
            self.loop_ptr.store(core::ptr::null_mut(), Release);
            current.take()
        };
        drop(self.files.lock().take());
        RetiredLoop(old)
    }

    /// Statistics of this source.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }
}

/// A source's reference to the loop it was detached from. Dropping it releases the
/// reference; if it is the last one, only after an RCU grace period, so that a
/// signaller that loaded the loop pointer before the detach is done with it.
/// Process context.
#[must_use]
pub(crate) struct RetiredLoop(Option<Arc<LoopInner>>);

impl Drop for RetiredLoop {
    fn drop(&mut self) {
        if let Some(lp) = self.0.take() {
            if let Some(last) = Arc::into_unique_or_drop(lp) {
                super::sys::synchronize_rcu();
                drop(last);
            }
        }
    }
}

/// Detaches `src` from its loop, if any, waiting for a running action. Used by
/// the sources' `Drop`. Process context.
pub(crate) fn detach_on_drop(src: &Arc<impl EventSource + 'static>) {
    let Some(lp) = src.base().work_loop() else {
        return;
    };
    let dyn_src: Arc<dyn EventSource> = src.clone();
    // ENOENT: the loop detached it meanwhile (it stopped); nothing left to do.
    let _ = LoopInner::remove_source_arc(&lp, &dyn_src);
}

/// How a work loop's thread is created.
pub struct LoopOptions {
    /// Scheduling class of the thread. Default: [`Priority::Fifo`], the class Linux
    /// gives its own threaded-IRQ handlers, so bottom halves compete on equal terms.
    pub priority: Priority,
    /// Bind the thread to this CPU. Default: none (the scheduler decides).
    pub cpu: Option<u32>,
    /// Create `<dir>/<loop name>/` in debugfs with the loop's and its sources'
    /// statistics. Default: no debugfs entries.
    pub debugfs: Option<Dir>,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            priority: Priority::Fifo,
            cpu: None,
            debugfs: None,
        }
    }
}

/// The shared state of a work loop. Event sources hold references to it.
///
/// # Invariants
///
/// While the thread runs, the `WorkLoop` that created it holds a reference to
/// this value, so the thread's pointer to it stays valid (see [`WorkLoop::stop`]).
#[pin_data]
pub struct LoopInner {
    name: CString,
    /// Wakes the loop's thread.
    waker: sys::TaskWaker,
    /// Work-to-do flag: set by signallers, cleared by the thread before a pass.
    work: Atomic<u32>,
    /// Set when `stop` begins; the thread exits at the next source boundary.
    stopping: AtomicFlag,
    /// Set once the thread was started, and once a `stop` has finished.
    started: AtomicFlag,
    stopped: AtomicFlag,
    /// Thread identity for `on_thread`, 0 once stopped.
    thread_id: Atomic<usize>,
    /// Address of the source whose `check_for_work` the loop thread runs (0: none).
    running: Atomic<usize>,
    /// Set when the running source was removed while its action slept in the gate:
    /// its further sleeps fail at once. Cleared by the loop thread.
    running_removed: AtomicFlag,
    /// The lock every action runs under.
    #[pin]
    pub(crate) gate: GateLock,
    /// The attached sources, in order. Only accessed holding the gate.
    sources: UnsafeCell<KVec<Arc<dyn EventSource>>>,
    /// Sources removed while a pass may be walking the list: dropped by the loop
    /// thread between passes, so a source never goes away under the walk. Its
    /// capacity is kept at least its length plus the number of sources, so removing
    /// never allocates. Only accessed holding the gate.
    graveyard: UnsafeCell<KVec<Arc<dyn EventSource>>>,
    /// Number of attached sources (for statistics).
    source_count: Atomic<u32>,
    /// Set when the source list changed; the pass restarts from the head.
    restart: AtomicFlag,
    pub(crate) stats: LoopStats,
    pub(crate) debugfs: Option<Dir>,
    /// Counted while alive, for tests (nothing in normal builds).
    _live: hooks::LiveLoop,
}

// SAFETY: `sources` and `graveyard` are only accessed by the task holding the gate
// (see `LoopInner::source_at`), which excludes every other task; every other field
// is `Send` and `Sync`.
unsafe impl Send for LoopInner {}
// SAFETY: See `Send`.
unsafe impl Sync for LoopInner {}

impl LoopInner {
    fn new(name: &CStr, debugfs: Option<Dir>) -> Result<impl PinInit<Self, Error>> {
        let name = name.to_cstring()?;
        Ok(try_pin_init!(Self {
            name,
            waker: sys::TaskWaker::new(),
            work: Atomic::new(0),
            stopping: AtomicFlag::new(false),
            started: AtomicFlag::new(false),
            stopped: AtomicFlag::new(false),
            thread_id: Atomic::new(0),
            running: Atomic::new(0),
            running_removed: AtomicFlag::new(false),
            // SAFETY: `name` is a field of the same value: it outlives the gate's
            // lockdep map, and its buffer does not move.
            gate <- unsafe { GateLock::new(name.as_char_ptr()) },
            sources: UnsafeCell::new(KVec::new()),
            graveyard: UnsafeCell::new(KVec::new()),
            source_count: Atomic::new(0),
            restart: AtomicFlag::new(false),
            stats: LoopStats::new(),
            debugfs,
            _live: hooks::LiveLoop::new(),
        }? Error))
    }

    /// The loop's name (also its thread's name).
    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// Tells the loop there is work. Any context, hard IRQ included; never sleeps.
    #[inline]
    pub fn signal_work_available(&self) {
        // Full ordering: whatever the caller produced before this call is visible to
        // the pass that follows the thread's own `xchg(0)` of `work`.
        if self.work.xchg(1, Full) == 0 {
            self.waker.wake();
        }
    }

    /// Whether the calling task holds the gate.
    pub fn in_gate(&self) -> bool {
        self.gate.owner() == sys::current_task_id()
    }

    /// Whether the caller is the loop's own thread.
    pub fn on_thread(&self) -> bool {
        self.thread_id.load(Relaxed) == sys::current_task_id()
    }

    /// The loop thread's task id (0 once stopped), for tests that park it.
    #[allow(dead_code)]
    pub(crate) fn thread_task_id(&self) -> usize {
        self.thread_id.load(Relaxed)
    }

    /// Number of gate sleepers listed now, for tests that wait for a sleeper to
    /// have registered.
    #[allow(dead_code)]
    pub(crate) fn sleeper_count(&self) -> usize {
        self.gate.sleeper_count()
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Acquire)
    }

    /// Takes the gate (recursively). Process context; may sleep.
    ///
    /// Fails with `ENODEV` once the loop is stopped, unless the caller already holds
    /// the gate.
    pub(crate) fn close_gate(this: ArcBorrow<'_, Self>) -> Result<Gate<'_>> {
        Self::enter_gate_checked(this, true)
    }

    /// Takes the gate only if that needs no waiting (`EBUSY` otherwise).
    pub(crate) fn try_close_gate(this: ArcBorrow<'_, Self>) -> Result<Gate<'_>> {
        Self::enter_gate_checked(this, false)
    }

    /// Entry from anywhere but the loop thread's own passes: checks the context
    /// first. Not from hard IRQ, softirq or NMI: `current` there is whatever task
    /// was interrupted, which may be the holder (a silent recursion into its
    /// critical section), and leaving the gate may take a mutex.
    fn enter_gate_checked(this: ArcBorrow<'_, Self>, wait: bool) -> Result<Gate<'_>> {
        if !sys::in_task() {
            return Err(EPERM);
        }
        let me = sys::current_task_id();
        if this.gate.owner() != me {
            // Entering may wait, and leaving may take a mutex: never atomic.
            kernel::task::might_sleep();
        }
        Self::enter_gate(this, me, wait)
    }

    /// Takes the gate as task `me`: the caller's own id, in process context (the
    /// loop thread for its passes, or `enter_gate_checked`).
    fn enter_gate(this: ArcBorrow<'_, Self>, me: usize, wait: bool) -> Result<Gate<'_>> {
        this.gate.enter(me, wait)?;
        Ok(Gate::new(this))
    }

    /// Sleeps on `event`, releasing the gate; see [`Gate::sleep`] and
    /// [`GateLock::sleep`]. An action of a source removed while it slept in the
    /// gate cannot sleep again (see `abort_running_action`).
    pub(crate) fn sleep(
        &self,
        event: usize,
        timeout: Option<Delta>,
        ready: Option<&dyn Fn() -> bool>,
    ) -> Result<SleepResult> {
        let me = sys::current_task_id();
        let removed = || me == self.thread_id.load(Relaxed) && self.running_removed.load(Acquire);
        self.gate.sleep(event, timeout, ready, &removed)
    }

    /// Wakes sleepers waiting on `event` (all, or only the oldest).
    pub(crate) fn wakeup(&self, event: usize, one_thread: bool) {
        self.gate.wakeup(event, one_thread)
    }

    /// Wakes sleepers waiting on `event` inside the command gate `tag` only.
    pub(crate) fn wakeup_tagged(&self, event: usize, tag: usize, one_thread: bool) {
        self.gate.wakeup_tagged(event, tag, one_thread)
    }

    /// Fails every sleeper inside the command gate `tag`.
    pub(crate) fn abort_sleepers_in(&self, tag: usize) {
        self.gate.abort_sleepers_in(tag)
    }

    /// Runs `f` inside the command gate `tag` (see [`GateLock::in_scope`]).
    pub(crate) fn in_scope<R>(
        &self,
        _gate: &Gate<'_>,
        tag: usize,
        closed: &AtomicFlag,
        f: impl FnOnce() -> R,
    ) -> R {
        self.gate.in_scope(tag, closed, f)
    }

    /// Whether the gate holder is inside the command gate `tag`.
    pub(crate) fn holder_in_scope(&self, _gate: &Gate<'_>, tag: usize) -> bool {
        self.gate.holder_in_scope(tag)
    }

    /// Waits (not holding the gate) until `cond` holds with the gate free.
    pub(crate) fn wait_gate_idle(&self, cond: impl Fn() -> bool) {
        self.gate.wait_idle(cond)
    }

    /// The source at `i`, as a pointer that stays valid until the gate is released
    /// (a removed source waits in the graveyard). `None` past the end.
    fn source_at(&self, _gate: &Gate<'_>, i: usize) -> Option<*const dyn EventSource> {
        // SAFETY: The gate is held (`_gate`), which serializes every access to
        // `sources`; no reference into it outlives this expression.
        let list = unsafe { &*self.sources.get() };
        list.get(i).map(Arc::as_ptr)
    }

    /// A copy of the source list. Gate held.
    fn clone_sources(&self, _gate: &Gate<'_>) -> Result<KVec<Arc<dyn EventSource>>> {
        // SAFETY: As in `source_at`; the reference ends before anything else runs.
        let list = unsafe { &*self.sources.get() };
        let mut out = KVec::with_capacity(list.len(), GFP_KERNEL)?;
        for s in list.iter() {
            out.push(s.clone(), GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Drops what removals left in the graveyard. Gate held, no walk in progress.
    fn drain_graveyard(&self, _gate: &Gate<'_>) {
        loop {
            let popped = {
                // SAFETY: As in `source_at`; the reference ends with this block, before
                // the source is dropped (a drop may re-enter the loop).
                let graveyard = unsafe { &mut *self.graveyard.get() };
                graveyard.pop()
            };
            let Some(src) = popped else {
                break;
            };
            drop(src);
        }
    }

    fn add_source(this: ArcBorrow<'_, Self>, src: Arc<dyn EventSource>) -> Result {
        let gate = Self::close_gate(this)?;
        // Checked holding the gate, which `stop` takes after setting `stopping` to
        // disable the sources: every source it must disable is in the list by then.
        if this.is_stopping() {
            return Err(ENODEV);
        }
        // Room for removing every source (this one included) before the graveyard is
        // next drained, without allocating: `reserve` guarantees `len + count`.
        // SAFETY: Gate held (see `source_at`).
        let count = unsafe { &*this.sources.get() }.len() + 1;
        // SAFETY: Gate held (see `source_at`).
        unsafe { &mut *this.graveyard.get() }.reserve(count, GFP_KERNEL)?;
        let lp: Arc<Self> = this.into();
        src.base().attach(&lp)?;
        // SAFETY: Gate held (see `source_at`).
        let pushed = unsafe { &mut *this.sources.get() }.push(src.clone(), GFP_KERNEL);
        if let Err(e) = pushed {
            let retired = src.base().detach();
            drop(gate);
            drop(retired);
            return Err(e.into());
        }
        this.source_count.fetch_add(1, Relaxed);
        this.restart.store(true, Release);
        drop(gate);
        src.attached();
        // The source may have work already.
        src.base().signal_work_available();
        Ok(())
    }

    fn remove_source(this: ArcBorrow<'_, Self>, src: &Arc<dyn EventSource>) -> Result {
        let gate = Self::close_gate(this)?;
        let removed = {
            // SAFETY: Gate held (see `source_at`); this reference ends in this block
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
        this.restart.store(true, Release);
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
            // SAFETY: Gate held (see `source_at`). `add_source` keeps the graveyard's
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
    fn abort_running_action(&self) {
        let thread = self.thread_id.load(Relaxed);
        self.gate
            .abort_task(thread, || self.running_removed.store(true, Release));
    }

    pub(crate) fn remove_source_arc(lp: &Arc<Self>, src: &Arc<dyn EventSource>) -> Result {
        Self::remove_source(lp.as_arc_borrow(), src)
    }

    /// One pass over the sources, holding the gate. Returns whether any source asked
    /// for another pass.
    fn run_pass(this: ArcBorrow<'_, Self>, me: usize) -> bool {
        let Ok(gate) = Self::enter_gate(this, me, true) else {
            return false;
        };
        bump(&this.stats.passes, 1);
        this.restart.store(false, Relaxed);
        let mut more = false;
        let mut i = 0;
        while !this.is_stopping() {
            // Re-read the list after every source: the action may add or remove
            // sources. A removed source stays alive in the graveyard until the pass
            // ends, so the pointer stays valid while its `check_for_work` runs.
            let Some(src) = this.source_at(&gate, i) else {
                break;
            };
            i += 1;
            // SAFETY: `src` points to a source kept alive by the list or the
            // graveyard while the gate is held (see `source_at`).
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
            if this.restart.xchg(false, Acquire) {
                i = 0;
            }
        }
        // SAFETY: Gate held (see `source_at`).
        let dead = !unsafe { &*this.graveyard.get() }.is_empty();
        drop(gate);
        if dead {
            Self::drain_graveyard_outside(this, me);
        }
        more
    }

    /// Drops what removals left in the graveyard, each outside the gate: a source's
    /// drop may close a command gate or drop a loop, which must not hold the gate.
    /// Loop thread, between passes.
    fn drain_graveyard_outside(this: ArcBorrow<'_, Self>, me: usize) {
        loop {
            let Ok(gate) = Self::enter_gate(this, me, true) else {
                // Stopped: `stop` drains what is left.
                return;
            };
            // SAFETY: Gate held (see `source_at`); no walk is in progress.
            let popped = unsafe { &mut *this.graveyard.get() }.pop();
            drop(gate);
            match popped {
                Some(src) => drop(src),
                None => return,
            }
        }
    }

    fn thread_main(this: ArcBorrow<'_, Self>) {
        let me = sys::current_task_id();
        while !this.is_stopping() {
            // Clear before the pass: a signal from here on forces another pass.
            this.work.xchg(0, Full);
            if Self::run_pass(this, me) {
                continue;
            }
            // `kthread_should_stop` too, once per sleep (a C call, kept off the
            // pass path), as genirq's `irq_wait_for_interrupt` checks it: a stop
            // without `stopping` must end the loop. `kthread_stop` also sends a
            // signal, so a sleep that began just before it returns at once.
            if this.is_stopping() || sys::kthread_should_stop() {
                break;
            }
            hooks::point_spin(Point::LoopBeforeSleep);
            sys::sleep_unless(|| this.work.load(Relaxed) != 0 || this.is_stopping());
            bump(&this.stats.wakeups, 1);
        }
        // Stay until `kthread_stop` so that the creator reaps a live thread.
        while !sys::kthread_should_stop() {
            sys::sleep_unless(sys::kthread_should_stop);
        }
    }
}

/// Thread function of a work loop.
///
/// # Safety
///
/// `data` must be the pointer `WorkLoop::new` obtained from `Arc::into_raw`, valid
/// until the thread was stopped.
unsafe extern "C" fn loop_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` came from `Arc::into_raw` in `WorkLoop::new`; that reference is
    // only released after `KThread::stop` returned, i.e. after this function returned.
    let lp = unsafe { ArcBorrow::<LoopInner>::from_raw(data.cast::<LoopInner>()) };
    LoopInner::thread_main(lp);
    0
}

/// Proof that the caller holds a loop's gate; released when dropped.
///
/// Actions receive a `&Gate`. It is not `Send`: the gate belongs to a task.
pub struct Gate<'a> {
    lp: ArcBorrow<'a, LoopInner>,
    _not_send: PhantomData<*mut ()>,
}

impl<'a> Gate<'a> {
    fn new(lp: ArcBorrow<'a, LoopInner>) -> Self {
        Self {
            lp,
            _not_send: PhantomData,
        }
    }

    /// Name of the loop whose gate this is.
    pub fn loop_name(&self) -> &CStr {
        self.lp.name()
    }

    /// Whether the holder is the loop's own thread (running a source's action) rather
    /// than a thread inside [`WorkLoop::run_action`].
    pub fn on_thread(&self) -> bool {
        self.lp.on_thread()
    }

    /// Whether this gate belongs to the loop `other` refers to.
    pub(crate) fn is_loop(&self, other: &LoopInner) -> bool {
        core::ptr::eq(&*self.lp, other)
    }

    /// Sleeps until [`Gate::wakeup`] is called for `event` or `timeout` passes,
    /// releasing the gate (every recursion level) meanwhile and taking it back, at
    /// the same depth, before returning. Process context only.
    ///
    /// `event` is any number both sides agree on, usually an address.
    ///
    /// # Errors
    ///
    /// `ERESTARTSYS` if a signal arrived, `ENODEV` if the loop stopped (or the
    /// command gate the sleep belongs to went away), `ENOMEM`.
    pub fn sleep(&self, event: usize, timeout: Option<Delta>) -> Result<SleepResult> {
        self.lp.sleep(event, timeout, None)
    }

    /// The loop this gate belongs to.
    pub(crate) fn inner(&self) -> &LoopInner {
        &self.lp
    }

    /// Wakes threads sleeping in this loop's gate on `event`: all of them, or only
    /// the one that slept first. Process context; need not hold the gate.
    pub fn wakeup(&self, event: usize, one_thread: bool) {
        self.lp.wakeup(event, one_thread)
    }

    /// Attaches `src` to this loop (from inside an action or `run_action`).
    pub fn add_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::add_source(self.lp, src.event_source())
    }

    /// Detaches `src` from this loop; its action does not run again.
    pub fn remove_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::remove_source(self.lp, &src.event_source())
    }

    /// Accounts an action that ran for `ns` nanoseconds in the loop's statistics.
    pub(crate) fn account_action(&self, ns: u64) {
        self.lp.stats.account_action(ns);
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        self.lp.gate.leave();
    }
}

/// The loop's thread and the reference to [`LoopInner`] it runs with.
///
/// # Invariants
///
/// `raw` is a reference to the loop's `LoopInner` obtained with `Arc::into_raw` and
/// handed to `task`'s thread function; it is reclaimed only by
/// [`LoopThread::stop`], after the thread has exited.
struct LoopThread {
    task: KThread,
    raw: *const LoopInner,
}

// SAFETY: `raw` is an owned `Arc` reference (type invariant), which may be released
// from any thread; `KThread` is `Send`.
unsafe impl Send for LoopThread {}

impl LoopThread {
    /// Stops the thread, waits until it has exited and releases its reference.
    /// Must not be called by the thread itself.
    fn stop(self) {
        self.task.stop();
        // SAFETY: The thread has exited, so the reference handed to it can be
        // reclaimed (type invariant).
        drop(unsafe { Arc::from_raw(self.raw) });
    }
}

/// A work loop: a dedicated kernel thread plus the gate that serializes every
/// action of the event sources attached to it.
///
/// Dropping the loop stops it (see [`WorkLoop::stop`]).
///
/// # Invariants
///
/// `thread` holds the loop's running thread until a `stop` takes it; a later
/// `stop` waits until `LoopInner::stopped` says that one finished.
#[pin_data(PinnedDrop)]
pub struct WorkLoop {
    inner: Arc<LoopInner>,
    #[pin]
    thread: Mutex<Option<LoopThread>>,
    _stats_file: Option<Pin<KBox<File<debugfs::TextView<LoopInner>>>>>,
}

/// The debugfs view of a loop's statistics.
/// `<debugfs>/<loop>/stats`.
impl debugfs::Text for LoopInner {
    fn write_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "name: {}", self.name().to_str().unwrap_or("?"))?;
        writeln!(f, "sources: {}", self.source_count.load(Relaxed))?;
        write!(f, "{}", &self.stats)
    }
}

impl WorkLoop {
    /// Creates a loop named `name` and starts its thread.
    ///
    /// Process context; may sleep.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a name that is not UTF-8 or a CPU that does not exist,
    /// `ENOMEM`, or the error of `kthread_create_on_node`.
    pub fn new(name: &CStr, options: LoopOptions) -> Result<Pin<KBox<Self>>> {
        let dir = options.debugfs.as_ref().map(|d| d.subdir(name));
        let inner = Arc::pin_init(LoopInner::new(name, dir)?, GFP_KERNEL)?;
        let stats_file = match &inner.debugfs {
            Some(d) => Some(KBox::pin_init(
                d.read_only_file(c"stats", debugfs::TextView(inner.clone())),
                GFP_KERNEL,
            )?),
            None => None,
        };
        let this = KBox::pin_init(
            try_pin_init!(Self {
                inner,
                thread <- new_mutex!(None),
                _stats_file: stats_file,
            }? Error),
            GFP_KERNEL,
        )?;
        // Every fallible step is done before the thread runs: a thread that is
        // stopped before it was started never runs its function.
        let raw = Arc::into_raw(this.inner.clone());
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
        let thread = LoopThread { task, raw };
        if hooks::fail(Point::FailLoopNewAfterThread) {
            thread.stop();
            return Err(ENOMEM);
        }
        this.inner.thread_id.store(thread.task.id(), Relaxed);
        this.inner.waker.set(&thread.task);
        thread.task.start();
        this.inner.started.store(true, Release);
        *this.thread.lock() = Some(thread);
        Ok(this)
    }

    pub(crate) fn inner(&self) -> ArcBorrow<'_, LoopInner> {
        self.inner.as_arc_borrow()
    }

    /// The loop's name.
    pub fn name(&self) -> &CStr {
        self.inner.name()
    }

    /// Whether the calling task holds this loop's gate.
    pub fn in_gate(&self) -> bool {
        self.inner.in_gate()
    }

    /// Whether the caller is this loop's thread.
    pub fn on_thread(&self) -> bool {
        self.inner.on_thread()
    }

    /// Wakes the loop for a pass over its sources. Any context.
    pub fn signal_work_available(&self) {
        self.inner.signal_work_available()
    }

    /// Runs `f` holding the gate, serialized with every action of this loop.
    ///
    /// Process context; may sleep waiting for the gate. Recursive: calling it from
    /// inside an action or another `run_action` of the same loop runs `f` at once.
    ///
    /// # Errors
    ///
    /// `ENODEV` if the loop is stopped.
    pub fn run_action<R>(&self, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        let gate = LoopInner::close_gate(self.inner())?;
        Ok(f(&gate))
    }

    /// Like [`WorkLoop::run_action`] but fails with `EBUSY` instead of waiting.
    pub fn attempt_action<R>(&self, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        let gate = LoopInner::try_close_gate(self.inner())?;
        Ok(f(&gate))
    }

    /// Attaches an event source. A source belongs to at most one loop.
    ///
    /// Process context; takes the gate (recursively, so it works inside actions).
    ///
    /// # Errors
    ///
    /// `EBUSY` if the source is already attached (to this or another loop),
    /// `ENODEV` if the loop is stopped, `ENOMEM`.
    pub fn add_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::add_source(self.inner(), src.event_source())
    }

    /// Detaches an event source. When this returns the source's action is not
    /// running and will not run again on this loop.
    ///
    /// # Errors
    ///
    /// `ENOENT` if the source is not attached to this loop, `ENODEV` if stopped.
    pub fn remove_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::remove_source(self.inner(), &src.event_source())
    }

    fn snapshot_sources(&self) -> Result<KVec<Arc<dyn EventSource>>> {
        let gate = LoopInner::close_gate(self.inner())?;
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

    /// Loop statistics.
    pub fn stats(&self) -> &LoopStats {
        &self.inner.stats
    }

    /// Whether [`WorkLoop::stop`] has begun: no source is added and no action
    /// starts from then on.
    pub fn is_stopping(&self) -> bool {
        self.inner.is_stopping()
    }

    /// Stops the loop; see the module documentation. Idempotent; a concurrent
    /// second call returns when the loop has stopped.
    ///
    /// Process context; must not be called from the loop's thread or while holding
    /// its gate (`EDEADLK`).
    pub fn stop(&self) -> Result {
        if self.on_thread() || self.in_gate() {
            return Err(sys::edeadlk());
        }
        // Taken under the mutex, stopped without it (the stop takes the gate, and a
        // dropper inside the gate takes this mutex). A second stopper finds `None`
        // and waits until the first is done.
        let thread = self.thread.lock().take();
        match thread {
            Some(t) => LoopInner::shut_down(self.inner(), t),
            None => self.inner.wait_stopped(),
        }
        Ok(())
    }
}

impl LoopInner {
    /// The body of [`WorkLoop::stop`]. Not on the loop thread, not holding the gate.
    fn shut_down(this: ArcBorrow<'_, Self>, thread: LoopThread) {
        let me = sys::current_task_id();
        // 1. No source runs its action again. Each is told under the gate, walking
        //    the list in place (nothing to allocate, so nothing to fail); a running
        //    action finishes first.
        this.stopping.store(true, Release);
        if let Ok(gate) = Self::close_gate(this) {
            let mut i = 0;
            while let Some(src) = this.source_at(&gate, i) {
                // SAFETY: Valid while the gate is held (see `source_at`).
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
        this.wait_until_no_sleepers();
        hooks::point(Point::StopBeforeDetach);
        // 5. Detach the sources. An entrant that got past the closed check may own
        //    the gate for a moment (it leaves at once): wait for it, never skip this.
        this.gate.enter_closed(me);
        let gate = Gate::new(this);
        // SAFETY: Gate held (see `source_at`).
        let list = core::mem::take(unsafe { &mut *this.sources.get() });
        this.source_count.store(0, Relaxed);
        for s in list.iter() {
            // Disabled in step 1: no source is added once `stopping` is set. The
            // caller holds a reference to this loop, so the sources' references are
            // never the last: dropping them here frees nothing.
            drop(s.base().detach());
            s.detached();
        }
        this.drain_graveyard(&gate);
        drop(gate);
        // A signaller that loaded a source's loop pointer before its detach is done
        // with it after this, before the caller's reference (the last) can go.
        sys::synchronize_rcu();
        // Dropped outside the gate: a source's drop may close a command gate.
        drop(list);
        // Done: a concurrent `stop` waiting in `wait_stopped` may return.
        this.gate.publish(|| this.stopped.store(true, Release));
    }

    /// Waits until a `stop` in progress has finished (at once if the loop's thread
    /// never started or the loop is stopped).
    fn wait_stopped(&self) {
        if !self.started.load(Acquire) {
            return;
        }
        self.gate.wait_as_waiter(|| self.stopped.load(Acquire));
    }
}

impl LoopInner {
    fn wait_until_no_sleepers(&self) {
        self.gate.wait_no_sleepers();
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
