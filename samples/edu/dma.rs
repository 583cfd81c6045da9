// SPDX-License-Identifier: GPL-2.0

//! DMA: `/dev/eduN-dma` copies bytes into the device buffer and back, one
//! transfer at a time, sleeping in the gate until the completion interrupt.

use super::*;

/// Longest transfer. The window is 4096 bytes, but QEMU 7.2 aborts on a transfer
/// that ends exactly at its end, so one byte less.
const DMA_MAX: usize = 4095;
/// Longest wait for the device's one DMA engine to become idle, and for a
/// transfer to complete (QEMU completes one on a 100 ms timer).
const DMA_TIMEOUT: Delta = Delta::from_secs(5);

/// DMA bookkeeping, under the gate.
#[derive(Default)]
pub(crate) struct DmaState {
    /// A transfer is programmed and has not completed.
    busy: bool,
    /// Set by the action when the device signalled completion.
    done: bool,
    /// Bytes last copied into the device buffer (0: none).
    stored: usize,
}

/// Probe step: the host side of DMA transfers. DMA is optional: without memory
/// the device can reach (a 28-bit engine on a kernel without `CONFIG_ZONE_DMA`)
/// the driver works without `/dev/eduN-dma`.
pub(crate) fn dma_buffer(pdev: &pci::Device<Core<'_>>) -> Option<Coherent<[u8]>> {
    let dma_bits = *module_parameters::dma_bits.value();
    DmaMask::try_new(dma_bits)
        .and_then(|mask| {
            // SAFETY: Probe: no DMA is set up yet, and nothing else changes the mask.
            unsafe { pdev.dma_set_mask_and_coherent(mask) }
        })
        .and_then(|()| Coherent::<u8>::zeroed_slice(pdev.as_ref(), DMA_MAX + 1, GFP_KERNEL))
        .inspect_err(|err| {
            dev_warn!(
                pdev,
                "no {}-bit DMA ({:?}): /dev/edu*-dma disabled; a kernel without \
                 CONFIG_ZONE_DMA needs edu,dma_mask=0xffffffff and dma_bits=32\n",
                dma_bits,
                err
            )
        })
        .ok()
}

impl EduEngine {
    /// The action's part: the device signalled a finished transfer. Gate held.
    pub(crate) fn dma_completed(&self, gate: &Gate<'_>) {
        if let Ok(mut dma) = self.dma.borrow(gate) {
            dma.done = true;
        }
        self.gate.command_wakeup(event_of(&self.dma), Wake::All);
    }

    /// Sleeps in the gate until no transfer is in flight. Gate held.
    fn wait_dma_idle(&self, gate: &Gate<'_>) -> Result {
        while self.dma.borrow(gate)?.busy {
            self.gate
                .command_sleep(gate, event_of(&self.dma), Some(DMA_TIMEOUT))?;
        }
        Ok(())
    }

    /// Copies `data` into the device buffer. Gate held; sleeps in the gate.
    fn dma_store(&self, gate: &Gate<'_>, data: &[u8]) -> Result {
        self.wait_dma_idle(gate)?;
        let dma_buf = self.dma_buf.as_ref().ok_or(ENODEV)?;
        // SAFETY: No transfer is in flight (`busy` is clear and the gate is held),
        // so neither the device nor another task touches the buffer.
        let buf = unsafe { dma_buf.as_mut() };
        // PANIC: `write_iter` passes at most `DMA_MAX` bytes; the buffer has one more.
        buf[..data.len()].copy_from_slice(data);
        self.dma_transfer(gate, DmaDirection::ToDevice, data.len())?;
        self.dma.borrow(gate)?.stored = data.len();
        Ok(())
    }

