// SPDX-License-Identifier: GPL-2.0

//! Command gates: run code in the loop's gate from any process context.
//!
//! IOKit's `IOCommandGate`. [`CommandGate::run_action`] runs a closure holding
//! the loop's gate, serialized with every action of the loop, and returns its
//! result; [`CommandGate::attempt_action`] does the same but never waits.
//! Inside, [`CommandGate::command_sleep`] releases the gate until
//! [`CommandGate::command_wakeup`] or a timeout. While the command gate is
//! disabled, callers that are not the loop's own thread wait for it to be
//! enabled. When the command gate is dropped, sleepers are woken with `ENODEV`
//! and in-flight closures finish before the drop returns.

use super::{
    event_source::{detach_on_drop, AsEventSource, EventSource, Initially, SourceBase},
    gate::{Entry, SleepResult, Wake},
    hooks::{self, Point},
    sys,
    work_loop::{Gate, LoopInner},
};
use kernel::{
    prelude::*,
    str::CStr,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        Arc,
    },
    time::Delta,
};

#[pin_data]
struct CommandGateCore {
    #[pin]
    base: SourceBase,
    /// Closures running (or sleeping) inside this command gate.
    inflight: Atomic<u32>,
    /// Set by drop: new callers fail with `ENODEV`.
    closed: AtomicFlag,
}

impl CommandGateCore {
    fn tag(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// The event key sleepers waiting for `enable` use.
    fn enable_event(&self) -> usize {
        core::ptr::from_ref(&self.base) as usize
    }
}

impl EventSource for CommandGateCore {
    fn base(&self) -> &SourceBase {
        &self.base
    }

    fn check_for_work(&self, _gate: &Gate<'_>) -> bool {
        false
    }

    fn enable(&self) -> Result {
        self.base.set_enabled(true);
        // Wake the callers waiting in `run_action` for the gate to be enabled.
        if let Some(lp) = self.base.work_loop() {
            lp.wakeup(self.enable_event(), Wake::All);
        }
        Ok(())
    }
}

/// A command gate (created enabled). See the module documentation.
pub struct CommandGate {
    core: Arc<CommandGateCore>,
}

/// Decrements the in-flight count when a closure leaves the command gate.
struct Inflight<'a>(&'a CommandGateCore);

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        // Dropped before the gate is released (declared after it), so `close`,
        // waiting for a free gate, is notified by that release.
        self.0.inflight.fetch_sub(1, Release);
    }
}

