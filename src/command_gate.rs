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
    event_source::{detach_on_drop, EventSource, Initially, Source, SourceBase},
    gate::{Entry, SleepResult, Wake},
    hooks::{self, Point},
    work_loop::Gate,
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

/// The state of a [`CommandGate`]; drivers use it through that handle.
#[pin_data]
pub struct CommandGateCore {
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

    /// Closes the command gate for good; see [`CommandGate::close`] (which also
    /// detaches it).
    fn close(&self) {
        kernel::task::might_sleep();
        self.closed.store(true, Release);
        if let Some(work_loop) = self.base.work_loop() {
            // Sleepers of this gate fail (a sleeper registering from now on sees
            // `closed` under the mutex this takes); every closure inside it drains first.
            work_loop.abort_sleepers_in(self.tag());
            hooks::point(Point::CloseAfterAbort);
            if work_loop.in_gate() {
                // The caller holds the loop's gate (inside an action, a closure, or
                // this very command gate): a closure asleep in this command gate
                // needs the gate to leave, so waiting here would deadlock. Such a
                // closure fails with `ENODEV` when it resumes.
            } else {
                work_loop.wait_gate_idle(|| self.inflight.load(Acquire) == 0);
            }
        }
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
        if let Some(work_loop) = self.base.work_loop() {
            work_loop.wakeup(self.enable_event(), Wake::All);
        }
        Ok(())
    }

    fn handle_dropping(this: &Arc<Self>) {
        this.close();
    }
}

/// A command gate (created enabled). See the module documentation.
pub type CommandGate = Source<CommandGateCore>;

/// Decrements the in-flight count when a closure leaves the command gate.
struct Inflight<'a>(&'a CommandGateCore);

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Release);
    }
}

impl Source<CommandGateCore> {
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
        Ok(Self::from_core(core))
    }

    fn enter<R>(&self, entry: Entry, f: impl FnOnce(&Gate<'_>) -> R) -> Result<R> {
        let core = &*self.core;
        if core.closed.load(Acquire) {
            return Err(ENODEV);
        }
        core.base.with_loop_gate(entry, |gate| {
            let work_loop = gate.inner();
            core.inflight.fetch_add(1, Relaxed);
            // Dropped at the end of this closure, before the gate is released, so
            // `close`, waiting for a free gate, is notified by that release.
            let _inflight = Inflight(core);
            // Inside this command gate from here: `close` finds and fails every sleep
            // of the closure, whichever call it sleeps with.
            work_loop.in_scope(gate, core.tag(), &core.closed, || {
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
                    work_loop.sleep(core.enable_event(), None, Some(&enabled))?;
                }
                Ok(f(gate))
            })
        })?
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
        let work_loop = gate.inner();
        if work_loop.holder_in_scope(gate, core.tag()) {
            work_loop.sleep(event, timeout, None)
        } else {
            // Called with a gate taken outside this command gate: count the sleep as
            // inside it, so that `close` fails it.
            work_loop.in_scope(gate, core.tag(), &core.closed, || {
                work_loop.sleep(event, timeout, None)
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
        // Without the gate (on no loop, or the loop stopped) there is no sleeper:
        // every one was failed already.
        let _ = self.core.base.with_loop_gate(Entry::Wait, |gate| {
            gate.inner().wakeup_tagged(event, self.core.tag(), whom)
        });
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

    /// Closes the command gate for good: new callers fail with `ENODEV`, sleepers
    /// in it are woken with `ENODEV`, and this returns only after every closure
    /// inside it (running or sleeping) has left; then detaches it. Process context;
    /// must not be called from inside this command gate. Also done on drop.
    pub fn close(&self) {
        self.core.close();
        detach_on_drop(&self.core);
    }
}
