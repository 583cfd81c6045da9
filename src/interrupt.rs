// SPDX-License-Identifier: GPL-2.0

//! Interrupt event sources: a hard-IRQ top half and a bottom half on the loop.
//!
//! This is IOKit's `IOInterruptEventSource` and `IOFilterInterruptEventSource`
//! over Linux's `request_irq`. The top half (the hard-IRQ handler) asks the
//! handler's [`InterruptHandler::filter`] (by default: "schedule"), counts the
//! interrupt, masks a level-triggered line (auto-disable) and wakes the loop. The
//! bottom half runs [`InterruptHandler::action`] on the loop thread with the
//! number of interrupts since it last ran, then unmasks the line.
//!
//! # Disable depth
//!
//! Linux's `disable_irq*`/`enable_irq` nest and warn on an unbalanced enable.
//! This source keeps its contributions to the line's depth apart, each balanced
//! by its only owner:
//!
//! - the hold: the source is held while the driver disabled it
//!   ([`InterruptEventSource::disable`] and [`InterruptEventSource::enable`]
//!   nest, a count under a mutex, beside the idempotent flag of
//!   [`InterruptEventSource::set_enable`]), while its loop is stopped, while it
//!   is on no loop, and for good once cancelled. On an exclusive line the hold
//!   masks the line (on becoming held) and unmasks it (on ending). The source is
//!   created disabled (the flag off; the line is requested with
//!   `IRQF_NO_AUTOEN`). An enable without a matching disable fails with
//!   `EINVAL` instead of warning. The driver's enable and disable hooks and
//!   cancel are in `interrupt/lifecycle.rs`.
//! - the top half's auto-disable: set only by the top half (after it counted
//!   the interrupt and masked the line); cleared by the bottom half once the
//!   action consumed every interrupt counted before it (genirq's oneshot rule:
//!   a pass that finds nothing to deliver never unmasks early), by the source
//!   becoming held (an action that cannot run must not keep the line masked;
//!   first every running top half finishes), or by teardown.
//! - the storm throttle (see [`SourceOptions::storm_per_sec`]): a level line
//!   whose top half runs more often than the threshold is masked for a tick,
//!   then unmasked by a delayed work item (or by teardown). Counted in
//!   `storm_throttles`, reported once per line in the log. A throttling call
//!   answers `IRQ_HANDLED`, so genirq's "nobody cared" never disables the line
//!   for its other devices.
//!
//! The line's depth is therefore always `(held, on an exclusive line) +
//! auto-disabled + throttled`, whatever the interleaving, and teardown returns it
//! to what it was.
//!
//! # Shared lines
//!
//! Linux refuses `IRQF_NO_AUTOEN` on a shared line, and masking a shared line
//! silences every device on it. With [`Sharing::Shared`]:
//!
//! - the line is requested enabled and the hold does not mask it: disabling is
//!   logical. The filter still runs (so the device can be acknowledged),
//!   interrupts are still counted, but the action is held until the source can
//!   run again, when everything counted is delivered;
//! - auto-disable masks a level line when the filter answers
//!   [`FilterResult::Schedule`], as IOKit masks the whole line while any sharer
//!   needs its bottom half. A filter that acknowledges its device in the top half
//!   should call [`FilterContext::signal_interrupt`] and answer
//!   [`FilterResult::Handled`] instead: the line is then never masked and the
//!   other devices are never starved.
//! - while the source is held, its filter should do that ([`FilterContext::held`]):
//!   a "schedule" answer then masks the line for every device on it until the
//!   source runs again (reported once in the log). A plain handler (no filter
//!   of its own) on a shared line should override the filter for that case.
//! - a filter must answer [`FilterResult::NotMine`] when its device did not
//!   interrupt.

use super::{
    counting::{count_event, deliver_counted, in_u32_pieces, Counter, Timestamps},
    event_source::{AsEventSource, EventSource, Initially, Source, SourceBase},
    filter::{FilterContext, FilterResult},
    gate::Entry,
    hooks::{self, Point},
    info::{self, AffinityPolicy, InterruptInfo},
    interrupt_lock::{self, InterruptLocked, LastInterrupt, LockRef, PassiveLock},
    stats::{add_single_writer, SourceStats},
    sys::{self, IrqLine, RawIrqLock},
    work_loop::Gate,
    SourceOptions,
};
use core::marker::PhantomData;

mod lifecycle;
mod vectors;
use kernel::{
    device::{Bound, Device},
    irq::{self, Flags, IrqRequest, IrqReturn},
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, AtomicFlag, Full, Relaxed, Release},
        Arc, Mutex,
    },
    workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};
pub use vectors::{PciVectors, VectorEventSource, VectorLines};

/// Lines (below 1024) whose storm was reported in the log.
static STORM_REPORTED: [Atomic<u64>; 16] = [const { Atomic::new(0) }; 16];

/// The storm throttle's measuring window.
const STORM_WINDOW_NS: i64 = 1_000_000;

/// Top-half calls per window for `per_sec` calls per second (0: off), at most
/// 500 so that a throttled run of unhandled calls stays far below genirq's
/// "nobody cared" ratio (99,900 in 100,000). Measured in time, not ticks: under
/// a busy hypervisor ticks arrive late and in bunches.
fn storm_limit(per_sec: u32) -> u32 {
    if per_sec == 0 {
        return 0;
    }
    (per_sec / 1000).clamp(1, 500)
}

