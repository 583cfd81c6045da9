// SPDX-License-Identifier: GPL-2.0

//! debugfs `msix_vectors-<pci>/`: `raise` (write `K N`: raise cause K, which is
//! routed to vector K, N times) and `counts` (what was granted, and per vector:
//! its IRQ, raises, top halves and interrupts the library delivered).

use super::*;

/// Most raises one write asks for.
const MAX_RAISES: u32 = 100_000;

/// What the device was granted, for `counts`.
pub(crate) struct Grant {
    pub(crate) kind: InterruptKind,
    pub(crate) wanted: u32,
    pub(crate) irqs: KVec<u32>,
    pub(crate) one_source: bool,
}

struct Counts {
    nic: Arc<Nic>,
    grant: Grant,
}

impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (nic, grant) = (&self.nic, &self.grant);
        let kind = match grant.kind {
            InterruptKind::MsiX => "msix",
            InterruptKind::Msi => "msi",
            InterruptKind::Line => "intx",
        };
        writeln!(f, "kind: {kind}")?;
        writeln!(f, "vectors: {} of {}", grant.irqs.len(), grant.wanted)?;
        let source = if grant.one_source {
            "all"
        } else {
            "per_vector"
        };
        writeln!(f, "source: {source}")?;
        writeln!(f, "wrong_message: {}", nic.wrong_message.load(Relaxed))?;
        writeln!(f, "wrong_place: {}", nic.wrong_place.load(Relaxed))?;
        writeln!(f, "delivered_all: {}", nic.delivered_all.load(Relaxed))?;
        for (k, irq) in (0u32..).zip(grant.irqs.iter()) {
            let Some(c) = nic.vector(k) else { break };
            writeln!(
                f,
                "vector {k}: irq {irq} raised {} top {} delivered {}",
                c.raised.load(Relaxed),
                c.top.load(Relaxed),
                c.delivered.load(Relaxed)
            )?;
        }
        Ok(())
    }
}

struct Raise(Arc<Nic>);

/// `K N`: two decimal numbers.
fn raise_write(raise: &Raise, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 32];
    let len = reader.len();
    if len == 0 || len > buf.len() {
        return Err(EINVAL);
    }
    // PANIC: `len <= buf.len()`, checked above.
    let bytes = &mut buf[..len];
    reader.read_slice(bytes)?;
    let text = core::str::from_utf8(bytes).map_err(|_| EINVAL)?;
    let mut words = text.split_whitespace().map(|w| w.parse::<u32>());
    let (Some(Ok(k)), Some(Ok(n)), None) = (words.next(), words.next(), words.next()) else {
        return Err(EINVAL);
    };
    if n == 0 || n > MAX_RAISES {
        return Err(ERANGE);
    }
    raise.0.raise(k, n)
}

/// The `lock` knob: write `K` to hold vector K's (passive) interrupt lock for
/// 50 ms, sleeping, while its interrupt is raised: `EIO` if its filter ran
/// under the lock, or if a try then did not answer `EBUSY` from another task
/// and `EDEADLK` from the holder. Without `passive=1` the sources have no
/// interrupt lock, and the write fails with the library's `ENOTSUPP`.
struct Lock {
    nic: Arc<Nic>,
    controls: KVec<InterruptControl<Cause>>,
}

fn lock_write(lock: &Lock, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; 8];
    let len = reader.len().min(buf.len());
    // PANIC: `len <= buf.len()`.
    reader.read_slice(&mut buf[..len])?;
    let text = core::str::from_utf8(&buf[..len]).map_err(|_| EINVAL)?;
    let k = text.trim().parse::<u32>().map_err(|_| EINVAL)?;
    let ctl = lock.controls.get(k as usize).ok_or(EINVAL)?;
    // Only a passive source's lock may be held asleep. The others here were
    // created without one: taking it answers `ENOTSUPP`, which is returned.
    if *module_parameters::passive.value() != 1 {
        return ctl.synchronize(|_locked| ());
    }
    let top = &lock.nic.vector(k).ok_or(EINVAL)?.top;
    let before = top.load(Acquire);
    // What another task's try answers while the lock is held (0: not yet).
    let other = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
    let (during, own, others) = ctl.synchronize(|_locked| {
        let raised = lock.nic.raise_nowait(k);
        let (c, o) = (ctl.clone(), other.clone());
        kernel::workqueue::system().try_spawn(GFP_KERNEL, move || {
            let r = c.try_last_interrupt().map_or_else(|e| e.to_errno(), |_| 1);
            o.store(r, Release);
        })?;
        // A passive holder may sleep; the filter waits in its thread meanwhile.
        fsleep(Delta::from_millis(50));
        let others = read_poll_timeout(
            || Ok(other.load(Acquire)),
            |&r| r != 0,
            Delta::from_millis(1),
            Delta::from_secs(1),
        );
        raised.map(|()| (top.load(Acquire), ctl.try_last_interrupt(), others))
    })??;
    // The holder's own try is refused (it would wait for itself); another
    // task's answers EBUSY.
    // CAST: Errno constants are small positive values.
    let deadlk = -(kernel::bindings::EDEADLK as i32);
    let own_errno = own.as_ref().err().map(|e| e.to_errno());
    if during != before || own_errno != Some(deadlk) || others != Ok(EBUSY.to_errno()) {
        pr_err!(
            "vector {k}: {} filter call(s) under the lock, own try {:?}, another's {:?}\n",
            during - before,
            own,
            others
        );
        return Err(EIO);
    }
    read_poll_timeout(
        || Ok(top.load(Acquire)),
        |&now| now != before,
        Delta::from_micros(50),
        Delta::from_secs(1),
    )?;
    Ok(())
}

/// The files; dropping them waits for a writer in flight.
pub(crate) struct Files {
    _raise: Pin<KBox<DebugfsFile<Raise>>>,
    _lock: Pin<KBox<DebugfsFile<Lock>>>,
    _counts: Pin<KBox<DebugfsFile<Counts>>>,
    _dir: Dir,
}

impl Files {
    /// Probe step: `msix_vectors-<pci>/{raise,lock,counts}`.
    pub(crate) fn new(
        pdev: &pci::Device<Bound>,
        nic: &Arc<Nic>,
        grant: Grant,
        controls: KVec<InterruptControl<Cause>>,
    ) -> Result<Self> {
        let name = CString::try_from_fmt(fmt!("msix_vectors-{}", pdev.as_ref().name()))?;
        let dir = Dir::new(&name);
        Ok(Self {
            _raise: KBox::pin_init(
                dir.write_callback_file(c"raise", Raise(nic.clone()), &raise_write),
                GFP_KERNEL,
            )?,
            _lock: KBox::pin_init(
                dir.write_callback_file(
                    c"lock",
                    Lock {
                        nic: nic.clone(),
                        controls,
                    },
                    &lock_write,
                ),
                GFP_KERNEL,
            )?,
            _counts: KBox::pin_init(
                dir.read_only_file(
                    c"counts",
                    Counts {
                        nic: nic.clone(),
                        grant,
                    },
                ),
                GFP_KERNEL,
            )?,
            _dir: dir,
        })
    }
}
