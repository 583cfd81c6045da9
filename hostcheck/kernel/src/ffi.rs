// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::ffi` (the C integer types).

pub use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};