/// The driver side of an interrupt source.
pub trait InterruptHandler: Send + Sync + 'static {
    /// The top half's verdict. Hard-IRQ context: must not sleep, must be short.
    ///
    /// The default schedules every interrupt, which is IOKit's plain
    /// `IOInterruptEventSource`; override it to get `IOFilterInterruptEventSource`.
    fn filter(&self, _ctx: &FilterContext<'_>) -> FilterResult {
        FilterResult::Schedule
    }

    /// The bottom half. Runs on the loop thread holding the gate; may sleep.
    /// `count` is the number of scheduled interrupts since the previous call, never
    /// zero (more than `u32::MAX` arrive as several calls).
    fn action(&self, gate: &Gate<'_>, count: u32);

    /// Whether the bottom half takes the count and the time for
    /// [`InterruptHandler::interrupt_occurred`] together, under the interrupt
    /// lock. Off by default: the count is exact either way, and a driver that
    /// only counts does not pay for the lock in its bottom half.
    const PAIRED_TIME: bool = false;

    /// The bottom half as DriverKit's `InterruptOccurred(count, time)` sees it:
    /// the 64-bit number of interrupts since the previous call (never zero) and
    /// the `ktime_get()` nanoseconds of the newest of them (0 with timestamps
    /// off). With the interrupt lock ([`SourceOptions::interrupt_lock`]) and
    /// [`InterruptHandler::PAIRED_TIME`] the two are taken together, as
    /// `last_interrupt` reads them; otherwise the time may be that of a newer
    /// interrupt, delivered next time.
    ///
    /// The library calls this; the default hands the count to
    /// [`InterruptHandler::action`]. A driver that wants the pair overrides this,
    /// leaves `action` empty and sets [`InterruptHandler::PAIRED_TIME`].
    ///
    /// [`SourceOptions::interrupt_lock`]: super::SourceOptions::interrupt_lock
    fn interrupt_occurred(&self, gate: &Gate<'_>, count: u64, time_ns: i64) {
        let _ = time_ns;
        in_u32_pieces(count, |piece| self.action(gate, piece));
    }

    /// Silences the device: stop it from raising this interrupt (mask it in the
    /// device's own interrupt-enable register, acknowledge what is pending).
    ///
    /// Called once when the source is dropped, before it stops answering its line;
    /// process context, may sleep, no action runs concurrently. After it, the
    /// filter still runs for every interrupt on the line until the line is freed
    /// (so a device that still asserts is acknowledged, not left to storm the
    /// line's other devices), but nothing is scheduled or masked. The default does
    /// nothing: a plain source (no filter) whose device may still assert must
    /// override it. Also called, once, by [`InterruptEventSource::cancel`].
    fn quiesce(&self) {}

    /// WDF's `EvtInterruptEnable`: program the device to interrupt. Called when
    /// the driver's enable ([`InterruptEventSource::enable`],
    /// [`InterruptEventSource::set_enable`]) ends its last disable, after the
    /// line was unmasked. With the source's interrupt lock held if it has one
    /// (`locked` is then `Some`, interrupts are off: no sleeping), else in
    /// process context. An error undoes the enable (the source is held and its
    /// line masked again, the disable count is what it was) and is returned to
    /// the caller. The default does nothing.
    fn on_enable(&self, _locked: Option<&InterruptLocked<'_>>) -> Result {
        Ok(())
    }

    /// WDF's `EvtInterruptDisable`: stop the device interrupting. Called when the
    /// driver's disable ([`InterruptEventSource::disable`],
    /// [`InterruptEventSource::set_enable`]) begins from enabled, before the line
    /// is masked and the top half waited for; same context as
    /// [`InterruptHandler::on_enable`]. Not called at drop or cancel, which call
    /// [`InterruptHandler::quiesce`]. The default does nothing.
    fn on_disable(&self, _locked: Option<&InterruptLocked<'_>>) {}
}

/// Whether the line may be shared with other devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// The line is this source's alone (requested with `IRQF_NO_AUTOEN`).
    Exclusive,
    /// The line may be shared (`IRQF_SHARED`); see the module documentation.
    Shared,
}

/// A line's trigger type, as stored in `InterruptCore::trigger`.
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// Not read from the line yet.
    Unknown = 0,
    Edge = 1,
    Level = 2,
}

/// Who holds the source disabled, apart from the top half's auto-disable.
#[derive(Clone, Copy)]
struct Hold {
    /// The driver's nesting disable count.
    driver: u32,
    /// The driver's enable flag is off (DriverKit's `SetEnable(false)`): holds
    /// however often it was set. Set at creation, so that the first `enable`
    /// (or `set_enable(true)`) starts the source.
    off: bool,
    /// The loop the source was on stopped; cleared when it is attached again.
    stopped: bool,
    /// The source is on no loop (not attached yet, or removed).
    detached: bool,
}

impl Hold {
    fn held(&self) -> bool {
        self.driver_depth() > 0 || self.stopped || self.detached
    }

    /// The driver's part: its nesting disables plus the flag.
    fn driver_depth(&self) -> u32 {
        self.driver + u32::from(self.off)
    }
}

/// The storm throttle's state (see [`SourceOptions::storm_per_sec`]). Written by
/// the top half only, whose calls on one line the IRQ core serializes.
struct Storm {
    /// Top-half calls per millisecond above which the line is throttled; 0: off.
    limit: u32,
    /// Start of the millisecond `calls` counts in (`now_ns`).
    window_ns: Atomic<i64>,
    /// Top-half calls since `window_ns`.
    calls: Atomic<u32>,
    /// Set while the throttle holds the line masked (cleared by whoever unmasks).
    masked: AtomicFlag,
    /// This source saw a storm already (see `storm_first_report`).
    reported: AtomicFlag,
}

