// SPDX-License-Identifier: GPL-2.0

//! The only place where the library calls `kernel::bindings` directly.
//!
//! Kernel 7.2's Rust crate has no abstraction for kernel threads, for
//! masking and unmasking an IRQ line (`disable_irq_nosync` / `enable_irq`),
//! for reading a line's trigger type, or for a completion that can be
//! signalled from hard-IRQ context and waited on interruptibly, nor (see
//! `pci_irq.rs`) for more than the first and last of a device's PCI vectors.
//! This module wraps exactly those C functions in small safe types;
//! everything above it is safe Rust.

pub(crate) mod pm;

use core::{ffi::c_void, ptr::NonNull};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    ffi::c_int,
    new_mutex,
    prelude::*,
    str::CStr,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Release},
        rcu, Arc, Mutex,
    },
    task::Task,
    types::Opaque, //
};

mod pci_irq;
pub(crate) use pci_irq::{alloc_irq_vectors, irq_vector, vectors_allocated, IrqAction, VectorFlag};

/// Monotonic time in nanoseconds (`ktime_get_mono_fast_ns()`: the same clock as
/// `ktime_get()`, read without its retry loop; for statistics).
///
/// Callable from any context, hard IRQ included.
#[inline]
pub(crate) fn now_ns() -> i64 {
    // SAFETY: `ktime_get_mono_fast_ns` has no preconditions and is NMI-safe.
    let ns = unsafe { bindings::ktime_get_mono_fast_ns() };
    // CAST: Nanoseconds since boot fit an `i64` for 292 years.
    ns as i64
}

/// An identifier of the calling task, for ownership checks (never dereferenced).
#[inline]
pub(crate) fn current_task_id() -> usize {
    Task::current_raw() as usize
}

/// An owned kernel thread (`struct task_struct` with a reference held).
///
/// # Invariants
///
/// `task` points to a kernel thread created by `kthread_create_on_node` on which
/// `get_task_struct` was called once; that reference is owned by this value and is
/// released by `kthread_stop_put` in [`KThread::stop`] or [`Drop`].
pub(crate) struct KThread {
    task: NonNull<bindings::task_struct>,
}

// SAFETY: A task reference may be used and released from any thread.
unsafe impl Send for KThread {}
// SAFETY: The methods taking `&self` only call thread-safe C functions.
unsafe impl Sync for KThread {}

/// Scheduling class of a kernel thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// SCHED_FIFO at the priority Linux gives its own IRQ threads
    /// (`sched_set_fifo`, `MAX_RT_PRIO / 2`).
    Fifo,
    /// SCHED_FIFO at the lowest real-time priority (`sched_set_fifo_low`).
    FifoLow,
    /// SCHED_NORMAL (CFS) with the given nice value (-20..=19).
    Nice(i32),
}

impl KThread {
    /// Creates a kernel thread that runs `func(data)` once started, and starts it.
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

    /// Creates a kernel thread that will run `func(data)` once [`KThread::start`]ed,
    /// bound to `cpu` if one is given, with the given priority.
    ///
    /// A thread that is stopped (or dropped) before it was started never runs
    /// `func`: `kthread()` checks `KTHREAD_SHOULD_STOP` before calling it.
    ///
    /// # Safety
    ///
    /// `data` must stay valid for `func` until [`KThread::stop`] has returned or, if the
    /// thread is never stopped, until `func` returns.
    pub(crate) unsafe fn create(
        func: unsafe extern "C" fn(*mut c_void) -> c_int,
        data: *mut c_void,
        name: &CStr,
        cpu: Option<u32>,
        prio: Priority,
    ) -> Result<Self> {
        // A possible but offline CPU is refused too: `kthread_bind` to it would be
        // silently undone by the scheduler (`select_fallback_rq`). The binding is
        // lost if the CPU goes offline later.
        if let Some(cpu) = cpu {
            if cpu >= kernel::cpu::nr_cpu_ids() || !cpu_online(cpu) {
                return Err(EINVAL);
            }
        }
        // SAFETY: `func` and `data` are valid per this function's safety contract; the
        // format string is a valid C string and `name` is a valid NUL-terminated string
        // consumed by the `%s` conversion.
        let task = from_err_ptr(unsafe {
            bindings::kthread_create_on_node(
                Some(func),
                data,
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                name.as_char_ptr(),
            )
        })?;
        // CAST: `from_err_ptr` returned a non-error pointer, which is never null for
        // `kthread_create_on_node`.
        let task = NonNull::new(task).ok_or(ENOMEM)?;
        // SAFETY: `task` is a live task returned above; we take the reference that
        // `KThread` owns (type invariant).
        unsafe { bindings::get_task_struct(task.as_ptr()) };
        // INVARIANT: One reference taken above, released in `stop`/`drop`.
        let this = Self { task };
        if let Some(cpu) = cpu {
            // SAFETY: The thread was created and has not been woken yet, which is what
            // `kthread_bind` requires; `cpu` was range-checked above.
            unsafe { bindings::kthread_bind(task.as_ptr(), cpu) };
        }
        this.set_priority(prio);
        Ok(this)
    }

