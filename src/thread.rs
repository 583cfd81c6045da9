// SPDX-License-Identifier: GPL-2.0

//! Helper threads: [`spawn`] runs a closure on a new kernel thread and
//! [`Thread`] waits for it. Kernel 7.2's Rust crate has no thread abstraction;
//! the library's tests and benchmarks use this, and a driver that needs a helper
//! thread may too. (The loop's own thread is [`super::sys::KThread`].)

use super::sys::{KThread, Priority};
use kernel::{
    ffi::{c_int, c_void},
    prelude::*,
    str::CStr,
    sync::{Arc, Completion},
};

/// A kernel thread running a closure, created by [`spawn`].
///
/// Dropping it (or [`Thread::join`]) waits for the closure to return.
pub struct Thread {
    inner: Option<KThread>,
    done: Arc<Completion>,
}

struct Start<F> {
    f: F,
    done: Arc<Completion>,
}

/// Thread function of [`spawn`].
///
/// # Safety
///
/// `data` must come from `KBox::into_raw` of a `Start<F>` and not be used again.
unsafe extern "C" fn closure_thread<F: FnOnce() + Send + 'static>(data: *mut c_void) -> c_int {
    // SAFETY: `data` came from `KBox::into_raw` in `spawn` and is consumed only here.
    let start = unsafe { KBox::from_raw(data.cast::<Start<F>>()) };
    let Start { f, done } = KBox::into_inner(start);
    f();
    done.complete_all();
    0
}

/// Runs `f` on a new kernel thread named `name`, bound to `cpu` if given, with the
/// default (CFS) priority. Process context.
///
/// Kernel 7.2's Rust crate has no thread abstraction; the library's tests use this,
/// and a driver that needs a helper thread may too.
pub fn spawn<F: FnOnce() + Send + 'static>(name: &CStr, cpu: Option<u32>, f: F) -> Result<Thread> {
    let done = Arc::pin_init(Completion::new(), GFP_KERNEL)?;
    let start = KBox::new(
        Start {
            f,
            done: done.clone(),
        },
        GFP_KERNEL,
    )?;
    let raw = KBox::into_raw(start);
    // SAFETY: `raw` stays valid until the thread consumes it. The thread is woken at
    // once and never stopped before `done` completes (see `Thread::join`), so
    // `closure_thread` always runs and frees it.
    let thread = unsafe {
        KThread::run(
            closure_thread::<F>,
            raw.cast(),
            name,
            cpu,
            Priority::Nice(0),
        )
    };
    match thread {
        Ok(t) => Ok(Thread {
            inner: Some(t),
            done,
        }),
        Err(e) => {
            // SAFETY: The thread was not created; `raw` was not handed over.
            drop(unsafe { KBox::from_raw(raw) });
            Err(e)
        }
    }
}

impl Thread {
    /// Waits until the closure has returned and reaps the thread.
    pub fn join(mut self) {
        self.reap();
    }

    fn reap(&mut self) {
        if let Some(t) = self.inner.take() {
            self.done.wait_for_completion();
            t.stop();
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        self.reap();
    }
}