/// The state of an [`InterruptEventSource`], shared by its handle, its top half
/// and [`InterruptControl`]s; drivers use it through those.
#[pin_data]
pub struct InterruptCore<T: InterruptHandler> {
    #[pin]
    base: SourceBase,
    line: IrqLine,
    shared: bool,
    counter: Counter,
    timestamps: Timestamps,
    /// Trigger type, read from the line on first use.
    trigger: Atomic<u32>,
    /// Set while the top half's auto-disable holds the line masked.
    auto_masked: AtomicFlag,
    /// A shared line was masked for a held source (reported once in the log).
    held_mask_reported: AtomicFlag,
    /// Set at teardown or cancel: the top half only runs the filter, never
    /// schedules or masks, and every line operation fails with `ENODEV`.
    closed: AtomicFlag,
    /// Set by the first of cancel and drop, which quiesces the device.
    quiesced: AtomicFlag,
    /// The interrupt lock (see `interrupt_lock.rs`), used if `lock_enabled`
    /// and the source is not passive.
    #[pin]
    irq_lock: RawIrqLock,
    lock_enabled: bool,
    /// A passive source's lock (its filter runs in an interrupt thread).
    #[pin]
    passive_lock: PassiveLock,
    passive: bool,
    /// Interrupts counted since creation; written under the interrupt lock.
    total: Atomic<u64>,
    storm: Storm,
    /// Unmasks a throttled line a tick later.
    #[pin]
    storm_work: DelayedWork<Self>,
    /// The driver's disable count and the loop's stop (see "Disable depth").
    #[pin]
    disable_count: Mutex<Hold>,
    /// `warm_cpu`'s CPU-latency request, released after the next delivery.
    #[pin]
    warm: sys::CpuLatency,
    /// The device the line belongs to, where the constructor was told it.
    provider: Option<ARef<Device>>,
    /// The interrupt's index in its device (the first vector's message).
    index: u32,
    #[pin]
    handler: T,
}

impl_has_delayed_work! {
    impl{T: InterruptHandler} HasDelayedWork<Self> for InterruptCore<T> { self.storm_work }
}

/// The end of a storm throttle: a tick after the top half masked the line.
impl<T: InterruptHandler> WorkItem for InterruptCore<T> {
    type Pointer = Arc<Self>;

    fn run(this: Arc<Self>) {
        this.storm_unmask();
    }
}

impl<T: InterruptHandler> InterruptCore<T> {
    /// A disabled, detached core for `line`, interrupt `place.1` of device
    /// `place.0` (if known).
    fn new<E>(
        line: IrqLine,
        place: (Option<ARef<Device>>, u32),
        name: &CStr,
        sharing: Sharing,
        options: SourceOptions,
        handler: impl PinInit<T, E>,
    ) -> Result<impl PinInit<Self, Error>>
    where
        Error: From<E>,
    {
        let base = SourceBase::new(name, Initially::Disabled)?;
        Ok(try_pin_init!(InterruptCore {
            base <- base,
            line,
            shared: sharing == Sharing::Shared,
            counter: Counter::new(options.counter_start),
            timestamps: Timestamps::new(options.timestamps),
            trigger: Atomic::new(Trigger::Unknown as u32),
            auto_masked: AtomicFlag::new(false),
            held_mask_reported: AtomicFlag::new(false),
            closed: AtomicFlag::new(false),
            quiesced: AtomicFlag::new(false),
            irq_lock <- RawIrqLock::new(),
            lock_enabled: options.interrupt_lock || options.passive,
            passive_lock <- PassiveLock::new(),
            passive: options.passive,
            total: Atomic::new(0),
            storm: Storm {
                limit: storm_limit(options.storm_per_sec),
                window_ns: Atomic::new(0),
                calls: Atomic::new(0),
                masked: AtomicFlag::new(false),
                reported: AtomicFlag::new(false),
            },
            storm_work <- new_delayed_work!("workloop::interrupt::storm"),
            disable_count <- new_mutex!(Hold {
                driver: 0,
                off: true,
                stopped: false,
                detached: true,
            }),
            warm <- sys::CpuLatency::new(),
            provider: place.0,
            index: place.1,
            handler <- handler,
        }? Error))
    }

    fn is_level(&self) -> bool {
        match self.trigger.load(Relaxed) {
            t if t == Trigger::Edge as u32 => false,
            t if t == Trigger::Level as u32 => true,
            _ => {
                let level = self.line.is_level();
                let t = if level { Trigger::Level } else { Trigger::Edge };
                self.trigger.store(t as u32, Relaxed);
                level
            }
        }
    }

    /// Counts an interrupt and wakes the loop. Any context.
    fn produce(&self) -> bool {
        let made_pending = self.count();
        self.base.signal_work_available_in_irq();
        made_pending
    }

    /// Counts an interrupt without waking the loop; returns whether it made the
    /// source pending. Any context; under the interrupt lock if the source has one.
    fn count(&self) -> bool {
        let made_pending = count_event(&self.base, &self.counter, &self.timestamps);
        // Only `last_interrupt` reads it, and only with the lock, which then
        // serializes this writer: a source without the lock does no extra work.
        if self.lock_enabled {
            self.total.store(self.total.load(Relaxed) + 1, Relaxed);
        }
        made_pending
    }

