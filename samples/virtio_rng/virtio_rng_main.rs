// SPDX-License-Identifier: GPL-2.0

//! A virtio entropy device (QEMU's `virtio-rng-pci`, modern: 1af4:1044) on the
//! work loop: its interrupts through the library only, its bytes through the
//! hwrng core (`/dev/hwrng`).
//!
//! Linux drives this device with `virtio_pci` and `virtio_rng`; this driver
//! does the PCI transport itself (`transport.rs`, `queue.rs`) so that it is a
//! whole device on [`PciVectors`]: with MSI-X, two sources on one loop, one
//! for the configuration vector and one for the queue's; without (`intx=1`,
//! or a device with no MSI-X), one source on the shared INTx line whose filter
//! reads the ISR and answers "not mine" when it is clear. The bottom half on
//! the loop harvests the used ring and wakes the reader (`rng.rs`); with
//! `hardirq=1` the top half wakes the reader, which harvests (`bell.rs`).
//!
//! `depth=1` keeps one 64-byte buffer in flight, as Linux's C driver does;
//! a larger depth keeps several, and the device fills them all at each
//! notification.
//!
//! Linux's `virtio_pci` binds every virtio device first: to hand one to this
//! driver, unbind it there and write `virtio_rng_rs` to its `driver_override`
//! (Documentation/virtio-rng.rst).

#[path = "../../src/workloop.rs"]
pub mod workloop;

mod bell;
mod irq;
mod queue;
mod rng;
mod transport;

use core::{fmt, ptr::NonNull};
use irq::{Handler, Role};
use kernel::{
    debugfs::{Dir, File as DebugfsFile},
    device::{Bound, Core, Device},
    devres::Devres,
    dma::{Device as DmaDevice, DmaMask},
    ffi::{c_char, c_int, c_long, c_uint, c_void},
    io::{poll::read_poll_timeout, Io},
    pci,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        Arc,
    },
    time::{Delta, Jiffies},
};
use queue::Queue;
use rng::Rng;
use transport::{Caps, QueueSetup, Transport};
use workloop::{
    FilterContext, FilterResult, Gate, InterruptHandler, InterruptKind, LoopOptions, PciVectors,
    SourceOptions, VectorEventSource, WorkLoop,
};

mod files;
mod hwrng;
use files::{device_dir, Files};
use hwrng::Hwrng;

/// The interrupt sources: the two MSI-X vectors, or the INTx line.
type Source<'b> = Pin<KBox<VectorEventSource<'b, Handler>>>;

/// Per-device data. `drop` wakes the readers, unregisters the hwrng and resets
/// the device; the fields then go in order: the files, the sources (their
/// lines freed), the loop, and the queue memory with the last `Arc<Rng>`.
struct RngData<'bound> {
    hwrng: Option<Hwrng>,
    _files: Option<Files>,
    _sources: KVec<Source<'bound>>,
    _work_loop: Pin<KBox<WorkLoop>>,
    rng: Arc<Rng>,
}

impl Drop for RngData<'_> {
    fn drop(&mut self) {
        self.rng.remove();
        drop(self.hwrng.take());
        // A device that has gone reads all ones and resets nothing; one that
        // does not finish within the bound is left: its lines are freed next
        // and its memory after them, as Linux's own drivers do.
        if let Err(e) = self.rng.transport.reset() {
            pr_warn!("virtio_rng_rs: reset at removal: {:?}\n", e);
        }
    }
}

