// SPDX-License-Identifier: GPL-2.0

//! The gate: the lock every action of a work loop runs under.
//!
//! A recursive, sleepable lock with an owner and a depth, built for the loop:
//!
//! - **Fast path.** An uncontended take or give-back is one atomic on the owner
//!   word each way; re-entering from the owner only bumps the depth.
//! - **Fairness.** A task that finds the gate taken draws a ticket and is served
//!   in order; a releasing owner with tasks queued hands the gate to the oldest
//!   (`HANDOFF`), so the loop thread, which comes straight back for its next
//!   pass, queues behind them instead of starving them.
//! - **Sleepers.** [`GateLock::sleep`] gives up every recursion level while it
//!   waits for an event, takes the gate back at the same depth, and is woken by
//!   [`GateLock::wakeup`] (all, or the oldest still waiting), failed by an abort,
//!   or ended by its timeout or a signal; whatever came first is decided under
//!   one mutex, so a wake-up is never given to a sleeper that already left.
//! - **Scopes.** A command gate entered inside the gate pushes a [`ScopeFrame`]
//!   on the holder's stack; a sleeper records its innermost frame, so closing a
//!   command gate finds and fails exactly the sleepers inside it.
//! - **Lockdep.** The gate has a lockdep map of its own (taken at depth 0 -> 1,
//!   released at 1 -> 0 and around a sleep), so inversions between the gate and
//!   driver locks are reported; it costs nothing without `CONFIG_LOCKDEP`.
//! - **Closing.** `stop` closes the gate: new entries and sleepers are refused,
//!   listed sleepers fail with `ENODEV`.
//!
//! The gate knows nothing of loops or sources; [`super::work_loop`] owns one per
//! loop and hands its holder a [`super::Gate`].

use super::{
    hooks::{self, Point},
    sys,
};
use kernel::ffi::c_char;
use kernel::{
    new_condvar,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, AtomicFlag, Full, Relaxed, Release},
        new_mutex, CondVar, CondVarTimeoutResult, Mutex,
    },
    time::{msecs_to_jiffies, Delta},
};

/// `GateLock::owner` of a gate being handed to the oldest queued task
/// (never a task pointer).
const HANDOFF: usize = 1;

/// Result of a [`Gate::sleep`] that did not fail.
///
/// [`Gate::sleep`]: super::Gate::sleep
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepResult {
    /// Woken by [`Gate::wakeup`] (or [`CommandGate::command_wakeup`]).
    ///
    /// [`Gate::wakeup`]: super::Gate::wakeup
    /// [`CommandGate::command_wakeup`]: super::CommandGate::command_wakeup
    Woken,
    /// The timeout passed first.
    TimedOut,
}

/// Which sleepers a wake-up wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Every thread sleeping on the event.
    All,
    /// Only the thread that slept first (IOKit's `oneThread`).
    First,
}

/// How a caller enters the gate when another task holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Wait for it (`run_action`).
    Wait,
    /// Fail with `EBUSY` instead (`attempt_action`).
    Try,
}

/// What a task queued for the gate does when the gate closes meanwhile.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WhenClosed {
    /// Give up: a new entrant, refused once the loop stops.
    GiveUp,
    /// Take the gate anyway: a sleeper coming back, or `stop` itself.
    TakeAnyway,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SleeperState {
    Waiting,
    Woken,
    Aborted,
    /// Timed out or signalled, on its way back into the gate: no wake-up is
    /// given to it any more (a one-thread wake-up goes to the next sleeper).
    Leaving,
}

struct Sleeper {
    id: u64,
    event: usize,
    /// The sleeping task.
    task: usize,
    /// The command gate the sleeper is innermost in (0: none), which a
    /// command gate's wake-up must match.
    tag: usize,
    /// Innermost [`ScopeFrame`] of the sleeper (0: none); its frames stay alive
    /// while it is listed, since it is still inside `GateLock::sleep`.
    scope: usize,
    state: SleeperState,
}

/// Gate state that only matters when someone waits, protected by `GateLock::state`
/// (the mutex of the gate's condition variable). Ownership itself is the atomic
/// `GateLock::owner`, so an uncontended close/open takes no lock.
struct GateState {
    next_sleeper: u64,
    sleepers: KVec<Sleeper>,
    /// Tickets of tasks queued for the gate (FIFO hand-off): the next one to
    /// give out, and the one whose turn it is.
    next_ticket: u64,
    serving: u64,
    /// Set by `stop`: no sleeper registers any more.
    closed: bool,
}

