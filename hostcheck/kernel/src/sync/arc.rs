// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::sync::{Arc, ArcBorrow, UniqueArc}` on `std`'s `Arc`. Each
//! allocation owns a leak token ([`crate::rt::LeakToken`]): under loom, an
//! allocation still alive when a model ends (a cycle, a lost reference) is
//! reported by loom's leak check.

use crate::{
    alloc::{AllocError, Flags},
    init::InPlaceInit,
    rt,
};
use core::{
    marker::{PhantomData, Unsize},
    ops::{CoerceUnsized, Deref},
    pin::Pin,
    ptr::NonNull,
};
use pin_init::{Init, PinInit};

#[repr(C)]
struct ArcInner<T: ?Sized> {
    _token: rt::LeakToken,
    value: T,
}

/// Mirrors `kernel::sync::Arc`: a reference-counted pointer whose pointee
/// never moves (it is always pinned).
pub struct Arc<T: ?Sized> {
    inner: std::sync::Arc<ArcInner<T>>,
}

impl<T: ?Sized + Unsize<U>, U: ?Sized> CoerceUnsized<Arc<U>> for Arc<T> {}

impl<T> Arc<T> {
    /// Mirrors `Arc::new`.
    pub fn new(value: T, _flags: Flags) -> Result<Self, AllocError> {
        Ok(Self {
            inner: std::sync::Arc::new(ArcInner {
                _token: rt::leak_token(),
                value,
            }),
        })
    }

    /// Mirrors `Arc::from_raw`.
    ///
    /// # Safety
    ///
    /// `ptr` comes from [`Arc::into_raw`] and its reference is not used again.
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        // SAFETY: `ptr` points to the `value` field of an `ArcInner<T>` made by
        // `into_raw` (the caller's promise).
        let inner = unsafe { inner_of(ptr) };
        // SAFETY: `inner` came from `std::sync::Arc::into_raw` in `into_raw`.
        let inner = unsafe { std::sync::Arc::from_raw(inner) };
        Self { inner }
    }
}

/// The `ArcInner` whose `value` is at `ptr`.
///
/// # Safety
///
/// `ptr` points to the `value` field of an `ArcInner<T>`.
unsafe fn inner_of<T>(ptr: *const T) -> *const ArcInner<T> {
    let offset = core::mem::offset_of!(ArcInner<T>, value);
    // SAFETY: By the caller, `ptr - offset` is the start of the `ArcInner`.
    unsafe { ptr.byte_sub(offset).cast::<ArcInner<T>>() }
}

impl<T: ?Sized> Arc<T> {
    /// Mirrors `Arc::as_arc_borrow`.
    pub fn as_arc_borrow(&self) -> ArcBorrow<'_, T> {
        ArcBorrow {
            inner: NonNull::from(&*self.inner),
            _p: PhantomData,
        }
    }

    /// Mirrors `Arc::as_ptr`.
    pub fn as_ptr(this: &Self) -> *const T {
        &raw const this.inner.value
    }

    /// Mirrors `Arc::into_raw`.
    pub fn into_raw(this: Self) -> *const T {
        let inner = std::sync::Arc::into_raw(this.inner);
        // SAFETY: `inner` points to a live `ArcInner` (the reference is kept).
        unsafe { &raw const (*inner).value }
    }

    /// Mirrors `Arc::ptr_eq`.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        std::sync::Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Mirrors `Arc::into_unique_or_drop`: the value, if this was the last
    /// reference; otherwise drops this one. (The check and the drop run with no
    /// backend operation between them, so under loom they are one step.)
    pub fn into_unique_or_drop(this: Self) -> Option<Pin<UniqueArc<T>>> {
        if std::sync::Arc::strong_count(&this.inner) == 1 {
            // SAFETY: The pointee of an `Arc` never moves.
            Some(unsafe { Pin::new_unchecked(UniqueArc { arc: this }) })
        } else {
            drop(this);
            None
        }
    }

    /// Number of references (for the models' leak checks).
    pub fn strong_count(this: &Self) -> usize {
        std::sync::Arc::strong_count(&this.inner)
    }
}

impl<T: ?Sized> Clone for Arc<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: ?Sized> Deref for Arc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner.value
    }
}

impl<T> InPlaceInit<T> for Arc<T> {
    type PinnedSelf = Self;

    fn try_pin_init<E>(init: impl PinInit<T, E>, _flags: Flags) -> Result<Self, E>
    where
        E: From<AllocError>,
    {
        let mut uninit = std::sync::Arc::<ArcInner<T>>::new_uninit();
        let slot = std::sync::Arc::get_mut(&mut uninit)
            .ok_or(AllocError)?
            .as_mut_ptr();
        // SAFETY: `slot` is a fresh, unshared allocation for an `ArcInner<T>`. The
        // token is written first and dropped again if `init` fails, so the value
        // is considered initialized only if `init` succeeded; it never moves after.
        unsafe {
            (&raw mut (*slot)._token).write(rt::leak_token());
            if let Err(e) = init.__pinned_init(&raw mut (*slot).value) {
                core::ptr::drop_in_place(&raw mut (*slot)._token);
                return Err(e);
            }
            Ok(Self {
                inner: uninit.assume_init(),
            })
        }
    }

    fn try_init<E>(init: impl Init<T, E>, flags: Flags) -> Result<Self, E>
    where
        E: From<AllocError>,
    {
        Self::try_pin_init(init, flags)
    }
}

/// Mirrors `kernel::sync::ArcBorrow`: a borrowed [`Arc`], convertible back to
/// one.
pub struct ArcBorrow<'a, T: ?Sized> {
    inner: NonNull<ArcInner<T>>,
    _p: PhantomData<&'a ()>,
}

impl<T: ?Sized> Clone for ArcBorrow<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for ArcBorrow<'_, T> {}

impl<T> ArcBorrow<'_, T> {
    /// Mirrors `ArcBorrow::from_raw`.
    ///
    /// # Safety
    ///
    /// `ptr` comes from [`Arc::into_raw`], and that reference outlives the
    /// borrow.
    pub unsafe fn from_raw(ptr: *const T) -> Self {
        // SAFETY: By the caller.
        let inner = unsafe { inner_of(ptr) };
        Self {
            inner: NonNull::new(inner.cast_mut()).unwrap_or(NonNull::dangling()),
            _p: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for ArcBorrow<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: The `Arc` this borrows from keeps the allocation alive for `'a`.
        unsafe { &(*self.inner.as_ptr()).value }
    }
}

impl<T: ?Sized> From<ArcBorrow<'_, T>> for Arc<T> {
    fn from(b: ArcBorrow<'_, T>) -> Self {
        let ptr = b.inner.as_ptr().cast_const();
        // SAFETY: `ptr` is a live `std::sync::Arc` allocation (borrowed): take a
        // new reference and own it.
        unsafe {
            std::sync::Arc::increment_strong_count(ptr);
            Self {
                inner: std::sync::Arc::from_raw(ptr),
            }
        }
    }
}

/// Mirrors `kernel::sync::UniqueArc`: the only reference to a value.
pub struct UniqueArc<T: ?Sized> {
    arc: Arc<T>,
}

impl<T: ?Sized> Deref for UniqueArc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.arc
    }
}
