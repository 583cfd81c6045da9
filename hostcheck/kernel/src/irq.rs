// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::irq` (`Registration`, `IrqRequest`, `Handler`, `Flags`,
//! `IrqReturn`) over a host model of the IRQ core, [`host`]: a line is a
//! descriptor with a disable depth, its action, and the top halves in progress.

use crate::{
    device::{Bound, Device},
    error::Error,
    str::CStr,
};
use core::{marker::PhantomPinned, ops::BitOr};
use pin_init::{pin_data, pinned_drop, PinInit};

/// Mirrors `kernel::irq::IrqReturn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqReturn {
    /// Mirrors `IRQ_NONE`.
    None,
    /// Mirrors `IRQ_HANDLED`.
    Handled,
}

/// Mirrors `kernel::irq::Handler`.
pub trait Handler: Sync + 'static {
    /// The hard-IRQ handler.
    fn handle(&self, device: &Device<Bound>) -> IrqReturn;
}

/// Mirrors `kernel::irq::Flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(u64);

impl Flags {
    /// Mirrors `Flags::SHARED` (`IRQF_SHARED`).
    pub const SHARED: Flags = Flags(0x80);
    /// Mirrors `Flags::ONESHOT` (`IRQF_ONESHOT`).
    pub const ONESHOT: Flags = Flags(0x2000);
    /// Mirrors `Flags::NO_AUTOEN` (`IRQF_NO_AUTOEN`).
    pub const NO_AUTOEN: Flags = Flags(0x80000);

    fn has(self, f: Flags) -> bool {
        self.0 & f.0 != 0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
}

/// Mirrors `kernel::irq::IrqRequest`: a line of a bound device.
pub struct IrqRequest<'a> {
    dev: &'a Device<Bound>,
    irq: u32,
}

impl<'a> IrqRequest<'a> {
    /// A request for line `irq` (a [`host::Line`] the model made) of `dev`.
    /// (The kernel's constructor is crate-private: drivers get requests from
    /// their bus; a model makes its own.)
    ///
    /// # Safety
    ///
    /// None on the host; `unsafe` as the kernel's.
    pub unsafe fn new(dev: &'a Device<Bound>, irq: u32) -> Self {
        Self { dev, irq }
    }

    /// Mirrors `IrqRequest::irq`.
    pub fn irq(&self) -> u32 {
        self.irq
    }
}

/// Calls the handler `h` points to.
///
/// # Safety
///
/// `h` points to a live `T`.
unsafe fn call<T: Handler>(h: *const (), dev: &Device<Bound>) -> IrqReturn {
    // SAFETY: By the caller.
    unsafe { &*h.cast::<T>() }.handle(dev)
}

/// Mirrors `kernel::irq::Registration`: `request_irq` when initialized,
/// `free_irq` when dropped (which waits for a running top half and checks the
/// line's depth, see [`host::Line`]).
#[pin_data(PinnedDrop)]
pub struct Registration<T: Handler> {
    irq: u32,
    #[pin]
    handler: T,
    #[pin]
    _pin: PhantomPinned,
}

impl<T: Handler> Registration<T> {
    /// Mirrors `Registration::new`.
    pub fn new<'a>(
        request: IrqRequest<'a>,
        flags: Flags,
        name: &'static CStr,
        handler: impl PinInit<T, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a {
        let _ = (request.dev, name);
        crate::try_pin_init!(&this in Self {
            irq: request.irq,
            handler <- handler,
            _pin: PhantomPinned,
            _: {
                // SAFETY: `this` points to the registration being initialized;
                // its `handler` is initialized and pinned until the drop, which
                // frees the line first.
                let h = unsafe { &raw const (*this.as_ptr()).handler }.cast::<()>();
                host::request(request.irq, flags, h, call::<T>)?;
            },
        })
    }

    /// Mirrors `Registration::handler`.
    pub fn handler(&self) -> &T {
        &self.handler
    }
}

#[pinned_drop]
impl<T: Handler> PinnedDrop for Registration<T> {
    fn drop(self: core::pin::Pin<&mut Self>) {
        host::free(self.irq);
    }
}