/// One command gate the gate holder is inside: a frame on the holder's stack,
/// linked to the frame of the command gate it was entered from.
///
/// A sleeper records its innermost frame, so closing a command gate finds every
/// sleeper inside it, whichever call it slept with, and a sleeper inside a closed
/// command gate is refused under the same mutex the close aborts under.
pub(crate) struct ScopeFrame {
    /// Identity of the command gate.
    tag: usize,
    /// The command gate's "closed" flag.
    closed: *const AtomicFlag,
    /// The enclosing frame (0: none).
    parent: usize,
}

/// Whether any frame of the chain starting at `frame` satisfies `pred`.
///
/// # Safety
///
/// Every frame of the chain must be alive: it belongs to the gate holder (while it
/// holds the gate) or to a listed sleeper (see [`Sleeper::scope`]).
unsafe fn chain_any(mut frame: usize, pred: impl Fn(&ScopeFrame) -> bool) -> bool {
    while frame != 0 {
        // SAFETY: Alive by the function's safety requirement.
        let f = unsafe { &*(frame as *const ScopeFrame) };
        if pred(f) {
            return true;
        }
        frame = f.parent;
    }
    false
}

impl ScopeFrame {
    fn is_closed(&self) -> bool {
        // SAFETY: `closed` is a field of the command gate the frame's owner is inside,
        // which outlives the frame.
        unsafe { (*self.closed).load(Acquire) }
    }
}

/// The gate of one work loop.
///
/// # Invariants
///
/// - `owner` is the task holding the gate (0: free; `HANDOFF`: being handed to
///   the oldest queued task). It is set from 0 (or `HANDOFF`) only by a
///   compare-exchange of the acquiring task and cleared only by the owner, so a
///   task that reads its own id there holds the gate. `depth` and `scope` are
///   written only by the owner.
/// - A task waiting for the gate increments `waiters` (full ordering) before it
///   tries the compare-exchange, and a releasing owner clears `owner` (full
///   ordering) before it reads `waiters`: either the waiter sees the gate free, or
///   the owner sees the waiter and notifies it under the mutex.
#[pin_data]
pub(crate) struct GateLock {
    owner: Atomic<usize>,
    depth: Atomic<u32>,
    waiters: Atomic<u32>,
    /// Set by `stop`: new entries are refused.
    closed: AtomicFlag,
    /// Innermost [`ScopeFrame`] of the holder (0: none). Written only by the
    /// holder.
    scope: Atomic<usize>,
    #[pin]
    state: Mutex<GateState>,
    /// Where tasks queued for the gate wait.
    #[pin]
    gate_cv: CondVar,
    /// Where gate sleepers wait (apart from gate waiters, so that releasing the
    /// gate does not wake every sleeper, nor a wake-up every waiter).
    #[pin]
    sleep_cv: CondVar,
    /// The gate as lockdep sees it: taken at depth 0 -> 1, released at 1 -> 0
    /// and around a sleep.
    #[pin]
    lockdep: sys::GateLockdep,
}

impl GateLock {
    /// A free, open gate whose lockdep class is named `name`.
    ///
    /// # Safety
    ///
    /// `name` must be a NUL-terminated string that outlives the returned value.
    pub(crate) unsafe fn new(name: *const c_char) -> impl PinInit<Self> {
        pin_init!(Self {
            owner: Atomic::new(0),
            depth: Atomic::new(0),
            waiters: Atomic::new(0),
            closed: AtomicFlag::new(false),
            scope: Atomic::new(0),
            state <- new_mutex!(GateState {
                next_sleeper: 1,
                sleepers: KVec::new(),
                next_ticket: 0,
                serving: 0,
                closed: false,
            }),
            gate_cv <- new_condvar!(),
            sleep_cv <- new_condvar!(),
            // SAFETY: By the caller, `name` outlives the map.
            lockdep <- unsafe { sys::GateLockdep::new(name) },
        })
    }

