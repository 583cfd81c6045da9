// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::debugfs` as far as the library uses it: directories and
//! read-only files, which exist in name only on the host.

use crate::str::CStr;
use core::fmt;
use pin_init::PinInit;

/// Mirrors `kernel::debugfs::Dir`.
pub struct Dir(());

impl Dir {
    /// Mirrors `Dir::new`.
    pub fn new(_name: &CStr) -> Self {
        Self(())
    }

    /// Mirrors `Dir::subdir`.
    pub fn subdir(&self, _name: &CStr) -> Self {
        Self(())
    }

    /// Mirrors `Dir::read_only_file`: the file keeps `data`, as the kernel's does.
    pub fn read_only_file<'a, T, E: 'a>(
        &'a self,
        _name: &'a CStr,
        data: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<File<T>, E> + 'a
    where
        T: fmt::Debug + Send + Sync + 'static,
    {
        // SAFETY: `File<T>` is `repr(transparent)` over `T`: initializing `T` in
        // place initializes the file.
        unsafe {
            pin_init::pin_init_from_closure(move |slot: *mut File<T>| {
                data.__pinned_init(slot.cast::<T>())
            })
        }
    }
}

/// Mirrors `kernel::debugfs::File`.
#[repr(transparent)]
pub struct File<T> {
    _data: T,
}
