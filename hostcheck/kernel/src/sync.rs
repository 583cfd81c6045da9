// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync`: atomics, `Mutex`, `CondVar`, `Arc`, RCU.

mod arc;
pub mod aref;
pub mod atomic;
pub mod barrier;
mod lock;
pub mod rcu;

pub use arc::{Arc, ArcBorrow, UniqueArc};
pub use lock::{CondVar, CondVarTimeoutResult, Guard, Mutex};

/// Mirrors `kernel::sync::MutexGuard`.
pub type MutexGuard<'a, T> = Guard<'a, T>;

/// Mirrors `kernel::sync::new_mutex!`.
#[macro_export]
macro_rules! new_mutex {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::sync::Mutex::new($inner)
    };
}
pub use new_mutex;

/// Mirrors `kernel::sync::new_condvar!`.
#[macro_export]
macro_rules! new_condvar {
    ($($name:literal)?) => {
        $crate::sync::CondVar::new()
    };
}
pub use new_condvar;
