// SPDX-License-Identifier: GPL-2.0

//! The 82574L's interrupt causes, routed to MSI-X vectors and raised on demand.
//!
//! The chip has five causes that MSI-X can signal separately: receive queues 0
//! and 1, transmit queues 0 and 1, and "other". `IVAR` maps each cause to a
//! vector (4 bits a cause: valid bit 3, vector in bits 2:0); writing a cause's
//! bit to `ICS` sets it in `ICR` as the hardware would, and with the cause
//! enabled in `IMS` the chip sends the message of its vector. With the cause's
//! bit in `EIAC` the chip clears it from `ICR` when it sends the message
//! (auto-clear), and with `CTRL_EXT.IAME` it leaves `IMS` alone: each write to
//! `ICS` is one message and nothing needs acknowledging.
//!
//! QEMU (7.2) throttles each vector: a message within `EITR` (at least 500 x 256
//! ns, 128 us) of the previous one on the same vector is postponed, and its
//! "postponed" flag is never cleared, so from then on every message of that
//! vector is sent twice (`e1000e_intrmgr_on_msix_throttling_timer`). The
//! window ends when that timer runs, in QEMU's main loop, which a busy host
//! delays. [`Nic::raise`] therefore waits for each interrupt to arrive, then
//! waits out the throttle generously (1 ms), before raising the next.

use super::*;

mod regs {
    use super::register;

    register! {
        /// Extended control: bit 27 `IAME` (auto-clear leaves `IMS` alone).
        pub(super) CTRL_EXT(u32) @ 0x18 {
            31:0 bits;
        }

        /// Interrupt causes; reading it with `IMS` zero clears it.
        pub(super) ICR(u32) @ 0xc0 {
            31:0 bits;
        }

        /// Sets the causes whose bits are written.
        pub(super) ICS(u32) @ 0xc8 {
            31:0 bits;
        }

        /// Enables the causes whose bits are written.
        pub(super) IMS(u32) @ 0xd0 {
            31:0 bits;
        }

        /// Disables the causes whose bits are written.
        pub(super) IMC(u32) @ 0xd8 {
            31:0 bits;
        }

        /// Causes cleared from `ICR` when their message is sent.
        pub(super) EIAC(u32) @ 0xdc {
            31:0 bits;
        }

        /// Cause-to-vector map, 4 bits a cause: valid (bit 3) and vector (2:0).
        pub(super) IVAR(u32) @ 0xe4 {
            31:0 bits;
        }
    }
}

/// The registers' end: the driver maps BAR0 up to here.
pub(crate) const END: usize = 0x100;

pub(crate) type Bar0 = pci::Bar<'static, END>;

/// `CTRL_EXT.IAME`.
const CTRL_EXT_IAME: u32 = 1 << 27;
/// `IVAR`: the entry is valid.
const IVAR_VALID: u32 = 0x8;
/// Largest number of vectors: one a cause.
pub(crate) const MAX_VECTORS: u32 = 5;

/// The `ICR` bit of cause `k`, in `IVAR` order: RXQ0, RXQ1, TXQ0, TXQ1, other.
pub(crate) fn cause_bit(k: u32) -> u32 {
    1 << (20 + k)
}

/// Counts of one vector.
pub(crate) struct VectorCounts {
    /// Causes written to `ICS`.
    pub(crate) raised: Atomic<u64>,
    /// Top halves (filter calls) of the source serving this vector, by message.
    pub(crate) top: Atomic<u64>,
    /// Interrupts the action was handed (per-vector sources only).
    pub(crate) delivered: Atomic<u64>,
}

impl VectorCounts {
    const fn new() -> Self {
        Self {
            raised: Atomic::new(0),
            top: Atomic::new(0),
            delivered: Atomic::new(0),
        }
    }
}

/// The device, shared by its sources, the knobs and the driver data.
pub(crate) struct Nic {
    pub(crate) bar: Devres<Bar0>,
    /// Vectors granted (and causes in use).
    pub(crate) vectors: u32,
    pub(crate) counts: [VectorCounts; MAX_VECTORS as usize],
    /// Top halves of every vector.
    pub(crate) top_total: Atomic<u64>,
    /// Top halves whose message was not the vector of their source.
    pub(crate) wrong_message: Atomic<u64>,
    /// Sources whose `int_index` or `provider` was not their vector's and device.
    pub(crate) wrong_place: Atomic<u64>,
    /// Interrupts handed to the action of the single source (`one_source=1`).
    pub(crate) delivered_all: Atomic<u64>,
    /// Set at unbind: a raise in progress stops.
    pub(crate) closed: AtomicFlag,
}

