// SPDX-License-Identifier: GPL-2.0

//! The virtio 1.x PCI transport, as far as an entropy device needs it.
//!
//! The device describes its register blocks with vendor capabilities in PCI
//! configuration space (virtio 1.2, 4.1.4 "Virtio Structure PCI
//! Capabilities"): the common configuration, the ISR status byte and the
//! notification area, each an offset into a memory BAR. [`Caps::find`] walks
//! them; [`Transport`] maps that BAR and drives the common configuration:
//! reset, feature negotiation, the status handshake and queue 0's setup
//! (3.1.1 "Driver Requirements: Device Initialization").

use super::*;
pub(crate) use caps::Caps;

mod caps;

/// `device_status` bits (virtio 1.2, 2.1 "Device Status Field").
pub(crate) mod status {
    pub(crate) const ACKNOWLEDGE: u8 = 1;
    pub(crate) const DRIVER: u8 = 2;
    pub(crate) const DRIVER_OK: u8 = 4;
    pub(crate) const FEATURES_OK: u8 = 8;
    pub(crate) const NEEDS_RESET: u8 = 0x40;
    pub(crate) const FAILED: u8 = 0x80;
}

/// Offsets in the common configuration (`struct virtio_pci_common_cfg`).
mod common {
    pub(super) const DEVICE_FEATURE_SELECT: usize = 0;
    pub(super) const DEVICE_FEATURE: usize = 4;
    pub(super) const DRIVER_FEATURE_SELECT: usize = 8;
    pub(super) const DRIVER_FEATURE: usize = 12;
    pub(super) const MSIX_CONFIG: usize = 16;
    pub(super) const DEVICE_STATUS: usize = 20;
    pub(super) const QUEUE_SELECT: usize = 22;
    pub(super) const QUEUE_SIZE: usize = 24;
    pub(super) const QUEUE_MSIX_VECTOR: usize = 26;
    pub(super) const QUEUE_ENABLE: usize = 28;
    pub(super) const QUEUE_NOTIFY_OFF: usize = 30;
    pub(super) const QUEUE_DESC: usize = 32;
    pub(super) const QUEUE_DRIVER: usize = 40;
    pub(super) const QUEUE_DEVICE: usize = 48;
    /// The structure's size: the capability must cover it.
    pub(super) const LEN: u32 = 56;
}

/// Feature bits 32 and up, as the second 32-bit word: `VIRTIO_F_VERSION_1`
/// (bit 32) and `VIRTIO_F_ACCESS_PLATFORM` (bit 33).
const F_VERSION_1: u32 = 1 << 0;
const F_ACCESS_PLATFORM: u32 = 1 << 1;
/// A vector register reads this when the device refused the vector.
const NO_VECTOR: u16 = 0xffff;
/// The mapped BAR and where its blocks are.
pub(crate) struct Transport {
    pub(crate) bar: Devres<pci::Bar<'static>>,
    caps: Caps,
    /// Queue 0's notify offset in the BAR, once set up.
    notify: Atomic<usize>,
}

/// The queue's ring addresses and MSI-X vector (`None` on INTx).
pub(crate) struct QueueSetup {
    pub(crate) size: u16,
    pub(crate) desc: u64,
    pub(crate) driver: u64,
    pub(crate) device: u64,
    pub(crate) vector: Option<u16>,
}

