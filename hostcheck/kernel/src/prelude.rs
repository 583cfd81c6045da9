// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::prelude`: the items the library's files import with
//! `use kernel::prelude::*`.

pub use crate::{
    alloc::{flags::*, KBox, KVec},
    error::{code::*, Error, Result},
    init::InPlaceInit,
    pr_err, pr_info, pr_warn,
    str::CStrExt as _,
    try_pin_init,
};
pub use core::{ffi::CStr, pin::Pin};
pub use pin_init::{init, pin_data, pin_init, pinned_drop, Init, PinInit};
