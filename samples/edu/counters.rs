// SPDX-License-Identifier: GPL-2.0

//! The driver's counters, shown in debugfs `info` and read by the guest tests.

use super::*;

/// Counters shown in debugfs `info` and used by the tests.
pub(crate) struct Counters {
    pub(crate) test_irqs: Atomic<u64>,
    pub(crate) fact_irqs: Atomic<u64>,
    pub(crate) fact_done: Atomic<u64>,
    pub(crate) fact_recovered: Atomic<u64>,
    pub(crate) raised: Atomic<u64>,
    pub(crate) raise_timeouts: Atomic<u64>,
    /// Actions of a plain source that found nothing to do: the top half was
    /// spurious (a level line re-delivered after the device dropped it).
    pub(crate) empty_actions: Atomic<u64>,
    /// Filter signals that made the source pending (the others found it pending).
    pub(crate) made_pending: Atomic<u64>,
    /// Actions of the interrupt source.
    pub(crate) actions: Atomic<u64>,
    /// Calls of the enable and disable hooks, and those that found the line in
    /// the wrong state for WDF's order (or the interrupt lock not held).
    pub(crate) enable_hooks: Atomic<u64>,
    pub(crate) disable_hooks: Atomic<u64>,
    pub(crate) hook_order_errors: Atomic<u64>,
    /// Cancel handlers run, and the actions counted when the last one ran.
    pub(crate) cancels: Atomic<u64>,
    /// Cancel handlers that ran before the action that cancelled returned.
    pub(crate) cancels_early: Atomic<u64>,
    pub(crate) actions_at_cancel: Atomic<u64>,
    /// Completions of `set_enable_with_completion` run.
    pub(crate) completions: Atomic<u64>,
    /// The `raise_during` knob: interrupts it raised (each counted by the top
    /// half), 1 while it runs, and the longest time between two actions then.
    pub(crate) raised_during: Atomic<u64>,
    pub(crate) raising: Atomic<u64>,
    pub(crate) max_action_gap_ms: Atomic<u64>,
    pub(crate) last_action_ns: Atomic<i64>,
    /// The newest pair `interrupt_occurred` was handed.
    pub(crate) occurred_count: Atomic<u64>,
    pub(crate) occurred_time_ns: Atomic<i64>,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Self {
            test_irqs: Atomic::new(0),
            fact_irqs: Atomic::new(0),
            fact_done: Atomic::new(0),
            fact_recovered: Atomic::new(0),
            raised: Atomic::new(0),
            raise_timeouts: Atomic::new(0),
            empty_actions: Atomic::new(0),
            made_pending: Atomic::new(0),
            actions: Atomic::new(0),
            enable_hooks: Atomic::new(0),
            disable_hooks: Atomic::new(0),
            hook_order_errors: Atomic::new(0),
            cancels: Atomic::new(0),
            cancels_early: Atomic::new(0),
            actions_at_cancel: Atomic::new(0),
            completions: Atomic::new(0),
            raised_during: Atomic::new(0),
            raising: Atomic::new(0),
            max_action_gap_ms: Atomic::new(0),
            last_action_ns: Atomic::new(0),
            occurred_count: Atomic::new(0),
            occurred_time_ns: Atomic::new(0),
        }
    }
}
