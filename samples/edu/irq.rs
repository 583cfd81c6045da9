// SPDX-License-Identifier: GPL-2.0

//! The interrupt part: one interrupt event source whose filter (top half)
//! acknowledges the device and whose action (bottom half, on the work loop)
//! completes factorials and DMA transfers; and the `irq_ctl` debugfs knob that
//! disables and enables it. This file can be read and copied alone.

use super::*;

/// The interrupt handler: filter in the top half, action on the loop.
pub(crate) struct EduIrq {
    pub(crate) engine: Arc<EduEngine>,
}

impl InterruptHandler for EduIrq {
    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        let e = &self.engine;
        let Ok(bar) = e.bar.access(ctx.device()) else {
            return FilterResult::NotMine;
        };
        if e.deaf.load(Relaxed) {
            return FilterResult::NotMine;
        }
        if !e.filter_mode && !ctx.held() {
            // Plain source: the action acknowledges; a level line stays masked
            // (auto-disable) until it has.
            return FilterResult::Schedule;
        }
        // The filter acknowledges in the top half; so does a plain source whose
        // action cannot run now (disabled, loop stopped), which must not keep a
        // shared line masked for the other devices on it.
        let status = bar.read32(regs::IRQ_STATUS);
        if status == 0 {
            return FilterResult::NotMine;
        }
        if !e.skip_ack.load(Relaxed) {
            bar.write32(status, regs::IRQ_ACK);
        }
        let mut old = e.pending.load(Relaxed);
        while let Err(now) = e.pending.cmpxchg(old, old | status, Relaxed) {
            old = now;
        }
        if status & IRQ_TEST != 0 {
            e.counters.test_irqs.add(1, Relaxed);
        }
        // The device is quiet again: schedule without masking, so devices sharing
        // the line are never starved.
        ctx.signal_interrupt();
        if e.signal_and_schedule.load(Relaxed) {
            return FilterResult::Schedule;
        }
        FilterResult::Handled
    }

    fn quiesce(&self) {
        self.engine.quiesce();
    }

    fn action(&self, gate: &Gate<'_>, _count: u32) {
        let e = &self.engine;
        // What the top half acknowledged, and with a plain source what is pending.
        let mut status = e.pending.xchg(0, Relaxed);
        if !e.filter_mode {
            let read = e
                .bar
                .try_access_with(|bar| {
                    let s = bar.read32(regs::IRQ_STATUS);
                    if !e.skip_ack.load(Relaxed) {
                        bar.write32(s, regs::IRQ_ACK);
                    }
                    s
                })
                .unwrap_or(0);
            if read & IRQ_TEST != 0 {
                e.counters.test_irqs.add(1, Relaxed);
            }
            if read == 0 && status == 0 {
                e.counters.empty_actions.add(1, Relaxed);
            }
            status |= read;
        }
        if status & IRQ_FACT != 0 {
            e.counters.fact_irqs.add(1, Relaxed);
            e.complete_running(gate, false);
        }
        if status & IRQ_DMA != 0 {
            if let Ok(mut d) = e.dma.borrow(gate) {
                d.done = true;
            }
            e.gate.command_wakeup(event_of(&e.dma), Wake::All);
        }
    }
}

/// The `irq_ctl` knob: write `disable` or `enable` to drive the interrupt
/// source's enable state; read the driver's disable count.
pub(crate) struct IrqCtl(pub(crate) InterruptControl<EduIrq>);

pub(crate) fn irq_ctl_write(c: &IrqCtl, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 16];
    match read_word(reader, &mut buf)? {
        "disable" => c.0.disable(),
        "enable" => c.0.enable(),
        _ => Err(EINVAL),
    }
}

pub(crate) fn irq_ctl_read(c: &IrqCtl, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "{}", c.0.disable_depth())
}
