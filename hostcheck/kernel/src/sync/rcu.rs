// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::rcu`. Not modelled: a read-side section is a no-op
//! and so is a grace period (the host `sys::synchronize_rcu`).

/// Mirrors `kernel::sync::rcu::Guard`.
pub struct Guard(crate::types::NotThreadSafe);

/// Mirrors `kernel::sync::rcu::read_lock`.
pub fn read_lock() -> Guard {
    Guard(crate::types::NotThreadSafe)
}
