// SPDX-License-Identifier: GPL-2.0

//! The interrupt part: one interrupt event source whose filter (top half)
//! acknowledges the device and whose action (bottom half, on the work loop)
//! completes factorials and DMA transfers; the probe steps that choose its
//! vector; and the `irq_ctl` debugfs knob that disables and enables it. This
//! file can be read and copied alone.

use super::*;

/// The interrupt handler: filter in the top half, action on the loop.
pub(crate) struct EduIrq {
    pub(crate) engine: Arc<EduEngine>,
    /// The Linux IRQ number, for the hooks' look at the line.
    pub(crate) irq: u32,
    /// The line is an MSI vector: this source's alone, edge (never auto-masked),
    /// so its depth is the hold's.
    pub(crate) msi: bool,
}

impl EduIrq {
    /// Reads the interrupt status and acknowledges it, unless the `storm` test
    /// knobs want the line kept asserted.
    fn take_status(&self, bar: &Bar0) -> u32 {
        let status = bar.read(regs::IRQ_STATUS).bits().get();
        if status != 0 && !self.engine.skip_ack.load(Relaxed) {
            bar.write_reg(regs::IRQ_ACK::zeroed().with_bits(status));
        }
        status
    }
}

impl InterruptHandler for EduIrq {
    /// `interrupt_occurred` below keeps the pair for a test: take it together.
    const PAIRED_TIME: bool = true;

    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        let engine = &self.engine;
        let Ok(bar) = engine.bar.access(ctx.device()) else {
            return FilterResult::NotMine;
        };
        if engine.deaf.load(Relaxed) {
            return FilterResult::NotMine;
        }
        if !engine.filter_mode && !ctx.held() {
            // Plain source: the action acknowledges; a level line stays masked
            // (auto-disable) until it has.
            return FilterResult::Schedule;
        }
        // The filter acknowledges in the top half; so does a plain source whose
        // action cannot run now (disabled, loop stopped), which must not keep a
        // shared line masked for the other devices on it.
        let status = self.take_status(bar);
        if status == 0 {
            return FilterResult::NotMine;
        }
        let mut old = engine.pending.load(Relaxed);
        while let Err(now) = engine.pending.cmpxchg(old, old | status, Relaxed) {
            old = now;
        }
        if status & IRQ_TEST != 0 {
            engine.counters.test_irqs.add(1, Relaxed);
        }
        // The device is quiet again: schedule without masking, so devices sharing
        // the line are never starved.
        if ctx.signal_interrupt() {
            engine.counters.made_pending.add(1, Relaxed);
        }
        if engine.signal_and_schedule.load(Relaxed) {
            return FilterResult::Schedule;
        }
        FilterResult::Handled
    }

    fn quiesce(&self) {
        self.engine.quiesce();
    }

    /// WDF's `EvtInterruptEnable`. edu has no interrupt-enable register (each
    /// request asks for its own interrupt), so the hook only checks WDF's order
    /// for the tests: the interrupt lock held, an exclusive line already
    /// unmasked. The `fail_next_enable` test knob makes it fail once.
    fn on_enable(&self, locked: Option<&InterruptLocked<'_>>) -> Result {
        let counters = &self.engine.counters;
        counters.enable_hooks.add(1, Relaxed);
        if locked.is_none() || self.line_masked() == Some(true) {
            counters.hook_order_errors.add(1, Relaxed);
        }
        if self.engine.fail_next_enable.xchg(false, Relaxed) {
            return Err(EIO);
        }
        Ok(())
    }

    /// WDF's `EvtInterruptDisable`: before the line is masked.
    fn on_disable(&self, locked: Option<&InterruptLocked<'_>>) {
        let counters = &self.engine.counters;
        counters.disable_hooks.add(1, Relaxed);
        if locked.is_none() || self.line_masked() == Some(true) {
            counters.hook_order_errors.add(1, Relaxed);
        }
    }

    /// DriverKit's `InterruptOccurred(count, time)`: the count and the time of
    /// the newest interrupt, taken together under the interrupt lock. Kept for
    /// the `occurred_pair` test, then the action.
    fn interrupt_occurred(&self, gate: &Gate<'_>, count: u64, time_ns: i64) {
        let counters = &self.engine.counters;
        counters.occurred_count.store(count, Relaxed);
        counters.occurred_time_ns.store(time_ns, Relaxed);
        in_u32_pieces(count, |piece| self.action(gate, piece));
    }

    fn action(&self, gate: &Gate<'_>, _count: u32) {
        let engine = &self.engine;
        engine.counters.actions.add(1, Relaxed);
        // What the seed-API tests look at (cancel from the action, gaps).
        test_knobs_api::in_action(engine);
        // What the top half acknowledged, and with a plain source what is pending.
        let mut status = engine.pending.xchg(0, Relaxed);
        if !engine.filter_mode {
            let read = engine
                .bar
                .try_access_with(|bar| self.take_status(bar))
                .unwrap_or(0);
            if read & IRQ_TEST != 0 {
                engine.counters.test_irqs.add(1, Relaxed);
            }
            if read == 0 && status == 0 {
                engine.counters.empty_actions.add(1, Relaxed);
            }
            status |= read;
        }
        if status & IRQ_FACTORIAL != 0 {
            engine.counters.fact_irqs.add(1, Relaxed);
            engine.complete_running(gate, CompletedBy::Interrupt);
        }
        if status & IRQ_DMA != 0 {
            engine.dma_completed(gate);
        }
    }
}

