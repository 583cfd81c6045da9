// SPDX-License-Identifier: GPL-2.0

//! The engine: per-device state shared by the interrupt handler, the timer, the
//! open files and the debugfs knobs, with its work loop and command gate; and
//! how it stops (`withdraw`, `shutdown`, `quiesce`).

use super::*;

/// How long `raise` waits for each interrupt to be acknowledged.
const RAISE_ACK_TIMEOUT_MS: i64 = 1000;
/// How long teardown waits for a DMA transfer in flight to finish.
const DMA_DRAIN_TIMEOUT_MS: i64 = 500;

/// Per-device state shared by the interrupt handler, the timer, and open files.
#[pin_data]
pub(crate) struct EduEngine {
    pub(crate) bar: Devres<Bar0>,
    pub(crate) pci_name: CString,
    pub(crate) filter_mode: bool,
    pub(crate) fact_timeout: Delta,
    pub(crate) work_loop: Pin<KBox<WorkLoop>>,
    pub(crate) gate: CommandGate,
    pub(crate) queue: GateCell<FactQueue>,
    /// The timeout source; `None` after teardown (it holds a reference to `self`).
    #[pin]
    pub(crate) timer: Mutex<Option<TimerEventSource<FactTimeout>>>,
    /// Interrupt status bits acknowledged by the filter, not yet seen by the action.
    pub(crate) pending: Atomic<u32>,
    /// Host side of DMA transfers (`None`: no DMA memory the device can reach);
    /// access serialized by `dma` (gate held).
    pub(crate) dma_buf: Option<Coherent<[u8]>>,
    /// DMA state; only touched holding the gate.
    pub(crate) dma: GateCell<DmaState>,
    pub(crate) counters: Counters,
    /// When the engine was made: the origin of `Counters::last_action_ns`.
    pub(crate) epoch: Instant<Monotonic>,
    /// Set when the device goes away: new requests fail with `ENODEV`.
    pub(crate) closed: AtomicFlag,
    /// Test knob: the filter also answers "schedule" after signalling.
    pub(crate) signal_and_schedule: AtomicFlag,
    /// Test knob: interrupts are not acknowledged (the device keeps its line
    /// asserted: an interrupt storm).
    pub(crate) skip_ack: AtomicFlag,
    /// Test knob: the filter answers "not mine" to everything.
    pub(crate) deaf: AtomicFlag,
    /// Test knob: the next enable hook fails.
    pub(crate) fail_next_enable: AtomicFlag,
    /// Test knob: the next action cancels the source through this handle
    /// (taken by the action or at shutdown: it refers back to the engine).
    #[pin]
    pub(crate) cancel_in_action: Mutex<Option<InterruptControl<EduIrq>>>,
}

