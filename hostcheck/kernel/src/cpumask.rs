// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::cpumask` (up to 64 CPUs; the host has one).

use crate::{
    alloc::{AllocError, Flags},
    cpu::CpuId,
};
use core::ops::{Deref, DerefMut};

/// Mirrors `kernel::cpumask::Cpumask`.
#[derive(Default)]
pub struct Cpumask(u64);

impl Cpumask {
    /// Mirrors `Cpumask::set`.
    pub fn set(&mut self, cpu: CpuId) {
        self.0 |= 1 << cpu.as_u32();
    }

    /// Mirrors `Cpumask::test`.
    pub fn test(&self, cpu: CpuId) -> bool {
        self.0 & (1 << cpu.as_u32()) != 0
    }

    /// Mirrors `Cpumask::empty`.
    pub fn empty(&self) -> bool {
        self.0 == 0
    }
}

/// Mirrors `kernel::cpumask::CpumaskVar`.
pub struct CpumaskVar(Cpumask);

impl CpumaskVar {
    /// Mirrors `CpumaskVar::new_zero`.
    pub fn new_zero(_flags: Flags) -> Result<Self, AllocError> {
        Ok(Self(Cpumask(0)))
    }
}

impl Deref for CpumaskVar {
    type Target = Cpumask;
    fn deref(&self) -> &Cpumask {
        &self.0
    }
}

impl DerefMut for CpumaskVar {
    fn deref_mut(&mut self) -> &mut Cpumask {
        &mut self.0
    }
}
