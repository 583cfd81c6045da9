// SPDX-License-Identifier: GPL-2.0

//! Driver for QEMU's `edu` teaching device, built on the workloop library:
//! the sample to copy.
//!
//! Each bound device gets one [`WorkLoop`] (thread `eduN`) on which everything
//! runs serialized: an [`InterruptEventSource`] whose filter acknowledges the
//! device in the top half, a [`TimerEventSource`] that covers QEMU 7.2's
//! occasionally lost factorial interrupt, and a [`CommandGate`] through which
//! readers and writers of `/dev/eduN` (factorials: write `n`, read `n!`) and
//! `/dev/eduN-dma` (bytes copied to the device and back by DMA) reach the
//! device. debugfs: `edu/<pci name>/` (the driver's knobs) and
//! `workloop/eduN/` (the library's statistics). The module parameters are
//! described in `module!` below.
//!
//! The files, in the order to read them:
//!
//! - `edu_main.rs`: this crate root: the PCI driver and the module;
//! - `regs.rs`: the device's registers;
//! - `params.rs`: module parameter checks;
//! - `device.rs`: probe in named steps, teardown, the misc devices;
//! - `engine.rs`: per-device state, its loop and gate, and how it stops
//!   (`counters.rs`: what it counts);
//! - `irq.rs`: the interrupt part (filter, action, `irq_ctl` knob);
//! - `factorial.rs`: `/dev/eduN` and the lost-interrupt timer;
//! - `dma.rs`: `/dev/eduN-dma`;
//! - `knobs.rs`: the debugfs files `info` and `raise`;
//! - `test_knobs.rs`: the `test` knob the guest tests drive (`test_knobs=1`);
//!   `test_knobs_api.rs` and `test_knobs_pm.rs`: its words for the seed-API
//!   and power-management tests.

#[path = "../../src/workloop.rs"]
pub mod workloop;

mod counters;
mod device;
mod dma;
mod engine;
mod factorial;
mod irq;
mod knobs;
mod params;
mod regs;
mod test_knobs;
mod test_knobs_api;
mod test_knobs_pm;

use core::fmt;
use counters::Counters;
use device::{EduDevice, EduNodes};
use dma::{dma_buffer, DmaState, EduDmaFile};
use engine::{EduEngine, ShutdownOnError};
use factorial::{CompletedBy, EduFile, FactQueue, FactTimeout};
use irq::{
    irq_ctl_read, irq_ctl_write, irq_sharing, irq_type_name, irq_vector, EduIrq, IrqCtl, IrqInfo,
};
use kernel::{cpu::CpuId, cpumask::CpumaskVar};
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
        atomic::{Acquire, Atomic, AtomicFlag, AtomicType, Relaxed, Release},
        Arc, Mutex,
    },
    time::{Delta, Instant, Monotonic},
    uaccess::UserSliceReader,
    InPlaceModule,
};
use knobs::{parse_u32, read_word, EduDebugfs};
use params::{check_params, IrqMode};
use regs::{DmaDirection, DMA_WINDOW, IRQ_DMA, IRQ_FACTORIAL, IRQ_TEST};
use test_knobs::TestKnob;
use workloop::{
    counting::in_u32_pieces, event_of, line_state, AffinityPolicy, CommandGate, FilterContext,
    FilterResult, Gate, GateCell, InterruptControl, InterruptEventSource, InterruptHandler,
    InterruptLocked, InterruptType, LoopOptions, PciPower, PmAdapter, Sharing, SourceOptions,
    TimerAction, TimerEventSource, Wake, WorkLoop,
};

type Bar0 = pci::Bar<'static, { regs::END }>;

/// `edu/` and `workloop/` in debugfs, created at module init.
// TODO: Move into per-module data once that exists (as nova-core does).
static mut DEBUGFS_ROOT: Option<(Dir, Dir)> = None;

/// The debugfs roots, for a probe.
fn debugfs_roots() -> Option<(Dir, Dir)> {
    // SAFETY: Written only at module init and exit, when no probe runs.
    unsafe { (*core::ptr::addr_of!(DEBUGFS_ROOT)).clone() }
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

/// System sleep: the loop's sources are disabled (and the loop frozen, see
/// `EduEngine::new`) until resume; interrupts counted meanwhile are delivered
/// then.
impl PciPower for EduDriver {
    fn suspend(data: Pin<&EduDevice<'_>>) -> Result {
        data.engine.work_loop.suspend()
    }

    fn resume(data: Pin<&EduDevice<'_>>) -> Result {
        data.engine.work_loop.resume()
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
    _driver: driver::Registration<PmAdapter<EduDriver>>,
    _debugfs_guard: DebugfsRootGuard,
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
