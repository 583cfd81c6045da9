// SPDX-License-Identifier: GPL-2.0

//! A host mirror of the Linux 7.2 Rust `kernel` crate: exactly the items the
//! workloop library's core files use, with the same names, paths and
//! signatures, so that those files compile unchanged on the host.
//!
//! # The seam
//!
//! The library imports nothing but `kernel::…` and its own modules, and keeps
//! every raw binding in `src/sys.rs`. The `hostcheck` crate compiles the
//! library's files with `#[path]` against this crate (named `kernel`) and a
//! host `sys.rs`; nothing in `src/` carries a `cfg` for it.
//!
//! # Two backends
//!
//! - default: `std` atomics, locks and threads, for fast smoke tests;
//! - feature `loom`: loom's, so that the models explore every interleaving
//!   (up to the preemption bound) and every outcome loom's C11 memory model
//!   allows.
//!
//! The backend is chosen in [`rt`]; every other module is written once
//! against it.
//!
//! # What is not mirrored
//!
//! Tasks, signals and timeouts are modelled in [`host`] (a thread is a task;
//! `kthread_stop` sends a signal; a timed wait times out only when a model
//! says so). RCU is not modelled: its read side and grace periods are no-ops
//! (memory safety of the RCU-protected pointers is outside the models).

#![feature(coerce_unsized, unsize, core_intrinsics, const_eval_select)]
#![allow(internal_features)]

pub mod alloc;
pub mod bindings;
pub mod cpu;
pub mod cpumask;
pub mod debugfs;
pub mod device;
pub mod devres;
pub mod error;
pub mod ffi;
pub mod host;
pub mod init;
pub mod irq;
pub mod pci;
pub mod prelude;
pub mod print;
pub mod rt;
pub mod str;
pub mod sync;
pub mod task;
pub mod time;
pub mod types;
pub mod workqueue;

/// The kernel tree's own `pin-init` crate (7.2's `kernel` re-exports its
/// items), built for the host (see `hostcheck/pin-init/Cargo.toml`).
pub use ::pin_init;
