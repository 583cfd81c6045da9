// SPDX-License-Identifier: GPL-2.0

//! Mirrors the kernel's `pr_*!` macros: printed to standard error.

/// Mirrors `kernel::pr_warn!`.
#[macro_export]
macro_rules! pr_warn {
    ($($arg:tt)*) => { ::std::eprint!("warn: {}", ::core::format_args!($($arg)*)) };
}

/// Mirrors `kernel::pr_err!`.
#[macro_export]
macro_rules! pr_err {
    ($($arg:tt)*) => { ::std::eprint!("err: {}", ::core::format_args!($($arg)*)) };
}

/// Mirrors `kernel::pr_info!`.
#[macro_export]
macro_rules! pr_info {
    ($($arg:tt)*) => { ::std::eprint!("info: {}", ::core::format_args!($($arg)*)) };
}
