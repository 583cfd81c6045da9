// SPDX-License-Identifier: GPL-2.0

//! Timer event sources: one-shot timeouts whose action runs on the loop.
//!
//! IOKit's `IOTimerEventSource` with its action on the work loop thread. The
//! timeout is an hrtimer; its expiry callback (hard IRQ) only records which
//! arming fired and wakes the loop. Each arming gets a new generation number;
//! the loop runs the action only if the fired generation is still the armed one,
//! checked under the gate. [`TimerEventSource::cancel`] and every re-arm take the
//! gate and cancel the hrtimer (waiting for a running expiry callback), so a
//! timeout that already fired but has not run yet never runs after `cancel`
//! returned.

use super::{
    counting::run_accounted,
    event_source::{EventSource, Initially, Source, SourceBase},
    gate::Entry,
    sys,
    work_loop::Gate,
};
use kernel::{
    impl_has_hr_timer, new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, ArcBorrow, Mutex,
    },
    time::{
        hrtimer::{
            AbsoluteMode, ArcHrTimerHandle, HrTimer, HrTimerCallback, HrTimerCallbackContext,
            HrTimerHandle, HrTimerPointer, HrTimerRestart,
        },
        Delta, Instant, Monotonic,
    },
};

/// The action of a [`TimerEventSource`].
pub trait TimerAction: Send + Sync + 'static {
    /// Runs on the loop thread holding the gate when an armed timeout expired and
    /// was not cancelled; may sleep and may re-arm the timer.
    fn action(&self, gate: &Gate<'_>);
}

/// The state of a [`TimerEventSource`]; drivers use it through that handle.
#[pin_data]
pub struct TimerCore<T: TimerAction> {
    #[pin]
    base: SourceBase,
    #[pin]
    timer: HrTimer<Self>,
    /// Generation of the armed timeout, 0 when none. Written under the gate.
    armed: Atomic<u64>,
    /// Generation whose expiry has not been handled yet, 0 when none.
    fired: Atomic<u64>,
    /// Last generation handed out.
    generation: Atomic<u64>,
    /// Expiry time of the armed timeout, for the expiry callback's latency record.
    deadline_ns: Atomic<i64>,
    #[pin]
    handle: Mutex<Option<ArcHrTimerHandle<Self>>>,
    #[pin]
    handler: T,
}

impl<T: TimerAction> HrTimerCallback for TimerCore<T> {
    type Pointer<'a> = Arc<Self>;

    fn run(this: ArcBorrow<'_, Self>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // Hard-IRQ context. Re-arming cancels (and waits for) this callback before
        // it changes `armed`, so the value read here is the arming that fired.
        this.fired.store(this.armed.load(Relaxed), Relaxed);
        this.base.stats.events.add(1, Relaxed);
        // Hard IRQ (an RCU read-side section already).
        this.base.signal_work_available_in_irq();
        HrTimerRestart::NoRestart
    }
}

impl_has_hr_timer! {
    impl{T: TimerAction} HasHrTimer<Self> for TimerCore<T> {
        mode: AbsoluteMode<Monotonic>, field: self.timer
    }
}

impl<T: TimerAction> TimerCore<T> {
    /// Cancels the hrtimer, waiting for a running expiry callback.
    fn cancel_hrtimer(&self) {
        if let Some(mut h) = self.handle.lock().take() {
            h.cancel();
        }
    }
}

impl<T: TimerAction> EventSource for TimerCore<T> {
    fn base(&self) -> &SourceBase {
        &self.base
    }

    fn check_for_work(&self, gate: &Gate<'_>) -> bool {
        if !self.base.is_enabled() {
            return false;
        }
        let fired = self.fired.xchg(0, Relaxed);
        if fired == 0 || fired != self.armed.load(Relaxed) {
            return false;
        }
        self.armed.store(0, Relaxed);
        // Drop the expired handle: it holds a reference to this core.
        drop(self.handle.lock().take());
        let deadline = self.deadline_ns.load(Relaxed);
        run_accounted(gate, &self.base, deadline, 1, || self.handler.action(gate));
        false
    }

    fn loop_stopping(&self) {
        self.base.set_enabled(false);
        self.armed.store(0, Relaxed);
        self.cancel_hrtimer();
    }

    /// Removed from its loop: an armed timeout is cancelled (it could never run).
    fn detached(&self) {
        self.armed.store(0, Relaxed);
        self.cancel_hrtimer();
    }

    fn handle_dropping(this: &Arc<Self>) {
        this.armed.store(0, Relaxed);
        this.cancel_hrtimer();
    }

    fn handle_dropped(this: &Arc<Self>) {
        // A re-arm from a last action is cancelled too (breaks the handle's cycle).
        this.cancel_hrtimer();
    }
}

/// A one-shot timer whose action runs on its work loop.
///
/// Created enabled and unarmed. Dropping it cancels the timeout and detaches it.
/// Its statistics' latency is the time from expiry to the action's start.
pub type TimerEventSource<T> = Source<TimerCore<T>>;

impl<T: TimerAction> Source<TimerCore<T>> {
    /// Creates a timer source named `name`.
    pub fn new<E>(name: &CStr, handler: impl PinInit<T, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let core = Arc::pin_init::<Error>(
            try_pin_init!(TimerCore {
                base <- SourceBase::new(name, Initially::Enabled)?,
                timer <- HrTimer::new(),
                armed: Atomic::new(0),
                fired: Atomic::new(0),
                generation: Atomic::new(0),
                deadline_ns: Atomic::new(0),
                handle <- new_mutex!(None),
                handler <- handler,
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Self::from_core(core))
    }

    /// Arms the timer to expire `timeout` from now, replacing an armed timeout.
    ///
    /// Process context (takes the gate; works inside actions).
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not attached to a loop, `ENODEV` if the loop stopped.
    pub fn set_timeout(&self, timeout: Delta) -> Result {
        self.set_deadline(Instant::<Monotonic>::now() + timeout)
    }

    /// Arms the timer to expire at `deadline` (`CLOCK_MONOTONIC`), replacing an armed
    /// timeout. A deadline in the past expires at once. Same rules as
    /// [`TimerEventSource::set_timeout`].
    pub fn set_deadline(&self, deadline: Instant<Monotonic>) -> Result {
        self.core.base.with_loop_gate(Entry::Wait, |_gate| {
            let core = &self.core;
            core.cancel_hrtimer();
            let generation = core.generation.fetch_add(1, Relaxed) + 1;
            core.armed.store(generation, Relaxed);
            core.deadline_ns.store(
                sys::now_ns() + (deadline - Instant::now()).as_nanos(),
                Relaxed,
            );
            let handle = core.clone().start(deadline);
            *core.handle.lock() = Some(handle);
        })
    }

    /// Cancels the armed timeout. When this returns the action will not run for it,
    /// even if it expired already and is waiting for the loop.
    ///
    /// Process context (takes the gate; works inside actions). Returns whether a
    /// timeout was armed.
    pub fn cancel(&self) -> Result<bool> {
        self.core.base.with_loop_gate(Entry::Wait, |_gate| {
            let was = self.core.armed.xchg(0, Relaxed) != 0;
            self.core.cancel_hrtimer();
            was
        })
    }

    /// Whether a timeout is armed and has not run yet.
    pub fn is_armed(&self) -> bool {
        self.core.armed.load(Relaxed) != 0
    }

    /// The action object.
    pub fn handler(&self) -> &T {
        &self.core.handler
    }
}