/// The host IRQ core. A model makes its lines ([`Line::new`]), raises
/// interrupts on them from a hard-IRQ thread ([`Line::fire`]) and reads their
/// depth; the library's `sys.rs` (host version) drives them with the
/// functions below, as the kernel one calls `disable_irq_nosync` and so on.
///
/// Rules the IRQ core enforces, each a model failure (a panic) here:
///
/// - an enable at depth 0 ("Unbalanced enable for IRQ n", the kernel's WARN);
/// - any line operation when no action is registered (before `request_irq`
///   or after `free_irq`: the library promises never to);
/// - a depth above the model's bound ([`Line::set_max_depth`]);
/// - `free_irq` with the depth not what it was just after `request_irq` (the
///   source's disables and enables do not balance: its teardown left its
///   contributions to the depth behind, or took away someone else's).
pub mod host {
    use super::{Flags, IrqReturn};
    use crate::{
        device::{Bound, Device, BOUND},
        error::{code::EBUSY, Result},
        rt,
    };
    use std::sync::{Arc as StdArc, Mutex as StdMutex};

    type Call = unsafe fn(*const (), &Device<Bound>) -> IrqReturn;

    /// A registered action: the handler and how to call it.
    #[derive(Clone, Copy)]
    struct Action {
        handler: *const (),
        call: Call,
    }

    struct State {
        depth: u32,
        /// The registered action, if any.
        action: Option<Action>,
        /// An action was registered and freed again.
        freed: bool,
        /// The depth right after `request_irq`.
        base: u32,
        /// Top halves in progress (at most one: the IRQ core serializes a
        /// line's handlers).
        running: u32,
        /// The model's bound on the depth.
        max: u32,
        /// `IRQ_DISABLE_UNLAZY` was set.
        unlazy: bool,
        /// Top halves run.
        delivered: u32,
    }

    /// One line's descriptor.
    pub struct Desc {
        number: u32,
        level: bool,
        st: rt::Mutex<State>,
        cv: rt::Condvar,
    }

    // SAFETY: The action's handler is `Sync` (`Handler: Sync`) and lives until
    // `free`, which removes it under the lock before the registration goes.
    unsafe impl Send for Desc {}
    // SAFETY: See `Send`.
    unsafe impl Sync for Desc {}

    /// The lines of the running model, by number.
    static LINES: StdMutex<Vec<StdArc<Desc>>> = StdMutex::new(Vec::new());

    fn desc(irq: u32) -> StdArc<Desc> {
        let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        match lines.iter().find(|d| d.number == irq) {
            Some(d) => d.clone(),
            None => panic!("IRQ {irq} is not a line of this model"),
        }
    }

    /// A model's line: made (and registered under its number) by the model,
    /// forgotten when dropped. Drop it inside the model's closure.
    pub struct Line(StdArc<Desc>);

    impl Line {
        /// A line numbered `irq`, level-triggered or edge, with no action.
        pub fn new(irq: u32, level: bool) -> Self {
            let d = StdArc::new(Desc {
                number: irq,
                level,
                st: rt::Mutex::new(State {
                    depth: 1,
                    action: None,
                    freed: false,
                    base: 1,
                    running: 0,
                    max: u32::MAX,
                    unlazy: false,
                    delivered: 0,
                }),
                cv: rt::Condvar::new(),
            });
            let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
            lines.retain(|o| o.number != irq);
            lines.push(d.clone());
            Self(d)
        }

        /// Panics (a model failure) when the depth exceeds `max`.
        pub fn set_max_depth(&self, max: u32) {
            rt::lock(&self.0.st).max = max;
        }

        /// The disable depth now.
        pub fn depth(&self) -> u32 {
            rt::lock(&self.0.st).depth
        }

        /// Top halves run so far.
        pub fn delivered(&self) -> u32 {
            rt::lock(&self.0.st).delivered
        }

        /// Waits until the depth is `depth` (a model's "eventually": if it
        /// never gets there, every thread ends up waiting and loom reports a
        /// deadlock). Never from a hard-IRQ thread.
        pub fn wait_depth(&self, depth: u32) {
            let mut g = rt::lock(&self.0.st);
            while g.depth != depth {
                g = self.0.cv.wait(g).unwrap_or_else(|e| e.into_inner());
            }
        }

