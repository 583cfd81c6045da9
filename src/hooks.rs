// SPDX-License-Identifier: GPL-2.0

//! Test hook points: named steps of the library at which a test can park a task,
//! or make a step fail, so that a race window is forced deterministically instead
//! of hit by timing luck.
//!
//! Compiled in only when the including module is built with
//! `--cfg workloop_hooks` (the KUnit module is); everywhere else [`point`] and
//! [`fail`] are empty inline functions and cost nothing.
//!
//! A test arms a point for one task (or for the first task that reaches it),
//! waits until that task is parked there ([`wait_parked`]), does what the window
//! needs, then [`release`]s it. A parked task that nobody releases goes on by
//! itself after ten seconds, so a broken test cannot hang the suite forever. A
//! point is one-shot: it disarms itself when a task parks on it.

/// The places a test can stop a task at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
#[allow(dead_code)]
pub(crate) enum Point {
    /// `WorkLoop::stop`: the sources are disabled, the gate not closed yet.
    StopAfterDisable,
    /// `WorkLoop::stop`: sleepers were aborted and new ones are refused.
    StopAfterAbort,
    /// `WorkLoop::stop`: the thread is gone, the sources not detached yet.
    StopBeforeDetach,
    /// A gate sleeper holds the gate and is about to register.
    SleepBeforeRegister,
    /// A gate sleeper's outcome is decided, its entry is still listed.
    SleepAfterOutcome,
    /// A gate entrant saw the gate open and has not taken it yet.
    EnterAfterClosedCheck,
    /// A gate entrant owns the gate and has not checked for a stop yet.
    EnterAfterAcquire,
    /// `CommandGate::close`: marked closed and its sleepers aborted.
    CloseAfterAbort,
    /// `InterruptControl::disable`: the count is raised, the top half not synced.
    DisableBeforeSync,
    /// The loop thread finished a pass with no more work and is about to sleep
    /// (spin-parked: its task state is kept).
    LoopBeforeSleep,
    /// The loop thread set its task state to sleeping and found no work, and has
    /// not called `schedule()` yet (spin-parked: its task state is kept).
    LoopSleepChecked,
    /// The top half of an interrupt that needs the action has done the first of
    /// its two steps (counting the interrupt, masking a level line) and not the
    /// second (spin-parked: hard-IRQ context; at most a second).
    TopHalfSchedule,
    /// `InterruptEventSource`'s drop: the source is closed (its top half only runs
    /// the filter), the line still requested.
    DropAfterClose,
    /// A counted event's time is recorded, its count not yet.
    CountTimeRecorded,
    /// Fail point: `WorkLoop::new` after its thread exists.
    FailLoopNewAfterThread,
}

/// Counts the work loops alive (their shared state not freed yet), for tests that
/// check a loop is freed when it should be. A field of each loop; a zero-sized
/// no-op in normal builds.
pub(crate) struct LiveLoop(());

#[cfg(workloop_hooks)]
static LIVE_LOOPS: kernel::sync::atomic::Atomic<usize> = kernel::sync::atomic::Atomic::new(0);

impl LiveLoop {
    pub(crate) fn new() -> Self {
        #[cfg(workloop_hooks)]
        LIVE_LOOPS.fetch_add(1, kernel::sync::atomic::Relaxed);
        Self(())
    }
}

impl Drop for LiveLoop {
    fn drop(&mut self) {
        #[cfg(workloop_hooks)]
        LIVE_LOOPS.fetch_sub(1, kernel::sync::atomic::Relaxed);
    }
}

/// Loops alive now (0 in normal builds).
#[allow(dead_code)]
pub(crate) fn live_loops() -> usize {
    #[cfg(workloop_hooks)]
    return LIVE_LOOPS.load(kernel::sync::atomic::Relaxed);
    #[cfg(not(workloop_hooks))]
    0
}

/// Whether the hook points are compiled in (a test knob that needs one answers
/// `ENOTSUPP` without them).
#[allow(dead_code)]
pub(crate) const ENABLED: bool = cfg!(workloop_hooks);

#[cfg(workloop_hooks)]
const POINTS: usize = Point::FailLoopNewAfterThread as usize + 1;

#[cfg(workloop_hooks)]
#[allow(dead_code)]
mod imp {
    use super::{Point, POINTS};
    use kernel::{
        sync::atomic::{Acquire, Atomic, Full, Relaxed, Release},
        time::{delay::fsleep, Delta},
    };

    /// Armed for any task.
    const ANY: usize = 1;

    struct Slot {
        /// 0: disarmed; `ANY`; otherwise the id of the task to park.
        armed: Atomic<usize>,
        parked: Atomic<u32>,
        released: Atomic<u32>,
    }

