// SPDX-License-Identifier: GPL-2.0

//! DMA: `/dev/eduN-dma` copies bytes into the device buffer and back, one
//! transfer at a time, sleeping in the gate until the completion interrupt.

use super::*;

/// DMA bookkeeping, under the gate.
pub(crate) struct DmaState {
    /// A transfer is programmed and has not completed.
    pub(crate) busy: bool,
    /// Set by the action when the device signalled completion.
    pub(crate) done: bool,
    /// Bytes last copied into the device buffer (0: none).
    pub(crate) stored: usize,
}

impl EduEngine {
    /// Runs one DMA transfer of `len` bytes between `dma_buf` and the device
    /// buffer and waits for its completion interrupt. Gate held; sleeps in the gate.
    pub(crate) fn dma_transfer(&self, gate: &Gate<'_>, to_ram: bool, len: usize) -> Result {
        let event = event_of(&self.dma);
        // One transfer at a time: the device has one DMA engine.
        while self.dma.borrow(gate)?.busy {
            self.gate
                .command_sleep(gate, event, Some(Delta::from_secs(5)))?;
        }
        {
            let mut d = self.dma.borrow(gate)?;
            d.busy = true;
            d.done = false;
        }
        let handle = self.dma_buf.as_ref().ok_or(ENODEV)?.dma_handle();
        let (src, dst, cmd) = if to_ram {
            (
                EDU_DMA_WINDOW,
                handle,
                DMA_CMD_START | DMA_CMD_TO_RAM | DMA_CMD_IRQ,
            )
        } else {
            (handle, EDU_DMA_WINDOW, DMA_CMD_START | DMA_CMD_IRQ)
        };
        let programmed = self.bar.try_access_with(|bar| {
            bar.write64(src, regs::DMA_SRC);
            bar.write64(dst, regs::DMA_DST);
            // CAST: `len <= DMA_MAX`.
            bar.write64(len as u64, regs::DMA_COUNT);
            bar.write64(cmd, regs::DMA_CMD);
        });
        let mut result = programmed.ok_or(ENODEV);
        if result.is_ok() {
            // QEMU completes a transfer on a 100 ms timer.
            let start = Instant::<Monotonic>::now();
            while !self.dma.borrow(gate)?.done {
                if start.elapsed() > Delta::from_secs(5) {
                    result = Err(ETIMEDOUT);
                    break;
                }
                if let Err(e) = self
                    .gate
                    .command_sleep(gate, event, Some(Delta::from_millis(500)))
                {
                    result = Err(e);
                    break;
                }
            }
        }
        self.dma.borrow(gate)?.busy = false;
        self.gate.command_wakeup(event, Wake::All);
        result
    }
}

/// An open `/dev/eduN-dma`: a write copies the bytes into the device buffer by
/// DMA, a read copies them back by DMA (1 to 4095 bytes per transfer).
pub(crate) struct EduDmaFile {
    pub(crate) _module: ModuleRef,
    pub(crate) engine: Arc<EduEngine>,
}

#[vtable]
impl MiscDevice for EduDmaFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        // SAFETY: Every `MiscDeviceRegistration<EduDmaFile>` is the `dma_misc` field of
        // an `EduNodes`, which outlives the registration.
        let dev = unsafe {
            &*kernel::container_of!(core::ptr::from_ref(misc).cast_mut(), EduNodes, dma_misc)
        };
        KBox::pin_init(
            Ok::<_, Error>(EduDmaFile {
                _module: ModuleRef::get()?,
                engine: dev.engine_for_open()?,
            }),
            GFP_KERNEL,
        )
    }

    fn write_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let e = &kiocb.file().engine;
        let len = iov.len();
        if len == 0 || len > DMA_MAX {
            return Err(EINVAL);
        }
        let mut data = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        if iov.copy_from_iter(&mut data) != len {
            return Err(EFAULT);
        }
        e.gate
            .run_action(|g| -> Result {
                while e.dma.borrow(g)?.busy {
                    e.gate
                        .command_sleep(g, event_of(&e.dma), Some(Delta::from_secs(5)))?;
                }
                let dma_buf = e.dma_buf.as_ref().ok_or(ENODEV)?;
                // SAFETY: No transfer is in flight (`busy` is clear and the gate is
                // held), so neither the device nor another task touches the buffer.
                let buf = unsafe { dma_buf.as_mut() };
                buf[..len].copy_from_slice(&data);
                e.dma_transfer(g, false, len)?;
                e.dma.borrow(g)?.stored = len;
                Ok(())
            })
            .and_then(|r| r)?;
        *kiocb.ki_pos_mut() = 0;
        Ok(len)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let e = &kiocb.file().engine;
        let data = e
            .gate
            .run_action(|g| -> Result<KVec<u8>> {
                let dma_buf = e.dma_buf.as_ref().ok_or(ENODEV)?;
                let len = e.dma.borrow(g)?.stored;
                if len == 0 {
                    // Nothing was written to the device buffer yet.
                    return Err(EINVAL);
                }
                {
                    // SAFETY: As in `write_iter`: no transfer in flight.
                    let buf = unsafe { dma_buf.as_mut() };
                    buf[..len].fill(0);
                }
                e.dma_transfer(g, true, len)?;
                let mut out = KVec::from_elem(0u8, len, GFP_KERNEL)?;
                // SAFETY: The transfer completed; nothing touches the buffer.
                out.copy_from_slice(unsafe { &dma_buf.as_ref()[..len] });
                Ok(out)
            })
            .and_then(|r| r)?;
        let mut pos = 0i64;
        iov.simple_read_from_buffer(&mut pos, &data)
    }
}
