// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::time`: `Delta` and jiffies. There is no clock: a timed
//! wait ends only when a model expires it (see [`crate::host`]).

/// Mirrors `kernel::time::Jiffies`.
pub type Jiffies = crate::ffi::c_ulong;

/// Mirrors `kernel::time::msecs_to_jiffies` (HZ = 1000 here).
pub fn msecs_to_jiffies(ms: u32) -> Jiffies {
    Jiffies::from(ms)
}

/// Mirrors `kernel::time::Delta`: a span of time in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delta {
    nanos: i64,
}

impl Delta {
    /// Mirrors `Delta::from_micros`.
    pub const fn from_micros(us: i64) -> Self {
        Self {
            nanos: us.saturating_mul(1_000),
        }
    }

    /// Mirrors `Delta::from_millis`.
    pub const fn from_millis(ms: i64) -> Self {
        Self {
            nanos: ms.saturating_mul(1_000_000),
        }
    }

    /// Mirrors `Delta::as_millis`.
    pub const fn as_millis(self) -> i64 {
        self.nanos / 1_000_000
    }

    /// Mirrors `Delta::as_nanos`.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }
}

/// Mirrors `kernel::time::delay`.
pub mod delay {
    use super::Delta;

    /// Mirrors `fsleep`: returns at once (no clock).
    pub fn fsleep(_d: Delta) {}

    /// Mirrors `udelay`: returns at once (no clock).
    pub fn udelay(_d: Delta) {}
}
