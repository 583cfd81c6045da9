// SPDX-License-Identifier: GPL-2.0

//! Event sources: the producers of work that a [`WorkLoop`] runs.
//!
//! An event source is IOKit's `IOEventSource`: something that can tell the loop
//! "there is work for me" from any context (hard IRQ included), and whose
//! [`EventSource::check_for_work`] the loop thread calls, holding the gate, to
//! run the source's action. Every concrete source in this library
//! ([`InterruptEventSource`], [`SoftwareEventSource`], [`TimerEventSource`],
//! [`CommandGate`]) is built from the pieces here: a [`SourceBase`] holding the
//! source's name, enable state and loop membership, a wrap-safe
//! producer/consumer [`Counter`], and [`SourceStats`].
//!
//! [`WorkLoop`]: super::WorkLoop
//! [`InterruptEventSource`]: super::InterruptEventSource
//! [`SoftwareEventSource`]: super::SoftwareEventSource
//! [`TimerEventSource`]: super::TimerEventSource
//! [`CommandGate`]: super::CommandGate

use super::{
    stats::{bump, SourceStats},
    work_loop::{Gate, LoopInner},
};
use core::fmt;
use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    str::{CStr, CString},
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        new_mutex, Arc, Mutex,
    },
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
    /// [`WorkLoop::enable_all_event_sources`]: super::WorkLoop::enable_all_event_sources
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
    files: Mutex<Option<SourceFiles>>,
}

/// The debugfs entries of an attached source. Field order: files before their
/// directory.
struct SourceFiles {
    _stats: Pin<KBox<File<StatsView>>>,
    _histogram: Pin<KBox<File<HistogramView>>>,
    _dir: Dir,
}

/// Text view of a source's statistics for debugfs.
struct StatsView(Arc<SourceStats>);

impl fmt::Debug for StatsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &*self.0)
    }
}

/// Text view of a source's latency histogram for debugfs.
struct HistogramView(Arc<SourceStats>);

impl fmt::Debug for HistogramView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.latency.write_histogram(f)
    }
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
            let dir = parent.subdir(&self.name);
            let stats = KBox::pin_init(
                dir.read_only_file(c"stats", StatsView(self.stats.clone())),
                GFP_KERNEL,
            );
            let histogram = KBox::pin_init(
                dir.read_only_file(c"histogram", HistogramView(self.stats.clone())),
                GFP_KERNEL,
            );
            if let (Ok(stats), Ok(histogram)) = (stats, histogram) {
                *self.files.lock() = Some(SourceFiles {
                    _stats: stats,
                    _histogram: histogram,
                    _dir: dir,
                });
            }
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

/// A wrap-safe count of events produced in any context and consumed on the loop.
///
/// The producer side is a single atomic increment (hard-IRQ safe). The consumer
/// side is only touched by the loop thread holding the gate: it snapshots the
/// producer count and delivers `snapshot - consumed` (wrapping), so events that
/// arrive while an action runs are delivered on the next pass and none is lost.
pub struct Counter {
    produced: Atomic<u32>,
    consumed: Atomic<u32>,
}

impl Counter {
    /// A counter whose producer and consumer both start at `start` (tests start it
    /// near `u32::MAX` to exercise wrap-around).
    pub const fn new(start: u32) -> Self {
        Self {
            produced: Atomic::new(start),
            consumed: Atomic::new(start),
        }
    }

    /// Counts one event. Any context.
    #[inline]
    pub fn produce(&self) {
        self.produced.fetch_add(1, Release);
    }

    /// Events produced and not yet consumed.
    #[inline]
    pub fn pending(&self) -> u32 {
        self.produced
            .load(Acquire)
            .wrapping_sub(self.consumed.load(Relaxed))
    }

    /// Takes a snapshot of the producer count: returns the number of events since the
    /// last [`Counter::consume`] and the snapshot to pass to it. Loop thread only.
    #[inline]
    pub fn snapshot(&self) -> (u32, u32) {
        let cache = self.produced.load(Acquire);
        (cache.wrapping_sub(self.consumed.load(Relaxed)), cache)
    }

    /// Marks every event up to `snapshot` as delivered. Loop thread only.
    #[inline]
    pub fn consume(&self, snapshot: u32) {
        self.consumed.store(snapshot, Relaxed);
    }
}

/// Timestamps recorded by producers: the oldest undelivered event (for latency)
/// and the newest one (IOKit's "primary interrupt timestamp").
pub struct Timestamps {
    first_ns: Atomic<i64>,
    last_ns: Atomic<i64>,
    enabled: AtomicFlag,
}

impl Timestamps {
    /// Recording on or off.
    pub const fn new(enabled: bool) -> Self {
        Self {
            first_ns: Atomic::new(0),
            last_ns: Atomic::new(0),
            enabled: AtomicFlag::new(enabled),
        }
    }

    /// Records an event now. Any context.
    #[inline]
    pub fn record(&self) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let now = super::sys::now_ns();
        // Keep the oldest undelivered timestamp; a failed exchange means one is set.
        let _ = self.first_ns.cmpxchg(0, now, Relaxed);
        self.last_ns.store(now, Relaxed);
    }

    /// Takes the oldest undelivered timestamp (0 if none). Loop thread only.
    #[inline]
    pub(crate) fn take_first(&self) -> i64 {
        // A plain load first: with timestamps off (or already taken) no locked
        // instruction on the bottom half's path.
        if self.first_ns.load(Relaxed) == 0 {
            return 0;
        }
        self.first_ns.xchg(0, Relaxed)
    }

    /// Time of the newest event in nanoseconds of `ktime_get()`, 0 if none.
    pub fn last(&self) -> i64 {
        self.last_ns.load(Relaxed)
    }

    /// Turns recording on or off.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Relaxed);
    }
}

/// The bottom half shared by counted sources: if events are pending and the source
/// is enabled, runs `action(count)` once with the number of events since its last
/// run (never zero) and accounts statistics. Loop thread, gate held.
pub(crate) fn deliver_counted(
    gate: &Gate<'_>,
    base: &SourceBase,
    counter: &Counter,
    ts: &Timestamps,
    action: impl FnOnce(u32),
) {
    if !base.is_enabled() {
        return;
    }
    let (count, snapshot) = counter.snapshot();
    if count == 0 {
        return;
    }
    let first = ts.take_first();
    let start = super::sys::now_ns();
    let stats = base.stats();
    if first != 0 {
        // CAST: `start >= first` for a monotonic clock; `max(0)` guards anyway.
        stats.latency.record((start - first).max(0) as u64);
    }
    action(count);
    counter.consume(snapshot);
    // CAST: Elapsed monotonic time is non-negative.
    let ns = (super::sys::now_ns() - start).max(0) as u64;
    bump(&stats.actions, 1);
    bump(&stats.delivered, u64::from(count));
    bump(&stats.action_ns, ns);
    gate.account_action(ns);
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
