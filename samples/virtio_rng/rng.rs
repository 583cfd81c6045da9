// SPDX-License-Identifier: GPL-2.0

//! The entropy itself: buffers posted to the device, harvested by the bottom
//! half on the work loop, handed to the hwrng core's reads.
//!
//! One mutex guards the queue and the list of filled buffers; the readers (the
//! hwrng core serializes them) and the bottom half take it, never the top
//! half. With `depth` 1 a single buffer is in flight, as in Linux's C driver:
//! a reader that empties it posts it again and waits for the bottom half to
//! harvest it. With a larger `depth` the device fills several per notification.
//! With `hardirq=1` the top half rings the readers' bell instead and the
//! reader harvests: one wake-up per completion, as in Linux's C driver, where
//! the loop costs a second (the loop thread's). Either way readers sleep on
//! the bell (`bell.rs`), rung by whoever made bytes ready.

use super::*;
use bell::{Bell, Rang};
use kernel::{new_mutex, sync::Mutex, time::msecs_to_jiffies};
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
    /// Queue interrupts the top half completed (`hardirq=1`): bell rings.
    pub(crate) rung: Atomic<u64>,
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
    /// Readers wait here for a filled buffer: rung by the bottom half after a
    /// harvest, or by the queue's top half (`hardirq=1`).
    pub(crate) bell: Bell,
    hardirq: bool,
    pub(crate) transport: Transport,
    /// Buffers kept in flight.
    depth: usize,
    /// Set at removal: readers return `ENODEV`.
    removed: AtomicFlag,
    /// ISR bits an INTx top half read, for its bottom half.
    pub(crate) isr_bits: Atomic<u32>,
    pub(crate) stats: Stats,
}

impl Rng {
    pub(crate) fn new(
        transport: Transport,
        queue: Queue,
        depth: usize,
        hardirq: bool,
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
            bell: Bell::new()?,
            hardirq,
            transport,
            depth: depth.min(SIZE),
            removed: AtomicFlag::new(false),
            isr_bits: Atomic::new(0),
            stats: Stats {
                top: Atomic::new(0),
                not_mine: Atomic::new(0),
                delivered: Atomic::new(0),
                rung: Atomic::new(0),
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
            self.bell.ring();
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
    ///
    /// The bell's count is taken before the filled list (or, with `hardirq=1`,
    /// the used ring) is looked at, so bytes made ready after the look have
    /// rung after it and the wait returns at once.
    pub(crate) fn read(&self, out: &mut [u8], wait: bool) -> Result<usize> {
        let mut timed_out = false;
        loop {
            let seen = self.bell.count();
            let mut st = self.state.lock();
            if self.removed.load(Acquire) {
                return Err(ENODEV);
            }
            // With `hardirq=1` the reader harvests; on the work loop the bottom
            // half does, and a reader only after its safety net ran out.
            if self.hardirq || timed_out {
                let harvested = self.harvest(&mut st)?;
                if timed_out && harvested > 0 {
                    self.stats.polled.add(1, Relaxed);
                }
            }
            if st.count > 0 {
                return self.take(&mut st, out);
            }
            if !wait || out.is_empty() {
                return Ok(0);
            }
            drop(st);
            self.stats.waiting.add(1, Relaxed);
            // TIMEOUT: a safety net for a lost interrupt; the device answers in
            // microseconds unless it is rate limited.
            let rang = self.bell.wait(seen, msecs_to_jiffies(1000));
            self.stats.waiting.add(-1, Relaxed);
            timed_out = matches!(rang?, Rang::TimedOut);
        }
    }

    /// Removal, first step: readers waiting now or later return `ENODEV`.
    pub(crate) fn remove(&self) {
        self.removed.store(true, Release);
        self.bell.ring();
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

    /// `hardirq=1`: the queue's top half completes readers.
    pub(crate) fn hardirq(&self) -> bool {
        self.hardirq
    }
}
