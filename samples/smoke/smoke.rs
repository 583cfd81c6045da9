// SPDX-License-Identifier: GPL-2.0

//! Smoke test of the build and test path: binds QEMU's `edu` device, reads
//! its identification register, and carries a KUnit suite.
//!
//! QEMU's `edu` device (1234:11e8) has no `pci::Vendor` constant in 7.2, so
//! the ID table matches the device's class and `probe` checks vendor and
//! device.

use kernel::{
    device::Core,
    io::Io,
    pci,
    prelude::*, //
};

/// Offset of the identification register; it reads `0x010000ed`.
const EDU_ID: usize = 0x00;
/// Offset of the liveness register: reads back the bitwise inverse of the last write.
const EDU_LIVENESS: usize = 0x04;
/// Size of the register window this driver maps.
const EDU_REGS: usize = 0x100;

const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;

struct SmokeDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <SmokeDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_class(
            pci::Class::OTHERS.as_raw(),
            pci::ClassMask::ClassSubclass.as_raw()
        ),
        ()
    )]
);

impl pci::Driver for SmokeDriver {
    type IdInfo = ();
    type Data<'bound> = ();

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        if pdev.vendor_id().as_raw() != EDU_VENDOR || pdev.device_id() != EDU_DEVICE {
            return Err(ENODEV);
        }
        pdev.enable_device_mem()?;
        let bar = pdev.iomap_region_sized::<EDU_REGS>(0, c"smoke")?;
        let id = bar.read32(EDU_ID);
        bar.write32(0x1234_5678, EDU_LIVENESS);
        let live = bar.read32(EDU_LIVENESS);
        dev_info!(pdev, "edu id {:#010x} liveness {:#010x}\n", id, live);
        if id & 0xff != 0xed || live != !0x1234_5678 {
            dev_err!(pdev, "not an edu device\n");
            return Err(ENODEV);
        }
        Ok(())
    }
}

kernel::module_pci_driver! {
    type: SmokeDriver,
    name: "smoke",
    authors: ["workloop"],
    description: "Smoke test: binds QEMU's edu device and reads its ID",
    license: "GPL v2",
}

#[kunit_tests(workloop_smoke)]
mod tests {
    use kernel::sync::atomic::{Atomic, Relaxed};

    #[test]
    fn u32_counter_difference_wraps() {
        let producer = Atomic::new(u32::MAX - 1);
        let consumer = producer.load(Relaxed);
        producer.fetch_add(5, Relaxed);
        assert_eq!(producer.load(Relaxed).wrapping_sub(consumer), 5);
    }

    #[test]
    fn liveness_register_is_inverse() {
        assert_eq!(!0x1234_5678u32, 0xedcb_a987);
    }
}