        /// The device asserts the line once: as a level line held until the
        /// CPU takes it, the top half runs as soon as the line is unmasked
        /// (depth 0) and no other top half of the line runs; `None` if the
        /// line is freed (or was never requested) first. Call it from a
        /// hard-IRQ thread (`host::spawn_hardirq`): the handler runs there.
        pub fn fire(&self) -> Option<IrqReturn> {
            let d = &self.0;
            let mut g = rt::lock(&d.st);
            let action = loop {
                match g.action {
                    None => return None,
                    Some(a) if g.depth == 0 && g.running == 0 => break a,
                    Some(_) => g = d.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                }
            };
            g.running += 1;
            drop(g);
            // SAFETY: The action stays registered while `running` is set:
            // `free` waits for it.
            let r = unsafe { (action.call)(action.handler, &BOUND) };
            let mut g = rt::lock(&d.st);
            g.running -= 1;
            g.delivered += 1;
            drop(g);
            d.cv.notify_all();
            Some(r)
        }
    }

    impl Drop for Line {
        fn drop(&mut self) {
            let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
            lines.retain(|o| !StdArc::ptr_eq(o, &self.0));
        }
    }

    /// Runs `f` on line `irq`'s state, which must have an action.
    fn op<R>(irq: u32, what: &str, f: impl FnOnce(&mut State) -> R) -> R {
        let d = desc(irq);
        let mut g = rt::lock(&d.st);
        if g.action.is_none() {
            let when = if g.freed {
                "after free_irq"
            } else {
                "before request_irq"
            };
            panic!("{what}({irq}) {when}");
        }
        let r = f(&mut g);
        drop(g);
        d.cv.notify_all();
        r
    }

    /// `request_irq`: registers the action; `IRQF_NO_AUTOEN` leaves the line
    /// at depth 1, otherwise it starts enabled (depth 0).
    pub(crate) fn request(irq: u32, flags: Flags, handler: *const (), call: Call) -> Result {
        let d = desc(irq);
        let mut g = rt::lock(&d.st);
        if g.action.is_some() {
            return Err(EBUSY);
        }
        if flags.has(Flags::NO_AUTOEN) && flags.has(Flags::SHARED) {
            panic!("request_irq({irq}): IRQF_NO_AUTOEN on a shared line");
        }
        g.depth = u32::from(flags.has(Flags::NO_AUTOEN));
        g.base = g.depth;
        g.action = Some(Action { handler, call });
        drop(g);
        d.cv.notify_all();
        Ok(())
    }

    /// `free_irq`: waits for a running top half, checks that the depth is
    /// back to what it was after `request_irq`, and unregisters the action.
    pub(crate) fn free(irq: u32) {
        let d = desc(irq);
        let mut g = rt::lock(&d.st);
        while g.running > 0 {
            g = d.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        if g.action.is_none() {
            panic!("free_irq({irq}) of a line with no action");
        }
        let (depth, base) = (g.depth, g.base);
        g.action = None;
        g.freed = true;
        drop(g);
        d.cv.notify_all();
        assert_eq!(
            depth, base,
            "free_irq({irq}): depth {depth}, {base} after request_irq: the source's \
             disables and enables do not balance"
        );
    }

    /// `disable_irq_nosync`.
    pub fn disable_nosync(irq: u32) {
        op(irq, "disable_irq_nosync", |s| {
            s.depth += 1;
            assert!(
                s.depth <= s.max,
                "IRQ {irq}: depth {} above the model's bound {}",
                s.depth,
                s.max
            );
        })
    }

    /// `enable_irq`: panics at depth 0 as the kernel warns.
    pub fn enable(irq: u32) {
        op(irq, "enable_irq", |s| {
            assert!(s.depth > 0, "Unbalanced enable for IRQ {irq}");
            s.depth -= 1;
        })
    }

    /// `synchronize_irq`: waits until no top half of the line runs. Sleeps.
    pub fn synchronize(irq: u32) {
        crate::host::might_sleep("synchronize_irq");
        let d = desc(irq);
        op(irq, "synchronize_irq", |_| ());
        let mut g = rt::lock(&d.st);
        while g.running > 0 {
            g = d.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// `irq_modify_status(irq, 0, IRQ_DISABLE_UNLAZY)` (recorded only: a host
    /// line always masks at once).
    pub fn set_disable_unlazy(irq: u32) {
        let d = desc(irq);
        rt::lock(&d.st).unlazy = true;
    }

    /// Whether the line is level-triggered.
    pub fn is_level(irq: u32) -> bool {
        desc(irq).level
    }

    /// The line's depth, or `None` if the model has no such line.
    pub fn depth_of(irq: u32) -> Option<u32> {
        let lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
        let d = lines.iter().find(|d| d.number == irq)?.clone();
        drop(lines);
        let depth = rt::lock(&d.st).depth;
        Some(depth)
    }
}
