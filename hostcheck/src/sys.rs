// SPDX-License-Identifier: GPL-2.0

//! The host version of `src/sys.rs`: the same items with the same signatures,
//! built on the `kernel` shim's tasks (`kernel::host`) instead of C bindings.
//!
//! What each item models:
//!
//! - [`KThread`]: `kthread_create_on_node` (a thread that waits to be started;
//!   stopped before it started, it never runs its function), `wake_up_process`
//!   to start, `kthread_stop_put` (sets `KTHREAD_SHOULD_STOP`, sends the
//!   `TIF_NOTIFY_SIGNAL` signal, wakes, waits for the exit).
//! - [`KThreadSelf::sleep_unless`] and [`TaskWaker::wake`]: the task-state
//!   protocol of the kernel version (`set_current_state()` with its full
//!   barrier, the check, `schedule()`; `wake_up_process()` with its full barrier
//!   before it reads the state), on a backend atomic: loom explores it.
//! - RCU is not modelled: [`synchronize_rcu`] returns at once, and a waker's task
//!   stays allocated as long as the `TaskWaker` (so a racing `wake` never reads
//!   freed memory on the host).
//! - The gate's lockdep map is empty; priorities and CPU binding are ignored.

use core::ffi::c_void;
use kernel::{
    ffi::c_int,
    host::{self, Task},
    irq::host as irq,
    prelude::*,
    str::CStr,
    sync::atomic::{Acquire, Atomic, Release},
};
use std::sync::{
    atomic::{AtomicI64, Ordering::SeqCst},
    Arc as StdArc, Mutex as StdMutex,
};

/// Monotonic time in nanoseconds: a counter that moves on every read (there is
/// no clock on the host; statistics only).
#[inline]
pub(crate) fn now_ns() -> i64 {
    static NOW: AtomicI64 = AtomicI64::new(1);
    NOW.fetch_add(1, SeqCst)
}

/// An identifier of the calling task, for ownership checks (never dereferenced).
#[inline]
pub(crate) fn current_task_id() -> usize {
    host::current().id()
}

/// Scheduling class of a kernel thread (ignored on the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// SCHED_FIFO at the priority Linux gives its own IRQ threads.
    Fifo,
    /// SCHED_FIFO at the lowest real-time priority.
    FifoLow,
    /// SCHED_NORMAL (CFS) with the given nice value (-20..=19).
    Nice(i32),
}

/// The thread function's argument, moved to the new thread.
struct Data(*mut c_void);

// SAFETY: The creator promises `data` is valid for the thread function
// (`KThread::create`'s safety requirement), from whichever thread runs it.
unsafe impl Send for Data {}

/// An owned kernel thread.
pub(crate) struct KThread {
    task: StdArc<Task>,
    started: StdArc<kernel::rt::atomic::AtomicBool>,
    handle: Option<kernel::rt::thread::JoinHandle<c_int>>,
}

impl KThread {
    /// Creates a thread that runs `func(data)` once started, and starts it.
    ///
    /// # Safety
    ///
    /// As for [`KThread::create`].
    pub(crate) unsafe fn run(
        func: unsafe extern "C" fn(*mut c_void) -> c_int,
        data: *mut c_void,
        name: &CStr,
        cpu: Option<u32>,
        prio: Priority,
    ) -> Result<Self> {
        // SAFETY: The caller's promise is the one `create` needs.
        let this = unsafe { Self::create(func, data, name, cpu, prio) }?;
        this.start();
        Ok(this)
    }

    /// Creates a thread that will run `func(data)` once [`KThread::start`]ed.
    /// A thread that is stopped before it was started never runs `func`.
    ///
    /// # Safety
    ///
    /// `data` must stay valid for `func` until [`KThread::stop`] has returned or, if the
    /// thread is never stopped, until `func` returns.
    pub(crate) unsafe fn create(
        func: unsafe extern "C" fn(*mut c_void) -> c_int,
        data: *mut c_void,
        _name: &CStr,
        _cpu: Option<u32>,
        _prio: Priority,
    ) -> Result<Self> {
        let task = Task::new();
        let started = StdArc::new(kernel::rt::atomic::AtomicBool::new(false));
        let data = Data(data);
        let (t, s) = (task.clone(), started.clone());
        let handle = kernel::rt::thread::spawn(move || {
            Task::bind(&t);
            let data = data;
            // `kthread()`: wait to be woken; a stop before that skips `func`.
            loop {
                if t.should_stop() {
                    return -4; // -EINTR
                }
                if s.load(SeqCst) {
                    break;
                }
                kernel::rt::thread::park();
            }
            // SAFETY: `data` is valid for `func` (the creator's promise).
            unsafe { func(data.0) }
        });
        Ok(Self {
            task,
            started,
            handle: Some(handle),
        })
    }

