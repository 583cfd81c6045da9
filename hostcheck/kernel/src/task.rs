// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::task` as far as the library uses it.

/// Mirrors `kernel::task::might_sleep`: panics in a task that may not sleep.
pub fn might_sleep() {
    crate::host::might_sleep("might_sleep");
}
