// SPDX-License-Identifier: GPL-2.0

//! Mirrors the few `kernel::bindings` constants the library's files outside
//! `sys.rs` name (`info.rs`'s trigger bits), with the values of 7.2's headers.

/// `IRQ_TYPE_EDGE_RISING`.
pub const IRQ_TYPE_EDGE_RISING: u32 = 0x1;
/// `IRQ_TYPE_EDGE_FALLING`.
pub const IRQ_TYPE_EDGE_FALLING: u32 = 0x2;
/// `IRQ_TYPE_LEVEL_HIGH`.
pub const IRQ_TYPE_LEVEL_HIGH: u32 = 0x4;
/// `IRQ_TYPE_LEVEL_LOW`.
pub const IRQ_TYPE_LEVEL_LOW: u32 = 0x8;
/// `IRQD_TRIGGER_MASK`.
pub const IRQD_TRIGGER_MASK: u32 = 0xf;
/// `IRQD_LEVEL`.
pub const IRQD_LEVEL: u32 = 1 << 13;