    /// Lets a thread made by [`KThread::create`] run its function.
    pub(crate) fn start(&self) {
        self.started.store(true, SeqCst);
        self.unpark();
    }

    fn unpark(&self) {
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
    }

    /// Changes the scheduling class of the thread (ignored).
    pub(crate) fn set_priority(&self, _prio: Priority) {}

    /// Moves the thread to a CPU (ignored: the host has none to pick).
    pub(crate) fn set_cpu(&self, _cpu: Option<u32>) -> Result {
        Ok(())
    }

    /// Identifier of the thread, comparable with [`current_task_id`].
    pub(crate) fn id(&self) -> usize {
        self.task.id()
    }

    /// Asks the thread to stop, waits until it has exited, and releases it.
    pub(crate) fn stop(mut self) -> i32 {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> i32 {
        let Some(handle) = self.handle.take() else {
            return 0;
        };
        self.task.request_stop();
        handle.thread().unpark();
        match handle.join() {
            Ok(r) => r,
            // The thread panicked: the model already failed; pass the panic on.
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Proof that the calling task is a thread created by [`KThread::create`].
pub(crate) struct KThreadSelf {
    _not_send: kernel::types::NotThreadSafe,
}

impl KThreadSelf {
    /// The token of the calling thread.
    ///
    /// # Safety
    ///
    /// The caller is the thread function of a thread created by [`KThread::create`].
    pub(crate) unsafe fn assume() -> Self {
        Self {
            _not_send: kernel::types::NotThreadSafe,
        }
    }

    /// Whether this thread was asked to stop (`kthread_should_stop`).
    pub(crate) fn should_stop(&self) -> bool {
        host::current().should_stop()
    }

    /// Lets the freezer freeze this thread (the host has no freezer).
    pub(crate) fn set_freezable(&self) {}

    /// Enters the refrigerator if the system is freezing: never on the host.
    pub(crate) fn try_to_freeze(&self) -> bool {
        false
    }

    /// Puts this thread to sleep unless `has_work()` is already true; returns
    /// when woken. The kernel version's steps: `set_current_state()` (state, full
    /// barrier), the check, `schedule()`.
    pub(crate) fn sleep_unless(&self, has_work: impl Fn() -> bool) {
        host::set_current_state_interruptible();
        if has_work() {
            host::set_current_state_running();
            return;
        }
        super::hooks::point_spin(super::hooks::Point::LoopSleepChecked);
        host::schedule();
    }
}

/// Wakes one kernel thread from any context, hard IRQ included (the kernel
/// version's `task` pointer and its ordering; see the module documentation for
/// RCU).
pub(crate) struct TaskWaker {
    task: Atomic<*mut Task>,
    /// Keeps every task ever set allocated while the waker lives (RCU's job).
    keep: StdMutex<Option<StdArc<Task>>>,
}

// SAFETY: `task` points to a `Task` kept alive by `keep`; `Task` is `Sync`.
unsafe impl Send for TaskWaker {}
// SAFETY: See `Send`.
unsafe impl Sync for TaskWaker {}

impl TaskWaker {
    /// A waker with no thread yet.
    pub(crate) fn new() -> Self {
        Self {
            task: Atomic::new(core::ptr::null_mut()),
            keep: StdMutex::new(None),
        }
    }

    /// Sets the thread to wake.
    pub(crate) fn set(&self, thread: &KThread) {
        *self.keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread.task.clone());
        self.task
            .store(StdArc::as_ptr(&thread.task).cast_mut(), Release);
    }

    /// Wakes the thread if it sleeps. Any context; never sleeps.
    #[inline]
    pub(crate) fn wake(&self) {
        let _rcu = kernel::sync::rcu::read_lock();
        let task = self.task.load(Acquire);
        if !task.is_null() {
            // SAFETY: `keep` holds the task while `self` lives.
            unsafe { (*task).wake_up_process() };
        }
    }

    /// Forgets the thread (no grace period to wait for on the host).
    pub(crate) fn clear(&self) {
        self.task.store(core::ptr::null_mut(), Release);
        synchronize_rcu();
    }
}

/// Waits for an RCU grace period: not modelled, returns at once.
pub(crate) fn synchronize_rcu() {}

/// Whether the caller runs in process context (false on a model's "hard IRQ"
/// thread).
#[inline]
pub(crate) fn in_task() -> bool {
    !host::current().in_hardirq()
}

/// The gate's lockdep map: empty on the host.
pub(crate) struct GateLockdep(());

impl GateLockdep {
    /// A map of a new class named `name`.
    ///
    /// # Safety
    ///
    /// `name` must be a NUL-terminated string that outlives the returned value.
    pub(crate) unsafe fn new(_name: *const kernel::ffi::c_char) -> impl PinInit<Self> {
        GateLockdep(())
    }

    /// Records that the calling task took the gate, or will wait for it.
    #[inline]
    pub(crate) fn acquire(&self, _entry: super::gate::Entry) {}

    /// Records that the calling task released the gate.
    #[inline]
    pub(crate) fn release(&self) {}
}

/// `ENOTCONN`: a source is not attached to a loop.
pub(crate) fn enotconn() -> Error {
    Error::from_errno(-107)
}

/// `EDEADLK`: the call would wait for itself.
pub(crate) fn edeadlk() -> Error {
    Error::from_errno(-35)
}

/// The interrupt lock's raw spinlock: a backend mutex (a spin lock is a
/// mutex whose waiters spin; the host's hard-IRQ threads may take it).
/// "Interrupts off" is not modelled beyond [`irqs_disabled`].
#[pin_data]
pub(crate) struct RawIrqLock {
    m: kernel::rt::Mutex<()>,
}

/// A held [`RawIrqLock`].
pub(crate) struct RawIrqGuard<'a>(#[allow(dead_code)] kernel::rt::MutexGuard<'a, ()>);

impl RawIrqLock {
    /// A new, unlocked lock.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            m: kernel::rt::Mutex::new(()),
        })
    }

    /// Takes the lock.
    pub(crate) fn lock(&self) -> RawIrqGuard<'_> {
        RawIrqGuard(kernel::rt::lock(&self.m))
    }

    /// Takes the lock if it is free.
    pub(crate) fn try_lock(&self) -> Option<RawIrqGuard<'_>> {
        self.m.try_lock().ok().map(RawIrqGuard)
    }
}

