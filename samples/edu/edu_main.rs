// SPDX-License-Identifier: GPL-2.0

//! Driver for QEMU's `edu` teaching device, built on the workloop library.
//!
//! This is the sample to copy. Each bound device gets:
//!
//! - one [`WorkLoop`] (thread `edu<N>`), on which everything below runs serialized;
//! - an [`InterruptEventSource`] with a filter: the top half reads the interrupt
//!   status register, answers "not mine" when it is zero (the INTx line may be
//!   shared), acknowledges the bits it saw and hands them to the action
//!   (accumulated atomically, so none is lost between top and bottom half);
//! - a [`TimerEventSource`] that covers QEMU 7.2's occasionally lost
//!   factorial-done interrupt: after a timeout the action polls the status
//!   register and completes the request itself;
//! - a [`CommandGate`] through which `/dev/eduN` readers and writers reach the
//!   request queue, which lives in a [`GateCell`] and so needs no lock.
//!
//! Userspace writes `n` to `/dev/eduN` and reads back `n!` computed by the
//! device (the result register is 32 bits: 12 is the largest `n`). Several
//! processes may use one device at once; each gets its own answers, in order.
//!
//! Module parameters: `irq_mode` (0 auto: MSI if available else INTx, 1 INTx,
//! 2 MSI, 3 alternating per device), `filter` (1: the filter acknowledges in the top half and schedules
//! without masking; 0: a plain source, the action acknowledges and a level line
//! stays masked until it did), `fact_timeout_ms` (lost-interrupt fallback).
//!
//! debugfs, per device (`edu/<pci name>/`): `raise` (write N: the device raises
//! N interrupts, one at a time, through its raise register) and `info`; the
//! library's statistics are under `workloop/edu<N>/`.

#[path = "../../src/workloop.rs"]
pub mod workloop;

mod dma;
mod factorial;
mod irq;
mod knobs;
mod test_knobs;

use core::fmt;
use dma::{DmaState, EduDmaFile};
use factorial::{EduFile, FactQueue, FactTimeout};
use irq::{irq_ctl_read, irq_ctl_write, EduIrq, IrqCtl};
use kernel::{
    debugfs::{Dir, File as DebugfsFile},
    device::{Bound, Core},
    devres::Devres,
    dma::{Coherent, Device as _, DmaMask},
    driver,
    fs::{File, Kiocb},
    io::{poll::read_poll_timeout, Io},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    new_mutex, pci,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        Arc, Mutex,
    },
    time::{Delta, Instant, Monotonic},
    uaccess::UserSliceReader,
    InPlaceModule,
};
use knobs::{parse_u32, read_word, EduDebugfs};
use test_knobs::TestKnob;
use workloop::{
    event_of, CommandGate, FilterContext, FilterResult, Gate, GateCell, InterruptControl,
    InterruptEventSource, InterruptHandler, LoopOptions, Sharing, SourceOptions, TimerAction,
    TimerEventSource, Wake, WorkLoop,
};

/// Register offsets of the edu device (BAR0; 32-bit accesses below 0x80).
mod regs {
    /// Identification, reads `0x010000ed`.
    pub(crate) const ID: usize = 0x00;
    /// Factorial: write n to start; read the result when done.
    pub(crate) const FACTORIAL: usize = 0x08;
    /// Status: bit 0 computing, bit 7 raise interrupt 0x1 when done.
    pub(crate) const STATUS: usize = 0x20;
    /// Interrupt status (read only).
    pub(crate) const IRQ_STATUS: usize = 0x24;
    /// Interrupt raise: ORs the value into the status and asserts.
    pub(crate) const IRQ_RAISE: usize = 0x60;
    /// Interrupt acknowledge: clears those status bits.
    pub(crate) const IRQ_ACK: usize = 0x64;
    /// DMA source address (64-bit).
    pub(crate) const DMA_SRC: usize = 0x80;
    /// DMA destination address (64-bit).
    pub(crate) const DMA_DST: usize = 0x88;
    /// DMA byte count (64-bit).
    pub(crate) const DMA_COUNT: usize = 0x90;
    /// DMA command: bit 0 start, bit 1 direction edu -> RAM, bit 2 interrupt when done.
    pub(crate) const DMA_CMD: usize = 0x98;
    /// Size of the register window this driver maps.
    pub(crate) const END: usize = 0x100;
}