impl EduIrq {
    /// Whether an MSI line is masked now (`None` for INTx, whose depth other
    /// devices or the auto-disable share, or without a descriptor).
    fn line_masked(&self) -> Option<bool> {
        if !self.msi {
            return None;
        }
        line_state(self.irq).map(|line| line.depth > 0)
    }
}

/// Probe step: one interrupt vector as `irq_mode` asks (the device slot decides
/// in the alternating mode), and its type.
pub(crate) fn irq_vector<'a>(
    pdev: &'a pci::Device<Core<'_>>,
    slot: u32,
) -> Result<(pci::IrqVector<'a>, pci::IrqType)> {
    let mode = IrqMode::try_from(*module_parameters::irq_mode.value())?;
    let alloc = |kind: pci::IrqType| {
        pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::default().with(kind))
            .map(|vectors| (*vectors.start(), kind))
    };
    let vector = match mode {
        IrqMode::Msi => alloc(pci::IrqType::Msi),
        IrqMode::Intx => alloc(pci::IrqType::Intx),
        IrqMode::Mixed if slot % 2 == 1 => alloc(pci::IrqType::Intx),
        IrqMode::Mixed => alloc(pci::IrqType::Msi),
        IrqMode::Auto => alloc(pci::IrqType::Msi).or_else(|_| alloc(pci::IrqType::Intx)),
    };
    vector.inspect_err(|err| dev_err!(pdev, "no {:?} interrupt vector: {:?}\n", mode, err))
}

/// MSI is never shared; an INTx line may be, unless the user asked for it alone
/// (then `request_irq` fails if another device has it).
pub(crate) fn irq_sharing(kind: pci::IrqType) -> Sharing {
    if matches!(kind, pci::IrqType::Intx) && *module_parameters::intx_exclusive.value() == 0 {
        Sharing::Shared
    } else {
        Sharing::Exclusive
    }
}

/// How the probe message names an interrupt type.
pub(crate) fn irq_type_name(kind: pci::IrqType) -> &'static str {
    match kind {
        pci::IrqType::Intx => "INTx",
        pci::IrqType::Msi => "MSI",
        pci::IrqType::MsiX => "MSI-X",
    }
}

/// The `irq_info` file: what the kernel says about the line (the library's
/// `info()`, WDF's `GetInfo`), and its type as read before the source existed
/// (DriverKit's static `GetInterruptType`).
pub(crate) struct IrqInfo {
    pub(crate) control: InterruptControl<EduIrq>,
    pub(crate) before: InterruptType,
}

impl fmt::Debug for IrqInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.control.info() {
            Ok(info) => write!(f, "{}", info)?,
            Err(e) => writeln!(f, "error: {:?}", e)?,
        }
        let before = match self.before {
            InterruptType::Edge => "edge",
            InterruptType::Level => "level",
        };
        writeln!(f, "type_before_source: {}", before)
    }
}

/// The `irq_ctl` knob: write `disable` or `enable` to drive the interrupt
/// source's enable state (nesting), `set_enable on` or `set_enable off` to set
/// its enable flag (DriverKit's `SetEnable`), `warm_cpu` to keep the CPUs out
/// of deep idle until the next interrupt (xnu's `warmCPU`), `affinity all`,
/// `default`, `all_close`, `one_close`, `spread`, `<cpu>` or `group <g> <mask>`
/// to set where its interrupts go (WDF's `SetPolicy`); read the driver's disable
/// count.
pub(crate) struct IrqCtl(pub(crate) InterruptControl<EduIrq>);

pub(crate) fn irq_ctl_write(ctl: &IrqCtl, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 24];
    match read_word(reader, &mut buf)? {
        "disable" => ctl.0.disable(),
        "enable" => ctl.0.enable(),
        "set_enable on" => ctl.0.set_enable(true),
        "set_enable off" => ctl.0.set_enable(false),
        "warm_cpu" => ctl.0.warm_cpu(),
        "affinity all" => ctl.0.set_affinity(AffinityPolicy::AllProcessors),
        "affinity default" => ctl.0.set_affinity(AffinityPolicy::MachineDefault),
        "affinity all_close" => ctl.0.set_affinity(AffinityPolicy::AllCloseProcessors),
        "affinity one_close" => ctl.0.set_affinity(AffinityPolicy::OneCloseProcessor),
        "affinity spread" => ctl.0.set_affinity(AffinityPolicy::SpreadMessages),
        word => match word.strip_prefix("affinity ") {
            Some(group) if group.starts_with("group ") => group_affinity(&ctl.0, group),
            Some(cpu) => {
                let cpu = CpuId::from_u32(parse_u32(cpu.as_bytes())?).ok_or(EINVAL)?;
                let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
                mask.set(cpu);
                ctl.0.set_affinity(AffinityPolicy::Processors(&mask))
            }
            None => Err(EINVAL),
        },
    }
}

/// `affinity group <g> <mask>`: WDF's `GROUP_AFFINITY` (decimal numbers).
fn group_affinity(ctl: &InterruptControl<EduIrq>, words: &str) -> Result {
    let mut parts = words.split(' ').skip(1);
    let mut next = || parse_u32(parts.next().ok_or(EINVAL)?.as_bytes());
    let group = u16::try_from(next()?).map_err(|_| EINVAL)?;
    let mask = u64::from(next()?);
    ctl.set_affinity(AffinityPolicy::Group { group, mask })
}

pub(crate) fn irq_ctl_read(ctl: &IrqCtl, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", ctl.0.disable_depth())
}
