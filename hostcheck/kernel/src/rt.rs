// SPDX-License-Identifier: GPL-2.0

//! The backend: loom's primitives under the `loom` feature, `std`'s
//! otherwise. Both have the same shape (loom mirrors `std`), so the rest of
//! the shim is written once against this module.

#[cfg(feature = "loom")]
pub use loom::{
    sync::{atomic, Condvar, Mutex, MutexGuard},
    thread, thread_local,
};
/// Both backends' `try_lock` answer std's error (loom uses std's type).
pub use std::sync::TryLockError;
#[cfg(not(feature = "loom"))]
pub use std::{
    sync::{atomic, Condvar, Mutex, MutexGuard},
    thread, thread_local,
};

/// A token owned by every [`crate::sync::Arc`] allocation. Under loom it is a
/// loom `Arc`, so loom's end-of-execution leak check reports an allocation
/// that was never freed (an `Arc` cycle, a reference never given back).
#[cfg(feature = "loom")]
pub type LeakToken = loom::sync::Arc<()>;
#[cfg(not(feature = "loom"))]
pub type LeakToken = ();

/// A new [`LeakToken`].
pub fn leak_token() -> LeakToken {
    #[cfg(feature = "loom")]
    return loom::sync::Arc::new(());
    #[cfg(not(feature = "loom"))]
    ()
}

/// Locks a backend mutex; a poisoned one (a model thread panicked while
/// holding it) is taken anyway: the panic is what the model reports.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
