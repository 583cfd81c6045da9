// SPDX-License-Identifier: GPL-2.0

//! Closures queued to run on the loop: DriverKit's `DispatchAsync`, and what
//! `set_enable_with_completion` and `cancel` of an interrupt source build on.
//!
//! A queued closure runs once, holding the gate, after the pass that follows the
//! call: after every action that was running or could still start when it was
//! queued. A source disabled (or cancelled) before the call therefore runs no
//! action after the closure began, because a source's action starts only if
//! the source is enabled when the pass reaches it, under the gate.
//!
//! Every queued closure runs, also when the loop stops first: `stop` runs what is
//! left in its own context, holding the gate, after the loop's thread exited and
//! before it returns (a completion is never lost). From then on queuing fails.
//!
//! The queue is a list through the jobs themselves, allocated when they are
//! made: queuing a job never allocates, so a caller can make the job first and
//! change state after, knowing the queuing cannot fail for lack of memory.

use super::{Gate, LoopInner};
use kernel::prelude::*;

/// A closure queued on a loop; see the module documentation.
pub(crate) trait Job: Send {
    /// Runs the closure (once; later calls do nothing). `gate` is `None` when
    /// the loop is gone and nothing else can run it (see [`plain_job`]).
    fn run(&mut self, gate: Option<&Gate<'_>>);
    /// The next job in the queue.
    fn next(&mut self) -> &mut Option<KBox<dyn Job>>;
}

/// A job that needs the gate: dropped unrun if there is none.
struct Gated<F> {
    f: Option<F>,
    next: Option<KBox<dyn Job>>,
}

impl<F: FnOnce(&Gate<'_>) + Send> Job for Gated<F> {
    fn run(&mut self, gate: Option<&Gate<'_>>) {
        if let (Some(f), Some(gate)) = (self.f.take(), gate) {
            f(gate);
        }
    }

    fn next(&mut self) -> &mut Option<KBox<dyn Job>> {
        &mut self.next
    }
}

/// A job that runs with or without the gate: a completion or a cancel handler,
/// which must run even when the loop is gone.
struct Plain<F> {
    f: Option<F>,
    next: Option<KBox<dyn Job>>,
}

impl<F: FnOnce() + Send> Job for Plain<F> {
    fn run(&mut self, _gate: Option<&Gate<'_>>) {
        if let Some(f) = self.f.take() {
            f();
        }
    }

    fn next(&mut self) -> &mut Option<KBox<dyn Job>> {
        &mut self.next
    }
}

/// Makes a job of `f`, ready to queue without allocating. Process context.
pub(crate) fn job(f: impl FnOnce(&Gate<'_>) + Send + 'static) -> Result<KBox<dyn Job>> {
    Ok(KBox::new(
        Gated {
            f: Some(f),
            next: None,
        },
        GFP_KERNEL,
    )?)
}

/// Makes a job of `f` that can also run without a loop: where queuing fails
/// (the loop stopped and ran its queue) or there is no loop, the caller runs it
/// at once with `run(None)`. Process context.
pub(crate) fn plain_job(f: impl FnOnce() + Send + 'static) -> Result<KBox<dyn Job>> {
    Ok(KBox::new(
        Plain {
            f: Some(f),
            next: None,
        },
        GFP_KERNEL,
    )?)
}

/// Queues `job` on `work_loop` or, without a loop to run it, runs it at once.
pub(crate) fn run_on(work_loop: Option<&LoopInner>, job: KBox<dyn Job>) {
    let unqueued = match work_loop {
        Some(work_loop) => work_loop.queue_job(job).err(),
        None => Some(job),
    };
    if let Some(mut job) = unqueued {
        job.run(None);
    }
}

/// The queue: newest first (a push is one pointer swap); taken whole and
/// reversed to run oldest first.
pub(super) struct Queue {
    newest: Option<KBox<dyn Job>>,
    /// Set by `stop` when it takes the last jobs: nothing is queued after.
    closed: bool,
}

impl Queue {
    pub(super) const fn new() -> Self {
        Self {
            newest: None,
            closed: false,
        }
    }
}

/// Unlinks `list` (newest first) into oldest first, without recursion.
fn oldest_first(mut list: Option<KBox<dyn Job>>) -> Option<KBox<dyn Job>> {
    let mut reversed = None;
    while let Some(mut job) = list {
        list = job.next().take();
        *job.next() = reversed;
        reversed = Some(job);
    }
    reversed
}

impl LoopInner {
    /// Queues `job` and wakes the loop. Any process context.
    ///
    /// # Errors
    ///
    /// Gives `job` back if the loop has stopped (its `stop` ran what was queued).
    pub(crate) fn queue_job(&self, mut job: KBox<dyn Job>) -> Result<(), KBox<dyn Job>> {
        {
            let mut queue = self.dispatch.lock();
            if queue.closed {
                return Err(job);
            }
            *job.next() = queue.newest.take();
            queue.newest = Some(job);
        }
        self.dispatch_pending
            .store(true, kernel::sync::atomic::Release);
        self.signal_work_available();
        Ok(())
    }

    /// Runs every queued job, oldest first, holding `gate`; jobs they queue run
    /// in a later pass. Returns whether it ran any.
    pub(super) fn run_jobs(&self, gate: &Gate<'_>, close: bool) -> bool {
        if !close
            && !self
                .dispatch_pending
                .xchg(false, kernel::sync::atomic::Acquire)
        {
            return false;
        }
        let list = {
            let mut queue = self.dispatch.lock();
            queue.closed |= close;
            queue.newest.take()
        };
        let mut next = oldest_first(list);
        let ran = next.is_some();
        while let Some(mut job) = next {
            next = job.next().take();
            job.run(Some(gate));
        }
        ran
    }
}