/// Whether local interrupts are off: on a model's hard-IRQ thread.
pub(crate) fn irqs_disabled() -> bool {
    !in_task()
}

/// Whether the caller may sleep: not on a model's hard-IRQ thread.
pub(crate) fn preemptible() -> bool {
    in_task()
}

/// `EOPNOTSUPP`.
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-95)
}

/// The NUMA node of `dev`: unknown on the host.
pub(crate) fn dev_node(_dev: &kernel::device::Device) -> Option<u32> {
    None
}

/// Whether `cpu` is online: the host's one CPU is.
pub(crate) fn cpu_online(cpu: u32) -> bool {
    cpu < kernel::cpu::nr_cpu_ids()
}

/// Whether `cpu` belongs to NUMA node `node`: the host has one node.
pub(crate) fn cpu_in_node(_cpu: u32, _node: u32) -> bool {
    true
}

/// `cpumask_local_spread`: the host's one CPU.
pub(crate) fn local_spread(_index: u32, _node: Option<u32>) -> u32 {
    0
}

/// The IRQ core's view of one line at one moment (the kernel version's
/// fields; `irqd` has only `IRQD_LEVEL`, `status` nothing).
#[derive(Clone, Copy, Debug)]
pub struct LineState {
    /// The descriptor's disable depth.
    pub depth: u32,
    /// The interrupt state flags.
    pub irqd: u32,
    /// The descriptor's settings.
    pub status: u32,
}

impl LineState {
    /// Level-triggered (`IRQD_LEVEL`).
    pub fn is_level(&self) -> bool {
        self.irqd & kernel::bindings::IRQD_LEVEL != 0
    }
}

/// The host IRQ core's view of line `irq` (`None`: no such line in the model).
pub fn line_state(irq: u32) -> Option<LineState> {
    let depth = irq::depth_of(irq)?;
    let level = irq::is_level(irq);
    Some(LineState {
        depth,
        irqd: if level {
            kernel::bindings::IRQD_LEVEL
        } else {
            0
        },
        status: 0,
    })
}

/// No line is message-signaled on the host.
///
/// # Safety
///
/// None on the host (the kernel version's: `irq` is an allocated vector).
pub(crate) unsafe fn msi_info(_irq: u32) -> Option<(bool, u32)> {
    None
}

/// Every line's interrupts go to the host's one CPU.
///
/// # Safety
///
/// None on the host.
pub(crate) unsafe fn effective_affinity(_irq: u32, out: &mut kernel::cpumask::Cpumask) -> bool {
    if let Some(cpu) = kernel::cpu::CpuId::from_u32(0) {
        out.set(cpu);
    }
    true
}

/// Affinity is not modelled: accepted and ignored.
///
/// # Safety
///
/// None on the host.
pub(crate) unsafe fn set_irq_affinity(_irq: u32, _mask: &kernel::cpumask::Cpumask) -> Result {
    Ok(())
}

/// The interrupt domain's number: 0 on the host.
///
/// # Safety
///
/// None on the host.
pub(crate) unsafe fn hwirq(_irq: u32) -> u64 {
    0
}

