// SPDX-License-Identifier: GPL-2.0

//! Benchmark driver: the same edu device, the same raise register, three ways to
//! run a bottom half.
//!
//! `mode=0`: this library's work loop (a filter interrupt source; the action runs
//! on the loop thread, bound to `bh_cpu`). `mode=1`: a plain kernel threaded IRQ
//! (`ThreadedRegistration`; the bottom half runs in Linux's own IRQ thread, which
//! follows the IRQ's affinity). `mode=2`: a work item queued on
//! `system_highpri` from the hard handler (runs on the IRQ's CPU).
//!
//! In every mode the hard handler reads and acknowledges the interrupt status,
//! counts the interrupt and defers; the bottom half records the time it started
//! and how many interrupts it has seen. debugfs `edu_bench/`:
//!
//! - `latency`: write N: N times, take a timestamp, raise an interrupt, sleep
//!   until the bottom half ran; read: one line per sample, raise-to-bottom-half
//!   and top-half-to-bottom-half latency in nanoseconds.
//! - `throughput`: write N: raise N interrupts back to back (each after the top
//!   half acknowledged the previous one); read: `N elapsed_ns lost`.
//! - `irq`: read: the Linux IRQ number (to pin it).

#[path = "../../src/workloop.rs"]
pub mod workloop;

use core::fmt;
use kernel::{
    debugfs::{Dir, File as DebugfsFile},
    device::{Bound, Core, Device},
    devres::Devres,
    impl_has_work,
    io::Io,
    irq::{self, IrqReturn, ThreadedIrqReturn},
    new_mutex, new_work, pci,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Arc, Completion, Mutex,
    },
    time::{Delta, Instant, Monotonic},
    uaccess::UserSliceReader,
    workqueue::{self, Work, WorkItem},
};
use workloop::{
    FilterContext, FilterResult, Gate, InterruptEventSource, InterruptHandler, LoopOptions,
    Priority, Sharing, SourceOptions, WorkLoop,
};

const IRQ_STATUS: usize = 0x24;
const IRQ_RAISE: usize = 0x60;
const IRQ_ACK: usize = 0x64;
const REGS_END: usize = 0x100;
const IRQ_TEST: u32 = 0x1_0000;
const MAX_SAMPLES: u32 = 100_000;

type Bar0 = pci::Bar<'static, REGS_END>;

/// State shared by the top half, the bottom half and the debugfs files.
#[pin_data]
struct Bench {
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
    latencies: Mutex<KVec<(i64, i64)>>,
    #[pin]
    throughput: Mutex<(u64, i64, u64)>,
    irq: Atomic<u32>,
    /// Origin of this driver's timestamps.
    base: Instant<Monotonic>,
    /// Set at teardown: measurements stop.
    stopping: Atomic<u32>,
}

impl Bench {
    /// Nanoseconds since `base` on the monotonic clock (comparable across CPUs).
    fn now_ns(&self) -> i64 {
        (Instant::<Monotonic>::now() - self.base).as_nanos()
    }

    fn check_running(&self) -> Result {
        if self.stopping.load(Acquire) != 0 {
            return Err(ENODEV);
        }
        Ok(())
    }

    /// The hard handler's share, identical for every mode. Hard-IRQ context.
    fn top_half(&self, dev: &Device<Bound>) -> bool {
        let Ok(bar) = self.bar.access(dev) else {
            return false;
        };
        let status = bar.read32(IRQ_STATUS);
        if status == 0 {
            return false;
        }
        bar.write32(status, IRQ_ACK);
        self.th_ns.store(self.now_ns(), Relaxed);
        self.produced.add(1, Relaxed);
        true
    }

    /// The bottom half's share, identical for every mode.
    fn bottom_half(&self) {
        self.bh_ns.store(self.now_ns(), Relaxed);
        let seen = self.produced.load(Acquire);
        self.consumed.store(seen, Release);
        if seen >= self.target.load(Acquire) {
            if let Some(c) = self.done.lock().take() {
                c.complete_all();
            }
        }
    }

    fn arm(&self, target: u64) -> Result<Arc<Completion>> {
        let c = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
        *self.done.lock() = Some(c.clone());
        self.target.store(target, Release);
        Ok(c)
    }

    fn raise(&self) -> Result {
        self.bar
            .try_access_with(|bar| bar.write32(IRQ_TEST, IRQ_RAISE))
            .ok_or(ENODEV)
    }

