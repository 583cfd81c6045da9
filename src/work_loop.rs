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
//!
//! The loop's parts are in files of their own: the source list and its
//! graveyard in `work_loop/sources.rs`, the thread and its passes in
//! `work_loop/loop_thread.rs`, stopping in `work_loop/stop.rs`; the gate's
//! mechanism in `gate.rs`, the sources' trait in `event_source.rs`.
//!
//! # Lock order
//!
//! Every lock the library and its samples take, outermost first. A lock is only
//! ever taken while holding locks above it in this table, never below; "leaf"
//! locks take nothing else. No lock here is taken in hard IRQ: the top half
//! takes none (it uses atomics, and the IRQ core's own descriptor lock).
//!
//! | Lock | Kind | Protects | Taken inside it |
//! |------|------|----------|-----------------|
//! | the gate ([`GateLock`]) | sleepable, recursive | driver state, the source list, the graveyard
//! | everything below; re-entered by its owner |
//! | edu `EduFile::requests` / `unread` | mutex | one open file's answers | nothing (released
//! before `run_action`) |
//! | edu `EduEngine::timer` | mutex | the timeout source | the gate (recursively, by its owner
//! only), `TimerCore::handle` |
//! | `TimerCore::handle` | mutex | the armed hrtimer's handle | the hrtimer base lock
//! (`hrtimer_cancel`) |
//! | `InterruptCore::disable_count` | mutex | the driver's disable depth, the hold | the IRQ
//! descriptor lock (`disable_irq`, `enable_irq`, `synchronize_irq`) |
//! | `WorkLoop::thread` | mutex | the thread handle until a stop takes it | nothing (a stop runs
//! after releasing it) |
//! | `SourceBase::current` | mutex | loop membership | nothing |
//! | `LoopInner::dispatch` | mutex | the queue of closures to run on the loop | nothing (leaf;
//! they run after it is released) |
//! | `SourceBase::files` | mutex | the source's debugfs files | debugfs removal (waits for readers)
//! |
//! | edu `EduDevice::debugfs` | mutex | the device's debugfs files | nothing at removal (taken out,
//! dropped outside) |
//! | `GateLock::state` | mutex | owner, depth, sleepers, scopes | nothing (leaf) |
//!
//! The gate is never taken while holding any other lock of this table, except
//! recursively by its owner (who is never blocked by it). Code holding the gate
//! must not wait for the loop's thread or for a top half in a way that needs
//! the gate: that is why `stop` and `remove_event_source` from inside the gate
//! defer instead of waiting.

pub(crate) mod dispatch;
mod loop_thread;
mod sources;
mod stop;

use super::{
    debugfs,
    event_source::{AsEventSource, EventSource},
    gate::{Entry, GateLock, SleepResult, Wake},
    hooks,
    stats::LoopStats,
    sys, Priority,
};
use core::cell::UnsafeCell;
use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    str::{CStr, CString},
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Full, Relaxed},
        new_mutex, Arc, ArcBorrow, Mutex,
    },
    time::Delta,
    types::NotThreadSafe,
};
use loop_thread::LoopThread;

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
    /// Let the system freezer (suspend, hibernation) freeze the thread between
    /// passes, never inside the gate; see [`WorkLoop::suspend`]. Default: off
    /// (kernel threads are not frozen).
    pub freezable: bool,
}

impl Default for LoopOptions {
    fn default() -> Self {
        Self {
            priority: Priority::Fifo,
            cpu: None,
            debugfs: None,
            freezable: false,
        }
    }
}

/// The shared state of a work loop. Event sources hold references to it.
///
/// # Invariants
///
/// - While the thread runs, the `WorkLoop` that created it holds a reference to
///   this value, so the thread's pointer to it stays valid (see [`WorkLoop::stop`]).
/// - `sources` and `graveyard` are accessed only by the task that holds `gate`
///   (which excludes every other task), and every reference into them ends
///   before that task calls out of the library (an action, a source's drop) or
///   releases the gate; a `&Gate` of this loop is the proof of holding it.
/// - The graveyard's capacity is at least its length plus the number of
///   sources, so a removal never allocates (kept by `add_source`).
/// - A source in `sources` or `graveyard` stays alive until the gate holder
///   takes it out, so a pointer into the list (`source_at`) is valid while the
///   gate is held.
#[pin_data]
pub struct LoopInner {
    name: CString,
    /// Wakes the loop's thread.
    waker: sys::TaskWaker,
    /// Work-to-do flag: set by signallers, cleared by the thread before a pass.
    work: AtomicFlag,
    /// Set when `stop` begins; the thread exits at the next source boundary.
    closed: AtomicFlag,
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
    pub(crate) source_count: Atomic<u32>,
    /// Set when the source list changed; the pass restarts from the head.
    list_changed: AtomicFlag,
    /// Closures queued to run on the loop (`dispatch.rs`).
    #[pin]
    dispatch: Mutex<dispatch::Queue>,
    /// Set when a closure was queued; cleared by the pass that runs the queue.
    dispatch_pending: AtomicFlag,
    /// The thread may be frozen between passes (`LoopOptions::freezable`).
    freezable: bool,
    pub(crate) stats: LoopStats,
    pub(crate) debugfs: Option<Dir>,
    /// Counted while alive, for tests (nothing in normal builds).
    _live: hooks::LiveLoop,
}

