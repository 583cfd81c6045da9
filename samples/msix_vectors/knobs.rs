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

/// The files; dropping them waits for a writer in flight.
pub(crate) struct Files {
    _raise: Pin<KBox<DebugfsFile<Raise>>>,
    _counts: Pin<KBox<DebugfsFile<Counts>>>,
    _dir: Dir,
}

impl Files {
    /// Probe step: `msix_vectors-<pci>/{raise,counts}`.
    pub(crate) fn new(pdev: &pci::Device<Bound>, nic: &Arc<Nic>, grant: Grant) -> Result<Self> {
        let name = CString::try_from_fmt(fmt!("msix_vectors-{}", pdev.as_ref().name()))?;
        let dir = Dir::new(&name);
        Ok(Self {
            _raise: KBox::pin_init(
                dir.write_callback_file(c"raise", Raise(nic.clone()), &raise_write),
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
