// SPDX-License-Identifier: GPL-2.0

//! The `test` knob's words for the seed-API tests (`scripts/guest/tests/api_*.sh`):
//!
//! - `lock_then_raise`: holding the interrupt lock, raises one interrupt and
//!   spins 20 ms; fails with `EIO` if the top half counted it before the
//!   release (run it on a CPU the line does not target).
//! - `last_interrupt_torn` (needs the hook points): parks the top half of one
//!   interrupt between recording its time and counting it, and reads
//!   `last_interrupt` then: `EIO` if that read returned the new time with the
//!   old count.
//! - `cancel_in_action`: the next action cancels the source from inside itself
//!   (DriverKit's `Cancel`); waits for the cancel handler, then on a shared line
//!   for more interrupts (a flood the test runs meanwhile), and fails with `EIO`
//!   if an action ran after the handler or a later call did not answer
//!   `ENODEV`.
//! - `fail_next_enable`: the next enable hook fails with `EIO`.
//! - `disable_with_completion`: holding the gate, raises one interrupt and
//!   turns the enable flag off with a completion (DriverKit's
//!   `SetEnableWithCompletion`); `EIO` if the completion ran inside the gate,
//!   or if an action ran before the flag was back on, which must deliver the
//!   interrupt.
//! - `occurred_pair` (needs the hook points): holding the gate, raises one
//!   interrupt, then parks the top half of a second between recording its
//!   time and counting it, and lets the loop run: `EIO` unless the action is
//!   handed both interrupts with the second's time (never the new time with
//!   the old count).
//!
//! The power-management words are in `test_knobs_pm.rs`.

use super::*;
use kernel::time::delay::fsleep;
use test_knobs::{wait_for, STEP_MS};
use workloop::hooks::{self, Point};

/// How long `cancel_in_action` waits for the flood to reach the action.
const CANCEL_WAIT_MS: i64 = 10_000;
/// Interrupts the flood must raise after the cancel handler ran.
const RAISED_AFTER_CANCEL: u64 = 50;

/// Dispatches a seed-API word of the `test` knob.
pub(crate) fn write(knob: &TestKnob, word: &str) -> Result {
    match word {
        "lock_then_raise" => knob.lock_then_raise(),
        "last_interrupt_torn" => knob.last_interrupt_torn(),
        "cancel_in_action" => knob.cancel_in_action(),
        "fail_next_enable" => {
            knob.engine.fail_next_enable.store(true, Relaxed);
            Ok(())
        }
        "disable_with_completion" => knob.disable_with_completion(),
        "occurred_pair" => knob.occurred_pair(),
        word => test_knobs_pm::write(knob, word),
    }
}

/// Called at the start of every action: the `cancel_in_action` knob, and the
/// gaps between actions `test_knobs_pm.rs` measures.
pub(crate) fn in_action(engine: &Arc<EduEngine>) {
    test_knobs_pm::note_action(engine);
    // DriverKit's Cancel from inside the action.
    let armed = engine.cancel_in_action.lock().take();
    if let Some(ctl) = armed {
        cancel_from_action(engine, &ctl);
    }
}

/// Called by the action when `cancel_in_action` armed it: cancels the source
/// from inside the action. The handler notes how many actions had run.
pub(crate) fn cancel_from_action(engine: &Arc<EduEngine>, ctl: &InterruptControl<EduIrq>) {
    let seen = engine.clone();
    let cancelled = ctl.cancel(move || {
        let counters = &seen.counters;
        counters
            .actions_at_cancel
            .store(counters.actions.load(Relaxed), Relaxed);
        counters.cancels.add(1, Relaxed);
    });
    if let Err(e) = cancelled {
        pr_err!("cancel from inside the action failed: {:?}\n", e);
    }
    // Still inside the action: the handler must not have run yet.
    if engine.counters.cancels.load(Relaxed) != 0 {
        engine.counters.cancels_early.add(1, Relaxed);
    }
}

/// Waits up to `ms` for `cond`.
fn wait_long(ms: i64, cond: impl Fn() -> bool) -> Result {
    read_poll_timeout(
        || Ok(cond()),
        |&done| done,
        Delta::from_millis(1),
        Delta::from_millis(ms),
    )
    .map(|_| ())
}

/// `EIO` with `what` in the log unless `ok`.
fn expect(ok: bool, what: &str) -> Result {
    if !ok {
        pr_err!("{}\n", what);
        return Err(EIO);
    }
    Ok(())
}

impl TestKnob {
    fn lock_then_raise(&self) -> Result {
        let counted = &self.engine.counters.test_irqs;
        let before = counted.load(Relaxed);
        let during = self.ctl.synchronize(|_locked| {
            self.engine.raise_one().map(|()| {
                let start = Instant::<Monotonic>::now();
                while start.elapsed() < Delta::from_millis(20) {
                    core::hint::spin_loop();
                }
                counted.load(Relaxed)
            })
        })??;
        self.engine.counters.raised.add(1, Relaxed);
        if during != before {
            pr_err!(
                "top half counted {} interrupt(s) under the interrupt lock\n",
                during - before
            );
            return Err(EIO);
        }
        wait_for(|| counted.load(Relaxed) == before + 1)
    }

