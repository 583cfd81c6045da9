// SPDX-License-Identifier: GPL-2.0

//! The `test` knob's power-management words (`scripts/guest/tests/api_pm.sh`):
//!
//! - `raise_during <ms>`: a work item (workqueue workers are not frozen)
//!   raises one interrupt a millisecond for `ms` milliseconds, each counted by
//!   the top half before the next, while the test freezes or suspends the
//!   system; `info` shows `raised_during`, `raising` and the longest gap
//!   between two actions meanwhile (`max_action_gap_ms`).

use super::*;
use kernel::time::delay::fsleep;

/// Dispatches a power-management word of the `test` knob.
pub(crate) fn write(knob: &TestKnob, word: &str) -> Result {
    match word.strip_prefix("raise_during ") {
        Some(ms) => knob.raise_during(parse_u32(ms.as_bytes())?),
        None => Err(EINVAL),
    }
}

/// At the start of every action: the longest gap between two actions while
/// `raise_during` runs.
pub(crate) fn note_action(engine: &EduEngine) {
    let counters = &engine.counters;
    let now = engine.epoch.elapsed().as_nanos();
    let last = counters.last_action_ns.xchg(now, Relaxed);
    if counters.raising.load(Relaxed) != 0 && last != 0 {
        // CAST: `max(0)` makes it non-negative.
        let gap_ms = ((now - last).max(0) / 1_000_000) as u64;
        if gap_ms > counters.max_action_gap_ms.load(Relaxed) {
            counters.max_action_gap_ms.store(gap_ms, Relaxed);
        }
    }
}

/// Raises one interrupt a millisecond for `ms`, from a work item.
fn raise_for(knob: &TestKnob, ms: u32) {
    let counters = &knob.engine.counters;
    let start = Instant::<Monotonic>::now();
    while start.elapsed() < Delta::from_millis(ms.into()) && !knob.engine.closed.load(Relaxed) {
        if knob.raise_nowait().is_err() {
            counters.raise_timeouts.add(1, Relaxed);
            break;
        }
        counters.raised_during.add(1, Relaxed);
        fsleep(Delta::from_millis(1));
    }
    counters.raising.store(0, Release);
}

impl TestKnob {
    /// `raise_during <ms>`: see the module documentation.
    fn raise_during(&self, ms: u32) -> Result {
        let counters = &self.engine.counters;
        if ms == 0 || ms > 60_000 || counters.raising.xchg(1, Relaxed) != 0 {
            return Err(EINVAL);
        }
        counters.raised_during.store(0, Relaxed);
        counters.max_action_gap_ms.store(0, Relaxed);
        counters.last_action_ns.store(0, Relaxed);
        let knob = TestKnob {
            engine: self.engine.clone(),
            src: self.src.clone(),
            ctl: self.ctl.clone(),
        };
        kernel::workqueue::system_long()
            .try_spawn(GFP_KERNEL, move || raise_for(&knob, ms))
            .inspect_err(|_| counters.raising.store(0, Relaxed))?;
        Ok(())
    }
}