    /// Lets a thread made by [`KThread::create`] run its function.
    pub(crate) fn start(&self) {
        // SAFETY: `task` is valid by the type invariant.
        unsafe { bindings::wake_up_process(self.task.as_ptr()) };
    }

    /// Changes the scheduling class of the thread.
    pub(crate) fn set_priority(&self, prio: Priority) {
        let task = self.task.as_ptr();
        // SAFETY: `task` is valid by the type invariant; these functions accept any
        // task and only fail for invalid parameters, which `clamp` excludes.
        unsafe {
            match prio {
                Priority::Fifo => bindings::sched_set_fifo(task),
                Priority::FifoLow => bindings::sched_set_fifo_low(task),
                // `sched_set_normal`, not `set_user_nice`: a thread changed at run
                // time from a real-time class must leave it.
                Priority::Nice(n) => bindings::sched_set_normal(task, n.clamp(-20, 19)),
            }
        }
    }

    /// Moves the thread to `cpu`, or lets it run on every CPU (`None`). Process
    /// context; may sleep (the thread migrates before this returns).
    ///
    /// # Errors
    ///
    /// `EINVAL` for a CPU that does not exist or is offline, `ENOMEM`.
    pub(crate) fn set_cpu(&self, cpu: Option<u32>) -> Result {
        let mut mask = kernel::cpumask::CpumaskVar::new_zero(GFP_KERNEL)?;
        match cpu {
            Some(cpu) if cpu_online(cpu) => {
                mask.set(kernel::cpu::CpuId::from_u32(cpu).ok_or(EINVAL)?)
            }
            Some(_) => return Err(EINVAL),
            None => mask.setall(),
        }
        // SAFETY: `task` is valid by the type invariant and `mask` is a valid
        // cpumask for the call.
        to_result(unsafe { bindings::set_cpus_allowed_ptr(self.task.as_ptr(), mask.as_raw()) })
    }

    /// Identifier of the thread, comparable with [`current_task_id`].
    pub(crate) fn id(&self) -> usize {
        self.task.as_ptr() as usize
    }

    /// Asks the thread to stop, waits until it has exited, and releases it.
    ///
    /// Must not be called by the thread itself. Returns the thread function's result.
    pub(crate) fn stop(self) -> i32 {
        let task = self.task.as_ptr();
        core::mem::forget(self);
        // SAFETY: `task` is valid and we own one reference (type invariant), which
        // `kthread_stop_put` consumes; `forget` above prevents a second release.
        unsafe { bindings::kthread_stop_put(task) }
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: As in `stop`: the reference is owned by `self` and released once.
        unsafe { bindings::kthread_stop_put(self.task.as_ptr()) };
    }
}

/// Proof that the calling task is a kernel thread created by [`KThread::create`],
/// running its thread function in process context with no lock held at the
/// point the token is used. Not `Send`: it describes the task that made it.
///
/// # Invariants
///
/// Created only by [`KThreadSelf::assume`] on such a thread, and used only on it.
pub(crate) struct KThreadSelf {
    /// Set by [`KThreadSelf::set_freezable`]: sleeps may be frozen in place.
    freezable: core::cell::Cell<bool>,
    _not_send: kernel::types::NotThreadSafe,
}

impl KThreadSelf {
    /// The token of the calling thread.
    ///
    /// # Safety
    ///
    /// The caller is the thread function of a thread created by
    /// [`KThread::create`], and uses the token only where it holds no spinlock and
    /// has not disabled preemption or interrupts.
    pub(crate) unsafe fn assume() -> Self {
        // INVARIANT: By the caller.
        Self {
            freezable: core::cell::Cell::new(false),
            _not_send: kernel::types::NotThreadSafe,
        }
    }

    /// Lets the system freezer freeze this thread (kthreads are born
    /// `PF_NOFREEZE`): at [`KThreadSelf::try_to_freeze`], and while it sleeps in
    /// [`KThreadSelf::sleep_unless`].
    pub(crate) fn set_freezable(&self) {
        // SAFETY: Changes the calling task's own flags; process context (type
        // invariant).
        unsafe { wl_set_freezable() };
        self.freezable.set(true);
    }

    /// Enters the refrigerator if the system is freezing, until thawed; returns
    /// whether it did. May sleep.
    pub(crate) fn try_to_freeze(&self) -> bool {
        // SAFETY: Process context with no lock held (type invariant), where
        // `try_to_freeze` may sleep.
        unsafe { wl_try_to_freeze() }
    }

    /// Whether this thread was asked to stop (`kthread_stop`).
    pub(crate) fn should_stop(&self) -> bool {
        // SAFETY: `current` is a kthread (type invariant), so `to_kthread(current)`,
        // which `kthread_should_stop` dereferences, is not NULL.
        unsafe { bindings::kthread_should_stop() }
    }

