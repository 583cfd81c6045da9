// SPDX-License-Identifier: GPL-2.0

//! The measurement: what the top and bottom halves record, identical in every
//! mode, and the two measurements the debugfs files start.

use super::*;

/// Longest wait for the top half to acknowledge one raised interrupt.
const ACK_TIMEOUT: Delta = Delta::from_millis(1000);

/// State shared by the top half, the bottom half and the debugfs files.
#[pin_data]
pub(crate) struct Bench {
    bar: Devres<Bar0>,
    /// Interrupts counted by the hard handler.
    produced: Atomic<u64>,
    /// Interrupts accounted by the bottom half.
    consumed: Atomic<u64>,
    /// Time of the latest bottom half's start.
    bh_ns: Atomic<i64>,
    /// Time of the latest top half.
    th_ns: Atomic<i64>,
    /// Bottom half waits for `consumed` to reach this, then completes `done`.
    target: Atomic<u64>,
    #[pin]
    done: Mutex<Option<Arc<Completion>>>,
    /// Pairs (raise to bottom half, top half to bottom half), nanoseconds.
    #[pin]
    pub(crate) latencies: Mutex<KVec<(i64, i64)>>,
    /// The last throughput run: interrupts, nanoseconds, interrupts lost.
    #[pin]
    pub(crate) throughput: Mutex<(u64, i64, u64)>,
    pub(crate) irq: Atomic<u32>,
    /// Origin of this driver's timestamps.
    base: Instant<Monotonic>,
    /// Set at teardown: measurements stop.
    closed: AtomicFlag,
}

impl Bench {
    /// Probe step: the measurement state, on the device's registers.
    pub(crate) fn new(bar: Devres<Bar0>) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Bench {
                bar,
                produced: Atomic::new(0),
                consumed: Atomic::new(0),
                bh_ns: Atomic::new(0),
                th_ns: Atomic::new(0),
                target: Atomic::new(u64::MAX),
                done <- new_mutex!(None),
                latencies <- new_mutex!(KVec::new()),
                throughput <- new_mutex!((0, 0, 0)),
                irq: Atomic::new(0),
                base: Instant::<Monotonic>::now(),
                closed: AtomicFlag::new(false),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Nanoseconds since `base` on the monotonic clock (comparable across CPUs).
    fn now_ns(&self) -> i64 {
        (Instant::<Monotonic>::now() - self.base).as_nanos()
    }

    fn check_running(&self) -> Result {
        if self.closed.load(Acquire) {
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Teardown: a running measurement stops (it may be waiting for an interrupt).
    pub(crate) fn close(&self) {
        self.closed.store(true, Release);
        if let Some(done) = self.done.lock().take() {
            done.complete_all();
        }
    }

    /// The hard handler's share, identical for every mode. Hard-IRQ context.
    pub(crate) fn top_half(&self, dev: &Device<Bound>) -> bool {
        let Ok(bar) = self.bar.access(dev) else {
            return false;
        };
        let status = bar.read(regs::IRQ_STATUS).bits().get();
        if status == 0 {
            return false;
        }
        bar.write_reg(regs::IRQ_ACK::zeroed().with_bits(status));
        self.th_ns.store(self.now_ns(), Relaxed);
        self.produced.add(1, Relaxed);
        true
    }

    /// The bottom half's share, identical for every mode.
    pub(crate) fn bottom_half(&self) {
        self.bh_ns.store(self.now_ns(), Relaxed);
        let seen = self.produced.load(Acquire);
        self.consumed.store(seen, Release);
        if seen >= self.target.load(Acquire) {
            if let Some(done) = self.done.lock().take() {
                done.complete_all();
            }
        }
    }

    /// A completion the bottom half completes once it accounted `target`
    /// interrupts in all.
    fn arm(&self, target: u64) -> Result<Arc<Completion>> {
        let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        *self.done.lock() = Some(done.clone());
        self.target.store(target, Release);
        Ok(done)
    }

    fn raise(&self) -> Result {
        self.bar
            .try_access_with(|bar| bar.write_reg(regs::IRQ_RAISE::zeroed().with_bits(IRQ_TEST)))
            .ok_or(ENODEV)
    }

    /// Raise-to-bottom-half latency, `n` samples. The caller (pinned by the script)
    /// sleeps while it waits, so it never competes with the bottom half.
    pub(crate) fn measure_latency(&self, n: u32) -> Result {
        // CAST: `n <= MAX_SAMPLES`, well within `usize`.
        let mut samples = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for _ in 0..n {
            self.check_running()?;
            let target = self.produced.load(Acquire) + 1;
            let done = self.arm(target)?;
            let t0 = self.now_ns();
            self.raise()?;
            done.wait_for_completion();
            let bh = self.bh_ns.load(Relaxed);
            samples.push((bh - t0, bh - self.th_ns.load(Relaxed)), GFP_KERNEL)?;
        }
        *self.latencies.lock() = samples;
        Ok(())
    }

    /// Sustained rate: `n` raises back to back, each once the top half acknowledged
    /// the previous one; ends when the bottom half accounted all of them.
    pub(crate) fn measure_throughput(&self, n: u32) -> Result {
        let start_count = self.produced.load(Acquire);
        let target = start_count + u64::from(n);
        let done = self.arm(target)?;
        let t0 = self.now_ns();
        for _ in 0..n {
            self.check_running()?;
            self.raise()?;
            // Spin, not sleep: the next raise must follow the acknowledgement at
            // once, or the measurement shows the sleep.
            read_poll_timeout(
                || {
                    self.bar
                        .try_access_with(|bar| bar.read(regs::IRQ_STATUS).bits().get())
                        .ok_or(ENODEV)
                },
                |&status| status & IRQ_TEST == 0,
                Delta::ZERO,
                ACK_TIMEOUT,
            )?;
        }
        done.wait_for_completion();
        let elapsed = self.bh_ns.load(Relaxed) - t0;
        let lost = target.saturating_sub(self.consumed.load(Acquire));
        *self.throughput.lock() = (u64::from(n), elapsed, lost);
        Ok(())
    }
}
