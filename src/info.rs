// SPDX-License-Identifier: GPL-2.0

//! What the kernel says about an interrupt line: DriverKit's static
//! `IOInterruptDispatchSource::GetInterruptType` and WDF's `GetInfo`
//! (`WDF_INTERRUPT_INFO`).
//!
//! Everything here is read from the IRQ core's own state (the line's
//! descriptor, its MSI descriptor, its effective affinity), never from what
//! the driver asked for: a driver that asked for MSI and got INTx sees INTx.

use super::sys;
use core::fmt;
use kernel::{
    bindings,
    cpu::{nr_cpu_ids, CpuId},
    cpumask::CpumaskVar,
    irq::IrqRequest,
    prelude::*,
};

/// How a line signals (DriverKit's `kIOInterruptDispatchSourceTypeEdge/Level`,
/// WDF's `Mode`: `Latched` or `LevelSensitive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptType {
    /// Edge-triggered (message-signaled interrupts are edges).
    Edge,
    /// Level-triggered: the line stays asserted until the device is served.
    Level,
}

impl InterruptType {
    /// The trigger type of `request`'s line, before any source exists on it
    /// (DriverKit's static `GetInterruptType`), as the interrupt controller set
    /// it up (`IRQD_LEVEL`). Process context.
    ///
    /// # Errors
    ///
    /// `ENOENT` if the IRQ core has no descriptor for the line.
    pub fn of(request: &IrqRequest<'_>) -> Result<Self> {
        let state = sys::line_state(request.irq()).ok_or(ENOENT)?;
        Ok(if state.is_level() {
            Self::Level
        } else {
            Self::Edge
        })
    }
}

/// How the interrupt reaches the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptKind {
    /// A wire: PCI INTx, or a platform interrupt line.
    Line,
    /// A PCI MSI message.
    Msi,
    /// A PCI MSI-X message.
    MsiX,
}

/// The active level or edge of a line, where the IRQ core records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    /// Active high, or rising edge.
    ActiveHigh,
    /// Active low, or falling edge.
    ActiveLow,
    /// Not recorded: x86's IO-APIC records only level or edge, and messages
    /// have no polarity.
    Unknown,
}

/// Where a line's interrupts may go (WDF's `WDF_INTERRUPT_POLICY`), set with
/// `set_affinity` and read back with `info().target_cpus`.
pub enum AffinityPolicy<'a> {
    /// The machine's default (`WdfIrqPolicyMachineDefault`): every online CPU,
    /// which is Linux's default unless the `irqaffinity=` boot parameter says
    /// otherwise (the kernel's default mask is not exported to modules).
    MachineDefault,
    /// Every online CPU (`WdfIrqPolicyAllProcessorsInMachine`).
    AllProcessors,
    /// The CPUs of the mask (`WdfIrqPolicySpecifiedProcessors`); at least one
    /// must be online.
    Processors(&'a kernel::cpumask::Cpumask),
    /// WDF's `GROUP_AFFINITY`: CPU `k` of the group is bit `k` of `mask`. Linux
    /// has one group; any other is refused.
    Group {
        /// The processor group; only 0 exists.
        group: u16,
        /// The CPUs of the group.
        mask: u64,
    },
    /// The CPUs of the device's NUMA node (`WdfIrqPolicyAllCloseProcessors`);
    /// every CPU where the node is unknown (no NUMA, or a source made from an
    /// `IrqRequest`, which does not tell its device).
    AllCloseProcessors,
    /// The first CPU of those (`WdfIrqPolicyOneCloseProcessor`).
    OneCloseProcessor,
    /// One CPU per message, spread over the CPUs close to the device first
    /// (`WdfIrqPolicySpreadMessagesAcrossAllProcessors`): the source's
    /// `int_index`-th, as `cpumask_local_spread` counts.
    SpreadMessages,
}

/// Where a source's interrupt is: its device's NUMA node (`None`: unknown) and
/// its index, for the policies that depend on them.
pub(crate) struct Place {
    pub(crate) node: Option<u32>,
    pub(crate) index: u32,
}

/// Applies `policy` to line `irq`, interrupt `place` of its device.
///
/// # Errors
///
/// `EINVAL` for a mask with no online CPU or a group other than 0, or the
/// error of `irq_set_affinity`.
///
/// # Safety
///
/// `irq` must be requested by the caller for the whole call.
pub(crate) unsafe fn set_affinity(irq: u32, policy: AffinityPolicy<'_>, place: Place) -> Result {
    let close = |cpu: u32| place.node.is_none_or(|node| sys::cpu_in_node(cpu, node));
    let single = match policy {
        AffinityPolicy::OneCloseProcessor => Some(
            (0..nr_cpu_ids())
                .find(|&c| close(c) && sys::cpu_online(c))
                .ok_or(EINVAL)?,
        ),
        AffinityPolicy::SpreadMessages => Some(sys::local_spread(place.index, place.node)),
        _ => None,
    };
    let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    for cpu in 0..nr_cpu_ids() {
        let Some(id) = CpuId::from_u32(cpu) else {
            continue;
        };
        let wanted = match &policy {
            AffinityPolicy::MachineDefault | AffinityPolicy::AllProcessors => true,
            AffinityPolicy::Processors(m) => m.test(id),
            AffinityPolicy::Group { group: 0, mask } => cpu < 64 && mask & (1 << cpu) != 0,
            AffinityPolicy::Group { .. } => return Err(EINVAL),
            AffinityPolicy::AllCloseProcessors => close(cpu),
            AffinityPolicy::OneCloseProcessor | AffinityPolicy::SpreadMessages => {
                single == Some(cpu)
            }
        };
        if wanted && sys::cpu_online(cpu) {
            mask.set(id);
        }
    }
    if mask.empty() {
        return Err(EINVAL);
    }
    // SAFETY: By the caller the line is requested.
    unsafe { sys::set_irq_affinity(irq, &mask) }
}

