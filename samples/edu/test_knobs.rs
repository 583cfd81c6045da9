// SPDX-License-Identifier: GPL-2.0

//! The `test` debugfs knob (module parameter `test_knobs=1`): steps the guest
//! tests need to force an interleaving and read the line in the middle of it.
//! Write one word:
//!
//! - `stop_loop`: stops the device's work loop, as a suspend or shutdown path
//!   would, leaving the device bound.
//! - `disable_all`, `enable_all`: switch every source of the loop.
//! - `signal_and_schedule`: the filter answers "schedule" after it signalled (one
//!   interrupt, which the library must count once).
//! - `raise_nowait`: raises one interrupt and returns once the top half counted
//!   it, without waiting for the acknowledgement.
//! - `disable_masked`, `detach_masked`, `stop_masked` (plain source, level line):
//!   holding the loop's gate so the action cannot run, raise one interrupt, wait
//!   until the top half masked the line, then disable the source, remove it from
//!   its loop, or stop the loop (from a helper thread, released once the stop
//!   began), and return.
//! - `attach`: adds the source back to its loop after `detach_masked`.
//! - `hold_top_half` (plain source, exclusive level line; needs the library's
//!   hook points): raises one interrupt, parks its top half between its two
//!   steps, makes the loop run a pass and returns with the top half still parked;
//!   `release_top_half` lets it go on.
//! - `late_irq_at_drop` (needs the hook points): when the interrupt source is
//!   next dropped (unbind, unplug), a helper thread raises an interrupt after the
//!   source went dead, as a late DMA completion would, and lets the drop go on a
//!   second later: the dying top half must acknowledge it through the filter.
//! - `disable_at_drop` (needs the hook points): a helper thread disables the
//!   source and is parked between raising the count and waiting for the top half
//!   (`synchronize_irq`); another lets it go on half a second later. A drop in
//!   that window must wait for it, so that `synchronize_irq` never runs on a
//!   freed line.
//! - `storm_on`: interrupts are no longer acknowledged and one is raised, so the
//!   device keeps its line asserted; `storm_deaf`: the same, and the filter
//!   answers "not mine" to everything (nobody claims the line: genirq's "nobody
//!   cared" case); `storm_off` acknowledges it again.
//!
//! The words of the seed-API tests are in `test_knobs_api.rs`.

use super::*;
use kernel::time::delay::fsleep;
use workloop::{
    hooks::{self, Point},
    AsEventSource, EventSource,
};

/// How long a step waits for the device or the loop.
pub(crate) const STEP_MS: u32 = 1000;

/// The `storm_*` words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storm {
    /// Interrupts are not acknowledged; one is raised.
    On,
    /// As `On`, and the filter claims none.
    Deaf,
    /// Back to normal; the test interrupt is acknowledged.
    Off,
}

/// The knob's state: the device and its interrupt source.
pub(crate) struct TestKnob {
    pub(crate) engine: Arc<EduEngine>,
    pub(crate) src: Arc<dyn EventSource>,
    pub(crate) ctl: InterruptControl<EduIrq>,
}

impl TestKnob {
    pub(crate) fn new(engine: &Arc<EduEngine>, irq: &InterruptEventSource<'_, EduIrq>) -> Self {
        Self {
            engine: engine.clone(),
            src: irq.event_source(),
            ctl: irq.control(),
        }
    }

    /// Raises one test interrupt without waiting for its acknowledgement.
    pub(crate) fn raise(&self) -> Result {
        self.engine.raise_one()?;
        self.engine.counters.raised.add(1, Relaxed);
        Ok(())
    }

    /// Raises one interrupt and waits until the top half counted it.
    pub(crate) fn raise_nowait(&self) -> Result {
        let stats = self.src.base().stats();
        let before = stats.events.load(Relaxed);
        self.raise()?;
        wait_for(|| stats.events.load(Relaxed) != before)
    }

    /// Holding the gate: raise, wait for the top half's auto-disable, then `then`.
    fn masked_then(&self, then: impl FnOnce(&Self) -> Result) -> Result {
        let stats = self.src.base().stats();
        self.engine.work_loop.run_action(|_gate| {
            let before = stats.auto_disable_cycles.load(Relaxed);
            self.raise()?;
            wait_for(|| stats.auto_disable_cycles.load(Relaxed) != before)?;
            then(self)
        })?
    }

    /// `stop_masked`: the stop runs in a helper thread, which the gate holds up
    /// until the loop is marked stopping; then waits for the stop to finish.
    fn stop_masked(&self) -> Result {
        self.masked_then(|knob| {
            let engine = knob.engine.clone();
            kernel::workqueue::system_long().try_spawn(GFP_KERNEL, move || {
                // The knob's own second stop below reports how it ended.
                let _ = engine.work_loop.stop();
            })?;
            wait_for(|| knob.engine.work_loop.is_closed())
        })?;
        // A second stop returns once the first has finished.
        self.engine.work_loop.stop()
    }

