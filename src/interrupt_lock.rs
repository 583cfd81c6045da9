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
//! A passive source ([`SourceOptions::passive`]) has UMDF's passive flavour
//! instead: its filter runs in the line's interrupt thread, and the lock is a
//! mutex that thread holds around the filter and the count. A holder may
//! sleep; the rules below about interrupts and sleeping are the spin lock's.
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
//! [`SourceOptions::passive`]: super::SourceOptions::passive

use super::sys::{self, RawIrqGuard, RawIrqLock};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Mutex, MutexGuard,
    },
};

/// A passive source's interrupt lock: a mutex, and who holds it (so that the
/// filter, which holds it, is refused instead of deadlocking on it).
#[pin_data]
pub(crate) struct PassiveLock {
    #[pin]
    mutex: Mutex<()>,
    /// `current_task_id` of the holder, 0 when free.
    owner: Atomic<usize>,
}

impl PassiveLock {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            mutex <- new_mutex!(()),
            owner: Atomic::new(0),
        })
    }
}

/// A source's interrupt lock: the spin lock its hard top half holds, or, for
/// a passive source (UMDF's model: the filter runs in an interrupt thread,
/// see [`SourceOptions::passive`]), the mutex that thread holds.
///
/// [`SourceOptions::passive`]: super::SourceOptions::passive
#[derive(Clone, Copy)]
pub(crate) enum LockRef<'a> {
    Spin(&'a RawIrqLock),
    Passive(&'a PassiveLock),
}

/// A held passive lock; its holder is forgotten before the mutex is released.
struct PassiveGuard<'a> {
    owner: &'a Atomic<usize>,
    _guard: MutexGuard<'a, ()>,
}

impl Drop for PassiveGuard<'_> {
    fn drop(&mut self) {
        self.owner.store(0, Relaxed);
    }
}

/// A held [`LockRef`]. Its field is only ever dropped (the unlock).
#[allow(dead_code)]
enum Guard<'a> {
    Spin(RawIrqGuard<'a>),
    Passive(PassiveGuard<'a>),
}

impl<'a> LockRef<'a> {
    /// Takes the lock: spins with interrupts off, or sleeps on the mutex.
    /// The top halves' own way in (they are in the right context).
    pub(crate) fn lock(self) -> InterruptLocked<'a> {
        let guard = match self {
            LockRef::Spin(l) => Guard::Spin(l.lock()),
            LockRef::Passive(p) => Guard::Passive(p.owned(p.mutex.lock())),
        };
        InterruptLocked { _guard: guard }
    }

    /// Whether the calling context may take the lock: with interrupts on for
    /// the spin lock; preemptible, and not its holder, for the mutex.
    pub(crate) fn takeable_here(self) -> bool {
        match self {
            LockRef::Spin(_) => !sys::irqs_disabled(),
            LockRef::Passive(p) => {
                sys::preemptible() && p.owner.load(Relaxed) != sys::current_task_id()
            }
        }
    }
}

impl PassiveLock {
    /// Records the caller as the holder of `guard`.
    fn owned<'a>(&'a self, guard: MutexGuard<'a, ()>) -> PassiveGuard<'a> {
        self.owner.store(sys::current_task_id(), Relaxed);
        PassiveGuard {
            owner: &self.owner,
            _guard: guard,
        }
    }
}

/// Proof that the caller holds a source's interrupt lock: no top half of the
/// source runs until it is dropped. For the spin lock interrupts are off on
/// this CPU meanwhile; for a passive source's mutex the holder may sleep.
pub struct InterruptLocked<'a> {
    _guard: Guard<'a>,
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
/// `EDEADLK` where the caller cannot take it: with interrupts off for the
/// spin lock (inside the filter, which holds it already, or under another
/// IRQ-safe lock); in atomic context, or inside the filter (its holder), for a
/// passive source's mutex.
pub(crate) fn acquire(lock: Option<LockRef<'_>>) -> Result<InterruptLocked<'_>> {
    let lock = lock.ok_or(ENOTSUPP)?;
    if !lock.takeable_here() {
        return Err(sys::edeadlk());
    }
    Ok(lock.lock())
}

/// Like [`acquire`], but `EBUSY` instead of waiting while it is held.
pub(crate) fn try_acquire(lock: Option<LockRef<'_>>) -> Result<InterruptLocked<'_>> {
    let lock = lock.ok_or(ENOTSUPP)?;
    if !lock.takeable_here() {
        return Err(sys::edeadlk());
    }
    let guard = match lock {
        LockRef::Spin(l) => l.try_lock().map(Guard::Spin),
        LockRef::Passive(p) => p.mutex.try_lock().map(|g| Guard::Passive(p.owned(g))),
    };
    guard.map(|g| InterruptLocked { _guard: g }).ok_or(EBUSY)
}