    /// The interrupt lock, if the source has one: the mutex of a passive
    /// source, else the spin lock.
    fn interrupt_lock(&self) -> Option<LockRef<'_>> {
        if self.passive {
            Some(LockRef::Passive(&self.passive_lock))
        } else {
            self.lock_enabled.then_some(LockRef::Spin(&self.irq_lock))
        }
    }

    /// See [`InterruptEventSource::last_interrupt`].
    fn last_interrupt(&self, entry: Entry) -> Result<LastInterrupt> {
        let _locked = match entry {
            Entry::Wait => interrupt_lock::acquire(self.interrupt_lock())?,
            Entry::Try => interrupt_lock::try_acquire(self.interrupt_lock())?,
        };
        Ok(LastInterrupt {
            pending: self.counter.pending(),
            time_ns: self.timestamps.last(),
            total: self.total.load(Relaxed),
        })
    }

    /// Auto-disable: masks a level line once until the bottom half unmasks it,
    /// after the action consumed the interrupt that caused it. Top half only,
    /// after the interrupt was counted.
    fn mask_auto(&self, held: bool) {
        if !self.is_level() || self.auto_masked.load(Relaxed) {
            return;
        }
        // Mask first, then publish: the bottom half unmasks only after it saw the
        // flag, so its `enable_irq` always follows this `disable_irq_nosync`. The
        // count is published before the flag: a pass that sees the flag also sees
        // the interrupt as pending, and leaves the line masked until its action ran.
        self.line.disable_nosync();
        self.auto_masked.store(true, Release);
        add_single_writer(&self.base.stats.auto_disable_cycles, 1);
        if held && self.shared && !self.held_mask_reported.xchg(true, Relaxed) {
            pr_warn!(
                "workloop: {}: interrupt on shared IRQ {} while the source is held, not \
                 acknowledged by its filter: the line is masked for every device on it \
                 until the source runs again (see FilterContext::held)\n",
                self.base.name(),
                self.line.number()
            );
        }
    }

    fn top_half(&self, dev: &Device<Bound>, message: u32) -> IrqReturn {
        // Held around the filter and the count: code holding it never runs
        // concurrently with this.
        let _locked = self.interrupt_lock().map(LockRef::lock);
        if self.closed.load(Acquire) {
            return self.dying_top_half(dev, message);
        }
        let held = !self.base.is_enabled();
        // One interrupt counts once: a filter that signalled and then answers
        // "schedule" gets the auto-disable, not a second count.
        let signalled = core::cell::Cell::new(false);
        let signal = || !signalled.replace(true) && self.produce();
        let ctx = FilterContext {
            device: dev,
            signal: &signal,
            held,
            message,
        };
        match self.handler.filter(&ctx) {
            FilterResult::NotMine => {
                add_single_writer(&self.base.stats.not_mine, 1);
                IrqReturn::None
            }
            FilterResult::Handled => {
                add_single_writer(&self.base.stats.handled_in_filter, 1);
                IrqReturn::Handled
            }
            FilterResult::Schedule => {
                // Count first, then mask (see `mask_auto`), then wake the loop: a
                // pass woken by an earlier signal that ran between the two must not
                // be the last.
                if !signalled.get() {
                    let _ = self.count();
                }
                hooks::point_spin(Point::TopHalfSchedule);
                self.mask_auto(held);
                self.base.signal_work_available_in_irq();
                IrqReturn::Handled
            }
        }
    }

    /// The top half of a source being torn down: the filter still acknowledges its
    /// device, but nothing is counted, scheduled or masked. A "schedule" answer (a
    /// plain source) is not ours to handle any more: `IRQ_NONE` lets genirq's
    /// spurious-interrupt detection stop a device that was not quiesced.
    fn dying_top_half(&self, dev: &Device<Bound>, message: u32) -> IrqReturn {
        let signal = || false;
        let ctx = FilterContext {
            device: dev,
            signal: &signal,
            held: true,
            message,
        };
        match self.handler.filter(&ctx) {
            FilterResult::Handled => IrqReturn::Handled,
            FilterResult::NotMine | FilterResult::Schedule => IrqReturn::None,
        }
    }

    /// The storm throttle, at the start of every top half of a live source on a
    /// level line: true if this call found the line storming and masked it (the
    /// call then counts as handled, so genirq's "nobody cared" never sees a run of
    /// unhandled calls longer than the limit). FreeBSD's interrupt-storm throttle
    /// is the model: pause the line for a tick, then retry.
    fn storm_check(&self) -> bool {
        let limit = self.storm.limit;
        if limit == 0 || !self.is_level() {
            return false;
        }
        let now = sys::now_ns();
        if now - self.storm.window_ns.load(Relaxed) >= STORM_WINDOW_NS {
            self.storm.window_ns.store(now, Relaxed);
            self.storm.calls.store(1, Relaxed);
            return false;
        }
        let calls = self.storm.calls.load(Relaxed) + 1;
        self.storm.calls.store(calls, Relaxed);
        if calls <= limit || self.closed.load(Acquire) {
            return false;
        }
        self.storm.calls.store(0, Relaxed);
        self.line.disable_nosync();
        self.storm.masked.store(true, Release);
        add_single_writer(&self.base.stats.storm_throttles, 1);
        if self.storm_first_report() {
            pr_warn!(
                "workloop: {}: interrupt storm on IRQ {} (more than {} calls in a \
                 millisecond): the line is masked for a tick each time (counted in \
                 storm_throttles)\n",
                self.base.name(),
                self.line.number(),
                limit
            );
        }
        true
    }

    /// Whether this is the line's first storm (all sources of this module on the
    /// line see it; one report is enough). Lines above 1023 are reported once
    /// per source.
    fn storm_first_report(&self) -> bool {
        if self.storm.reported.xchg(true, Relaxed) {
            return false;
        }
        // CAST: `u32` fits `usize`.
        let n = self.line.number() as usize;
        match STORM_REPORTED.get(n / 64) {
            Some(word) => {
                let bit = 1u64 << (n % 64);
                let mut old = word.load(Relaxed);
                loop {
                    if old & bit != 0 {
                        return false;
                    }
                    match word.cmpxchg(old, old | bit, Relaxed) {
                        Ok(_) => return true,
                        Err(now) => old = now,
                    }
                }
            }
            None => true,
        }
    }

    /// Gives back the throttle's mask. Any context (the delayed work, teardown).
    fn storm_unmask(&self) {
        if self.storm.masked.xchg(false, Full) {
            self.line.enable();
        }
    }

    fn unmask_auto(&self) {
        if self.auto_masked.xchg(false, Full) {
            self.line.enable();
        }
    }

    /// The bottom half's unmask: only once the action consumed every interrupt
    /// counted before the mask (genirq's oneshot rule), so a pass that found
    /// nothing to deliver never unmasks early.
    fn unmask_consumed(&self) {
        // The flag first: seeing it, this pass also sees the count that came with it.
        if !self.auto_masked.load(Acquire) || self.counter.pending() != 0 {
            return;
        }
        self.unmask_auto();
    }

    /// Applies `change` to the holders (`hold` is the locked state). If that made
    /// the source held: the action and (on an exclusive line) the line are masked,
    /// and once no top half runs with the old state, an auto-disable taken for an
    /// action that now cannot run is given back, so that a shared line is not left
    /// masked for its other devices. A device that still asserts fires again at
    /// once and meets the held top half (see [`FilterContext::held`]).
    fn hold(&self, hold: &mut Hold, change: impl FnOnce(&mut Hold)) {
        let was = hold.held();
        change(hold);
        if was || !hold.held() {
            return;
        }
        self.base.set_enabled(false);
        if !self.shared {
            self.line.disable_nosync();
        }
        self.line.synchronize();
        self.unmask_auto();
    }

    /// Applies `change`; if the source is no longer held, lets the action run,
    /// unmasks an exclusive line and wakes the loop, which delivers what was held
    /// and then gives back an auto-disable taken meanwhile.
    fn unhold(&self, hold: &mut Hold, change: impl FnOnce(&mut Hold)) {
        let was = hold.held();
        change(hold);
        if !was || hold.held() {
            return;
        }
        self.base.set_enabled(true);
        if !self.shared {
            self.line.enable();
        }
        // A pass only if there is something for it: interrupts counted while held
        // (each woke the loop, which skipped them), or an auto-disable to give back.
        // The barrier orders the enable before the look: an interrupt this look
        // misses is counted later, and its own wake-up finds the source enabled.
        kernel::sync::barrier::smp_mb();
        if self.counter.pending() != 0 || self.auto_masked.load(Acquire) {
            self.base.signal_work_available();
        }
    }

    /// Where the interrupt is, for the affinity policies.
    fn place(&self) -> info::Place {
        info::Place {
            node: self.provider.as_deref().and_then(sys::dev_node),
            index: self.index,
        }
    }

    /// The driver's current disable count (its flag counts as one).
    fn disable_depth(&self) -> u32 {
        self.disable_count.lock().driver_depth()
    }
}