const DMA_CMD_START: u64 = 0x1;
const DMA_CMD_TO_RAM: u64 = 0x2;
const DMA_CMD_IRQ: u64 = 0x4;
/// Device-side address of the edu's 4 KiB DMA buffer.
const EDU_DMA_WINDOW: u64 = 0x40000;
/// Longest transfer. The window is 4096 bytes, but QEMU 7.2 aborts on a transfer
/// that ends exactly at its end, so one byte less.
const DMA_MAX: usize = 4095;
/// Interrupt status bit of a finished DMA transfer.
const IRQ_DMA: u32 = 0x100;

const STATUS_COMPUTING: u32 = 0x01;
const STATUS_IRQ_ON_FACT: u32 = 0x80;
/// Interrupt status bit of a finished factorial.
const IRQ_FACT: u32 = 0x1;
/// Interrupt status bit this driver raises for tests and benchmarks.
const IRQ_TEST: u32 = 0x1_0000;

/// Largest n whose n! fits the 32-bit result register.
const FACT_MAX_N: u32 = 12;
const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;
const MAX_DEVICES: usize = 8;
/// Longest accepted write to `/dev/eduN` ("12\n" fits easily).
const MAX_WRITE: usize = 32;
/// How long `raise` waits for each interrupt to be acknowledged.
const RAISE_ACK_TIMEOUT_MS: i64 = 1000;
/// Largest burst the `raise` knob accepts.
const MAX_RAISE: u32 = 10_000_000;
/// Fewest DMA address bits a mask may have: the 16 MiB `ZONE_DMA` of x86 is the
/// lowest memory the kernel can hand out for DMA.
const DMA_BITS_MIN: u32 = 24;
/// How long teardown waits for a DMA transfer in flight to finish.
const DMA_DRAIN_TIMEOUT_MS: i64 = 500;

static MISC_NAMES: [&CStr; MAX_DEVICES] = [
    c"edu0", c"edu1", c"edu2", c"edu3", c"edu4", c"edu5", c"edu6", c"edu7",
];
static LOOP_NAMES: [&CStr; MAX_DEVICES] = MISC_NAMES;
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

/// Bitmask of used device slots (misc device and loop names).
static SLOTS: Atomic<u32> = Atomic::new(0);

/// `edu/` and `workloop/` in debugfs, created at module init.
// TODO: Move into per-module data once that exists (as nova-core does).
static mut DEBUGFS_ROOT: Option<(Dir, Dir)> = None;

type Bar0 = pci::Bar<'static, { regs::END }>;

/// How the device's interrupt vector is allocated (`irq_mode` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IrqMode {
    Auto,
    Intx,
    Msi,
    /// MSI on even device slots, INTx on odd ones (the demo shows both).
    Mixed,
}

impl TryFrom<u32> for IrqMode {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        match v {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Intx),
            2 => Ok(Self::Msi),
            3 => Ok(Self::Mixed),
            _ => Err(EINVAL),
        }
    }
}

/// Counters shown in debugfs `info` and used by the tests.
struct Counters {
    test_irqs: Atomic<u64>,
    fact_irqs: Atomic<u64>,
    fact_done: Atomic<u64>,
    fact_recovered: Atomic<u64>,
    raised: Atomic<u64>,
    raise_timeouts: Atomic<u64>,
    /// Actions of a plain source that found nothing to do: the top half was
    /// spurious (a level line re-delivered after the device dropped it).
    empty_actions: Atomic<u64>,
}

impl Counters {
    const fn new() -> Self {
        Self {
            test_irqs: Atomic::new(0),
            fact_irqs: Atomic::new(0),
            fact_done: Atomic::new(0),
            fact_recovered: Atomic::new(0),
            raised: Atomic::new(0),
            raise_timeouts: Atomic::new(0),
            empty_actions: Atomic::new(0),
        }
    }
}

