// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::pci::Device` as far as the library names it (PCI vectors
//! are not modelled: the host `sys.rs` refuses to allocate them).

use crate::device::{self, Normal};

/// Mirrors `kernel::pci::Device`.
#[repr(transparent)]
pub struct Device<Ctx = Normal>(device::Device<Ctx>);

impl<Ctx> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        &self.0
    }
}
