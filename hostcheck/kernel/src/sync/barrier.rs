// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::barrier`.

/// Mirrors `smp_mb()`: a sequentially consistent fence.
pub fn smp_mb() {
    crate::rt::atomic::fence(crate::rt::atomic::Ordering::SeqCst);
}
