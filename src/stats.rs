// SPDX-License-Identifier: GPL-2.0

//! Statistics of loops and sources, and the latency histogram.
//!
//! Counters are atomics so that the top half (hard IRQ), the loop thread and a
//! reader in debugfs can touch them without a lock. Writers on the loop thread
//! are serialized by the gate, so plain relaxed adds are exact; readers see a
//! consistent enough picture for monitoring (each counter is exact, the set of
//! counters is not a single snapshot).

use core::fmt;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Adds `v` to a counter that has one writer at a time (the gate holder, the loop
/// thread, or the serialized top half of one line): a plain load and store, no
/// locked instruction on the hot path. Readers see each value whole.
#[inline]
pub(crate) fn add_single_writer(counter: &Atomic<u64>, v: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(v), Relaxed);
}

/// Number of buckets of the log2 latency histogram: bucket `i` counts latencies
/// in `[2^(i-1), 2^i)` nanoseconds (bucket 0: zero), the last one everything above.
pub const HIST_BUCKETS: usize = 32;

/// Latency from a source's top half (or signal) to the start of its action.
pub struct Latency {
    samples: Atomic<u64>,
    sum_ns: Atomic<u64>,
    min_ns: Atomic<u64>,
    max_ns: Atomic<u64>,
    hist: [Atomic<u64>; HIST_BUCKETS],
}

impl Latency {
    /// An empty record.
    pub const fn new() -> Self {
        Self {
            samples: Atomic::new(0),
            sum_ns: Atomic::new(0),
            min_ns: Atomic::new(u64::MAX),
            max_ns: Atomic::new(0),
            hist: [const { Atomic::new(0) }; HIST_BUCKETS],
        }
    }

    /// Adds one sample. Called by the loop thread only (single writer).
    pub fn record(&self, ns: u64) {
        add_single_writer(&self.samples, 1);
        add_single_writer(&self.sum_ns, ns);
        if ns < self.min_ns.load(Relaxed) {
            self.min_ns.store(ns, Relaxed);
        }
        if ns > self.max_ns.load(Relaxed) {
            self.max_ns.store(ns, Relaxed);
        }
        // CAST: `64 - leading_zeros` is at most 64, which fits `usize`.
        let bucket = (64 - ns.leading_zeros()) as usize;
        add_single_writer(&self.hist[bucket.min(HIST_BUCKETS - 1)], 1);
    }

    /// Number of samples.
    pub fn samples(&self) -> u64 {
        self.samples.load(Relaxed)
    }

    /// Smallest sample in nanoseconds (0 without samples).
    pub fn min_ns(&self) -> u64 {
        if self.samples() == 0 {
            0
        } else {
            self.min_ns.load(Relaxed)
        }
    }

    /// Largest sample in nanoseconds.
    pub fn max_ns(&self) -> u64 {
        self.max_ns.load(Relaxed)
    }

    /// Mean in nanoseconds (0 without samples).
    pub fn mean_ns(&self) -> u64 {
        self.sum_ns
            .load(Relaxed)
            .checked_div(self.samples())
            .unwrap_or(0)
    }

    /// Count of bucket `i` (see [`HIST_BUCKETS`]); 0 for an index out of range.
    pub fn bucket(&self, i: usize) -> u64 {
        self.hist.get(i).map_or(0, |b| b.load(Relaxed))
    }

