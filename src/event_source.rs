// SPDX-License-Identifier: GPL-2.0

//! Event sources: what a work loop runs.
//!
//! An event source is IOKit's `IOEventSource`: something that can tell its loop
//! "there is work for me" from any context (hard IRQ included), and whose
//! [`EventSource::check_for_work`] the loop's thread calls, holding the gate, to
//! run the source's action. Every source embeds a [`SourceBase`] (name, enable
//! state, loop membership, statistics). The library's sources
//! ([`InterruptEventSource`], [`SoftwareEventSource`], [`TimerEventSource`],
//! [`CommandGate`]) implement the trait in files of their own; what the counted
//! ones share is in `counting.rs`.
//!
//! [`InterruptEventSource`]: super::InterruptEventSource
//! [`SoftwareEventSource`]: super::SoftwareEventSource
//! [`TimerEventSource`]: super::TimerEventSource
//! [`CommandGate`]: super::CommandGate

use super::{
    debugfs,
    gate::Entry,
    stats::SourceStats,
    work_loop::{Gate, LoopInner},
};
use kernel::{
    prelude::*,
    str::{CStr, CString},
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Release},
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

    /// Called when the driver's [`Source`] handle is dropped, before the source is
    /// detached: stop what could still wake or enter the loop for it (a timer, a
    /// top half, callers in a command gate). Process context. The default does
    /// nothing.
    fn handle_dropping(_this: &Arc<Self>)
    where
        Self: Sized,
    {
    }

    /// Called when the driver's [`Source`] handle is dropped, after the source was
    /// detached and its action can no longer run: give back what only a detached
    /// source may (an IRQ line's mask). Process context. The default does nothing.
    fn handle_dropped(_this: &Arc<Self>)
    where
        Self: Sized,
    {
    }
}

/// The object a driver holds for a source: one shape for every kind.
///
/// A kind of source is its core `C`, an [`EventSource`] kept in an [`Arc`]
/// because its producers (an hrtimer, a top half, a [`SoftwareSignal`]) and its
/// loop refer to it too. The handle attaches it ([`AsEventSource`]), shows its
/// common state and statistics, and detaches it when dropped: when the drop
/// returns, the source's action is not running and never runs again. Each kind
/// adds its own methods: [`SoftwareEventSource`], [`TimerEventSource`] and
/// [`CommandGate`] are this type with their core; an [`InterruptEventSource`]
/// holds one next to its IRQ line.
///
/// [`SoftwareSignal`]: super::SoftwareSignal
/// [`SoftwareEventSource`]: super::SoftwareEventSource
/// [`TimerEventSource`]: super::TimerEventSource
/// [`CommandGate`]: super::CommandGate
/// [`InterruptEventSource`]: super::InterruptEventSource
pub struct Source<C: EventSource + Sized + 'static> {
    pub(crate) core: Arc<C>,
}

impl<C: EventSource + 'static> Source<C> {
    /// The handle of a new source.
    pub(crate) fn from_core(core: Arc<C>) -> Self {
        Self { core }
    }

    /// Common state (name, enable flag, attachment).
    pub fn base(&self) -> &SourceBase {
        self.core.base()
    }

    /// Statistics.
    pub fn stats(&self) -> &SourceStats {
        self.core.base().stats()
    }
}

impl<C: EventSource + 'static> AsEventSource for Source<C> {
    fn event_source(&self) -> Arc<dyn EventSource> {
        self.core.clone()
    }
}

impl<C: EventSource + 'static> Drop for Source<C> {
    fn drop(&mut self) {
        C::handle_dropping(&self.core);
        detach_on_drop(&self.core);
        C::handle_dropped(&self.core);
    }
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

/// Whether a new source's action may run before its first enable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Initially {
    /// It may (software and timer sources, command gates).
    Enabled,
    /// Only after an enable (interrupt sources, as IOKit's are).
    Disabled,
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
    /// Creates the base of a source named `name`.
    pub(crate) fn new(name: &CStr, initially: Initially) -> Result<impl PinInit<Self, Error>> {
        let enabled = initially == Initially::Enabled;
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
        let work_loop = self.loop_ptr.load(Acquire);
        if !work_loop.is_null() {
            // SAFETY: By the type invariant `work_loop` stays valid inside this RCU
            // read-side section.
            unsafe { (*work_loop).signal_work_available() };
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
        let work_loop = self.loop_ptr.load(Acquire);
        if !work_loop.is_null() {
            // SAFETY: By the type invariant `work_loop` stays valid inside an RCU read-side
            // section; hard IRQ is one (the caller's promise).
            unsafe { (*work_loop).signal_work_available() };
        }
    }

    /// Records membership in `work_loop`. Called by the loop, holding its gate.
    pub(crate) fn attach(&self, work_loop: &Arc<LoopInner>) -> Result {
        let mut current = self.current.lock();
        if self.attached.load(Acquire) || current.is_some() {
            return Err(EBUSY);
        }
        // INVARIANT: `current` holds `work_loop` until the detach.
        *current = Some(work_loop.clone());
        self.loop_ptr
            .store(Arc::as_ptr(work_loop).cast_mut(), Release);
        self.attached.store(true, Release);
        drop(current);
        if let Some(parent) = &work_loop.debugfs {
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

    /// Runs `f` holding the gate of the loop this source is on, entering as
    /// `entry` says (see `LoopInner::close_gate`). Process context.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if the source is on no loop, or the error of the entry.
    pub(crate) fn with_loop_gate<R>(
        &self,
        entry: Entry,
        f: impl FnOnce(&Gate<'_>) -> R,
    ) -> Result<R> {
        let work_loop = self.work_loop().ok_or(super::sys::enotconn())?;
        let gate = LoopInner::close_gate(work_loop.as_arc_borrow(), entry)?;
        Ok(f(&gate))
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
        if let Some(work_loop) = self.0.take() {
            if let Some(last) = Arc::into_unique_or_drop(work_loop) {
                super::sys::synchronize_rcu();
                drop(last);
            }
        }
    }
}

/// Detaches `src` from its loop, if any, waiting for a running action. Used by
/// the sources' `Drop`. Process context.
pub(crate) fn detach_on_drop(src: &Arc<impl EventSource + 'static>) {
    let Some(work_loop) = src.base().work_loop() else {
        return;
    };
    let dyn_src: Arc<dyn EventSource> = src.clone();
    // ENOENT: the loop detached it meanwhile (it stopped); nothing left to do.
    let _ = LoopInner::remove_source_arc(&work_loop, &dyn_src);
}
