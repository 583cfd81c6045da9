// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::aref::ARef`: here an owned value (the host's
//! reference-counted objects, devices, have no state to share).

use core::ops::Deref;

/// Mirrors `kernel::sync::aref::ARef`.
pub struct ARef<T>(T);

impl<T> ARef<T> {
    pub(crate) fn new(v: T) -> Self {
        Self(v)
    }
}

impl<T> Deref for ARef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