    /// Puts this thread to sleep unless `has_work()` is already true; returns
    /// when woken (by [`TaskWaker::wake`] or `kthread_stop`). `has_work` must not
    /// sleep.
    ///
    /// The state is set with the kernel's own `set_current_state()` (state, full
    /// barrier, and the debug kernel's task-state bookkeeping and tracepoint).
    pub(crate) fn sleep_unless(&self, has_work: impl Fn() -> bool) {
        // SAFETY: Sets the calling task's own state; allowed in process context,
        // which the caller is in (type invariant).
        unsafe {
            if self.freezable.get() {
                wl_set_current_state_interruptible_freezable();
            } else {
                wl_set_current_state_interruptible();
            }
        }
        if has_work() {
            // SAFETY: As above.
            unsafe { wl_set_current_state_running() };
            return;
        }
        super::hooks::point_spin(super::hooks::Point::LoopSleepChecked);
        // SAFETY: Process context with no spinlock held and preemption enabled (type
        // invariant); the waker sets the state back to running.
        unsafe { bindings::schedule() };
    }
}

/// Wakes one kernel thread from any context, hard IRQ included.
///
/// The sleeping side is [`KThreadSelf::sleep_unless`]: together they are the lock-free protocol
/// Linux's own IRQ threads use (`irq_wait_for_interrupt`): the sleeper publishes
/// "about to sleep" (task state, full barrier) before it checks for work, the
/// waker publishes work (full barrier) before it wakes, so one of them always sees
/// the other and no wake-up is lost.
///
/// # Invariants
///
/// `task` is null or points to a task whose reference is held by a [`KThread`]
/// until [`TaskWaker::clear`] returned; readers dereference it only inside an RCU
/// read-side section, and `clear` waits for a grace period.
pub(crate) struct TaskWaker {
    task: Atomic<*mut bindings::task_struct>,
}

impl TaskWaker {
    /// A waker with no thread yet.
    pub(crate) const fn new() -> Self {
        Self {
            task: Atomic::new(core::ptr::null_mut()),
        }
    }

    /// Sets the thread to wake.
    pub(crate) fn set(&self, thread: &KThread) {
        // INVARIANT: `thread` holds a reference until it is stopped, and its owner
        // calls `clear` before stopping it.
        self.task.store(thread.task.as_ptr(), Release);
    }

    /// Wakes the thread if it sleeps. Any context; never sleeps.
    #[inline]
    pub(crate) fn wake(&self) {
        let _rcu = rcu::read_lock();
        let task = self.task.load(Acquire);
        if !task.is_null() {
            // SAFETY: By the type invariant `task` is alive inside this RCU section.
            unsafe { bindings::wake_up_process(task) };
        }
    }

    /// Forgets the thread and waits until no `wake` can still use it. May sleep.
    pub(crate) fn clear(&self) {
        self.task.store(core::ptr::null_mut(), Release);
        // SAFETY: Process context; waits for every RCU read-side section.
        unsafe { bindings::synchronize_rcu() };
    }
}

// The C wrappers of `src/helpers.c` (see `src/helpers.h`), linked into every
// module that compiles the library.
extern "C" {
    fn wl_set_current_state_interruptible();
    fn wl_set_current_state_interruptible_freezable();
    fn wl_set_freezable();
    fn wl_try_to_freeze() -> bool;
    fn wl_set_current_state_running();
    fn wl_in_task() -> bool;
    // `struct lockdep_map *`, passed as `void *`: the struct is empty without
    // `CONFIG_LOCKDEP`.
    fn wl_gate_lockdep_init(map: *mut c_void, key: *mut c_void, name: *const kernel::ffi::c_char);
    #[cfg(CONFIG_LOCKDEP)]
    fn wl_gate_lockdep_acquire(map: *mut c_void, trylock: c_int, ip: usize);
    #[cfg(CONFIG_LOCKDEP)]
    fn wl_gate_lockdep_release(map: *mut c_void, ip: usize);
    fn wl_irq_msi_info(irq: u32, is_msix: *mut bool, index: *mut u32) -> bool;
    fn wl_irq_effective_affinity(irq: u32, out: *mut bindings::cpumask) -> bool;
    fn wl_raw_lock_init(lock: *mut bindings::raw_spinlock_t);
    fn wl_raw_lock_irqsave(lock: *mut bindings::raw_spinlock_t) -> kernel::ffi::c_ulong;
    fn wl_raw_trylock_irqsave(
        lock: *mut bindings::raw_spinlock_t,
        flags: *mut kernel::ffi::c_ulong,
    ) -> bool;
    fn wl_raw_unlock_irqrestore(lock: *mut bindings::raw_spinlock_t, flags: kernel::ffi::c_ulong);
    fn wl_irqs_disabled() -> bool;
    fn wl_preemptible() -> bool;
    fn wl_cpu_latency_supported() -> bool;
    fn wl_dev_to_node(dev: *mut c_void) -> c_int;
    fn wl_cpu_to_node(cpu: u32) -> c_int;
    fn wl_cpu_latency_active(req: *mut bindings::pm_qos_request) -> bool;
    fn wl_cpu_latency_add(req: *mut bindings::pm_qos_request, value: i32);
    fn wl_cpu_latency_remove(req: *mut bindings::pm_qos_request);
}

