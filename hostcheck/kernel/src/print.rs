// SPDX-License-Identifier: GPL-2.0

//! Mirrors the kernel's `pr_*!` macros: printed to standard error.
//!
//! As the kernel's, they print a `CStr` argument with `{}` (`core::ffi::CStr`
//! has no `Display` on the host): each argument is turned into a `String`
//! first, a `CStr` lossily, anything else with its `Display`.

use core::{ffi::CStr, fmt::Display};

/// An argument of a `pr_*!` macro.
#[doc(hidden)]
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Shows a `CStr` argument (chosen first, by method resolution).
#[doc(hidden)]
pub trait ViaCStr {
    fn show(&self) -> String;
}

impl ViaCStr for Wrap<'_, CStr> {
    fn show(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl ViaCStr for Wrap<'_, &CStr> {
    fn show(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

/// Shows any other argument with its `Display`.
#[doc(hidden)]
pub trait ViaDisplay {
    fn show(&self) -> String;
}

impl<T: Display + ?Sized> ViaDisplay for &Wrap<'_, T> {
    fn show(&self) -> String {
        self.0.to_string()
    }
}

/// Prints one message with `level` (helper of the `pr_*!` macros).
#[doc(hidden)]
#[macro_export]
macro_rules! __host_print {
    ($level:literal, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[allow(unused_imports)]
        use $crate::print::{ViaCStr as _, ViaDisplay as _};
        ::std::eprint!(
            ::core::concat!($level, $fmt)
            $(, (&$crate::print::Wrap(&$arg)).show())*
        )
    }};
}

/// Mirrors `kernel::pr_warn!`.
#[macro_export]
macro_rules! pr_warn {
    ($($arg:tt)*) => { $crate::__host_print!("warn: ", $($arg)*) };
}

/// Mirrors `kernel::pr_err!`.
#[macro_export]
macro_rules! pr_err {
    ($($arg:tt)*) => { $crate::__host_print!("err: ", $($arg)*) };
}

/// Mirrors `kernel::pr_info!`.
#[macro_export]
macro_rules! pr_info {
    ($($arg:tt)*) => { $crate::__host_print!("info: ", $($arg)*) };
}
