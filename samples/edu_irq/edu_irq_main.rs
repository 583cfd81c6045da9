// SPDX-License-Identifier: GPL-2.0

//! The work-loop model in one driver, for QEMU's `edu` device (`-device edu`).
//!
//! One work loop, one interrupt event source with a filter:
//!
//! - the filter is the top half (hard IRQ): it reads the device's interrupt
//!   status, answers "not mine" if it is zero (so the line may be shared),
//!   acknowledges it and counts one interrupt;
//! - the action is the bottom half: it runs later on the loop's thread, holding
//!   the loop's gate, with the number of interrupts counted since it last ran.
//!
//! The vector comes from the library's [`PciVectors`], WDF's all-or-one
//! allocation: asked for `vectors` vectors, edu (one MSI, no MSI-X) gets one.
//! At probe the driver raises `raises` interrupts, one at a time, and reports
//! what the action saw: every interrupt, in fewer calls when they came faster
//! than the loop ran. The `edu` sample shows the rest (timers, command gates,
//! DMA, teardown under load).

#[path = "../../src/workloop.rs"]
pub mod workloop;

use kernel::{
    device::Core,
    devres::Devres,
    io::{poll::read_poll_timeout, register, Io},
    pci,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    time::Delta,
};
use workloop::{
    FilterContext, FilterResult, Gate, InterruptHandler, LoopOptions, PciVectors, SourceOptions,
    VectorEventSource, WorkLoop,
};

mod regs {
    use super::register;

    register! {
        /// Interrupts raised and not acknowledged, one bit each.
        pub(super) IRQ_STATUS(u32) @ 0x24 {
            31:0 bits;
        }

        /// Raises the interrupts whose bits are written.
        pub(super) IRQ_RAISE(u32) @ 0x60 {
            31:0 bits;
        }

        /// Acknowledges the interrupts whose bits are written.
        pub(super) IRQ_ACK(u32) @ 0x64 {
            31:0 bits;
        }
    }

    pub(super) const END: usize = 0x100;
}

type Bar0 = pci::Bar<'static, { regs::END }>;

/// The interrupt bit the driver raises (edu's "test" interrupt).
const TEST_IRQ: u32 = 1 << 16;

/// What the interrupt source runs.
struct EduIrq {
    bar: Devres<Bar0>,
    /// Interrupts handed to the action, and the action's calls.
    seen: Atomic<u64>,
    calls: Atomic<u64>,
}

impl InterruptHandler for EduIrq {
    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        let Ok(bar) = self.bar.access(ctx.device()) else {
            return FilterResult::NotMine;
        };
        let status = bar.read(regs::IRQ_STATUS);
        if status.bits().get() == 0 {
            return FilterResult::NotMine;
        }
        bar.write_reg(regs::IRQ_ACK::zeroed().with_bits(status.bits()));
        // The device is quiet again: count the interrupt without masking the line.
        ctx.signal_interrupt();
        FilterResult::Handled
    }

    fn action(&self, _gate: &Gate<'_>, count: u32) {
        self.seen.fetch_add(count.into(), Relaxed);
        self.calls.fetch_add(1, Relaxed);
    }
}

#[pin_data]
struct EduIrqData<'bound> {
    /// Dropped first: the source leaves the loop and frees its line.
    #[pin]
    irq: VectorEventSource<'bound, EduIrq>,
    work_loop: Pin<KBox<WorkLoop>>,
}

impl EduIrq {
    /// Raises `n` interrupts, one at a time, each once the previous one was
    /// acknowledged.
    fn raise(&self, n: u32) -> Result {
        for _ in 0..n {
            self.bar
                .try_access_with(|bar| bar.write_reg(regs::IRQ_RAISE::zeroed().with_bits(TEST_IRQ)))
                .ok_or(ENODEV)?;
            read_poll_timeout(
                || {
                    self.bar
                        .try_access_with(|bar| bar.read(regs::IRQ_STATUS))
                        .ok_or(ENODEV)
                },
                |status| status.bits().get() & TEST_IRQ == 0,
                Delta::from_micros(10),
                Delta::from_secs(1),
            )?;
        }
        Ok(())
    }