/// An IRQ-safe raw spinlock (`raw_spinlock_t` taken with `irqsave`), the lock a
/// hard-IRQ handler can take on every kernel, PREEMPT_RT and `threadirqs`
/// included (a `spinlock_t` sleeps there). Kernel 7.2's Rust has none.
///
/// # Invariants
///
/// `raw` is initialized (`raw_spin_lock_init`) and pinned.
#[pin_data]
pub(crate) struct RawIrqLock {
    #[pin]
    raw: kernel::types::Opaque<bindings::raw_spinlock_t>,
}

// SAFETY: A raw spinlock may be taken and released from any task or CPU.
unsafe impl Send for RawIrqLock {}
// SAFETY: As for `Send`: its operations are thread-safe C calls.
unsafe impl Sync for RawIrqLock {}

impl RawIrqLock {
    /// A new, unlocked lock (lockdep class `workloop_interrupt_lock`).
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes and pinned; the C helper
            // initializes it in place.
            // INVARIANT: Initialized here.
            raw <- kernel::types::Opaque::ffi_init(|slot| unsafe { wl_raw_lock_init(slot) }),
        })
    }

    /// Takes the lock with interrupts off; spins. Any context.
    pub(crate) fn lock(&self) -> RawIrqGuard<'_> {
        // SAFETY: `raw` is initialized (type invariant).
        let flags = unsafe { wl_raw_lock_irqsave(self.raw.get()) };
        RawIrqGuard {
            lock: self,
            flags,
            _not_send: kernel::types::NotThreadSafe,
        }
    }

    /// Takes the lock with interrupts off if it is free. Any context.
    pub(crate) fn try_lock(&self) -> Option<RawIrqGuard<'_>> {
        let mut flags = 0;
        // SAFETY: `raw` is initialized (type invariant); `flags` is valid.
        let locked = unsafe { wl_raw_trylock_irqsave(self.raw.get(), &mut flags) };
        // INVARIANT: A guard exists only for a lock this task took (never built,
        // and so never dropped, for a failed attempt).
        locked.then(|| RawIrqGuard {
            lock: self,
            flags,
            _not_send: kernel::types::NotThreadSafe,
        })
    }
}

/// A held [`RawIrqLock`]; releases it and restores the interrupt state on drop.
///
/// # Invariants
///
/// The calling task holds `lock`, taken with the saved interrupt state `flags`.
pub(crate) struct RawIrqGuard<'a> {
    lock: &'a RawIrqLock,
    flags: kernel::ffi::c_ulong,
    _not_send: kernel::types::NotThreadSafe,
}

impl Drop for RawIrqGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: Held by this task with `flags` (type invariant).
        unsafe { wl_raw_unlock_irqrestore(self.lock.raw.get(), self.flags) };
    }
}

/// Whether local interrupts are off (a spinlock with `irqsave` held, a hard
/// handler running).
pub(crate) fn irqs_disabled() -> bool {
    // SAFETY: Reads the local CPU's interrupt state; no requirement.
    unsafe { wl_irqs_disabled() }
}

/// Waits for an RCU grace period. Process context; sleeps.
pub(crate) fn synchronize_rcu() {
    // SAFETY: Called from process context, holding no spinlock.
    unsafe { bindings::synchronize_rcu() };
}

/// Whether `cpu` (below `nr_cpu_ids`) is online now.
pub(crate) fn cpu_online(cpu: u32) -> bool {
    // SAFETY: `__cpu_online_mask` is the kernel's online mask, valid for its
    // lifetime; reading a bit of it needs no lock.
    let online = unsafe {
        kernel::cpumask::Cpumask::from_raw(core::ptr::addr_of!(bindings::__cpu_online_mask))
    };
    kernel::cpu::CpuId::from_u32(cpu).is_some_and(|id| online.test(id))
}

/// Whether the caller may sleep: preemption and interrupts on.
pub(crate) fn preemptible() -> bool {
    // SAFETY: Reads the calling CPU's preemption count and interrupt flag.
    unsafe { wl_preemptible() }
}

/// The NUMA node of `dev`, `None` where unknown (or without NUMA).
pub(crate) fn dev_node(dev: &kernel::device::Device) -> Option<u32> {
    // `Device` is a `repr(transparent)` wrapper of `struct device`; its
    // `as_raw` is crate-private in 7.2.
    let raw = core::ptr::from_ref(dev).cast::<c_void>().cast_mut();
    // SAFETY: `raw` points to a valid device for the call; `dev_to_node` only
    // reads it.
    let node = unsafe { wl_dev_to_node(raw) };
    u32::try_from(node).ok()
}

