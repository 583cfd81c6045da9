// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::device`: `Device<Ctx>` and its contexts. A host device has
//! no state: the models need one only to hand to a top half.

use crate::sync::aref::ARef;
use core::marker::PhantomData;

/// Mirrors `device::Normal`.
pub struct Normal;

/// Mirrors `device::Bound`.
pub struct Bound;

/// Mirrors `kernel::device::Device`.
#[repr(transparent)]
pub struct Device<Ctx = Normal>(PhantomData<Ctx>);

/// The device every host top half is given (see [`crate::irq`]).
pub static BOUND: Device<Bound> = Device(PhantomData);

impl<Ctx> From<&Device<Ctx>> for ARef<Device> {
    fn from(_: &Device<Ctx>) -> Self {
        ARef::new(Device(PhantomData))
    }
}