impl<'bound> RngData<'bound> {
    fn probe(pdev: &'bound pci::Device<Core<'_>>) -> Result<Self> {
        pdev.enable_device_mem()?;
        pdev.set_master();
        // SAFETY: Probe, before any DMA allocation of this device.
        unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>())? };
        let pdev: &'bound pci::Device<Bound> = pdev;
        let transport = Transport::new(pdev, Caps::find(pdev)?)?;
        transport.negotiate(pdev)?;
        if transport.queue_max()? < queue::SIZE as u16 {
            dev_err!(
                pdev,
                "queue 0 has fewer than {} entries: refused\n",
                queue::SIZE
            );
            return Err(ENODEV);
        }
        let queue = Queue::new(pdev.as_ref())?;
        let kinds: &[InterruptKind] = if *module_parameters::intx.value() == 1 {
            &[InterruptKind::Line]
        } else {
            &[InterruptKind::MsiX, InterruptKind::Line]
        };
        let vectors = PciVectors::alloc_kinds(pdev, 2, kinds)?;
        let msix = vectors.kind() == InterruptKind::MsiX;
        let setup = queue.setup(msix.then_some(1));
        let depth = *module_parameters::depth.value() as usize;
        let hardirq = *module_parameters::hardirq.value() == 1;
        let rng = Arc::pin_init(Rng::new(transport, queue, depth, hardirq), GFP_KERNEL)?;
        let dir = device_dir(pdev);
        let options = LoopOptions {
            debugfs: dir.clone(),
            ..LoopOptions::default()
        };
        let work_loop = WorkLoop::new(c"virtio_rng_rs", options)?;
        let sources = start_sources(&vectors, &rng, &work_loop)?;
        let mut data = Self {
            hwrng: None,
            _files: None,
            _sources: sources,
            _work_loop: work_loop,
            rng,
        };
        // From here a failure drops `data`, which resets the device.
        data.start(&setup, dir)?;
        dev_info!(
            pdev,
            "{}, IRQ {:?} (config) {:?} (queue), depth {}\n",
            if msix { "MSI-X" } else { "INTx" },
            vectors.irq(0),
            vectors.irq(if msix { 1 } else { 0 }),
            data.rng.depth()
        );
        Ok(data)
    }

    /// Queue and `DRIVER_OK`, the buffers, then the hwrng (last: registering
    /// may start a read at once) and the files.
    fn start(&mut self, setup: &QueueSetup, dir: Option<Dir>) -> Result {
        self.rng.transport.start(setup)?;
        self.rng.fill()?;
        let hwrng = Hwrng::register(&self.rng)?;
        let instance = hwrng.instance();
        self.hwrng = Some(hwrng);
        self._files = dir.and_then(|dir| Files::new(dir, &self.rng, instance));
        Ok(())
    }
}

/// Probe step: the sources, attached to the loop and enabled.
fn start_sources<'b>(
    vectors: &PciVectors<'b>,
    rng: &Arc<Rng>,
    work_loop: &WorkLoop,
) -> Result<KVec<Source<'b>>> {
    let roles: &[(Role, &'static CStr)] = if vectors.kind() == InterruptKind::MsiX {
        &[
            (Role::Config, c"virtio_rng_rs-config"),
            (Role::Queue, c"virtio_rng_rs-queue"),
        ]
    } else {
        &[(Role::Line, c"virtio_rng_rs")]
    };
    let mut sources = KVec::new();
    for (k, &(role, name)) in (0u32..).zip(roles) {
        let handler = Handler {
            rng: rng.clone(),
            role,
        };
        let source = KBox::pin_init(
            VectorEventSource::new_vector(
                vectors,
                k,
                name,
                SourceOptions::default(),
                Ok::<_, Error>(handler),
            ),
            GFP_KERNEL,
        )?;
        work_loop.add_event_source(&*source)?;
        source.enable()?;
        sources.push(source, GFP_KERNEL)?;
    }
    Ok(sources)
}

struct VirtioRngDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <VirtioRngDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1044),
        ()
    )]
);

impl pci::Driver for VirtioRngDriver {
    type IdInfo = ();
    type Data<'bound> = RngData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        RngData::probe(pdev)
    }
}

#[pin_data]
struct VirtioRngModule {
    #[pin]
    _driver: kernel::driver::Registration<pci::Adapter<VirtioRngDriver>>,
}

impl kernel::InPlaceModule for VirtioRngModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            let depth = *module_parameters::depth.value();
            if !(1..=queue::SIZE as u32).contains(&depth) {
                pr_err!("depth={} is invalid: use 1..={}\n", depth, queue::SIZE);
                return Err(EINVAL);
            }
            for (name, value) in [
                ("intx", *module_parameters::intx.value()),
                ("hardirq", *module_parameters::hardirq.value()),
            ] {
                if value > 1 {
                    pr_err!("{}={} is invalid: use 0 or 1\n", name, value);
                    return Err(EINVAL);
                }
            }
            Ok(try_pin_init!(Self {
                _driver <- kernel::driver::Registration::new(
                    <Self as kernel::ModuleMetadata>::NAME,
                    module,
                ),
            }))
        })
    }
}

module! {
    type: VirtioRngModule,
    name: "virtio_rng_rs",
    authors: ["workloop"],
    description: "virtio entropy device on a work loop (MSI-X or INTx), through the hwrng core",
    license: "GPL v2",
    params: {
        depth: u32 {
            default: 1,
            description: "64-byte buffers kept in flight (1..=8; 1 as Linux's C driver)",
        },
        intx: u32 {
            default: 0,
            description: "1: use the INTx line even if the device has MSI-X",
        },
        hardirq: u32 {
            default: 0,
            description: "1: the queue's top half wakes the reader (as Linux's C driver); 0: the bottom half on the work loop",
        },
    },
}
