// SPDX-License-Identifier: GPL-2.0

//! `wl_irq_state`: the IRQ core's view of one line, for the guest tests on
//! kernels without `CONFIG_GENERIC_IRQ_DEBUGFS` (Debian's stock kernel).
//!
//! `echo N > /sys/kernel/debug/wl_irq_state/irq` selects IRQ `N`; reading the
//! file then prints the lines of `/sys/kernel/debug/irq/irqs/N` the tests read
//! (`ddepth:`, and `dstate:` / `status:` with the flag names), from
//! [`workloop::line_state`]. Reading an IRQ without a descriptor fails with
//! `ENOENT`; writing anything but a number fails with `EINVAL`.

#[path = "../../src/workloop.rs"]
pub mod workloop;

use core::fmt;
use kernel::{
    debugfs::{Dir, File, Reader},
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
    uaccess::UserSliceReader,
};

module! {
    type: IrqState,
    name: "wl_irq_state",
    authors: ["workloop"],
    description: "The IRQ core's view of a line, for the workloop guest tests",
    license: "GPL v2",
}

/// The selected IRQ number; `u32::MAX` before the first write.
struct Selected(Atomic<u32>);

impl Reader for Selected {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 16];
        let len = reader.len().min(buf.len());
        // PANIC: `len <= buf.len()`.
        reader.read_slice(&mut buf[..len])?;
        // PANIC: As above.
        let text = core::str::from_utf8(&buf[..len]).map_err(|_| EINVAL)?;
        let irq = text.trim().parse::<u32>().map_err(|_| EINVAL)?;
        self.0.store(irq, Relaxed);
        Ok(())
    }
}

impl fmt::Debug for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let irq = self.0.load(Relaxed);
        let Some(state) = workloop::line_state(irq) else {
            // debugfs reports a formatting error as `EINVAL`; say which IRQ.
            return writeln!(f, "irq {}: no such line", irq);
        };
        writeln!(f, "ddepth:   {}", state.depth)?;
        writeln!(f, "dstate:   {:#010x}", state.irqd)?;
        for (on, name) in [
            (state.is_level(), "IRQD_LEVEL"),
            (state.is_disabled(), "IRQD_IRQ_DISABLED"),
            (state.is_masked(), "IRQD_IRQ_MASKED"),
        ] {
            if on {
                writeln!(f, "          {}", name)?;
            }
        }
        writeln!(f, "status:   {:#010x}", state.status)?;
        if state.is_disable_unlazy() {
            writeln!(f, "          _IRQ_DISABLE_UNLAZY")?;
        }
        Ok(())
    }
}

/// The module: its directory and file. Field order: the file before its directory.
struct IrqState {
    _file: Pin<KBox<File<Selected>>>,
    _dir: Dir,
}

impl kernel::Module for IrqState {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new(c"wl_irq_state");
        let file = KBox::pin_init(
            dir.read_write_file(c"irq", Selected(Atomic::new(u32::MAX))),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _file: file,
            _dir: dir,
        })
    }
}