impl<T: InterruptHandler> EventSource for InterruptCore<T> {
    fn base(&self) -> &SourceBase {
        &self.base
    }

    fn check_for_work(&self, gate: &Gate<'_>) -> bool {
        let lock = if T::PAIRED_TIME {
            self.interrupt_lock()
        } else {
            None
        };
        deliver_counted(
            gate,
            &self.base,
            &self.counter,
            &self.timestamps,
            || lock.map(LockRef::lock),
            |count, time| {
                self.handler.interrupt_occurred(gate, count, time);
                // `warm_cpu` lasts until the interrupt it was for was handled.
                self.warm.release();
            },
        );
        // Unmask after the action unless the source is held; a still-asserted
        // level line fires again at once, which is the re-check.
        if self.base.is_enabled() {
            self.unmask_consumed();
        }
        false
    }

    fn enable(&self) -> Result {
        self.enable_line()
    }

    fn disable(&self) -> Result {
        self.disable_line()
    }

    /// The loop stops: hold the action without counting as a driver disable, so the
    /// driver's count is what it was (`disable_depth` unchanged).
    fn loop_stopping(&self) {
        let mut hold = self.disable_count.lock();
        if !self.closed.load(Acquire) {
            self.hold(&mut hold, |h| h.stopped = true);
        }
    }

    /// Attached to a loop: undo `detached` (and `loop_stopping`).
    fn attached(&self) {
        let mut hold = self.disable_count.lock();
        if !self.closed.load(Acquire) {
            self.unhold(&mut hold, |h| {
                h.stopped = false;
                h.detached = false;
            });
        }
    }

    /// Removed from its loop (or the loop stopped): held until attached again.
    fn detached(&self) {
        let mut hold = self.disable_count.lock();
        if !self.closed.load(Acquire) {
            self.hold(&mut hold, |h| h.detached = true);
        }
    }

    /// The line is still requested: the source lives in the driver's per-device
    /// data, which is dropped before devres frees the line, and the handle is
    /// dropped before the registration (field order of [`InterruptEventSource`]).
    /// (Kernel 7.2's `Registration::try_synchronize` cannot be used to check: it
    /// calls `synchronize_irq`, which sleeps, inside an RCU read-side section.)
    fn handle_dropping(this: &Arc<Self>) {
        // 0. The device stops raising the interrupt (unless a cancel did that).
        this.quiesce_once();
        // 1. The top half stops scheduling and masking, and the source is held
        //    disabled.
        {
            let mut hold = this.disable_count.lock();
            // Under the mutex: an `InterruptControl` sees it before its next line
            // operation, and one in the middle of a `disable` has finished it.
            this.closed.store(true, Release);
            this.hold(&mut hold, |h| h.off = true);
        }
        this.line.synchronize();
        hooks::point(Point::DropAfterClose);
        // 2. No throttle is pending or taken after this (a closed top half never
        //    throttles); give back one in force.
        sys::cancel_delayed_work_sync(this);
        this.storm_unmask();
        // 3. (`Source`'s drop) The source is detached: no action runs after it.
    }

    fn handle_dropped(this: &Arc<Self>) {
        // 4. Give back an auto-disable: on a shared line the other devices need it.
        this.unmask_auto();
        // 5. The registration is dropped next: `free_irq`.
    }
}

/// The hard-IRQ handler registered with the IRQ core.
#[doc(hidden)]
pub struct TopHalf<T: InterruptHandler> {
    core: Arc<InterruptCore<T>>,
    /// The vector's index, for [`FilterContext::message`].
    message: u32,
}

impl<T: InterruptHandler> irq::Handler for TopHalf<T> {
    fn handle(&self, device: &Device<Bound>) -> IrqReturn {
        if self.core.storm_check() {
            // Unmasked a tick later. Queued at most once: the line stays masked
            // until the work ran.
            let _ = workqueue::system_highpri().enqueue_delayed(self.core.clone(), 1);
            return IrqReturn::Handled;
        }
        self.core.top_half(device, self.message)
    }
}

