// SPDX-License-Identifier: GPL-2.0

//! Tasks on the host: what the kernel keeps in `task_struct` and the models
//! need (not a mirror of a kernel module; used by the host `sys.rs` and by the
//! models).
//!
//! Every backend thread is a [`Task`], made on first use. A task has
//!
//! - a scheduler state (`TASK_RUNNING` / `TASK_INTERRUPTIBLE`), a backend
//!   atomic: [`set_current_state_interruptible`] (a store and a full barrier,
//!   as `set_current_state()`), [`schedule`] (blocks until woken, or returns at
//!   once with a signal pending, as the kernel's does) and
//!   [`Task::wake_up_process`] (a full barrier, then the state read, as
//!   `try_to_wake_up()`);
//! - flags the kernel keeps elsewhere: a pending signal (`TIF_NOTIFY_SIGNAL`
//!   from `kthread_stop`, or one a model sends), `KTHREAD_SHOULD_STOP` and an
//!   expired timeout (a model's stand-in for time passing). They are backend
//!   atomics (sequentially consistent): loom must see every access that
//!   decides something, or it never tries the other order. Only whether the
//!   task runs in hard-IRQ context is a plain flag (set by the task itself
//!   before anything else).

use crate::rt::{
    self,
    atomic::{fence, AtomicBool as RtBool, AtomicU32, Ordering::*},
};
use core::cell::RefCell;
use std::sync::{
    atomic::{AtomicBool, Ordering::SeqCst},
    Arc as StdArc, Mutex as StdMutex, OnceLock,
};

const TASK_RUNNING: u32 = 0;
const TASK_INTERRUPTIBLE: u32 = 1;

/// How a signal or a timeout reaches a task waiting on a condition variable
/// (see `sync::lock`).
#[derive(Clone, Copy)]
struct Kick {
    cv: *const (),
    m: *const (),
    f: unsafe fn(*const (), *const ()),
}

// SAFETY: The pointers are used only by `Task::kick`, while the task is
// inside the wait that registered them (see `Task::set_kick`).
unsafe impl Send for Kick {}

/// A task (a backend thread). See the module documentation.
pub struct Task {
    state: AtomicU32,
    thread: OnceLock<rt::thread::Thread>,
    signal: RtBool,
    should_stop: RtBool,
    expired: RtBool,
    hardirq: AtomicBool,
    kick: StdMutex<Option<Kick>>,
}

rt::thread_local! {
    static CURRENT: RefCell<Option<StdArc<Task>>> = RefCell::new(None);
}

impl Task {
    /// A task not yet bound to a thread.
    pub fn new() -> StdArc<Self> {
        StdArc::new(Self {
            state: AtomicU32::new(TASK_RUNNING),
            thread: OnceLock::new(),
            signal: RtBool::new(false),
            should_stop: RtBool::new(false),
            expired: RtBool::new(false),
            hardirq: AtomicBool::new(false),
            kick: StdMutex::new(None),
        })
    }

    /// Makes `task` the calling thread's task. First thing a thread does.
    pub fn bind(task: &StdArc<Self>) {
        let _ = task.thread.set(rt::thread::current());
        CURRENT.with(|c| *c.borrow_mut() = Some(task.clone()));
    }