    /// Takes the gate as task `me` (the caller's own id, process context),
    /// recursively, waiting for it if `entry` says so (`EBUSY` otherwise). Fails
    /// with `ENODEV` once the gate is closed, unless the caller already holds it.
    #[inline]
    pub(crate) fn enter(&self, me: usize, entry: Entry) -> Result {
        let wait = entry == Entry::Wait;
        if self.owner.load(Relaxed) == me {
            self.depth.fetch_add(1, Relaxed);
            return Ok(());
        }
        if self.closed.load(Acquire) {
            return Err(ENODEV);
        }
        hooks::point(Point::EnterAfterClosedCheck);
        if wait {
            // Announced before waiting, as for any lock, so that lockdep sees a
            // dependency even when the wait does not happen this time.
            self.lockdep.acquire(Entry::Wait);
        }
        if !self.try_acquire(me) {
            if !wait {
                return Err(EBUSY);
            }
            if !self.acquire_queued(me, WhenClosed::GiveUp) {
                // Woken because the gate closed.
                self.lockdep.release();
                return Err(ENODEV);
            }
            self.depth.store(1, Relaxed);
            self.scope.store(0, Relaxed);
        } else if !wait {
            self.lockdep.acquire(Entry::Try);
        }
        hooks::point(Point::EnterAfterAcquire);
        if self.closed.load(Acquire) {
            // Lost the race with `stop`: give the gate back.
            self.leave();
            return Err(ENODEV);
        }
        Ok(())
    }

    /// Takes the gate as task `me` even once it is closed (`stop` detaching the
    /// sources): waits for an entrant that got past the closed check to leave.
    pub(crate) fn enter_closed(&self, me: usize) {
        self.lockdep.acquire(Entry::Wait);
        if !self.try_acquire(me) {
            self.acquire_queued(me, WhenClosed::TakeAnyway);
            self.depth.store(1, Relaxed);
            self.scope.store(0, Relaxed);
        }
    }

    /// Leaves one level of the gate; the last gives it up. The owner only.
    #[inline]
    pub(crate) fn leave(&self) {
        let depth = self.depth.load(Relaxed) - 1;
        self.depth.store(depth, Relaxed);
        if depth == 0 {
            self.lockdep.release();
            self.release();
        }
    }

    /// Tries to become the owner of a free gate.
    #[inline]
    fn try_acquire(&self, me: usize) -> bool {
        if self.owner.cmpxchg(0, me, Full).is_ok() {
            self.depth.store(1, Relaxed);
            self.scope.store(0, Relaxed);
            true
        } else {
            false
        }
    }

    /// Takes the gate for a task that found it taken, in FIFO order: the task
    /// draws a ticket and takes the gate when it is its turn and the gate is free
    /// or was handed to it (`HANDOFF`, see `release`). Once the gate is
    /// closed tickets no longer matter: the task gives up (`false`) or, a sleeper
    /// coming back or `stop`, takes the gate as soon as it is free (`when_closed`).
    fn acquire_queued(&self, me: usize, when_closed: WhenClosed) -> bool {
        let bail_if_closed = when_closed == WhenClosed::GiveUp;
        let mut guard = self.state.lock();
        self.waiters.fetch_add(1, Full);
        let ticket = guard.next_ticket;
        guard.next_ticket += 1;
        let got = loop {
            let closed = self.closed.load(Acquire);
            if closed && bail_if_closed {
                // A hand-off to this task would never be taken: undo it.
                let _ = self.owner.cmpxchg(HANDOFF, 0, Full);
                break false;
            }
            if (closed || guard.serving == ticket)
                && (self.owner.cmpxchg(0, me, Full).is_ok()
                    || self.owner.cmpxchg(HANDOFF, me, Full).is_ok())
            {
                break true;
            }
            self.gate_cv.wait(&mut guard);
        };
        if guard.serving == ticket {
            guard.serving += 1;
        }
        self.waiters.fetch_sub(1, Full);
        drop(guard);
        if !got {
            self.gate_cv.notify_all();
        }
        got
    }

