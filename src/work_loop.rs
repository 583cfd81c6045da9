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
//! # The gate
//!
//! The gate is a recursive, sleepable lock with an owner and a depth. The loop
//! thread holds it while it runs actions; any other thread in process context
//! takes it with [`WorkLoop::run_action`] to run a closure "on the loop".
//! Re-entering from the owner only bumps the depth. [`Gate::sleep`] releases
//! every recursion level while it sleeps and restores the depth on wake.
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
    event_source::{AsEventSource, EventSource},
    stats::{bump, LoopStats},
    sys::{self, KThread},
    Priority,
};
use core::{cell::UnsafeCell, ffi::c_void, marker::PhantomData};
use kernel::{
    debugfs::{Dir, File},
    ffi::c_int,
    new_condvar,
    prelude::*,
    str::{CStr, CString},
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Full, Relaxed, Release},
        new_mutex, Arc, ArcBorrow, CondVar, CondVarTimeoutResult, Mutex,
    },
    time::{msecs_to_jiffies, Delta},
};

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

/// Result of a [`Gate::sleep`] that did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepResult {
    /// Woken by [`Gate::wakeup`] (or [`CommandGate::command_wakeup`]).
    ///
    /// [`CommandGate::command_wakeup`]: super::CommandGate::command_wakeup
    Woken,
    /// The timeout passed first.
    TimedOut,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SleeperState {
    Waiting,
    Woken,
    Aborted,
}

struct Sleeper {
    id: u64,
    event: usize,
    tag: usize,
    state: SleeperState,
}

/// Gate state that only matters when someone waits, protected by `LoopInner::gate`
/// (the mutex of the gate's condition variable). Ownership itself is the atomic
/// `LoopInner::gate_owner`, so an uncontended close/open takes no lock.
struct GateState {
    next_sleeper: u64,
    sleepers: KVec<Sleeper>,
}