    /// Raise-to-bottom-half latency, `n` samples. The caller (pinned by the script)
    /// sleeps while it waits, so it never competes with the bottom half.
    fn measure_latency(&self, n: u32) -> Result {
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
    fn measure_throughput(&self, n: u32) -> Result {
        let start_count = self.produced.load(Acquire);
        let target = start_count + u64::from(n);
        let done = self.arm(target)?;
        let t0 = self.now_ns();
        for _ in 0..n {
            self.check_running()?;
            self.raise()?;
            let deadline = Instant::<Monotonic>::now();
            while self
                .bar
                .try_access_with(|bar| bar.read32(IRQ_STATUS) & IRQ_TEST != 0)
                .ok_or(ENODEV)?
            {
                if deadline.elapsed() > Delta::from_millis(1000) {
                    return Err(ETIMEDOUT);
                }
                core::hint::spin_loop();
            }
        }
        done.wait_for_completion();
        let elapsed = self.bh_ns.load(Relaxed) - t0;
        let lost = target.saturating_sub(self.consumed.load(Acquire));
        *self.throughput.lock() = (u64::from(n), elapsed, lost);
        Ok(())
    }
}

/// Mode 0: the work loop.
struct LoopBh(Arc<Bench>);

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
struct ThreadedBh(Arc<Bench>);

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
struct WqItem {
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

struct WqTop(Arc<WqItem>);

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

enum Bottom<'bound> {
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

struct LatencyFile(Arc<Bench>);

impl fmt::Debug for LatencyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (total, wake) in self.0.latencies.lock().iter() {
            writeln!(f, "{total} {wake}")?;
        }
        Ok(())
    }
}

struct ThroughputFile(Arc<Bench>);

impl fmt::Debug for ThroughputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, ns, lost) = *self.0.throughput.lock();
        write!(f, "{n} {ns} {lost}")
    }
}

struct IrqFile(Arc<Bench>);

impl fmt::Debug for IrqFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.irq.load(Relaxed))
    }
}

fn parse_count(reader: &mut UserSliceReader) -> Result<u32> {
    let mut buf = [0u8; 16];
    let len = reader.len();
    if len == 0 || len > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..len])?;
    let s = core::str::from_utf8(&buf[..len])
        .map_err(|_| EINVAL)?
        .trim();
    let n = s.parse::<u32>().map_err(|_| EINVAL)?;
    if n == 0 || n > MAX_SAMPLES {
        return Err(ERANGE);
    }
    Ok(n)
}

fn latency_write(file: &LatencyFile, reader: &mut UserSliceReader) -> Result {
    file.0.measure_latency(parse_count(reader)?)
}

fn throughput_write(file: &ThroughputFile, reader: &mut UserSliceReader) -> Result {
    file.0.measure_throughput(parse_count(reader)?)
}

struct Files {
    _latency: Pin<KBox<DebugfsFile<LatencyFile>>>,
    _throughput: Pin<KBox<DebugfsFile<ThroughputFile>>>,
    _irq: Pin<KBox<DebugfsFile<IrqFile>>>,
    _dir: Dir,
}

/// Per-device data; `Drop` tears down in the reverse order of setup.
struct BenchDevice<'bound> {
    files: Option<Files>,
    bottom: Option<Bottom<'bound>>,
    bench: Arc<Bench>,
}

impl Drop for BenchDevice<'_> {
    fn drop(&mut self) {
        // 1. Stop a running measurement (it may wait for an interrupt), then remove
        //    the files, which waits for the writer to leave.
        self.bench.stopping.store(1, Release);
        if let Some(c) = self.bench.done.lock().take() {
            c.complete_all();
        }
        drop(self.files.take());
        // 2. The interrupt path. The work item is cancelled after the line is
        //    freed, so the hard handler cannot queue it again.
        match self.bottom.take() {
            Some(Bottom::Workqueue(reg, item)) => {
                drop(reg);
                workloop::cancel_work_sync(&item);
            }
            other => drop(other),
        }
    }
}

struct BenchDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <BenchDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_class(
            pci::Class::OTHERS.as_raw(),
            pci::ClassMask::ClassSubclass.as_raw()
        ),
        ()
    )]
);

impl pci::Driver for BenchDriver {
    type IdInfo = ();
    type Data<'bound> = BenchDevice<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        probe(pdev)
    }
}

/// Binds the edu device: checks the parameters, maps the registers, takes one
/// MSI vector, sets up the bottom half `mode` asks for and the debugfs files.
fn probe<'bound>(pdev: &'bound pci::Device<Core<'_>>) -> Result<BenchDevice<'bound>> {
    if pdev.vendor_id().as_raw() != 0x1234 || pdev.device_id() != 0x11e8 {
        return Err(ENODEV);
    }
    let (mode, bh_cpu) = check_params(pdev)?;
    pdev.enable_device_mem()?;
    pdev.set_master();
    let bar = pdev
        .iomap_region_sized::<REGS_END>(0, c"edu_bench")?
        .into_devres()?;
    let vectors = pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::default().with(pci::IrqType::Msi))?;
    let vector = *vectors.start();
    let bench = Bench::new(bar)?;
    let bottom = match mode {
        0 => loop_bottom(vector, &bench, bh_cpu)?,
        1 => threaded_bottom(vector, &bench)?,
        _ => workqueue_bottom(vector, &bench)?,
    };
    let files = Files::new(&bench)?;
    dev_info!(
        pdev,
        "edu_bench: mode {} ({}), IRQ {}, bottom half CPU {}\n",
        mode,
        ["work loop", "threaded IRQ", "workqueue"][mode as usize],
        bench.irq.load(Relaxed),
        bh_cpu
    );
    Ok(BenchDevice {
        files: Some(files),
        bottom: Some(bottom),
        bench,
    })
}

