// SPDX-License-Identifier: GPL-2.0

//! An action that can be replaced at run time: DriverKit's
//! `IOInterruptDispatchSource::SetHandler`.
//!
//! A source's handler type is fixed when it is created; [`DynAction`] is a
//! handler whose action is a closure kept under the loop's gate. Every action
//! runs holding the gate, so [`DynAction::set_handler`], which needs the gate
//! too, never overlaps one: when it returns, no action runs the old closure
//! again. Called from inside the action itself it takes effect from the next
//! call (the running call finishes, and the old closure is dropped after it).

use super::{
    gate_cell::GateCell,
    interrupt::InterruptHandler,
    software::SoftwareAction,
    work_loop::{Gate, WorkLoop},
};
use kernel::prelude::*;

/// The closure of a [`DynAction`]: called with the gate and the event count.
pub type ActionFn = KBox<dyn FnMut(&Gate<'_>, u32) + Send>;

struct Slot {
    current: Option<ActionFn>,
    /// Set by `set_handler`; tells a running call not to put its closure back.
    replaced: bool,
}

/// A replaceable action for a software or interrupt source (see the module
/// documentation). With no closure set, deliveries are consumed and dropped.
pub struct DynAction {
    slot: GateCell<Slot>,
}

impl DynAction {
    /// An action on `work_loop` (the loop its source will be attached to),
    /// running `action` until replaced.
    pub fn new(work_loop: &WorkLoop, action: Option<ActionFn>) -> Self {
        Self {
            slot: GateCell::new(
                work_loop,
                Slot {
                    current: action,
                    replaced: false,
                },
            ),
        }
    }

    /// Replaces the closure (DriverKit's `SetHandler`) and returns the old one,
    /// `None` when called from inside the action (the running closure is dropped
    /// when its call returns). Holding `gate`, the gate of the loop the action
    /// runs on: when this returns, no action runs the old closure again.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `gate` is another loop's.
    pub fn set_handler(
        &self,
        gate: &Gate<'_>,
        action: Option<ActionFn>,
    ) -> Result<Option<ActionFn>> {
        let mut slot = self.slot.borrow(gate)?;
        slot.replaced = true;
        Ok(core::mem::replace(&mut slot.current, action))
    }

    fn run(&self, gate: &Gate<'_>, count: u32) {
        // Taken out while it runs, so that it may call `set_handler`.
        let taken = match self.slot.borrow(gate) {
            Ok(mut slot) => {
                slot.replaced = false;
                slot.current.take()
            }
            Err(_) => return,
        };
        let Some(mut action) = taken else {
            return;
        };
        action(gate, count);
        if let Ok(mut slot) = self.slot.borrow(gate) {
            if !slot.replaced {
                slot.current = Some(action);
            }
        }
    }
}

impl SoftwareAction for DynAction {
    fn action(&self, gate: &Gate<'_>, count: u32) {
        self.run(gate, count)
    }
}

/// A plain source's handler (no filter: every interrupt is scheduled).
impl InterruptHandler for DynAction {
    fn action(&self, gate: &Gate<'_>, count: u32) {
        self.run(gate, count)
    }
}