/// WDF's `WDF_INTERRUPT_INFO` for one line, read from the kernel.
pub struct InterruptInfo {
    /// The Linux IRQ number (WDF's `Vector`).
    pub irq: u32,
    /// The interrupt domain's number for the line (`irq_data.hwirq`).
    pub hwirq: u64,
    /// INTx / line, MSI or MSI-X (WDF's `MessageSignaled`).
    pub kind: InterruptKind,
    /// The message's index among the device's vectors (WDF's `MessageNumber`);
    /// `None` for a line.
    pub message_number: Option<u32>,
    /// Level or edge (WDF's `Mode`).
    pub mode: InterruptType,
    /// Polarity, where known (WDF's `Polarity`).
    pub polarity: Polarity,
    /// Whether the line was requested shared (WDF's `ShareDisposition`).
    pub shared: bool,
    /// The CPUs the line's interrupts go to now, its effective affinity (WDF's
    /// `TargetProcessorSet`; the group is always 0).
    pub target_cpus: CpumaskVar,
}

/// Reads the info of line `irq`, requested `shared` or not. Process context.
///
/// # Safety
///
/// `irq` must be an allocated vector (its descriptors exist) for the whole call.
pub(crate) unsafe fn line_info(irq: u32, shared: bool) -> Result<InterruptInfo> {
    let state = sys::line_state(irq).ok_or(ENOENT)?;
    let mut target_cpus = CpumaskVar::new_zero(GFP_KERNEL)?;
    // SAFETY: By the caller the vector is allocated.
    if !unsafe { sys::effective_affinity(irq, &mut target_cpus) } {
        return Err(ENOENT);
    }
    // SAFETY: As above.
    let msi = unsafe { sys::msi_info(irq) };
    let kind = match msi {
        None => InterruptKind::Line,
        Some((false, _)) => InterruptKind::Msi,
        Some((true, _)) => InterruptKind::MsiX,
    };
    let polarity = match state.irqd & bindings::IRQD_TRIGGER_MASK {
        bindings::IRQ_TYPE_LEVEL_HIGH | bindings::IRQ_TYPE_EDGE_RISING => Polarity::ActiveHigh,
        bindings::IRQ_TYPE_LEVEL_LOW | bindings::IRQ_TYPE_EDGE_FALLING => Polarity::ActiveLow,
        _ => Polarity::Unknown,
    };
    Ok(InterruptInfo {
        irq,
        // SAFETY: As above.
        hwirq: unsafe { sys::hwirq(irq) },
        kind,
        message_number: msi.map(|(_, index)| index),
        mode: if state.is_level() {
            InterruptType::Level
        } else {
            InterruptType::Edge
        },
        polarity,
        shared,
        target_cpus,
    })
}

/// One `key: value` per line, the CPUs as a list like
/// `/proc/irq/<irq>/effective_affinity_list` prints it (`0-1,3`).
impl fmt::Display for InterruptInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "irq: {}", self.irq)?;
        writeln!(f, "hwirq: {}", self.hwirq)?;
        let kind = match self.kind {
            InterruptKind::Line => "line",
            InterruptKind::Msi => "msi",
            InterruptKind::MsiX => "msix",
        };
        writeln!(f, "kind: {}", kind)?;
        match self.message_number {
            Some(n) => writeln!(f, "message: {}", n)?,
            None => writeln!(f, "message: none")?,
        }
        let mode = match self.mode {
            InterruptType::Edge => "edge",
            InterruptType::Level => "level",
        };
        writeln!(f, "mode: {}", mode)?;
        let polarity = match self.polarity {
            Polarity::ActiveHigh => "high",
            Polarity::ActiveLow => "low",
            Polarity::Unknown => "unknown",
        };
        writeln!(f, "polarity: {}", polarity)?;
        writeln!(f, "shared: {}", self.shared)?;
        write!(f, "target_cpus: ")?;
        write_cpu_list(f, |cpu| self.target_cpus.test(cpu))?;
        writeln!(f)
    }
}

/// Writes the CPUs `has` selects as ranges (`0-1,3`), as the kernel's `%*pbl`.
fn write_cpu_list(f: &mut fmt::Formatter<'_>, has: impl Fn(CpuId) -> bool) -> fmt::Result {
    let n = nr_cpu_ids();
    let set = |cpu: u32| CpuId::from_u32(cpu).is_some_and(&has);
    let mut first = true;
    let mut cpu = 0;
    while cpu < n {
        if !set(cpu) {
            cpu += 1;
            continue;
        }
        let start = cpu;
        while cpu + 1 < n && set(cpu + 1) {
            cpu += 1;
        }
        if !first {
            write!(f, ",")?;
        }
        first = false;
        if start == cpu {
            write!(f, "{}", start)?;
        } else {
            write!(f, "{}-{}", start, cpu)?;
        }
        cpu += 1;
    }
    Ok(())
}