/// Probe step: `mode` and `bh_cpu` in range, or the probe fails saying why.
fn check_params(pdev: &pci::Device<Core<'_>>) -> Result<(u32, u32)> {
    let mode = *module_parameters::mode.value();
    let bh_cpu = *module_parameters::bh_cpu.value();
    if mode > 2 {
        dev_err!(
            pdev,
            "mode={} is invalid: 0 work loop, 1 threaded IRQ, 2 workqueue\n",
            mode
        );
        return Err(EINVAL);
    }
    if bh_cpu >= kernel::cpu::nr_cpu_ids() {
        dev_err!(pdev, "bh_cpu={} does not exist\n", bh_cpu);
        return Err(EINVAL);
    }
    Ok((mode, bh_cpu))
}

impl Bench {
    /// Probe step: the measurement state, on the device's registers.
    fn new(bar: Devres<Bar0>) -> Result<Arc<Self>> {
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
                stopping: Atomic::new(0),
            }? Error),
            GFP_KERNEL,
        )
    }
}

/// Mode 0: this library's work loop (SCHED_FIFO, bound to `bh_cpu`) with an
/// interrupt source whose filter does the hard handler's share.
fn loop_bottom<'bound>(
    vector: pci::IrqVector<'bound>,
    bench: &Arc<Bench>,
    bh_cpu: u32,
) -> Result<Bottom<'bound>> {
    let work_loop = WorkLoop::new(
        c"edu_bench",
        LoopOptions {
            priority: Priority::Fifo,
            cpu: Some(bh_cpu),
            debugfs: None,
        },
    )?;
    let src = KBox::pin_init(
        InterruptEventSource::new(
            vector.try_into()?,
            c"edu_bench",
            Sharing::Exclusive,
            SourceOptions {
                timestamps: false,
                ..SourceOptions::default()
            },
            Ok::<_, Error>(LoopBh(bench.clone())),
        ),
        GFP_KERNEL,
    )?;
    work_loop.add_event_source(&*src)?;
    src.enable()?;
    bench.irq.store(src.irq(), Relaxed);
    Ok(Bottom::Loop {
        _source: src,
        _work_loop: work_loop,
    })
}

/// Mode 1: a plain kernel threaded IRQ.
fn threaded_bottom<'bound>(
    vector: pci::IrqVector<'bound>,
    bench: &Arc<Bench>,
) -> Result<Bottom<'bound>> {
    let request: irq::IrqRequest<'_> = vector.try_into()?;
    bench.irq.store(request.irq(), Relaxed);
    let reg = KBox::pin_init(
        irq::ThreadedRegistration::new(
            request,
            irq::Flags::TRIGGER_NONE,
            c"edu_bench",
            Ok::<_, Error>(ThreadedBh(bench.clone())),
        ),
        GFP_KERNEL,
    )?;
    Ok(Bottom::Threaded { _registration: reg })
}

/// Mode 2: a work item queued from the hard handler.
fn workqueue_bottom<'bound>(
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
    let reg = KBox::pin_init(
        irq::Registration::new(
            request,
            irq::Flags::TRIGGER_NONE,
            c"edu_bench",
            Ok::<_, Error>(WqTop(item.clone())),
        ),
        GFP_KERNEL,
    )?;
    Ok(Bottom::Workqueue(reg, item))
}

impl Files {
    /// Probe step: `edu_bench/{latency,throughput,irq}` in debugfs.
    fn new(bench: &Arc<Bench>) -> Result<Self> {
        let dir = Dir::new(c"edu_bench");
        Ok(Files {
            _latency: KBox::pin_init(
                dir.read_write_callback_file(
                    c"latency",
                    LatencyFile(bench.clone()),
                    &|f: &LatencyFile, fmt: &mut fmt::Formatter<'_>| fmt::Debug::fmt(f, fmt),
                    &latency_write,
                ),
                GFP_KERNEL,
            )?,
            _throughput: KBox::pin_init(
                dir.read_write_callback_file(
                    c"throughput",
                    ThroughputFile(bench.clone()),
                    &|f: &ThroughputFile, fmt: &mut fmt::Formatter<'_>| fmt::Debug::fmt(f, fmt),
                    &throughput_write,
                ),
                GFP_KERNEL,
            )?,
            _irq: KBox::pin_init(
                dir.read_only_file(c"irq", IrqFile(bench.clone())),
                GFP_KERNEL,
            )?,
            _dir: dir,
        })
    }
}

kernel::module_pci_driver! {
    type: BenchDriver,
    name: "edu_bench",
    authors: ["workloop"],
    description: "Benchmark: work loop vs threaded IRQ vs workqueue on QEMU's edu device",
    license: "GPL v2",
    params: {
        mode: u32 {
            default: 0,
            description: "0: work loop, 1: threaded IRQ, 2: workqueue from the hard handler",
        },
        bh_cpu: u32 {
            default: 0,
            description: "CPU of the work loop's thread (mode 0); pin the IRQ there too",
        },
    },
}