    /// Gives the gate up (the owner, at depth 0). With tasks queued for it, the
    /// gate is handed to the oldest: marked `HANDOFF`, which no fast-path entrant
    /// can take, so a releaser that comes straight back (the loop thread starting
    /// its next pass) queues behind them.
    fn release(&self) {
        // Full ordering: pairs with a waiter's increment of `waiters`.
        self.owner.xchg(0, Full);
        if self.waiters.load(Relaxed) != 0 {
            // Taking the mutex orders this notify after a waiter's check.
            let guard = self.state.lock();
            if guard.serving != guard.next_ticket && !self.closed.load(Acquire) {
                let _ = self.owner.cmpxchg(0, HANDOFF, Full);
            }
            drop(guard);
            self.gate_cv.notify_all();
        }
    }

    /// Waits on the condition variable until `cond` holds. `cond` runs with the
    /// mutex held, while counted as a gate waiter (see the type invariants).
    fn wait_as_waiter_with(&self, mut cond: impl FnMut(&GateState) -> bool) {
        let mut guard = self.state.lock();
        self.waiters.fetch_add(1, Full);
        while !cond(&guard) {
            self.gate_cv.wait(&mut guard);
        }
        self.waiters.fetch_sub(1, Full);
    }

    /// Sleeps on `event`, releasing the gate; see [`super::Gate::sleep`]. `ready` is
    /// checked under the sleeper mutex before registering: if it holds the call
    /// returns `Woken` at once, so a waker that makes it true and then calls
    /// [`GateLock::wakeup`] is never missed. `refuse` is checked there too: if it
    /// holds, the sleep fails with `ENODEV` (see [`GateLock::abort_task`]).
    ///
    /// Three steps: register the sleeper and release every recursion level, wait
    /// for an outcome, take the gate back at the same depth.
    pub(crate) fn sleep(
        &self,
        event: usize,
        timeout: Option<Delta>,
        ready: Option<&dyn Fn() -> bool>,
        refuse: &dyn Fn() -> bool,
    ) -> Result<SleepResult> {
        let me = sys::current_task_id();
        if self.owner.load(Relaxed) != me {
            return Err(EPERM);
        }
        let scope = self.scope.load(Relaxed);
        hooks::point(Point::SleepBeforeRegister);
        let Some((id, depth)) = self.register_sleeper(me, event, scope, ready, refuse)? else {
            return Ok(SleepResult::Woken);
        };
        let outcome = self.wait_for_outcome(id, timeout);
        hooks::point(Point::SleepAfterOutcome);
        self.take_back(me, id, depth, scope);
        outcome
    }

    /// Lists task `me` as a sleeper on `event` and releases every recursion level
    /// of the gate: a sleeper must not hold it. Returns the sleeper's id and the
    /// depth to restore, or `None` if `ready` already holds (nothing released).
    fn register_sleeper(
        &self,
        me: usize,
        event: usize,
        scope: usize,
        ready: Option<&dyn Fn() -> bool>,
        refuse: &dyn Fn() -> bool,
    ) -> Result<Option<(u64, u32)>> {
        let mut guard = self.state.lock();
        // Checked under the mutex `stop`, `CommandGate::close` and a removal abort
        // under: a sleeper is either listed before they abort, or refused here.
        // SAFETY: The chain is this task's own (it holds the gate).
        if guard.closed || unsafe { chain_any(scope, ScopeFrame::is_closed) } {
            return Err(ENODEV);
        }
        if refuse() {
            return Err(ENODEV);
        }
        if ready.is_some_and(|r| r()) {
            return Ok(None);
        }
        let id = guard.next_sleeper;
        guard.next_sleeper += 1;
        let tag = if scope == 0 {
            0
        } else {
            // SAFETY: The chain is this task's own (it holds the gate).
            unsafe { &*(scope as *const ScopeFrame) }.tag
        };
        guard.sleepers.push(
            Sleeper {
                id,
                event,
                task: me,
                tag,
                scope,
                state: SleeperState::Waiting,
            },
            GFP_KERNEL,
        )?;
        let depth = self.depth.load(Relaxed);
        self.depth.store(0, Relaxed);
        self.scope.store(0, Relaxed);
        self.lockdep.release();
        drop(guard);
        self.release();
        Ok(Some((id, depth)))
    }