    /// Copies back what the device buffer holds. Gate held; sleeps in the gate.
    fn dma_load(&self, gate: &Gate<'_>) -> Result<KVec<u8>> {
        self.wait_dma_idle(gate)?;
        let dma_buf = self.dma_buf.as_ref().ok_or(ENODEV)?;
        let len = self.dma.borrow(gate)?.stored;
        if len == 0 {
            // The device buffer holds no bytes of a write: nothing to read back.
            return Err(EINVAL);
        }
        // SAFETY: As in `dma_store`: no transfer in flight.
        let buf = unsafe { dma_buf.as_mut() };
        // PANIC: `stored` comes from `dma_store`, at most `DMA_MAX`; the buffer
        // has one byte more.
        buf[..len].fill(0);
        self.dma_transfer(gate, DmaDirection::ToRam, len)?;
        let mut out = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        // SAFETY: The transfer completed and the gate is still held, so no other
        // task started one since: nothing writes the buffer.
        // PANIC: As for the `fill` above.
        out.copy_from_slice(unsafe { &dma_buf.as_ref()[..len] });
        Ok(out)
    }

    /// Runs one DMA transfer of `len` bytes between `dma_buf` and the device
    /// buffer and waits for its completion interrupt. Gate held; sleeps in the gate.
    fn dma_transfer(&self, gate: &Gate<'_>, direction: DmaDirection, len: usize) -> Result {
        // The device has one DMA engine.
        self.wait_dma_idle(gate)?;
        {
            let mut dma = self.dma.borrow(gate)?;
            dma.busy = true;
            dma.done = false;
        }
        let result = self
            .start_dma(direction, len)
            .and_then(|()| self.wait_dma_done(gate));
        self.dma.borrow(gate)?.busy = false;
        self.gate.command_wakeup(event_of(&self.dma), Wake::All);
        result
    }

    /// Programs a transfer of `len` bytes and starts it.
    fn start_dma(&self, direction: DmaDirection, len: usize) -> Result {
        let host = self.dma_buf.as_ref().ok_or(ENODEV)?.dma_handle();
        let (src, dst) = match direction {
            DmaDirection::ToDevice => (host, DMA_WINDOW),
            DmaDirection::ToRam => (DMA_WINDOW, host),
        };
        self.bar
            .try_access_with(|bar| {
                bar.write_reg(regs::DMA_SRC::zeroed().with_address(src));
                bar.write_reg(regs::DMA_DST::zeroed().with_address(dst));
                // CAST: `len <= DMA_MAX`.
                bar.write_reg(regs::DMA_COUNT::zeroed().with_bytes(len as u64));
                bar.write_reg(
                    regs::DMA_CMD::zeroed()
                        .with_direction(direction)
                        .with_irq_on_done(true)
                        .with_start(true),
                );
            })
            .ok_or(ENODEV)
    }

    /// Sleeps in the gate until the action saw the completion interrupt.
    fn wait_dma_done(&self, gate: &Gate<'_>) -> Result {
        let start = Instant::<Monotonic>::now();
        while !self.dma.borrow(gate)?.done {
            if start.elapsed() > DMA_TIMEOUT {
                return Err(ETIMEDOUT);
            }
            self.gate
                .command_sleep(gate, event_of(&self.dma), Some(Delta::from_millis(500)))?;
        }
        Ok(())
    }
}

/// An open `/dev/eduN-dma`: a write copies the bytes into the device buffer by
/// DMA, a read copies them back by DMA (1 to 4095 bytes per transfer).
pub(crate) struct EduDmaFile {
    _module: ModuleRef,
    engine: Arc<EduEngine>,
}

#[vtable]
impl MiscDevice for EduDmaFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let (module, engine) = EduNodes::open(misc)?;
        Ok(KBox::pin(
            EduDmaFile {
                _module: module,
                engine,
            },
            GFP_KERNEL,
        )?)
    }

    fn write_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let engine = &kiocb.file().engine;
        let len = iov.len();
        if len == 0 || len > DMA_MAX {
            return Err(EINVAL);
        }
        let mut data = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        if iov.copy_from_iter(&mut data) != len {
            return Err(EFAULT);
        }
        engine
            .gate
            .run_action(|gate| engine.dma_store(gate, &data))??;
        *kiocb.ki_pos_mut() = 0;
        Ok(len)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let engine = &kiocb.file().engine;
        let data = engine.gate.run_action(|gate| engine.dma_load(gate))??;
        let mut pos = 0i64;
        iov.simple_read_from_buffer(&mut pos, &data)
    }
}
