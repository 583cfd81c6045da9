// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::atomic`: `Atomic<T>`, `AtomicFlag` and the four
//! orderings, on the backend's atomics.
//!
//! Orderings map as the Linux kernel memory model defines them: `Relaxed`,
//! `Acquire` and `Release` are C11's; `Full` (a fully ordered RMW, as
//! `atomic_xchg()`) is a sequentially consistent fence, the operation, and
//! another fence (loom treats a plain `SeqCst` RMW as `AcqRel`, which is weaker
//! than the kernel's full barrier). A failed `cmpxchg` orders nothing, as in
//! the kernel, except that a `Full` one keeps its leading fence (slightly
//! stronger than the kernel promises). Loads and stores take only the orderings
//! the kernel allows them (`AcquireOrRelaxed`, `ReleaseOrRelaxed`).
//!
//! A store is a swap whose result is dropped. Loom keeps each atomic's
//! modification order as a partial order: a plain store that is concurrent
//! with another thread's read-modify-write is left unordered with it, and the
//! storing thread may then read the other value back right after its own
//! store, an outcome C11 and the kernel's memory model both forbid (the
//! modification order is total; a read-modify-write reads the latest value).
//! A swap is ordered after the value it replaced, so every atomic's stores
//! form one chain. (Seen in `model_irq_depth_balances`: the top half's
//! `auto_masked.store(true)` read back `false` from the loop thread's earlier
//! `xchg(false)`, and the model reported a line left masked.)
//!
//! `Atomic::new` is `const` (see [`Atomic`]); `AtomicFlag::new` is not.

use crate::rt::atomic::{self as rt, Ordering as O};

/// Mirrors `kernel::sync::atomic::ordering`.
pub mod ordering {
    /// The backend ordering an ordering type stands for.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// No ordering.
        Relaxed,
        /// Acquire.
        Acquire,
        /// Release.
        Release,
        /// Full: fences around the operation.
        Full,
    }

    /// Mirrors `ordering::Ordering`.
    pub trait Ordering: Copy {
        /// Which ordering.
        const KIND: Kind;
    }
    /// Mirrors `ordering::AcquireOrRelaxed`.
    pub trait AcquireOrRelaxed: Ordering {}
    /// Mirrors `ordering::ReleaseOrRelaxed`.
    pub trait ReleaseOrRelaxed: Ordering {}

    /// Mirrors `ordering::Relaxed`.
    #[derive(Clone, Copy)]
    pub struct Relaxed;
    /// Mirrors `ordering::Acquire`.
    #[derive(Clone, Copy)]
    pub struct Acquire;
    /// Mirrors `ordering::Release`.
    #[derive(Clone, Copy)]
    pub struct Release;
    /// Mirrors `ordering::Full`.
    #[derive(Clone, Copy)]
    pub struct Full;

    impl Ordering for Relaxed {
        const KIND: Kind = Kind::Relaxed;
    }
    impl Ordering for Acquire {
        const KIND: Kind = Kind::Acquire;
    }
    impl Ordering for Release {
        const KIND: Kind = Kind::Release;
    }
    impl Ordering for Full {
        const KIND: Kind = Kind::Full;
    }
    impl AcquireOrRelaxed for Relaxed {}
    impl AcquireOrRelaxed for Acquire {}
    impl ReleaseOrRelaxed for Relaxed {}
    impl ReleaseOrRelaxed for Release {}
}

pub use ordering::{Acquire, Full, Relaxed, Release};
use ordering::{Kind, Ordering};

fn plain(k: Kind) -> O {
    match k {
        Kind::Relaxed => O::Relaxed,
        Kind::Acquire => O::Acquire,
        Kind::Release => O::Release,
        Kind::Full => O::SeqCst,
    }
}

/// Runs a read-modify-write with ordering `k`.
fn rmw<R>(k: Kind, op: impl FnOnce(O) -> R) -> R {
    match k {
        Kind::Full => {
            rt::fence(O::SeqCst);
            let r = op(O::AcqRel);
            rt::fence(O::SeqCst);
            r
        }
        Kind::Relaxed => op(O::Relaxed),
        Kind::Acquire => op(O::Acquire),
        Kind::Release => op(O::Release),
    }
}

