// SPDX-License-Identifier: GPL-2.0

//! The virtio vendor capabilities in PCI configuration space (virtio 1.2,
//! 4.1.4): where the common configuration, the ISR byte and the notification
//! area are.

use super::{common, *};

/// Capability types (`VIRTIO_PCI_CAP_*_CFG`).
const CAP_COMMON: u8 = 1;
const CAP_NOTIFY: u8 = 2;
const CAP_ISR: u8 = 3;
/// `PCI_CAP_ID_VNDR`.
const CAP_VENDOR: u8 = 0x09;

/// Where the register blocks are: one memory BAR, offsets into it.
pub(crate) struct Caps {
    pub(crate) bar: u8,
    pub(super) common: usize,
    pub(super) isr: usize,
    pub(super) notify: usize,
    pub(super) notify_mult: u32,
}

/// One vendor capability: (type, BAR, offset, length).
type Cap = (u8, u8, u32, u32);

impl Caps {
    /// Walks the capability list for the first common, ISR and notify
    /// capabilities. `ENODEV`, saying why, for a device without them (a legacy
    /// one) or with them outside one memory BAR.
    pub(crate) fn find(pdev: &pci::Device<Bound>) -> Result<Self> {
        let cfg = pdev.config_space();
        let (mut common, mut isr, mut notify, mut mult) = (None, None, None, 0);
        // PCI_STATUS bit 4: there is a capability list.
        let mut at = if cfg.try_read16(0x06)? & 0x10 != 0 {
            cfg.try_read8(0x34)? & !3
        } else {
            0
        };
        // A malformed (looping) list ends after the 48 capabilities that fit.
        for _ in 0..48 {
            if at < 0x40 {
                break;
            }
            let pos = usize::from(at);
            if cfg.try_read8(pos)? == CAP_VENDOR {
                let cap: Cap = (
                    cfg.try_read8(pos + 3)?,
                    cfg.try_read8(pos + 4)?,
                    cfg.try_read32(pos + 8)?,
                    cfg.try_read32(pos + 12)?,
                );
                let slot = match cap.0 {
                    CAP_COMMON => &mut common,
                    CAP_ISR => &mut isr,
                    CAP_NOTIFY => &mut notify,
                    _ => &mut None,
                };
                // The first of each type in a BAR that exists wins (4.1.4.1).
                if slot.is_none() && cap.1 <= 5 {
                    *slot = Some(cap);
                    if cap.0 == CAP_NOTIFY {
                        mult = cfg.try_read32(pos + 16)?;
                    }
                }
            }
            at = cfg.try_read8(pos + 1)? & !3;
        }
        let (Some(c), Some(i), Some(n)) = (common, isr, notify) else {
            dev_err!(pdev, "no virtio 1.0 capabilities: a legacy-only device?\n");
            return Err(ENODEV);
        };
        Self::check(pdev, c, i, n)?;
        Ok(Self {
            bar: c.1,
            common: c.2 as usize,
            isr: i.2 as usize,
            notify: n.2 as usize,
            notify_mult: mult,
        })
    }

    /// The three blocks sit in one memory BAR and within it.
    fn check(pdev: &pci::Device<Bound>, c: Cap, i: Cap, n: Cap) -> Result {
        let bar = c.1;
        let bar_reg = pdev
            .config_space()
            .try_read32(0x10 + 4 * usize::from(bar))?;
        let len = pdev.resource_len(bar.into())?;
        let inside = |cap: Cap, need: u32| {
            cap.1 == bar && cap.3 >= need && u64::from(cap.2) + u64::from(cap.3) <= len
        };
        if bar_reg & 1 != 0 || !inside(c, common::LEN) || !inside(i, 1) || !inside(n, 2) {
            dev_err!(
                pdev,
                "virtio capabilities outside one memory BAR ({:?} {:?} {:?}): unsupported\n",
                c,
                i,
                n
            );
            return Err(ENODEV);
        }
        Ok(())
    }
}