    /// Waits until the action has seen `n` interrupts.
    fn wait_seen(&self, n: u64) -> Result {
        read_poll_timeout(
            || Ok(self.seen.load(Relaxed)),
            |&seen| seen == n,
            Delta::from_millis(1),
            Delta::from_secs(1),
        )
        .map(|_| ())
    }
}

struct EduIrqDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <EduIrqDriver as pci::Driver>::IdInfo,
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

impl pci::Driver for EduIrqDriver {
    type IdInfo = ();
    type Data<'bound> = EduIrqData<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            if pdev.vendor_id().as_raw() != 0x1234 || pdev.device_id() != 0x11e8 {
                return Err(ENODEV);
            }
            pdev.enable_device_mem()?;
            // MSI is a memory write by the device.
            pdev.set_master();
            let bar = pdev
                .iomap_region_sized::<{ regs::END }>(0, c"edu_irq")?
                .into_devres()?;
            let want = *module_parameters::vectors.value();
            let vectors = PciVectors::alloc(pdev, want)?;
            dev_info!(
                pdev,
                "{} of {} vectors ({:?})\n",
                vectors.count(),
                want,
                vectors.kind()
            );
            let work_loop = WorkLoop::new(c"edu_irq", LoopOptions::default())?;
            let raises = *module_parameters::raises.value();

            Ok(try_pin_init!(EduIrqData {
                // Vector 0 serves every cause, as with one vector it must.
                irq <- VectorEventSource::new_vector(
                    &vectors,
                    0,
                    c"edu_irq",
                    SourceOptions::default(),
                    Ok::<_, Error>(EduIrq {
                        bar,
                        seen: Atomic::new(0),
                        calls: Atomic::new(0),
                    }),
                ),
                work_loop,
                _: {
                    work_loop.add_event_source(&*irq)?;
                    irq.enable()?;
                    let edu = irq.handler();
                    edu.raise(raises)?;
                    edu.wait_seen(raises.into())?;
                    dev_info!(
                        pdev,
                        "IRQ {}: raised {}, the action saw {} in {} calls\n",
                        irq.irq(),
                        raises,
                        edu.seen.load(Relaxed),
                        edu.calls.load(Relaxed)
                    );
                },
            }? Error))
        })
    }
}

/// Largest `raises` value.
const MAX_RAISES: u32 = 1_000_000;
/// Largest `vectors` value (MSI-X's limit).
const MAX_VECTORS: u32 = 2048;

#[pin_data]
struct EduIrqModule {
    #[pin]
    _driver: kernel::driver::Registration<pci::Adapter<EduIrqDriver>>,
}

impl kernel::InPlaceModule for EduIrqModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        pin_init::pin_init_scope(move || {
            let raises = *module_parameters::raises.value();
            if !(1..=MAX_RAISES).contains(&raises) {
                pr_err!("raises={} is invalid: use 1..={}\n", raises, MAX_RAISES);
                return Err(EINVAL);
            }
            let vectors = *module_parameters::vectors.value();
            if !(1..=MAX_VECTORS).contains(&vectors) {
                pr_err!("vectors={} is invalid: use 1..={}\n", vectors, MAX_VECTORS);
                return Err(EINVAL);
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
    type: EduIrqModule,
    name: "edu_irq",
    authors: ["workloop"],
    description: "The work-loop model in one driver: QEMU's edu device, a filter interrupt source",
    license: "GPL v2",
    params: {
        raises: u32 {
            default: 1000,
            description: "Interrupts raised at probe (1..=1000000)",
        },
        vectors: u32 {
            default: 1,
            description: "Vectors to ask for (1..=2048): all or one, as WDF grants them",
        },
    },
}