/// An interrupt event source on one Linux IRQ line.
///
/// Created disabled. Attach it to a loop, then [`InterruptEventSource::enable`] it.
/// Dropping it detaches it, waits for a running action and frees the line.
///
/// # Examples
///
/// In a PCI driver's probe: one vector from the kernel's allocation, a filter
/// that claims and acknowledges the device's interrupt in the top half, and an
/// action on the loop (`samples/edu` does this and runs in `make check`; for a
/// set of vectors, or WDF's all-or-one fallback, see [`PciVectors`] and
/// `samples/edu_irq`, `samples/msix_vectors`).
///
/// ```ignore
/// let vectors = pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::all())?;
/// // In the driver's `try_pin_init!`:
/// irq <- InterruptEventSource::new(
///     (*vectors.start()).try_into()?,
///     c"edu_irq",
///     Sharing::Shared,
///     SourceOptions::default(),
///     Ok::<_, Error>(EduIrq { bar }),
/// ),
/// _: {
///     work_loop.add_event_source(&*irq)?;
///     irq.enable()?;
/// },
/// ```
///
/// The lifetime `'a` is that of the device binding the line belongs to (the
/// `IrqRequest<'a>` it was made from): safe code cannot keep the source, and with
/// it the IRQ number, past the unbind that frees the line. Kernel 7.3's
/// `irq::Registration<'a>` has the same shape.
///
/// `L` is how the line is requested: `kernel::irq`'s registration for a source
/// made with [`InterruptEventSource::new`], the library's own for the sources
/// of a set of PCI vectors ([`VectorEventSource`], see [`PciVectors`]).
///
/// # Invariants
///
/// `source`'s core's line is the line `reg` requested; it stays requested until
/// `reg` is dropped, which happens after `source` was dropped (field order) and
/// with it every use of the line stopped (`InterruptCore::handle_dropping`: an
/// [`InterruptControl`] checks `closed` under the mutex it is set under, and
/// `disable` waits for the top half under that mutex).
#[pin_data]
pub struct InterruptEventSource<'a, T: InterruptHandler, L = irq::Registration<TopHalf<T>>> {
    source: Source<InterruptCore<T>>,
    #[pin]
    reg: L,
    _bound: PhantomData<&'a ()>,
}

impl<'a, T: InterruptHandler> InterruptEventSource<'a, T> {
    /// Requests the line of `request` (from a PCI IRQ vector or a platform IRQ) and
    /// creates a disabled source named `name` on it.
    ///
    /// Process context.
    pub fn new<E: 'a>(
        request: IrqRequest<'a>,
        name: &'static CStr,
        sharing: Sharing,
        options: SourceOptions,
        handler: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        pin_init::pin_init_scope(move || {
            // A passive source needs a threaded request: `new_vector`'s.
            if options.passive {
                return Err(EINVAL);
            }
            // SAFETY: The line is requested by `reg` below before the core can use it
            // (no top half runs before `request_irq`, the bottom half runs only after
            // the driver enabled the source), and dropping `source` stops every use
            // before `reg` frees it; the source cannot outlive the binding (`'a`), so
            // devres does not free the line under it.
            let line = unsafe { IrqLine::new(request.irq()) };
            // The message number of an MSI or MSI-X vector; a line is message 0.
            // SAFETY: `request` is the vector of a bound device: it stays
            // allocated while the binding lasts (`'a`).
            let message = unsafe { sys::msi_info(request.irq()) }.map_or(0, |(_, index)| index);
            // Kernel 7.2's `IrqRequest` does not tell its device.
            let place = (None, message);
            let core = Arc::pin_init::<Error>(
                InterruptCore::new(line, place, name, sharing, options, handler)?,
                GFP_KERNEL,
            )?;
            // SAFETY: `request` is the vector of a bound device: it stays allocated
            // while the binding lasts (`'a`).
            unsafe { sys::prepare_level_line(request.irq()) };
            let flags = if sharing == Sharing::Shared {
                Flags::SHARED
            } else {
                Flags::NO_AUTOEN
            };
            let top = TopHalf {
                core: core.clone(),
                message,
            };
            // INVARIANT: `core.line` is the line of `request`, requested by `reg`.
            // `reg` is initialized first: if the request fails, the core is only
            // released, never torn down as a source.
            Ok(try_pin_init!(Self {
                reg <- irq::Registration::new(request, flags, name, Ok::<_, Error>(top)),
                source: Source::from_core(core),
                _bound: PhantomData,
                _: {
                    let core = &source.core;
                    if core.is_level() {
                        // Auto-disable must mask at once, as `IRQF_ONESHOT` does (set
                        // before the request already where the trigger was known).
                        core.line.set_disable_unlazy();
                    }
                },
            }? Error))
        })
    }
}

impl<'a, T: InterruptHandler, L> InterruptEventSource<'a, T, L> {
    /// Lets the action run and, on an exclusive line, unmasks it. Undoes one
    /// [`InterruptEventSource::disable`] (the source is created disabled once).
    ///
    /// Process context, also inside the action.
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if the source is not attached to a loop, `EINVAL` if it is not
    /// disabled (an unbalanced enable), `ENODEV` once cancelled, or the error of
    /// [`InterruptHandler::on_enable`] (the source then stays disabled).
    pub fn enable(&self) -> Result {
        self.source.core.enable_line()
    }

    /// Holds the action and, on an exclusive line, masks it; nests. Waits for a
    /// running top half. Process context, also inside the action; never from the
    /// filter.
    pub fn disable(&self) {
        // Only fails once the source is closed (dropped or cancelled).
        let _ = self.source.core.disable_line();
    }

    /// The driver's disable count (0: enabled): its nesting disables, plus one
    /// while the enable flag is off. Created at 1 (the flag).
    pub fn disable_depth(&self) -> u32 {
        self.source.core.disable_depth()
    }

    /// Sets the enable flag (DriverKit's `SetEnable`): idempotent, unlike the
    /// nesting [`InterruptEventSource::enable`]/[`InterruptEventSource::disable`]
    /// it coexists with. The source runs when the flag is on and no disable is
    /// outstanding. The hooks run as for `enable` and `disable`. Process context,
    /// also inside the action.
    ///
    /// # Errors
    ///
    /// `ENODEV` once cancelled, `ENOTCONN` to turn it on while on no loop, or the
    /// error of [`InterruptHandler::on_enable`].
    pub fn set_enable(&self, on: bool) -> Result {
        self.source.core.set_enable(on)
    }