/// Before `request_irq`: a level line's disables mask at once (recorded by the
/// host IRQ core, whose lines always mask at once).
///
/// # Safety
///
/// None on the host (the kernel version's: `irq` is an allocated vector).
pub(crate) unsafe fn prepare_level_line(irq: u32) {
    if irq::is_level(irq) {
        irq::set_disable_unlazy(irq);
    }
}

/// The IRQ line (or set of lines) of one interrupt source, on the host IRQ
/// core (`kernel::irq::host`), which checks every operation: see there.
pub(crate) struct IrqLine {
    irq: u32,
    more: KVec<u32>,
}

impl IrqLine {
    /// Wraps line `irq`.
    ///
    /// # Safety
    ///
    /// None on the host (the kernel version's: `irq` is requested while used;
    /// the host IRQ core checks it).
    pub(crate) unsafe fn new(irq: u32) -> Self {
        Self {
            irq,
            more: KVec::new(),
        }
    }

    /// Wraps the vectors `first` and `more`.
    ///
    /// # Safety
    ///
    /// As for [`IrqLine::new`].
    pub(crate) unsafe fn new_set(first: u32, more: KVec<u32>) -> Self {
        Self { irq: first, more }
    }

    fn all(&self) -> impl Iterator<Item = u32> + '_ {
        Iterator::chain(core::iter::once(self.irq), self.more.iter().copied())
    }

    /// The IRQ number (of the first vector of a set).
    pub(crate) fn number(&self) -> u32 {
        self.irq
    }

    /// `disable_irq_nosync` on each line.
    pub(crate) fn disable_nosync(&self) {
        self.all().for_each(irq::disable_nosync);
    }

    /// `enable_irq` on each line.
    pub(crate) fn enable(&self) {
        self.all().for_each(irq::enable);
    }

    /// `synchronize_irq` on each line.
    pub(crate) fn synchronize(&self) {
        self.all().for_each(irq::synchronize);
    }

    /// `IRQ_DISABLE_UNLAZY` on each line.
    pub(crate) fn set_disable_unlazy(&self) {
        self.all().for_each(irq::set_disable_unlazy);
    }

    /// Whether the line is level-triggered.
    pub(crate) fn is_level(&self) -> bool {
        irq::is_level(self.irq)
    }
}

/// A CPU-latency QoS request: not modelled (holding it succeeds, releasing
/// does nothing).
#[pin_data]
pub(crate) struct CpuLatency {
    _none: (),
}

impl CpuLatency {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self { _none: () })
    }

    /// Holds every CPU shallow: nothing to do on the host.
    pub(crate) fn hold_shallow(&self) -> Result {
        Ok(())
    }

    /// Ends `hold_shallow`: nothing to do on the host.
    pub(crate) fn release(&self) {}
}

/// `cancel_delayed_work_sync`: delayed work is never queued on the host (see
/// `kernel::workqueue::Queue::enqueue_delayed`), so nothing is pending.
pub(crate) fn cancel_delayed_work_sync<T>(_item: &kernel::sync::Arc<T>) -> bool {
    false
}

/// PCI vectors (`interrupt/vectors.rs`) are not modelled: the host has no PCI
/// device, so nothing here ever succeeds.
mod pci_irq {
    use kernel::{
        device::{Bound, Device},
        devres::Devres,
        irq, pci,
        prelude::*,
    };

    /// One kind of PCI vector.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum VectorFlag {
        MsiX,
        Msi,
        Intx,
    }

    /// No vectors are allocated on the host.
    pub(crate) fn vectors_allocated(_pdev: &pci::Device<Bound>) -> bool {
        false
    }

    /// Fails: no vectors on the host.
    pub(crate) fn alloc_irq_vectors(
        _pdev: &pci::Device<Bound>,
        _n: u32,
        _flag: VectorFlag,
    ) -> Result<u32> {
        Err(ENOSPC)
    }

    /// Fails: no vectors on the host.
    pub(crate) fn irq_vector(_pdev: &pci::Device<Bound>, _index: u32) -> Result<u32> {
        Err(EINVAL)
    }

    /// A vector's action: never made on the host.
    pub(crate) struct IrqAction<H: irq::Handler>(core::marker::PhantomData<H>);

    impl<H: irq::Handler + Send> IrqAction<H> {
        /// Fails: no vectors on the host.
        ///
        /// # Safety
        ///
        /// None on the host.
        pub(crate) unsafe fn request(
            _dev: &Device<Bound>,
            _irq: u32,
            _shared: bool,
            _passive: bool,
            _name: &'static CStr,
            _handler: H,
        ) -> Result<Devres<Self>> {
            Err(ENODEV)
        }
    }
}
pub(crate) use pci_irq::{alloc_irq_vectors, irq_vector, vectors_allocated, IrqAction, VectorFlag};
