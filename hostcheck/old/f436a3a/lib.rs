// SPDX-License-Identifier: GPL-2.0

//! The crate root for a run of the models against the library as it was at
//! f436a3a (`scripts/modelcheck.sh --old f436a3a`): the script exports that
//! commit's `src/` next to a copy of `hostcheck/` and puts this file in place of
//! `src/lib.rs`. The module tree is f436a3a's `src/workloop.rs` (without the
//! timer, which the models do not use and the shim does not model); the files
//! are f436a3a's, with only the hunks of `hostcheck/old/f436a3a.patch`. What
//! the models and the host `sys.rs` expect and f436a3a did not have comes from
//! `compat.rs` here: names, accessors, nothing that decides anything.

#![recursion_limit = "512"]

#[path = "../../src"]
#[allow(dead_code, unused_imports)]
pub mod workloop {
    pub mod command_gate;
    pub mod event_source;
    pub mod filter;
    pub mod gate_cell;
    pub mod interrupt;
    pub mod software;
    #[path = "../hostcheck/old/f436a3a/compat.rs"]
    pub mod compat;
    #[path = "../hostcheck/src/stats.rs"]
    mod host_stats;
    #[path = "../hostcheck/src/sys.rs"]
    mod host_sys;
    pub mod work_loop;

    pub(crate) use compat::{hooks, sys};
    pub use compat::{gate, stats, Wake};
    pub use command_gate::CommandGate;
    pub use event_source::{AsEventSource, EventSource, SourceBase};
    pub use filter::{FilterContext, FilterResult};
    pub use gate_cell::{GateCell, GateRef};
    pub use interrupt::{InterruptControl, InterruptEventSource, InterruptHandler, Sharing};
    pub use software::{SoftwareAction, SoftwareEventSource, SoftwareSignal};
    pub use sys::Priority;
    pub use work_loop::{Gate, LoopOptions, SleepResult, WorkLoop};

    /// f436a3a's `src/workloop.rs`: options common to counted sources. The
    /// fields the models set that came later are accepted and unused.
    #[derive(Clone, Copy, Debug)]
    pub struct SourceOptions {
        /// Record top-half timestamps.
        pub timestamps: bool,
        /// Initial value of the producer and consumer counters (u32 then).
        pub counter_start: u32,
        /// Later (storm throttle): unused at f436a3a, which has none.
        pub storm_per_sec: u32,
    }

    impl Default for SourceOptions {
        fn default() -> Self {
            Self {
                timestamps: true,
                counter_start: 0,
                storm_per_sec: 0,
            }
        }
    }

    /// f436a3a's `src/workloop.rs`: an event key, the address of `value`.
    pub fn event_of<T>(value: &T) -> usize {
        core::ptr::from_ref(value) as usize
    }
}

#[cfg(test)]
mod models;