    impl Slot {
        const fn new() -> Self {
            Self {
                armed: Atomic::new(0),
                parked: Atomic::new(0),
                released: Atomic::new(0),
            }
        }
    }

    static SLOTS: [Slot; POINTS] = [const { Slot::new() }; POINTS];

    fn slot(p: Point) -> &'static Slot {
        &SLOTS[p as usize]
    }

    /// Claims the point for the calling task if it is armed for it.
    fn claim(s: &Slot) -> bool {
        let armed = s.armed.load(Acquire);
        if armed == 0 {
            return false;
        }
        if armed != ANY && armed != super::super::sys::current_task_id() {
            return false;
        }
        s.armed.cmpxchg(armed, 0, Full).is_ok()
    }

    /// Parks the calling task here if the point is armed for it. Process context.
    pub(crate) fn point(p: Point) {
        let s = slot(p);
        if !claim(s) {
            return;
        }
        s.parked.store(1, Release);
        for _ in 0..10_000 {
            if s.released.load(Acquire) != 0 {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        s.parked.store(2, Release);
    }

    /// Like [`point`], but waits by spinning, so that the caller's task state (a
    /// thread about to sleep) is kept. Any context that may spin for a second.
    pub(crate) fn point_spin(p: Point) {
        let s = slot(p);
        if !claim(s) {
            return;
        }
        s.parked.store(1, Release);
        for _ in 0..1_000_000 {
            if s.released.load(Acquire) != 0 {
                break;
            }
            kernel::time::delay::udelay(Delta::from_micros(1));
        }
        s.parked.store(2, Release);
    }

    /// Whether the step should fail (the point was armed: fails once).
    pub(crate) fn fail(p: Point) -> bool {
        claim(slot(p))
    }

    /// Arms `p` for the task `task` (a `current_task_id`), or for the first task
    /// that reaches it.
    pub(crate) fn arm(p: Point, task: Option<usize>) {
        let s = slot(p);
        s.parked.store(0, Relaxed);
        s.released.store(0, Relaxed);
        s.armed.store(task.unwrap_or(ANY), Release);
    }

    /// Arms `p` for the calling task.
    pub(crate) fn arm_me(p: Point) {
        arm(p, Some(super::super::sys::current_task_id()));
    }

    /// Waits up to `ms` milliseconds until a task is parked at `p`.
    pub(crate) fn wait_parked(p: Point, ms: u32) -> bool {
        let s = slot(p);
        for _ in 0..ms {
            if s.parked.load(Acquire) == 1 {
                return true;
            }
            fsleep(Delta::from_millis(1));
        }
        s.parked.load(Acquire) == 1
    }

    /// Lets the task parked at `p` go on, and disarms `p`.
    pub(crate) fn release(p: Point) {
        let s = slot(p);
        s.armed.store(0, Relaxed);
        s.released.store(1, Release);
    }

    /// Disarms every point and releases every parked task.
    pub(crate) fn reset() {
        for s in SLOTS.iter() {
            s.armed.store(0, Relaxed);
            s.released.store(1, Release);
        }
    }
}

#[cfg(workloop_hooks)]
#[allow(unused_imports)]
pub(crate) use imp::*;

/// Parks the calling task here if a test armed `_p` (no-op in normal builds).
#[cfg(not(workloop_hooks))]
#[inline(always)]
pub(crate) fn point(_p: Point) {}

/// Spinning form of [`point`] (no-op in normal builds).
#[cfg(not(workloop_hooks))]
#[inline(always)]
pub(crate) fn point_spin(_p: Point) {}

/// Whether a test wants this step to fail (never in normal builds).
#[cfg(not(workloop_hooks))]
#[inline(always)]
pub(crate) fn fail(_p: Point) -> bool {
    false
}

/// Arms a point (no-op in normal builds: nothing ever parks).
#[cfg(not(workloop_hooks))]
#[allow(dead_code)]
pub(crate) fn arm(_p: Point, _task: Option<usize>) {}

/// Whether a task is parked at the point (never in normal builds).
#[cfg(not(workloop_hooks))]
#[allow(dead_code)]
pub(crate) fn wait_parked(_p: Point, _ms: u32) -> bool {
    false
}

/// Arms a point for the calling task (no-op in normal builds).
#[cfg(not(workloop_hooks))]
#[allow(dead_code)]
pub(crate) fn arm_me(_p: Point) {}

/// Releases a parked task (no-op in normal builds).
#[cfg(not(workloop_hooks))]
#[allow(dead_code)]
pub(crate) fn release(_p: Point) {}
