// SPDX-License-Identifier: GPL-2.0

//! Benchmark driver: the same edu device, the same raise register, three ways to
//! run a bottom half.
//!
//! `mode=0`: this library's work loop (a filter interrupt source; the action runs
//! on the loop thread, bound to `bh_cpu`). `mode=1`: a plain kernel threaded IRQ
//! (`ThreadedRegistration`; the bottom half runs in Linux's own IRQ thread, which
//! follows the IRQ's affinity). `mode=2`: a work item queued on
//! `system_highpri` from the hard handler (runs on the IRQ's CPU).
//!
//! In every mode the hard handler reads and acknowledges the interrupt status,
//! counts the interrupt and defers; the bottom half records the time it started
//! and how many interrupts it has seen. debugfs `edu_bench/`:
//!
//! - `latency`: write N: N times, take a timestamp, raise an interrupt, sleep
//!   until the bottom half ran; read: one line per sample, raise-to-bottom-half
//!   and top-half-to-bottom-half latency in nanoseconds.
//! - `throughput`: write N: raise N interrupts back to back (each after the top
//!   half acknowledged the previous one); read: `N elapsed_ns lost`.
//! - `irq`: read: the Linux IRQ number (to pin it).
//!
//! Files: `bench.rs` (the measurement), `bottom.rs` (the three bottom halves),
//! `files.rs` (debugfs); the registers are the `edu` sample's `regs.rs`.

#[path = "../../src/workloop.rs"]
pub mod workloop;

mod bench;
mod bottom;
mod files;
// The edu sample's registers; this driver uses only the interrupt ones.
#[expect(dead_code)]
#[path = "../edu/regs.rs"]
mod regs;

use bench::Bench;
use bottom::{loop_bottom, threaded_bottom, workqueue_bottom, Bottom};
use core::fmt;
use files::Files;
use kernel::{
    debugfs::{Dir, File as DebugfsFile},
    device::{Bound, Core, Device},
    devres::Devres,
    impl_has_work,
    io::{poll::read_poll_timeout, Io},
    irq::{self, IrqReturn, ThreadedIrqReturn},
    new_mutex, new_work, pci,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        Arc, Completion, Mutex,
    },
    time::{Delta, Instant, Monotonic},
    uaccess::UserSliceReader,
    workqueue::{self, Work, WorkItem},
};
use regs::IRQ_TEST;
use workloop::{
    FilterContext, FilterResult, Gate, InterruptEventSource, InterruptHandler, LoopOptions,
    Priority, Sharing, SourceOptions, WorkLoop,
};

type Bar0 = pci::Bar<'static, { regs::END }>;

/// Per-device data; `Drop` tears down in the reverse order of setup.
struct BenchDevice<'bound> {
    files: Option<Files>,
    bottom: Option<Bottom<'bound>>,
    bench: Arc<Bench>,
}

impl Drop for BenchDevice<'_> {
    fn drop(&mut self) {
        // A running measurement stops first: removing the files waits for its
        // writer.
        self.bench.close();
        drop(self.files.take());
        if let Some(bottom) = self.bottom.take() {
            bottom.release();
        }
    }
}

struct BenchDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <BenchDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_class(
            pci::Class::OTHERS.as_raw(),
            pci::ClassMask::ClassSubclass.as_raw()
        ),
        ()
    )]
);

impl pci::Driver for BenchDriver {
    type IdInfo = ();
    type Data<'bound> = BenchDevice<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        probe(pdev)
    }
}

/// Binds the edu device: checks the parameters, maps the registers, takes one
/// MSI vector, sets up the bottom half `mode` asks for and the debugfs files.
fn probe<'bound>(pdev: &'bound pci::Device<Core<'_>>) -> Result<BenchDevice<'bound>> {
    if pdev.vendor_id().as_raw() != regs::VENDOR_ID || pdev.device_id() != regs::DEVICE_ID {
        return Err(ENODEV);
    }
    let (mode, bh_cpu) = check_params(pdev)?;
    pdev.enable_device_mem()?;
    // MSI is a memory write by the device.
    pdev.set_master();
    let bar = pdev
        .iomap_region_sized::<{ regs::END }>(0, c"edu_bench")?
        .into_devres()?;
    let vectors = pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::default().with(pci::IrqType::Msi))?;
    let vector = *vectors.start();
    let bench = Bench::new(bar)?;
    let bottom = match mode {
        Mode::Loop => loop_bottom(vector, &bench, bh_cpu)?,
        Mode::Threaded => threaded_bottom(vector, &bench)?,
        Mode::Workqueue => workqueue_bottom(vector, &bench)?,
    };
    let files = Files::new(&bench)?;
    dev_info!(
        pdev,
        "edu_bench: mode {} ({}), IRQ {}, bottom half CPU {}\n",
        // CAST: The discriminant is the parameter's value.
        mode as u32,
        mode.name(),
        bench.irq.load(Relaxed),
        bh_cpu
    );
    Ok(BenchDevice {
        files: Some(files),
        bottom: Some(bottom),
        bench,
    })
}

/// The `mode` parameter: which bottom half is measured.
#[derive(Clone, Copy)]
enum Mode {
    Loop = 0,
    Threaded = 1,
    Workqueue = 2,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Loop => "work loop",
            Mode::Threaded => "threaded IRQ",
            Mode::Workqueue => "workqueue",
        }
    }
}

/// Probe step: `mode` and `bh_cpu` in range, or the probe fails saying why.
fn check_params(pdev: &pci::Device<Core<'_>>) -> Result<(Mode, u32)> {
    let mode = match *module_parameters::mode.value() {
        0 => Mode::Loop,
        1 => Mode::Threaded,
        2 => Mode::Workqueue,
        mode => {
            dev_err!(
                pdev,
                "mode={} is invalid: 0 work loop, 1 threaded IRQ, 2 workqueue\n",
                mode
            );
            return Err(EINVAL);
        }
    };
    let bh_cpu = *module_parameters::bh_cpu.value();
    if bh_cpu >= kernel::cpu::nr_cpu_ids() {
        dev_err!(pdev, "bh_cpu={} does not exist\n", bh_cpu);
        return Err(EINVAL);
    }
    Ok((mode, bh_cpu))
}

kernel::module_pci_driver! {
    type: BenchDriver,
    name: "edu_bench",
    authors: ["workloop"],
    description: "Benchmark: work loop vs threaded IRQ vs workqueue on QEMU's edu device",
    license: "GPL v2",
    params: {
        mode: u32 {
            default: 0,
            description: "0: work loop, 1: threaded IRQ, 2: workqueue from the hard handler",
        },
        bh_cpu: u32 {
            default: 0,
            description: "CPU of the work loop's thread (mode 0); pin the IRQ there too",
        },
    },
}
