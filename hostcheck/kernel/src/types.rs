// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::types`: the `NotThreadSafe` marker.

use core::marker::PhantomData;

/// Mirrors `kernel::types::NotThreadSafe`: a zero-sized marker that makes a
/// type neither `Send` nor `Sync`.
pub type NotThreadSafe = PhantomData<*mut ()>;

/// Mirrors `kernel::types::NotThreadSafe` (the value).
#[allow(non_upper_case_globals)]
pub const NotThreadSafe: NotThreadSafe = PhantomData;