    /// [`InterruptEventSource::set_enable`], then runs `completion` on the loop
    /// (DriverKit's `SetEnableWithCompletion`): once every action that was
    /// running or could start before the change has finished. Interrupts counted
    /// and not yet delivered stay counted; they are delivered when the source
    /// runs again. Without a loop (or once it stopped) it runs at once. Errors as
    /// `set_enable`, and `ENOMEM`; on an error `completion` is not run.
    pub fn set_enable_with_completion(
        &self,
        on: bool,
        completion: impl FnOnce() + Send + 'static,
    ) -> Result {
        self.source.core.set_enable_with_completion(on, completion)
    }

    /// Cancels the source for good (DriverKit's `Cancel`): quiesces the device
    /// ([`InterruptHandler::quiesce`]), stops the top half scheduling (its filter
    /// still acknowledges the device, as at drop), holds the source (an exclusive
    /// line stays masked until the source is dropped), and runs `handler` on the
    /// loop once no action of the source can run again. Every later enable,
    /// disable or cancel answers `ENODEV`; interrupts not yet delivered are
    /// dropped. The source still has to be dropped to free its line.
    ///
    /// Process context, also inside the action (the handler then runs after it
    /// returned). Without a loop (or once it stopped) `handler` runs at once.
    ///
    /// # Errors
    ///
    /// `ENODEV` if already cancelled, `ENOMEM`; `handler` is not run then.
    pub fn cancel(&self, handler: impl FnOnce() + Send + 'static) -> Result {
        InterruptCore::cancel(&self.source.core, handler)
    }

    /// A handle to enable and disable this source from elsewhere (a debugfs knob,
    /// a power-management callback); it stops working (`ENODEV`) once the source
    /// is dropped.
    pub fn control(&self) -> InterruptControl<T> {
        InterruptControl(self.source.core.clone())
    }

    /// Schedules the action as if an interrupt had arrived, without masking.
    /// Any context.
    pub fn signal_interrupt(&self) {
        let core = &self.source.core;
        // Serialized with the top half for `last_interrupt`, except where the
        // caller cannot take the lock (interrupts off: it may hold this very
        // spin lock; atomic context for a passive source's mutex).
        let _locked = core
            .interrupt_lock()
            .filter(|lock| lock.takeable_here())
            .map(LockRef::lock);
        let _ = core.produce();
    }

    /// Runs `f` holding the source's interrupt lock (KMDF's
    /// `WdfInterruptSynchronize`): no top half of the source runs meanwhile. See
    /// [`interrupt_lock`](super::interrupt_lock) for the rules.
    ///
    /// # Errors
    ///
    /// `ENOTSUPP` without [`SourceOptions::interrupt_lock`], `EDEADLK` with
    /// interrupts off (inside the filter).
    pub fn synchronize<R>(&self, f: impl FnOnce(&InterruptLocked<'_>) -> R) -> Result<R> {
        let locked = interrupt_lock::acquire(self.source.core.interrupt_lock())?;
        Ok(f(&locked))
    }

    /// Takes the interrupt lock (WDF's `AcquireInterruptLock`) until the returned
    /// proof is dropped (`ReleaseInterruptLock`). Errors as
    /// [`InterruptEventSource::synchronize`].
    pub fn acquire_interrupt_lock(&self) -> Result<InterruptLocked<'_>> {
        interrupt_lock::acquire(self.source.core.interrupt_lock())
    }

    /// Takes the interrupt lock only if it is free (WDF's
    /// `TryToAcquireInterruptLock`): `EBUSY` while a top half holds it.
    pub fn try_acquire_interrupt_lock(&self) -> Result<InterruptLocked<'_>> {
        interrupt_lock::try_acquire(self.source.core.interrupt_lock())
    }

    /// The interrupts counted and not yet delivered and the time of the newest,
    /// read together under the interrupt lock (DriverKit's `GetLastInterrupt`).
    /// Errors as [`InterruptEventSource::synchronize`].
    pub fn last_interrupt(&self) -> Result<LastInterrupt> {
        self.source.core.last_interrupt(Entry::Wait)
    }

    /// Keeps every CPU out of deep idle states until the next interrupt has
    /// been delivered (xnu's `warmCPU`, for an interrupt expected soon): a
    /// CPU-latency QoS request of 0 µs, released after the next action. Its
    /// effect is global, like `/dev/cpu_dma_latency`. Process context.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` where the kernel has no CPU-latency QoS (no
    /// `CONFIG_CPU_IDLE`).
    pub fn warm_cpu(&self) -> Result {
        self.source.core.warm.hold_shallow()
    }

    /// The source's interrupt index in its device (IOKit's `getIntIndex`,
    /// DriverKit's `index`): the message number of its (first) MSI or MSI-X
    /// vector, 0 for a line.
    pub fn int_index(&self) -> u32 {
        self.source.core.index
    }

    /// The device the source's interrupt belongs to (IOKit's `getProvider`,
    /// WDF's `GetDevice`), for sources made from [`PciVectors`]; `None` for one
    /// made from an `IrqRequest`, which in kernel 7.2 does not tell its device
    /// (the filter has it: [`FilterContext::device`]).
    ///
    /// [`PciVectors`]: super::PciVectors
    pub fn provider(&self) -> Option<&Device> {
        self.source.core.provider.as_deref()
    }

    /// The Linux IRQ number.
    pub fn irq(&self) -> u32 {
        self.source.core.line.number()
    }

    /// Whether the line is level-triggered (read from the interrupt controller).
    pub fn is_level_triggered(&self) -> bool {
        self.source.core.is_level()
    }

    /// What the kernel says about the line now (WDF's `GetInfo`): IRQ number,
    /// INTx / MSI / MSI-X and message number, level or edge, polarity where
    /// known, sharing, and the CPUs its interrupts go to. Process context.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or `ENOENT` if the IRQ core lost the line (it cannot while the
    /// source exists).
    pub fn info(&self) -> Result<InterruptInfo> {
        let core = &self.source.core;
        // SAFETY: The line is requested while `self` exists (type invariant).
        unsafe { info::line_info(core.line.number(), core.shared) }
    }

    /// Sets where the line's interrupts may go (WDF's `SetPolicy`); read the
    /// result back with [`InterruptEventSource::info`]. Process context.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a mask with no online CPU or a group other than 0 (nothing
    /// changes), `ENOMEM`, or the error of `irq_set_affinity`.
    pub fn set_affinity(&self, policy: AffinityPolicy<'_>) -> Result {
        let core = &self.source.core;
        // SAFETY: The line is requested while `self` exists (type invariant).
        unsafe { info::set_affinity(core.line.number(), policy, core.place()) }
    }

    /// Whether the line was requested as shared.
    pub fn is_shared(&self) -> bool {
        self.source.core.shared
    }

    /// Whether the source is enabled.
    pub fn is_enabled(&self) -> bool {
        self.source.core.base.is_enabled()
    }

    /// `ktime_get()` nanoseconds of the newest top half (0 if none or timestamps off).
    pub fn primary_timestamp(&self) -> i64 {
        self.source.core.timestamps.last()
    }

    /// Turns top-half timestamps (and with them the latency statistics) on or off.
    pub fn set_timestamps(&self, on: bool) {
        self.source.core.timestamps.set_enabled(on)
    }

    /// Interrupts counted and not yet delivered.
    pub fn pending(&self) -> u64 {
        self.source.core.counter.pending()
    }

    /// The handler object.
    pub fn handler(&self) -> &T {
        &self.source.core.handler
    }

    /// Statistics.
    pub fn stats(&self) -> &SourceStats {
        self.source.stats()
    }

    /// Common state (name, attachment).
    pub fn base(&self) -> &SourceBase {
        self.source.base()
    }
}

