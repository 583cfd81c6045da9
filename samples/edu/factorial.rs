// SPDX-License-Identifier: GPL-2.0

//! Factorials: `/dev/eduN` queues requests in the gate, the device computes
//! one at a time, and the interrupt action (or, if the interrupt is lost, a
//! timer on the same loop) completes them.

use super::*;

/// Largest n whose n! fits the 32-bit result register.
const FACT_MAX_N: u32 = 12;
/// Longest accepted write to `/dev/eduN` ("12\n" fits easily).
const MAX_WRITE: usize = 32;

/// Where a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum RequestState {
    /// Queued or computing.
    Pending = 0,
    /// The answer is in `FactRequest::value`.
    Done = 1,
    /// The device went away before answering.
    Failed = 2,
}

// SAFETY: `RequestState` is `repr(i32)`, so it has the size and alignment of `i32`,
// and each of its values is an `i32` that converts back to the same value.
unsafe impl AtomicType for RequestState {
    type Repr = i32;
}

/// One factorial request from `/dev/eduN`.
pub(crate) struct FactRequest {
    n: u32,
    state: Atomic<RequestState>,
    /// n!, valid once `state` is `Done` (published by that release store).
    value: Atomic<u32>,
}

impl FactRequest {
    fn new(n: u32) -> Result<Arc<Self>> {
        let request = FactRequest {
            n,
            state: Atomic::new(RequestState::Pending),
            value: Atomic::new(0),
        };
        Ok(Arc::new(request, GFP_KERNEL)?)
    }

    fn is_pending(&self) -> bool {
        self.state.load(Acquire) == RequestState::Pending
    }

    /// The answer; `EIO` if the request failed (or was not answered yet).
    fn answer(&self) -> Result<u32> {
        match self.state.load(Acquire) {
            RequestState::Done => Ok(self.value.load(Relaxed)),
            RequestState::Pending | RequestState::Failed => Err(EIO),
        }
    }
}

/// The request queue; only touched holding the loop's gate.
#[derive(Default)]
pub(crate) struct FactQueue {
    waiting: KVec<Arc<FactRequest>>,
    running: Option<Arc<FactRequest>>,
}

/// Who completes the running request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompletedBy {
    /// The factorial-done interrupt's action.
    Interrupt,
    /// The lost-interrupt fallback timer.
    Timer,
}

impl EduEngine {
    /// Queues `request` and starts it if the device is idle. Gate held.
    fn submit(&self, gate: &Gate<'_>, request: Arc<FactRequest>) -> Result {
        let mut queue = self.queue.borrow(gate)?;
        queue.waiting.push(request, GFP_KERNEL)?;
        if queue.running.is_none() {
            self.start_next(&mut queue);
        }
        Ok(())
    }

    /// Starts the oldest waiting request on the device. Gate held.
    fn start_next(&self, queue: &mut FactQueue) {
        let Ok(request) = queue.waiting.remove(0) else {
            return;
        };
        let started = self.bar.try_access_with(|bar| {
            bar.write_reg(regs::STATUS::zeroed().with_irq_on_done(true));
            bar.write_reg(regs::FACTORIAL::zeroed().with_value(request.n));
        });
        if started.is_none() {
            self.fail(&request);
            return;
        }
        queue.running = Some(request);
        self.arm_timeout();
    }

    /// (Re)arms the lost-interrupt timer.
    fn arm_timeout(&self) {
        if let Some(timer) = self.timer.lock().as_ref() {
            // It fails only once the loop stopped; then `shutdown` fails the
            // waiting readers (the gate closed) and nothing needs the timer.
            let _ = timer.set_timeout(self.fact_timeout);
        }
    }

    fn fail(&self, request: &FactRequest) {
        request.state.store(RequestState::Failed, Release);
        self.gate.command_wakeup(event_of(request), Wake::All);
    }