impl Nic {
    /// Masks every cause and clears what is pending; with `vectors` MSI-X
    /// vectors, routes cause `k` to vector `k` for `k < vectors` and enables
    /// those causes with auto-clear. With one vector (MSI or INTx), every cause
    /// goes to it: `IVAR` does not apply and `ICR` must be read to clear it.
    pub(crate) fn new(bar: Devres<Bar0>, pdev: &pci::Device<Bound>, vectors: u32) -> Result<Self> {
        let used = (0..vectors).fold(0, |bits, k| bits | cause_bit(k));
        let ivar = (0..vectors).fold(0, |ivar, k| ivar | ((IVAR_VALID | k) << (4 * k)));
        {
            let io = bar.access(pdev.as_ref())?;
            io.write_reg(regs::IMC::zeroed().with_bits(u32::MAX));
            // `IMS` is zero: the read clears `ICR`.
            let _ = io.read(regs::ICR);
            let ctrl_ext = io.read(regs::CTRL_EXT).bits().get();
            io.write_reg(regs::CTRL_EXT::zeroed().with_bits(ctrl_ext | CTRL_EXT_IAME));
            io.write_reg(regs::IVAR::zeroed().with_bits(ivar));
            io.write_reg(regs::EIAC::zeroed().with_bits(used));
            io.write_reg(regs::IMS::zeroed().with_bits(used));
        }
        Ok(Self {
            bar,
            vectors,
            counts: [const { VectorCounts::new() }; MAX_VECTORS as usize],
            top_total: Atomic::new(0),
            wrong_message: Atomic::new(0),
            wrong_place: Atomic::new(0),
            delivered_all: Atomic::new(0),
            closed: AtomicFlag::new(false),
        })
    }

    /// The counts of vector `k` (`None` past the last one).
    pub(crate) fn vector(&self, k: u32) -> Option<&VectorCounts> {
        // CAST: `u32` fits `usize`.
        self.counts.get(k as usize).filter(|_| k < self.vectors)
    }

    /// Raises cause `k` `n` times, each once the previous one arrived (a top
    /// half ran) and QEMU's throttle window passed. Process context.
    ///
    /// # Errors
    ///
    /// `EINVAL` for a cause not in use, `ENODEV` once the device is going away,
    /// `ETIMEDOUT` if an interrupt does not arrive within a second.
    pub(crate) fn raise(&self, k: u32, n: u32) -> Result {
        let counts = self.vector(k).ok_or(EINVAL)?;
        for _ in 0..n {
            if self.closed.load(Acquire) {
                return Err(ENODEV);
            }
            let before = self.top_total.load(Acquire);
            self.bar
                .try_access_with(|io| io.write_reg(regs::ICS::zeroed().with_bits(cause_bit(k))))
                .ok_or(ENODEV)?;
            counts.raised.add(1, Relaxed);
            // TIMEOUT: a message arrives within microseconds; a second means it
            // was lost (or routed nowhere).
            read_poll_timeout(
                || Ok(self.top_total.load(Acquire)),
                |&now| now != before,
                Delta::from_micros(20),
                Delta::from_secs(1),
            )?;
            // QEMU's minimum `EITR` interval is 128 us, but its timer runs in
            // QEMU's main loop, late when the host is busy: leave it plenty.
            fsleep(Delta::from_millis(1));
        }
        Ok(())
    }

    /// Raises cause `k` once and returns at once, not waiting for the interrupt
    /// (the `lock` knob holds it up).
    pub(crate) fn raise_nowait(&self, k: u32) -> Result {
        let counts = self.vector(k).ok_or(EINVAL)?;
        self.bar
            .try_access_with(|io| io.write_reg(regs::ICS::zeroed().with_bits(cause_bit(k))))
            .ok_or(ENODEV)?;
        counts.raised.add(1, Relaxed);
        Ok(())
    }

    /// Stops the device from raising `causes` (and a raise in progress).
    pub(crate) fn mask(&self, causes: u32) {
        self.closed.store(true, Release);
        let _ = self
            .bar
            .try_access_with(|io| io.write_reg(regs::IMC::zeroed().with_bits(causes)));
    }

    /// With one vector (MSI, INTx) every cause comes to it and stays in `ICR`
    /// until read: reads and clears it in the filter; whether any was set.
    pub(crate) fn ack_single(&self, dev: &Device<Bound>) -> bool {
        let Ok(io) = self.bar.access(dev) else {
            return false;
        };
        io.read(regs::ICR).bits().get() != 0
    }
}

/// The handler of one source: the vector it serves, or every vector.
pub(crate) struct Cause {
    pub(crate) nic: Arc<Nic>,
    /// The source's vector; `None` for the source of every vector.
    pub(crate) vector: Option<u32>,
}

impl InterruptHandler for Cause {
    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        let message = ctx.message();
        if self.nic.vectors == 1 && !self.nic.ack_single(ctx.device()) {
            return FilterResult::NotMine;
        }
        if self.vector.is_some_and(|v| v != message) {
            self.nic.wrong_message.add(1, Relaxed);
        }
        if let Some(counts) = self.nic.vector(self.vector.unwrap_or(message)) {
            counts.top.add(1, Relaxed);
        }
        let _ = self.nic.top_total.fetch_add(1, Release);
        FilterResult::Schedule
    }

    fn action(&self, _gate: &Gate<'_>, count: u32) {
        match self.vector.and_then(|v| self.nic.vector(v)) {
            Some(counts) => counts.delivered.add(count.into(), Relaxed),
            None => self.nic.delivered_all.add(count.into(), Relaxed),
        };
    }

    fn quiesce(&self) {
        let causes = match self.vector {
            Some(v) => cause_bit(v),
            None => u32::MAX,
        };
        self.nic.mask(causes);
    }
}
