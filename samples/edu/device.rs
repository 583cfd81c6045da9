// SPDX-License-Identifier: GPL-2.0

//! One bound device: the probe, in named steps, and its teardown; the device
//! slot that names `/dev/eduN` and the loop; the misc devices userspace opens.

use super::*;

const MAX_DEVICES: usize = 8;

/// `/dev/eduN`, also the name of the device's work loop (thread `eduN`).
static NAMES: [&CStr; MAX_DEVICES] = [
    c"edu0", c"edu1", c"edu2", c"edu3", c"edu4", c"edu5", c"edu6", c"edu7",
];
/// `/dev/eduN-dma`.
static DMA_NAMES: [&CStr; MAX_DEVICES] = [
    c"edu0-dma",
    c"edu1-dma",
    c"edu2-dma",
    c"edu3-dma",
    c"edu4-dma",
    c"edu5-dma",
    c"edu6-dma",
    c"edu7-dma",
];

/// Bitmask of used device slots.
static SLOTS: Atomic<u32> = Atomic::new(0);

/// A device slot, `N` in the names; released on drop (also on a failed probe).
struct Slot(u32);

impl Slot {
    fn take() -> Result<Self> {
        loop {
            let used = SLOTS.load(Relaxed);
            // CAST: `trailing_ones` of a `u32` is at most 32.
            let slot = used.trailing_ones();
            if slot as usize >= MAX_DEVICES {
                return Err(ENOSPC);
            }
            if SLOTS.cmpxchg(used, used | (1 << slot), Relaxed).is_ok() {
                return Ok(Self(slot));
            }
        }
    }

    fn index(&self) -> usize {
        // CAST: `take` hands out slots below `MAX_DEVICES`.
        self.0 as usize
    }

    /// `eduN`: `/dev/eduN` and the work loop.
    fn name(&self) -> &'static CStr {
        // PANIC: `index() < MAX_DEVICES`, the length of `NAMES`.
        NAMES[self.index()]
    }

    /// `eduN-dma`: `/dev/eduN-dma`.
    fn dma_name(&self) -> &'static CStr {
        // PANIC: `index() < MAX_DEVICES`, the length of `DMA_NAMES`.
        DMA_NAMES[self.index()]
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = SLOTS.load(Relaxed);
        while let Err(now) = SLOTS.cmpxchg(used, used & !(1 << self.0), Relaxed) {
            used = now;
        }
    }
}

/// What userspace opens: `/dev/eduN` and `/dev/eduN-dma`, next to the engine
/// their files use.
#[pin_data]
pub(crate) struct EduNodes {
    engine: Arc<EduEngine>,
    #[pin]
    misc: MiscDeviceRegistration<EduFile>,
    #[pin]
    dma_misc: MiscDeviceRegistration<EduDmaFile>,
}

/// A file type opened through one of the registrations in [`EduNodes`].
///
/// # Safety
///
/// Every `MiscDeviceRegistration<Self>` is the field of an [`EduNodes`] at byte
/// offset [`NodeFile::FIELD`].
pub(crate) unsafe trait NodeFile: MiscDevice {
    const FIELD: usize;
}

// SAFETY: `EduNodes::misc` is the only `MiscDeviceRegistration<EduFile>`.
unsafe impl NodeFile for EduFile {
    const FIELD: usize = core::mem::offset_of!(EduNodes, misc);
}

// SAFETY: `EduNodes::dma_misc` is the only `MiscDeviceRegistration<EduDmaFile>`.
unsafe impl NodeFile for EduDmaFile {
    const FIELD: usize = core::mem::offset_of!(EduNodes, dma_misc);
}

impl EduNodes {
    fn new(engine: Arc<EduEngine>, slot: &Slot) -> impl PinInit<Self, Error> {
        let (name, dma_name) = (slot.name(), slot.dma_name());
        try_pin_init!(EduNodes {
            engine,
            misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name }),
            dma_misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name: dma_name }),
        }? Error)
    }

    /// For a file's `open`: what the file holds, a module reference and the
    /// engine; `ENODEV` once the device goes away.
    pub(crate) fn open<T: NodeFile>(
        misc: &MiscDeviceRegistration<T>,
    ) -> Result<(ModuleRef, Arc<EduEngine>)> {
        // SAFETY: By `NodeFile`, `misc` sits at `T::FIELD` in an `EduNodes`, which
        // outlives its registrations (`open` cannot run after deregistration).
        let nodes = unsafe { &*core::ptr::from_ref(misc).byte_sub(T::FIELD).cast::<Self>() };
        if nodes.engine.closed.load(Acquire) {
            return Err(ENODEV);
        }
        Ok((ModuleRef::get()?, nodes.engine.clone()))
    }
}

/// Per-device driver data, valid while the device is bound (`'bound`): the
/// interrupt source cannot outlive the binding its line belongs to.
#[pin_data(PinnedDrop)]
pub(crate) struct EduDevice<'bound> {
    pub(crate) engine: Arc<EduEngine>,
    #[pin]
    debugfs: Mutex<Option<EduDebugfs>>,
    #[pin]
    nodes: EduNodes,
    #[pin]
    irq: InterruptEventSource<'bound, EduIrq>,
    /// Dropped last: another device may take the names only once the misc
    /// devices are gone.
    slot: Slot,
}

