// SPDX-License-Identifier: GPL-2.0

//! Driver state protected by a loop's gate.
//!
//! The point of a work loop is that state touched only from its actions and
//! from `run_action` needs no lock of its own. [`GateCell`] makes that a type:
//! it hands out `&mut T` only to a caller that shows the [`Gate`] of the loop
//! the cell belongs to. The gate is recursive, so a nested borrow of the same
//! cell (an action calling `run_action` that borrows it again) is refused with
//! `EBUSY` rather than aliasing.

use super::work_loop::{Gate, LoopInner, WorkLoop};
use core::{
    cell::UnsafeCell,
    ops::{Deref, DerefMut},
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Acquire, AtomicFlag, Release},
        Arc,
    },
};

/// A value only reachable while holding one loop's gate.
///
/// # Invariants
///
/// `value` is only accessed through a [`GateRef`], which exists only while its
/// creator holds the gate of `work_loop` and `borrowed` is set; the gate excludes other
/// tasks and `borrowed` excludes nested borrows by the same task.
pub struct GateCell<T> {
    work_loop: Arc<LoopInner>,
    borrowed: AtomicFlag,
    value: UnsafeCell<T>,
}

// SAFETY: Access to `value` is serialized by the gate (type invariant); `T: Send`
// because the value is used from whichever task holds the gate.
unsafe impl<T: Send> Sync for GateCell<T> {}
// SAFETY: Moving the cell moves `T`.
unsafe impl<T: Send> Send for GateCell<T> {}

impl<T> GateCell<T> {
    /// Puts `value` under the gate of `work_loop`.
    pub fn new(work_loop: &WorkLoop, value: T) -> Self {
        Self {
            work_loop: work_loop.inner().into(),
            borrowed: AtomicFlag::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Borrows the value mutably.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `gate` belongs to another loop, `EBUSY` if the value is already
    /// borrowed (a nested borrow inside the same gate).
    pub fn borrow<'a>(&'a self, gate: &'a Gate<'_>) -> Result<GateRef<'a, T>> {
        if !gate.is_loop(&self.work_loop) {
            return Err(EINVAL);
        }
        if self.borrowed.xchg(true, Acquire) {
            return Err(EBUSY);
        }
        // INVARIANT: The gate of `work_loop` is held (by `gate`) and `borrowed` is set.
        Ok(GateRef { cell: self })
    }
}

/// A mutable borrow of a [`GateCell`], valid while the gate is held.
pub struct GateRef<'a, T> {
    cell: &'a GateCell<T>,
}

impl<T> Deref for GateRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: By the type invariant of `GateCell` this is the only access.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> DerefMut for GateRef<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: By the type invariant of `GateCell` this is the only access.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T> Drop for GateRef<'_, T> {
    fn drop(&mut self) {
        self.cell.borrowed.store(false, Release);
    }
}
