// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::{Mutex, CondVar}` on the backend's mutex and
//! condition variable.
//!
//! A task that may not sleep (a "hard IRQ" thread, see
//! [`crate::host::spawn_hardirq`]) panics when it takes a mutex or waits, as
//! `CONFIG_DEBUG_ATOMIC_SLEEP` would report it.
//!
//! Interruptible waits end when the waiting task gets a signal
//! ([`crate::host::Task::signal`], also sent by the host `kthread_stop`) and
//! timed ones when a model expires the task's timeout
//! ([`crate::host::Task::expire`]): the task registers a "kick" that takes the
//! mutex and notifies the condition variable, so neither is ever missed.

use crate::{host, rt, time::Jiffies, types::NotThreadSafe};
use core::ops::{Deref, DerefMut};

/// Mirrors `kernel::sync::Mutex`.
pub struct Mutex<T> {
    inner: rt::Mutex<T>,
}

impl<T> Mutex<T> {
    /// Mirrors `Mutex::new` (`new_mutex!`).
    pub fn new(value: T) -> Self {
        Self {
            inner: rt::Mutex::new(value),
        }
    }

    /// Mirrors `Mutex::try_lock`. Process context.
    pub fn try_lock(&self) -> Option<Guard<'_, T>> {
        host::might_sleep("mutex_trylock");
        let g = match self.inner.try_lock() {
            Ok(g) => g,
            Err(rt::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(rt::TryLockError::WouldBlock) => return None,
        };
        Some(Guard {
            lock: self,
            guard: Some(g),
            _not_send: NotThreadSafe,
        })
    }

    /// Mirrors `Mutex::lock`. Process context; may sleep.
    pub fn lock(&self) -> Guard<'_, T> {
        host::might_sleep("mutex_lock");
        Guard {
            lock: self,
            guard: Some(rt::lock(&self.inner)),
            _not_send: NotThreadSafe,
        }
    }
}

/// Mirrors `kernel::sync::Guard` of a [`Mutex`].
pub struct Guard<'a, T> {
    lock: &'a Mutex<T>,
    /// `None` only while a [`CondVar`] waits with it.
    guard: Option<rt::MutexGuard<'a, T>>,
    _not_send: NotThreadSafe,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.guard {
            Some(g) => g,
            None => unreachable!("guard used while its condition variable waits"),
        }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.guard {
            Some(g) => g,
            None => unreachable!("guard used while its condition variable waits"),
        }
    }
}

/// Mirrors `kernel::sync::CondVarTimeoutResult`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CondVarTimeoutResult {
    /// The timeout passed.
    Timeout,
    /// Woken (or spuriously) with `jiffies` left.
    Woken {
        /// Jiffies left.
        jiffies: Jiffies,
    },
    /// A signal is pending.
    Signal {
        /// Jiffies left.
        jiffies: Jiffies,
    },
}

/// Mirrors `kernel::sync::CondVar`.
pub struct CondVar {
    cv: rt::Condvar,
}

/// Takes `m`'s mutex and notifies `cv`: how a signal or a timeout reaches a
/// task waiting on `cv` with `m`.
///
/// # Safety
///
/// `cv` and `m` point to a live `CondVar` and `Mutex<T>`.
unsafe fn kick<T>(cv: *const (), m: *const ()) {
    // SAFETY: By the caller.
    let (cv, m) = unsafe { (&*cv.cast::<CondVar>(), &*m.cast::<Mutex<T>>()) };
    let g = rt::lock(&m.inner);
    cv.cv.notify_all();
    drop(g);
}

impl CondVar {
    /// Mirrors `CondVar::new` (`new_condvar!`).
    pub fn new() -> Self {
        Self {
            cv: rt::Condvar::new(),
        }
    }

    fn wait_raw<T>(&self, guard: &mut Guard<'_, T>) {
        host::might_sleep("condvar wait");
        if let Some(g) = guard.guard.take() {
            guard.guard = Some(self.cv.wait(g).unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// Waits with a kick registered for the current task (see the module
    /// documentation); returns at once if `ended` already holds.
    fn wait_kickable<T>(&self, guard: &mut Guard<'_, T>, ended: impl Fn(&host::Task) -> bool) {
        let me = host::current();
        if ended(&me) {
            return;
        }
        let cv = core::ptr::from_ref(self).cast::<()>();
        let m = core::ptr::from_ref(guard.lock).cast::<()>();
        // SAFETY: The task is inside this wait, whose `CondVar` and `Mutex` are
        // alive, until the kick is cleared below.
        unsafe { me.set_kick(cv, m, kick::<T>) };
        // Checked again now that the kick is visible: a signal or an expiry
        // either came before (seen here) or will kick.
        if !ended(&me) {
            self.wait_raw(guard);
        }
        me.clear_kick();
    }

    /// Mirrors `CondVar::wait`: uninterruptible.
    pub fn wait<T>(&self, guard: &mut Guard<'_, T>) {
        self.wait_raw(guard)
    }

    /// Mirrors `CondVar::wait_interruptible`: returns whether a signal is
    /// pending.
    pub fn wait_interruptible<T>(&self, guard: &mut Guard<'_, T>) -> bool {
        self.wait_kickable(guard, host::Task::signal_pending);
        host::current().signal_pending()
    }

    /// Mirrors `CondVar::wait_interruptible_timeout`. The timeout passes only
    /// when a model expires the task's timeout; a timed-out wait consumes that
    /// expiry.
    pub fn wait_interruptible_timeout<T>(
        &self,
        guard: &mut Guard<'_, T>,
        jiffies: Jiffies,
    ) -> CondVarTimeoutResult {
        self.wait_kickable(guard, |t| t.signal_pending() || t.expired());
        let me = host::current();
        if me.signal_pending() {
            CondVarTimeoutResult::Signal { jiffies }
        } else if me.take_expired() {
            CondVarTimeoutResult::Timeout
        } else {
            CondVarTimeoutResult::Woken { jiffies }
        }
    }

    /// Mirrors `CondVar::notify_one`.
    pub fn notify_one(&self) {
        self.cv.notify_one()
    }

    /// Mirrors `CondVar::notify_all`.
    pub fn notify_all(&self) {
        self.cv.notify_all()
    }
}

impl Default for CondVar {
    fn default() -> Self {
        Self::new()
    }
}