// SAFETY: `sources` and `graveyard` are only accessed by the task holding the gate
// (type invariant), which excludes every other task; every other field
// is `Send` and `Sync`.
unsafe impl Send for LoopInner {}
// SAFETY: See `Send`.
unsafe impl Sync for LoopInner {}

impl LoopInner {
    fn new(
        name: &CStr,
        debugfs: Option<Dir>,
        freezable: bool,
    ) -> Result<impl PinInit<Self, Error>> {
        let name = name.to_cstring()?;
        Ok(try_pin_init!(Self {
            name,
            waker: sys::TaskWaker::new(),
            work: AtomicFlag::new(false),
            closed: AtomicFlag::new(false),
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
            list_changed: AtomicFlag::new(false),
            dispatch <- new_mutex!(dispatch::Queue::new()),
            dispatch_pending: AtomicFlag::new(false),
            freezable,
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
        if !self.work.xchg(true, Full) {
            self.waker.wake();
        }
    }

    /// See [`WorkLoop::dispatch_async`].
    pub(crate) fn dispatch_async(&self, f: impl FnOnce(&Gate<'_>) + Send + 'static) -> Result {
        let job = dispatch::job(f)?;
        self.queue_job(job).map_err(|_| ENODEV)
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

    fn is_closed(&self) -> bool {
        self.closed.load(Acquire)
    }

    /// Takes the gate (recursively), waiting for it or not (`EBUSY`) as `entry`
    /// says: the one way in for every caller but the loop thread's own passes.
    /// Process context; may sleep.
    ///
    /// Fails with `ENODEV` once the loop is stopped, unless the caller already holds
    /// the gate, and with `EPERM` from hard IRQ, softirq or NMI: `current` there is
    /// whatever task was interrupted, which may be the holder (a silent recursion
    /// into its critical section), and leaving the gate may take a mutex.
    pub(crate) fn close_gate(this: ArcBorrow<'_, Self>, entry: Entry) -> Result<Gate<'_>> {
        if !sys::in_task() {
            return Err(EPERM);
        }
        let me = sys::current_task_id();
        if this.gate.owner() != me {
            // Entering may wait, and leaving may take a mutex: never atomic.
            kernel::task::might_sleep();
        }
        Self::enter_gate(this, me, entry)
    }

    /// Takes the gate as task `me`: the caller's own id, in process context (the
    /// loop thread for its passes, or `close_gate`).
    pub(super) fn enter_gate(
        this: ArcBorrow<'_, Self>,
        me: usize,
        entry: Entry,
    ) -> Result<Gate<'_>> {
        this.gate.enter(me, entry)?;
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
    pub(crate) fn wakeup(&self, event: usize, whom: Wake) {
        self.gate.wakeup(event, whom)
    }

    /// Wakes sleepers waiting on `event` inside the command gate `tag` only.
    pub(crate) fn wakeup_tagged(&self, event: usize, tag: usize, whom: Wake) {
        self.gate.wakeup_tagged(event, tag, whom)
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
}

/// Proof that the caller holds a loop's gate; released when dropped.
///
/// Actions receive a `&Gate`. It is not `Send`: the gate belongs to a task.
pub struct Gate<'a> {
    work_loop: ArcBorrow<'a, LoopInner>,
    _not_send: NotThreadSafe,
}

impl<'a> Gate<'a> {
    fn new(work_loop: ArcBorrow<'a, LoopInner>) -> Self {
        Self {
            work_loop,
            _not_send: NotThreadSafe,
        }
    }

    /// Name of the loop whose gate this is.
    pub fn loop_name(&self) -> &CStr {
        self.work_loop.name()
    }

    /// Whether the holder is the loop's own thread (running a source's action) rather
    /// than a thread inside [`WorkLoop::run_action`].
    pub fn on_thread(&self) -> bool {
        self.work_loop.on_thread()
    }

    /// Whether this gate belongs to the loop `other` refers to.
    pub(crate) fn is_loop(&self, other: &LoopInner) -> bool {
        core::ptr::eq(&*self.work_loop, other)
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
        self.work_loop.sleep(event, timeout, None)
    }

    /// The loop this gate belongs to.
    pub(crate) fn inner(&self) -> &LoopInner {
        &self.work_loop
    }

    /// Wakes threads sleeping in this loop's gate on `event`: all of them, or only
    /// the one that slept first. Process context; need not hold the gate.
    pub fn wakeup(&self, event: usize, whom: Wake) {
        self.work_loop.wakeup(event, whom)
    }

    /// Attaches `src` to this loop (from inside an action or `run_action`).
    pub fn add_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::add_source(self.work_loop, src.event_source())
    }

    /// Detaches `src` from this loop; its action does not run again.
    pub fn remove_event_source(&self, src: &impl AsEventSource) -> Result {
        LoopInner::remove_source(self.work_loop, &src.event_source())
    }

    /// Accounts an action that ran for `ns` nanoseconds in the loop's statistics.
    pub(crate) fn account_action(&self, ns: u64) {
        self.work_loop.stats.account_action(ns);
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        self.work_loop.gate.leave();
    }
}

/// A work loop: a dedicated kernel thread plus the gate that serializes every
/// action of the event sources attached to it.
///
/// Dropping the loop stops it (see [`WorkLoop::stop`]).
///
/// # Examples
///
/// A loop, a software source on it, and a closure run in its gate. Out-of-tree
/// code cannot run doctests; the KUnit test `run_action_is_serialized_with_actions`
/// (`tests/workloop_kunit_main.rs`) runs this shape.
///
/// ```ignore
/// struct Count(Atomic<u64>);
///
/// impl SoftwareAction for Count {
///     fn action(&self, _gate: &Gate<'_>, count: u32) {
///         // The gate is held: no other action of this loop runs meanwhile.
///         self.0.add(u64::from(count), Relaxed);
///     }
/// }
///
/// let work_loop = WorkLoop::new(c"example", LoopOptions::default())?;
/// let source = SoftwareEventSource::new(c"count", SourceOptions::default(), Count(Atomic::new(0)))?;
/// work_loop.add_event_source(&source)?;
/// source.signal(); // Any context, hard IRQ included.
/// let seen = work_loop.run_action(|_gate| source.handler().0.load(Relaxed))?;
/// // Dropping `source`, then `work_loop`, detaches and stops: no action runs after.
/// ```
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
        kernel::task::might_sleep();
        let dir = options.debugfs.as_ref().map(|d| d.subdir(name));
        let inner = Arc::pin_init(LoopInner::new(name, dir, options.freezable)?, GFP_KERNEL)?;
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
        let thread = LoopThread::create(&this.inner, name, &options)?;
        thread.start(&this.inner);
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
        let gate = LoopInner::close_gate(self.inner(), Entry::Wait)?;
        Ok(f(&gate))
    }

    /// Like [`WorkLoop::run_action`] but fails with `EBUSY` instead of waiting.
    pub fn attempt_action<R>(&self, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        let gate = LoopInner::close_gate(self.inner(), Entry::Try)?;
        Ok(f(&gate))
    }

    /// Queues `f` to run on the loop, holding the gate (DriverKit's
    /// `DispatchAsync`): once, after every action that was running or could
    /// still start when this was called. A source disabled before the call runs
    /// no action after `f` began. Every queued closure runs: if the loop stops
    /// first, [`WorkLoop::stop`] runs it in its own context, holding the gate,
    /// before it returns.
    ///
    /// Process context, also inside an action (`f` then runs after the action
    /// returned).
    ///
    /// # Errors
    ///
    /// `ENODEV` if the loop has stopped, `ENOMEM`.
    pub fn dispatch_async(&self, f: impl FnOnce(&Gate<'_>) + Send + 'static) -> Result {
        self.inner.dispatch_async(f)
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

    /// Loop statistics.
    pub fn stats(&self) -> &LoopStats {
        &self.inner.stats
    }

    /// Whether [`WorkLoop::stop`] has begun: no source is added and no action
    /// starts from then on.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Moves the loop's thread to `cpu`, or lets it run on every CPU (`None`),
    /// at run time (WDF's interrupt policy for the bottom half). A CPU that goes
    /// offline later undoes the binding. Process context; may sleep.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a CPU that does not exist or is offline, `ENODEV` once the
    /// loop is stopped, `ENOMEM`.
    pub fn set_cpu(&self, cpu: Option<u32>) -> Result {
        match &*self.thread.lock() {
            Some(thread) => thread.task().set_cpu(cpu),
            None => Err(ENODEV),
        }
    }

    /// Changes the loop thread's scheduling class at run time (WDF's interrupt
    /// priority, mapped to a class: see [`Priority`]). Process context.
    ///
    /// # Errors
    ///
    /// `ENODEV` once the loop is stopped.
    pub fn set_priority(&self, priority: Priority) -> Result {
        match &*self.thread.lock() {
            Some(thread) => {
                thread.task().set_priority(priority);
                Ok(())
            }
            None => Err(ENODEV),
        }
    }

    /// Stops the loop; see the module documentation. Idempotent; a concurrent
    /// second call returns when the loop has stopped.
    ///
    /// Process context; must not be called from the loop's thread or while holding
    /// its gate (`EDEADLK`).
    pub fn stop(&self) -> Result {
        kernel::task::might_sleep();
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
