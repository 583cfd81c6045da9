// SPDX-License-Identifier: GPL-2.0

//! What the models and the host `sys.rs`/`stats.rs` expect that f436a3a's
//! files did not have, in the names of today's tree. Each item only renames or
//! forwards to f436a3a's own code or to the host seam; none decides anything
//! the protocol decides.

/// The host `sys.rs` (today's seam), plus f436a3a's free functions, which
/// today are methods of `KThreadSelf`.
pub(crate) mod sys {
    pub use super::super::host_sys::Priority;
    pub(crate) use super::super::host_sys::*;

    /// f436a3a's `sys::sleep_unless(me, has_work)`: today's
    /// `KThreadSelf::sleep_unless` (the same steps: state, full barrier, the
    /// check, `schedule()`). `me` was the caller's task; the host task is
    /// the caller's own.
    pub(crate) fn sleep_unless(_me: usize, has_work: impl Fn() -> bool) {
        // SAFETY: Only the loop thread's function calls it (f436a3a's
        // `thread_main`), on a thread made by `KThread::run`.
        unsafe { KThreadSelf::assume() }.sleep_unless(has_work)
    }

    /// f436a3a's `sys::kthread_should_stop()`: today's
    /// `KThreadSelf::should_stop`.
    pub(crate) fn kthread_should_stop() -> bool {
        // SAFETY: As for `sleep_unless`.
        unsafe { KThreadSelf::assume() }.should_stop()
    }
}

/// The host `stats.rs`, plus f436a3a's `bump` (statistics decide nothing).
pub mod stats {
    pub use super::super::host_stats::*;

    /// f436a3a's `stats::bump`: adds `v` to a counter only its writer
    /// changes.
    pub(crate) fn bump(counter: &Stat, v: u64) {
        counter.add(v, kernel::sync::atomic::Relaxed);
    }
}

/// The test points the host `sys.rs` names: none at f436a3a.
pub(crate) mod hooks {
    /// A test point.
    pub(crate) enum Point {
        /// The loop thread checked for work before it sleeps.
        LoopSleepChecked,
    }

    /// A test point: nothing.
    pub(crate) fn point_spin(_p: Point) {}
}

/// Today's `Wake` (f436a3a's `one_thread: bool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Every thread sleeping on the event (`one_thread == false`).
    All,
    /// Only the thread that slept first (`one_thread == true`).
    First,
}

/// Today's `gate` module: the gate was part of f436a3a's `LoopInner`;
/// `GateLock` is f436a3a's `LoopInner` used as a gate alone (see
/// `compat_gate.rs`).
pub mod gate {
    pub use super::super::work_loop::compat_gate::GateLock;
    pub use super::Wake;

    /// How a caller enters the gate when another task holds it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Entry {
        /// Wait for it.
        Wait,
        /// Fail with `EBUSY`.
        Try,
    }
}
