// SPDX-License-Identifier: GPL-2.0
//
// Shared by the compile tests of the interrupt source's lifetime (D5): a
// handler, and a function that makes a source from a device binding's
// `IrqRequest<'a>`. Each test crate includes this file and adds one use.

#[path = "../../src/workloop.rs"]
pub mod workloop;

use kernel::{irq::IrqRequest, prelude::*};
use workloop::{Gate, InterruptEventSource, InterruptHandler, Sharing, SourceOptions};

pub struct Handler;

impl InterruptHandler for Handler {
    fn action(&self, _gate: &Gate<'_>, _count: u32) {}
}

pub struct Module;

impl kernel::Module for Module {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Module)
    }
}