    /// Writes the histogram as text, one non-empty bucket per line.
    pub fn write_histogram(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# latency top half -> action, ns: [from, to) count")?;
        for i in 0..HIST_BUCKETS {
            let n = self.bucket(i);
            if n == 0 {
                continue;
            }
            let lo: u64 = if i == 0 { 0 } else { 1 << (i - 1) };
            if i == HIST_BUCKETS - 1 {
                writeln!(f, "[{lo}, inf) {n}")?;
            } else {
                writeln!(f, "[{lo}, {}) {n}", 1u64 << i)?;
            }
        }
        Ok(())
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

/// Statistics of one event source.
pub struct SourceStats {
    /// Events produced: interrupts seen by the top half (excluding not-mine
    /// answers), signals, timer expirations.
    pub events: Atomic<u64>,
    /// Times the action ran.
    pub actions: Atomic<u64>,
    /// Sum of the counts handed to the action.
    pub delivered: Atomic<u64>,
    /// Top-half calls answered "not mine" by a filter.
    pub not_mine: Atomic<u64>,
    /// Top-half calls handled in the top half without scheduling the action.
    pub handled_in_filter: Atomic<u64>,
    /// Level-triggered lines masked by the top half and unmasked by the loop.
    pub auto_disable_cycles: Atomic<u64>,
    /// Times the top half found the line storming (more calls in one tick than
    /// the source's threshold) and masked it for a while.
    pub storm_throttles: Atomic<u64>,
    /// Time spent in the action, in nanoseconds.
    pub action_ns: Atomic<u64>,
    /// Latency from the oldest undelivered event to the start of its action.
    pub latency: Latency,
}

impl SourceStats {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            events: Atomic::new(0),
            actions: Atomic::new(0),
            delivered: Atomic::new(0),
            not_mine: Atomic::new(0),
            handled_in_filter: Atomic::new(0),
            auto_disable_cycles: Atomic::new(0),
            storm_throttles: Atomic::new(0),
            action_ns: Atomic::new(0),
            latency: Latency::new(),
        }
    }

    /// Events that were delivered together with others in one action call.
    pub fn coalesced(&self) -> u64 {
        self.delivered
            .load(Relaxed)
            .saturating_sub(self.actions.load(Relaxed))
    }
}

impl Default for SourceStats {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SourceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "events: {}", self.events.load(Relaxed))?;
        writeln!(f, "actions: {}", self.actions.load(Relaxed))?;
        writeln!(f, "delivered: {}", self.delivered.load(Relaxed))?;
        writeln!(f, "coalesced: {}", self.coalesced())?;
        writeln!(f, "not_mine: {}", self.not_mine.load(Relaxed))?;
        writeln!(
            f,
            "handled_in_filter: {}",
            self.handled_in_filter.load(Relaxed)
        )?;
        writeln!(
            f,
            "auto_disable_cycles: {}",
            self.auto_disable_cycles.load(Relaxed)
        )?;
        writeln!(f, "storm_throttles: {}", self.storm_throttles.load(Relaxed))?;
        writeln!(f, "action_ns: {}", self.action_ns.load(Relaxed))?;
        writeln!(f, "latency_samples: {}", self.latency.samples())?;
        writeln!(f, "latency_min_ns: {}", self.latency.min_ns())?;
        writeln!(f, "latency_mean_ns: {}", self.latency.mean_ns())?;
        writeln!(f, "latency_max_ns: {}", self.latency.max_ns())
    }
}

/// Statistics of one work loop.
pub struct LoopStats {
    /// Times the thread woke up from sleep.
    pub wakeups: Atomic<u64>,
    /// Passes over the source list.
    pub passes: Atomic<u64>,
    /// Actions run (all sources).
    pub actions: Atomic<u64>,
    /// Time spent in actions, in nanoseconds.
    pub action_ns: Atomic<u64>,
    /// Longest single action, in nanoseconds.
    pub max_action_ns: Atomic<u64>,
}

impl LoopStats {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            wakeups: Atomic::new(0),
            passes: Atomic::new(0),
            actions: Atomic::new(0),
            action_ns: Atomic::new(0),
            max_action_ns: Atomic::new(0),
        }
    }

    /// Accounts one action of `ns` nanoseconds. Loop thread or gate holder only.
    pub(crate) fn account_action(&self, ns: u64) {
        add_single_writer(&self.actions, 1);
        add_single_writer(&self.action_ns, ns);
        if ns > self.max_action_ns.load(Relaxed) {
            self.max_action_ns.store(ns, Relaxed);
        }
    }
}

impl Default for LoopStats {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LoopStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "wakeups: {}", self.wakeups.load(Relaxed))?;
        writeln!(f, "passes: {}", self.passes.load(Relaxed))?;
        writeln!(f, "actions: {}", self.actions.load(Relaxed))?;
        writeln!(f, "action_ns: {}", self.action_ns.load(Relaxed))?;
        writeln!(f, "max_action_ns: {}", self.max_action_ns.load(Relaxed))
    }
}