/// A compare-exchange with ordering `k` on success, none on failure.
fn cas<T>(k: Kind, op: impl FnOnce(O, O) -> Result<T, T>) -> Result<T, T> {
    match k {
        Kind::Full => {
            rt::fence(O::SeqCst);
            let r = op(O::AcqRel, O::Relaxed);
            if r.is_ok() {
                rt::fence(O::SeqCst);
            }
            r
        }
        Kind::Relaxed => op(O::Relaxed, O::Relaxed),
        Kind::Acquire => op(O::Acquire, O::Relaxed),
        Kind::Release => op(O::Release, O::Relaxed),
    }
}

/// Mirrors `kernel::sync::atomic::AtomicType`: a type with an atomic form.
pub trait AtomicType: Copy {
    /// The backend atomic.
    type Repr;
    /// A new backend atomic holding `v`.
    fn repr(v: Self) -> Self::Repr;
    /// Backend load.
    fn load(r: &Self::Repr, o: O) -> Self;
    /// Backend store.
    fn store(r: &Self::Repr, v: Self, o: O);
    /// Backend swap.
    fn swap(r: &Self::Repr, v: Self, o: O) -> Self;
    /// Backend compare-exchange.
    fn cas(r: &Self::Repr, old: Self, new: Self, s: O, f: O) -> Result<Self, Self>;
}

/// Mirrors `kernel::sync::atomic::AtomicAdd`: integer atomics.
pub trait AtomicAdd: AtomicType {
    /// Backend fetch-add (wrapping).
    fn fetch_add(r: &Self::Repr, v: Self, o: O) -> Self;
    /// Backend fetch-sub (wrapping).
    fn fetch_sub(r: &Self::Repr, v: Self, o: O) -> Self;
}

macro_rules! int_atomic {
    ($($t:ty => $a:ident),* $(,)?) => {$(
        impl AtomicType for $t {
            type Repr = rt::$a;
            fn repr(v: Self) -> rt::$a {
                rt::$a::new(v)
            }
            fn load(r: &rt::$a, o: O) -> Self {
                r.load(o)
            }
            fn store(r: &rt::$a, v: Self, o: O) {
                r.store(v, o)
            }
            fn swap(r: &rt::$a, v: Self, o: O) -> Self {
                r.swap(v, o)
            }
            fn cas(r: &rt::$a, old: Self, new: Self, s: O, f: O) -> Result<Self, Self> {
                r.compare_exchange(old, new, s, f)
            }
        }
        impl AtomicAdd for $t {
            fn fetch_add(r: &rt::$a, v: Self, o: O) -> Self {
                r.fetch_add(v, o)
            }
            fn fetch_sub(r: &rt::$a, v: Self, o: O) -> Self {
                r.fetch_sub(v, o)
            }
        }
    )*};
}

int_atomic!(
    i32 => AtomicI32,
    u32 => AtomicU32,
    i64 => AtomicI64,
    u64 => AtomicU64,
    usize => AtomicUsize,
);

impl<P> AtomicType for *mut P {
    type Repr = rt::AtomicPtr<P>;
    fn repr(v: Self) -> Self::Repr {
        rt::AtomicPtr::new(v)
    }
    fn load(r: &Self::Repr, o: O) -> Self {
        r.load(o)
    }
    fn store(r: &Self::Repr, v: Self, o: O) {
        r.store(v, o)
    }
    fn swap(r: &Self::Repr, v: Self, o: O) -> Self {
        r.swap(v, o)
    }
    fn cas(r: &Self::Repr, old: Self, new: Self, s: O, f: O) -> Result<Self, Self> {
        r.compare_exchange(old, new, s, f)
    }
}

/// Mirrors `kernel::sync::atomic::Atomic<T>`.
///
/// `new` is `const`, as the kernel's. Loom's atomics cannot be made in a
/// constant, so an atomic made in one (a `static`) makes its backend atomic on
/// first use, which loom sees as an unordered write: a model must not use one
/// (the library's only one, `interrupt.rs`'s storm report bitmap, is reached
/// only by the storm throttle, which the models turn off). One made at run
/// time makes it at once.
pub struct Atomic<T: AtomicType> {
    init: T,
    repr: std::sync::OnceLock<T::Repr>,
}

// SAFETY: As the kernel's: an atomic may be shared between threads (raw
// pointers included: the atomic only holds the address).
unsafe impl<T: AtomicType> Send for Atomic<T> {}
// SAFETY: See `Send`.
unsafe impl<T: AtomicType> Sync for Atomic<T> {}