/// Per-device state shared by the interrupt handler, the timer, and open files.
#[pin_data]
struct EduEngine {
    bar: Devres<Bar0>,
    pci_name: CString,
    filter_mode: bool,
    fact_timeout: Delta,
    work_loop: Pin<KBox<WorkLoop>>,
    gate: CommandGate,
    queue: GateCell<FactQueue>,
    /// The timeout source; `None` after teardown (it holds a reference to `self`).
    #[pin]
    timer: Mutex<Option<TimerEventSource<FactTimeout>>>,
    /// Interrupt status bits acknowledged by the filter, not yet seen by the action.
    pending: Atomic<u32>,
    /// Host side of DMA transfers (`None`: no DMA memory the device can reach);
    /// access serialized by `dma` (gate held).
    dma_buf: Option<Coherent<[u8]>>,
    /// DMA state; only touched holding the gate.
    dma: GateCell<DmaState>,
    counters: Counters,
    /// Set when the device goes away: new requests fail with `ENODEV`.
    gone: AtomicFlag,
    /// Test knob: the filter also answers "schedule" after signalling.
    signal_and_schedule: AtomicFlag,
    /// Test knob: interrupts are not acknowledged (the device keeps its line
    /// asserted: an interrupt storm).
    skip_ack: AtomicFlag,
    /// Test knob: the filter answers "not mine" to everything.
    deaf: AtomicFlag,
}