/// The shared state of a work loop. Event sources hold references to it.
///
/// # Invariants
///
/// - `gate_owner` is the task holding the gate (0: free). It is set from 0 only by a
///   compare-exchange of the acquiring task and cleared only by the owner, so a task
///   that reads its own id there holds the gate. `gate_depth` is written only by the
///   owner.
/// - A task waiting for the gate increments `gate_waiters` (full ordering) before it
///   tries the compare-exchange, and a releasing owner clears `gate_owner` (full
///   ordering) before it reads `gate_waiters`: either the waiter sees the gate free,
///   or the owner sees the waiter and notifies it under the mutex.
/// - While the thread runs, the `WorkLoop` that created it holds a reference to
///   this value, so the thread's pointer to it stays valid (see [`WorkLoop::stop`]).
#[pin_data]
pub struct LoopInner {
    name: CString,
    /// Wakes the loop's thread.
    waker: sys::TaskWaker,
    /// Work-to-do flag: set by signallers, cleared by the thread before a pass.
    work: Atomic<u32>,
    /// Set when `stop` begins; the thread exits at the next source boundary.
    stopping: AtomicFlag,
    /// Thread identity for `on_thread`, 0 once stopped.
    thread_id: Atomic<usize>,
    gate_owner: Atomic<usize>,
    gate_depth: Atomic<u32>,
    gate_waiters: Atomic<u32>,
    /// Set by `stop`: new entries are refused.
    gate_closed: AtomicFlag,
    #[pin]
    gate: Mutex<GateState>,
    #[pin]
    gate_cv: CondVar,
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
            thread_id: Atomic::new(0),
            gate_owner: Atomic::new(0),
            gate_depth: Atomic::new(0),
            gate_waiters: Atomic::new(0),
            gate_closed: AtomicFlag::new(false),
            gate <- new_mutex!(GateState {
                next_sleeper: 1,
                sleepers: KVec::new(),
            }),
            gate_cv <- new_condvar!(),
            sources: UnsafeCell::new(KVec::new()),
            graveyard: UnsafeCell::new(KVec::new()),
            source_count: Atomic::new(0),
            restart: AtomicFlag::new(false),
            stats: LoopStats::new(),
            debugfs,
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
        self.gate_owner.load(Relaxed) == sys::current_task_id()
    }

    /// Whether the caller is the loop's own thread.
    pub fn on_thread(&self) -> bool {
        self.thread_id.load(Relaxed) == sys::current_task_id()
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Acquire)
    }

    /// Tries to become the owner of a free gate.
    #[inline]
    fn try_acquire(&self, me: usize) -> bool {
        if self.gate_owner.cmpxchg(0, me, Full).is_ok() {
            self.gate_depth.store(1, Relaxed);
            true
        } else {
            false
        }
    }

    /// Waits on the condition variable until `cond` holds. `cond` runs with the
    /// mutex held, while counted as a gate waiter (see the type invariants).
    fn wait_as_gate_waiter(&self, mut cond: impl FnMut(&mut GateState) -> bool) {
        let mut st = self.gate.lock();
        self.gate_waiters.fetch_add(1, Full);
        while !cond(&mut st) {
            self.gate_cv.wait(&mut st);
        }
        self.gate_waiters.fetch_sub(1, Full);
    }

    /// Takes the gate (recursively). Process context; may sleep.
    ///
    /// Fails with `ENODEV` once the loop is stopped, unless the caller already holds
    /// the gate.
    pub(crate) fn close_gate(this: ArcBorrow<'_, Self>) -> Result<Gate<'_>> {
        Self::enter_gate(this, sys::current_task_id(), true)
    }

    /// Takes the gate only if that needs no waiting (`EBUSY` otherwise).
    pub(crate) fn try_close_gate(this: ArcBorrow<'_, Self>) -> Result<Gate<'_>> {
        Self::enter_gate(this, sys::current_task_id(), false)
    }

    /// Takes the gate as task `me` (`sys::current_task_id()`, which the loop thread
    /// caches), waiting for it if `wait`.
    fn enter_gate(this: ArcBorrow<'_, Self>, me: usize, wait: bool) -> Result<Gate<'_>> {
        if this.gate_owner.load(Relaxed) == me {
            this.gate_depth.fetch_add(1, Relaxed);
            return Ok(Gate::new(this));
        }
        if this.gate_closed.load(Acquire) {
            return Err(ENODEV);
        }
        if !this.try_acquire(me) {
            if !wait {
                return Err(EBUSY);
            }
            this.wait_as_gate_waiter(|_| this.gate_closed.load(Acquire) || this.try_acquire(me));
            if this.gate_owner.load(Relaxed) != me {
                // Woken because the loop stopped.
                return Err(ENODEV);
            }
        }
        let gate = Gate::new(this);
        if this.gate_closed.load(Acquire) {
            // Lost the race with `stop`: `gate` is given back on drop.
            return Err(ENODEV);
        }
        Ok(gate)
    }

    fn open_gate(&self) {
        let depth = self.gate_depth.load(Relaxed) - 1;
        self.gate_depth.store(depth, Relaxed);
        if depth == 0 {
            // Full ordering: pairs with a waiter's increment of `gate_waiters`.
            self.gate_owner.xchg(0, Full);
            if self.gate_waiters.load(Relaxed) != 0 {
                // Taking the mutex orders this notify after a waiter's check.
                drop(self.gate.lock());
                self.gate_cv.notify_all();
            }
        }
    }

    fn sleep(&self, event: usize, tag: usize, timeout: Option<Delta>) -> Result<SleepResult> {
        let me = sys::current_task_id();
        if self.gate_owner.load(Relaxed) != me {
            return Err(EPERM);
        }
        if self.gate_closed.load(Acquire) {
            return Err(ENODEV);
        }
        let mut st = self.gate.lock();
        let id = st.next_sleeper;
        st.next_sleeper += 1;
        st.sleepers.push(
            Sleeper {
                id,
                event,
                tag,
                state: SleeperState::Waiting,
            },
            GFP_KERNEL,
        )?;
        // Release every recursion level.
        let depth = self.gate_depth.load(Relaxed);
        self.gate_depth.store(0, Relaxed);
        self.gate_owner.xchg(0, Full);
        self.gate_cv.notify_all();

        // CAST: Clamped to `0..=u32::MAX` milliseconds.
        let mut jiffies =
            timeout.map(|t| msecs_to_jiffies(t.as_millis().clamp(0, u32::MAX.into()) as u32));
        let outcome: Result<SleepResult> = loop {
            let state = st
                .sleepers
                .iter()
                .find(|s| s.id == id)
                .map_or(SleeperState::Aborted, |s| s.state);
            match state {
                SleeperState::Woken => break Ok(SleepResult::Woken),
                SleeperState::Aborted => break Err(ENODEV),
                SleeperState::Waiting => {}
            }
            match jiffies {
                None => {
                    if self.gate_cv.wait_interruptible(&mut st) {
                        break Err(ERESTARTSYS);
                    }
                }
                Some(j) => match self.gate_cv.wait_interruptible_timeout(&mut st, j) {
                    CondVarTimeoutResult::Timeout => break Ok(SleepResult::TimedOut),
                    CondVarTimeoutResult::Woken { jiffies: left } => jiffies = Some(left),
                    CondVarTimeoutResult::Signal { .. } => break Err(ERESTARTSYS),
                },
            }
        };
        drop(st);
        // Take the gate back at the saved depth; allowed even while the loop stops,
        // so that the sleeper's caller can finish and leave the gate. The sleeper
        // stays listed until it owns the gate again, so `stop` waits for it.
        self.wait_as_gate_waiter(|_| self.gate_owner.cmpxchg(0, me, Full).is_ok());
        self.gate_depth.store(depth, Relaxed);
        self.gate.lock().sleepers.retain(|s| s.id != id);
        outcome
    }

    /// Wakes sleepers waiting on `event` (all, or only the oldest).
    pub(crate) fn wakeup(&self, event: usize, one_thread: bool) {
        let mut st = self.gate.lock();
        let mut woke = false;
        for s in st.sleepers.iter_mut() {
            if s.event == event && s.state == SleeperState::Waiting {
                s.state = SleeperState::Woken;
                woke = true;
                if one_thread {
                    break;
                }
            }
        }
        drop(st);
        if woke {
            self.gate_cv.notify_all();
        }
    }

    /// Wakes with an error every sleeper tagged `tag` (0: every sleeper).
    pub(crate) fn abort_sleepers(&self, tag: usize) {
        let mut st = self.gate.lock();
        for s in st.sleepers.iter_mut() {
            if tag == 0 || s.tag == tag {
                s.state = SleeperState::Aborted;
            }
        }
        drop(st);
        self.gate_cv.notify_all();
    }

    /// Waits (not holding the gate) until `cond` holds with the gate free.
    pub(crate) fn wait_gate_idle(&self, cond: impl Fn() -> bool) {
        self.wait_as_gate_waiter(|_| self.gate_owner.load(Relaxed) == 0 && cond());
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
            src.base().detach();
            return Err(e.into());
        }
        this.source_count.fetch_add(1, Relaxed);
        this.restart.store(true, Release);
        drop(gate);
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
        src.base().detach();
        // SAFETY: Gate held (see `source_at`). `add_source` keeps the graveyard's
        // capacity at least its length plus the number of sources, so this cannot
        // fail; were it to, the source is leaked rather than dropped, since a walk in
        // progress may be running it.
        if let Err(e) = unsafe { &mut *this.graveyard.get() }.push_within_capacity(removed) {
            pr_warn!("workloop: graveyard full; leaking a removed source\n");
            core::mem::forget(e);
        }
        this.source_count.fetch_sub(1, Relaxed);
        this.restart.store(true, Release);
        drop(gate);
        Ok(())
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
            if src.base().is_attached() && src.check_for_work(&gate) {
                more = true;
            }
            if this.restart.xchg(false, Acquire) {
                i = 0;
            }
        }
        this.drain_graveyard(&gate);
        drop(gate);
        more
    }

    fn thread_main(this: ArcBorrow<'_, Self>) {
        let me = sys::current_task_id();
        while !this.is_stopping() {
            // Clear before the pass: a signal from here on forces another pass.
            this.work.xchg(0, Full);
            if Self::run_pass(this, me) {
                continue;
            }
            if this.is_stopping() {
                break;
            }
            sys::sleep_unless(me, || this.work.load(Relaxed) != 0 || this.is_stopping());
            bump(&this.stats.wakeups, 1);
        }
        // Stay until `kthread_stop` so that the creator reaps a live thread.
        while !sys::kthread_should_stop() {
            sys::sleep_unless(me, sys::kthread_should_stop);
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
        self.lp.sleep(event, 0, timeout)
    }

    pub(crate) fn sleep_tagged(
        &self,
        event: usize,
        tag: usize,
        timeout: Option<Delta>,
    ) -> Result<SleepResult> {
        self.lp.sleep(event, tag, timeout)
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
        self.lp.open_gate();
    }
}

/// A work loop: a dedicated kernel thread plus the gate that serializes every
/// action of the event sources attached to it.
///
/// Dropping the loop stops it (see [`WorkLoop::stop`]).
///
/// # Invariants
///
/// - `raw` is the reference passed to the thread with `Arc::into_raw`; it is
///   reclaimed only after the thread was stopped, and `thread` is `None` from then on.
#[pin_data(PinnedDrop)]
pub struct WorkLoop {
    inner: Arc<LoopInner>,
    raw: *const LoopInner,
    #[pin]
    thread: Mutex<Option<KThread>>,
    _stats_file: Option<Pin<KBox<File<LoopStatsFile>>>>,
}

// SAFETY: `raw` is only a second reference to `inner` (see the type invariant); all
// other fields are `Send`/`Sync`.
unsafe impl Send for WorkLoop {}
// SAFETY: See `Send`.
unsafe impl Sync for WorkLoop {}

/// The debugfs view of a loop's statistics.
pub(crate) struct LoopStatsFile(Arc<LoopInner>);

impl core::fmt::Debug for LoopStatsFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let lp = &self.0;
        writeln!(f, "name: {}", lp.name().to_str().unwrap_or("?"))?;
        writeln!(f, "sources: {}", lp.source_count.load(Relaxed))?;
        write!(f, "{}", &lp.stats)
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
        let raw = Arc::into_raw(inner.clone());
        // SAFETY: `raw` stays valid until `stop` reclaims it after `KThread::stop`
        // returned (type invariant of `WorkLoop`), as `KThread::run` requires.
        let thread = unsafe {
            KThread::run(
                loop_thread,
                raw.cast_mut().cast(),
                name,
                options.cpu,
                options.priority,
            )
        };
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: The thread was never created; take the reference back.
                drop(unsafe { Arc::from_raw(raw) });
                return Err(e);
            }
        };
        inner.thread_id.store(thread.id(), Relaxed);
        inner.waker.set(&thread);
        let stats_file = match &inner.debugfs {
            Some(d) => Some(KBox::pin_init(
                d.read_only_file(c"stats", LoopStatsFile(inner.clone())),
                GFP_KERNEL,
            )?),
            None => None,
        };
        KBox::pin_init(
            try_pin_init!(Self {
                inner,
                raw,
                thread <- new_mutex!(Some(thread)),
                _stats_file: stats_file,
            }? Error),
            GFP_KERNEL,
        )
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

    /// Stops the loop; see the module documentation. Idempotent.
    ///
    /// Process context; must not be called from the loop's thread or while holding
    /// its gate (`EDEADLK`).
    pub fn stop(&self) -> Result {
        if self.on_thread() || self.in_gate() {
            return Err(sys::edeadlk());
        }
        let Some(thread) = self.thread.lock().take() else {
            return Ok(());
        };
        let lp = &self.inner;
        // 1. No source runs its action again, then let a running action finish and
        //    the thread exit.
        lp.stopping.store(true, Release);
        if let Ok(list) = self.snapshot_sources() {
            for s in list.iter() {
                s.loop_stopping();
            }
        }
        lp.waker.wake();
        lp.waker.clear();
        thread.stop();
        lp.thread_id.store(0, Relaxed);
        // 2. Refuse new gate entries, fail sleepers, and wait for every thread that
        //    is still inside the gate (a `run_action` or a woken sleeper) to leave.
        lp.gate_closed.store(true, Release);
        lp.abort_sleepers(0);
        lp.wait_gate_idle(|| true);
        lp.wait_until_no_sleepers();
        // 3. Detach the sources. The gate is closed and idle, so this compare-exchange
        //    cannot fail; nobody can enter after it.
        if lp.try_acquire(sys::current_task_id()) {
            let gate = Gate::new(self.inner());
            // SAFETY: Gate held (see `source_at`).
            let list = core::mem::take(unsafe { &mut *lp.sources.get() });
            lp.source_count.store(0, Relaxed);
            for s in list.iter() {
                // Disabled in step 1: no source is added once `stopping` is set.
                s.base().detach();
            }
            drop(list);
            lp.drain_graveyard(&gate);
            drop(gate);
        }
        Ok(())
    }
}

impl LoopInner {
    fn wait_until_no_sleepers(&self) {
        self.wait_as_gate_waiter(|st| self.gate_owner.load(Relaxed) == 0 && st.sleepers.is_empty());
    }
}

#[pinned_drop]
impl PinnedDrop for WorkLoop {
    fn drop(self: Pin<&mut Self>) {
        if let Err(e) = self.stop() {
            pr_warn!(
                "workloop: {} dropped from its own thread or gate ({:?}); thread left running\n",
                self.name().to_str().unwrap_or("?"),
                e
            );
            return;
        }
        // SAFETY: The thread has exited (`stop` succeeded), so the reference handed to
        // it can be reclaimed (type invariant).
        drop(unsafe { Arc::from_raw(self.raw) });
    }
}