/// Whether `cpu` belongs to NUMA node `node`.
pub(crate) fn cpu_in_node(cpu: u32, node: u32) -> bool {
    // SAFETY: Reads the CPU-to-node map; any CPU number is accepted.
    let n = unsafe { wl_cpu_to_node(cpu) };
    u32::try_from(n).is_ok_and(|n| n == node)
}

/// The `index`-th CPU counting those of `node` first (`cpumask_local_spread`),
/// wrapping around the online CPUs.
pub(crate) fn local_spread(index: u32, node: Option<u32>) -> u32 {
    // CAST: A node number fits a C int; none is NUMA_NO_NODE.
    let node = node.map_or(bindings::NUMA_NO_NODE, |n| n as c_int);
    // SAFETY: Any index and node are accepted.
    unsafe { bindings::cpumask_local_spread(index, node) }
}

/// Whether the caller runs in process context (not hard IRQ, softirq or NMI).
#[inline]
pub(crate) fn in_task() -> bool {
    // SAFETY: Reads the preemption count of the calling CPU; no preconditions.
    unsafe { wl_in_task() }
}

/// A lockdep map that makes the gate a lock the kernel's lock validator sees,
/// with a class of its own per loop (so that one loop's action may take another
/// loop's gate, and an inversion between two loops is reported). Empty and free
/// without `CONFIG_LOCKDEP`.
///
/// # Invariants
///
/// `map` was initialized by `wl_gate_lockdep_init` with `key` (registered for as
/// long as `self` lives) and a name that outlives `self`; both are pinned, as
/// lockdep keeps pointers to them.
#[pin_data]
pub(crate) struct GateLockdep {
    #[pin]
    key: kernel::sync::LockClassKey,
    #[pin]
    map: kernel::types::Opaque<bindings::lockdep_map>,
}

impl GateLockdep {
    /// A map of a new class named `name`.
    ///
    /// # Safety
    ///
    /// `name` must be a NUL-terminated string that outlives the returned value.
    pub(crate) unsafe fn new(name: *const kernel::ffi::c_char) -> impl PinInit<Self> {
        pin_init!(Self {
            key <- kernel::sync::LockClassKey::new_dynamic(),
            // SAFETY: `slot` is valid for writes; `key` is registered (initialized
            // above, unregistered only when `self` is dropped); `name` outlives
            // `self` by this function's safety requirement.
            map <- kernel::types::Opaque::ffi_init(|slot: *mut bindings::lockdep_map| unsafe {
                wl_gate_lockdep_init(slot.cast(), key.as_ptr().cast(), name)
            }),
        })
    }

    /// Records that the calling task took the gate, or will wait for it
    /// (`Entry::Wait`), or took it without waiting (`Entry::Try`).
    #[inline]
    pub(crate) fn acquire(&self, entry: super::gate::Entry) {
        let trylock = entry == super::gate::Entry::Try;
        // Without lockdep the C wrapper is empty: not even the call is made.
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: The map is initialized (type invariant).
        unsafe {
            wl_gate_lockdep_acquire(self.map.get().cast(), trylock.into(), caller_ip())
        };
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = trylock;
    }

    /// Records that the calling task released the gate.
    #[inline]
    pub(crate) fn release(&self) {
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: The map is initialized (type invariant).
        unsafe {
            wl_gate_lockdep_release(self.map.get().cast(), caller_ip())
        };
    }
}

/// An instruction address for lockdep reports (`_THIS_IP_` has no Rust form).
#[cfg(CONFIG_LOCKDEP)]
#[inline(always)]
fn caller_ip() -> usize {
    caller_ip as *const () as usize
}

/// The IRQ core's view of one line at one moment (see [`line_state`]).
#[derive(Clone, Copy, Debug)]
pub struct LineState {
    /// The descriptor's disable depth (`desc->depth`; 0: enabled).
    pub depth: u32,
    /// The interrupt state flags (`irqd_*`, as in `IRQD_LEVEL`).
    pub irqd: u32,
    /// The descriptor's settings (`desc->status_use_accessors`, as in
    /// `IRQ_DISABLE_UNLAZY`).
    pub status: u32,
}

impl LineState {
    /// Level-triggered (`IRQD_LEVEL`).
    pub fn is_level(&self) -> bool {
        self.irqd & bindings::IRQD_LEVEL != 0
    }

    /// Disabled (`IRQD_IRQ_DISABLED`).
    pub fn is_disabled(&self) -> bool {
        self.irqd & bindings::IRQD_IRQ_DISABLED != 0
    }

    /// Masked at the interrupt controller (`IRQD_IRQ_MASKED`).
    pub fn is_masked(&self) -> bool {
        self.irqd & bindings::IRQD_IRQ_MASKED != 0
    }

    /// Disables mask at once, not on the next interrupt (`IRQ_DISABLE_UNLAZY`).
    pub fn is_disable_unlazy(&self) -> bool {
        self.status & bindings::IRQ_DISABLE_UNLAZY != 0
    }
}

