// SPDX-License-Identifier: GPL-2.0

//! The filter: the part of an interrupt source that runs in the top half.
//!
//! IOKit's `IOFilterInterruptEventSource` asks a driver callback, in primary
//! interrupt context, whether an interrupt is the device's and whether it needs
//! the bottom half. Linux and FreeBSD give such a callback three answers, and so
//! does this library: [`FilterResult::NotMine`] (`IRQ_NONE`, the device did not
//! interrupt: required on shared lines), [`FilterResult::Handled`] (done in the
//! top half, no bottom half) and [`FilterResult::Schedule`] (count the interrupt,
//! mask a level-triggered line, run the action on the loop).
//!
//! A filter that has already quieted its device can schedule the action without
//! masking the line by calling [`FilterContext::signal_interrupt`] and returning
//! [`FilterResult::Handled`]; that keeps a shared level line open for the other
//! devices on it.

use kernel::device::{Bound, Device};

/// The filter's verdict on one top-half call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterResult {
    /// The interrupt is not from this device (`IRQ_NONE`). Counted in `not_mine`;
    /// Linux's spurious-interrupt detector sees it.
    NotMine,
    /// Fully handled in the top half (`IRQ_HANDLED`); the action is not scheduled
    /// unless [`FilterContext::signal_interrupt`] was called.
    Handled,
    /// Count the interrupt, mask the line if it is level-triggered (auto-disable),
    /// and run the action on the loop, which unmasks the line afterwards.
    Schedule,
}

/// What a filter may do besides returning a verdict. Hard-IRQ context.
pub struct FilterContext<'a> {
    pub(crate) device: &'a Device<Bound>,
    pub(crate) signal: &'a dyn Fn() -> bool,
    pub(crate) held: bool,
    pub(crate) message: u32,
}

impl<'a> FilterContext<'a> {
    /// The device the line belongs to, for register access through `Devres`.
    pub fn device(&self) -> &'a Device<Bound> {
        self.device
    }

    /// The message this top half serves (WDF's `MessageID`): the index of its
    /// vector among the device's MSI or MSI-X vectors, 0 for a line (INTx). A
    /// source serving every vector of a set (`new_all_vectors`) learns here which
    /// one fired.
    pub fn message(&self) -> u32 {
        self.message
    }

    /// Whether the action cannot run now: the source is disabled, its loop
    /// stopped, or it is on no loop. An interrupt counted now is delivered when the
    /// source can run again.
    ///
    /// On a shared line, a filter that answers [`FilterResult::Schedule`] while
    /// held gets the line masked for every device on it until then (the device
    /// would otherwise keep asserting it). A filter that can should instead quiet
    /// its device here (read what the action needs, acknowledge), call
    /// [`FilterContext::signal_interrupt`] and answer [`FilterResult::Handled`]:
    /// the line's other devices then never notice the hold.
    pub fn held(&self) -> bool {
        self.held
    }

    /// Counts this interrupt and schedules the action *without* masking the line.
    /// One interrupt counts once: calling it again in the same top half, or
    /// answering [`FilterResult::Schedule`] after it (which then only adds the
    /// auto-disable), does not count it again.
    ///
    /// The filter must have quieted the device (acknowledged its interrupt status),
    /// or a level-triggered line fires again at once.
    ///
    /// Returns whether this call made the source pending, as WDF's
    /// `WdfInterruptQueueDpcForIsr` answers whether it queued the DPC: `false` when
    /// interrupts counted earlier are still undelivered (the action will see this
    /// one with them), or when this top half already counted.
    pub fn signal_interrupt(&self) -> bool {
        (self.signal)()
    }
}
