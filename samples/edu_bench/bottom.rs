// SPDX-License-Identifier: GPL-2.0

//! The three bottom halves under test, each set up by one probe step: this
//! library's work loop (mode 0), Linux's threaded IRQ (mode 1), and a work item
//! queued from the hard handler (mode 2).

use super::*;

/// The bottom half the probe set up; dropping it frees the interrupt line.
pub(crate) enum Bottom<'bound> {
    /// Field order: the source goes before its loop.
    Loop {
        _source: Pin<KBox<InterruptEventSource<'bound, LoopBh>>>,
        _work_loop: Pin<KBox<WorkLoop>>,
    },
    Threaded {
        _registration: Pin<KBox<irq::ThreadedRegistration<ThreadedBh>>>,
    },
    Workqueue(Pin<KBox<irq::Registration<WqTop>>>, Arc<WqItem>),
}

impl Bottom<'_> {
    /// Frees the line; a work item is cancelled only after that, so that the
    /// hard handler cannot queue it again.
    pub(crate) fn release(self) {
        match self {
            Bottom::Workqueue(registration, item) => {
                drop(registration);
                workloop::cancel_work_sync(&item);
            }
            other => drop(other),
        }
    }
}

/// Mode 0: the work loop.
pub(crate) struct LoopBh(Arc<Bench>);

impl InterruptHandler for LoopBh {
    fn filter(&self, ctx: &FilterContext<'_>) -> FilterResult {
        if !self.0.top_half(ctx.device()) {
            return FilterResult::NotMine;
        }
        ctx.signal_interrupt();
        FilterResult::Handled
    }

    fn action(&self, _gate: &Gate<'_>, _count: u32) {
        self.0.bottom_half();
    }
}

/// Mode 1: Linux's threaded IRQ.
pub(crate) struct ThreadedBh(Arc<Bench>);

impl irq::ThreadedHandler for ThreadedBh {
    fn handle(&self, dev: &Device<Bound>) -> ThreadedIrqReturn {
        if self.0.top_half(dev) {
            ThreadedIrqReturn::WakeThread
        } else {
            ThreadedIrqReturn::None
        }
    }

    fn handle_threaded(&self, _dev: &Device<Bound>) -> IrqReturn {
        self.0.bottom_half();
        IrqReturn::Handled
    }
}

/// Mode 2: a work item queued from the hard handler.
#[pin_data]
pub(crate) struct WqItem {
    bench: Arc<Bench>,
    #[pin]
    work: Work<WqItem>,
}

impl_has_work! {
    impl HasWork<Self> for WqItem { self.work }
}

impl WorkItem for WqItem {
    type Pointer = Arc<WqItem>;

    fn run(this: Arc<WqItem>) {
        this.bench.bottom_half();
    }
}

pub(crate) struct WqTop(Arc<WqItem>);

impl irq::Handler for WqTop {
    fn handle(&self, dev: &Device<Bound>) -> IrqReturn {
        if !self.0.bench.top_half(dev) {
            return IrqReturn::None;
        }
        // Already queued: the pending run will account this interrupt too.
        let _ = workqueue::system_highpri().enqueue(self.0.clone());
        IrqReturn::Handled
    }
}

/// Mode 0: this library's work loop (SCHED_FIFO, bound to `bh_cpu`) with an
/// interrupt source whose filter does the hard handler's share.
pub(crate) fn loop_bottom<'bound>(
    vector: pci::IrqVector<'bound>,
    bench: &Arc<Bench>,
    bh_cpu: u32,
) -> Result<Bottom<'bound>> {
    let work_loop = WorkLoop::new(
        c"edu_bench",
        LoopOptions {
            priority: Priority::Fifo,
            cpu: Some(bh_cpu),
            ..LoopOptions::default()
        },
    )?;
    let source = KBox::pin_init(
        InterruptEventSource::new(
            vector.try_into()?,
            c"edu_bench",
            Sharing::Exclusive,
            SourceOptions {
                timestamps: false,
                // Measured with the interrupt lock: the top half's cost of it.
                interrupt_lock: true,
                ..SourceOptions::default()
            },
            Ok::<_, Error>(LoopBh(bench.clone())),
        ),
        GFP_KERNEL,
    )?;
    work_loop.add_event_source(&*source)?;
    source.enable()?;
    bench.irq.store(source.irq(), Relaxed);
    Ok(Bottom::Loop {
        _source: source,
        _work_loop: work_loop,
    })
}

/// Mode 1: a plain kernel threaded IRQ.
pub(crate) fn threaded_bottom<'bound>(
    vector: pci::IrqVector<'bound>,
    bench: &Arc<Bench>,
) -> Result<Bottom<'bound>> {
    let request: irq::IrqRequest<'_> = vector.try_into()?;
    bench.irq.store(request.irq(), Relaxed);
    let registration = KBox::pin_init(
        irq::ThreadedRegistration::new(
            request,
            irq::Flags::TRIGGER_NONE,
            c"edu_bench",
            Ok::<_, Error>(ThreadedBh(bench.clone())),
        ),
        GFP_KERNEL,
    )?;
    Ok(Bottom::Threaded {
        _registration: registration,
    })
}

/// Mode 2: a work item queued from the hard handler.
pub(crate) fn workqueue_bottom<'bound>(
    vector: pci::IrqVector<'bound>,
    bench: &Arc<Bench>,
) -> Result<Bottom<'bound>> {
    let item = Arc::pin_init(
        pin_init!(WqItem {
            bench: bench.clone(),
            work <- new_work!("edu_bench::work"),
        }),
        GFP_KERNEL,
    )?;
    let request: irq::IrqRequest<'_> = vector.try_into()?;
    bench.irq.store(request.irq(), Relaxed);
    let registration = KBox::pin_init(
        irq::Registration::new(
            request,
            irq::Flags::TRIGGER_NONE,
            c"edu_bench",
            Ok::<_, Error>(WqTop(item.clone())),
        ),
        GFP_KERNEL,
    )?;
    Ok(Bottom::Workqueue(registration, item))
}
