// SPDX-License-Identifier: GPL-2.0

//! workloop: IOKit-style work loops and interrupt event sources for Rust drivers.
//!
//! A [`WorkLoop`] is one kernel thread that runs the bottom-half actions of every
//! event source attached to it, one at a time, holding the loop's recursive
//! *gate*, so driver state touched only from those actions needs no lock of its
//! own. Event sources:
//!
//! - [`InterruptEventSource`]: a Linux IRQ line. Its top half (the hard-IRQ
//!   handler) runs the driver's [`InterruptHandler::filter`], counts the
//!   interrupt, masks a level-triggered line and wakes the loop; the action runs
//!   on the loop with the number of interrupts since it last ran.
//! - [`SoftwareEventSource`]: the same counting and delivery, triggered by
//!   software from any context.
//! - [`TimerEventSource`]: one-shot hrtimer timeouts, cancellable for sure.
//! - [`CommandGate`]: run a closure in the gate from any process context, sleep
//!   in it and be woken.
//!
//! See `Documentation/workloop.rst` for the model, the rules a caller may rely
//! on, and how IOKit, DriverKit and WDF names map to this API.
//!
//! # Building
//!
//! Out-of-tree Rust modules cannot export Rust items to one another, so a module
//! that uses the library compiles it in, with one line in its crate root:
//!
//! ```ignore
//! #[path = "../../src/workloop.rs"]
//! pub mod workloop;
//! ```

pub mod command_gate;
pub mod counting;
mod debugfs;
pub mod dyn_action;
pub mod event_source;
pub mod filter;
pub mod gate;
pub mod gate_cell;
pub(crate) mod hooks;
pub mod info;
pub mod interrupt;
pub mod interrupt_lock;
pub mod software;
pub mod stats;
mod sys;
mod thread;
pub mod timer;
pub mod work_loop;

pub use command_gate::CommandGate;
pub use dyn_action::{ActionFn, DynAction};
pub use event_source::{AsEventSource, EventSource, Source, SourceBase};
pub use filter::{FilterContext, FilterResult};
pub use gate::{SleepResult, Wake};
pub use gate_cell::{GateCell, GateRef};
pub use info::{AffinityPolicy, InterruptInfo, InterruptKind, InterruptType, Polarity};
pub use interrupt::{
    InterruptControl, InterruptEventSource, InterruptHandler, PciVectors, Sharing,
    VectorEventSource, VectorLines,
};
pub use interrupt_lock::{InterruptLocked, LastInterrupt};
pub use software::{SoftwareAction, SoftwareEventSource, SoftwareSignal};
pub use sys::{
    cancel_work_sync, line_state,
    pm::{PciPower, PmAdapter},
    LineState, Priority,
};
pub use thread::{spawn, Thread};
pub use timer::{TimerAction, TimerEventSource};
pub use work_loop::{Gate, LoopOptions, WorkLoop};

/// Options common to counted sources (interrupt and software).
#[derive(Clone, Copy, Debug)]
pub struct SourceOptions {
    /// Record top-half timestamps (primary timestamp and latency statistics).
    /// Default: on.
    pub timestamps: bool,
    /// Initial value of the producer and consumer counters. Default: 0. Tests set it
    /// near `u64::MAX` to prove the counts are wrap-safe.
    pub counter_start: u64,
    /// Interrupt sources on level-triggered lines: top-half calls per second
    /// above which the line counts as storming and is throttled (masked for a
    /// tick, then retried); 0 turns the throttle off. Measured per millisecond,
    /// at most 500 calls per millisecond. Default: 200,000.
    pub storm_per_sec: u32,
    /// Interrupt sources: give the source an interrupt lock (WDF's), which its top
    /// half holds around the filter and the count; see [`interrupt_lock`].
    /// Default: off (a source without it pays nothing).
    pub interrupt_lock: bool,
    /// Interrupt sources on PCI vectors (`new_vector`, `new_all_vectors`):
    /// UMDF's passive-level interrupt. The filter runs in the line's interrupt
    /// thread (`request_threaded_irq`, `IRQF_ONESHOT`: the line stays masked
    /// until it returns) instead of in hard IRQ, and the interrupt lock is a
    /// mutex that thread holds around the filter and the count: a holder may
    /// sleep, and `try_acquire_interrupt_lock` answers `EBUSY` while the filter
    /// runs. Default: off.
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

/// Returns an event key for [`Gate::sleep`] / [`CommandGate::command_sleep`]: the
/// address of `value`.
pub fn event_of<T>(value: &T) -> usize {
    core::ptr::from_ref(value) as usize
}
