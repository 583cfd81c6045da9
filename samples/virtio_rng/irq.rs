// SPDX-License-Identifier: GPL-2.0

//! The interrupt sources' handler: top half (filter) and bottom half (action)
//! of the configuration vector, the queue vector, or the shared INTx line.

use super::*;

/// Which interrupt a source serves.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// MSI-X vector 0: configuration changes.
    Config,
    /// MSI-X vector 1: the queue.
    Queue,
    /// The INTx line (shared): both, told apart by the ISR.
    Line,
}

/// The handler of one source.
pub(crate) struct Handler {
    pub(crate) rng: Arc<Rng>,
    pub(crate) role: Role,
}

/// ISR bits (4.1.4.5): a used buffer, a configuration change.
const ISR_QUEUE: u32 = 1;
const ISR_CONFIG: u32 = 2;

impl InterruptHandler for Handler {
    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        let rng = &self.rng;
        let isr = match self.role {
            Role::Config => ISR_CONFIG,
            Role::Queue => ISR_QUEUE,
            Role::Line => {
                // Reading the ISR acknowledges it and lowers the line. Zero is
                // another device's interrupt; all ones a device that has gone.
                let isr = rng.transport.isr(ctx.device());
                if isr == 0 || isr == 0xff {
                    rng.stats.not_mine.add(1, Relaxed);
                    return FilterResult::NotMine;
                }
                u32::from(isr)
            }
        };
        rng.stats.top.add(1, Relaxed);
        let mut later = isr;
        // hardirq=1: a used buffer rings the readers' bell here, in the top
        // half, as Linux's C driver completes its reader; the loop then runs
        // only for a configuration change.
        if rng.hardirq() && isr & ISR_QUEUE != 0 {
            rng.stats.rung.add(1, Relaxed);
            rng.bell.ring();
            later &= !ISR_QUEUE;
        }
        if later == 0 {
            return FilterResult::Handled;
        }
        if self.role == Role::Line {
            let bits = &rng.isr_bits;
            let mut old = bits.load(Relaxed);
            while let Err(now) = bits.cmpxchg(old, old | later, Relaxed) {
                old = now;
            }
        }
        FilterResult::Schedule
    }

    fn action(&self, _gate: &Gate<'_>, count: u32) {
        let rng = &self.rng;
        let bits = match self.role {
            Role::Config => ISR_CONFIG,
            Role::Queue => ISR_QUEUE,
            Role::Line => rng.isr_bits.xchg(0, Relaxed),
        };
        if bits & ISR_CONFIG != 0 {
            rng.stats.config.add(1, Relaxed);
            if rng.transport.status() & transport::status::NEEDS_RESET != 0 {
                pr_warn!("virtio_rng_rs: the device needs a reset\n");
            }
        }
        // On the line a run is for both kinds unless the top half completed
        // the queue itself (hardirq=1).
        if self.role == Role::Queue || (self.role == Role::Line && !rng.hardirq()) {
            rng.stats.delivered.add(count.into(), Relaxed);
            rng.complete();
        }
    }
}
