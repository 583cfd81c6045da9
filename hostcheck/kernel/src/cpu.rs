// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::cpu`: one CPU on the host.

/// Mirrors `kernel::cpu::nr_cpu_ids`.
pub fn nr_cpu_ids() -> u32 {
    1
}

/// Mirrors `kernel::cpu::CpuId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuId(u32);

impl CpuId {
    /// Mirrors `CpuId::from_u32`.
    pub fn from_u32(cpu: u32) -> Option<Self> {
        (cpu < nr_cpu_ids()).then_some(Self(cpu))
    }

    /// Mirrors `CpuId::as_u32`.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}
