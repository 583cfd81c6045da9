// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::str`: 7.2's `CStr` is `core::ffi::CStr`, extended by
//! `CStrExt`; `CString` is an owned one.

use crate::{alloc::AllocError, ffi::c_char};
pub use core::ffi::CStr;
use core::ops::Deref;

/// Mirrors `kernel::str::CStrExt`.
pub trait CStrExt {
    /// Mirrors `CStrExt::as_char_ptr`.
    fn as_char_ptr(&self) -> *const c_char;
    /// Mirrors `CStrExt::to_cstring`.
    fn to_cstring(&self) -> Result<CString, AllocError>;
}

impl CStrExt for CStr {
    fn as_char_ptr(&self) -> *const c_char {
        self.as_ptr()
    }

    fn to_cstring(&self) -> Result<CString, AllocError> {
        Ok(CString(self.to_owned()))
    }
}

/// Mirrors `kernel::str::CString`.
pub struct CString(std::ffi::CString);

impl Deref for CString {
    type Target = CStr;
    fn deref(&self) -> &CStr {
        &self.0
    }
}
