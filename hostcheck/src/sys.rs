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

/// The interrupt lock's raw spinlock. The host models have no interrupt
/// sources (`interrupt.rs` is not compiled), so none is ever made: the type is
/// uninhabited, and `counting.rs` only ever sees `None` for it.
pub(crate) struct RawIrqLock(core::convert::Infallible);

/// A held [`RawIrqLock`] (never made, see there).
pub(crate) struct RawIrqGuard<'a>(core::marker::PhantomData<&'a ()>);

impl RawIrqLock {
    /// Takes the lock: unreachable, no lock exists.
    pub(crate) fn lock(&self) -> RawIrqGuard<'_> {
        match self.0 {}
    }
}
