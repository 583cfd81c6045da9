// SPDX-License-Identifier: GPL-2.0

//! Queue 0 ("requestq") as a split virtqueue (virtio 1.2, 2.7) of eight
//! entries in one page of coherent DMA memory, with a 64-byte buffer behind
//! each descriptor. Descriptor `i` always points at buffer `i`: posting buffer
//! `i` is putting `i` in the available ring.
//!
//! Both indices are free-running `u16`s, as the spec has them; the caller
//! serializes every call (the device state mutex).

use super::*;
use kernel::{
    dma::Coherent,
    dma_read, dma_write,
    sync::barrier::{smp_mb, smp_rmb, smp_wmb},
    transmute::{AsBytes, FromBytes},
};

/// Entries in the queue (the driver sets the device's queue size to this).
pub(crate) const SIZE: usize = 8;
/// Bytes in each buffer: what the hwrng core asks for in one call, and what
/// Linux's C driver keeps in flight.
pub(crate) const BUF: usize = 64;
/// `VRING_DESC_F_WRITE`: the device writes the buffer.
const DESC_F_WRITE: u16 = 2;
/// `VRING_USED_F_NO_NOTIFY`: the device asks not to be notified.
const USED_F_NO_NOTIFY: u16 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
struct Desc {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct UsedElem {
    id: u32,
    len: u32,
}

/// The rings and buffers; every field little-endian as the device sees it
/// (the driver builds for x86 and other little-endian machines only, see
/// `Kbuild`). The padding is explicit, so the type has no uninitialized bytes.
#[repr(C)]
pub(crate) struct Ring {
    desc: [Desc; SIZE],
    avail_flags: u16,
    avail_idx: u16,
    avail_ring: [u16; SIZE],
    used_event: u16,
    _pad0: u16,
    used_flags: u16,
    used_idx: u16,
    used_ring: [UsedElem; SIZE],
    avail_event: u16,
    _pad1: [u8; 34],
    bufs: [[u8; BUF]; SIZE],
}

// Offsets the device is given (2.7: descriptors 16-aligned, available ring
// 2-aligned, used ring 4-aligned) and the layout without implicit padding.
const DESC_AT: usize = core::mem::offset_of!(Ring, desc);
const AVAIL_AT: usize = core::mem::offset_of!(Ring, avail_flags);
const USED_AT: usize = core::mem::offset_of!(Ring, used_flags);
const BUFS_AT: usize = core::mem::offset_of!(Ring, bufs);
const _: () = assert!(DESC_AT == 0 && AVAIL_AT == 0x80 && USED_AT == 0x98 && BUFS_AT == 0x100);
const _: () = assert!(core::mem::size_of::<Ring>() == 0x300);

// SAFETY: `Ring` is `repr(C)`, its fields are integers and arrays of integers
// laid out without padding (asserted above): every byte is initialized.
unsafe impl AsBytes for Ring {}
// SAFETY: Every bit pattern is a valid `Ring`: all fields are integers.
unsafe impl FromBytes for Ring {}
// SAFETY: As for `Ring`: integers, no padding (16 bytes, 8-aligned).
unsafe impl AsBytes for Desc {}
// SAFETY: Every bit pattern is a valid `Desc`.
unsafe impl FromBytes for Desc {}
// SAFETY: Two `u32`s, no padding.
unsafe impl AsBytes for UsedElem {}
// SAFETY: Every bit pattern is a valid `UsedElem`.
unsafe impl FromBytes for UsedElem {}

/// The queue's memory and the driver's two indices.
pub(crate) struct Queue {
    ring: Coherent<Ring>,
    /// The next available-ring index to write.
    avail_idx: u16,
    /// The next used-ring index to read.
    last_used: u16,
}

impl Queue {
    /// Allocates the rings and points descriptor `i` at buffer `i`.
    pub(crate) fn new(dev: &Device<Bound>) -> Result<Self> {
        let ring = Coherent::<Ring>::zeroed(dev, GFP_KERNEL)?;
        let base = ring.dma_handle();
        for i in 0..SIZE {
            let addr = base + (BUFS_AT + i * BUF) as u64;
            dma_write!(
                ring,
                .desc[try: i],
                Desc {
                    addr: addr.to_le(),
                    len: (BUF as u32).to_le(),
                    flags: DESC_F_WRITE.to_le(),
                    next: 0,
                }
            );
        }
        Ok(Self {
            ring,
            avail_idx: 0,
            last_used: 0,
        })
    }

    /// What the device is told: the size and the three DMA addresses.
    pub(crate) fn setup(&self, vector: Option<u16>) -> QueueSetup {
        let base = self.ring.dma_handle();
        QueueSetup {
            size: SIZE as u16,
            desc: base + DESC_AT as u64,
            driver: base + AVAIL_AT as u64,
            device: base + USED_AT as u64,
            vector,
        }
    }

    /// Makes buffer `id` available (2.7.13); whether the device wants a
    /// notification.
    pub(crate) fn post(&mut self, id: usize) -> Result<bool> {
        let slot = usize::from(self.avail_idx) % SIZE;
        dma_write!(self.ring, .avail_ring[try: slot], (id as u16).to_le());
        // The entry before the index that publishes it (virtio_wmb).
        smp_wmb();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        dma_write!(self.ring, .avail_idx, self.avail_idx.to_le());
        // The index before the read of the device's flags (virtio_mb).
        smp_mb();
        Ok(u16::from_le(dma_read!(self.ring, .used_flags)) & USED_F_NO_NOTIFY == 0)
    }

    /// The next used buffer, if any (2.7.14): its id and the length the device
    /// wrote, both as the device wrote them (the caller checks them).
    pub(crate) fn next_used(&mut self) -> Result<Option<(u32, u32)>> {
        if u16::from_le(dma_read!(self.ring, .used_idx)) == self.last_used {
            return Ok(None);
        }
        // The index before the entry it publishes (virtio_rmb).
        smp_rmb();
        let slot = usize::from(self.last_used) % SIZE;
        let elem = dma_read!(self.ring, .used_ring[try: slot]);
        self.last_used = self.last_used.wrapping_add(1);
        Ok(Some((u32::from_le(elem.id), u32::from_le(elem.len))))
    }

    /// Copies `out.len()` bytes of buffer `id` from `offset` (the caller keeps
    /// `offset + out.len() <= BUF` and owns the buffer: the device is done with
    /// it).
    pub(crate) fn copy(&self, id: usize, offset: usize, out: &mut [u8]) -> Result {
        let buf: [u8; BUF] = dma_read!(self.ring, .bufs[try: id]);
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(buf.get(offset..end).ok_or(EINVAL)?);
        Ok(())
    }
}
