// SPDX-License-Identifier: GPL-2.0

//! Factorials: `/dev/eduN` queues requests in the gate, the device computes
//! one at a time, and the interrupt action (or, if the interrupt is lost, a
//! timer on the same loop) completes them.

use super::*;

/// One factorial request from `/dev/eduN`.
pub(crate) struct FactRequest {
    pub(crate) n: u32,
    /// `PENDING` until completed.
    pub(crate) result: Atomic<u64>,
}

pub(crate) const PENDING: u64 = u64::MAX;

/// The request queue; only touched holding the loop's gate.
pub(crate) struct FactQueue {
    pub(crate) waiting: KVec<Arc<FactRequest>>,
    pub(crate) running: Option<Arc<FactRequest>>,
}

impl EduEngine {
    /// Queues `req` and starts it if the device is idle. Gate held.
    pub(crate) fn submit(&self, gate: &Gate<'_>, req: Arc<FactRequest>) -> Result {
        let mut q = self.queue.borrow(gate)?;
        q.waiting.push(req, GFP_KERNEL)?;
        if q.running.is_none() {
            self.start_next(&mut q);
        }
        Ok(())
    }

    /// Starts the oldest waiting request on the device. Gate held.
    pub(crate) fn start_next(&self, q: &mut FactQueue) {
        let Ok(req) = q.waiting.remove(0) else {
            return;
        };
        let started = self.bar.try_access_with(|bar| {
            bar.write32(STATUS_IRQ_ON_FACT, regs::STATUS);
            bar.write32(req.n, regs::FACTORIAL);
        });
        if started.is_none() {
            self.fail(&req);
            return;
        }
        q.running = Some(req);
        if let Some(t) = self.timer.lock().as_ref() {
            let _ = t.set_timeout(self.fact_timeout);
        }
    }

    pub(crate) fn fail(&self, req: &FactRequest) {
        req.result.store(PENDING - 1, Release);
        self.gate.command_wakeup(event_of(req), Wake::All);
    }

    /// Completes the running request if the device finished it. Gate held.
    /// `from_timer`: called by the lost-interrupt fallback.
    pub(crate) fn complete_running(&self, gate: &Gate<'_>, from_timer: bool) {
        let Ok(mut q) = self.queue.borrow(gate) else {
            return;
        };
        let Some(req) = q.running.clone() else {
            return;
        };
        let status = self.bar.try_access_with(|bar| {
            let computing = bar.read32(regs::STATUS) & STATUS_COMPUTING != 0;
            (computing, bar.read32(regs::FACTORIAL))
        });
        match status {
            Some((true, _)) => {
                // Not done yet: look again later.
                if let Some(t) = self.timer.lock().as_ref() {
                    let _ = t.set_timeout(self.fact_timeout);
                }
                return;
            }
            Some((false, value)) => {
                if from_timer {
                    self.counters.fact_recovered.add(1, Relaxed);
                } else if let Some(t) = self.timer.lock().as_ref() {
                    let _ = t.cancel();
                }
                req.result.store(u64::from(value), Release);
                self.counters.fact_done.add(1, Relaxed);
                self.gate.command_wakeup(event_of(&*req), Wake::All);
            }
            None => self.fail(&req),
        }
        q.running = None;
        self.start_next(&mut q);
    }
}

/// The lost-interrupt fallback for factorials.
pub(crate) struct FactTimeout {
    pub(crate) engine: Arc<EduEngine>,
}

impl TimerAction for FactTimeout {
    fn action(&self, gate: &Gate<'_>) {
        self.engine.complete_running(gate, true);
    }
}

/// An open `/dev/eduN`.
#[pin_data]
pub(crate) struct EduFile {
    pub(crate) _module: ModuleRef,
    pub(crate) engine: Arc<EduEngine>,
    /// Requests written and not yet read, oldest first.
    #[pin]
    pub(crate) requests: Mutex<KVec<Arc<FactRequest>>>,
    /// The unread rest of the last answer ("720\n"), so reads of any size work.
    #[pin]
    pub(crate) unread: Mutex<KVec<u8>>,
}

#[vtable]
impl MiscDevice for EduFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        // SAFETY: Every `MiscDeviceRegistration<EduFile>` is the `misc` field of an
        // `EduNodes`, which outlives the registration (`open` cannot run after it
        // was deregistered).
        let dev = unsafe {
            &*kernel::container_of!(core::ptr::from_ref(misc).cast_mut(), EduNodes, misc)
        };
        let engine = dev.engine_for_open()?;
        KBox::try_pin_init(
            try_pin_init!(EduFile {
                _module: ModuleRef::get()?,
                engine,
                requests <- new_mutex!(KVec::new()),
                unread <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn write_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        let len = iov.len();
        if len == 0 {
            return Err(EINVAL);
        }
        if len > MAX_WRITE {
            return Err(E2BIG);
        }
        let mut buf = [0u8; MAX_WRITE];
        let got = iov.copy_from_iter(&mut buf[..len]);
        let n = parse_u32(&buf[..got])?;
        if n > FACT_MAX_N {
            return Err(ERANGE);
        }
        let req = Arc::new(
            FactRequest {
                n,
                result: Atomic::new(PENDING),
            },
            GFP_KERNEL,
        )?;
        let e = &me.engine;
        if e.gone.load(Acquire) {
            return Err(ENODEV);
        }
        me.requests.lock().push(req.clone(), GFP_KERNEL)?;
        let submitted = e
            .gate
            .run_action(|g| e.submit(g, req.clone()))
            .and_then(|r| r);
        if let Err(err) = submitted {
            me.requests.lock().retain(|r| !Arc::ptr_eq(r, &req));
            return Err(err);
        }
        *kiocb.ki_pos_mut() = 0;
        Ok(got)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        if me.unread.lock().is_empty() {
            let Some(req) = me.requests.lock().first().cloned() else {
                // Nothing was written on this file.
                return Err(EINVAL);
            };
            let e = &me.engine;
            let event = event_of(&*req);
            e.gate
                .run_action(|g| -> Result {
                    while req.result.load(Acquire) == PENDING {
                        e.gate.command_sleep(g, event, None)?;
                    }
                    Ok(())
                })
                .and_then(|r| r)?;
            me.requests.lock().retain(|r| !Arc::ptr_eq(r, &req));
            let value = req.result.load(Acquire);
            if value == PENDING - 1 {
                return Err(EIO);
            }
            let text = CString::try_from_fmt(fmt!("{}\n", value))?;
            me.unread
                .lock()
                .extend_from_slice(text.to_bytes(), GFP_KERNEL)?;
        }
        let mut unread = me.unread.lock();
        let mut pos = 0i64;
        let n = iov.simple_read_from_buffer(&mut pos, &unread)?;
        // Keep what the caller did not take (answers are a few bytes long).
        let rest = KVec::from_elem(0u8, unread.len() - n, GFP_KERNEL);
        let mut rest = rest?;
        rest.copy_from_slice(&unread[n..]);
        *unread = rest;
        Ok(n)
    }
}
