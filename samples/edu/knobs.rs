// SPDX-License-Identifier: GPL-2.0

//! The debugfs files of a device: `info` (driver counters), `raise` (write N:
//! the device raises N interrupts), `irq_ctl` (see `irq.rs`) and, with
//! `test_knobs=1`, `test` (see `test_knobs.rs`).

use super::*;

/// debugfs view of a device.
pub(crate) struct Info(pub(crate) Arc<EduEngine>);

impl fmt::Debug for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = &self.0;
        let counters = &engine.counters;
        writeln!(f, "device: {}", engine.pci_name.to_str().unwrap_or("?"))?;
        writeln!(f, "filter: {}", engine.filter_mode)?;
        writeln!(
            f,
            "loop: {}",
            engine.work_loop.name().to_str().unwrap_or("?")
        )?;
        writeln!(f, "test_irqs: {}", counters.test_irqs.load(Relaxed))?;
        writeln!(f, "raised: {}", counters.raised.load(Relaxed))?;
        writeln!(
            f,
            "raise_timeouts: {}",
            counters.raise_timeouts.load(Relaxed)
        )?;
        writeln!(f, "empty_actions: {}", counters.empty_actions.load(Relaxed))?;
        writeln!(f, "made_pending: {}", counters.made_pending.load(Relaxed))?;
        writeln!(f, "actions: {}", counters.actions.load(Relaxed))?;
        writeln!(f, "enable_hooks: {}", counters.enable_hooks.load(Relaxed))?;
        writeln!(f, "disable_hooks: {}", counters.disable_hooks.load(Relaxed))?;
        writeln!(
            f,
            "hook_order_errors: {}",
            counters.hook_order_errors.load(Relaxed)
        )?;
        writeln!(f, "cancels: {}", counters.cancels.load(Relaxed))?;
        writeln!(f, "completions: {}", counters.completions.load(Relaxed))?;
        writeln!(f, "raised_during: {}", counters.raised_during.load(Relaxed))?;
        writeln!(f, "raising: {}", counters.raising.load(Relaxed))?;
        writeln!(
            f,
            "max_action_gap_ms: {}",
            counters.max_action_gap_ms.load(Relaxed)
        )?;
        writeln!(f, "fact_irqs: {}", counters.fact_irqs.load(Relaxed))?;
        writeln!(f, "fact_done: {}", counters.fact_done.load(Relaxed))?;
        write!(
            f,
            "fact_lost_irq_recovered: {}",
            counters.fact_recovered.load(Relaxed)
        )
    }
}

/// Largest burst the `raise` knob accepts.
const MAX_RAISE: u32 = 10_000_000;

/// The `raise` knob.
pub(crate) struct Raise(pub(crate) Arc<EduEngine>);

fn raise_write(raise: &Raise, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 16];
    let count = parse_u32(read_word(reader, &mut buf)?.as_bytes())?;
    if count == 0 || count > MAX_RAISE {
        return Err(ERANGE);
    }
    raise.0.raise(count)
}

/// Reads a whole knob write (at most `buf.len()` bytes) as one command word,
/// surrounding whitespace removed.
pub(crate) fn read_word<'b>(reader: &mut UserSliceReader, buf: &'b mut [u8]) -> Result<&'b str> {
    let len = reader.len();
    if len == 0 || len > buf.len() {
        return Err(EINVAL);
    }
    // PANIC: `len <= buf.len()`, checked above.
    let bytes = &mut buf[..len];
    reader.read_slice(bytes)?;
    Ok(core::str::from_utf8(bytes).map_err(|_| EINVAL)?.trim())
}

/// Parses a decimal number with optional surrounding whitespace.
pub(crate) fn parse_u32(bytes: &[u8]) -> Result<u32> {
    let text = core::str::from_utf8(bytes).map_err(|_| EINVAL)?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EINVAL);
    }
    // Only digits: the parse fails only on a number too large.
    text.parse::<u32>().map_err(|_| ERANGE)
}

/// debugfs entries of a device; dropped first at unbind (waits for writers).
pub(crate) struct EduDebugfs {
    pub(crate) _test: Option<Pin<KBox<DebugfsFile<TestKnob>>>>,
    pub(crate) _irq_ctl: Option<Pin<KBox<DebugfsFile<IrqCtl>>>>,
    pub(crate) _irq_info: Option<Pin<KBox<DebugfsFile<IrqInfo>>>>,
    pub(crate) _raise: Pin<KBox<DebugfsFile<Raise>>>,
    pub(crate) _info: Pin<KBox<DebugfsFile<Info>>>,
    pub(crate) _dir: Dir,
}

impl EduDebugfs {
    /// `edu/<pci>/{info,raise}` for `engine`; `None` if a file could not be made
    /// (debugfs is best effort).
    pub(crate) fn new(root: &Dir, engine: &Arc<EduEngine>) -> Option<Self> {
        let dir = root.subdir(&engine.pci_name);
        let raise = KBox::pin_init(
            dir.write_callback_file(c"raise", Raise(engine.clone()), &raise_write),
            GFP_KERNEL,
        );
        let info = KBox::pin_init(
            dir.read_only_file(c"info", Info(engine.clone())),
            GFP_KERNEL,
        );
        match (raise, info) {
            (Ok(raise), Ok(info)) => Some(Self {
                _test: None,
                _irq_ctl: None,
                _irq_info: None,
                _raise: raise,
                _info: info,
                _dir: dir,
            }),
            _ => None,
        }
    }

    /// The files that need the interrupt source, which exists only at the end of
    /// probe: `irq_ctl`, `irq_info` (with the line's type read before the source
    /// existed, `before`), and `test` with `test_knobs=1`.
    pub(crate) fn add_irq_files(
        &mut self,
        engine: &Arc<EduEngine>,
        irq: &InterruptEventSource<'_, EduIrq>,
        before: InterruptType,
    ) {
        self._irq_info = KBox::pin_init(
            self._dir.read_only_file(
                c"irq_info",
                IrqInfo {
                    control: irq.control(),
                    before,
                },
            ),
            GFP_KERNEL,
        )
        .ok();
        self._irq_ctl = KBox::pin_init(
            self._dir.read_write_callback_file(
                c"irq_ctl",
                IrqCtl(irq.control()),
                &irq_ctl_read,
                &irq_ctl_write,
            ),
            GFP_KERNEL,
        )
        .ok();
        if *module_parameters::test_knobs.value() == 1 {
            self._test = KBox::pin_init(
                self._dir.write_callback_file(
                    c"test",
                    TestKnob::new(engine, irq),
                    &test_knobs::write,
                ),
                GFP_KERNEL,
            )
            .ok();
        }
    }
}
