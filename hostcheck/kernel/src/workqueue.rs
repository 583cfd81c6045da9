// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::workqueue` as far as the library uses it: spawning a
//! closure on a system queue (here: a thread of its own).

use crate::alloc::{AllocError, Flags};

/// Mirrors `kernel::workqueue::Queue`.
pub struct Queue(());

static LONG: Queue = Queue(());

/// Mirrors `kernel::workqueue::system_long`.
pub fn system_long() -> &'static Queue {
    &LONG
}

impl Queue {
    /// Mirrors `Queue::try_spawn`: runs `f` on a new task.
    pub fn try_spawn<F: FnOnce() + Send + 'static>(
        &self,
        _flags: Flags,
        f: F,
    ) -> Result<(), AllocError> {
        drop(crate::host::spawn(f));
        Ok(())
    }
}

/// Mirrors `kernel::workqueue::system_highpri`.
pub fn system_highpri() -> &'static Queue {
    &LONG
}

impl Queue {
    /// Mirrors `Queue::enqueue_delayed`. Not modelled: only the interrupt
    /// source's storm throttle queues delayed work, and the models turn the
    /// throttle off (`storm_per_sec: 0`); a model that reaches this fails.
    pub fn enqueue_delayed<W: Send + 'static>(
        &self,
        w: W,
        _delay: crate::time::Jiffies,
    ) -> Result<(), W> {
        drop(w);
        panic!("enqueue_delayed: delayed work is not modelled (set storm_per_sec to 0)");
    }
}

/// Mirrors `kernel::workqueue::WorkItem`.
pub trait WorkItem<const ID: u64 = 0> {
    /// Mirrors `WorkItem::Pointer`.
    type Pointer;
    /// Mirrors `WorkItem::run`.
    fn run(this: Self::Pointer);
}

/// Mirrors `kernel::workqueue::DelayedWork` (never queued on the host, see
/// [`Queue::enqueue_delayed`]).
pub struct DelayedWork<T: ?Sized, const ID: u64 = 0>(core::marker::PhantomData<fn(&T)>);

impl<T: ?Sized, const ID: u64> DelayedWork<T, ID> {
    /// Mirrors `DelayedWork::new` (`new_delayed_work!`).
    pub fn new() -> impl pin_init::PinInit<Self> {
        // SAFETY: A zero-sized value needs no initialization; it is never moved
        // out of its slot afterwards by this code.
        unsafe {
            pin_init::pin_init_from_closure(|slot: *mut Self| {
                slot.write(Self(core::marker::PhantomData));
                Ok(())
            })
        }
    }
}

/// Mirrors `kernel::workqueue::new_delayed_work!`.
#[macro_export]
macro_rules! new_delayed_work {
    ($($name:literal)?) => {
        $crate::workqueue::DelayedWork::new()
    };
}
pub use new_delayed_work;

/// Mirrors `kernel::workqueue::impl_has_delayed_work!`: nothing to implement
/// on the host (delayed work is never queued, and the host
/// `cancel_delayed_work_sync` needs no field).
#[macro_export]
macro_rules! impl_has_delayed_work {
    ($($t:tt)*) => {};
}
pub use impl_has_delayed_work;