impl EduEngine {
    /// Probe step: the engine with its work loop (named `loop_name`, statistics
    /// under `loop_debugfs`) and command gate; the timer comes with
    /// [`EduEngine::start_timer`].
    fn new(
        pdev: &pci::Device<Core<'_>>,
        bar: Devres<Bar0>,
        dma_buf: Option<Coherent<[u8]>>,
        loop_name: &'static CStr,
        loop_debugfs: Option<Dir>,
    ) -> Result<Arc<Self>> {
        let work_loop = WorkLoop::new(
            loop_name,
            LoopOptions {
                debugfs: loop_debugfs,
                ..LoopOptions::default()
            },
        )?;
        let gate = CommandGate::new(c"commands")?;
        work_loop.add_event_source(&gate)?;
        let dma = GateCell::new(
            &work_loop,
            DmaState {
                busy: false,
                done: false,
                stored: 0,
            },
        );
        let queue = GateCell::new(
            &work_loop,
            FactQueue {
                waiting: KVec::new(),
                running: None,
            },
        );
        let timeout_ms = *module_parameters::fact_timeout_ms.value();
        Arc::pin_init(
            try_pin_init!(EduEngine {
                bar,
                pci_name: pdev.as_ref().name().to_cstring()?,
                filter_mode: *module_parameters::filter.value() != 0,
                fact_timeout: Delta::from_millis(timeout_ms.into()),
                work_loop,
                gate,
                queue,
                timer <- new_mutex!(None),
                pending: Atomic::new(0),
                dma_buf,
                dma,
                counters: Counters::new(),
                gone: AtomicFlag::new(false),
                signal_and_schedule: AtomicFlag::new(false),
                skip_ack: AtomicFlag::new(false),
                deaf: AtomicFlag::new(false),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Probe step: the lost-interrupt timer, on the engine's loop. It holds the
    /// engine: a probe that fails after this must shut the engine down.
    fn start_timer(self: &Arc<Self>) -> Result {
        let timer = TimerEventSource::new(
            c"fact-timeout",
            FactTimeout {
                engine: self.clone(),
            },
        )?;
        self.work_loop.add_event_source(&timer)?;
        *self.timer.lock() = Some(timer);
        Ok(())
    }

    /// Raises `n` interrupts one at a time, each after the previous one was
    /// acknowledged, so every raise is one interrupt. Process context.
    /// Stops at once (`ENODEV`) when the device goes away and on a signal
    /// (`EINTR`), so removal never waits for a long burst.
    fn raise(&self, n: u32) -> Result {
        for _ in 0..n {
            if self.gone.load(Acquire) {
                return Err(ENODEV);
            }
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            // `try_access_with` holds the RCU read lock only for the closure: never
            // across a sleep.
            self.bar
                .try_access_with(|bar| bar.write32(IRQ_TEST, regs::IRQ_RAISE))
                .ok_or(ENODEV)?;
            self.counters.raised.add(1, Relaxed);
            // Wait for the acknowledgement, sleeping between looks: with a plain
            // source it is the action, on the loop thread, that acknowledges.
            let acked = read_poll_timeout(
                || {
                    if self.gone.load(Acquire) {
                        return Err(ENODEV);
                    }
                    self.bar
                        .try_access_with(|bar| bar.read32(regs::IRQ_STATUS))
                        .ok_or(ENODEV)
                },
                |status| status & IRQ_TEST == 0,
                Delta::from_micros(20),
                Delta::from_millis(RAISE_ACK_TIMEOUT_MS),
            );
            if acked == Err(ETIMEDOUT) {
                self.counters.raise_timeouts.add(1, Relaxed);
            }
            acked?;
        }
        Ok(())
    }

    /// Marks the device gone for userspace: new requests and `raise` bursts stop
    /// with `ENODEV`, readers and writers waiting in the gate fail, and closures
    /// inside it finish before this returns. Process context; idempotent.
    fn withdraw(&self) {
        self.gone.store(true, Release);
        self.gate.close();
    }

    /// Stops everything that can touch the device. Process context; idempotent
    /// (also the clean-up of a probe that failed half-way).
    fn shutdown(&self) {
        self.withdraw();
        let timer = self.timer.lock().take();
        drop(timer);
        if self.work_loop.stop().is_err() {
            pr_warn!("edu: work loop stopped from its own thread\n");
        }
        self.quiesce();
    }

    /// Quiets the device: no factorial interrupt, no DMA in flight (the buffer may
    /// be freed next), nothing left asserted on a possibly shared line.
    fn quiesce(&self) {
        self.bar.try_access_with(|bar| bar.write32(0, regs::STATUS));
        // QEMU runs a transfer 100 ms after it was started; wait for it to finish.
        let drained = read_poll_timeout(
            || {
                Ok(self
                    .bar
                    .try_access_with(|bar| bar.read64(regs::DMA_CMD))
                    .unwrap_or(0))
            },
            |cmd| cmd & DMA_CMD_START == 0,
            Delta::from_millis(1),
            Delta::from_millis(DMA_DRAIN_TIMEOUT_MS),
        );
        if drained.is_err() {
            pr_warn!("edu: DMA still running at teardown\n");
        }
        self.bar
            .try_access_with(|bar| bar.write32(!0, regs::IRQ_ACK));
    }
}

/// What userspace opens: `/dev/eduN` and `/dev/eduN-dma`, next to the engine
/// their files use (`open` finds it with `container_of!`).
#[pin_data]
struct EduNodes {
    engine: Arc<EduEngine>,
    /// `/dev/eduN`.
    #[pin]
    misc: MiscDeviceRegistration<EduFile>,
    /// `/dev/eduN-dma`.
    #[pin]
    dma_misc: MiscDeviceRegistration<EduDmaFile>,
}

impl EduNodes {
    /// The engine for a file being opened; `ENODEV` once the device goes away.
    fn engine_for_open(&self) -> Result<Arc<EduEngine>> {
        if self.engine.gone.load(Acquire) {
            return Err(ENODEV);
        }
        Ok(self.engine.clone())
    }
}

/// Per-device driver data, valid while the device is bound (`'bound`): the
/// interrupt source cannot outlive the binding its line belongs to.
#[pin_data(PinnedDrop)]
struct EduDevice<'bound> {
    engine: Arc<EduEngine>,
    slot: u32,
    #[pin]
    debugfs: Mutex<Option<EduDebugfs>>,
    #[pin]
    nodes: EduNodes,
    #[pin]
    irq: InterruptEventSource<'bound, EduIrq>,
}

/// Shuts the engine down if a probe fails after its loop and timer exist.
struct ShutdownOnError(Option<Arc<EduEngine>>);

impl ShutdownOnError {
    /// The probe succeeded: the device's `PinnedDrop` shuts the engine down.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for ShutdownOnError {
    fn drop(&mut self) {
        if let Some(engine) = self.0.take() {
            engine.shutdown();
        }
    }
}

/// Releases a device slot on drop (also on a failed probe).
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
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = SLOTS.load(Relaxed);
        while let Err(now) = SLOTS.cmpxchg(used, used & !(1 << self.0), Relaxed) {
            used = now;
        }
    }
}

impl<'a> EduDevice<'a> {
    /// Binds one edu device, in named steps: map its registers, set up DMA,
    /// take a device slot and an interrupt vector, start the engine (work loop,
    /// command gate, timer), make the debugfs files, then the misc devices and
    /// the interrupt source.
    fn probe(pdev: &'a pci::Device<Core<'_>>) -> Result<impl PinInit<Self, Error> + 'a> {
        if pdev.vendor_id().as_raw() != EDU_VENDOR || pdev.device_id() != EDU_DEVICE {
            return Err(ENODEV);
        }
        let (bar, id) = map_registers(pdev)?;
        let dma_buf = dma_buffer(pdev);
        let slot_guard = Slot::take().inspect_err(|_| {
            dev_err!(pdev, "more than {} edu devices\n", MAX_DEVICES);
        })?;
        let (vector, msi) = irq_vector(pdev, slot_guard.0)?;
        // CAST: `slot < MAX_DEVICES`.
        let idx = slot_guard.0 as usize;
        // SAFETY: Written only at module init and exit, when no probe runs.
        let roots = unsafe { (*core::ptr::addr_of!(DEBUGFS_ROOT)).clone() };
        let engine = EduEngine::new(
            pdev,
            bar,
            dma_buf,
            LOOP_NAMES[idx],
            roots.as_ref().map(|(_, wl)| wl.clone()),
        )?;
        // The timer holds the engine: from here on a failed probe must break that
        // cycle and stop the loop, which `ShutdownOnError` does.
        let cleanup = ShutdownOnError(Some(engine.clone()));
        engine.start_timer()?;
        let debugfs = roots.and_then(|(edu, _)| EduDebugfs::new(&edu, &engine));

