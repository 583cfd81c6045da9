// SPDX-License-Identifier: GPL-2.0

//! The workloop library's own files, compiled on the host for model checking.
//!
//! # The seam
//!
//! The library is written against the Linux 7.2 `kernel` crate and keeps every
//! raw binding in `src/sys.rs`. This crate compiles the library's core files
//! (`../src/*.rs`, unchanged, without a `cfg`) as the module [`workloop`],
//! against
//!
//! - the crate `kernel` in `kernel/`, a mirror of the 7.2 items they use, on
//!   loom (feature `loom`) or on `std`;
//! - `src/sys.rs` here, the host version of `src/sys.rs`: threads, the sleep
//!   and wake-up protocol, the IRQ line as a depth counter;
//! - `src/stats.rs` here, the statistics without atomics (every atomic is a
//!   branch point for loom, and statistics decide nothing).
//!
//! The module tree mirrors `src/workloop.rs`, the library's crate root, which
//! cannot be included itself: it also declares the timer, the threads and the
//! kernel `sys.rs`. `interrupt.rs` (with `interrupt/lifecycle.rs` and
//! `interrupt/vectors.rs`, whose PCI vectors the host `sys.rs` never grants)
//! runs on the shim's host IRQ core, `kernel::irq::host`. Its two items the core files
//! use, [`workloop::SourceOptions`] and [`workloop::event_of`], are copied
//! here.
//!
//! The models are in `src/models/` (see `Documentation/modelcheck.rst`).

#![recursion_limit = "512"]

#[path = "../../src"]
#[allow(dead_code, unused_imports)]
pub mod workloop {
    pub mod command_gate;
    pub mod counting;
    mod debugfs;
    pub mod event_source;
    pub mod filter;
    pub mod gate;
    pub mod gate_cell;
    pub(crate) mod hooks;
    pub mod info;
    pub mod interrupt;
    pub mod interrupt_lock;
    pub mod software;
    #[path = "../hostcheck/src/stats.rs"]
    pub mod stats;
    #[path = "../hostcheck/src/sys.rs"]
    pub(crate) mod sys;
    pub mod work_loop;

    pub use command_gate::CommandGate;
    pub use event_source::{AsEventSource, EventSource, Source, SourceBase};
    pub use filter::{FilterContext, FilterResult};
    pub use gate::{SleepResult, Wake};
    pub use gate_cell::{GateCell, GateRef};
    pub use interrupt::{InterruptControl, InterruptEventSource, InterruptHandler, Sharing};
    pub use software::{SoftwareAction, SoftwareEventSource, SoftwareSignal};
    pub use sys::Priority;
    pub use work_loop::{Gate, LoopOptions, WorkLoop};

    /// Copied from `src/workloop.rs`: options common to counted sources.
    #[derive(Clone, Copy, Debug)]
    pub struct SourceOptions {
        /// Record top-half timestamps.
        pub timestamps: bool,
        /// Initial value of the producer and consumer counters.
        pub counter_start: u64,
        /// Interrupt sources: storm threshold (calls per second; 0: off).
        pub storm_per_sec: u32,
        /// Interrupt sources: give the source an interrupt lock.
        pub interrupt_lock: bool,
        /// Interrupt sources on PCI vectors: the passive flavour.
        pub passive: bool,
    }

    impl Default for SourceOptions {
        fn default() -> Self {
            Self {
                timestamps: true,
                counter_start: 0,
                storm_per_sec: 200_000,
                interrupt_lock: false,
                passive: false,
            }
        }
    }

    /// Copied from `src/workloop.rs`: an event key, the address of `value`.
    pub fn event_of<T>(value: &T) -> usize {
        core::ptr::from_ref(value) as usize
    }
}

#[cfg(test)]
mod models;
