// SPDX-License-Identifier: GPL-2.0

//! The interrupt lock: WDF's `WdfInterruptAcquireLock` /
//! `WdfInterruptTryToAcquireLock` / `WdfInterruptReleaseLock` and KMDF's
//! `WdfInterruptSynchronize`, and DriverKit's `GetLastInterrupt`.
//!
//! A source created with [`SourceOptions::interrupt_lock`] has a lock that its
//! top half holds around the filter and the interrupt's count: code holding it
//! never runs concurrently with the source's top half, on any CPU. It is an
//! IRQ-safe raw spinlock (taken with interrupts off), so it works on
//! PREEMPT_RT and with `threadirqs`, where the handler is a thread with
//! interrupts on. It is not the gate: the gate serializes actions, this lock
//! excludes the top half.
//!
//! Rules (checked where they can be):
//! - no sleeping and no `spinlock_t` under it (it is a raw spinlock held with
//!   interrupts off; the debug kernel's lockdep reports a violation);
//! - never `synchronize_irq`, `disable_irq`, `free_irq` or the source's own
//!   `disable`/`enable`/drop under it: they wait for a top half that spins on
//!   this lock;
//! - not from the filter, which already holds it, nor with interrupts off:
//!   the calls answer `EDEADLK` there;
//! - hold it for microseconds.
//!
//! [`SourceOptions::interrupt_lock`]: super::SourceOptions::interrupt_lock

use super::sys::{RawIrqGuard, RawIrqLock};
use kernel::prelude::*;

/// Proof that the caller holds a source's interrupt lock: no top half of the
/// source runs until it is dropped. Interrupts are off on this CPU meanwhile.
pub struct InterruptLocked<'a> {
    _guard: RawIrqGuard<'a>,
}

/// DriverKit's `GetLastInterrupt` pair, read together under the interrupt lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastInterrupt {
    /// Interrupts counted and not yet delivered to the action.
    pub pending: u64,
    /// `ktime_get()` nanoseconds of the newest counted interrupt (0: none, or
    /// timestamps off).
    pub time_ns: i64,
    /// Interrupts counted since the source was created; `time_ns` is the time of
    /// the `total`-th.
    pub total: u64,
}

/// Takes `lock` for a caller outside the top half.
///
/// # Errors
///
/// `ENOTSUPP` if the source has no interrupt lock (`lock` is `None`),
/// `EDEADLK` with interrupts off (inside the filter, which holds it already, or
/// under another IRQ-safe lock).
pub(crate) fn acquire(lock: Option<&RawIrqLock>) -> Result<InterruptLocked<'_>> {
    let lock = lock.ok_or(ENOTSUPP)?;
    if super::sys::irqs_disabled() {
        return Err(super::sys::edeadlk());
    }
    Ok(InterruptLocked {
        _guard: lock.lock(),
    })
}

/// Like [`acquire`], but `EBUSY` instead of spinning while it is held.
pub(crate) fn try_acquire(lock: Option<&RawIrqLock>) -> Result<InterruptLocked<'_>> {
    let lock = lock.ok_or(ENOTSUPP)?;
    if super::sys::irqs_disabled() {
        return Err(super::sys::edeadlk());
    }
    lock.try_lock()
        .map(|guard| InterruptLocked { _guard: guard })
        .ok_or(EBUSY)
}