        let slot_no = slot_guard.0;
        // From here on only the bound device is needed (not the probe-time `Core`).
        let pdev: &'a pci::Device<Bound> = pdev;
        let (nodes_engine, irq_engine) = (engine.clone(), engine.clone());
        Ok(try_pin_init!(Self {
            engine: engine.clone(),
            slot: slot_no,
            debugfs <- new_mutex!(debugfs),
            nodes <- try_pin_init!(EduNodes {
                engine: nodes_engine,
                misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                    name: MISC_NAMES[idx],
                }),
                dma_misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                    name: DMA_NAMES[idx],
                }),
            }? Error),
            irq <- InterruptEventSource::new(
                vector.try_into()?,
                c"edu",
                irq_sharing(msi),
                SourceOptions {
                    storm_per_sec: *module_parameters::storm_per_sec.value(),
                    ..SourceOptions::default()
                },
                Ok::<_, Error>(EduIrq { engine: irq_engine }),
            ),
            _: {
                engine.work_loop.add_event_source(&*irq)?;
                irq.enable()?;
                if let Some(d) = &mut *debugfs.lock() {
                    d.add_irq_files(engine, &irq);
                }
                dev_info!(
                    pdev,
                    "id {:#010x}, {} on IRQ {} ({}, {}), {} source, /dev/{}\n",
                    id,
                    if msi { "MSI" } else { "INTx" },
                    irq.irq(),
                    if irq.is_level_triggered() { "level" } else { "edge" },
                    if irq.is_shared() { "shared" } else { "exclusive" },
                    if engine.filter_mode { "filter" } else { "plain" },
                    MISC_NAMES[idx].to_str().unwrap_or("?")
                );
                // The slot and the engine now belong to the device; `PinnedDrop`
                // releases them.
                core::mem::forget(slot_guard);
                cleanup.disarm();
            },
        }? Error))
    }
}

/// Probe step: enables the device and maps BAR0; returns it with the ID register.
fn map_registers(pdev: &pci::Device<Core<'_>>) -> Result<(Devres<Bar0>, u32)> {
    pdev.enable_device_mem()?;
    pdev.set_master();
    let bar = pdev.iomap_region_sized::<{ regs::END }>(0, c"edu")?;
    let id = bar.read32(regs::ID);
    if id & 0xff != 0xed {
        dev_err!(pdev, "unexpected id {:#010x}: not an edu device\n", id);
        return Err(ENODEV);
    }
    Ok((bar.into_devres()?, id))
}

/// Probe step: the host side of DMA transfers. DMA is optional: without memory
/// the device can reach (a 28-bit engine on a kernel without `CONFIG_ZONE_DMA`)
/// the driver works without `/dev/eduN-dma`.
fn dma_buffer(pdev: &pci::Device<Core<'_>>) -> Option<Coherent<[u8]>> {
    let dma_bits = *module_parameters::dma_bits.value();
    DmaMask::try_new(dma_bits)
        .and_then(|mask| {
            // SAFETY: Probe: no DMA is set up yet, and nothing else changes the mask.
            unsafe { pdev.dma_set_mask_and_coherent(mask) }
        })
        .and_then(|()| Coherent::<u8>::zeroed_slice(pdev.as_ref(), DMA_MAX + 1, GFP_KERNEL))
        .inspect_err(|e| {
            dev_warn!(
                pdev,
                "no {}-bit DMA ({:?}): /dev/edu*-dma disabled; a kernel without \
                 CONFIG_ZONE_DMA needs edu,dma_mask=0xffffffff and dma_bits=32\n",
                dma_bits,
                e
            )
        })
        .ok()
}

