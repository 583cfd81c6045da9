// SPDX-License-Identifier: GPL-2.0

//! Counting events: how a source that can be signalled many times before its
//! action runs hands the action exactly the number of events since it last ran.
//!
//! IOKit's interrupt sources keep a producer count (`producerCount`, bumped by the
//! top half) and a consumer count (`consumerCount`, moved up by the work loop);
//! the action gets the difference. [`Counter`] is that pair, wrap-safe;
//! [`Timestamps`] records when the oldest undelivered event arrived (latency) and
//! the newest (IOKit's primary interrupt timestamp); `deliver_counted` is the
//! bottom half the counted sources ([`InterruptEventSource`],
//! [`SoftwareEventSource`]) share.
//!
//! [`InterruptEventSource`]: super::InterruptEventSource
//! [`SoftwareEventSource`]: super::SoftwareEventSource

use super::{event_source::SourceBase, stats::add_single_writer, work_loop::Gate};
use kernel::sync::atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release};

/// A wrap-safe 64-bit count of events produced in any context and consumed on
/// the loop.
///
/// The producer side is a single atomic increment (hard-IRQ safe). The consumer
/// side is only touched by the loop thread holding the gate: it snapshots the
/// producer count and delivers `snapshot - consumed` (wrapping), so events that
/// arrive while an action runs are delivered on the next pass and none is lost.
pub struct Counter {
    produced: Atomic<u64>,
    consumed: Atomic<u64>,
}

impl Counter {
    /// A counter whose producer and consumer both start at `start` (tests start it
    /// near `u64::MAX` to exercise wrap-around).
    pub fn new(start: u64) -> Self {
        Self {
            produced: Atomic::new(start),
            consumed: Atomic::new(start),
        }
    }

    /// Counts one event. Any context. Returns whether this event made the counter
    /// pending: no event was undelivered before it (an action delivering earlier
    /// events may be running; they were taken before this one).
    #[inline]
    pub fn produce(&self) -> bool {
        let before = self.produced.fetch_add(1, Release);
        before == self.consumed.load(Relaxed)
    }

    /// Events produced and not yet consumed.
    #[inline]
    pub fn pending(&self) -> u64 {
        self.produced
            .load(Acquire)
            .wrapping_sub(self.consumed.load(Relaxed))
    }

    /// Takes a snapshot of the producer count: returns the number of events since the
    /// last [`Counter::consume`] and the snapshot to pass to it. Loop thread only.
    #[inline]
    pub fn snapshot(&self) -> (u64, u64) {
        let cache = self.produced.load(Acquire);
        (cache.wrapping_sub(self.consumed.load(Relaxed)), cache)
    }

    /// Marks every event up to `snapshot` as delivered. Loop thread only.
    #[inline]
    pub fn consume(&self, snapshot: u64) {
        self.consumed.store(snapshot, Relaxed);
    }
}

/// Timestamps recorded by producers: the oldest undelivered event (for latency)
/// and the newest one (IOKit's "primary interrupt timestamp").
pub struct Timestamps {
    first_ns: Atomic<i64>,
    last_ns: Atomic<i64>,
    enabled: AtomicFlag,
}

impl Timestamps {
    /// Recording on or off.
    pub fn new(enabled: bool) -> Self {
        Self {
            first_ns: Atomic::new(0),
            last_ns: Atomic::new(0),
            enabled: AtomicFlag::new(enabled),
        }
    }

    /// Records an event now. Any context.
    #[inline]
    pub fn record(&self) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let now = super::sys::now_ns();
        // Keep the oldest undelivered timestamp; a failed exchange means one is set.
        let _ = self.first_ns.cmpxchg(0, now, Relaxed);
        self.last_ns.store(now, Relaxed);
    }

    /// Takes the oldest undelivered timestamp (0 if none). Loop thread only.
    #[inline]
    pub(crate) fn take_first(&self) -> i64 {
        // A plain load first: with timestamps off (or already taken) no locked
        // instruction on the bottom half's path.
        if self.first_ns.load(Relaxed) == 0 {
            return 0;
        }
        self.first_ns.xchg(0, Relaxed)
    }

    /// Time of the newest event in nanoseconds of `ktime_get()`, 0 if none.
    pub fn last(&self) -> i64 {
        self.last_ns.load(Relaxed)
    }

    /// Turns recording on or off.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Relaxed);
    }
}

/// The top half shared by counted sources: counts one event of the source with
/// `counter` and `timestamps`, without waking its loop. Any context, hard IRQ
/// included. Returns whether the event made the source pending (see
/// [`Counter::produce`]).
#[inline]
pub(crate) fn count_event(base: &SourceBase, counter: &Counter, timestamps: &Timestamps) -> bool {
    timestamps.record();
    // A test parks here to show a reader cannot see the time without its count.
    super::hooks::point_spin(super::hooks::Point::CountTimeRecorded);
    let made_pending = counter.produce();
    base.stats.events.add(1, Relaxed);
    made_pending
}

/// The bottom half shared by counted sources: if events are pending and the source
/// is enabled, runs `action(count, time_ns)` once with the number of events since
/// its last run (never zero) and the time of the newest of them (`Timestamps`;
/// 0 when off), and accounts statistics. Both are read while `hold()`'s result
/// lives: the source's interrupt lock, which its producers hold, takes them
/// together; without, the time may be that of a newer event. Loop thread,
/// gate held.
pub(crate) fn deliver_counted<H>(
    gate: &Gate<'_>,
    base: &SourceBase,
    counter: &Counter,
    timestamps: &Timestamps,
    hold: impl FnOnce() -> H,
    action: impl FnOnce(u64, i64),
) {
    if !base.is_enabled() {
        return;
    }
    let ((count, snapshot), time_ns) = {
        let _held = hold();
        (counter.snapshot(), timestamps.last())
    };
    if count == 0 {
        return;
    }
    run_accounted(gate, base, timestamps.take_first(), count, || {
        action(count, time_ns)
    });
    counter.consume(snapshot);
}

/// Calls `action` for `count` events in `u32` pieces, in order, each non-zero:
/// an action taking a `u32` count is handed every event exactly once, even
/// past 4,294,967,295 undelivered.
pub fn in_u32_pieces(count: u64, mut action: impl FnMut(u32)) {
    let mut left = count;
    while left != 0 {
        let piece = u32::try_from(left).unwrap_or(u32::MAX);
        action(piece);
        left -= u64::from(piece);
    }
}

/// Runs a source's action for `count` events and accounts it in the source's and
/// the loop's statistics: the latency since `since_ns` (`now_ns()` time the first
/// event was due; 0: unknown), the action's time and the counts. The one place
/// every source's action is accounted. Loop thread, gate held.
pub(crate) fn run_accounted(
    gate: &Gate<'_>,
    base: &SourceBase,
    since_ns: i64,
    count: u64,
    action: impl FnOnce(),
) {
    let start = super::sys::now_ns();
    let stats = base.stats();
    if since_ns != 0 {
        // CAST: `max(0)` makes the value non-negative (a deadline may lie ahead
        // of a clock read on another CPU).
        stats.latency.record((start - since_ns).max(0) as u64);
    }
    action();
    // CAST: Elapsed monotonic time is non-negative.
    let ns = (super::sys::now_ns() - start).max(0) as u64;
    add_single_writer(&stats.actions, 1);
    add_single_writer(&stats.delivered, count);
    add_single_writer(&stats.action_ns, ns);
    gate.account_action(ns);
}