/// Enables and disables an [`InterruptEventSource`] from code that does not own it.
///
/// Same rules as [`InterruptEventSource::enable`] and
/// [`InterruptEventSource::disable`]; both fail with `ENODEV` once the source is
/// being dropped, so the line is never touched after it was freed.
pub struct InterruptControl<T: InterruptHandler>(Arc<InterruptCore<T>>);

impl<T: InterruptHandler> Clone for InterruptControl<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: InterruptHandler> InterruptControl<T> {
    /// See [`InterruptEventSource::enable`].
    pub fn enable(&self) -> Result {
        self.0.enable_line()
    }

    /// See [`InterruptEventSource::disable`]. Process context.
    pub fn disable(&self) -> Result {
        self.0.disable_line()
    }

    /// The driver's disable count.
    pub fn disable_depth(&self) -> u32 {
        self.0.disable_depth()
    }

    /// See [`InterruptEventSource::set_enable`].
    pub fn set_enable(&self, on: bool) -> Result {
        self.0.set_enable(on)
    }

    /// See [`InterruptEventSource::warm_cpu`].
    pub fn warm_cpu(&self) -> Result {
        self.0.warm.hold_shallow()
    }

    /// See [`InterruptEventSource::set_enable_with_completion`].
    pub fn set_enable_with_completion(
        &self,
        on: bool,
        completion: impl FnOnce() + Send + 'static,
    ) -> Result {
        self.0.set_enable_with_completion(on, completion)
    }

    /// See [`InterruptEventSource::cancel`].
    pub fn cancel(&self, handler: impl FnOnce() + Send + 'static) -> Result {
        InterruptCore::cancel(&self.0, handler)
    }

    /// See [`InterruptEventSource::synchronize`].
    pub fn synchronize<R>(&self, f: impl FnOnce(&InterruptLocked<'_>) -> R) -> Result<R> {
        let locked = interrupt_lock::acquire(self.0.interrupt_lock())?;
        Ok(f(&locked))
    }

    /// See [`InterruptEventSource::last_interrupt`].
    pub fn last_interrupt(&self) -> Result<LastInterrupt> {
        self.0.last_interrupt(Entry::Wait)
    }

    /// [`InterruptControl::last_interrupt`], but `EBUSY` instead of waiting while a
    /// top half holds the interrupt lock.
    pub fn try_last_interrupt(&self) -> Result<LastInterrupt> {
        self.0.last_interrupt(Entry::Try)
    }

    /// See [`InterruptEventSource::set_affinity`]; `ENODEV` once the source is
    /// dropped.
    pub fn set_affinity(&self, policy: AffinityPolicy<'_>) -> Result {
        // SAFETY: `with_line` runs the closure while the line is requested.
        self.with_line(|irq| unsafe { info::set_affinity(irq, policy, self.0.place()) })
    }

    /// See [`InterruptEventSource::info`]; `ENODEV` once the source is dropped.
    pub fn info(&self) -> Result<InterruptInfo> {
        let shared = self.0.shared;
        // SAFETY: `with_line` runs the closure while the line is requested.
        self.with_line(|irq| unsafe { info::line_info(irq, shared) })
    }

    /// Runs `f` with the line's number while the line is certainly requested:
    /// the source is not closed, checked under the mutex its drop closes under,
    /// held until `f` returns. `ENODEV` once the source is dropped. Process
    /// context; the drop waits for `f`, which must not wait for the drop.
    fn with_line<R>(&self, f: impl FnOnce(u32) -> Result<R>) -> Result<R> {
        let _hold = self.0.disable_count.lock();
        if self.0.closed.load(Acquire) {
            return Err(ENODEV);
        }
        f(self.0.line.number())
    }
}

impl<T: InterruptHandler, L> AsEventSource for InterruptEventSource<'_, T, L> {
    fn event_source(&self) -> Arc<dyn EventSource> {
        self.source.event_source()
    }
}