    fn last_interrupt_torn(&self) -> Result {
        if !hooks::ENABLED {
            return Err(ENOTSUPP);
        }
        let before = self.ctl.last_interrupt()?;
        hooks::arm(Point::CountTimeRecorded, None);
        let raised = self.raise();
        if raised.is_err() || !hooks::wait_parked(Point::CountTimeRecorded, STEP_MS) {
            hooks::release(Point::CountTimeRecorded);
            return raised.and(Err(ETIMEDOUT));
        }
        let during = self.ctl.try_last_interrupt();
        hooks::release(Point::CountTimeRecorded);
        if let Ok(seen) = during {
            if seen.total == before.total && seen.time_ns != before.time_ns {
                pr_err!("last_interrupt read a time without its count: {:?}\n", seen);
                return Err(EIO);
            }
        }
        wait_for(|| {
            self.ctl
                .last_interrupt()
                .is_ok_and(|l| l.total == before.total + 1)
        })
    }

    /// `cancel_in_action`: see the module documentation.
    fn cancel_in_action(&self) -> Result {
        let counters = &self.engine.counters;
        let shared = self.ctl.info()?.shared;
        *self.engine.cancel_in_action.lock() = Some(self.ctl.clone());
        wait_long(CANCEL_WAIT_MS, || counters.cancels.load(Relaxed) != 0)?;
        // A shared line stays open: the flood goes on, and the dying top half
        // acknowledges it. An exclusive line stays masked: nothing more arrives.
        if shared {
            let raised = counters.raised.load(Relaxed);
            wait_long(CANCEL_WAIT_MS, || {
                counters.raised.load(Relaxed) >= raised + RAISED_AFTER_CANCEL
            })?;
        }
        let (actions, at_cancel) = (
            counters.actions.load(Relaxed),
            counters.actions_at_cancel.load(Relaxed),
        );
        if actions != at_cancel {
            pr_err!(
                "{} action(s) ran after the cancel handler\n",
                actions - at_cancel
            );
            return Err(EIO);
        }
        expect(
            counters.cancels.load(Relaxed) == 1,
            "cancel handler ran twice",
        )?;
        expect(
            counters.cancels_early.load(Relaxed) == 0,
            "the cancel handler ran inside the action",
        )?;
        let refused = [
            self.ctl.enable(),
            self.ctl.disable(),
            self.ctl.set_enable(true),
            self.ctl.cancel(|| {}),
        ];
        expect(
            refused.iter().all(|r| *r == Err(ENODEV)),
            "a call after cancel did not answer ENODEV",
        )
    }

    /// `occurred_pair`: see the module documentation.
    fn occurred_pair(&self) -> Result {
        if !hooks::ENABLED {
            return Err(ENOTSUPP);
        }
        let counters = &self.engine.counters;
        let actions = counters.actions.load(Relaxed);
        let parked = self.engine.work_loop.run_action(|_gate| {
            self.raise_nowait()?;
            hooks::arm(Point::CountTimeRecorded, None);
            let raised = self.raise();
            if raised.is_err() || !hooks::wait_parked(Point::CountTimeRecorded, STEP_MS) {
                hooks::release(Point::CountTimeRecorded);
                return raised.and(Err(ETIMEDOUT));
            }
            Ok(())
        })?;
        parked?;
        // The gate is free: the loop takes both counts, or waits for the top
        // half's lock; give it time to try before the top half goes on.
        fsleep(Delta::from_millis(20));
        hooks::release(Point::CountTimeRecorded);
        wait_for(|| counters.actions.load(Relaxed) != actions)?;
        let last = self.ctl.last_interrupt()?;
        let (count, time) = (
            counters.occurred_count.load(Relaxed),
            counters.occurred_time_ns.load(Relaxed),
        );
        if count != 2 || time != last.time_ns {
            pr_err!(
                "action handed {} interrupt(s) at {} ns; the newest was at {} ns\n",
                count,
                time,
                last.time_ns
            );
            return Err(EIO);
        }
        Ok(())
    }

    /// `disable_with_completion`: see the module documentation.
    fn disable_with_completion(&self) -> Result {
        let counters = &self.engine.counters;
        let (actions, completions) = (
            counters.actions.load(Relaxed),
            counters.completions.load(Relaxed),
        );
        self.engine.work_loop.run_action(|_gate| {
            self.raise_nowait()?;
            let seen = self.engine.clone();
            self.ctl.set_enable_with_completion(false, move || {
                seen.counters.completions.add(1, Relaxed);
            })?;
            expect(
                counters.completions.load(Relaxed) == completions,
                "the completion ran inside the gate",
            )
        })??;
        wait_for(|| counters.completions.load(Relaxed) != completions)?;
        expect(
            counters.actions.load(Relaxed) == actions,
            "an action ran with the enable flag off",
        )?;
        self.ctl.set_enable(true)?;
        wait_for(|| counters.actions.load(Relaxed) != actions)
    }
}