impl Transport {
    /// Maps the BAR the capabilities point into.
    pub(crate) fn new(pdev: &pci::Device<Bound>, caps: Caps) -> Result<Self> {
        let bar = pdev
            .iomap_region(caps.bar.into(), c"virtio_rng_rs")?
            .into_devres()?;
        Ok(Self {
            bar,
            caps,
            notify: Atomic::new(0),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&pci::Bar<'static>) -> Result<R>) -> Result<R> {
        self.bar.try_access_with(f).ok_or(ENODEV)?
    }

    /// `device_status`; 0xff when the device has gone (reads of a missing
    /// device return all ones).
    pub(crate) fn status(&self) -> u8 {
        self.with(|io| io.try_read8(self.caps.common + common::DEVICE_STATUS))
            .unwrap_or(0xff)
    }

    fn set_status(&self, bits: u8) -> Result {
        let at = self.caps.common + common::DEVICE_STATUS;
        self.with(|io| io.try_write8(io.try_read8(at)? | bits, at))
    }

    /// Resets the device and waits (up to a second) until it says so: from
    /// then on it neither reads the rings nor writes the buffers. `ENODEV` if
    /// the device has gone, `ETIMEDOUT` if it does not finish.
    pub(crate) fn reset(&self) -> Result {
        self.with(|io| io.try_write8(0, self.caps.common + common::DEVICE_STATUS))?;
        // TIMEOUT: QEMU resets synchronously; a second is generous for any device.
        read_poll_timeout(
            || Ok(self.status()),
            |&s| s == 0 || s == 0xff,
            Delta::from_millis(1),
            Delta::from_secs(1),
        )
        .and_then(|s| if s == 0xff { Err(ENODEV) } else { Ok(()) })
    }

    /// Reads the ISR status byte, which clears it and lowers the INTx line
    /// (hard-IRQ context: no sleeping).
    pub(crate) fn isr(&self, dev: &Device<Bound>) -> u8 {
        self.bar
            .access(dev)
            .and_then(|io| io.try_read8(self.caps.isr))
            .unwrap_or(0)
    }

    /// Notifies the device that queue 0 has new buffers.
    pub(crate) fn notify(&self) -> Result {
        self.with(|io| io.try_write16(0, self.notify.load(Relaxed)))
    }

    /// Steps 1-6 of device initialization, up to `FEATURES_OK` (re-read).
    pub(crate) fn negotiate(&self, pdev: &pci::Device<Bound>) -> Result {
        let c = self.caps.common;
        self.reset()?;
        self.set_status(status::ACKNOWLEDGE)?;
        self.set_status(status::DRIVER)?;
        let high = self.with(|io| {
            io.try_write32(1, c + common::DEVICE_FEATURE_SELECT)?;
            io.try_read32(c + common::DEVICE_FEATURE)
        })?;
        if high & F_VERSION_1 == 0 {
            dev_err!(
                pdev,
                "the device does not offer VIRTIO_F_VERSION_1: refused\n"
            );
            let _ = self.set_status(status::FAILED);
            return Err(ENODEV);
        }
        // Nothing of the low word (no EVENT_IDX, no INDIRECT_DESC): the rings
        // stay the plain split rings of 2.7.
        self.with(|io| {
            io.try_write32(0, c + common::DRIVER_FEATURE_SELECT)?;
            io.try_write32(0, c + common::DRIVER_FEATURE)?;
            io.try_write32(1, c + common::DRIVER_FEATURE_SELECT)?;
            io.try_write32(
                high & (F_VERSION_1 | F_ACCESS_PLATFORM),
                c + common::DRIVER_FEATURE,
            )
        })?;
        self.set_status(status::FEATURES_OK)?;
        if self.status() & status::FEATURES_OK == 0 {
            dev_err!(pdev, "the device refused FEATURES_OK: refused\n");
            let _ = self.set_status(status::FAILED);
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Queue 0's size as the device offers it (0: no queue).
    pub(crate) fn queue_max(&self) -> Result<u16> {
        let c = self.caps.common;
        self.with(|io| {
            io.try_write16(0, c + common::QUEUE_SELECT)?;
            io.try_read16(c + common::QUEUE_SIZE)
        })
    }

    /// Sets up queue 0 (4.1.5.1.3) and, with MSI-X, the configuration vector
    /// (0) and the queue's; then `DRIVER_OK`. `EIO` if the device refuses a
    /// vector.
    pub(crate) fn start(&self, q: &QueueSetup) -> Result {
        let c = self.caps.common;
        let split = |v: u64| [(v & 0xffff_ffff) as u32, (v >> 32) as u32];
        let vector_ok = self.with(|io| {
            let config = q.vector.map(|_| 0).unwrap_or(NO_VECTOR);
            io.try_write16(config, c + common::MSIX_CONFIG)?;
            let config_ok = io.try_read16(c + common::MSIX_CONFIG)? == config;
            io.try_write16(0, c + common::QUEUE_SELECT)?;
            io.try_write16(q.size, c + common::QUEUE_SIZE)?;
            for (at, addr) in [
                (common::QUEUE_DESC, q.desc),
                (common::QUEUE_DRIVER, q.driver),
                (common::QUEUE_DEVICE, q.device),
            ] {
                let [lo, hi] = split(addr);
                io.try_write32(lo, c + at)?;
                io.try_write32(hi, c + at + 4)?;
            }
            let vector = q.vector.unwrap_or(NO_VECTOR);
            io.try_write16(vector, c + common::QUEUE_MSIX_VECTOR)?;
            let queue_ok = io.try_read16(c + common::QUEUE_MSIX_VECTOR)? == vector;
            let off = usize::from(io.try_read16(c + common::QUEUE_NOTIFY_OFF)?);
            let at = off
                .checked_mul(self.caps.notify_mult as usize)
                .and_then(|o| o.checked_add(self.caps.notify))
                .ok_or(EINVAL)?;
            // The write must fit the BAR: `try_write16` checks at each kick,
            // check once here too so that a bad offset fails the probe.
            io.try_read16(at)?;
            self.notify.store(at, Relaxed);
            io.try_write16(1, c + common::QUEUE_ENABLE)?;
            Ok(config_ok && queue_ok)
        })?;
        if !vector_ok {
            let _ = self.set_status(status::FAILED);
            return Err(EIO);
        }
        self.set_status(status::DRIVER_OK)
    }
}