    /// The task's identity (its address; never 0 or 1).
    pub fn id(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// `signal_pending(task)`.
    pub fn signal_pending(&self) -> bool {
        self.signal.load(SeqCst)
    }

    /// `kthread_should_stop()` for this task.
    pub fn should_stop(&self) -> bool {
        self.should_stop.load(SeqCst)
    }

    /// Whether a model expired this task's timeout and no timed wait took it yet.
    pub fn expired(&self) -> bool {
        self.expired.load(SeqCst)
    }

    /// Takes the expiry (a timed wait timed out).
    pub(crate) fn take_expired(&self) -> bool {
        self.expired.swap(false, SeqCst)
    }

    /// Whether the task runs in hard-IRQ context (may not sleep).
    pub fn in_hardirq(&self) -> bool {
        self.hardirq.load(SeqCst)
    }

    /// Registers how to kick the task out of a condition-variable wait.
    ///
    /// # Safety
    ///
    /// `cv` and `m` stay valid for `f` until [`Task::clear_kick`].
    pub(crate) unsafe fn set_kick(
        &self,
        cv: *const (),
        m: *const (),
        f: unsafe fn(*const (), *const ()),
    ) {
        *self.kick.lock().unwrap_or_else(|e| e.into_inner()) = Some(Kick { cv, m, f });
    }

    pub(crate) fn clear_kick(&self) {
        *self.kick.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn kick(&self) {
        // Copied out: the std mutex is never held across a backend operation.
        let k = *self.kick.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = k {
            // SAFETY: Registered by the task for the wait it is in (`set_kick`).
            unsafe { (k.f)(k.cv, k.m) };
        }
    }

    /// Sends the task a signal: ends an interruptible wait or sleep.
    pub fn signal(&self) {
        self.signal.store(true, SeqCst);
        self.kick();
        self.try_wake();
    }

    /// Expires the task's timeout: ends its timed wait (now, or the next one).
    pub fn expire(&self) {
        self.expired.store(true, SeqCst);
        self.kick();
    }

    /// `kthread_stop()`'s request: `KTHREAD_SHOULD_STOP`, `TIF_NOTIFY_SIGNAL`,
    /// and a wake-up.
    pub fn request_stop(&self) {
        self.should_stop.store(true, SeqCst);
        self.signal();
    }

    /// `wake_up_process()`: a full barrier, then a sleeping task is made
    /// runnable. Any context.
    pub fn wake_up_process(&self) {
        fence(SeqCst);
        self.try_wake();
    }

    fn try_wake(&self) {
        if self
            .state
            .compare_exchange(TASK_INTERRUPTIBLE, TASK_RUNNING, AcqRel, Relaxed)
            .is_ok()
        {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
    }
}

/// The calling thread's task (made on first use).
pub fn current() -> StdArc<Task> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match &*c {
            Some(t) => t.clone(),
            None => {
                let t = Task::new();
                let _ = t.thread.set(rt::thread::current());
                *c = Some(t.clone());
                t
            }
        }
    })
}

/// `set_current_state(TASK_INTERRUPTIBLE)`: the state, then a full barrier.
pub fn set_current_state_interruptible() {
    current().state.store(TASK_INTERRUPTIBLE, Relaxed);
    fence(SeqCst);
}

/// `__set_current_state(TASK_RUNNING)`.
pub fn set_current_state_running() {
    current().state.store(TASK_RUNNING, Relaxed);
}

/// `schedule()` for a task that set its state: blocks until woken; with a
/// signal pending an interruptible task does not block (as
/// `signal_pending_state()` in `try_to_block_task()`).
pub fn schedule() {
    let me = current();
    might_sleep("schedule");
    loop {
        if me.state.load(Acquire) == TASK_RUNNING {
            return;
        }
        if me.signal_pending() {
            me.state.store(TASK_RUNNING, Relaxed);
            return;
        }
        rt::thread::park();
    }
}

/// Panics if the calling task may not sleep (`might_sleep()` in atomic
/// context: "sleeping function called from invalid context").
pub fn might_sleep(what: &str) {
    if current().in_hardirq() {
        panic!("{what} in hard-IRQ context (sleeping function called from invalid context)");
    }
}

/// Spawns a thread (a process-context task).
pub fn spawn<F, T>(f: F) -> rt::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    rt::thread::spawn(move || {
        Task::bind(&Task::new());
        f()
    })
}

/// Spawns a thread that plays a hard-IRQ handler: it may not take a mutex,
/// wait, or sleep (the shim panics), and `in_task()` is false for it.
pub fn spawn_hardirq<F, T>(f: F) -> rt::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    rt::thread::spawn(move || {
        let t = Task::new();
        t.hardirq.store(true, SeqCst);
        Task::bind(&t);
        f()
    })
}