/// Probe step: one interrupt vector as `irq_mode` asks (device slot `slot`
/// decides in the alternating mode); returns it and whether it is MSI.
fn irq_vector<'a>(
    pdev: &'a pci::Device<Core<'_>>,
    slot: u32,
) -> Result<(pci::IrqVector<'a>, bool)> {
    let mode = IrqMode::try_from(*module_parameters::irq_mode.value())?;
    let alloc = |t: pci::IrqType| pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::default().with(t));
    let (vectors, msi) = match mode {
        IrqMode::Msi => (alloc(pci::IrqType::Msi), true),
        IrqMode::Intx => (alloc(pci::IrqType::Intx), false),
        IrqMode::Mixed if slot % 2 == 1 => (alloc(pci::IrqType::Intx), false),
        IrqMode::Mixed => (alloc(pci::IrqType::Msi), true),
        IrqMode::Auto => match alloc(pci::IrqType::Msi) {
            Ok(v) => (Ok(v), true),
            Err(_) => (alloc(pci::IrqType::Intx), false),
        },
    };
    let vectors =
        vectors.inspect_err(|e| dev_err!(pdev, "no {:?} interrupt vector: {:?}\n", mode, e))?;
    Ok((*vectors.start(), msi))
}

/// MSI is never shared; an INTx line may be, unless the user asked for it alone
/// (then `request_irq` fails if another device has it).
fn irq_sharing(msi: bool) -> Sharing {
    if msi || *module_parameters::intx_exclusive.value() == 1 {
        Sharing::Exclusive
    } else {
        Sharing::Shared
    }
}

#[pinned_drop]
impl PinnedDrop for EduDevice<'_> {
    fn drop(self: Pin<&mut Self>) {
        // Teardown in the reverse order of setup. First the device is gone for
        // userspace, so that nothing below waits for a call that may not end: a
        // `raise` burst stops, requests waiting in the gate fail.
        self.engine.withdraw();
        // The debugfs files, taken out of the mutex and removed without holding it
        // (removal waits for a writer in flight, which now stops at once).
        let files = self.debugfs.lock().take();
        drop(files);
        // Everything that runs on the loop; the device is quieted.
        self.engine.shutdown();
        drop(Slot(self.slot));
        // Then (fields, in declaration order) /dev/eduN and the interrupt line.
    }
}

/// A reference to this module, held by every open file, so that `rmmod` refuses
/// ("in use") while a file is open instead of freeing the code the file's
/// operations run. Kernel 7.2's miscdevice file operations have no `.owner`,
/// which would do this for us; until then the sample takes the reference itself.
struct ModuleRef;

impl ModuleRef {
    fn get() -> Result<Self> {
        // SAFETY: `THIS_MODULE` describes this module, which is live while its
        // code runs.
        if unsafe { kernel::bindings::try_module_get(THIS_MODULE.as_ptr()) } {
            Ok(Self)
        } else {
            Err(ENODEV)
        }
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: Releases the reference `get` took.
        unsafe { kernel::bindings::module_put(THIS_MODULE.as_ptr()) };
    }
}

struct EduDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <EduDriver as pci::Driver>::IdInfo,
    [(
        // 7.2 has no `pci::Vendor` for QEMU's 0x1234: match the class, check the
        // vendor and device in `probe`.
        pci::DeviceId::from_class(
            pci::Class::OTHERS.as_raw(),
            pci::ClassMask::ClassSubclass.as_raw()
        ),
        ()
    )]
);

impl pci::Driver for EduDriver {
    type IdInfo = ();
    type Data<'bound> = EduDevice<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || EduDevice::probe(pdev))
    }
}

/// Clears the debugfs roots after the driver is unregistered.
struct DebugfsRootGuard;