    /// Waits until sleeper `id` is woken or aborted, its timeout passes or a
    /// signal arrives. Not holding the gate.
    fn wait_for_outcome(&self, id: u64, timeout: Option<Delta>) -> Result<SleepResult> {
        let mut guard = self.state.lock();
        // CAST: Clamped to `0..=u32::MAX` milliseconds.
        let mut jiffies =
            timeout.map(|t| msecs_to_jiffies(t.as_millis().clamp(0, u32::MAX.into()) as u32));
        loop {
            match Self::sleeper_state(&guard, id) {
                SleeperState::Woken => return Ok(SleepResult::Woken),
                SleeperState::Aborted => return Err(ENODEV),
                SleeperState::Waiting | SleeperState::Leaving => {}
            }
            let ended = match jiffies {
                None => self
                    .sleep_cv
                    .wait_interruptible(&mut guard)
                    .then_some(Err(ERESTARTSYS)),
                Some(j) => match self.sleep_cv.wait_interruptible_timeout(&mut guard, j) {
                    CondVarTimeoutResult::Timeout => Some(Ok(SleepResult::TimedOut)),
                    CondVarTimeoutResult::Woken { jiffies: left } => {
                        jiffies = Some(left);
                        None
                    }
                    CondVarTimeoutResult::Signal { .. } => Some(Err(ERESTARTSYS)),
                },
            };
            if let Some(result) = ended {
                // Decided under the mutex the wakers mark under: a wake-up or abort
                // that came first wins; otherwise the entry stops taking wake-ups.
                return match Self::sleeper_state(&guard, id) {
                    SleeperState::Woken => Ok(SleepResult::Woken),
                    SleeperState::Aborted => Err(ENODEV),
                    _ => {
                        if let Some(s) = guard.sleepers.iter_mut().find(|s| s.id == id) {
                            s.state = SleeperState::Leaving;
                        }
                        result
                    }
                };
            }
        }
    }

    /// Takes the gate back for task `me` at `depth` and `scope`, then unlists
    /// sleeper `id`. Allowed even while the loop stops, so that the sleeper's
    /// caller can finish and leave the gate; the sleeper stays listed until it
    /// owns the gate again, so `stop` waits for it.
    fn take_back(&self, me: usize, id: u64, depth: u32, scope: usize) {
        self.lockdep.acquire(Entry::Wait);
        if self.owner.cmpxchg(0, me, Full).is_err() {
            self.acquire_queued(me, WhenClosed::TakeAnyway);
        }
        self.depth.store(depth, Relaxed);
        self.scope.store(scope, Relaxed);
        self.state.lock().sleepers.retain(|s| s.id != id);
    }

    fn sleeper_state(guard: &GateState, id: u64) -> SleeperState {
        guard
            .sleepers
            .iter()
            .find(|s| s.id == id)
            .map_or(SleeperState::Aborted, |s| s.state)
    }

    /// Wakes sleepers waiting on `event` (all, or only the oldest).
    pub(crate) fn wakeup(&self, event: usize, whom: Wake) {
        self.wakeup_where(event, None, whom)
    }

    /// Wakes sleepers waiting on `event` inside the command gate `tag` only.
    pub(crate) fn wakeup_tagged(&self, event: usize, tag: usize, whom: Wake) {
        self.wakeup_where(event, Some(tag), whom)
    }

    fn wakeup_where(&self, event: usize, tag: Option<usize>, whom: Wake) {
        let mut guard = self.state.lock();
        let mut woke = false;
        for s in guard.sleepers.iter_mut() {
            if s.event == event
                && s.state == SleeperState::Waiting
                && tag.is_none_or(|t| t == s.tag)
            {
                s.state = SleeperState::Woken;
                woke = true;
                if whom == Wake::First {
                    break;
                }
            }
        }
        drop(guard);
        if woke {
            self.sleep_cv.notify_all();
        }
    }

    /// Wakes with `ENODEV` every sleeper that `pred` selects. The sleeper mutex is
    /// held while `pred` runs.
    fn abort_where(&self, pred: impl Fn(&Sleeper) -> bool) {
        self.abort_where_after(|| {}, pred)
    }