impl<T: AtomicType> Atomic<T> {
    /// Mirrors `Atomic::new`. At run time the backend atomic is made at once,
    /// by the creating thread (loom orders every access after it); in a
    /// constant (a `static`) on first use.
    pub const fn new(v: T) -> Self {
        const fn in_const<T: AtomicType>(v: T) -> Atomic<T> {
            Atomic {
                init: v,
                repr: std::sync::OnceLock::new(),
            }
        }
        fn at_run_time<T: AtomicType>(v: T) -> Atomic<T> {
            Atomic {
                init: v,
                repr: std::sync::OnceLock::from(T::repr(v)),
            }
        }
        core::intrinsics::const_eval_select((v,), in_const, at_run_time)
    }

    fn r(&self) -> &T::Repr {
        self.repr.get_or_init(|| T::repr(self.init))
    }

    /// Mirrors `Atomic::load`.
    pub fn load<Ord: ordering::AcquireOrRelaxed>(&self, _: Ord) -> T {
        T::load(self.r(), plain(Ord::KIND))
    }

    /// Mirrors `Atomic::store` (a swap, see the module documentation).
    pub fn store<Ord: ordering::ReleaseOrRelaxed>(&self, v: T, _: Ord) {
        T::swap(self.r(), v, plain(Ord::KIND));
    }

    /// Mirrors `Atomic::xchg`.
    pub fn xchg<Ord: Ordering>(&self, v: T, _: Ord) -> T {
        rmw(Ord::KIND, |o| T::swap(self.r(), v, o))
    }

    /// Mirrors `Atomic::cmpxchg`: `Ok(old)` if the value was `old` and is now
    /// `new`, `Err(current)` otherwise.
    pub fn cmpxchg<Ord: Ordering>(&self, old: T, new: T, _: Ord) -> Result<T, T> {
        cas(Ord::KIND, |s, f| T::cas(self.r(), old, new, s, f))
    }
}

impl<T: AtomicAdd> Atomic<T> {
    /// Mirrors `Atomic::add` (relaxed, no result).
    pub fn add(&self, v: T, _: Relaxed) {
        T::fetch_add(self.r(), v, O::Relaxed);
    }

    /// Mirrors `Atomic::fetch_add`.
    pub fn fetch_add<Ord: Ordering>(&self, v: T, _: Ord) -> T {
        rmw(Ord::KIND, |o| T::fetch_add(self.r(), v, o))
    }

    /// Mirrors `Atomic::fetch_sub`.
    pub fn fetch_sub<Ord: Ordering>(&self, v: T, _: Ord) -> T {
        rmw(Ord::KIND, |o| T::fetch_sub(self.r(), v, o))
    }
}

/// Mirrors `kernel::sync::atomic::AtomicFlag`: an atomic boolean.
///
/// `new` is `const`, as the kernel's, the same way as [`Atomic::new`].
pub struct AtomicFlag {
    init: bool,
    repr: std::sync::OnceLock<rt::AtomicBool>,
}

impl AtomicFlag {
    /// Mirrors `AtomicFlag::new`: `const`, as [`Atomic::new`] (the backend
    /// atomic is made at once at run time, on first use in a constant).
    pub const fn new(v: bool) -> Self {
        const fn in_const(v: bool) -> AtomicFlag {
            AtomicFlag {
                init: v,
                repr: std::sync::OnceLock::new(),
            }
        }
        fn at_run_time(v: bool) -> AtomicFlag {
            AtomicFlag {
                init: v,
                repr: std::sync::OnceLock::from(rt::AtomicBool::new(v)),
            }
        }
        core::intrinsics::const_eval_select((v,), in_const, at_run_time)
    }

    fn r(&self) -> &rt::AtomicBool {
        self.repr.get_or_init(|| rt::AtomicBool::new(self.init))
    }

    /// Mirrors `AtomicFlag::load`.
    pub fn load<Ord: ordering::AcquireOrRelaxed>(&self, _: Ord) -> bool {
        self.r().load(plain(Ord::KIND))
    }

    /// Mirrors `AtomicFlag::store` (a swap, see the module documentation).
    pub fn store<Ord: ordering::ReleaseOrRelaxed>(&self, v: bool, _: Ord) {
        self.r().swap(v, plain(Ord::KIND));
    }

    /// Mirrors `AtomicFlag::xchg`.
    pub fn xchg<Ord: Ordering>(&self, v: bool, _: Ord) -> bool {
        rmw(Ord::KIND, |o| self.r().swap(v, o))
    }

    /// Mirrors `AtomicFlag::cmpxchg`.
    pub fn cmpxchg<Ord: Ordering>(&self, old: bool, new: bool, _: Ord) -> Result<bool, bool> {
        cas(Ord::KIND, |s, f| self.r().compare_exchange(old, new, s, f))
    }
}
