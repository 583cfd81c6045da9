// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::alloc`: `KBox`, `KVec`, allocation flags and `AllocError`.
//!
//! Host allocations do not fail, so no path returns `AllocError` here: the
//! models do not cover the library's `ENOMEM` paths.

use core::{
    fmt,
    marker::Unsize,
    ops::{CoerceUnsized, Deref, DerefMut},
    pin::Pin,
};

/// Mirrors `kernel::alloc::AllocError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;

/// Mirrors `kernel::alloc::Flags` (ignored on the host).
#[derive(Clone, Copy, Debug)]
pub struct Flags(#[allow(dead_code)] u32);

/// Mirrors `kernel::alloc::flags`.
pub mod flags {
    use super::Flags;

    /// Mirrors `GFP_KERNEL`.
    pub const GFP_KERNEL: Flags = Flags(0);
    /// Mirrors `GFP_ATOMIC`.
    pub const GFP_ATOMIC: Flags = Flags(1);
}

/// Mirrors `kernel::alloc::KBox` (a `Box` allocated with `kmalloc`).
pub struct KBox<T: ?Sized>(Box<T>);

impl<T: ?Sized + Unsize<U>, U: ?Sized> CoerceUnsized<KBox<U>> for KBox<T> {}

impl<T> KBox<T> {
    /// Mirrors `KBox::new`.
    pub fn new(value: T, _flags: Flags) -> Result<Self, AllocError> {
        Ok(Self(Box::new(value)))
    }

    /// Mirrors `KBox::into_inner`.
    pub fn into_inner(this: Self) -> T {
        *this.0
    }
}

impl<T: ?Sized> KBox<T> {
    /// Mirrors `KBox::into_raw`.
    pub fn into_raw(this: Self) -> *mut T {
        Box::into_raw(this.0)
    }

    /// Mirrors `KBox::from_raw`.
    ///
    /// # Safety
    ///
    /// `raw` comes from [`KBox::into_raw`] and is not used again.
    pub unsafe fn from_raw(raw: *mut T) -> Self {
        // SAFETY: By the caller.
        Self(unsafe { Box::from_raw(raw) })
    }

    /// The allocation as a `std` box (for the shim's own use).
    pub(crate) fn from_box(b: Box<T>) -> Self {
        Self(b)
    }
}

impl<T: ?Sized> Deref for KBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> DerefMut for KBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for KBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Turns a pinned std box into a pinned `KBox`.
pub(crate) fn pin_kbox<T: ?Sized>(b: Pin<Box<T>>) -> Pin<KBox<T>> {
    // SAFETY: The allocation does not move: `KBox` wraps the same box.
    unsafe { Pin::new_unchecked(KBox::from_box(Pin::into_inner_unchecked(b))) }
}

/// Mirrors `kernel::alloc::KVec` (a vector allocated with `kmalloc`).
pub struct KVec<T>(Vec<T>);

/// Mirrors `kernel::alloc::kvec::errors::RemoveError`.
#[derive(Debug)]
pub struct RemoveError;

impl<T> KVec<T> {
    /// Mirrors `KVec::new`.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Mirrors `KVec::with_capacity`.
    pub fn with_capacity(n: usize, _flags: Flags) -> Result<Self, AllocError> {
        Ok(Self(Vec::with_capacity(n)))
    }

    /// Mirrors `KVec::push`.
    pub fn push(&mut self, v: T, _flags: Flags) -> Result<(), AllocError> {
        self.0.push(v);
        Ok(())
    }

    /// Mirrors `KVec::push_within_capacity`.
    pub fn push_within_capacity(&mut self, v: T) -> Result<(), T> {
        if self.0.len() < self.0.capacity() {
            self.0.push(v);
            Ok(())
        } else {
            Err(v)
        }
    }

    /// Mirrors `KVec::reserve`: room for `len + additional`.
    pub fn reserve(&mut self, additional: usize, _flags: Flags) -> Result<(), AllocError> {
        self.0.reserve(additional);
        Ok(())
    }

    /// Mirrors `KVec::remove`.
    pub fn remove(&mut self, i: usize) -> Result<T, RemoveError> {
        if i < self.0.len() {
            Ok(self.0.remove(i))
        } else {
            Err(RemoveError)
        }
    }

    /// Mirrors `KVec::pop`.
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Mirrors `KVec::retain`.
    pub fn retain(&mut self, f: impl FnMut(&T) -> bool) {
        self.0.retain(f)
    }

    /// Mirrors `KVec::clear`.
    pub fn clear(&mut self) {
        self.0.clear()
    }
}

impl<T> Default for KVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for KVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for KVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<'a, T> IntoIterator for &'a KVec<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> IntoIterator for KVec<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
