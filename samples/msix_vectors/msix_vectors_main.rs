// SPDX-License-Identifier: GPL-2.0

//! One interrupt source per MSI-X vector, all on one work loop, for QEMU's
//! `e1000e` (Intel 82574L, `-device e1000e`; no networking: only its interrupt
//! causes are used).
//!
//! At probe the driver asks for `vectors` vectors with WDF's all-or-one rule
//! ([`PciVectors::alloc`]: MSI-X, then MSI, then exactly one; `intx_only=1`
//! skips to the INTx line, a level line the library auto-disables while its
//! action is due), routes the
//! chip's causes to them (cause K to vector K, `nic.rs`) and makes one
//! interrupt source per vector, or with `one_source=1` one source for all of
//! them. Each source's filter counts the interrupt under the vector it serves
//! and checks that the message it is told ([`FilterContext::message`]) is that
//! vector; each action counts what the library delivered. debugfs
//! `msix_vectors-<pci>/` raises causes on demand and shows the counts
//! (`knobs.rs`).
//!
//! [`FilterContext::message`]: workloop::FilterContext::message

#[path = "../../src/workloop.rs"]
pub mod workloop;

mod knobs;
mod nic;

use core::fmt;
use kernel::{
    debugfs::{Dir, File as DebugfsFile},
    device::{Bound, Core, Device},
    devres::Devres,
    io::{poll::read_poll_timeout, register, Io},
    pci,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Relaxed, Release},
        Arc,
    },
    time::{delay::fsleep, Delta},
    uaccess::UserSliceReader,
};
use knobs::{Files, Grant};
use nic::{Cause, Nic, MAX_VECTORS};
use workloop::{
    FilterContext, FilterResult, Gate, InterruptControl, InterruptHandler, InterruptKind,
    LoopOptions, PciVectors, SourceOptions, VectorEventSource, WorkLoop,
};

/// The names of the per-vector sources (and of their lines in
/// `/proc/interrupts`).
static NAMES: [&CStr; MAX_VECTORS as usize] = [
    c"msix_vec0",
    c"msix_vec1",
    c"msix_vec2",
    c"msix_vec3",
    c"msix_vec4",
];

/// The interrupt sources: one a vector, or one for all.
struct Sources<'bound> {
    _each: KVec<Pin<KBox<VectorEventSource<'bound, Cause>>>>,
    _all: Option<Pin<KBox<VectorEventSource<'bound, Cause>>>>,
}

impl Sources<'_> {
    /// A handle on each per-vector source, for the `lock` knob.
    fn controls(&self) -> Result<KVec<InterruptControl<Cause>>> {
        let mut controls = KVec::with_capacity(self._each.len(), GFP_KERNEL)?;
        for source in self._each.iter() {
            controls.push(source.control(), GFP_KERNEL)?;
        }
        Ok(controls)
    }
}

/// Per-device data; fields are dropped in order.
struct NicData<'bound> {
    /// First: removing the files waits for a raise in flight, which stops once
    /// `drop` closed the device.
    _files: Files,
    /// Then the sources leave the loop and free their lines.
    _sources: Sources<'bound>,
    _work_loop: Pin<KBox<WorkLoop>>,
    nic: Arc<Nic>,
}

impl Drop for NicData<'_> {
    fn drop(&mut self) {
        self.nic.closed.store(true, Release);
    }
}

impl<'bound> NicData<'bound> {
    /// Probe: allocate the vectors, route the causes, start a source per vector.
    fn probe(pdev: &'bound pci::Device<Core<'_>>) -> Result<Self> {
        pdev.enable_device_mem()?;
        // MSI-X is a memory write by the device.
        pdev.set_master();
        let pdev: &'bound pci::Device<Bound> = pdev;
        let bar = pdev
            .iomap_region_sized::<{ nic::END }>(0, c"msix_vectors")?
            .into_devres()?;
        let want = *module_parameters::vectors.value();
        let one_source = *module_parameters::one_source.value() == 1;
        let kinds: &[InterruptKind] = if *module_parameters::intx_only.value() == 1 {
            &[InterruptKind::Line]
        } else {
            &[InterruptKind::MsiX, InterruptKind::Msi, InterruptKind::Line]
        };
        let vectors = PciVectors::alloc_kinds(pdev, want, kinds)?;
        let nic = Arc::new(Nic::new(bar, pdev, vectors.count())?, GFP_KERNEL)?;
        let work_loop = WorkLoop::new(c"msix_vectors", LoopOptions::default())?;
        let sources = if one_source {
            Sources {
                _each: KVec::new(),
                _all: Some(start_all(&vectors, &nic, &work_loop)?),
            }
        } else {
            Sources {
                _each: start_each(&vectors, &nic, &work_loop)?,
                _all: None,
            }
        };
        let mut irqs = KVec::new();
        for k in 0..vectors.count() {
            irqs.push(vectors.irq(k).ok_or(EINVAL)?, GFP_KERNEL)?;
        }
        dev_info!(
            pdev,
            "{} of {} vectors ({:?}), IRQs {:?}, {}\n",
            vectors.count(),
            want,
            vectors.kind(),
            &irqs[..],
            if one_source {
                "one source"
            } else {
                "a source each"
            }
        );
        let grant = Grant {
            kind: vectors.kind(),
            wanted: want,
            irqs,
            one_source,
        };
        let controls = sources.controls()?;
        Ok(Self {
            _files: Files::new(pdev, &nic, grant, controls)?,
            _sources: sources,
            _work_loop: work_loop,
            nic,
        })
    }
}

