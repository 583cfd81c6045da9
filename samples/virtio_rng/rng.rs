// SPDX-License-Identifier: GPL-2.0

//! The entropy itself: buffers posted to the device, harvested by the bottom
//! half on the work loop, handed to the hwrng core's reads.
//!
//! One mutex guards the queue and the list of filled buffers; the readers (the
//! hwrng core serializes them) and the bottom half take it, never the top
//! half. With `depth` 1 a single buffer is in flight, as in Linux's C driver:
//! a reader that empties it posts it again and waits for the bottom half to
//! harvest it. With a larger `depth` the device fills several per notification.

use super::*;
use kernel::{
    new_condvar, new_mutex,
    sync::{CondVar, CondVarTimeoutResult, Mutex},
    time::msecs_to_jiffies,
};
use queue::{Queue, BUF, SIZE};

/// What the queue holds and what the readers have not taken yet.
pub(crate) struct State {
    queue: Queue,
    /// Buffers the device filled, oldest first, as (id, length): a ring of
    /// `count` entries from `head`.
    ready: [(usize, usize); SIZE],
    head: usize,
    count: usize,
    /// Bytes of the oldest filled buffer already handed out.
    offset: usize,
    /// The buffers the device holds, a bit each.
    posted: u32,
}

/// Counts shown in debugfs (`stats`), for the tests and the benchmark.
pub(crate) struct Stats {
    /// Top halves that were this device's (INTx: ISR non-zero).
    pub(crate) top: Atomic<u64>,
    /// INTx top halves that found the ISR clear: another device's interrupt.
    pub(crate) not_mine: Atomic<u64>,
    /// Queue interrupts the library handed to the bottom half.
    pub(crate) delivered: Atomic<u64>,
    /// Configuration-change interrupts.
    pub(crate) config: Atomic<u64>,
    /// Buffers posted, and used buffers harvested, with their bytes.
    pub(crate) posted: Atomic<u64>,
    pub(crate) used: Atomic<u64>,
    pub(crate) bytes_used: Atomic<u64>,
    /// Bytes handed to the hwrng core.
    pub(crate) bytes_read: Atomic<u64>,
    /// Harvests a reader made after waiting a second without a wake-up.
    pub(crate) polled: Atomic<u64>,
    /// Used entries with an id the driver had not posted (ignored).
    pub(crate) bad: Atomic<u64>,
    /// Readers waiting now.
    pub(crate) waiting: Atomic<i32>,
}

/// The device's data path, shared by the sources, the hwrng and the driver.
#[pin_data]
pub(crate) struct Rng {
    #[pin]
    state: Mutex<State>,
    /// Readers wait here for a filled buffer.
    #[pin]
    filled: CondVar,
    pub(crate) transport: Transport,
    /// Buffers kept in flight.
    depth: usize,
    /// Set at removal: readers return `ENODEV`.
    removed: AtomicFlag,
    /// ISR bits an INTx top half read, for its bottom half.
    isr_bits: Atomic<u32>,
    pub(crate) stats: Stats,
}

