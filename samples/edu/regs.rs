// SPDX-License-Identifier: GPL-2.0

//! QEMU's `edu` device: its PCI IDs and its registers (BAR0), as QEMU's
//! docs/specs/edu.rst describes them. Shared with `samples/edu_bench` (included
//! there by path), so this file imports what it uses itself.

use kernel::{io::register, num::Bounded};

/// PCI vendor ID of the edu device (QEMU's).
pub(crate) const VENDOR_ID: u16 = 0x1234;
/// PCI device ID of the edu device.
pub(crate) const DEVICE_ID: u16 = 0x11e8;

/// Size of the register window the drivers map.
pub(crate) const END: usize = 0x100;

register! {
    /// Identification: `0xRRrr00ed`, major and minor version above the magic byte.
    pub(crate) ID(u32) @ 0x00 {
        31:24 major;
        23:16 minor;
        7:0 magic;
    }

    /// Factorial: write n to start computing n!, read the result when done.
    pub(crate) FACTORIAL(u32) @ 0x08 {
        31:0 value;
    }

    /// Status of the factorial unit.
    pub(crate) STATUS(u32) @ 0x20 {
        /// Raise interrupt `IRQ_FACTORIAL` when a factorial is done.
        7:7 irq_on_done => bool;
        /// A factorial is being computed (the result is not ready).
        0:0 computing => bool;
    }

    /// Interrupts raised and not acknowledged, one bit each (read only).
    pub(crate) IRQ_STATUS(u32) @ 0x24 {
        31:0 bits;
    }

    /// Raises the interrupts whose bits are written (ORs them into the status).
    pub(crate) IRQ_RAISE(u32) @ 0x60 {
        31:0 bits;
    }

    /// Acknowledges the interrupts whose bits are written.
    pub(crate) IRQ_ACK(u32) @ 0x64 {
        31:0 bits;
    }

    /// DMA source address: RAM or `DMA_WINDOW`.
    pub(crate) DMA_SRC(u64) @ 0x80 {
        63:0 address;
    }

    /// DMA destination address: RAM or `DMA_WINDOW`.
    pub(crate) DMA_DST(u64) @ 0x88 {
        63:0 address;
    }

    /// DMA transfer length in bytes.
    pub(crate) DMA_COUNT(u64) @ 0x90 {
        63:0 bytes;
    }

    /// DMA command; the device clears `start` when the transfer is done.
    pub(crate) DMA_CMD(u64) @ 0x98 {
        /// Raise interrupt `IRQ_DMA` when the transfer is done.
        2:2 irq_on_done => bool;
        1:1 direction => DmaDirection;
        0:0 start => bool;
    }
}

/// `IRQ_STATUS` bit of a finished factorial.
pub(crate) const IRQ_FACTORIAL: u32 = 1 << 0;
/// `IRQ_STATUS` bit of a finished DMA transfer.
pub(crate) const IRQ_DMA: u32 = 1 << 8;
/// `IRQ_STATUS` bit the drivers raise through `IRQ_RAISE` for tests and
/// benchmarks; the device itself never sets it.
pub(crate) const IRQ_TEST: u32 = 1 << 16;

/// Device-side address of the edu's 4 KiB DMA buffer.
pub(crate) const DMA_WINDOW: u64 = 0x40000;

/// Which way a DMA transfer copies (`DMA_CMD` bit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DmaDirection {
    /// From RAM into the device's buffer.
    ToDevice,
    /// From the device's buffer into RAM.
    ToRam,
}

impl From<Bounded<u64, 1>> for DmaDirection {
    fn from(bit: Bounded<u64, 1>) -> Self {
        if bool::from(bit) {
            Self::ToRam
        } else {
            Self::ToDevice
        }
    }
}

impl From<DmaDirection> for Bounded<u64, 1> {
    fn from(direction: DmaDirection) -> Self {
        (direction == DmaDirection::ToRam).into()
    }
}
