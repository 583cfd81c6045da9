// SPDX-License-Identifier: GPL-2.0

//! The host version of `src/stats.rs`: the same public items, with counters
//! that are plain `std` atomics loom does not see. Every loom atomic is a
//! branch point, and statistics decide nothing the models check; the real
//! file also builds its arrays with `const` atomics, which loom cannot make.

use core::fmt;
use kernel::sync::atomic::Relaxed;
use std::sync::atomic::{AtomicU64, Ordering};

/// A statistics counter (`Atomic<u64>` in the kernel build).
#[derive(Default)]
pub struct Stat(AtomicU64);

impl Stat {
    /// A counter at `v`.
    pub const fn new(v: u64) -> Self {
        Self(AtomicU64::new(v))
    }

    /// As `Atomic::load`.
    pub fn load(&self, _: Relaxed) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// As `Atomic::store`.
    pub fn store(&self, v: u64, _: Relaxed) {
        self.0.store(v, Ordering::Relaxed)
    }

    /// As `Atomic::add`.
    pub fn add(&self, v: u64, _: Relaxed) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
}

/// As in `src/stats.rs`: adds `v` to a single-writer counter.
#[inline]
pub(crate) fn add_single_writer(counter: &Stat, v: u64) {
    counter.add(v, Relaxed);
}

/// As in `src/stats.rs`.
pub const HIST_BUCKETS: usize = 32;

/// As in `src/stats.rs` (samples and sum only).
#[derive(Default)]
pub struct Latency {
    samples: Stat,
    sum_ns: Stat,
}

impl Latency {
    /// An empty record.
    pub const fn new() -> Self {
        Self {
            samples: Stat::new(0),
            sum_ns: Stat::new(0),
        }
    }

    /// Adds one sample.
    pub fn record(&self, ns: u64) {
        self.samples.add(1, Relaxed);
        self.sum_ns.add(ns, Relaxed);
    }

    /// Number of samples.
    pub fn samples(&self) -> u64 {
        self.samples.load(Relaxed)
    }

    /// Writes the histogram as text (none on the host).
    pub fn write_histogram(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "samples: {}", self.samples())
    }
}

/// As in `src/stats.rs`: statistics of one event source.
#[derive(Default)]
pub struct SourceStats {
    /// Events produced.
    pub events: Stat,
    /// Times the action ran.
    pub actions: Stat,
    /// Sum of the counts handed to the action.
    pub delivered: Stat,
    /// Top-half calls answered "not mine".
    pub not_mine: Stat,
    /// Top-half calls handled in the top half.
    pub handled_in_filter: Stat,
    /// Level-triggered lines masked by the top half and unmasked by the loop.
    pub auto_disable_cycles: Stat,
    /// Storm throttles.
    pub storm_throttles: Stat,
    /// Time spent in the action, in nanoseconds.
    pub action_ns: Stat,
    /// Latency from the oldest undelivered event to the start of its action.
    pub latency: Latency,
}

impl SourceStats {
    /// All zero.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Display for SourceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "events: {}", self.events.load(Relaxed))?;
        writeln!(f, "actions: {}", self.actions.load(Relaxed))?;
        writeln!(f, "delivered: {}", self.delivered.load(Relaxed))
    }
}

/// As in `src/stats.rs`: statistics of one work loop.
#[derive(Default)]
pub struct LoopStats {
    /// Times the thread woke up from sleep.
    pub wakeups: Stat,
    /// Passes over the source list.
    pub passes: Stat,
    /// Actions run (all sources).
    pub actions: Stat,
    /// Time spent in actions, in nanoseconds.
    pub action_ns: Stat,
    /// Longest single action, in nanoseconds.
    pub max_action_ns: Stat,
}

impl LoopStats {
    /// All zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts one action of `ns` nanoseconds.
    pub(crate) fn account_action(&self, ns: u64) {
        self.actions.add(1, Relaxed);
        self.action_ns.add(ns, Relaxed);
    }
}

impl fmt::Display for LoopStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "passes: {}", self.passes.load(Relaxed))?;
        writeln!(f, "actions: {}", self.actions.load(Relaxed))
    }
}
