// SPDX-License-Identifier: GPL-2.0

//! Mirrors `kernel::devres::Devres`: here the value itself (there is no
//! unbind on the host).

/// Mirrors `kernel::devres::Devres`.
pub struct Devres<T>(pub T);