/// Reads the IRQ core's view of line `irq`: `None` if no descriptor has that
/// number. Any context. A snapshot: the line may change as soon as it is read.
///
/// The same facts `/sys/kernel/debug/irq/irqs/<irq>` shows where the kernel has
/// `CONFIG_GENERIC_IRQ_DEBUGFS` (Debian's kernel does not).
pub fn line_state(irq: u32) -> Option<LineState> {
    let _rcu = rcu::read_lock();
    // SAFETY: Any number is accepted; the descriptor lookup is RCU-safe and
    // returns NULL when there is none.
    let data = unsafe { bindings::irq_get_irq_data(irq) };
    if data.is_null() {
        return None;
    }
    // SAFETY: Descriptors are freed only after an RCU grace period
    // (`delayed_free_desc`), so `data`, the descriptor it is embedded in, and the
    // `irq_common_data` its `common` points to stay valid in this read-side
    // section. The fields are read once each, racing with writers under the
    // descriptor lock as `READ_ONCE` would (a snapshot).
    unsafe {
        let common = (*data).common;
        let desc = kernel::container_of!(common, bindings::irq_desc, irq_common_data);
        Some(LineState {
            depth: core::ptr::read_volatile(&raw const (*desc).depth),
            irqd: core::ptr::read_volatile(&raw const (*common).state_use_accessors),
            status: core::ptr::read_volatile(&raw const (*desc).status_use_accessors),
        })
    }
}

/// The MSI descriptor of line `irq`: whether it is MSI-X and its message
/// index, or `None` for a line that is not message-signaled.
///
/// # Safety
///
/// `irq` must be an allocated vector (its descriptors exist) for the whole call.
pub(crate) unsafe fn msi_info(irq: u32) -> Option<(bool, u32)> {
    let (mut is_msix, mut index) = (false, 0u32);
    // SAFETY: By the caller the descriptors exist; the out pointers are valid.
    unsafe { wl_irq_msi_info(irq, &mut is_msix, &mut index) }.then_some((is_msix, index))
}

/// Copies the CPUs line `irq`'s interrupts go to now into `out`; `false` if no
/// such line.
///
/// # Safety
///
/// `irq` must be an allocated vector (its descriptors exist) for the whole call.
pub(crate) unsafe fn effective_affinity(irq: u32, out: &mut kernel::cpumask::Cpumask) -> bool {
    // SAFETY: By the caller the descriptors exist; `out` is a valid cpumask.
    unsafe { wl_irq_effective_affinity(irq, out.as_raw()) }
}

/// Sets the CPUs line `irq`'s interrupts may go to (`irq_set_affinity`).
///
/// # Safety
///
/// `irq` must be requested by the caller for the whole call.
pub(crate) unsafe fn set_irq_affinity(irq: u32, mask: &kernel::cpumask::Cpumask) -> Result {
    // SAFETY: By the caller the line exists; `mask` is a valid cpumask, which
    // the kernel copies.
    kernel::error::to_result(unsafe { bindings::irq_set_affinity(irq, mask.as_raw()) })
}

/// The interrupt domain's number of line `irq` (`irq_data.hwirq`).
///
/// # Safety
///
/// `irq` must be an allocated vector (its descriptors exist) for the whole call.
pub(crate) unsafe fn hwirq(irq: u32) -> u64 {
    // SAFETY: By the caller the descriptor, and its `irq_data`, exist.
    let data = unsafe { bindings::irq_get_irq_data(irq) };
    if data.is_null() {
        return 0;
    }
    // SAFETY: `data` is the live `irq_data` of `irq`.
    // CAST: `irq_hw_number_t` is `unsigned long`, at most 64 bits.
    unsafe { (*data).hwirq as u64 }
}

/// Control of the Linux IRQ line (or the set of PCI vectors, see
/// [`IrqLine::new_set`]) of one interrupt source.
///
/// # Invariants
///
/// `irq` and every number in `more` are valid IRQ numbers with an action
/// registered by this library for as long as this value is used (the owner frees
/// the lines only after their last use).
pub(crate) struct IrqLine {
    irq: u32,
    /// The other vectors of a set one source serves; empty for one line.
    more: KVec<u32>,
}

/// Before `request_irq`: if the allocated vector `irq` is level-triggered, makes
/// its disables mask at once (see [`IrqLine::set_disable_unlazy`]), so that not
/// even the first top half, which may run before `request_irq` returns on a
/// shared line, does a lazy auto-disable. The flag is the descriptor's: the
/// line's other users get it too, until its last action is freed.
///
/// # Safety
///
/// `irq` must be an allocated vector (its descriptor exists) for the whole call.
pub(crate) unsafe fn prepare_level_line(irq: u32) {
    // SAFETY: By the caller, the descriptor of `irq`, and its `irq_data`, exist.
    let data = unsafe { bindings::irq_get_irq_data(irq) };
    if data.is_null() {
        return;
    }
    // SAFETY: `data` is the live `irq_data` of `irq`; `common` always points to the
    // descriptor's `irq_common_data`.
    let state = unsafe { (*(*data).common).state_use_accessors };
    if state & bindings::IRQD_LEVEL != 0 {
        // CAST: A flag bit of `enum irq_settings`, which fits in `unsigned long`.
        let unlazy = bindings::IRQ_DISABLE_UNLAZY as kernel::ffi::c_ulong;
        // SAFETY: The descriptor exists (caller); `irq_modify_status` takes its lock.
        unsafe { bindings::irq_modify_status(irq, 0, unlazy) };
    }
}