impl Drop for DebugfsRootGuard {
    fn drop(&mut self) {
        // SAFETY: Dropped after `_driver` (field order): no probe can run.
        unsafe { *core::ptr::addr_of_mut!(DEBUGFS_ROOT) = None };
    }
}

#[pin_data]
struct EduModule {
    #[pin]
    _driver: driver::Registration<pci::Adapter<EduDriver>>,
    _debugfs_guard: DebugfsRootGuard,
}

/// Refuses a module parameter outside what it accepts, saying what to use.
fn check_param(name: &str, value: u32, ok: bool, hint: &str) -> Result {
    if !ok {
        pr_err!("edu: {}={} is invalid: use {}\n", name, value, hint);
        return Err(EINVAL);
    }
    Ok(())
}

/// Module init step: every parameter is in range, or `insmod` fails saying why.
fn check_params() -> Result {
    let mode = *module_parameters::irq_mode.value();
    let ok = IrqMode::try_from(mode).is_ok();
    check_param(
        "irq_mode",
        mode,
        ok,
        "0 (auto), 1 (INTx), 2 (MSI) or 3 (alternating)",
    )?;
    let filter = *module_parameters::filter.value();
    check_param("filter", filter, filter <= 1, "1 (filter) or 0 (plain)")?;
    let dma_bits = *module_parameters::dma_bits.value();
    // The hint names `DMA_BITS_MIN`, 24 (checked at build time).
    const _: () = assert!(DMA_BITS_MIN == 24);
    check_param(
        "dma_bits",
        dma_bits,
        (DMA_BITS_MIN..=64).contains(&dma_bits),
        "the number of address bits the device's DMA engine decodes, 24..=64 \
         (QEMU's edu: 28, or its dma_mask property)",
    )?;
    let knobs = *module_parameters::test_knobs.value();
    check_param("test_knobs", knobs, knobs <= 1, "0 or 1")?;
    let storm = *module_parameters::storm_per_sec.value();
    check_param(
        "storm_per_sec",
        storm,
        storm <= 10_000_000,
        "0 (off) or up to 10000000",
    )?;
    let exclusive = *module_parameters::intx_exclusive.value();
    check_param(
        "intx_exclusive",
        exclusive,
        exclusive <= 1,
        "0 (shared) or 1 (exclusive)",
    )?;
    let timeout = *module_parameters::fact_timeout_ms.value();
    check_param(
        "fact_timeout_ms",
        timeout,
        (1..=10_000).contains(&timeout),
        "1..=10000",
    )
}

impl InPlaceModule for EduModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            check_params()?;
            // SAFETY: Module init: no probe runs yet.
            unsafe {
                *core::ptr::addr_of_mut!(DEBUGFS_ROOT) =
                    Some((Dir::new(c"edu"), Dir::new(c"workloop")));
            }
            // Made before the registration: if that fails, dropping the guard
            // removes the directories again.
            let debugfs_guard = DebugfsRootGuard;
            Ok(try_pin_init!(Self {
                _driver <- driver::Registration::new(<LocalModule as kernel::ModuleMetadata>::NAME, module),
                _debugfs_guard: debugfs_guard,
            }))
        })
    }
}

module! {
    type: EduModule,
    name: "edu",
    authors: ["workloop"],
    description: "QEMU edu device driver on the workloop library",
    license: "GPL v2",
    params: {
        irq_mode: u32 {
            default: 0,
            description: "0: MSI if available, else INTx; 1: INTx; 2: MSI; 3: MSI/INTx alternating",
        },
        filter: u32 {
            default: 1,
            description: "1: filter acknowledges in the top half; 0: plain source (auto-disable)",
        },
        dma_bits: u32 {
            default: 28,
            description: "Address bits the device's DMA engine decodes (QEMU edu dma_mask; 28 by default)",
        },
        fact_timeout_ms: u32 {
            default: 50,
            description: "Lost factorial interrupt fallback, milliseconds (1..=10000)",
        },
        test_knobs: u32 {
            default: 0,
            description: "1: debugfs edu/<pci>/test for the guest tests (see test_knobs.rs)",
        },
        storm_per_sec: u32 {
            default: 200000,
            description: "Interrupts per second above which a level line is throttled (0: off; at most 10000000)",
        },
        intx_exclusive: u32 {
            default: 0,
            description: "1: request an INTx line exclusively (probe fails if another device uses it); 0: shared",
        },
    },
}