    /// Completes the running request if the device finished it. Gate held.
    pub(crate) fn complete_running(&self, gate: &Gate<'_>, by: CompletedBy) {
        let Ok(mut queue) = self.queue.borrow(gate) else {
            return;
        };
        let Some(request) = queue.running.clone() else {
            return;
        };
        let status = self.bar.try_access_with(|bar| {
            (
                bar.read(regs::STATUS).computing(),
                bar.read(regs::FACTORIAL).value().get(),
            )
        });
        match status {
            Some((true, _)) => {
                // Still computing: the timer fired early, or this is a late
                // interrupt of the previous request. The re-armed timer looks again
                // even if this request's interrupt is lost too.
                self.arm_timeout();
                return;
            }
            Some((false, value)) => {
                if by == CompletedBy::Timer {
                    self.counters.fact_recovered.add(1, Relaxed);
                } else if let Some(timer) = self.timer.lock().as_ref() {
                    // Whether a timeout was armed does not matter: none is now.
                    let _ = timer.cancel();
                }
                request.value.store(value, Relaxed);
                request.state.store(RequestState::Done, Release);
                self.counters.fact_done.add(1, Relaxed);
                self.gate.command_wakeup(event_of(&*request), Wake::All);
            }
            None => self.fail(&request),
        }
        queue.running = None;
        self.start_next(&mut queue);
    }
}

/// The lost-interrupt fallback for factorials.
pub(crate) struct FactTimeout {
    pub(crate) engine: Arc<EduEngine>,
}

impl TimerAction for FactTimeout {
    fn action(&self, gate: &Gate<'_>) {
        self.engine.complete_running(gate, CompletedBy::Timer);
    }
}

/// An open `/dev/eduN`.
#[pin_data]
pub(crate) struct EduFile {
    _module: ModuleRef,
    engine: Arc<EduEngine>,
    /// Requests written and not yet read, oldest first.
    #[pin]
    requests: Mutex<KVec<Arc<FactRequest>>>,
    /// The unread rest of the last answer ("720\n"), so reads of any size work.
    #[pin]
    unread: Mutex<KVec<u8>>,
}

impl EduFile {
    /// Queues `request` on the device.
    fn submit(&self, request: &Arc<FactRequest>) -> Result {
        let engine = &self.engine;
        engine
            .gate
            .run_action(|gate| engine.submit(gate, request.clone()))?
    }

    /// Forgets `request` (answered, or never submitted).
    fn forget(&self, request: &Arc<FactRequest>) {
        self.requests
            .lock()
            .retain(|queued| !Arc::ptr_eq(queued, request));
    }

    /// Waits for the oldest request's answer and makes it the unread text.
    fn next_answer(&self) -> Result {
        let Some(request) = self.requests.lock().first().cloned() else {
            // A read asks for the answer to a write on this file.
            return Err(EINVAL);
        };
        let engine = &self.engine;
        let event = event_of(&*request);
        // A failed wait (a signal) keeps the request: the next read waits again.
        engine.gate.run_action(|gate| -> Result {
            while request.is_pending() {
                engine.gate.command_sleep(gate, event, None)?;
            }
            Ok(())
        })??;
        self.forget(&request);
        let text = CString::try_from_fmt(fmt!("{}\n", request.answer()?))?;
        self.unread
            .lock()
            .extend_from_slice(text.to_bytes(), GFP_KERNEL)?;
        Ok(())
    }
}

#[vtable]
impl MiscDevice for EduFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let (module, engine) = EduNodes::open(misc)?;
        KBox::try_pin_init(
            try_pin_init!(EduFile {
                _module: module,
                engine,
                requests <- new_mutex!(KVec::new()),
                unread <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn write_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let file = kiocb.file();
        let len = iov.len();
        if len == 0 {
            return Err(EINVAL);
        }
        if len > MAX_WRITE {
            return Err(E2BIG);
        }
        let mut buf = [0u8; MAX_WRITE];
        // PANIC: `len <= MAX_WRITE`, checked above; `copy_from_iter` returns at
        // most the length it was given.
        let got = iov.copy_from_iter(&mut buf[..len]);
        let n = parse_u32(&buf[..got])?;
        if n > FACT_MAX_N {
            return Err(ERANGE);
        }
        if file.engine.closed.load(Acquire) {
            return Err(ENODEV);
        }
        let request = FactRequest::new(n)?;
        file.requests.lock().push(request.clone(), GFP_KERNEL)?;
        file.submit(&request)
            .inspect_err(|_| file.forget(&request))?;
        *kiocb.ki_pos_mut() = 0;
        Ok(got)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let file = kiocb.file();
        if file.unread.lock().is_empty() {
            file.next_answer()?;
        }
        let mut unread = file.unread.lock();
        let mut pos = 0i64;
        let taken = iov.simple_read_from_buffer(&mut pos, &unread)?;
        // Keep what the caller did not take (answers are a few bytes long).
        let mut rest = KVec::new();
        // PANIC: `simple_read_from_buffer` copies at most `unread.len()` bytes.
        rest.extend_from_slice(&unread[taken..], GFP_KERNEL)?;
        *unread = rest;
        Ok(taken)
    }
}