impl IrqLine {
    /// Wraps an IRQ number obtained from a `kernel::irq::IrqRequest`.
    ///
    /// # Safety
    ///
    /// `irq` must be requested by the caller and stay requested while the returned
    /// value is used.
    pub(crate) unsafe fn new(irq: u32) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            irq,
            more: KVec::new(),
        }
    }

    /// Wraps the vectors `first` and `more` of one device, served by one source
    /// (every operation below applies to each of them). They are all
    /// message-signaled (edge) lines: a level line is never part of a set.
    ///
    /// # Safety
    ///
    /// As for [`IrqLine::new`], for each of them.
    pub(crate) unsafe fn new_set(first: u32, more: KVec<u32>) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self { irq: first, more }
    }

    /// Every line of the set.
    fn all(&self) -> impl Iterator<Item = u32> + '_ {
        Iterator::chain(core::iter::once(self.irq), self.more.iter().copied())
    }

    /// The Linux IRQ number (of the first vector of a set).
    pub(crate) fn number(&self) -> u32 {
        self.irq
    }

    /// Increments the line's disable depth without waiting. Any context.
    pub(crate) fn disable_nosync(&self) {
        for irq in self.all() {
            // SAFETY: The line is requested (type invariant).
            unsafe { bindings::disable_irq_nosync(irq) };
        }
    }

    /// Decrements the line's disable depth, unmasking it at zero. Any context.
    ///
    /// Callers balance this with [`IrqLine::disable_nosync`] themselves.
    pub(crate) fn enable(&self) {
        for irq in self.all() {
            // SAFETY: The line is requested (type invariant).
            unsafe { bindings::enable_irq(irq) };
        }
    }

    /// Waits until no hard handler of this line runs on any CPU. May sleep.
    pub(crate) fn synchronize(&self) {
        for irq in self.all() {
            // SAFETY: The line is requested (type invariant); process context.
            unsafe { bindings::synchronize_irq(irq) };
        }
    }

    /// Makes `disable_irq*` mask the line at the interrupt controller at once
    /// (`IRQ_DISABLE_UNLAZY`) instead of on the next interrupt.
    ///
    /// Auto-disable masks from the top half while the device still asserts; a lazy
    /// disable lets that assertion be EOI'd and re-delivered into a "pending"
    /// state, which level-triggered IO-APIC lines (QEMU's among them) then fail to
    /// re-deliver on unmask. Masking immediately is what `IRQF_ONESHOT` does.
    pub(crate) fn set_disable_unlazy(&self) {
        // CAST: A flag bit of `enum irq_settings`, which fits in `unsigned long`.
        let unlazy = bindings::IRQ_DISABLE_UNLAZY as kernel::ffi::c_ulong;
        for irq in self.all() {
            // SAFETY: The line is requested (type invariant); `irq_modify_status`
            // takes the descriptor lock itself.
            unsafe { bindings::irq_modify_status(irq, 0, unlazy) };
        }
    }

    /// Whether the interrupt controller treats the line as level-triggered.
    ///
    /// Read from the line's `irq_data` state (`IRQD_LEVEL`), never assumed.
    pub(crate) fn is_level(&self) -> bool {
        // SAFETY: The line is requested, so its descriptor and `irq_data` exist.
        let data = unsafe { bindings::irq_get_irq_data(self.irq) };
        if data.is_null() {
            return false;
        }
        // SAFETY: `data` is the live `irq_data` of a requested line; `common` always
        // points to the descriptor's `irq_common_data`.
        let state = unsafe { (*(*data).common).state_use_accessors };
        state & bindings::IRQD_LEVEL != 0
    }
}

/// `ENOTCONN` (not in `kernel::error::code` in 7.2): a source is not attached to a loop.
pub(crate) fn enotconn() -> Error {
    // CAST: Errno constants are small positive values.
    Error::from_errno(-(bindings::ENOTCONN as i32))
}

/// `EOPNOTSUPP` (not in `kernel::error::code` in 7.2).
pub(crate) fn eopnotsupp() -> Error {
    // CAST: Errno constants are small positive values.
    Error::from_errno(-(bindings::EOPNOTSUPP as i32))
}