    /// `hold_top_half`: see the module documentation.
    fn hold_top_half(&self) -> Result {
        if !hooks::ENABLED {
            return Err(ENOTSUPP);
        }
        let work_loop = &self.engine.work_loop;
        hooks::arm(Point::TopHalfSchedule, None);
        let held = self.raise().and_then(|()| {
            if !hooks::wait_parked(Point::TopHalfSchedule, STEP_MS) {
                return Err(ETIMEDOUT);
            }
            let passes = work_loop.stats().passes.load(Relaxed);
            work_loop.signal_work_available();
            wait_for(|| work_loop.stats().passes.load(Relaxed) != passes)
        });
        if held.is_err() {
            hooks::release(Point::TopHalfSchedule);
        }
        held
    }

    /// `late_irq_at_drop`: see the module documentation.
    fn late_irq_at_drop(&self) -> Result {
        if !hooks::ENABLED {
            return Err(ENOTSUPP);
        }
        hooks::arm(Point::DropAfterClose, None);
        let engine = self.engine.clone();
        kernel::workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            if hooks::wait_parked(Point::DropAfterClose, 30_000) {
                // A device already gone raises nothing, which is fine: the test
                // is about a late interrupt, not about one that never comes.
                let _ = engine.raise_one();
                fsleep(Delta::from_secs(1));
            }
            hooks::release(Point::DropAfterClose);
        })?;
        Ok(())
    }

    /// `disable_at_drop`: see the module documentation.
    fn disable_at_drop(&self) -> Result {
        if !hooks::ENABLED {
            return Err(ENOTSUPP);
        }
        let ctl = self.ctl.clone();
        kernel::workqueue::system_long().try_spawn(GFP_KERNEL, move || {
            hooks::arm_me(Point::DisableBeforeSync);
            let disabled = ctl.disable();
            pr_info!("edu: disable_at_drop: disable returned {:?}\n", disabled);
        })?;
        if !hooks::wait_parked(Point::DisableBeforeSync, STEP_MS) {
            hooks::release(Point::DisableBeforeSync);
            return Err(ETIMEDOUT);
        }
        kernel::workqueue::system_long().try_spawn(GFP_KERNEL, || {
            fsleep(Delta::from_millis(500));
            hooks::release(Point::DisableBeforeSync);
        })?;
        Ok(())
    }

    fn storm(&self, storm: Storm) -> Result {
        let on = storm != Storm::Off;
        self.engine.skip_ack.store(on, Release);
        self.engine.deaf.store(storm == Storm::Deaf, Release);
        if on {
            return self.raise();
        }
        self.engine
            .bar
            .try_access_with(|bar| bar.write_reg(regs::IRQ_ACK::zeroed().with_bits(IRQ_TEST)))
            .ok_or(ENODEV)
    }
}

/// Waits up to `STEP_MS` for `cond`.
pub(crate) fn wait_for(cond: impl Fn() -> bool) -> Result {
    read_poll_timeout(
        || Ok(cond()),
        |&done| done,
        Delta::from_millis(1),
        Delta::from_millis(STEP_MS.into()),
    )
    .map(|_| ())
}

pub(crate) fn write(knob: &TestKnob, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 32];
    let work_loop = &knob.engine.work_loop;
    match read_word(reader, &mut buf)? {
        "stop_loop" => work_loop.stop(),
        "disable_all" => work_loop.disable_all_event_sources(),
        "enable_all" => work_loop.enable_all_event_sources(),
        "signal_and_schedule" => {
            knob.engine.signal_and_schedule.store(true, Release);
            Ok(())
        }
        "raise_nowait" => knob.raise_nowait(),
        "disable_masked" => knob.masked_then(|knob| knob.ctl.disable()),
        "detach_masked" => knob.masked_then(|knob| work_loop.remove_event_source(&knob.src)),
        "stop_masked" => knob.stop_masked(),
        "attach" => work_loop.add_event_source(&knob.src),
        "hold_top_half" => knob.hold_top_half(),
        "release_top_half" => {
            hooks::release(Point::TopHalfSchedule);
            Ok(())
        }
        "late_irq_at_drop" => knob.late_irq_at_drop(),
        "disable_at_drop" => knob.disable_at_drop(),
        "storm_on" => knob.storm(Storm::On),
        "storm_deaf" => knob.storm(Storm::Deaf),
        "storm_off" => knob.storm(Storm::Off),
        word => test_knobs_api::write(knob, word),
    }
}