    /// Like `abort_where`, running `first` under the sleeper mutex before.
    fn abort_where_after(&self, first: impl FnOnce(), pred: impl Fn(&Sleeper) -> bool) {
        let mut guard = self.state.lock();
        first();
        for s in guard.sleepers.iter_mut() {
            if s.state == SleeperState::Waiting && pred(s) {
                s.state = SleeperState::Aborted;
            }
        }
        drop(guard);
        self.sleep_cv.notify_all();
        // Gate waiters too: `stop` closes the gate through here.
        self.gate_cv.notify_all();
    }

    /// Wakes with `ENODEV` every sleeper inside the command gate `tag`, whether it
    /// slept with `command_sleep` or with a plain `Gate::sleep` in its closure.
    pub(crate) fn abort_sleepers_in(&self, tag: usize) {
        // SAFETY: A listed sleeper's frames are alive (see `Sleeper::scope`).
        self.abort_where(|s| unsafe { chain_any(s.scope, |f| f.tag == tag) });
    }

    /// `stop`'s abort: no sleeper registers from now on, every listed one fails,
    /// and new gate entries are refused.
    pub(crate) fn close_for_good(&self) {
        let mut guard = self.state.lock();
        guard.closed = true;
        self.closed.store(true, Release);
        // A pending hand-off may be to an entrant that now gives up.
        let _ = self.owner.cmpxchg(HANDOFF, 0, Full);
        drop(guard);
        self.abort_where(|_| true);
    }

    /// Runs `f` with the command gate `tag` (closed when `closed` is set) as the
    /// innermost scope of the gate holder. Gate held.
    pub(crate) fn in_scope<R>(&self, tag: usize, closed: &AtomicFlag, f: impl FnOnce() -> R) -> R {
        let frame = ScopeFrame {
            tag,
            closed,
            parent: self.scope.load(Relaxed),
        };
        self.scope
            .store(core::ptr::from_ref(&frame) as usize, Relaxed);
        let r = f();
        // The holder may have slept inside `f`; `sleep` restored the chain.
        self.scope.store(frame.parent, Relaxed);
        r
    }

    /// Whether the gate holder is inside the command gate `tag`. Gate held.
    pub(crate) fn holder_in_scope(&self, tag: usize) -> bool {
        // SAFETY: The chain is the holder's own.
        unsafe { chain_any(self.scope.load(Relaxed), |f| f.tag == tag) }
    }

    /// Waits (not holding the gate) until `cond` holds with the gate free.
    pub(crate) fn wait_idle(&self, cond: impl Fn() -> bool) {
        self.wait_as_waiter_with(|_| self.owner.load(Relaxed) == 0 && cond());
    }

    /// Waits (not holding the gate) until `cond` holds. `cond` runs under the
    /// sleeper mutex, counted as a gate waiter (see the type invariants): a
    /// change made under [`GateLock::publish`] is never missed.
    pub(crate) fn wait_as_waiter(&self, cond: impl Fn() -> bool) {
        self.wait_as_waiter_with(|_| cond());
    }

    /// Waits until the gate is free and no sleeper is listed.
    pub(crate) fn wait_no_sleepers(&self) {
        self.wait_as_waiter_with(|guard| {
            self.owner.load(Relaxed) == 0 && guard.sleepers.is_empty()
        });
    }

    /// Runs `f` under the sleeper mutex, then wakes the gate's waiters, so that a
    /// [`GateLock::wait_as_waiter`] condition that `f` makes true is seen.
    pub(crate) fn publish(&self, f: impl FnOnce()) {
        let guard = self.state.lock();
        f();
        drop(guard);
        self.gate_cv.notify_all();
    }

    /// Fails, now and until `mark` is undone, the sleeps of task `task`: `mark`
    /// runs under the sleeper mutex (it sets what the task's `refuse` checks), then
    /// the task's waiting sleeps are aborted.
    pub(crate) fn abort_task(&self, task: usize, mark: impl FnOnce()) {
        self.abort_where_after(mark, |s| s.task == task);
    }

    /// Number of sleepers listed now, for tests.
    pub(crate) fn sleeper_count(&self) -> usize {
        self.state.lock().sleepers.len()
    }

    /// The task holding the gate (0: none).
    #[inline]
    pub(crate) fn owner(&self) -> usize {
        self.owner.load(Relaxed)
    }

    /// The holder's recursion depth. The owner only.
    pub(crate) fn depth(&self) -> u32 {
        self.depth.load(Relaxed)
    }
}
