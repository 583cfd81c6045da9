// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::error`: `Error` (a negative errno), `Result` and the codes.

use crate::alloc::AllocError;
use core::{convert::Infallible, fmt};

/// Mirrors `kernel::error::Error`: a negative errno. The codes are constants,
/// usable as patterns as in the kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error(i32);

impl Error {
    /// Mirrors `Error::from_errno`: `errno` is negative (anything else is
    /// `EINVAL`, as in the kernel).
    pub fn from_errno(errno: i32) -> Error {
        if (-4095..0).contains(&errno) {
            Error(errno)
        } else {
            code::EINVAL
        }
    }

    /// Mirrors `Error::to_errno`.
    pub fn to_errno(self) -> i32 {
        self.0
    }

    /// The errno's name, for messages.
    pub fn name(self) -> &'static str {
        match -self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            12 => "ENOMEM",
            16 => "EBUSY",
            19 => "ENODEV",
            22 => "EINVAL",
            28 => "ENOSPC",
            35 => "EDEADLK",
            107 => "ENOTCONN",
            512 => "ERESTARTSYS",
            524 => "ENOTSUPP",
            _ => "E?",
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// Shows the same as `Debug` (the host `pr_*!` macros format an argument
/// through `Display`; f436a3a's `pr_warn!` printed an `Error` with `{:?}`).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl From<AllocError> for Error {
    fn from(_: AllocError) -> Error {
        code::ENOMEM
    }
}

impl From<Infallible> for Error {
    fn from(e: Infallible) -> Error {
        match e {}
    }
}

/// Mirrors `kernel::error::Result`.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

/// Mirrors `kernel::error::code`: the errno constants the library uses.
pub mod code {
    use super::Error;

    /// `EPERM`.
    pub const EPERM: Error = Error(-1);
    /// `ENOENT`.
    pub const ENOENT: Error = Error(-2);
    /// `ENOMEM`.
    pub const ENOMEM: Error = Error(-12);
    /// `EBUSY`.
    pub const EBUSY: Error = Error(-16);
    /// `ENODEV`.
    pub const ENODEV: Error = Error(-19);
    /// `EINVAL`.
    pub const EINVAL: Error = Error(-22);
    pub const ENOSPC: Error = Error(-28);
    pub const ENOTSUPP: Error = Error(-524);
    /// `ERESTARTSYS`.
    pub const ERESTARTSYS: Error = Error(-512);
}

/// Mirrors `kernel::error::to_result`.
pub fn to_result(err: i32) -> Result {
    if err < 0 {
        Err(Error::from_errno(err))
    } else {
        Ok(())
    }
}