impl<'a> EduDevice<'a> {
    /// Binds one edu device, in named steps: map its registers, set up DMA,
    /// take a device slot and an interrupt vector, start the engine (work loop,
    /// command gate, timer), make the debugfs files, then the misc devices and
    /// the interrupt source.
    pub(crate) fn probe(pdev: &'a pci::Device<Core<'_>>) -> Result<impl PinInit<Self, Error> + 'a> {
        if pdev.vendor_id().as_raw() != regs::VENDOR_ID || pdev.device_id() != regs::DEVICE_ID {
            return Err(ENODEV);
        }
        let (bar, id) = map_registers(pdev)?;
        let dma_buf = dma_buffer(pdev);
        let slot = Slot::take().inspect_err(|_| {
            dev_err!(pdev, "more than {} edu devices\n", MAX_DEVICES);
        })?;
        let (vector, kind) = irq_vector(pdev, slot.0)?;
        let request = vector.try_into()?;
        // DriverKit's static GetInterruptType: the line's type before a source.
        let before = InterruptType::of(&request)?;
        let roots = debugfs_roots();
        let loop_debugfs = roots.as_ref().map(|(_, workloop)| workloop.clone());
        let engine = EduEngine::new(pdev, bar, dma_buf, slot.name(), loop_debugfs)?;
        // The timer holds the engine: from here on a failed probe must break that
        // cycle and stop the loop, which `ShutdownOnError` does.
        let cleanup = ShutdownOnError::new(&engine);
        engine.start_timer()?;
        let debugfs = roots.and_then(|(edu, _)| EduDebugfs::new(&edu, &engine));
        let options = SourceOptions {
            storm_per_sec: *module_parameters::storm_per_sec.value(),
            // The filter acknowledges the device under the interrupt lock; the
            // tests take it to exclude the top half.
            interrupt_lock: true,
            ..SourceOptions::default()
        };
        let handler = EduIrq {
            engine: engine.clone(),
            irq: request.irq(),
            msi: matches!(kind, pci::IrqType::Msi),
        };
        let nodes = EduNodes::new(engine.clone(), &slot);
        // From here on only the bound device is needed (not the probe-time `Core`).
        let pdev: &'a pci::Device<Bound> = pdev;
        // The slot first: if a later field fails, it is released after them.
        Ok(try_pin_init!(Self {
            slot,
            nodes <- nodes,
            engine,
            debugfs <- new_mutex!(debugfs),
            irq <- InterruptEventSource::new(
                request,
                c"edu",
                irq_sharing(kind),
                options,
                Ok::<_, Error>(handler),
            ),
            _: {
                attach_irq(engine, &irq, &debugfs, before)?;
                report(pdev, id, kind, &irq, engine, slot);
                cleanup.disarm();
            },
        }? Error))
    }
}

/// Probe step: enables the device and maps BAR0; returns it with the ID register.
fn map_registers(pdev: &pci::Device<Core<'_>>) -> Result<(Devres<Bar0>, regs::ID)> {
    pdev.enable_device_mem()?;
    // MSI and DMA are memory writes by the device.
    pdev.set_master();
    let bar = pdev.iomap_region_sized::<{ regs::END }>(0, c"edu")?;
    let id = bar.read(regs::ID);
    if id.magic() != 0xed {
        dev_err!(
            pdev,
            "unexpected id {:#010x}: not an edu device\n",
            id.into_raw()
        );
        return Err(ENODEV);
    }
    Ok((bar.into_devres()?, id))
}

/// Probe step: the interrupt source joins the engine's loop and starts; the
/// debugfs files that need it follow.
fn attach_irq(
    engine: &Arc<EduEngine>,
    irq: &InterruptEventSource<'_, EduIrq>,
    debugfs: &Mutex<Option<EduDebugfs>>,
    before: InterruptType,
) -> Result {
    engine.work_loop.add_event_source(irq)?;
    irq.enable()?;
    if let Some(files) = &mut *debugfs.lock() {
        files.add_irq_files(engine, irq, before);
    }
    Ok(())
}

/// The probe's last word: what the device got (the guest tests read it).
fn report(
    pdev: &pci::Device<Bound>,
    id: regs::ID,
    kind: pci::IrqType,
    irq: &InterruptEventSource<'_, EduIrq>,
    engine: &EduEngine,
    slot: &Slot,
) {
    let trigger = if irq.is_level_triggered() {
        "level"
    } else {
        "edge"
    };
    let sharing = if irq.is_shared() {
        "shared"
    } else {
        "exclusive"
    };
    let source = if engine.filter_mode {
        "filter"
    } else {
        "plain"
    };
    dev_info!(
        pdev,
        "id {:#010x}, {} on IRQ {} ({}, {}), {} source, /dev/{}\n",
        id.into_raw(),
        irq_type_name(kind),
        irq.irq(),
        trigger,
        sharing,
        source,
        slot.name().to_str().unwrap_or("?")
    );
}

#[pinned_drop]
impl PinnedDrop for EduDevice<'_> {
    fn drop(self: Pin<&mut Self>) {
        // Teardown in the reverse order of setup. First the device is closed for
        // userspace, so that nothing below waits for a call that may not end: a
        // `raise` burst stops, requests waiting in the gate fail.
        self.engine.withdraw();
        // The debugfs files, taken out of the mutex and removed without holding it
        // (removal waits for a writer in flight, which now stops at once).
        let files = self.debugfs.lock().take();
        drop(files);
        // Everything that runs on the loop; the device is quieted.
        self.engine.shutdown();
        // Then (fields, in declaration order) /dev/eduN, the interrupt line and
        // the slot.
    }
}
