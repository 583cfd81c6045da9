// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::workqueue` as far as the library uses it: spawning a
//! closure on a system queue (here: a thread of its own).

use crate::alloc::{AllocError, Flags};

/// Mirrors `kernel::workqueue::Queue`.
pub struct Queue(());

static LONG: Queue = Queue(());

/// Mirrors `kernel::workqueue::system_long`.
pub fn system_long() -> &'static Queue {
    &LONG
}

impl Queue {
    /// Mirrors `Queue::try_spawn`: runs `f` on a new task.
    pub fn try_spawn<F: FnOnce() + Send + 'static>(
        &self,
        _flags: Flags,
        f: F,
    ) -> Result<(), AllocError> {
        drop(crate::host::spawn(f));
        Ok(())
    }
}