impl CommandGate {
    /// Creates a command gate named `name`.
    pub fn new(name: &CStr) -> Result<Self> {
        let core = Arc::pin_init(
            try_pin_init!(CommandGateCore {
                base <- SourceBase::new(name, Initially::Enabled)?,
                inflight: Atomic::new(0),
                closed: AtomicFlag::new(false),
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Self { core })
    }

    fn enter<R>(&self, entry: Entry, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        let core = &*self.core;
        if core.closed.load(Acquire) {
            return Err(ENODEV);
        }
        let lp = core.base.work_loop().ok_or(sys::enotconn())?;
        let gate = LoopInner::close_gate(lp.as_arc_borrow(), entry)?;
        core.inflight.fetch_add(1, Relaxed);
        let _inflight = Inflight(core);
        // Inside this command gate from here: `close` finds and fails every sleep of
        // the closure, whichever call it sleeps with.
        lp.in_scope(&gate, core.tag(), &core.closed, || {
            loop {
                if core.closed.load(Acquire) {
                    return Err(ENODEV);
                }
                if core.base.is_enabled() || gate.on_thread() {
                    break;
                }
                if entry == Entry::Try {
                    return Err(EBUSY);
                }
                // `enable` sets the flag before it wakes: checked again under the
                // sleeper mutex, so its wake-up cannot fall before the registration.
                let enabled = || core.base.is_enabled();
                lp.sleep(core.enable_event(), None, Some(&enabled))?;
            }
            Ok(f(&gate))
        })
    }

    /// Runs `f` holding the loop's gate and returns its result. Process context; may
    /// sleep (waiting for the gate, or for the command gate to be enabled).
    ///
    /// # Errors
    ///
    /// `ENOTCONN` if not attached to a loop, `ENODEV` if the loop stopped or the
    /// command gate is being dropped, `ERESTARTSYS` if a signal interrupted the wait
    /// for `enable`.
    pub fn run_action<R>(&self, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        self.enter(Entry::Wait, f)
    }

    /// Like [`CommandGate::run_action`] but fails with `EBUSY` instead of waiting.
    pub fn attempt_action<R>(&self, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        self.enter(Entry::Try, f)
    }

    /// Sleeps in the gate until [`CommandGate::command_wakeup`] for `event` or the
    /// timeout; releases the gate (all recursion levels) meanwhile.
    ///
    /// # Errors
    ///
    /// `ENODEV` when the command gate is dropped or the loop stops while sleeping,
    /// `ERESTARTSYS` on a signal, `EPERM` if `gate` is not held by the caller.
    pub fn command_sleep(
        &self,
        gate: &Gate<'_>,
        event: usize,
        timeout: Option<Delta>,
    ) -> Result<SleepResult> {
        let core = &*self.core;
        let lp = gate.inner();
        if lp.holder_in_scope(gate, core.tag()) {
            lp.sleep(event, timeout, None)
        } else {
            // Called with a gate taken outside this command gate: count the sleep as
            // inside it, so that `close` fails it.
            lp.in_scope(gate, core.tag(), &core.closed, || {
                lp.sleep(event, timeout, None)
            })
        }
    }

    /// Wakes the sleepers on `event` inside this command gate (all, or only the
    /// one that slept first). Process context.
    ///
    /// Takes the gate (recursively, so it works inside actions and closures), as
    /// IOKit wakes from inside the gate: a caller that changes a condition and then
    /// wakes is ordered after a sleeper that checked it in the gate and went to
    /// sleep, so the wake-up is never lost.
    pub fn command_wakeup(&self, event: usize, whom: Wake) {
        let Some(lp) = self.core.base.work_loop() else {
            return;
        };
        let gate = LoopInner::close_gate(lp.as_arc_borrow(), Entry::Wait);
        // Without the gate (the loop stopped) every sleeper was failed already.
        lp.wakeup_tagged(event, self.core.tag(), whom);
        drop(gate);
    }

    /// Lets callers in again and wakes those waiting for it.
    pub fn enable(&self) {
        // `CommandGateCore::enable` cannot fail.
        let _ = EventSource::enable(&*self.core);
    }

    /// Makes callers that are not on the loop's thread wait in `run_action`.
    pub fn disable(&self) {
        self.core.base.set_enabled(false);
    }

    /// Common state (name, attachment).
    pub fn base(&self) -> &SourceBase {
        &self.core.base
    }

    /// Closes the command gate for good: new callers fail with `ENODEV`, sleepers
    /// in it are woken with `ENODEV`, and this returns only after every closure
    /// inside it (running or sleeping) has left. Process context; must not be
    /// called from inside this command gate. Also done on drop.
    pub fn close(&self) {
        kernel::task::might_sleep();
        let core = &*self.core;
        core.closed.store(true, Release);
        if let Some(lp) = core.base.work_loop() {
            // Sleepers of this gate fail (a sleeper registering from now on sees
            // `closed` under the mutex this takes); every closure inside it drains first.
            lp.abort_sleepers_in(core.tag());
            hooks::point(Point::CloseAfterAbort);
            if lp.in_gate() {
                // The caller holds the loop's gate (inside an action, a closure, or
                // this very command gate): a closure asleep in this command gate
                // needs the gate to leave, so waiting here would deadlock. Such a
                // closure fails with `ENODEV` when it resumes.
            } else {
                lp.wait_gate_idle(|| core.inflight.load(Acquire) == 0);
            }
        }
        detach_on_drop(&self.core);
    }
}

impl AsEventSource for CommandGate {
    fn event_source(&self) -> Arc<dyn EventSource> {
        self.core.clone()
    }
}

impl Drop for CommandGate {
    fn drop(&mut self) {
        self.close();
    }
}