impl Rng {
    pub(crate) fn new(
        transport: Transport,
        queue: Queue,
        depth: usize,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            state <- new_mutex!(State {
                queue,
                ready: [(0, 0); SIZE],
                head: 0,
                count: 0,
                offset: 0,
                posted: 0,
            }),
            filled <- new_condvar!(),
            transport,
            depth: depth.min(SIZE),
            removed: AtomicFlag::new(false),
            isr_bits: Atomic::new(0),
            stats: Stats {
                top: Atomic::new(0),
                not_mine: Atomic::new(0),
                delivered: Atomic::new(0),
                config: Atomic::new(0),
                posted: Atomic::new(0),
                used: Atomic::new(0),
                bytes_used: Atomic::new(0),
                bytes_read: Atomic::new(0),
                polled: Atomic::new(0),
                bad: Atomic::new(0),
                waiting: Atomic::new(0),
            },
        })
    }

    /// Posts every buffer (after `DRIVER_OK`).
    pub(crate) fn fill(&self) -> Result {
        let mut st = self.state.lock();
        for id in 0..self.depth {
            self.post(&mut st, id)?;
        }
        Ok(())
    }

    fn post(&self, st: &mut State, id: usize) -> Result {
        st.posted |= 1 << id;
        self.stats.posted.add(1, Relaxed);
        if st.queue.post(id)? {
            self.transport.notify()?;
        }
        Ok(())
    }

    /// Moves what the device used to the filled list; how many buffers.
    fn harvest(&self, st: &mut State) -> Result<usize> {
        let mut filled = 0;
        while let Some((id, len)) = st.queue.next_used()? {
            let id = id as usize;
            if id >= self.depth || st.posted & (1 << id) == 0 {
                self.stats.bad.add(1, Relaxed);
                continue;
            }
            st.posted &= !(1 << id);
            // The device may write less than the buffer, never more (5.4.6).
            let len = (len as usize).min(BUF);
            self.stats.used.add(1, Relaxed);
            self.stats.bytes_used.add(len as u64, Relaxed);
            if len == 0 {
                self.post(st, id)?;
                continue;
            }
            let tail = (st.head + st.count) % SIZE;
            st.ready[tail] = (id, len);
            st.count += 1;
            filled += 1;
        }
        Ok(filled)
    }

    /// The bottom half of the queue's interrupt (loop thread, gate held).
    pub(crate) fn complete(&self) {
        let filled = self.harvest(&mut self.state.lock());
        if filled.is_ok_and(|n| n > 0) {
            self.filled.notify_all();
        }
    }

    /// Copies from the oldest filled buffer; posts it again once emptied.
    fn take(&self, st: &mut State, out: &mut [u8]) -> Result<usize> {
        let (id, len) = st.ready[st.head];
        let n = out.len().min(len - st.offset);
        // PANIC: `n <= out.len()`.
        st.queue.copy(id, st.offset, &mut out[..n])?;
        st.offset += n;
        self.stats.bytes_read.add(n as u64, Relaxed);
        if st.offset == len {
            st.head = (st.head + 1) % SIZE;
            st.count -= 1;
            st.offset = 0;
            self.post(st, id)?;
        }
        Ok(n)
    }

    /// The hwrng read: up to `out.len()` bytes; with `wait`, sleeps
    /// (interruptibly) until there are some. `ENODEV` once the device is being
    /// removed, `ERESTARTSYS` on a signal.
    pub(crate) fn read(&self, out: &mut [u8], wait: bool) -> Result<usize> {
        let mut st = self.state.lock();
        loop {
            if self.removed.load(Acquire) {
                return Err(ENODEV);
            }
            if st.count > 0 {
                return self.take(&mut st, out);
            }
            if !wait || out.is_empty() {
                return Ok(0);
            }
            self.stats.waiting.add(1, Relaxed);
            // TIMEOUT: a safety net for a lost interrupt; the device answers in
            // microseconds unless it is rate limited.
            let woke = self
                .filled
                .wait_interruptible_timeout(&mut st, msecs_to_jiffies(1000));
            self.stats.waiting.add(-1, Relaxed);
            match woke {
                CondVarTimeoutResult::Signal { .. } => return Err(ERESTARTSYS),
                CondVarTimeoutResult::Timeout => {
                    if self.harvest(&mut st)? > 0 {
                        self.stats.polled.add(1, Relaxed);
                    }
                }
                CondVarTimeoutResult::Woken { .. } => {}
            }
        }
    }

    /// Removal, first step: readers waiting now or later return `ENODEV`.
    pub(crate) fn remove(&self) {
        self.removed.store(true, Release);
        let _guard = self.state.lock();
        self.filled.notify_all();
    }

    /// Bytes harvested and not yet read.
    pub(crate) fn cached(&self) -> usize {
        let st = self.state.lock();
        let mut bytes = 0;
        for k in 0..st.count {
            bytes += st.ready[(st.head + k) % SIZE].1;
        }
        bytes - st.offset
    }

    pub(crate) fn depth(&self) -> usize {
        self.depth
    }
}

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
        let stats = &self.rng.stats;
        if self.role == Role::Line {
            // Reading the ISR acknowledges it and lowers the line. Zero is
            // another device's interrupt; all ones a device that has gone.
            let isr = self.rng.transport.isr(ctx.device());
            if isr == 0 || isr == 0xff {
                stats.not_mine.add(1, Relaxed);
                return FilterResult::NotMine;
            }
            let bits = &self.rng.isr_bits;
            let mut old = bits.load(Relaxed);
            while let Err(now) = bits.cmpxchg(old, old | u32::from(isr), Relaxed) {
                old = now;
            }
        }
        stats.top.add(1, Relaxed);
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
        if self.role != Role::Config {
            rng.stats.delivered.add(count.into(), Relaxed);
            rng.complete();
        }
    }
}