/// A CPU-latency QoS request (`/dev/cpu_dma_latency`'s mechanism): while
/// active, no CPU enters an idle state slower to leave than its value (0: the
/// shallowest). The effect is global. Process context (the QoS lock is a
/// `spinlock_t`).
///
/// # Invariants
///
/// `req` is added at most once at a time, its state tracked by `active` under
/// `lock`; it is removed before it is freed (`PinnedDrop`).
#[pin_data(PinnedDrop)]
pub(crate) struct CpuLatency {
    #[pin]
    req: Opaque<bindings::pm_qos_request>,
    #[pin]
    lock: Mutex<()>,
    /// Whether the request is added (read without `lock` as a hint).
    active: AtomicFlag,
}

// SAFETY: The request is only touched under `lock`, in process context.
unsafe impl Send for CpuLatency {}
// SAFETY: See `Send`.
unsafe impl Sync for CpuLatency {}

impl CpuLatency {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // The QoS core wants the request zeroed before it is added.
            req <- Opaque::zeroed(),
            lock <- new_mutex!(()),
            active: AtomicFlag::new(false),
        })
    }

    /// Keeps every CPU in its shallowest idle state until [`CpuLatency::release`].
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` where the kernel has no CPU-latency QoS (`CONFIG_CPU_IDLE`).
    pub(crate) fn hold_shallow(&self) -> Result {
        // SAFETY: Reads a configuration constant.
        if !unsafe { wl_cpu_latency_supported() } {
            return Err(eopnotsupp());
        }
        let _guard = self.lock.lock();
        // SAFETY: `req` is a valid request, added only if not active (invariant).
        unsafe {
            if !wl_cpu_latency_active(self.req.get()) {
                wl_cpu_latency_add(self.req.get(), 0);
            }
        }
        self.active.store(true, Release);
        Ok(())
    }

    /// Ends [`CpuLatency::hold_shallow`], if it is in force. Cheap when not.
    pub(crate) fn release(&self) {
        if !self.active.load(Acquire) {
            return;
        }
        let _guard = self.lock.lock();
        // SAFETY: `req` is a valid request, removed only if active (invariant).
        unsafe {
            if wl_cpu_latency_active(self.req.get()) {
                wl_cpu_latency_remove(self.req.get());
            }
        }
        self.active.store(false, Release);
    }
}

#[pinned_drop]
impl PinnedDrop for CpuLatency {
    fn drop(self: Pin<&mut Self>) {
        self.release();
    }
}

/// `EDEADLK` (not in `kernel::error::code` in 7.2): the call would wait for itself.
pub(crate) fn edeadlk() -> Error {
    // CAST: Errno constants are small positive values.
    Error::from_errno(-(bindings::EDEADLK as i32))
}

/// Cancels an `Arc`-queued delayed work item and waits until it is neither
/// pending nor running (`cancel_delayed_work_sync`); like [`cancel_work_sync`],
/// the queue's reference of a cancelled item is released here. Returns whether
/// it was pending. Process context; may sleep.
pub(crate) fn cancel_delayed_work_sync<T, const ID: u64>(item: &Arc<T>) -> bool
where
    T: kernel::workqueue::HasDelayedWork<T, ID> + kernel::workqueue::WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(item).cast_mut();
    // SAFETY: `ptr` points to a live `T` (`item` holds a reference).
    let work = unsafe { T::raw_get_work(ptr) };
    // SAFETY: `work` is the live, initialized work item inside `*ptr`.
    let raw = unsafe { kernel::workqueue::Work::raw_get(work) };
    // SAFETY: `HasDelayedWork` guarantees the work item is the `work` member of a
    // `struct delayed_work`, its first member: the address is that of the
    // `delayed_work`.
    let cancelled = unsafe { bindings::cancel_delayed_work_sync(raw.cast()) };
    if cancelled {
        // SAFETY: The pending item held the reference `Arc::into_raw` gave the
        // queue when it was enqueued; cancelling it returned that reference.
        drop(unsafe { Arc::from_raw(ptr) });
    }
    cancelled
}

/// Cancels the work of an `Arc`-queued work item and waits until it is neither
/// pending nor running (`cancel_work_sync`; kernel 7.2's `workqueue` has no safe
/// form of it). A pending item owns the reference `enqueue` handed to the queue:
/// when this cancels it, that reference is released here, so nothing leaks.
/// Returns whether it was pending. Process context; may sleep.
pub fn cancel_work_sync<T, const ID: u64>(item: &Arc<T>) -> bool
where
    T: kernel::workqueue::HasWork<T, ID> + kernel::workqueue::WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr = Arc::as_ptr(item).cast_mut();
    // SAFETY: `ptr` points to a live `T` (`item` holds a reference).
    let work = unsafe { T::raw_get_work(ptr) };
    // SAFETY: `work` is the live, initialized work item inside `*ptr`.
    let cancelled = unsafe { bindings::cancel_work_sync(kernel::workqueue::Work::raw_get(work)) };
    if cancelled {
        // SAFETY: The pending item held the reference `Arc::into_raw` gave the
        // queue when it was enqueued; cancelling it returned that reference.
        drop(unsafe { Arc::from_raw(ptr) });
    }
    cancelled
}