impl EduEngine {
    /// Probe step: the engine with its work loop (named `loop_name`, statistics
    /// under `loop_debugfs`) and command gate; the timer comes with
    /// [`EduEngine::start_timer`].
    pub(crate) fn new(
        pdev: &pci::Device<Core<'_>>,
        bar: Devres<Bar0>,
        dma_buf: Option<Coherent<[u8]>>,
        loop_name: &'static CStr,
        loop_debugfs: Option<Dir>,
    ) -> Result<Arc<Self>> {
        let work_loop = WorkLoop::new(
            loop_name,
            LoopOptions {
                debugfs: loop_debugfs,
                // Suspend freezes the loop between passes (see `suspend`).
                freezable: true,
                ..LoopOptions::default()
            },
        )?;
        let gate = CommandGate::new(c"commands")?;
        work_loop.add_event_source(&gate)?;
        let dma = GateCell::new(&work_loop, DmaState::default());
        let queue = GateCell::new(&work_loop, FactQueue::default());
        let timeout_ms = *module_parameters::fact_timeout_ms.value();
        Arc::pin_init(
            try_pin_init!(EduEngine {
                bar,
                pci_name: pdev.as_ref().name().to_cstring()?,
                filter_mode: *module_parameters::filter.value() != 0,
                fact_timeout: Delta::from_millis(timeout_ms.into()),
                work_loop,
                gate,
                queue,
                timer <- new_mutex!(None),
                pending: Atomic::new(0),
                dma_buf,
                dma,
                counters: Counters::new(),
                epoch: Instant::now(),
                closed: AtomicFlag::new(false),
                signal_and_schedule: AtomicFlag::new(false),
                skip_ack: AtomicFlag::new(false),
                deaf: AtomicFlag::new(false),
                fail_next_enable: AtomicFlag::new(false),
                cancel_in_action <- new_mutex!(None),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// Probe step: the lost-interrupt timer, on the engine's loop. It holds the
    /// engine: a probe that fails after this must shut the engine down.
    pub(crate) fn start_timer(self: &Arc<Self>) -> Result {
        let timer = TimerEventSource::new(
            c"fact-timeout",
            FactTimeout {
                engine: self.clone(),
            },
        )?;
        self.work_loop.add_event_source(&timer)?;
        *self.timer.lock() = Some(timer);
        Ok(())
    }

    /// Raises `count` interrupts one at a time, each after the previous one was
    /// acknowledged, so every raise is one interrupt. Process context.
    /// Stops at once (`ENODEV`) when the device goes away and on a signal
    /// (`EINTR`), so removal never waits for a long burst.
    pub(crate) fn raise(&self, count: u32) -> Result {
        for _ in 0..count {
            if self.closed.load(Acquire) {
                return Err(ENODEV);
            }
            if kernel::current!().signal_pending() {
                return Err(EINTR);
            }
            self.raise_one()?;
            self.counters.raised.add(1, Relaxed);
            // Sleep between looks: with a plain source it is the action, on the loop
            // thread, that acknowledges.
            let acked = read_poll_timeout(
                || {
                    if self.closed.load(Acquire) {
                        return Err(ENODEV);
                    }
                    self.bar
                        .try_access_with(|bar| bar.read(regs::IRQ_STATUS))
                        .ok_or(ENODEV)
                },
                |status| status.bits().get() & IRQ_TEST == 0,
                Delta::from_micros(20),
                Delta::from_millis(RAISE_ACK_TIMEOUT_MS),
            );
            if acked == Err(ETIMEDOUT) {
                self.counters.raise_timeouts.add(1, Relaxed);
            }
            acked?;
        }
        Ok(())
    }

    /// Raises one test interrupt and returns at once.
    pub(crate) fn raise_one(&self) -> Result {
        // `try_access_with` holds the RCU read lock only for the closure, so
        // `raise` may sleep between raises.
        self.bar
            .try_access_with(|bar| bar.write_reg(regs::IRQ_RAISE::zeroed().with_bits(IRQ_TEST)))
            .ok_or(ENODEV)
    }

    /// Closes the device for userspace: new requests and `raise` bursts stop
    /// with `ENODEV`, readers and writers waiting in the gate fail, and closures
    /// inside it finish before this returns. Process context; idempotent.
    pub(crate) fn withdraw(&self) {
        self.closed.store(true, Release);
        self.gate.close();
        drop(self.cancel_in_action.lock().take());
    }

    /// Stops everything that can touch the device. Process context; idempotent
    /// (also the clean-up of a probe that failed half-way).
    pub(crate) fn shutdown(&self) {
        self.withdraw();
        // Out of the mutex before the drop: dropping takes the loop's gate, and an
        // action holding the gate locks this mutex to re-arm.
        let timer = self.timer.lock().take();
        drop(timer);
        if self.work_loop.stop().is_err() {
            pr_warn!("edu: work loop stopped from its own thread\n");
        }
        self.quiesce();
    }

    /// Quiets the device: no factorial interrupt, no DMA in flight (the buffer may
    /// be freed next), nothing left asserted on a possibly shared line.
    pub(crate) fn quiesce(&self) {
        self.bar
            .try_access_with(|bar| bar.write_reg(regs::STATUS::zeroed()));
        // QEMU runs a transfer 100 ms after it was started. A device already gone
        // runs none.
        let drained = read_poll_timeout(
            || {
                Ok(self
                    .bar
                    .try_access_with(|bar| bar.read(regs::DMA_CMD).start())
                    .unwrap_or(false))
            },
            |&running| !running,
            Delta::from_millis(1),
            Delta::from_millis(DMA_DRAIN_TIMEOUT_MS),
        );
        if drained.is_err() {
            pr_warn!("edu: DMA still running at teardown\n");
        }
        self.bar
            .try_access_with(|bar| bar.write_reg(regs::IRQ_ACK::zeroed().with_bits(u32::MAX)));
    }
}

/// Shuts the engine down if a probe fails after its loop and timer exist.
pub(crate) struct ShutdownOnError(Option<Arc<EduEngine>>);

impl ShutdownOnError {
    pub(crate) fn new(engine: &Arc<EduEngine>) -> Self {
        Self(Some(engine.clone()))
    }

    /// The probe succeeded: the device's `PinnedDrop` shuts the engine down.
    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for ShutdownOnError {
    fn drop(&mut self) {
        if let Some(engine) = self.0.take() {
            engine.shutdown();
        }
    }
}
