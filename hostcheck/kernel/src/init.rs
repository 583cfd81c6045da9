// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::init`: `InPlaceInit` (`Arc::pin_init`, `KBox::pin_init`)
//! and the `try_pin_init!` macro with the kernel's default error.

use crate::{
    alloc::{AllocError, Flags, KBox},
    error::{self, Error},
};
use core::pin::Pin;
use pin_init::{Init, PinInit};

/// Mirrors `kernel::init::InPlaceInit`: initialize a value in place in a new
/// allocation of the implementing smart pointer.
pub trait InPlaceInit<T>: Sized {
    /// `Pin<Self>`, or `Self` for a pointer that always pins (`Arc`).
    type PinnedSelf;

    /// Mirrors `InPlaceInit::try_pin_init`.
    fn try_pin_init<E>(init: impl PinInit<T, E>, flags: Flags) -> Result<Self::PinnedSelf, E>
    where
        E: From<AllocError>;

    /// Mirrors `InPlaceInit::pin_init`.
    fn pin_init<E>(init: impl PinInit<T, E>, flags: Flags) -> error::Result<Self::PinnedSelf>
    where
        Error: From<E>,
    {
        // SAFETY: Delegates to `init`, changing only the error type.
        let init = unsafe {
            pin_init::pin_init_from_closure(|slot| init.__pinned_init(slot).map_err(Error::from))
        };
        Self::try_pin_init(init, flags)
    }

    /// Mirrors `InPlaceInit::try_init`.
    fn try_init<E>(init: impl Init<T, E>, flags: Flags) -> Result<Self, E>
    where
        E: From<AllocError>;
}

impl<T> InPlaceInit<T> for KBox<T> {
    type PinnedSelf = Pin<KBox<T>>;

    fn try_pin_init<E>(init: impl PinInit<T, E>, _flags: Flags) -> Result<Pin<KBox<T>>, E>
    where
        E: From<AllocError>,
    {
        let mut b = Box::<T>::new_uninit();
        // SAFETY: `b` is a fresh allocation for a `T`; it is considered
        // initialized only if `init` succeeded, and never moved after.
        unsafe {
            init.__pinned_init(b.as_mut_ptr())?;
            Ok(crate::alloc::pin_kbox(Pin::new_unchecked(b.assume_init())))
        }
    }

    fn try_init<E>(init: impl Init<T, E>, _flags: Flags) -> Result<KBox<T>, E>
    where
        E: From<AllocError>,
    {
        let mut b = Box::<T>::new_uninit();
        // SAFETY: As above.
        unsafe {
            init.__init(b.as_mut_ptr())?;
            Ok(KBox::from_box(b.assume_init()))
        }
    }
}

/// Mirrors `kernel::try_pin_init!`: `pin_init!` whose error is `Error` unless
/// one is given with `? E`.
#[macro_export]
macro_rules! try_pin_init {
    ($($args:tt)*) => {
        ::pin_init::pin_init!(
            #[default_error($crate::error::Error)]
            $($args)*
        )
    };
}