/// Probe step: a source per vector, each attached to the loop and enabled.
fn start_each<'b>(
    vectors: &PciVectors<'b>,
    nic: &Arc<Nic>,
    work_loop: &WorkLoop,
) -> Result<KVec<Pin<KBox<VectorEventSource<'b, Cause>>>>> {
    let mut sources = KVec::new();
    for (k, name) in (0..vectors.count()).zip(NAMES) {
        let handler = Cause {
            nic: nic.clone(),
            vector: Some(k),
        };
        let options = SourceOptions {
            passive: *module_parameters::passive.value() == 1,
            ..SourceOptions::default()
        };
        let source = KBox::pin_init(
            VectorEventSource::new_vector(vectors, k, name, options, Ok::<_, Error>(handler)),
            GFP_KERNEL,
        )?;
        // IOKit's getIntIndex and getProvider: this vector, this device.
        let device: &kernel::device::Device = vectors.device().as_ref();
        if source.int_index() != k || !source.provider().is_some_and(|d| core::ptr::eq(d, device)) {
            nic.wrong_place.add(1, Relaxed);
        }
        work_loop.add_event_source(&*source)?;
        source.enable()?;
        sources.push(source, GFP_KERNEL)?;
    }
    Ok(sources)
}

/// Probe step: one source for every vector, attached and enabled.
fn start_all<'b>(
    vectors: &PciVectors<'b>,
    nic: &Arc<Nic>,
    work_loop: &WorkLoop,
) -> Result<Pin<KBox<VectorEventSource<'b, Cause>>>> {
    let handler = Cause {
        nic: nic.clone(),
        vector: None,
    };
    let source = KBox::pin_init(
        VectorEventSource::new_all_vectors(
            vectors,
            c"msix_vectors",
            SourceOptions::default(),
            Ok::<_, Error>(handler),
        ),
        GFP_KERNEL,
    )?;
    work_loop.add_event_source(&*source)?;
    source.enable()?;
    Ok(source)
}

struct MsixDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <MsixDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::INTEL, 0x10d3), ())]
);

impl pci::Driver for MsixDriver {
    type IdInfo = ();
    type Data<'bound> = NicData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        NicData::probe(pdev)
    }
}

#[pin_data]
struct MsixModule {
    #[pin]
    _driver: kernel::driver::Registration<pci::Adapter<MsixDriver>>,
}

impl kernel::InPlaceModule for MsixModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            let vectors = *module_parameters::vectors.value();
            if !(1..=MAX_VECTORS).contains(&vectors) {
                pr_err!("vectors={} is invalid: use 1..={}\n", vectors, MAX_VECTORS);
                return Err(EINVAL);
            }
            for (name, value) in [
                ("one_source", *module_parameters::one_source.value()),
                ("intx_only", *module_parameters::intx_only.value()),
                ("passive", *module_parameters::passive.value()),
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
    type: MsixModule,
    name: "msix_vectors",
    authors: ["workloop"],
    description: "One interrupt source per MSI-X vector on one work loop: QEMU's e1000e",
    license: "GPL v2",
    params: {
        vectors: u32 {
            default: 3,
            description: "Vectors to ask for, one per cause (1..=5)",
        },
        one_source: u32 {
            default: 0,
            description: "1: one interrupt source for every vector; 0: one each",
        },
        intx_only: u32 {
            default: 0,
            description: "1: ask for the INTx line only (the fallback's last step)",
        },
        passive: u32 {
            default: 0,
            description: "1: passive sources (UMDF): the filter runs in the IRQ thread under a mutex",
        },
    },
}
